"""Getting models out of ptgfill: ONNX files and Hub-ready model folders."""
