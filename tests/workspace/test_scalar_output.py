"""A model with a scalar (0-d) output beside its class scores: measuring, running and reporting it never crash.

The scalar has no samples axis, so it is not scored by a task (it is named "not scored" with the reason) and the
class scores stay the headline: accuracy is what it really is, and a candidate's is compared on that output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from shrinkwise.compression.data import Dataset
from shrinkwise.compression.measure.scoring import score_outputs
from shrinkwise.compression.signature import InputSignature, TensorSpec
from shrinkwise.workspace.cli import main
from shrinkwise.workspace.project import load_project


def _scalar_output_model(path: Path, w: np.ndarray) -> Path:
    """x [N, 16] -> MatMul -> `logits` [N, 5], and `energy` = ReduceMean(logits) with no axes kept: shape []."""
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["logits"]),
        helper.make_node("ReduceMean", ["logits"], ["energy"], keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "scalar_output",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5]),
            helper.make_tensor_value_info("energy", TensorProto.FLOAT, []),
        ],
        [numpy_helper.from_array(w, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return path


def test_scoring_a_scalar_output_keeps_the_class_scores_as_headline() -> None:
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((12, 5)).astype(np.float32)
    labels = logits.argmax(1)
    labels[:3] = (labels[:3] + 1) % 5  # 9 of 12 right
    evaluation = Dataset(inputs={"x": np.zeros((12, 16), np.float32)}, labels=labels, source="labelled")
    sig = InputSignature(
        inputs=[TensorSpec(name="x", shape=["N", 16], dtype="float32")],
        outputs=[
            TensorSpec(name="logits", shape=["N", 5], dtype="float32"),
            TensorSpec(name="energy", shape=[], dtype="float32"),
        ],
    )
    reference = {"logits": logits, "energy": np.array(logits.mean(), np.float32)}
    candidate = {"logits": logits, "energy": np.array(logits.mean() + 0.01, np.float32)}
    scored = score_outputs(reference, candidate, evaluation, sig)
    assert scored.primary == "logits"
    by_name = {q.output: q for q in scored.outputs}
    assert by_name["logits"].metrics["accuracy"] == pytest.approx(9 / 12)
    assert by_name["logits"].metrics["top1_agreement"] == 1.0
    energy = by_name["energy"]
    assert energy.task == "ignore" and "no samples axis" in energy.reason and energy.sample_shape == []
    assert set(energy.metrics) <= {"sqnr_db"} and 0 < energy.metrics["sqnr_db"] < 200  # fidelity only, finite
    headline = [m for m in scored.measurements("labelled", 12) if m.details.get("headline")]
    assert [(m.metric, m.details["output"]) for m in headline] == [("accuracy", "logits")]


def test_a_scalar_output_model_measures_runs_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((16, 5)) * 0.5).astype(np.float32)
    model = _scalar_output_model(tmp_path / "s.onnx", w)
    x = rng.standard_normal((60, 16)).astype(np.float32)
    y = (x @ w).argmax(1)
    y[:6] = (y[:6] + 1) % 5
    np.savez(tmp_path / "d.npz", x=x, y=y)
    project = tmp_path / "P"
    assert main(["new", str(project), "--model", str(model), "--data", str(tmp_path / "d.npz")]) == 0
    assert main(["measure", str(project)]) == 0
    assert main(["run", str(project), "fp16"]) == 0
    assert main(["report", str(project), "--format", "md", "--out", str(tmp_path / "r.md")]) == 0
    capsys.readouterr()
    p = load_project(project)
    base = p.baseline
    assert base is not None and base.quality is not None
    outputs = {o.output: o for o in base.quality.outputs}
    assert outputs["logits"].primary and outputs["logits"].task == "classification"
    assert outputs["energy"].task == "ignore" and "no samples axis" in outputs["energy"].reason
    accuracy = next(m.value for m in base.measurements if m.metric == "accuracy")
    assert 0.5 < accuracy < 1.0  # a real accuracy: the labels were made 90% right
    run = next(e for e in p.experiments if e.kind == "run")
    assert run.status == "finished"
    run_metrics = {m.metric: m.value for m in run.measurements}
    assert run_metrics["top1_agreement"] == 1.0 and run_metrics["accuracy"] == pytest.approx(accuracy)
    assert "Traceback" not in (tmp_path / "r.md").read_text()
