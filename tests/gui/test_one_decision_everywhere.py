"""One decision, shown the same everywhere: the advisor, Compare, Export, the report (HTML/JSON) and
`shrinkwise results --json` name the same recommended candidate with the same numbers, before and after the
device's benchmark results are imported. Shipping a candidate that misses the budget asks first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from shrinkwise.workspace.bundle import import_results, make_bundle
from shrinkwise.workspace.cli import main
from shrinkwise.workspace.report import build_report, render
from shrinkwise.workspace.runs import run_recipe
from shrinkwise.workspace.session import Session
from tests.gui.conftest import open_and_wait, wait_idle


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def _everyone(qtbot: Any, window: Any, path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> dict:
    """The recommended id and its latency/size/quality as each view states them."""
    from shrinkwise.gui.main_window import STEP_COMPARE, STEP_EXPORT

    out: dict[str, Any] = {}
    res = _cli(["results", str(path), "--json"], capsys)
    rec = res["recommendation"]["candidate"]
    row = next(r for r in res["candidates"] if r["id"] == rec)
    out["results"] = (rec, row["latency_ms_median"], row["size_bytes"], row["accuracy"])
    advice = _cli(["advise", str(path), "--json"], capsys)
    out["advise"] = advice["decision"]["candidate"]

    report = build_report(Session.open(path), compute=False)
    exp = next(e for e in report.experiments if e.id == report.verdict.recommended_id)
    figures = {f.metric: f.value for f in exp.figures}
    out["report"] = (
        report.verdict.recommended_id,
        figures["latency_ms_median"],
        figures["size_bytes"],
        figures.get("accuracy"),
    )
    data = json.loads(render(report, "json"))
    out["report_json"] = data["verdict"]["recommended_id"]
    html = render(report, "html").decode("utf-8")
    assert report.verdict.recommendation and report.verdict.recommendation.split(":")[0][:40] in html

    open_and_wait(qtbot, window, path)
    window.go(STEP_COMPARE)
    qtbot.waitUntil(lambda: window.compare_page.recommended_id is not None, timeout=30_000)
    page = window.compare_page
    grow = next(r for r in page.rows if r.id == page.recommended_id)
    out["compare"] = (page.recommended_id, grow.latency_ms_median, grow.size_bytes, grow.accuracy)
    out["compare_selected"] = page.selected_id
    assert (
        window.advice is not None
        and window.advice.decision.paragraph in page.headline.text().replace("&#x27;", "'").replace("&quot;", '"')
        or window.advice.decision.headline[:30] in page.headline.text()
    )
    window.go(STEP_EXPORT)
    out["export"] = window.export_page.decision_label.text()
    wait_idle(qtbot, window)
    return out


def test_same_candidate_and_numbers_everywhere_before_and_after_device_results(
    qtbot: Any, window: Any, demo_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = Session.open(demo_project)
    fp16 = run_recipe(session, ["fp16"])
    run_recipe(session, ["int8_static"])
    session = Session.open(demo_project)
    size = fp16.measurement("size_bytes")
    assert size is not None
    session.set_target("this-computer")
    session.set_budget(size_mb=size.value / 1e6 * 1.05, accuracy_drop_pts=1.0)
    session.save()

    before = _everyone(qtbot, window, demo_project, capsys, tmp_path)
    rec = before["results"][0]
    assert rec == fp16.id  # the least invasive candidate meeting every budget
    assert before["advise"] == before["report_json"] == before["compare_selected"] == rec
    assert before["results"] == before["report"] == before["compare"]
    assert "fp16" in before["export"]
    window.set_dirty(False)

    # The device's own numbers come back: every view switches to them, together.
    folder = make_bundle(Session.open(demo_project), rec, tmp_path / "bundle", samples=8)
    proc = subprocess.run(
        [sys.executable, "run_benchmark.py", "--device-name", "board", "--repeats", "20", "--rounds", "2"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    session = Session.open(demo_project)
    import_results(session, folder / "results.json")
    device = Session.open(demo_project).project.experiment(rec).measurement("latency_ms_median")
    assert device is not None and device.source == "device"

    after = _everyone(qtbot, window, demo_project, capsys, tmp_path)
    assert after["results"][0] == after["advise"] == after["report_json"] == rec
    assert after["results"] == after["report"] == after["compare"]
    assert after["results"][1] == pytest.approx(device.value)


def test_shipping_a_candidate_that_misses_the_budget_asks_first(
    qtbot: Any, window: Any, demo_project: Path, dialog_log: Any
) -> None:
    session = Session.open(demo_project)
    fp16 = run_recipe(session, ["fp16"])
    session = Session.open(demo_project)
    session.set_target("this-computer")
    session.set_budget(size_mb=0.01)  # nothing meets it
    session.save()
    open_and_wait(qtbot, window, demo_project)
    window.refresh_advice()
    assert window.advice.decision.misses_budget(fp16.id)
    dialog_log.answer = QMessageBox.StandardButton.No
    window.choose_candidate(fp16.id)
    assert window.session.project.chosen is None
    assert any("misses the budget" in d["text"] for d in dialog_log.shown)
    dialog_log.answer = QMessageBox.StandardButton.Yes
    window.choose_candidate(fp16.id)
    wait_idle(qtbot, window)
    assert window.session.project.chosen == fp16.id
    report = build_report(window.session, compute=False)
    assert report.verdict.status == "misses" and "misses the budget" in report.verdict.flag
    window.set_dirty(False)
