"""State-dict intake as training scripts really save it (issue 12 item 6): checkpoint dicts, keys that don't quite
match, architecture packages with relative imports, paths relative to the current folder, and forward() arguments
that are Python values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shrinkwise.compression.errors import ModelLoadError
from shrinkwise.compression.intake import load_model, parse_input_shape

X = [parse_input_shape("x:batch,1,8,8")]
NET = (
    "from torch import nn\n"
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.conv = nn.Conv2d(1, 4, 3, padding=1)\n"
    "        self.bn = nn.BatchNorm2d(4)\n"
    "        self.fc = nn.Linear(4 * 64, 3)\n"
    "    def forward(self, x):\n"
    "        return self.fc(self.bn(self.conv(x)).relu().flatten(1))\n"
)


def _net(folder: Path):  # type: ignore[no-untyped-def]
    import importlib.util

    import torch

    (folder / "net.py").write_text(NET)
    spec = importlib.util.spec_from_file_location(f"net_{abs(hash(folder))}", folder / "net.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    torch.manual_seed(0)
    net = mod.Net().eval()
    with torch.no_grad():
        net.bn.running_mean.uniform_(-0.5, 0.5)  # so a wrongly loaded buffer shows in the output
    return net


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def _expected(net, x: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    import torch

    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("key", ["model_state", "state_dict", "model"])
def test_checkpoint_dict_names_the_key_it_used(tmp_path: Path, key: str) -> None:
    import torch

    net = _net(tmp_path)
    checkpoint = {"epoch": 7, key: net.state_dict(), "optimizer": {"lr": 0.001}, "best_acc": 0.91}
    torch.save(checkpoint, tmp_path / "ckpt.pt")
    result = load_model(tmp_path / "ckpt.pt", tmp_path / "w", architecture=f"{tmp_path}/net.py:Net", input_specs=X)
    assert f"the state dict was taken from the checkpoint's '{key}' entry" in result.notes
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(_run(result.onnx_path, x), _expected(net, x), rtol=1e-4, atol=1e-5)


def test_checkpoint_without_a_state_dict_lists_its_keys(tmp_path: Path) -> None:
    import torch

    _net(tmp_path)
    torch.save({"epoch": 7, "config": {"depth": 3}}, tmp_path / "ckpt.pt")
    with pytest.raises(ModelLoadError) as err:
        load_model(tmp_path / "ckpt.pt", tmp_path / "w", architecture=f"{tmp_path}/net.py:Net", input_specs=X)
    assert "'epoch', 'config'" in str(err.value) and "\n" not in str(err.value)


def test_non_strict_load_lists_extra_and_missing_keys(tmp_path: Path) -> None:
    import torch

    net = _net(tmp_path)
    state = net.state_dict()
    del state["bn.num_batches_tracked"]  # missing: a buffer the class makes itself
    state["ema.fc.weight"] = torch.zeros(3)  # extra: not part of the model
    state["loss.pos_weight"] = torch.ones(1)
    torch.save(state, tmp_path / "w.pth")
    result = load_model(tmp_path / "w.pth", tmp_path / "w", architecture=f"{tmp_path}/net.py:Net", input_specs=X)
    assert "2 key(s) in the file not used by Net: ema.fc.weight, loss.pos_weight" in result.notes
    assert "1 weight(s) of Net not in the file (left at their initial values): bn.num_batches_tracked" in result.notes
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(_run(result.onnx_path, x), _expected(net, x), rtol=1e-4, atol=1e-5)


def test_dataparallel_prefix_is_removed(tmp_path: Path) -> None:
    import torch

    net = _net(tmp_path)
    torch.save({f"module.{k}": v for k, v in net.state_dict().items()}, tmp_path / "w.pth")
    result = load_model(tmp_path / "w.pth", tmp_path / "w", architecture=f"{tmp_path}/net.py:Net", input_specs=X)
    assert "state dict keys had the prefix 'module.', removed" in result.notes
    x = np.ones((1, 1, 8, 8), np.float32)
    np.testing.assert_allclose(_run(result.onnx_path, x), _expected(net, x), rtol=1e-4, atol=1e-5)


def test_state_dict_matching_nothing_is_an_error(tmp_path: Path) -> None:
    import torch

    _net(tmp_path)
    torch.save({"encoder.weight": torch.zeros(2, 2)}, tmp_path / "w.pth")
    with pytest.raises(ModelLoadError, match="none of its 1 weight name"):
        load_model(tmp_path / "w.pth", tmp_path / "w", architecture=f"{tmp_path}/net.py:Net", input_specs=X)


def test_architecture_package_with_relative_imports(tmp_path: Path) -> None:
    import torch

    pkg = tmp_path / "mylib" / "models"
    pkg.mkdir(parents=True)
    (tmp_path / "mylib" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "blocks.py").write_text(
        "from torch import nn\nclass Block(nn.Sequential):\n"
        "    def __init__(self):\n        super().__init__(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU())\n"
    )
    (pkg / "net.py").write_text(
        "from torch import nn\nfrom .blocks import Block\nfrom ..consts import WIDTH\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.block = Block()\n"
        "        self.fc = nn.Linear(2 * 64, WIDTH)\n"
        "    def forward(self, x):\n        return self.fc(self.block(x).flatten(1))\n"
    )
    (tmp_path / "mylib" / "consts.py").write_text("WIDTH = 5\n")
    torch.manual_seed(0)
    state = {
        "block.0.weight": torch.randn(2, 1, 3, 3),
        "block.0.bias": torch.randn(2),
        "fc.weight": torch.randn(5, 128),
        "fc.bias": torch.randn(5),
    }
    torch.save(state, tmp_path / "w.pth")
    result = load_model(tmp_path / "w.pth", tmp_path / "w", architecture=f"{pkg}/net.py:Net", input_specs=X)
    assert result.notes == []
    out = _run(result.onnx_path, np.ones((1, 1, 8, 8), np.float32))
    assert out.shape == (1, 5)


def test_architecture_path_relative_to_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    here = tmp_path / "code"
    (here / "models").mkdir(parents=True)
    net = _net(here / "models")
    torch.save(net.state_dict(), here / "w.pth")
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(here)
    result = load_model("w.pth", project / "w", architecture="models/net.py:Net", input_specs=X, base_dir=project)
    assert result.format == "state_dict"
    with pytest.raises(ModelLoadError, match="architecture file not found"):
        load_model("w.pth", project / "w", architecture="nowhere/net.py:Net", input_specs=X, base_dir=project)


def test_torchscript_forward_with_a_python_int_is_one_clear_line(tmp_path: Path) -> None:
    import torch

    class Scaled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(4, 4)

        def forward(self, x: torch.Tensor, repeats: int = 2) -> torch.Tensor:
            return self.fc(x) * repeats

    torch.jit.save(torch.jit.script(Scaled()), str(tmp_path / "m.pt"))
    with pytest.raises(ModelLoadError) as err:
        load_model(tmp_path / "m.pt", tmp_path / "w", input_specs=[parse_input_shape("x:batch,4")])
    text = str(err.value)
    assert "Python value(s) (repeats: int)" in text and "wrap the model" in text and "\n" not in text

    ep = torch.export.export(Scaled(), (torch.zeros(2, 4), 3))
    torch.export.save(ep, str(tmp_path / "m.pt2"))
    result = load_model(tmp_path / "m.pt2", tmp_path / "w2")
    assert any("repeats=3" in n and "always uses those values" in n for n in result.notes)
