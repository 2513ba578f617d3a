"""A newcomer's first walk through the wizard, at 1024×700: every page's primary button is on screen, Next moves on
from every page, Discard discards, what is typed while the demo is first built is kept (and the window stays where
the user is), a recent project opens on one click, and "Try the demo" reaches an exported report in ≤ 12 clicks."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QMessageBox, QStyle, QStyleOptionSpinBox, QWidget

from shrinkwise.gui import dialogs, main_window, workers
from shrinkwise.gui.main_window import (
    FINISH_TEXT,
    STEP_ADVICE,
    STEP_COMPARE,
    STEP_DATA,
    STEP_EXPORT,
    STEP_MODEL,
    STEP_RUN,
    STEP_START,
    STEP_TARGET,
    STEPS,
    MainWindow,
)
from shrinkwise.workspace.project import load_project
from shrinkwise.workspace.runs import run_recipe
from shrinkwise.workspace.session import Session
from tests.gui.conftest import WAIT_MS, open_and_wait, wait_idle

SMALL = (1024, 700)
RUN_WAIT_MS = 180_000


@pytest.fixture
def small(window: MainWindow, qtbot: Any) -> MainWindow:
    window.resize(*SMALL)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == SMALL, timeout=5000)
    return window


def shown_whole(widget: QWidget, window: QWidget) -> bool:
    """Visible, and not clipped by any parent (a scroll area's viewport, a splitter, the window itself)."""
    if not widget.isVisible() or widget.width() <= 0 or widget.height() <= 0:
        return False
    parent = widget.parentWidget()
    while parent is not None:
        if not parent.rect().contains(QRect(widget.mapTo(parent, QPoint(0, 0)), widget.size())):
            return False
        if parent is window:
            return True
        parent = parent.parentWidget()
    return False


def primary_buttons(w: MainWindow) -> dict[int, list[QWidget]]:
    """What each page asks the user to press next: its own main action (Run has none: Next goes on to Compare),
    and the Next / Finish button."""
    own = {
        STEP_START: [w.start_page.demo_button],
        STEP_ADVICE: [w.advice_page.run_button],
        STEP_COMPARE: [w.compare_page.choose_button],
        STEP_EXPORT: [w.export_page.model_button, w.export_page.html_button],
    }
    return {step: [*own.get(step, []), w.next_button] for step in range(len(STEPS))}


def _settle(qtbot: Any) -> None:
    qtbot.wait(50)  # let the layouts run


def _with_candidates(project: Path) -> None:
    """The demo with a device, a budget and two finished candidates: every page has something to show."""
    session = Session.open(project)
    run_recipe(session, ["fp16"])
    run_recipe(session, ["int8_static"])
    session = Session.open(project)
    session.set_target("this-computer")
    session.set_budget(size_mb=0.2, accuracy_drop_pts=1.0)
    session.save()


def test_every_page_fits_1024x700_with_its_primary_button_on_screen(
    qtbot: Any, small: MainWindow, demo_project: Path
) -> None:
    _with_candidates(demo_project)
    assert small.minimumSizeHint().width() <= SMALL[0] and small.minimumSizeHint().height() <= SMALL[1]
    open_and_wait(qtbot, small, demo_project)
    for step, buttons in primary_buttons(small).items():
        small.go(step)
        qtbot.waitUntil(lambda: not small.busy, timeout=WAIT_MS)
        _settle(qtbot)
        assert (small.width(), small.height()) == SMALL, STEPS[step]
        assert small.step_title.isVisible() and STEPS[step].split()[0] in small.step_title.text()
        for button in buttons:
            assert shown_whole(button, small), f"{STEPS[step]}: '{button.text()}' is not fully on screen"
        # Nothing scrolls: the page fits the space it has (its own tables and lists may scroll inside).
        assert not small.page_area.horizontalScrollBar().isVisible(), STEPS[step]
        assert not small.page_area.verticalScrollBar().isVisible(), STEPS[step]


def test_no_page_has_its_own_forward_button_beside_next(qtbot: Any, window: MainWindow, demo_project: Path) -> None:
    """One obvious way on per page: Run's "Compare the Results →" and Compare's "Export →" duplicated Next."""
    from PySide6.QtWidgets import QAbstractButton

    open_and_wait(qtbot, window, demo_project)
    for step in range(len(STEPS)):
        page = window.pages.widget(step)
        forward = [b.text() for b in page.findChildren(QAbstractButton) if "→" in b.text()]
        assert forward == [], f"{STEPS[step]}: {forward} beside '{window.next_button.text()}'"


def test_next_on_every_page_moves_to_the_next_step_and_finish_writes_the_report(
    qtbot: Any, small: MainWindow, demo_project: Path, tmp_path: Path, monkeypatch: Any, dialog_log: Any
) -> None:
    open_and_wait(qtbot, small, demo_project)
    for step in range(len(STEPS) - 1):
        small.go(step)
        wait_idle(qtbot, small)
        assert small.next_button.text() == f"Next: {STEPS[step + 1]} →"
        qtbot.mouseClick(small.next_button, Qt.MouseButton.LeftButton)
        assert small.current_step == step + 1
        assert small.pages.currentIndex() == step + 1 and small.steps.currentRow() == step + 1
        wait_idle(qtbot, small)
    assert small.current_step == STEP_EXPORT and small.next_button.text() == FINISH_TEXT
    report = tmp_path / "finish.html"
    monkeypatch.setattr(dialogs, "choose_save_path", lambda *a, **k: str(report))
    qtbot.mouseClick(small.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: report.exists() and not small.busy, timeout=WAIT_MS)
    assert not dialog_log.errors(), dialog_log.errors()
    assert any(path == str(report) for _what, path in small.export_page.written)
    qtbot.mouseClick(small.back_button, Qt.MouseButton.LeftButton)
    assert small.current_step == STEP_COMPARE
    qtbot.keyClick(small, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert small.current_step == STEP_RUN
    qtbot.keyClick(small, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert small.current_step == STEP_COMPARE


def test_discard_really_discards(
    qtbot: Any, small: MainWindow, demo_project: Path, dialog_log: Any, monkeypatch: Any
) -> None:
    open_and_wait(qtbot, small, demo_project)
    small.go(STEP_TARGET)
    page = small.target_page
    page.combo.setCurrentIndex(page.combo.findData("phone-npu"))
    page.spins["size_mb"].setValue(0.5)
    small.project_panel.notes_edit.setPlainText("not for keeping")
    assert small.dirty and small.windowTitle().startswith("Digits demo*")
    # Work that saves the project in the background (here: measuring the baseline again) must not save the edits.
    small.measure_baseline()
    wait_idle(qtbot, small)
    assert not dialog_log.errors(), dialog_log.errors()
    on_disk = load_project(demo_project)
    assert on_disk.target.id is None and on_disk.budget.size_mb is None and "not for keeping" not in on_disk.notes
    assert small.dirty and small.session.project.target.id == "phone-npu"
    before = demo_project.read_bytes()

    # File > New, "Discard", then the file dialog cancelled: the edits are gone, nothing was written.
    dialog_log.answer = QMessageBox.StandardButton.Discard
    monkeypatch.setattr(dialogs, "choose_save_path", lambda *a, **k: None)
    small.new_action.trigger()
    assert dialog_log.shown[-1]["title"] == "Unsaved changes"
    assert demo_project.read_bytes() == before
    assert not small.dirty and small.windowTitle() == "Digits demo — Shrinkwise"
    assert small.session.project.target.id is None and small.session.project.budget.size_mb is None
    assert page.combo.currentData() is None and page.spins["size_mb"].value() == 0.0
    assert "not for keeping" not in small.project_panel.notes_edit.toPlainText()
    assert small.session.project.baseline is not None  # what the work saved is still there

    # Closing with "Discard" writes nothing either.
    page.spins["latency_ms"].setValue(3.0)
    assert small.dirty
    assert small.close()
    assert demo_project.read_bytes() == before


def test_input_typed_while_the_demo_is_first_built_is_kept_and_the_page_stays(
    qtbot: Any, small: MainWindow, tmp_path: Path, monkeypatch: Any, dialog_log: Any
) -> None:
    folder = tmp_path / "fresh-demo"
    monkeypatch.setattr(main_window, "demo_dir", lambda: folder)
    qtbot.mouseClick(small.start_page.demo_button, Qt.MouseButton.LeftButton)
    assert small.busy and "demo" in small.busy_label.text()
    small.go(STEP_TARGET)  # the user looks around while the demo is built
    page = small.target_page
    assert page.combo.findData("phone-npu") > 0
    page.combo.setCurrentIndex(page.combo.findData("phone-npu"))
    page.spins["size_mb"].setValue(0.2)
    assert small.busy, "the demo was built before the test could type: nothing was checked"
    pages_seen: set[int] = set()

    def built() -> bool:
        pages_seen.add(small.current_step)
        return small.session is not None and not small.busy

    qtbot.waitUntil(built, timeout=WAIT_MS * 2)
    assert not dialog_log.errors(), dialog_log.errors()
    assert pages_seen == {STEP_TARGET}  # no jump to the Model page while the user was elsewhere
    assert small.session.project.target.id == "phone-npu" and small.session.project.budget.size_mb == 0.2
    assert page.combo.currentData() == "phone-npu" and page.spins["size_mb"].value() == 0.2
    assert small.dirty  # kept, and waiting for File > Save like any edit


def test_the_first_demo_opens_on_the_model_page_when_the_user_waits(
    qtbot: Any, small: MainWindow, demo_source: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    folder = tmp_path / "demo"
    shutil.copytree(demo_source.parent, folder)
    monkeypatch.setattr(main_window, "demo_dir", lambda: folder)
    qtbot.mouseClick(small.start_page.demo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: small.session is not None and not small.busy, timeout=WAIT_MS)
    assert small.current_step == STEP_MODEL


def test_a_recent_project_opens_on_one_click_or_enter(
    qtbot: Any, small: MainWindow, demo_project: Path, tmp_path: Path
) -> None:
    other = Session.create(tmp_path / "other.shrinkwise.json")
    small.add_recent(other.path)
    small.add_recent(demo_project)
    recent = small.start_page.recent
    assert recent.count() == 2 and small.start_page.recent_hint.isVisible()
    assert "Click a project to open it" in small.start_page.recent_hint.text()
    workers.CALLS.clear()
    rect = recent.visualItemRect(recent.item(0))
    qtbot.mouseClick(recent.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: small.session is not None and not small.busy, timeout=WAIT_MS)
    assert small.session.path == demo_project.resolve()
    assert [c.name for c in workers.CALLS].count("_open_session") == 1  # one click, one open
    assert small.current_step == STEP_MODEL

    small.go(STEP_START)
    recent = small.start_page.recent
    row = next(i for i in range(recent.count()) if recent.item(i).text().startswith("other"))
    recent.setCurrentRow(row)
    recent.setFocus()
    qtbot.keyClick(recent, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: small.session.path == other.path.resolve() and not small.busy, timeout=WAIT_MS)
    assert [c.name for c in workers.CALLS].count("_open_session") == 2


# --- the newcomer's walk, click by click ---------------------------------------------------------------------------


class Clicks:
    """Every click of the walk goes through here, so the count is the user's count."""

    def __init__(self, qtbot: Any) -> None:
        self.qtbot = qtbot
        self.log: list[str] = []

    @property
    def count(self) -> int:
        return len(self.log)

    def click(self, widget: QWidget, what: str, pos: QPoint | None = None) -> None:
        assert widget.isVisible() and widget.isEnabled(), f"cannot click {what}: hidden or disabled"
        self.log.append(what)
        QTest.mouseClick(
            widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos or widget.rect().center()
        )

    def button(self, button: Any) -> None:
        self.click(button, button.text())

    def pick(self, combo: QComboBox, data: str) -> None:
        """Open the combo box (one click) and click the entry (another)."""
        self.click(combo, "open the device list")
        view = combo.view()
        self.qtbot.waitUntil(view.isVisible, timeout=5000)
        self.qtbot.wait(600)  # a release right after the opening press is taken as part of it
        index = combo.model().index(combo.findData(data), 0)
        view.scrollTo(index)
        self.click(view.viewport(), f"pick {combo.itemText(index.row())}", view.visualRect(index).center())

    def step_up(self, spin: QAbstractSpinBox, what: str) -> None:
        """One click on the spin box's up arrow."""
        opt = QStyleOptionSpinBox()
        spin.initStyleOption(opt)
        up = spin.style().subControlRect(QStyle.ComplexControl.CC_SpinBox, opt, QStyle.SubControl.SC_SpinBoxUp, spin)
        self.click(spin, what, up.center())

    def dialog_accepted(self, what: str) -> None:
        self.log.append(what)


def test_try_the_demo_to_an_exported_report_in_at_most_12_clicks(
    qtbot: Any, small: MainWindow, demo_source: Path, tmp_path: Path, monkeypatch: Any, dialog_log: Any
) -> None:
    folder = tmp_path / "demo"
    shutil.copytree(demo_source.parent, folder)
    monkeypatch.setattr(main_window, "demo_dir", lambda: folder)
    clicks = Clicks(qtbot)
    report = tmp_path / "out" / "digits-report.html"
    report.parent.mkdir()

    def save_dialog(*_a: Any, **_k: Any) -> str:
        clicks.dialog_accepted("Save (the report's file dialog)")
        return str(report)

    monkeypatch.setattr(dialogs, "choose_save_path", save_dialog)
    w = small

    def wait(cond: Callable[[], bool], timeout: int = WAIT_MS) -> None:
        qtbot.waitUntil(cond, timeout=timeout)

    assert w.current_step == STEP_START
    clicks.button(w.start_page.demo_button)
    wait(lambda: w.session is not None and not w.busy and w.current_step == STEP_MODEL)

    clicks.button(w.next_button)  # → Target
    assert w.current_step == STEP_TARGET
    clicks.pick(w.target_page.combo, "this-computer")
    assert w.session.project.target.id == "this-computer"
    clicks.step_up(w.target_page.spins["accuracy_drop_pts"], "accuracy loss, at most: up")
    assert w.session.project.budget.accuracy_drop_pts == pytest.approx(0.1)

    clicks.button(w.next_button)  # → Data
    assert w.current_step == STEP_DATA
    clicks.button(w.next_button)  # → Advice
    assert w.current_step == STEP_ADVICE
    wait(lambda: w.advice is not None and not w.busy and w.advice_page.run_button.isEnabled())
    planned = [e["technique"] for e in w.advice_page.selected()]
    assert planned and len(planned) <= 3, planned  # the plan for the demo is short: a newcomer waits seconds
    clicks.button(w.advice_page.run_button)
    assert w.current_step == STEP_RUN
    wait(lambda: not w.runs.active and w.current_step == STEP_COMPARE, RUN_WAIT_MS)  # on to Compare when done
    assert all(i.status == "finished" for i in w.runs.items), [(i.label, i.status, i.error) for i in w.runs.items]

    cmp = w.compare_page
    wait(lambda: cmp.recommended_id is not None and not w.busy)
    recommended = w.advice.decision.candidate
    assert recommended and cmp.recommended_id == recommended and cmp.selected_id == recommended
    clicks.button(cmp.choose_button)
    assert w.session.project.chosen == recommended

    clicks.button(w.next_button)  # → Export
    assert w.current_step == STEP_EXPORT
    assert w.next_button.text() == FINISH_TEXT
    clicks.button(w.next_button)  # Finish: the report, through its file dialog
    wait(lambda: report.exists() and not w.busy)

    assert not dialog_log.errors(), dialog_log.errors()
    assert clicks.count <= 12, clicks.log
    label = w.session.project.experiment(recommended).label or recommended
    text = report.read_text(encoding="utf-8")
    assert recommended in text and label in text
    print(f"\n{clicks.count} clicks: " + " → ".join(clicks.log))


def test_a_background_save_writes_the_work_not_the_edits_and_keeps_another_writers_change(demo_project: Path) -> None:
    from shrinkwise.gui.draft_session import DraftSession

    gui = DraftSession.open(demo_project)
    gui.project.notes = "unsaved notes"  # the user's edits, waiting for File > Save
    gui.set_target("phone-npu")
    cli = Session.open(demo_project)  # another writer (`shrinkwise budget P --size-mb 0.3`) saves meanwhile
    cli.set_budget(size_mb=0.3)
    cli.save()
    gui.add_data(demo_project.parent / "data" / "digits_eval.npz", role="calibration")  # work that saves

    on_disk = load_project(demo_project)
    assert {d.role for d in on_disk.data} == {"training", "evaluation", "calibration"}
    assert on_disk.target.id is None and on_disk.notes != "unsaved notes"  # the edits stayed in memory
    assert on_disk.budget.size_mb == 0.3  # the other writer's change survived
    assert gui.project.budget.size_mb == 0.3  # ... and reached the window's project
    assert gui.project.target.id == "phone-npu" and gui.project.notes == "unsaved notes"

    gui.save_edits()
    saved = load_project(demo_project)
    assert saved.target.id == "phone-npu" and saved.notes == "unsaved notes" and saved.budget.size_mb == 0.3
    assert len(saved.data) == 3


def test_a_job_that_ends_after_the_window_is_gone_is_dropped_quietly(qtbot: Any, settings: Any) -> None:
    import time

    from PySide6.QtCore import QCoreApplication, QEvent

    win = MainWindow(settings=settings)
    win.run_job("Waiting…", time.sleep, 0.3)
    win.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.wait(800)  # the job reports to a deleted controller: no "Signal source has been deleted"


def test_adding_data_moves_to_the_data_page_only_if_the_user_waited(
    qtbot: Any, small: MainWindow, demo_project: Path, dialog_log: Any
) -> None:
    open_and_wait(qtbot, small, demo_project)
    data = demo_project.parent / "data" / "digits_eval.npz"
    small.go(STEP_MODEL)
    small.add_data_path(data, "calibration")
    small.go(STEP_ADVICE)  # elsewhere while the file is read
    wait_idle(qtbot, small)
    assert small.current_step == STEP_ADVICE
    assert "calibration" in {d.role for d in small.session.project.data}
    small.go(STEP_MODEL)
    small.add_data_path(data, "calibration")  # this time the user waits on the page they started from
    wait_idle(qtbot, small)
    assert not dialog_log.errors(), dialog_log.errors()
    assert small.current_step == STEP_DATA
