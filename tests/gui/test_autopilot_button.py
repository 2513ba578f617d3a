"""The Advice page's autopilot button: the climb runs off the UI thread, shows "rung k of at most n" and a timeline
while it runs, ends on the candidate the one decision recommends, and Stop ends it cleanly."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer

from shrinkwise.gui import workers
from shrinkwise.gui.autopilot_panel import BUTTON_TEXT
from shrinkwise.workspace.session import Session
from tests.gui.conftest import open_and_wait


def _goal(path: Path, factor: float) -> None:
    session = Session.open(path)
    session.set_target("this-computer")
    session.set_budget(size_mb=session.onnx_path.stat().st_size / 1e6 / factor, accuracy_drop_pts=1.0)
    session.save()


def test_button_climbs_to_the_recommended_candidate(qtbot: Any, window: Any, demo_project: Path) -> None:
    from shrinkwise.gui.main_window import STEP_ADVICE

    _goal(demo_project, 3.5)
    open_and_wait(qtbot, window, demo_project)
    window.go(STEP_ADVICE)
    panel = window.advice_page.autopilot
    assert panel.button.text() == BUTTON_TEXT and panel.button.isVisible()

    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    progress_seen: list[str] = []
    window.controller.autopilot_event.connect(lambda ev: progress_seen.append(panel.progress_label.text()))
    workers.CALLS.clear()
    qtbot.mouseClick(panel.button, __import__("PySide6.QtCore", fromlist=["Qt"]).Qt.MouseButton.LeftButton)
    assert panel.running and not panel.button.isEnabled() and panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.running, timeout=180_000)
    timer.stop()

    assert any(t.startswith("Rung 1 of at most 8") for t in progress_seen)  # progress says rung k of at most n
    assert len(ticks) > 10  # the UI thread kept running its event loop during the climb
    climb = [c for c in workers.CALLS if "Autopilot.run" in c.name]
    assert climb and all(c.thread is not threading.main_thread() for c in climb)  # never on the UI thread

    journal = window.session.project.autopilot[-1]
    assert journal.status == "met", [(r.title, r.status, r.verdict, r.error) for r in journal.rungs] + [
        journal.stopped_because
    ]
    texts = panel.timeline_texts()
    assert len(texts) == len(journal.rungs) and any("Meets every budget." in t for t in texts)
    assert "found a candidate that meets every budget" in panel.summary.text()
    # The same candidate the one decision recommends, on the Advice page and Compare alike.
    qtbot.waitUntil(
        lambda: window.advice is not None and window.advice.decision.candidate == journal.final, timeout=30_000
    )


def test_stop_ends_the_climb_and_keeps_the_journal(qtbot: Any, window: Any, demo_project: Path) -> None:
    from PySide6.QtCore import Qt

    from shrinkwise.gui.main_window import STEP_ADVICE

    _goal(demo_project, 50)  # unreachable: it would climb for long
    open_and_wait(qtbot, window, demo_project)
    window.go(STEP_ADVICE)
    panel = window.advice_page.autopilot
    qtbot.mouseClick(panel.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.progress_label.text().startswith("Rung "), timeout=120_000)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=120_000)
    journal = window.session.project.autopilot[-1]
    assert journal.status == "cancelled" and "resume" in journal.stopped_because
    assert "was stopped" in panel.summary.text()


def test_a_warning_about_several_candidates_is_one_card() -> None:
    from types import SimpleNamespace

    from shrinkwise.gui.advice_page import once_per_rule

    ws = [SimpleNamespace(rule_id=r, subject=s) for r, s in (("a", "x"), ("b", None), ("a", "y"), ("a", "z"))]
    grouped = once_per_rule(ws)
    assert [(w.rule_id, w.subject, more) for w, more in grouped] == [("a", "x", 2), ("b", None, 0)]
