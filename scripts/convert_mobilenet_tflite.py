"""Convert Google's MobileNetV2 TFLite file into the feature weights ptgfill ships.

    python scripts/convert_mobilenet_tflite.py ../shared/data/backbones/mobilenet_v2_1.0_224_quant.tflite

Reads the flatbuffer with the ``tflite`` package (pip install tflite), dequantises each
convolution's uint8 weights and int32 biases (``scale * (q - zero_point)``), maps them onto
``ptgfill_cli.models.mobilenet.MobileNetV2Features`` in graph order and writes
``ptgfill_cli/models/mobilenet_v2_features.safetensors``. With ``ai_edge_litert`` (the TFLite runtime) installed it
also runs the original quantised model on a photo and prints how far the converted float
features are from its dequantised activations, and writes the test suite's golden vector
(per-channel means of the original's activations) to ``tests/models/mobilenet_golden.json``.
Run once by a developer; not part of the package or of CI.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ptgfill_cli.models.mobilenet import FEATURE_BLOCKS, WEIGHTS_FILE, MobileNetV2Features, SameConv  # noqa: E402

GOLDEN = REPO / "tests" / "models" / "mobilenet_golden.json"
PHOTO = REPO / "examples" / "grace_hopper.jpg"


def _dequantised(graph, model_buffer: bytes, model, index: int) -> np.ndarray:
    tensor = graph.Tensors(index)
    data = model.Buffers(tensor.Buffer()).DataAsNumpy()
    dtype = {2: np.int32, 3: np.uint8}[tensor.Type()]
    values = np.frombuffer(data.tobytes(), dtype).reshape(tensor.ShapeAsNumpy()).astype(np.float64)
    quant = tensor.Quantization()
    return (values - quant.ZeroPoint(0)) * quant.Scale(0)


def convolutions(path: Path):
    """(op kind, weight, bias, output tensor index) of every convolution, in graph order, and the ADD outputs."""
    import tflite

    buffer = path.read_bytes()
    model = tflite.Model.GetRootAsModel(buffer, 0)
    graph = model.Subgraphs(0)
    names = {getattr(tflite.BuiltinOperator, k): k for k in dir(tflite.BuiltinOperator) if not k.startswith("_")}
    ops = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        inputs = [op.Inputs(j) for j in range(op.InputsLength())]
        output = op.Outputs(0)
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            weight = _dequantised(graph, buffer, model, inputs[1])
            bias = _dequantised(graph, buffer, model, inputs[2])
            ops.append((kind, weight, bias, output))
        else:
            ops.append((kind, None, None, output))
    return ops


def convert(path: Path) -> tuple[MobileNetV2Features, list[int]]:
    """The converted network, and the TFLite tensor index of each block's output."""
    network = MobileNetV2Features()
    layers = [m for m in network.modules() if isinstance(m, SameConv)]
    ops = convolutions(path)
    convs = [op for op in ops if op[0] != "ADD"]
    for layer, (kind, weight, bias, _) in zip(layers, convs):
        if kind == "CONV_2D":  # (out, kh, kw, in) -> (out, in, kh, kw)
            tensor = torch.from_numpy(weight).permute(0, 3, 1, 2)
        else:  # depthwise (1, kh, kw, channels) -> (channels, 1, kh, kw)
            tensor = torch.from_numpy(weight).permute(3, 0, 1, 2)
        if tuple(tensor.shape) != tuple(layer.weight.shape):
            raise SystemExit(f"shape mismatch: {tuple(tensor.shape)} vs {tuple(layer.weight.shape)}")
        layer.weight.data.copy_(tensor.float())
        layer.bias.data.copy_(torch.from_numpy(bias).float())
    # Each block ends with its project convolution, or with the ADD after it.
    block_outputs, conv_count = [], 0
    per_block = [1] + [2 if block.expand is None else 3 for block in network.blocks[1:]]
    position = 0
    for count in per_block:
        seen = 0
        while seen < count:
            if ops[position][0] != "ADD":
                seen += 1
            position += 1
        if position < len(ops) and ops[position][0] == "ADD":
            position += 1
        block_outputs.append(ops[position - 1][3])
        conv_count += count
    return network, block_outputs


def main() -> None:
    from PIL import Image
    from safetensors.torch import save_file

    source = Path(sys.argv[1])
    network, block_outputs = convert(source)
    state = {k: v.contiguous() for k, v in network.state_dict().items()}
    save_file(state, str(WEIGHTS_FILE), metadata={
        "source": f"{source.name} (sha256 {hashlib.sha256(source.read_bytes()).hexdigest()}), dequantised",
        "license": "Apache-2.0 (google-coral/test_data); see MOBILENET_V2_LICENSE.txt",
    })
    print(f"wrote {WEIGHTS_FILE} ({WEIGHTS_FILE.stat().st_size / 1e6:.1f} MB, "
          f"{sum(v.numel() for v in state.values()) / 1e6:.2f} M parameters)")
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        print("ai_edge_litert not installed: no comparison with the original")
        return
    interpreter = Interpreter(model_path=str(source), experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    pixels = np.asarray(Image.open(PHOTO).convert("RGB").resize((224, 224), Image.BILINEAR))
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], pixels[None])
    interpreter.invoke()
    # The quantised input means (q - 128) / 128; feed the float network the same values.
    image = torch.from_numpy(pixels.astype(np.float32)).permute(2, 0, 1)[None]
    with torch.no_grad():
        ours = network(((image - 128) / 128 + 1) / 2)
    golden = {"photo": PHOTO.name, "size": 224, "blocks": {}}
    for block, feature in zip(FEATURE_BLOCKS, ours):
        detail = next(d for d in interpreter.get_tensor_details() if d["index"] == block_outputs[block])
        scale, zero = detail["quantization"]
        original = (interpreter.get_tensor(detail["index"]).astype(np.float64) - zero) * scale
        original = torch.from_numpy(original).permute(0, 3, 1, 2).float()
        error = (feature - original).abs().mean() / original.abs().mean()
        print(f"block {block} {tuple(feature.shape[1:])}: mean |float - original| / mean |original| = {error:.4f}")
        golden["blocks"][str(block)] = [round(float(v), 5) for v in original.mean(dim=(0, 2, 3))]
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
