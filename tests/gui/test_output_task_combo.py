"""The Data page's per-output task combo (issue 12): it shows what Shrinkwise inferred and why, and choosing a task
declares it in the project through the session (the baseline is then measured again under it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shrinkwise.gui.main_window import MainWindow
from tests.gui.conftest import open_and_wait


def test_choosing_a_task_declares_it(qtbot: Any, window: MainWindow, demo_project: Path, dialog_log: Any) -> None:
    open_and_wait(qtbot, window, demo_project)
    session = window.session
    assert session is not None and session.project.baseline is not None
    combos = window.data_panel.task_combos
    [(name, combo)] = combos.items()  # the digits model has one output
    assert combo.currentText() == "inferred: classification"
    assert not window.data_panel.outputs_title.isHidden()

    combo.setCurrentIndex(combo.findData("embedding"))
    assert not dialog_log.errors(), dialog_log.errors()
    assert session.project.io.outputs[name].task == "embedding"
    assert session.project.baseline is None and window.dirty  # measured again under the new task before a run
    again = window.data_panel.task_combos[name]  # the row stays while the new baseline is pending
    assert again.currentData() == "embedding"

    again.setCurrentIndex(0)  # back to what Shrinkwise infers
    assert session.project.io.outputs[name].task is None
