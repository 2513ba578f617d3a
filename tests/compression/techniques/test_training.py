"""Structured pruning and distillation: really smaller models that still solve the synthetic task; clear errors
when the PyTorch model or training data is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from shrinkwise.compression import onnx_utils as ou
from shrinkwise.compression.errors import TechniqueError
from shrinkwise.compression.events import MetricPoint
from shrinkwise.compression.profile import count_macs
from shrinkwise.compression.technique_api import LabelledData
from shrinkwise.compression.techniques import distill, prune_structured, prune_unstructured
from tests.compression.techniques.helpers import Task, accuracy, outputs, run


def series(events: list[Any], name: str) -> list[float]:
    return [e.value for e in events if isinstance(e, MetricPoint) and e.series == name]


@pytest.mark.parametrize("task_name", ["mlp_task", "cnn_task"])
def test_prune_structured_really_shrinks(task_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    task: Task = request.getfixturevalue(task_name)
    ctx = task.ctx(tmp_path)
    events, art = run(prune_structured.apply, ctx, prune_structured.Config(keep_ratio=0.4, epochs=3))
    before, after = onnx.load(str(task.onnx_path)), onnx.load(str(tmp_path / art.path))
    macs0, macs1 = count_macs(before), count_macs(after)
    assert macs0 and macs1
    params0, params1 = ou.count_params(before), ou.count_params(after)
    acc = accuracy(outputs(tmp_path / art.path, task.validation.inputs["x"]), task.validation.labels)
    print(
        f"prune_structured {task_name}: MACs {macs1 / macs0:.2f}x, params {params1 / params0:.2f}x, accuracy {acc:.3f}"
    )
    assert macs1 <= 0.45 * macs0
    assert params1 < params0
    assert acc >= 0.9
    # the output layer keeps every class; the I/O names and the dynamic batch survive
    assert [i.name for i in after.graph.input] == ["x"] and [o.name for o in after.graph.output] == ["logits"]
    assert outputs(tmp_path / art.path, task.validation.inputs["x"][:3]).shape == (3, 4)
    assert len(series(events, "train_loss")) == 3 and len(series(events, "val_accuracy")) >= 3
    assert art.torch_model_path and (tmp_path / art.torch_model_path).is_file()


def test_prune_structured_keeps_channel_counts_kernel_friendly(cnn_task: Task, tmp_path: Path) -> None:
    """Odd channel counts made the pruned demo CNN slower than the original; the default rounds to multiples of 8."""
    _, art = run(prune_structured.apply, cnn_task.ctx(tmp_path), prune_structured.Config(keep_ratio=0.5, epochs=0))
    model = onnx.load(str(tmp_path / art.path))
    inits = {i.name: list(i.dims) for i in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    out_channels = [inits[n.input[1]][0] for n in convs]
    assert out_channels and all(c % 8 == 0 for c in out_channels), out_channels


def test_prune_structured_params_target(mlp_task: Task, tmp_path: Path) -> None:
    _, art = run(
        prune_structured.apply,
        mlp_task.ctx(tmp_path),
        prune_structured.Config(target="params", keep_ratio=0.5, epochs=1),
    )
    assert art.details["params"]["pruned"] <= 0.55 * art.details["params"]["original"]


def test_prune_structured_stops_on_time_budget(mlp_task: Task, tmp_path: Path) -> None:
    ctx = mlp_task.ctx(tmp_path, time_budget_s=0.0)
    _, art = run(prune_structured.apply, ctx, prune_structured.Config(epochs=50))
    assert art.details["stopped_early"] and art.details["epochs_done"] < 50
    assert any("time budget" in n for n in art.notes)


def test_distill_pruned_student(mlp_task: Task, tmp_path: Path) -> None:
    ctx = mlp_task.ctx(tmp_path)
    events, art = run(distill.apply, ctx, distill.Config(student="pruned", width_ratio=0.25, epochs=3))
    acc = accuracy(outputs(tmp_path / art.path, mlp_task.validation.inputs["x"]), mlp_task.validation.labels)
    print(
        f"distill (25% width) student accuracy {acc:.3f}, params {art.details['student_params']} vs {art.details['teacher_params']}"
    )
    assert acc >= 0.9
    assert art.details["student_params"] < 0.3 * art.details["teacher_params"]
    for name in ("train_loss", "val_accuracy", "val_agreement"):
        assert len(series(events, name)) == 3, name


def test_distill_student_from_module_file(cnn_task: Task, tmp_path: Path) -> None:
    src = tmp_path / "student_def.py"
    src.write_text(
        "import torch.nn as nn\n"
        "class Tiny(nn.Module):\n"
        "    def __init__(self, width=4, classes=4):\n"
        "        super().__init__()\n"
        "        self.body = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4),\n"
        "                                  nn.Flatten(), nn.Linear(width * 16, classes))\n"
        "    def forward(self, x):\n"
        "        return self.body(x)\n"
    )
    ctx = cnn_task.ctx(tmp_path / "out")
    cfg = distill.Config(student=f"module:{src}:Tiny", student_kwargs={"width": 4}, epochs=3, lr=1e-2, batch_size=32)
    _, art = run(distill.apply, ctx, cfg)
    acc = accuracy(outputs(tmp_path / "out" / art.path, cnn_task.validation.inputs["x"]), cnn_task.validation.labels)
    print(f"distill into a 4-channel CNN: accuracy {acc:.3f}")
    assert acc >= 0.9
    assert art.details["macs"]["student"] < art.details["macs"]["original"]


def test_distill_previous_student_after_structured_pruning(mlp_task: Task, tmp_path: Path) -> None:
    _, pruned = run(
        prune_structured.apply, mlp_task.ctx(tmp_path / "p"), prune_structured.Config(keep_ratio=0.3, epochs=0)
    )
    ts = tmp_path / "p" / str(pruned.torch_model_path)
    ctx = mlp_task.ctx(tmp_path / "d", previous_torch_model_path=ts)
    _, art = run(distill.apply, ctx, distill.Config(student="previous", epochs=2))
    acc = accuracy(outputs(tmp_path / "d" / art.path, mlp_task.validation.inputs["x"]), mlp_task.validation.labels)
    assert acc >= 0.9
    assert art.details["student_params"] < art.details["teacher_params"]


def test_distill_previous_without_one_is_explained(mlp_task: Task, tmp_path: Path) -> None:
    with pytest.raises(TechniqueError, match="earlier step"):
        run(distill.apply, mlp_task.ctx(tmp_path), distill.Config(student="previous"))


@pytest.mark.parametrize("module", [prune_structured, distill])
@pytest.mark.parametrize("missing", ["torch_model", "train", "labels"])
def test_training_techniques_say_what_is_missing(mlp_task: Task, tmp_path: Path, module: Any, missing: str) -> None:
    kw: dict[str, Any] = {"torch_model": None} if missing == "torch_model" else {"train": None}
    if missing == "labels":
        kw = {"train": LabelledData(inputs=mlp_task.train.inputs, labels=None)}
    with pytest.raises(TechniqueError) as err:
        run(module.apply, mlp_task.ctx(tmp_path, **kw), module.Config())
    text = str(err.value)
    assert "PyTorch" in text and "labelled training data" in text
    assert {"torch_model": "state dict", "train": "missing: labelled training data", "labels": "labels"}[
        missing
    ] in text


def test_prune_unstructured_torch_path_keeps_zeros_through_export(cnn_task: Task, tmp_path: Path) -> None:
    _, art = run(
        prune_unstructured.apply,
        cnn_task.ctx(tmp_path),
        prune_unstructured.Config(target_sparsity=0.5, fine_tune_epochs=1, min_elements=100),
    )
    # BatchNorm is folded into the Conv weights at export: zeros stay zeros
    assert abs(art.details["sparsity"] - 0.5) <= 0.01
    assert np.isfinite(outputs(tmp_path / art.path, cnn_task.validation.inputs["x"][:4])).all()


def test_training_is_deterministic_with_the_seed(mlp_task: Task, tmp_path: Path) -> None:
    from onnx import numpy_helper

    def weights(sub: str, seed: int) -> list[np.ndarray]:
        ctx = mlp_task.ctx(tmp_path / sub, seed=seed)
        _, art = run(distill.apply, ctx, distill.Config(width_ratio=0.5, epochs=1))
        return [numpy_helper.to_array(i) for i in onnx.load(str(tmp_path / sub / art.path)).graph.initializer]

    a, b, c = weights("a", 0), weights("b", 0), weights("c", 1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=False))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=False))
