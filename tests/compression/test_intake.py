"""Model intake: every supported format, and every bad file refused with one line and no unpickling."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from shrinkwise.compression.errors import ModelLoadError
from shrinkwise.compression.intake import detect_format, load_model, parse_input_shape, read_onnx
from tests.helpers import export_onnx, tiny_cnn

X = [parse_input_shape("x:batch,1,8,8")]


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def test_onnx_signature_detected(tmp_path: Path) -> None:
    path = export_onnx(tiny_cnn(), tmp_path / "m.onnx")
    result = load_model(path, tmp_path / "work")
    assert result.format == "onnx" and result.onnx_path == path
    spec = result.signature.inputs[0]
    assert spec.name == "x" and spec.shape == ["batch", 1, 8, 8] and spec.dtype == "float32"
    assert spec.dynamic_axes == [0]


def test_signature_override_replaces_detected_inputs(tmp_path: Path) -> None:
    path = export_onnx(tiny_cnn(), tmp_path / "m.onnx")
    result = load_model(path, tmp_path / "work", input_specs=[parse_input_shape("x:4,1,8,8")])
    assert result.signature.inputs[0].shape == [4, 1, 8, 8]


def test_torchscript_and_pt2_export_match_torch(tmp_path: Path) -> None:
    import torch

    module = tiny_cnn()
    x = torch.rand(2, 1, 8, 8)
    expected = module(x).detach().numpy()
    torch.jit.save(torch.jit.trace(module, torch.zeros(1, 1, 8, 8)), str(tmp_path / "m.pt"))
    ts = load_model(tmp_path / "m.pt", tmp_path / "w1", input_specs=X)
    assert ts.format == "torchscript"
    np.testing.assert_allclose(_run(ts.onnx_path, x.numpy()), expected, rtol=1e-4, atol=1e-5)

    ep = torch.export.export(module, (torch.zeros(2, 1, 8, 8),))
    torch.export.save(ep, str(tmp_path / "m.pt2"))
    pt2 = load_model(tmp_path / "m.pt2", tmp_path / "w2")
    assert pt2.format == "torch_export"
    np.testing.assert_allclose(_run(pt2.onnx_path, x.numpy()), expected, rtol=1e-4, atol=1e-5)


def test_state_dict_with_architecture(tmp_path: Path) -> None:
    import torch

    arch = tmp_path / "net.py"
    arch.write_text(
        "from torch import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, width=4):\n"
        "        super().__init__()\n"
        "        self.body = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(width*64, 10))\n"
        "    def forward(self, x):\n"
        "        return self.body(x)\n"
    )
    import importlib.util

    spec = importlib.util.spec_from_file_location("netmod", arch)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    net = mod.Net(width=6).eval()
    torch.save(net.state_dict(), tmp_path / "w.pth")
    result = load_model(
        tmp_path / "w.pth", tmp_path / "work", architecture=f"{arch}:Net", arch_kwargs={"width": 6}, input_specs=X
    )
    x = torch.rand(3, 1, 8, 8)
    np.testing.assert_allclose(_run(result.onnx_path, x.numpy()), net(x).detach().numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ModelLoadError, match="do not fit Net"):
        load_model(
            tmp_path / "w.pth", tmp_path / "work2", architecture=f"{arch}:Net", arch_kwargs={"width": 4}, input_specs=X
        )


class _Evil:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path("/tmp/shrinkwise-pwned").touch, ())


def test_pickle_that_would_run_code_is_refused(tmp_path: Path) -> None:
    import torch

    marker = Path("/tmp/shrinkwise-pwned")
    marker.unlink(missing_ok=True)
    torch.save({"weight": torch.zeros(2), "evil": _Evil()}, tmp_path / "evil.pth")
    arch = tmp_path / "a.py"
    arch.write_text("from torch import nn\nclass A(nn.Module):\n    pass\n")
    with pytest.raises(ModelLoadError, match="could run code"):
        load_model(tmp_path / "evil.pth", tmp_path / "w", architecture=f"{arch}:A", input_specs=X)
    assert not marker.exists()


def test_truncated_and_foreign_onnx_refused_in_one_line(tmp_path: Path) -> None:
    good = export_onnx(tiny_cnn(), tmp_path / "m.onnx").read_bytes()
    (tmp_path / "cut.onnx").write_bytes(good[: len(good) // 2])
    (tmp_path / "text.onnx").write_text("hello, I am not a model")
    for name in ("cut.onnx", "text.onnx"):
        with pytest.raises(ModelLoadError) as info:
            read_onnx(tmp_path / name)
        message = str(info.value)
        assert name in message and "\n" not in message and "re-export" in message


def test_external_data_escaping_its_folder_is_refused(tmp_path: Path) -> None:
    import onnx

    model = onnx.load(str(export_onnx(tiny_cnn(), tmp_path / "m.onnx")))
    sub = tmp_path / "model"
    sub.mkdir()
    onnx.save_model(model, str(sub / "m.onnx"), save_as_external_data=True, location="w.bin", size_threshold=0)
    (tmp_path / "outside.bin").write_bytes((sub / "w.bin").read_bytes())
    # onnx refuses to write '..' itself, so edit the reference the way a hostile file would carry it.
    edited = onnx.load(str(sub / "m.onnx"), load_external_data=False)
    for tensor in edited.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../outside.bin"
    (sub / "m.onnx").write_bytes(edited.SerializeToString())
    with pytest.raises(ModelLoadError, match="outside its folder"):
        read_onnx(sub / "m.onnx")


def test_wrong_kind_and_missing_architecture(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ModelLoadError, match="not a model file"):
        detect_format(tmp_path / "notes.txt")
    import torch

    torch.save(tiny_cnn().state_dict(), tmp_path / "sd.pt")
    with pytest.raises(ModelLoadError, match="--architecture"):
        detect_format(tmp_path / "sd.pt")
    with zipfile.ZipFile(tmp_path / "junk.pt2", "w") as zf:
        zf.writestr("x/data.pkl", pickle.dumps(1))
    with pytest.raises(ModelLoadError):
        load_model(tmp_path / "junk.pt2", tmp_path / "w")


def test_torch_model_needs_input_shape(tmp_path: Path) -> None:
    import torch

    torch.jit.save(torch.jit.trace(tiny_cnn(), torch.zeros(1, 1, 8, 8)), str(tmp_path / "m.pt"))
    with pytest.raises(ModelLoadError, match="--input-shape"):
        load_model(tmp_path / "m.pt", tmp_path / "w")


def test_parse_input_shape() -> None:
    spec = parse_input_shape("input_ids:1,seq:int64")
    assert spec.shape == [1, "seq"] and spec.dtype == "int64"
    with pytest.raises(ModelLoadError):
        parse_input_shape("nonsense")
