"""ONNX export: onnxruntime's output equals PyTorch's, the file describes itself, and the
inpaint pipeline runs it without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from ptgfill_cli.cli.app import app
from ptgfill_cli.config import preset
from ptgfill_cli.inference.inpainter import Inpainter
from ptgfill_cli.inference.onnx_network import OnnxNetwork
from ptgfill_cli.errors import WeightsError
from ptgfill_cli.export.onnx_export import _check_input, export_generator_onnx, export_onnx
from ptgfill_cli.export.onnx_metadata import INPUT_NAMES, OnnxModelInfo
from ptgfill_cli.weights.resolve import load_model
from ptgfill_cli.models.factory import build_generator
from tests.conftest import EXAMPLES, REPO_ROOT

pytest.importorskip("onnxruntime")
TOLERANCE = 1e-4  # fp32 in [0, 1] units: 0.03 grey levels
PARITY_SIZES = ((64, 96), (160, 128))  # (height, width), neither the traced 256x256


@pytest.fixture(scope="module")
def default_onnx(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("onnx") / "default.onnx"
    result = export_onnx(None, path)
    assert result.max_difference < TOLERANCE
    return path


def _max_difference(generator, onnx_path: Path, size: tuple[int, int]) -> float:
    image, known = _check_input(size, batch=2)
    with torch.no_grad():
        expected = generator(image, known)
    refined, coarse = OnnxNetwork(onnx_path, device="cpu", threads=1).generate(image.numpy(), known.numpy())
    assert refined.shape == coarse.shape == (2, 3, *size)
    return max(float(np.abs(refined - expected.refined.numpy()).max()), float(np.abs(coarse - expected.coarse.numpy()).max()))


@pytest.mark.parametrize("size", PARITY_SIZES)
def test_the_default_model_on_onnxruntime_equals_pytorch(default_onnx, size):
    generator = load_model(None).generator
    assert _max_difference(generator, default_onnx, size) < TOLERANCE


def test_the_published_network_with_per_token_attention_exports_equal(tmp_path):
    # The paper preset's shapes and per-token attention (folded projections); initialised
    # weights suffice for comparing two runtimes of one graph.
    generator = build_generator(preset("paper", attention="per-token"), seed=0).prepare_for_inference()
    path = export_generator_onnx(generator, "paper", tmp_path / "paper.onnx")
    for size in PARITY_SIZES:
        assert _max_difference(generator, path, size) < TOLERANCE


def test_the_file_names_its_inputs_and_carries_config_and_card(default_onnx):
    import onnx

    graph = onnx.load(str(default_onnx))
    assert [value.name for value in graph.graph.input] == list(INPUT_NAMES)
    assert all(value.doc_string for value in graph.graph.input)
    metadata = {prop.key: prop.value for prop in graph.metadata_props}
    info = OnnxModelInfo.from_metadata(metadata, "default.onnx")
    loaded = load_model(None)
    assert info.name == loaded.name and info.config == loaded.config and info.card == loaded.card
    assert info.fixed_size is None and info.weights == "fp32" and "multiples of 32" in metadata["ptgfill.sizes"]
    assert "1 = known pixel" in metadata["ptgfill.inputs"] and metadata["ptgfill.opset"] == "17"


def test_an_onnx_file_from_elsewhere_is_refused_with_one_line(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Identity", ["image"], ["refined"])
    graph = helper.make_graph([node], "other", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("refined", TensorProto.FLOAT, [1])])
    path = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(WeightsError, match="not an ONNX file made by ptgfill export"):
        OnnxNetwork(path, device="cpu")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(WeightsError, match="onnxruntime cannot load it"):
        OnnxNetwork(tmp_path / "junk.onnx", device="cpu")


def test_a_fixed_size_export_pads_smaller_inputs_and_bounds_the_working_size(tmp_path):
    generator = build_generator("lite", seed=0).prepare_for_inference()
    info = OnnxModelInfo("lite", generator.config, "fp32", (128, 160))
    path = export_generator_onnx(generator, info, tmp_path / "fixed.onnx")
    network = OnnxNetwork(path, device="cpu")
    assert network.fixed_size == (128, 160)
    image, known = _check_input((96, 128), batch=2)
    refined, _ = network.generate(image.numpy(), known.numpy())
    assert refined.shape == (2, 3, 96, 128) and np.isfinite(refined).all()
    inpainter = Inpainter(network)
    assert inpainter.max_side == 128
    with pytest.raises(ValueError, match="apply to a PyTorch generator"):
        Inpainter(network, precision="bf16")
    photo = np.asarray(Image.open(EXAMPLES / "chelsea.png").convert("RGB"))  # 451x300: scaled to fit
    holes = np.zeros(photo.shape[:2], bool)
    holes[100:140, 150:260] = True
    result = inpainter.inpaint(photo, holes)
    assert np.array_equal(result.pixels[~holes], photo[~holes])
    assert all(h <= 128 and w <= 160 for h, w in result.working_sizes)
    # One input size only: never enlarged for thin holes, so evaluate names it plainly.
    assert inpainter.upscale == "off" and not result.upscaled
    from ptgfill_cli.evaluation.baselines import build_method

    assert build_method(str(path), torch.device("cpu")).name == "fixed.onnx"


@pytest.mark.parametrize("flag,weights,mean_limit", [("--fp16", "fp16", 2e-3), ("--quantize=dynamic", "int8", 2e-3)])
def test_reduced_precision_exports_run_close_to_fp32(tmp_path, default_onnx, flag, weights, mean_limit):
    path = tmp_path / f"{weights}.onnx"
    result = CliRunner().invoke(app, ["export", "-o", str(path), flag, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["weights"] == weights and summary["bytes"] < default_onnx.stat().st_size
    image, known = _check_input((128, 96), batch=1)
    reduced = OnnxNetwork(path, device="cpu").generate(image.numpy(), known.numpy())[0]
    full = OnnxNetwork(default_onnx, device="cpu").generate(image.numpy(), known.numpy())[0]
    hole = known.numpy()[:, [0, 0, 0]] == 0
    assert np.isfinite(reduced).all()
    assert float(np.abs(reduced - full)[hole].mean()) < mean_limit


def test_an_onnx_file_is_an_evaluation_method_scoring_as_its_original(default_onnx):
    from ptgfill_cli.evaluation.baselines import OnnxMethod, build_methods

    onnx_method, torch_method = build_methods([str(default_onnx), None], torch.device("cpu"))
    assert isinstance(onnx_method, OnnxMethod) and onnx_method.name == "default.onnx+up"
    image, known = _check_input((96, 128), batch=2)
    assert torch.allclose(onnx_method.fill(image, known), torch_method.fill(image, known), atol=TOLERANCE)
    onnx_method.check_size(96, 128)
    with pytest.raises(Exception, match="not a multiple of 32"):
        onnx_method.check_size(100, 128)


def test_export_refuses_an_existing_file_and_bad_sizes(tmp_path, default_onnx):
    runner = CliRunner()
    result = runner.invoke(app, ["export", "-o", str(default_onnx)])
    assert result.exit_code == 2 and "exists; pass --overwrite" in result.output
    result = runner.invoke(app, ["export", "-o", str(tmp_path / "x.onnx"), "--size", "100"])
    assert result.exit_code == 2 and "multiple of 32" in result.output
    result = runner.invoke(app, ["export", "-o", str(tmp_path / "x.onnx"), "--fp16", "--quantize", "dynamic"])
    assert result.exit_code == 2 and "pick one" in result.output


def test_inpaint_with_onnxruntime_equals_torch_and_keeps_known_pixels(tmp_path, default_onnx):
    runner = CliRunner()
    image, mask = EXAMPLES / "kodim21.jpg", EXAMPLES / "masks" / "kodim21.png"
    torch_out, onnx_out = tmp_path / "torch.png", tmp_path / "onnx.png"
    assert runner.invoke(app, ["inpaint", str(image), "-m", str(mask), "-o", str(torch_out), "-q"]).exit_code == 0
    result = runner.invoke(app, ["inpaint", str(image), "-m", str(mask), "-o", str(onnx_out), "-q",
                                 "--backend", "onnxruntime", "--model", str(default_onnx)])
    assert result.exit_code == 0, result.output
    source = np.asarray(Image.open(image).convert("RGB")).astype(int)
    holes = np.asarray(Image.open(mask).convert("L")) > 127
    by_torch, by_onnx = (np.asarray(Image.open(path)).astype(int) for path in (torch_out, onnx_out))
    assert np.array_equal(by_onnx[~holes], source[~holes])
    assert np.abs(by_onnx - by_torch).max() <= 1
    result = runner.invoke(app, ["inpaint", str(image), "-m", str(mask), "-o", str(tmp_path / "x.png"),
                                 "--backend", "onnxruntime", "--model", str(default_onnx), "--precision", "bf16"])
    assert result.exit_code == 2 and "precision is set when it is exported" in result.output


_WITHOUT_TORCH = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name="torch")
sys.meta_path.insert(0, NoTorch())
from ptgfill_cli.cli.app import main
sys.argv = ["ptgfill", *sys.argv[1:]]
main()
"""


def _ptgfill_without_torch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _WITHOUT_TORCH, *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)


def test_the_onnxruntime_path_never_imports_torch(tmp_path, default_onnx):
    image, mask = EXAMPLES / "kodim21.jpg", EXAMPLES / "masks" / "kodim21.png"
    done = _ptgfill_without_torch("inpaint", str(image), "-m", str(mask), "-o", str(tmp_path / "out.png"),
                                  "--backend", "onnxruntime", "--model", str(default_onnx), "--threads", "1")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.png").is_file()
    refused = _ptgfill_without_torch("inpaint", str(image), "-m", str(mask), "-o", str(tmp_path / "b.png"))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "ptgfill: error: this needs torch, which is not installed: pip install 'ptgfill[torch]' "
        "(or run an exported model with --backend onnxruntime)"
    ]


@pytest.mark.slow
def test_a_venv_without_torch_inpaints_with_an_exported_model(tmp_path, default_onnx):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", f"{REPO_ROOT}[onnxruntime]"],
                             capture_output=True, text=True, timeout=1500)
    assert install.returncode == 0, install.stderr[-2000:]
    has_torch = subprocess.run([str(python), "-c", "import importlib.util; print(importlib.util.find_spec('torch'))"],
                               capture_output=True, text=True, check=True)
    assert has_torch.stdout.strip() == "None"
    image, mask = EXAMPLES / "kodim21.jpg", EXAMPLES / "masks" / "kodim21.png"
    out = tmp_path / "out.png"
    done = subprocess.run([str(venv / "bin" / "ptgfill"), "inpaint", str(image), "-m", str(mask), "-o", str(out),
                           "--backend", "onnxruntime", "--model", str(default_onnx), "--threads", "1"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    reference = tmp_path / "torch.png"
    assert CliRunner().invoke(app, ["inpaint", str(image), "-m", str(mask), "-o", str(reference), "-q"]).exit_code == 0
    assert np.abs(np.asarray(Image.open(out)).astype(int) - np.asarray(Image.open(reference)).astype(int)).max() <= 1
