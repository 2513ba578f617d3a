"""The Start page's "Try the Speech Demo": the speech demo is built off the UI thread on first use and opened, and
the wizard runs on it: the advised int8_static step from the Advice page, Compare, the report from Export."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from shrinkwise.gui.main_window import STEP_ADVICE, STEP_COMPARE, STEP_EXPORT, STEP_RUN
from shrinkwise.gui.profile_view import COL_OP
from tests.gui.conftest import WAIT_MS, wait_idle


@pytest.mark.slow
def test_speech_demo_button_builds_it_off_the_ui_thread_and_opens_it(
    qtbot: Any, window: Any, tmp_path: Path, monkeypatch: Any, dialog_log: Any
) -> None:
    from shrinkwise.gui import dialogs, main_window, workers

    folder = tmp_path / "speech-demo"
    monkeypatch.setattr(main_window, "speech_demo_dir", lambda: folder)
    workers.CALLS.clear()
    window.start_page.speech_demo_button.click()
    assert window.busy and "speech demo" in window.busy_label.text()
    qtbot.waitUntil(lambda: window.session is not None and not window.busy, timeout=3 * WAIT_MS)
    assert not dialog_log.errors()
    project = window.session.project
    assert project.name == "Speech demo" and window.session.path == (folder / "speech-demo.shrinkwise.json").resolve()
    assert {d.kind for d in project.data} == {"audio_folder", "audio_npz"}
    assert project.target.id == "cortex-m-mcu" and project.budget.size_mb == 0.15
    build = [c for c in workers.CALLS if c.name == "_build_demo"]
    assert len(build) == 1 and build[0].thread is not threading.main_thread()
    # The GRU is in the profile the window shows, with its weights counted.
    ops = {window.profile_view.proxy.index(r, COL_OP).data() for r in range(window.profile_view.proxy.rowCount())}
    assert "GRU" in ops
    # A second click opens the project already built instead of building it again.
    workers.CALLS.clear()
    window.start_page.speech_demo_button.click()
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)
    assert "_build_demo" not in [c.name for c in workers.CALLS]

    # The wizard on speech: the plan's int8_static step run from the Advice page, compared, and reported.
    window.go(STEP_ADVICE)
    qtbot.waitUntil(lambda: window.advice is not None and not window.busy, timeout=WAIT_MS)
    page = window.advice_page
    assert "int8_static" in [s.technique for s in window.advice.plan if s.technique]
    for key, check in page.checks.items():
        check.setChecked(key == "int8_static")
    page.run_button.click()
    assert window.pages.currentIndex() == STEP_RUN
    qtbot.waitUntil(lambda: not window.runs.active, timeout=4 * WAIT_MS)
    assert [i.status for i in window.runs.items] == ["finished"], [(i.status, i.error) for i in window.runs.items]
    window.go(STEP_COMPARE)
    cmp = window.compare_page
    assert cmp.table.rowCount() == 2 and {r.label for r in cmp.rows} >= {"int8_static"}
    window.go(STEP_EXPORT)
    report = tmp_path / "report.html"
    monkeypatch.setattr(dialogs, "choose_save_path", lambda *a, **k: str(report))
    window.export_page.html_button.click()
    wait_idle(qtbot, window)
    assert not dialog_log.errors(), dialog_log.errors()
    text = report.read_text(encoding="utf-8")
    assert "Speech demo" in text and "int8_static" in text and "GRU" in text
