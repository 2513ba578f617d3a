"""The sensitivity analysis carries ONNX Runtime's per-layer QDQ error (computed in the worker) into its ranking,
its `extra` and the CLI table."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from shrinkwise.workspace.project import Experiment
from shrinkwise.workspace.session import Session


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Experiment]:
    from shrinkwise.workspace.demo import build_demo
    from shrinkwise.workspace.runs import sensitivity

    template = tmp_path_factory.getbasetemp() / "demo-template"
    if not (template / "digits-demo.shrinkwise.json").exists():
        build_demo(template)
    dest = tmp_path_factory.mktemp("sens") / "demo"
    shutil.copytree(template, dest)
    session = Session.open(dest / "digits-demo.shrinkwise.json")
    exp = sensitivity(session, tolerance=0.01, technique="int8_static", latency_seconds=0.2)
    return session.path, exp


def test_every_weight_layer_has_finite_per_layer_sqnr(analysed: tuple[Path, Experiment]) -> None:
    path, exp = analysed
    assert exp.status == "finished", exp.error
    le = exp.extra["layer_error"]
    assert le["reason"] is None and le["samples"] > 0
    by_node = {e["node"]: e for e in le["layers"]}
    ranking = exp.extra["ranking"]
    assert {r["op_type"] for r in ranking} == {"Conv", "Gemm"} and len(ranking) == 5
    for row in ranking:
        e = by_node[row["node"]]
        assert e["op_type"] == row["op_type"]
        assert math.isfinite(e["weight_sqnr_db"]) and e["weight_sqnr_db"] > 10
        assert math.isfinite(e["activation_sqnr_db"]) and e["activation_sqnr_db"] > 10
        assert row["weight_sqnr_db"] == e["weight_sqnr_db"] and row["activation_sqnr_db"] == e["activation_sqnr_db"]
    # Existing fields stay, and the saved project holds the same.
    assert {"drop_alone", "recovery", "sqnr_alone_db", "size_cost_bytes", "latency_cost_ms"} <= set(ranking[0])
    from shrinkwise.workspace.project import load_project

    assert load_project(path).experiment(exp.id).extra["layer_error"] == le


def test_cli_table_shows_activation_and_weight_sqnr(
    analysed: tuple[Path, Experiment], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shrinkwise.workspace.runs as runs_module
    from shrinkwise.workspace.cli import main

    path, exp = analysed
    monkeypatch.setattr(runs_module, "sensitivity", lambda *a, **k: exp)  # print the stored analysis, do not re-run
    assert main(["sensitivity", str(path)]) == 0
    out = capsys.readouterr().out
    assert "act SQNR" in out and "w SQNR" in out
    row = next(line for line in out.splitlines() if line.startswith(exp.extra["ranking"][0]["node"][:36]))
    assert f"{exp.extra['ranking'][0]['weight_sqnr_db']:.1f}" in row
    assert f"{exp.extra['ranking'][0]['activation_sqnr_db']:.1f}" in row
