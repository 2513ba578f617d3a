"""Pruning and distillation train on the primary output's task and follow the data spec.

Before, both sliced every input on axis 0 and trained cross-entropy on argmax of output 0: a (N, 1) probability has a
single column, so its cross-entropy is always 0 and nothing was learnt; an embedding with no labels could not be
trained at all; a state input with its samples on axis 1 was cut across the wrong axis. Each test builds a small
torch model, exports it with the names and dynamic axes a real exporter gives, and checks the trained ONNX result
against numbers computed here.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from shrinkwise.compression.errors import TechniqueError
from shrinkwise.compression.events import MetricPoint
from shrinkwise.compression.measure.quality import cosine_per_sample
from shrinkwise.compression.technique_api import LabelledData, TechniqueContext, drive
from shrinkwise.compression.techniques import distill, prune_structured
from tests.compression.techniques.helpers import run

torch = pytest.importorskip("torch")
nn = torch.nn


def _export(
    model: Any, example: tuple[Any, ...], path: Path, inputs: list[str], outputs: list[str], axes: dict
) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(),
            example,
            str(path),
            dynamo=False,
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=17,
        )
    return path


def _ctx(tmp: Path, onnx_path: Path, factory: Any, train: LabelledData, **kw: Any) -> TechniqueContext:
    (tmp / "out").mkdir(parents=True, exist_ok=True)
    return TechniqueContext(onnx_path=onnx_path, out_dir=tmp / "out", train=train, torch_model=factory, seed=0, **kw)


def _run_onnx(path: Path, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feed), strict=True))


def _series(events: list[Any], name: str) -> list[float]:
    return [e.value for e in events if isinstance(e, MetricPoint) and e.series == name]


def _two_blobs(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    x = rng.normal(size=(n, dim)) + np.where(y[:, None] == 1, 1.5, -1.5)
    return x.astype(np.float32), y.astype(np.int64)


# ---- a (N, 1) probability: binary cross-entropy, accuracy at the threshold


class ProbNet(nn.Module):  # type: ignore[misc]
    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(dim, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, x: Any) -> Any:
        return torch.sigmoid(self.body(x))


def test_prune_structured_trains_a_probability_with_bce(tmp_path: Path) -> None:
    torch.manual_seed(0)
    untrained = ProbNet()
    state = {k: v.clone() for k, v in untrained.state_dict().items()}

    def factory() -> Any:
        m = ProbNet()
        m.load_state_dict(state)
        return m

    src = _export(
        factory(), (torch.zeros(1, 8),), tmp_path / "prob.onnx", ["x"], ["prob"], {"x": {0: "N"}, "prob": {0: "N"}}
    )
    x, y = _two_blobs(400, 8, seed=1)
    ctx = _ctx(tmp_path, src, factory, LabelledData({"x": x}, labels=y))
    events, art = run(prune_structured.apply, ctx, prune_structured.Config(keep_ratio=0.5, epochs=6, round_to=1))
    assert art.details["task"] == "binary" and art.details["trained_output"] == "prob"
    assert art.details["val_metric"] == "accuracy"
    losses = _series(events, "train_loss")
    assert losses[0] > 0.01 and losses[-1] < losses[0]  # cross-entropy of one column would be 0 throughout
    vx, vy = _two_blobs(200, 8, seed=2)
    prob = _run_onnx(tmp_path / "out" / art.path, {"x": vx})["prob"]
    assert prob.shape == (200, 1)
    accuracy = float(np.mean((prob[:, 0] >= 0.5) == vy))
    assert accuracy >= 0.9, accuracy
    assert _series(events, "val_accuracy")[-1] >= 0.9


# ---- an embedding without labels: mean squared error to the teacher, judged by cosine


class Encoder(nn.Module):  # type: ignore[misc]
    def __init__(self, dim: int = 12, width: int = 48, out: int = 8) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, out)
        )

    def forward(self, x: Any) -> Any:
        return self.net(x)


def test_distill_an_embedding_needs_no_labels_and_reports_cosine(tmp_path: Path) -> None:
    torch.manual_seed(0)
    teacher = Encoder()
    state = {k: v.clone() for k, v in teacher.state_dict().items()}

    def factory() -> Any:
        m = Encoder()
        m.load_state_dict(state)
        return m

    axes = {"x": {0: "N"}, "embedding": {0: "N"}}
    src = _export(factory(), (torch.zeros(1, 12),), tmp_path / "enc.onnx", ["x"], ["embedding"], axes)
    x = np.random.default_rng(3).normal(size=(600, 12)).astype(np.float32)
    ctx = _ctx(tmp_path, src, factory, LabelledData({"x": x}))  # no labels at all
    events, art = run(distill.apply, ctx, distill.Config(student="pruned", width_ratio=0.5, epochs=15, lr=3e-3))
    assert art.details["task"] == "embedding" and art.details["val_metric"] == "cosine_mean"
    assert art.details["student_params"] < art.details["teacher_params"]
    assert any("mean squared error" in n for n in art.notes)
    cosines = _series(events, "val_cosine_mean")
    assert len(cosines) == 15 and cosines[-1] > cosines[0]
    held = np.random.default_rng(4).normal(size=(200, 12)).astype(np.float32)
    ref = _run_onnx(src, {"x": held})["embedding"]
    got = _run_onnx(tmp_path / "out" / art.path, {"x": held})["embedding"]
    cos = float(np.mean(cosine_per_sample(ref, got)))
    assert cos >= 0.95, cos
    assert art.details["val_scores"][-1] == pytest.approx(cos, abs=0.03)  # the held-out validation tells the truth


# ---- state with samples on axis 1 and a scalar: sliced on their own axes, exported with the original's axes


class StatefulProb(nn.Module):  # type: ignore[misc]
    """input [N, 8], state [2, N, 4] (samples on axis 1), sr scalar int64 -> (prob [N, 1], stateN [2, N, 4])."""

    def __init__(self) -> None:
        super().__init__()
        self.mix = nn.Linear(8 + 8, 16)
        self.head = nn.Linear(16, 1)
        self.next = nn.Linear(16, 8)

    def forward(self, x: Any, state: Any, sr: Any) -> Any:
        scale = sr.to(torch.float32) / 16000.0
        h = torch.cat([state[0], state[1]], dim=1)  # [N, 8]
        z = torch.relu(self.mix(torch.cat([x * scale, h], dim=1)))
        new = self.next(z).reshape(-1, 2, 4).transpose(0, 1)
        return torch.sigmoid(self.head(z)), new


def test_stateful_inputs_follow_their_axes(tmp_path: Path) -> None:
    torch.manual_seed(0)
    init = StatefulProb()
    weights = {k: v.clone() for k, v in init.state_dict().items()}

    def factory() -> Any:
        m = StatefulProb()
        m.load_state_dict(weights)
        return m

    n = 300
    x, y = _two_blobs(n, 8, seed=5)
    state = (np.random.default_rng(6).normal(size=(2, n, 4)) * 0.1).astype(np.float32)
    sr = np.array(16000, dtype=np.int64)
    example = (torch.zeros(1, 8), torch.zeros(2, 1, 4), torch.tensor(16000))
    axes = {"input": {0: "batch"}, "state": {1: "batch"}, "prob": {0: "batch"}, "stateN": {1: "batch"}}
    src = _export(factory(), example, tmp_path / "vad.onnx", ["input", "state", "sr"], ["prob", "stateN"], axes)
    data = LabelledData({"input": x, "state": state, "sr": sr}, labels=y, axes={"input": 0, "state": 1, "sr": None})
    ctx = _ctx(tmp_path, src, factory, data)
    events, art = run(distill.apply, ctx, distill.Config(student="pruned", width_ratio=1.0, epochs=6, lr=3e-3))
    assert art.details["task"] == "binary" and art.details["trained_output"] == "prob"
    out = tmp_path / "out" / art.path
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    shapes = {i.name: i.shape for i in sess.get_inputs()}
    assert shapes["state"][1] == "batch" and shapes["sr"] == []
    got = _run_onnx(out, {"input": x[:50], "state": state[:, :50], "sr": sr})
    assert got["prob"].shape == (50, 1) and got["stateN"].shape == (2, 50, 4)
    assert float(np.mean((got["prob"][:, 0] >= 0.5) == y[:50])) >= 0.9
    assert _series(events, "val_accuracy")[-1] >= 0.9


# ---- tasks training cannot serve are refused before any training, in one line


class Frames(nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(6, 5)

    def forward(self, x: Any) -> Any:
        return self.proj(x)  # [N, T, 5]: frames


def test_an_unsupported_task_is_refused_before_training(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = Frames()
    weights = {k: v.clone() for k, v in model.state_dict().items()}

    def factory() -> Any:
        m = Frames()
        m.load_state_dict(weights)
        return m

    axes = {"x": {0: "N"}, "frames": {0: "N"}}
    src = _export(factory(), (torch.zeros(1, 7, 6),), tmp_path / "frames.onnx", ["x"], ["frames"], axes)
    x = np.random.default_rng(7).normal(size=(40, 7, 6)).astype(np.float32)
    for module, config in ((prune_structured, prune_structured.Config(epochs=3)), (distill, distill.Config(epochs=3))):
        ctx = _ctx(tmp_path / module.__name__, src, factory, LabelledData({"x": x}, labels=np.zeros(40, np.int64)))
        events: list[Any] = []
        with pytest.raises(TechniqueError) as err:
            drive(module.apply(ctx, config), events.append)
        text = str(err.value)
        assert "\n" not in text and "output 'frames'" in text and "its task is sequence" in text
        assert "training supports classification, binary, embedding, regression" in text
        assert not _series(events, "train_loss")


def test_class_scores_without_labels_say_which_task_needs_them(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3))
    weights = {k: v.clone() for k, v in model.state_dict().items()}

    def factory() -> Any:
        m = nn.Sequential(nn.Linear(4, 3))
        m.load_state_dict(weights)
        return m

    src = _export(
        factory(), (torch.zeros(1, 4),), tmp_path / "cls.onnx", ["x"], ["logits"], {"x": {0: "N"}, "logits": {0: "N"}}
    )
    x = np.random.default_rng(8).normal(size=(30, 4)).astype(np.float32)
    with pytest.raises(TechniqueError, match="primary output's task is classification"):
        run(distill.apply, _ctx(tmp_path, src, factory, LabelledData({"x": x})), distill.Config(epochs=1))


# ---- a regression without labels: fine-tuned towards the unpruned model's values, judged by 1 - relative error


def test_prune_structured_fine_tunes_a_regression_towards_the_unpruned_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    weights = {k: v.clone() for k, v in model.state_dict().items()}

    def factory() -> Any:
        m = nn.Sequential(nn.Linear(6, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
        m.load_state_dict(weights)
        m[4].bias.data += 3.0  # values well outside [0, 1]: a regression, not a probability
        return m

    axes = {"x": {0: "N"}, "f0": {0: "N"}}
    src = _export(factory(), (torch.zeros(1, 6),), tmp_path / "f0.onnx", ["x"], ["f0"], axes)
    x = np.random.default_rng(9).normal(size=(500, 6)).astype(np.float32)
    ctx = _ctx(tmp_path, src, factory, LabelledData({"x": x}))
    events, art = run(prune_structured.apply, ctx, prune_structured.Config(keep_ratio=0.4, epochs=8, round_to=1))
    assert art.details["task"] == "regression" and art.details["val_metric"] == "value_fidelity"
    fidelity = _series(events, "val_value_fidelity")
    assert len(fidelity) == 1 + 8  # after pruning (step 0), then each epoch
    assert fidelity[-1] > fidelity[0]  # fine-tuning brought the pruned model back towards the original's values
    held = np.random.default_rng(10).normal(size=(200, 6)).astype(np.float32)
    ref = _run_onnx(src, {"x": held})["f0"]
    got = _run_onnx(tmp_path / "out" / art.path, {"x": held})["f0"]
    rel = float(np.linalg.norm(ref - got) / np.linalg.norm(ref))
    assert 1 - rel >= 0.9, rel
