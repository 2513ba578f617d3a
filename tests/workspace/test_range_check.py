"""The range check after a QDQ run: layers whose activations drift from float become `range_anomalies`, which the
advisor turns into a warning (lessons L-QUANT-08 / L-EVAL-04: check ranges layer by layer after quantizing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shrinkwise.workspace.runs import run_recipe
from shrinkwise.workspace.session import Session
from tests.compression.test_layer_error import inputs, mlp


def _project(tmp_path: Path, calibration_outliers: bool = False) -> Session:
    """A small MLP; evaluation data is clean, calibration data optionally holds two samples 1000x too large."""
    model = mlp(tmp_path / "mlp.onnx")
    x = inputs(300)["x"]
    calibration = x[:100].copy()
    if calibration_outliers:
        calibration[:2] *= 1000.0
    np.savez(tmp_path / "calibration.npz", x=calibration)
    np.savez(tmp_path / "evaluation.npz", x=x[100:])
    session = Session.create(tmp_path / "p")
    session.attach_model(model)
    session.add_data(tmp_path / "calibration.npz", role="calibration")
    session.add_data(tmp_path / "evaluation.npz", role="evaluation")
    return session


def test_calibration_outliers_show_up_as_range_anomalies_and_the_advisor_warns(tmp_path: Path) -> None:
    session = _project(tmp_path, calibration_outliers=True)
    exp = run_recipe(session, ["int8_static"])
    assert exp.status == "finished", exp.error
    # MinMax ranges stretched by two outliers crush every normal activation, from the first layer on
    assert exp.extra["range_anomalies"][0] == "fc1"
    sqnr = {e["node"]: e["activation_sqnr_db"] for e in exp.extra["layer_error"]["layers"]}
    assert sqnr["fc1"] < 20.0
    assert "range-anomalies" in {w.rule_id for w in session.advise().warnings}


def test_a_clean_calibration_has_no_anomalies(tmp_path: Path) -> None:
    session = _project(tmp_path)
    exp = run_recipe(session, ["int8_static"])
    assert exp.status == "finished", exp.error
    assert exp.extra["range_anomalies"] == [] and exp.extra["layer_error"]["layers"]
    assert "range-anomalies" not in {w.rule_id for w in session.advise().warnings}


def test_non_qdq_runs_skip_the_check(tmp_path: Path) -> None:
    session = _project(tmp_path)
    exp = run_recipe(session, ["fp16"])
    assert "range_anomalies" not in exp.extra and "layer_error" not in exp.extra
