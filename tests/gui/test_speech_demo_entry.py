"""The Start page's "Try the Speech Demo": the speech demo is built off the UI thread on first use and opened."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from shrinkwise.gui.profile_view import COL_OP
from tests.gui.conftest import WAIT_MS


def test_speech_demo_button_builds_it_off_the_ui_thread_and_opens_it(
    qtbot: Any, window: Any, tmp_path: Path, monkeypatch: Any, dialog_log: Any
) -> None:
    from shrinkwise.gui import main_window, workers

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
