"""One decision, shown the same everywhere: the advisor, Compare, Export, the report (HTML/JSON) and
`shrinkwise results --json` name the same recommended candidate with the same numbers, before and after the
device's benchmark results are imported. Shipping a candidate that misses the budget asks first."""

from __future__ import annotations

import html as htmllib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from shrinkwise.units import fmt_bytes, fmt_ms
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


def _texts(latency_ms: float | None, size_bytes: float | None, accuracy: float | None, drop_pts: float | None) -> tuple:
    """A candidate's numbers as every view writes them (the one formatter, shrinkwise.units)."""
    assert None not in (latency_ms, size_bytes, accuracy, drop_pts)
    drop = f"{drop_pts:.2f}".replace("-0.00", "0.00")  # a drop that rounds to zero reads the same either side
    return (fmt_ms(latency_ms), fmt_bytes(size_bytes), f"{accuracy * 100:.2f} %", drop)  # type: ignore[operator]


def _states_numbers(paragraph: str, texts: tuple) -> None:
    """The decision's paragraph, wherever it is shown, states the candidate's latency, size and accuracy drop."""
    latency, size, _, drop = texts
    assert f"({latency}, on " in paragraph and f"({size})" in paragraph, (texts, paragraph)
    assert f"drops {drop} points" in paragraph or f"changes {drop.lstrip('-')} points" in paragraph, (texts, paragraph)


def _everyone(qtbot: Any, window: Any, path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Each view's recommended id and the latency/size/quality it shows for it: ((id, texts), raw values)."""
    from shrinkwise.gui.compare_page import COL_CANDIDATE, COL_LATENCY, COL_QUALITY, COL_SIZE
    from shrinkwise.gui.main_window import STEP_COMPARE, STEP_EXPORT

    out: dict[str, Any] = {}
    res = _cli(["results", str(path), "--json"], capsys)
    rec = res["recommendation"]["candidate"]
    row = next(r for r in res["candidates"] if r["id"] == rec)
    base = next(r for r in res["candidates"] if r["original"])
    drop = (base["accuracy"] - row["accuracy"]) * 100
    texts = _texts(row["latency_ms_median"], row["size_bytes"], row["accuracy"], drop)
    out["values"] = (row["latency_ms_median"], row["size_bytes"], row["accuracy"], row["latency_source"])
    out["results"] = (rec, texts)
    _states_numbers(res["recommendation"]["paragraph"], texts)

    decision = _cli(["advise", str(path), "--json"], capsys)["decision"]
    out["advise"] = (
        decision["candidate"],
        _texts(decision["latency_ms"], decision["size_mb"] * 1e6, row["accuracy"], decision["accuracy_drop_pts"]),
    )
    assert decision["latency_ms"] == pytest.approx(row["latency_ms_median"])
    assert decision["size_mb"] * 1e6 == pytest.approx(row["size_bytes"])
    assert decision["accuracy_drop_pts"] == pytest.approx(drop)
    assert decision["latency_source"] == row["latency_source"]
    paragraph = res["recommendation"]["paragraph"]

    report = build_report(Session.open(path), compute=False)
    exp = next(e for e in report.experiments if e.id == report.verdict.recommended_id)
    figures = {f.metric: f for f in exp.figures}
    out["report"] = (
        report.verdict.recommended_id,
        (figures["latency_ms_median"].text, figures["size_bytes"].text, figures["accuracy"].text, texts[3]),
    )
    assert (figures["latency_ms_median"].value, figures["size_bytes"].value, figures["accuracy"].value) == (
        pytest.approx(row["latency_ms_median"]),
        pytest.approx(row["size_bytes"]),
        pytest.approx(row["accuracy"]),
    )
    assert figures["latency_ms_median"].source == row["latency_source"]
    assert report.verdict.recommendation == paragraph
    data = json.loads(render(report, "json"))
    jexp = next(e for e in data["experiments"] if e["id"] == data["verdict"]["recommended_id"])
    jfig = {f["metric"]: f["text"] for f in jexp["figures"]}
    out["report_json"] = (
        data["verdict"]["recommended_id"],
        (jfig["latency_ms_median"], jfig["size_bytes"], jfig["accuracy"], texts[3]),
    )
    assert data["verdict"]["recommendation"] == paragraph
    page_html = render(report, "html").decode("utf-8")
    first = page_html[page_html.index('<section id="verdict">') :]
    first = htmllib.unescape(first[: first.index("</section>")])
    assert paragraph in first
    _states_numbers(first, texts)

    open_and_wait(qtbot, window, path)
    window.go(STEP_COMPARE)
    qtbot.waitUntil(lambda: window.compare_page.recommended_id is not None, timeout=30_000)
    page = window.compare_page
    grow = next(r for r in page.rows if r.id == page.recommended_id)
    assert (grow.latency_ms_median, grow.size_bytes, grow.accuracy) == (
        pytest.approx(row["latency_ms_median"]),
        pytest.approx(row["size_bytes"]),
        pytest.approx(row["accuracy"]),
    )
    line = next(
        i
        for i in range(page.table.rowCount())
        if page.table.item(i, COL_CANDIDATE).data(Qt.ItemDataRole.UserRole) == rec
    )
    cell = {c: page.table.item(line, c).text().split("  ") for c in (COL_LATENCY, COL_SIZE, COL_QUALITY)}
    change = cell[COL_QUALITY][1].removesuffix(" pts")
    out["compare"] = (
        page.recommended_id,
        (
            cell[COL_LATENCY][0],
            cell[COL_SIZE][0],
            cell[COL_QUALITY][0],
            f"{-float(change):.2f}".replace("-0.00", "0.00"),
        ),
    )
    out["compare_selected"] = page.selected_id
    # Compare's paragraph: the headline always shown, the rest under "Why?": together, the decision's paragraph.
    assert window.advice is not None
    shown = htmllib.unescape(page.headline.text()).split("<br>")[-1] + " " + htmllib.unescape(page.why.text())
    assert shown == paragraph
    window.go(STEP_EXPORT)
    export_text = htmllib.unescape(window.export_page.decision_label.text())
    assert paragraph in export_text
    _states_numbers(export_text, texts)
    out["export"] = rec if paragraph in export_text else None
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

    before = _everyone(qtbot, window, demo_project, capsys)
    rec = before["results"][0]
    assert rec == fp16.id  # the least invasive candidate meeting every budget
    views = ("results", "advise", "report", "report_json", "compare")
    assert {v: before[v] for v in views if before[v] != before["results"]} == {}, before["results"]
    assert before["compare_selected"] == before["export"] == rec
    assert before["values"][3] == "host"
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

    after = _everyone(qtbot, window, demo_project, capsys)
    assert after["results"][0] == rec
    assert {v: after[v] for v in views if after[v] != after["results"]} == {}, after["results"]
    assert after["compare_selected"] == after["export"] == rec
    assert after["values"][0] == pytest.approx(device.value) and after["values"][3] == "device"
    assert after["results"][1][0] == fmt_ms(device.value)


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
