"""The whole flow on real-world output and input shapes (issue 12 items 1 and 2): a detector head with a box output
before its class scores, a (N,1) probability, an embedding, and a streaming recurrent model with its state on axis 1,
a scalar int64 `sr` and a `stateN` output. Each goes new -> profile -> advise -> fp16 -> int8_dynamic ->
int8_static -> sensitivity -> report; every step finishes, and every recorded headline number equals one computed
here with numpy on ONNX Runtime's outputs. The split is recomputed here too, so the data spec's slicing is checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.compression.models import binary_probability, detector_head, embedding_encoder, stateful_vad

N = 60


def _run(path: Path, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    from shrinkwise.compression.measure.runtime import quality_session

    sess, _ = quality_session(path, threads=1)  # as the worker measures quality (exact int8 kernel)
    return [np.asarray(o, dtype=np.float64) for o in sess.run(None, feed)]


def _eval_index(n: int, seed: int = 0, fraction: float = 0.3) -> np.ndarray:
    """The evaluation samples as the project's seeded split picks them (DataSplit defaults)."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: max(1, int(round(fraction * n)))])


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# Each shape: (build model, write data -> evaluation feed, expected headline metric, numpy reference of it)
Reference = Callable[[list[np.ndarray], list[np.ndarray], np.ndarray | None], float]


def _detector(tmp: Path) -> tuple[Path, dict[str, np.ndarray], np.ndarray | None]:
    model = detector_head(tmp / "det.onnx")
    x = np.random.default_rng(1).standard_normal((N, 16)).astype(np.float32)
    y = _run(model, {"x": x})[1].argmax(axis=1)
    y[::7] = (y[::7] + 1) % 5  # some labels the model gets wrong
    np.savez(tmp / "data.npz", x=x, y=y)
    idx = _eval_index(N)
    return model, {"x": x[idx]}, y[idx]


def _binary(tmp: Path) -> tuple[Path, dict[str, np.ndarray], np.ndarray | None]:
    model = binary_probability(tmp / "bin.onnx")
    x = np.random.default_rng(2).standard_normal((N, 8)).astype(np.float32)
    np.savez(tmp / "data.npz", x=x)
    return model, {"x": x[_eval_index(N)]}, None


def _embedding(tmp: Path) -> tuple[Path, dict[str, np.ndarray], np.ndarray | None]:
    model = embedding_encoder(tmp / "emb.onnx")
    x = np.random.default_rng(3).standard_normal((N, 16)).astype(np.float32)
    np.savez(tmp / "data.npz", x=x)
    return model, {"x": x[_eval_index(N)]}, None


def _vad(tmp: Path) -> tuple[Path, dict[str, np.ndarray], np.ndarray | None]:
    model = stateful_vad(tmp / "vad.onnx")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((N, 64)).astype(np.float32)
    state = (rng.standard_normal((2, N, 16)) * 0.5).astype(np.float32)
    np.savez(tmp / "data.npz", input=x, state=state, sr=np.array(16000, dtype=np.int64))
    idx = _eval_index(N)
    return model, {"input": x[idx], "state": state[:, idx], "sr": np.array(16000, dtype=np.int64)}, None


def _decisions(a: list[np.ndarray], b: list[np.ndarray], _y: np.ndarray | None, out: int = 0) -> float:
    return float(np.mean((a[out][:, 0] >= 0.5) == (b[out][:, 0] >= 0.5)))


SHAPES: dict[str, tuple[Callable[[Path], tuple[Path, dict[str, np.ndarray], np.ndarray | None]], str, Reference]] = {
    "detector_box_first": (_detector, "accuracy", lambda a, b, y: float(np.mean(b[1].argmax(axis=1) == y))),
    "binary_probability": (_binary, "decision_agreement", _decisions),
    "embedding": (_embedding, "cosine_mean", lambda a, b, y: float(np.mean(_cosines(a[0], b[0])))),
    "state_axis1_scalar_sr": (_vad, "decision_agreement", _decisions),
}
TASKS = {
    "detector_box_first": {"boxes": "regression", "logits": "classification"},
    "binary_probability": {"prob": "binary"},
    "embedding": {"embedding": "embedding"},
    "state_axis1_scalar_sr": {"output": "binary", "stateN": "state"},
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_flow_scores_each_output_by_its_task(tmp_path: Path, shape: str) -> None:
    from shrinkwise.workspace.labels import metric_label
    from shrinkwise.workspace.report import write_report
    from shrinkwise.workspace.runs import results, run_recipe, sensitivity
    from shrinkwise.workspace.session import Session

    build, metric, reference = SHAPES[shape]
    model, feed, labels = build(tmp_path)
    session = Session.create(tmp_path / "project" / "p.shrinkwise.json")
    session.attach_model(model)
    session.add_data(tmp_path / "data.npz")
    assert session.profile().parameters > 0
    session.advise()
    base = session.measure_baseline()
    assert base.quality is not None
    assert {q.output: q.task for q in base.quality.outputs} == TASKS[shape]
    assert all(q.reason for q in base.quality.outputs)
    headline = [m for m in base.measurements if m.details.get("headline")]
    assert [m.metric for m in headline] == [metric]
    original = _run(session.onnx_path, feed)
    if labels is not None:
        assert headline[0].value == pytest.approx(reference(original, original, labels))

    for technique in ("fp16", "int8_dynamic", "int8_static"):
        exp = run_recipe(session, [technique], latency_seconds=0.2, measure_memory=False)
        assert exp.status == "finished", (technique, exp.error)
        assert exp.final_artifact is not None and exp.quality is not None
        candidate = _run(session.resolve(exp.final_artifact.path), feed)
        value = exp.measurement(metric)
        assert value is not None and value.details.get("headline"), technique
        assert value.value == pytest.approx(reference(original, candidate, labels), abs=1e-9), technique
        if shape == "detector_box_first":  # the box output is scored too, as a regression
            boxes = next(q for q in exp.quality.outputs if q.output == "boxes")
            rel = np.linalg.norm(original[0] - candidate[0]) / np.linalg.norm(original[0])
            assert boxes.metrics["value_fidelity"] == pytest.approx(1 - rel, abs=1e-9)
        if shape == "state_axis1_scalar_sr":  # stateN gathered on its own axis, scored as fidelity only
            state = next(q for q in exp.quality.outputs if q.output == "stateN")
            assert state.sample_shape == [2, 16] and "sqnr_db" in state.metrics
            noise = np.sum((original[1] - candidate[1]) ** 2)
            if noise > 0:
                expected_db = 10 * np.log10(np.sum(original[1] ** 2) / noise)
                assert state.metrics["sqnr_db"] == pytest.approx(min(expected_db, 200.0), abs=1e-6)

    assert [r.quality_metric for r in results(session)][:1] == [metric]
    sens = sensitivity(session, tolerance=0.05, latency_seconds=0.2)
    assert sens.status == "finished", sens.error
    assert sens.extra["metric"] == metric
    assert sens.final_artifact is not None
    chosen = _run(session.resolve(sens.final_artifact.path), feed)
    assert sens.extra["proposal"]["quality"] == pytest.approx(reference(original, chosen, labels), abs=1e-9)
    report = write_report(session, "md", tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"| {metric_label(metric)} |" in report  # the candidates table's quality column is the headline


def test_task_override_is_saved_and_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`shrinkwise data P --task embedding=regression` is stored in the project as a typed field, the next baseline
    and sensitivity analysis score that output as a regression, and the CLI prints each output's task and reason."""
    from shrinkwise.workspace.cli import main
    from shrinkwise.workspace.project import load_project
    from shrinkwise.workspace.runs import sensitivity
    from shrinkwise.workspace.session import Session

    model, feed, _ = _embedding(tmp_path)
    project = tmp_path / "p.shrinkwise.json"
    assert main(["new", str(project), "--model", str(model), "--data", str(tmp_path / "data.npz")]) == 0
    assert main(["measure", str(project)]) == 0
    capsys.readouterr()
    assert main(["data", str(project), "--task", "embedding=regression"]) == 0
    printed = capsys.readouterr().out
    assert "output embedding: regression [headline, declared] — output 'embedding' declared regression" in printed
    saved = json.loads(project.read_text(encoding="utf-8"))
    assert saved["io"]["outputs"]["embedding"]["task"] == "regression"
    assert load_project(project).baseline is None  # measured again under the new task

    session = Session.open(project)
    base = session.measure_baseline()
    assert [m.metric for m in base.measurements if m.details.get("headline")] == ["value_fidelity"]
    sens = sensitivity(session, tolerance=0.05, latency_seconds=0.2)
    assert sens.status == "finished", sens.error
    assert sens.extra["metric"] == "value_fidelity"
    assert sens.final_artifact is not None
    original = _run(session.onnx_path, feed)[0]
    chosen = _run(session.resolve(sens.final_artifact.path), feed)[0]
    rel = np.linalg.norm(original - chosen) / np.linalg.norm(original)
    assert sens.extra["proposal"]["quality"] == pytest.approx(max(0.0, 1 - rel), abs=1e-9)

    # A name the model does not have is one line naming the outputs, exit 2, and changes nothing.
    assert main(["data", str(project), "--task", "nope=binary"]) == 2
    assert "the model has no output 'nope'" in capsys.readouterr().err
    assert load_project(project).io.outputs["embedding"].task == "regression"


def test_cli_declares_an_input_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An input spec given on the CLI is saved and the data is read by it (here: a state with a fixed batch of 1
    in the signature would be ambiguous; the declaration makes `h` a constant)."""
    from shrinkwise.workspace.cli import main
    from shrinkwise.workspace.project import load_project

    model, _, _ = _vad(tmp_path)
    project = tmp_path / "p.shrinkwise.json"
    assert main(["new", str(project), "--model", str(model)]) == 0
    capsys.readouterr()
    assert main(["data", str(project), str(tmp_path / "data.npz"), "--input", "sr=constant", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["io"]["inputs"]["sr"]["kind"] == "constant"
    assert {o["output"]: o["task"] for o in shown["outputs"]} == {"output": "binary", "stateN": "state"}
    health = shown["data"]["health"]
    assert {s["name"]: s["samples_axis"] for s in health["inputs"]} == {"input": 0, "state": 1, "sr": None}
    assert load_project(project).io.inputs["sr"].kind == "constant"
