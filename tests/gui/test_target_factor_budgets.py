"""The Target page takes budgets as factors a newcomer knows before the bytes: "5× smaller", "3× faster" (timed side
by side with the original; 1 = never slower) and "outputs stay this close (cosine ≥ 0.99)". They go through the
controller like the other budget fields, are kept by File > Save (and only then), and the verdict under each row
stays readable at 1024×700."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shrinkwise.gui.main_window import STEP_TARGET, MainWindow
from shrinkwise.workspace.project import load_project
from shrinkwise.workspace.session import Session
from tests.gui.conftest import open_and_wait
from tests.gui.test_wizard_newcomer import SMALL, shown_whole


def _original_mb(project: Path) -> float:
    return Session.open(project).onnx_path.stat().st_size / 1e6


def _type(spin: Any, value: float) -> None:
    """As a user does: select the text, type the number, press Enter (keyboard tracking is off)."""
    spin.setFocus()
    spin.selectAll()
    spin.lineEdit().insert(f"{value:g}")
    spin.interpretText()
    spin.editingFinished.emit()


def test_factor_budgets_are_saved_and_found_again(
    qtbot: Any, window: MainWindow, demo_project: Path, settings: Any
) -> None:
    open_and_wait(qtbot, window, demo_project)
    window.go(STEP_TARGET)
    page = window.target_page
    _type(page.smaller, 5)
    _type(page.spins["min_speedup"], 3)
    _type(page.spins["min_cosine"], 0.99)
    original = _original_mb(demo_project)
    budget = window.session.project.budget
    assert budget.size_mb == round(original / 5, 6) and budget.min_speedup == 3.0 and budget.min_cosine == 0.99
    # The size row shows what the factor stands for; the factor row stays as typed.
    assert page.spins["size_mb"].value() == round(original / 5, 3) and page.smaller.value() == 5.0
    assert "must shrink 5×" in page.verdicts["size_mb"].text()
    assert "1 = never slower" in page.spins["min_speedup"].toolTip()
    assert window.dirty
    assert load_project(demo_project).budget.min_cosine is None  # not on file until File > Save

    window.save_action.trigger()  # File > Save
    assert not window.dirty
    on_file = load_project(demo_project).budget
    assert (on_file.size_mb, on_file.min_speedup, on_file.min_cosine) == (round(original / 5, 6), 3.0, 0.99)

    again = MainWindow(settings=settings)
    qtbot.addWidget(again)
    again.show()
    open_and_wait(qtbot, again, demo_project)
    shown = again.target_page
    assert shown.smaller.value() == 5.0 and shown.spins["min_speedup"].value() == 3.0
    assert shown.spins["min_cosine"].value() == 0.99 and shown.spins["min_cosine"].text() == "0.9900"
    # Editing another budget keeps the saved size as it is (the spin shows it rounded to 3 decimals).
    _type(shown.spins["accuracy_drop_pts"], 1.0)
    assert again.session.project.budget.size_mb == round(original / 5, 6)
    again.set_dirty(False)


def test_a_size_in_mb_moves_the_factor_and_clearing_the_factor_clears_the_size(
    qtbot: Any, window: MainWindow, demo_project: Path
) -> None:
    open_and_wait(qtbot, window, demo_project)
    window.go(STEP_TARGET)
    page = window.target_page
    original = _original_mb(demo_project)
    _type(page.spins["size_mb"], round(original / 2, 3))
    assert abs(page.smaller.value() - 2.0) < 0.02
    assert window.session.project.budget.size_mb == round(original / 2, 3)
    _type(page.smaller, 0)  # "not set"
    assert page.spins["size_mb"].value() == 0.0 and window.session.project.budget.size_mb is None


def test_the_factor_uses_the_original_file_when_the_baseline_is_not_measured(
    qtbot: Any, window: MainWindow, demo_project: Path
) -> None:
    session = Session.open(demo_project)
    session.project.experiments = [e for e in session.project.experiments if e.kind != "baseline"]
    session.save()
    open_and_wait(qtbot, window, demo_project)
    window.go(STEP_TARGET)
    page = window.target_page
    _type(page.smaller, 4)
    assert window.session.project.budget.size_mb == round(_original_mb(demo_project) / 4, 6)
    assert page.spins["size_mb"].value() == round(_original_mb(demo_project) / 4, 3)  # shown once converted
    assert page.smaller.value() == 4.0


def test_the_verdicts_are_readable_at_1024x700(qtbot: Any, window: MainWindow, demo_project: Path) -> None:
    window.resize(*SMALL)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == SMALL, timeout=5000)
    open_and_wait(qtbot, window, demo_project)
    window.go(STEP_TARGET)
    page = window.target_page
    page.combo.setCurrentIndex(page.combo.findData("raspberry-pi-4"))  # latency: "the advisor estimates"
    _type(page.spins["latency_ms"], 5)
    _type(page.smaller, 5)
    qtbot.wait(50)
    for key in ("latency_ms", "size_mb"):
        verdict = page.verdicts[key]
        assert verdict.text() and shown_whole(verdict, window), key
        assert verdict.width() >= 120, f"{key}: the verdict has {verdict.width()} px"
        assert verdict.height() >= verdict.heightForWidth(verdict.width()), f"{key}: its lines are cut off"
        words = verdict.fontMetrics()
        plain = "".join(part.split(">")[-1] for part in verdict.text().split("<"))
        assert all(words.horizontalAdvance(w) <= verdict.width() for w in plain.split()), key


def test_a_factor_typed_without_enter_is_kept_by_save(qtbot: Any, window: MainWindow, demo_project: Path) -> None:
    """Keyboard tracking is off (the advice is not redone per keystroke): Ctrl+S right after typing must still save
    what was typed."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    open_and_wait(qtbot, window, demo_project)
    window.go(STEP_TARGET)
    window.activateWindow()
    spin = window.target_page.spins["min_speedup"]
    spin.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is spin, timeout=5000)
    spin.selectAll()
    qtbot.keyClicks(spin.lineEdit(), "3")
    assert spin.value() == 0.0  # typed, not yet committed
    qtbot.keyClick(spin, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert load_project(demo_project).budget.min_speedup == 3.0 and not window.dirty


def test_clicking_into_not_set_and_typing_replaces_it(qtbot: Any, window: MainWindow, demo_project: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    open_and_wait(qtbot, window, demo_project)
    window.go(STEP_TARGET)
    window.activateWindow()
    spin = window.target_page.spins["min_cosine"]
    assert spin.text() == "not set"
    qtbot.mouseClick(spin.lineEdit(), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is spin and spin.lineEdit().selectedText() == "not set")
    qtbot.keyClicks(spin.lineEdit(), "0.99")
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)
    assert spin.value() == 0.99 and window.session.project.budget.min_cosine == 0.99
