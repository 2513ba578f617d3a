"""The main window: the wizard's step list on the left, one page per step, a Back / Next bar, and the menus.

Steps: Start, Model, Target, Data, Advice, Run, Compare, Export; every step can be revisited, and what the user
decides lives in the project file (target, budget, answers, experiments, chosen).

The window is thin: it lays out the pages, asks the user (file dialogs, confirmations), navigates and shows what the
controller (`gui.controller.Controller`) reports. Every use case — open, save, attach, add data, profile, advise,
run, choose, export — lives in the controller, which works through `workspace.Session` off the UI thread.
A page moves on by itself only when the user is still where they started the step (no jumps while they are elsewhere).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from shrinkwise.compression.errors import ShrinkwiseError
from shrinkwise.compression.profile_types import ModelProfile
from shrinkwise.gui import advising, dialogs, theme
from shrinkwise.gui.advice_page import AdvicePage
from shrinkwise.gui.compare_page import ComparePage
from shrinkwise.gui.controller import Controller
from shrinkwise.gui.export_page import ExportPage
from shrinkwise.gui.help_text import HELP, explain_all, install_glossary_tips, show_glossary
from shrinkwise.gui.panels import DataPanel
from shrinkwise.gui.profile_view import ProfileView
from shrinkwise.gui.run_controller import RunController, RunItem
from shrinkwise.gui.run_page import RunPage
from shrinkwise.gui.start_page import StartPage
from shrinkwise.gui.target_page import TargetPage
from shrinkwise.workspace.session import Session

APP_TITLE = "Shrinkwise"
MODEL_SUFFIXES = (".onnx", ".pt", ".pt2", ".pth")
DATA_SUFFIXES = (".npz",)
PROJECT_FILTER = "Shrinkwise projects (*.shrinkwise.json);;All files (*)"
MODEL_FILTER = "Models (*.onnx *.pt *.pt2 *.pth);;All files (*)"
DATA_FILTER = "Data (*.npz);;All files (*)"
RECENT_KEY = "recent_projects"
MAX_RECENT = 8
STEPS = ("Start", "Model", "Target", "Data", "Advice", "Run", "Compare", "Export")
STEP_START, STEP_MODEL, STEP_TARGET, STEP_DATA, STEP_ADVICE, STEP_RUN, STEP_COMPARE, STEP_EXPORT = range(len(STEPS))
STEP_TITLES = (
    "Start: a project",
    "Model: what it is",
    "Target and budget",
    "Data",
    "Advice: the plan",
    "Run",
    "Compare and choose",
    "Export",
)
FINISH_TEXT = "Finish: Write the Report…"
GEOMETRY_KEY = "window/geometry"
STEP_LIST_WIDTH = 128


class PageStack(QStackedWidget):
    """The pages, asking the scroll area around them for their minimum height at any width. Qt's height-for-width
    of a stack is the tallest page's *preferred* height once any page wraps a label, so every page would scroll;
    the page layouts stretch into whatever room there is instead."""

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        return self.minimumSizeHint().height()


def demo_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("shrinkwise")) / "demo"


def speech_demo_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("shrinkwise")) / "speech-demo"


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.controller = Controller(self)
        self._close_when_idle = False
        self._batch: list[RunItem] = []  # the runs queued since the queue was last idle
        self._shown_profile: tuple[Any, Any] | None = None
        self.setAcceptDrops(True)
        self.resize(1280, 800)

        self.steps = QListWidget()
        for i, name in enumerate(STEPS):
            item = QListWidgetItem(f"{i + 1}  {name}")
            item.setToolTip(HELP[name].split(".")[0] + ".")
            self.steps.addItem(item)
        self.steps.setFixedWidth(STEP_LIST_WIDTH)
        self.steps.setAcceptDrops(False)
        self.steps.setStyleSheet("QListWidget { font-size: 11pt; } QListWidget::item { padding: 6px; }")
        self.pages = PageStack()
        self.start_page = StartPage()
        self.project_panel = self.start_page.project_panel
        self.profile_view = ProfileView()
        self.target_page = TargetPage()
        self.measurements_panel = self.target_page.measurements_panel
        self.data_panel = DataPanel()
        self.advice_page = AdvicePage()
        self.run_page = RunPage(self.runs)
        self.compare_page = ComparePage()
        self.compare_page.set_runs(self.runs)  # its sensitivity analysis is queued like any run
        self._glossary_tips = install_glossary_tips(self)
        self.export_page = ExportPage()
        for page in (
            self.start_page,
            self.profile_view,
            self.target_page,
            self.data_panel,
            self.advice_page,
            self.run_page,
            self.compare_page,
            self.export_page,
        ):
            self.pages.addWidget(page)
        # A page wider or taller than the screen scrolls instead of pushing the window past it (large fonts, themes).
        self.page_area = QScrollArea()
        self.page_area.setWidgetResizable(True)
        self.page_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.page_area.setWidget(self.pages)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(4, 4, 4, 0)
        row.addWidget(self.steps)
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.page_area, 1)
        column.addWidget(self._make_nav_bar())
        row.addLayout(column, 1)
        self.setCentralWidget(central)
        self.steps.currentRowChanged.connect(self._on_step)

        self.busy_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # indeterminate
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(False)
        self.statusBar().addWidget(self.busy_label, 1)
        self.statusBar().addPermanentWidget(self.progress)

        self._make_actions()
        self._connect_controller()
        self._connect_pages()
        self.refresh()
        self.busy_label.setText("Ready")
        self._restore_geometry()
        self.steps.setCurrentRow(STEP_START)

    # --- the controller's state, for the pages and tests ---------------------------------------------------------

    @property
    def session(self) -> Session | None:
        return self.controller.session

    @property
    def busy(self) -> bool:
        return self.controller.busy

    @property
    def advice(self) -> Any:
        return self.controller.advice

    @property
    def dirty(self) -> bool:
        return self.controller.dirty

    @property
    def runs(self) -> RunController:
        return self.controller.runs

    def set_dirty(self, dirty: bool) -> None:
        self.controller.set_dirty(dirty)

    def run_job(self, message: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run `fn(*args)` off the UI thread with the busy state shown; errors end in a dialog."""
        self.controller.run_job(message, fn, *args, **kwargs)

    # --- wiring ----------------------------------------------------------------------------------------------------

    def _connect_controller(self) -> None:
        c = self.controller
        c.busy_changed.connect(self._on_busy)
        c.status.connect(self.busy_label.setText)
        c.error.connect(lambda exc, tb: self.show_error(exc, tb or None))
        c.session_changed.connect(self._on_session_changed)
        c.project_changed.connect(self.refresh)
        c.goal_changed.connect(self._show_goal)
        c.profile_changed.connect(self._on_profile)
        c.profile_failed.connect(
            lambda: self.profile_view.show_waiting(
                "Profiling failed. Use Model > Profile Again after fixing the problem."
            )
        )
        c.dirty_changed.connect(lambda _d: self._update_title())
        c.advice_changed.connect(self._show_advice)
        c.advice_message.connect(self.advice_page.show_message)
        c.output_written.connect(self.export_page.add_output)
        c.disagreements_loaded.connect(self.compare_page.show_images)
        c.runs_queued.connect(self._on_runs_queued)
        self.runs.finished.connect(self._on_run_finished)
        self.runs.idle.connect(self._on_runs_idle)

    def _connect_pages(self) -> None:
        c = self.controller
        self.project_panel.edited.connect(
            lambda: c.set_identity(self.project_panel.name_edit.text(), self.project_panel.notes_edit.toPlainText())
        )
        self.start_page.new_requested.connect(self.new_project)
        self.start_page.open_requested.connect(self.open_project_dialog)
        self.start_page.demo_requested.connect(self.open_demo)
        self.start_page.speech_demo_requested.connect(lambda: self.open_demo(speech=True))
        self.start_page.recent_requested.connect(lambda p: self.open_project(Path(p)))
        self.profile_view.open_model_requested.connect(self.open_model_dialog)
        self.profile_view.demo_requested.connect(self.open_demo)
        self.profile_view.netron_requested.connect(self.open_in_netron)
        self.target_page.changed.connect(
            lambda: c.set_goal(self.target_page.target_value(), self.target_page.budget_value())
        )
        self.data_panel.add_requested.connect(self.add_data_dialog)
        self.data_panel.add_role_requested.connect(self.add_data_dialog)
        self.measurements_panel.measure_requested.connect(self.measure_baseline)
        self.advice_page.answered.connect(self.answer)
        self.data_panel.task_changed.connect(c.set_output_task)
        self.advice_page.plan_changed.connect(lambda: c.set_plan(self.advice_page.state))
        self.advice_page.run_requested.connect(self.start_runs)
        self.advice_page.sweep_requested.connect(self.start_sweep)
        self.advice_page.autopilot.start_requested.connect(self._start_autopilot)
        self.advice_page.autopilot.cancel_requested.connect(c.cancel_autopilot)
        c.autopilot_event.connect(self.advice_page.autopilot.show_event)
        c.autopilot_finished.connect(self._autopilot_finished)
        self.run_page.details_requested.connect(self._show_run_details)
        self.compare_page.choose_requested.connect(self.choose_candidate)
        self.compare_page.load_images_requested.connect(c.load_disagreements)
        self.export_page.export_model_requested.connect(self.export_model)
        self.export_page.report_requested.connect(self.write_report)
        self.export_page.bundle_requested.connect(self.make_bundle)
        self.export_page.import_requested.connect(self.import_device_results)
        self.export_page.compare_requested.connect(lambda: self.go(STEP_COMPARE))

    # --- navigation ------------------------------------------------------------------------------------------------

    def _make_nav_bar(self) -> QWidget:
        bar = QWidget()
        bar.setObjectName("navbar")
        row = QHBoxLayout(bar)
        row.setContentsMargins(0, 4, 0, 4)
        self.back_button = QPushButton("← Back")
        self.back_button.setToolTip("The previous step (nothing is lost: every step can be revisited)")
        self.back_button.clicked.connect(lambda: self.go(max(0, self.current_step - 1)))
        self.step_title = QLabel()
        self.step_title.setStyleSheet(theme.title_css(12))
        self.step_count = QLabel()
        self.step_count.setStyleSheet(f"color: {theme.muted()};")
        self.next_button = QPushButton()
        self.next_button.setStyleSheet("font-weight: bold; padding: 4px 14px;")
        self.next_button.clicked.connect(self.next_step)
        row.addWidget(self.back_button)
        row.addSpacing(8)
        row.addWidget(self.step_count)
        row.addWidget(self.step_title)
        row.addStretch(1)
        row.addWidget(self.next_button)
        return bar

    @property
    def current_step(self) -> int:
        return self.pages.currentIndex()

    def go(self, step: int) -> None:
        self.steps.setCurrentRow(step)

    def next_step(self) -> None:
        """Next on every page; on Export it finishes the walk by writing the report."""
        if self.current_step == STEP_EXPORT:
            self.write_report("html")
        else:
            self.go(self.current_step + 1)

    def _follow(self, step: int) -> Callable[[Any], None]:
        """A continuation that moves to `step` only if the user is still on the page they started from."""
        origin = self.current_step

        def follow(_result: Any = None) -> None:
            if self.current_step == origin:
                self.go(step)

        return follow

    def _on_step(self, row: int) -> None:
        self.pages.setCurrentIndex(row)
        explain_all(self.pages.currentWidget())  # glossary tooltips on the page's terms (help_text.GLOSSARY)
        self.page_area.ensureVisible(0, 0)
        self._update_nav()
        if row == STEP_TARGET:
            self.ensure_targets()
        if row in (STEP_ADVICE, STEP_COMPARE):
            self.refresh_advice()
        if row == STEP_COMPARE:
            self.refresh_compare()

    def _update_nav(self) -> None:
        i = self.current_step
        self.step_count.setText(f"Step {i + 1} of {len(STEPS)}:")
        self.step_title.setText(STEP_TITLES[i])
        self.back_button.setEnabled(i > 0)
        if i == STEP_EXPORT:
            self.next_button.setText(FINISH_TEXT)
            self.next_button.setToolTip("Write the HTML report: why this candidate, and every number behind it")
            self.next_button.setEnabled(self.session is not None and not self.busy)
        else:
            self.next_button.setText(f"Next: {STEPS[i + 1]} →")
            self.next_button.setToolTip(HELP[STEPS[i + 1]].split(".")[0] + ".")
            self.next_button.setEnabled(True)

    # --- menus -----------------------------------------------------------------------------------------------------

    def _action(
        self, text: str, slot: Callable[[], Any], shortcut: str | None = None, needs_project: bool = False
    ) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        action.setProperty("needs_project", needs_project)
        self.addAction(action)
        return action

    def _make_actions(self) -> None:
        self.new_action = self._action("&New Project…", self.new_project, "Ctrl+N")
        self.open_action = self._action("&Open Project…", self.open_project_dialog, "Ctrl+O")
        self.save_action = self._action("&Save", self.save, "Ctrl+S", needs_project=True)
        self.save_as_action = self._action("Save &As…", self.save_as, "Ctrl+Shift+S", needs_project=True)
        self.open_model_action = self._action("Open &Model…", self.open_model_dialog, needs_project=False)
        self.add_data_action = self._action("Add &Data File…", self.add_data_dialog, needs_project=True)
        self.add_folder_action = self._action("Add Image &Folder…", self.add_data_folder_dialog, needs_project=True)
        self.profile_action = self._action("&Profile Again", lambda: self.start_profile(force=True), needs_project=True)
        self.measure_action = self._action("Measure &Baseline", self.measure_baseline, needs_project=True)
        self.demo_action = self._action("Open &Demo Project", self.open_demo)
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q")
        self.about_action = self._action("&About Shrinkwise", self.show_about)
        self.help_action = self._action("Shrinkwise &Help", self.show_help, "F1")
        self.glossary_action = self._action("&Glossary", lambda: show_glossary(self))
        self.cancel_runs_action = self._action("&Cancel All Runs", self.runs.cancel_all)
        self.step_actions = []
        for i, name in enumerate(STEPS):
            self.step_actions.append(self._action(f"&{i + 1} {name}", lambda i=i: self.go(i), f"Ctrl+{i + 1}"))
        self.next_action = self._action(
            "&Next Step", lambda: self.go(min(self.current_step + 1, STEP_EXPORT)), "Alt+Right"
        )
        self.back_action = self._action("&Previous Step", lambda: self.go(max(self.current_step - 1, 0)), "Alt+Left")

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.new_action)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.save_as_action)
        file_menu.addSeparator()
        file_menu.addAction(self.open_model_action)
        file_menu.addAction(self.add_data_action)
        file_menu.addAction(self.add_folder_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        model_menu = self.menuBar().addMenu("&Model")
        model_menu.addAction(self.profile_action)
        model_menu.addAction(self.measure_action)
        model_menu.addSeparator()
        model_menu.addAction(self.cancel_runs_action)
        go_menu = self.menuBar().addMenu("&Go")
        go_menu.addAction(self.back_action)
        go_menu.addAction(self.next_action)
        go_menu.addSeparator()
        for a in self.step_actions:
            go_menu.addAction(a)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.help_action)
        help_menu.addAction(self.glossary_action)
        help_menu.addAction(self.demo_action)
        help_menu.addAction(self.about_action)
        self._fill_recent_menu()

    # --- state -----------------------------------------------------------------------------------------------------

    def _on_busy(self, message: str) -> None:
        self.busy_label.setText(message or "Ready")
        self.progress.setVisible(self.busy)
        self.project_panel.setEnabled(self.session is not None and not self.busy)  # the worker may save the project
        self._update_actions()
        self._update_nav()

    def _update_actions(self) -> None:
        for action in (
            self.new_action,
            self.open_action,
            self.save_action,
            self.save_as_action,
            self.open_model_action,
            self.add_data_action,
            self.add_folder_action,
            self.profile_action,
            self.measure_action,
            self.demo_action,
        ):
            needs = bool(action.property("needs_project"))
            action.setEnabled(not self.busy and (self.session is not None or not needs))
        self.recent_menu.setEnabled(not self.busy)
        self.cancel_runs_action.setEnabled(self.runs.active)
        has_model = self.session is not None and self.session.project.model is not None
        self.profile_action.setEnabled(self.profile_action.isEnabled() and has_model)
        self.measure_action.setEnabled(self.measure_action.isEnabled() and has_model)

    def _update_title(self) -> None:
        if self.session is None:
            self.setWindowTitle(APP_TITLE)
        else:
            self.setWindowTitle(f"{self.session.project.name}{'*' if self.dirty else ''} — {APP_TITLE}")

    def show_error(self, exc: BaseException, tb: str | None = None) -> None:
        self.busy_label.setText(f"Error: {exc}" if isinstance(exc, ShrinkwiseError) else "Unexpected error")
        dialogs.show_error(self, exc, tb)

    # --- showing the session ---------------------------------------------------------------------------------------

    def _show_outputs(self, s: Session) -> None:
        """The Data page's outputs as the last baseline measured them (kept while a changed task awaits a new one)."""
        base, model = s.project.baseline, s.project.model
        if base is not None and base.quality is not None and base.quality.outputs and model is not None:
            self._outputs_seen = (model.onnx_sha256, list(base.quality.outputs))
        key, outputs = getattr(self, "_outputs_seen", (None, []))
        shown = outputs if model is not None and key == model.onnx_sha256 else []
        self.data_panel.show_outputs(shown, dict(s.project.io.outputs))

    def _on_session_changed(self) -> None:
        session = self.session
        assert session is not None
        if not self.runs.active:
            self.run_page.clear()
        self.export_page.written.clear()
        self.advice_page.set_state(session.project.plan.model_dump(mode="json"))
        self.advice_page.autopilot.show_journal(session.project.autopilot[-1] if session.project.autopilot else None)
        self.add_recent(session.path)
        self._shown_profile = None
        self.refresh()
        # Long-lived objects (Qt wrappers, pyqtgraph items, imported modules) move out of the garbage collector's
        # reach: a full collection otherwise walks them all and pauses the UI thread for tens of milliseconds.
        gc.collect()
        gc.freeze()

    def _on_profile(self, profile: ModelProfile | None) -> None:
        if profile is None:
            self.profile_view.show_waiting()
        else:
            self.refresh()

    def refresh(self) -> None:
        """Show the open project (or none) on every page."""
        s = self.session
        self.start_page.set_recent(self.recent_projects() if self.settings.contains(RECENT_KEY) else [])
        if s is None:
            self.profile_view.show_empty()
            self.data_panel.show_data([])
            self.data_panel.set_enabled_for(False)
            self.measurements_panel.show_baseline(None, False)
            self.project_panel.setEnabled(False)
            self.start_page.project_box.setVisible(False)
            self.start_page.how_box.setVisible(True)
            self.advice_page.show_message("Open a project with a model to get advice.")
            self.export_page.show_project(None)
        else:
            self.start_page.project_box.setVisible(True)
            self.start_page.how_box.setVisible(False)
            self.project_panel.setEnabled(not self.busy)
            self.project_panel.show_project(s.project, s.path)
            self._show_model(s)
            self.data_panel.show_data(s.project.data, s.project.split)
            self.data_panel.set_enabled_for(s.project.model is not None)
            self.measurements_panel.show_baseline(s.project.baseline, s.project.model is not None)
            self.target_page.show_project(s.project)
            self.export_page.set_project_file(s.path)
            self.export_page.show_project(s.project)
            if self.current_step in (STEP_ADVICE, STEP_COMPARE):
                self.refresh_advice()
            self._show_outputs(s)
            if self.current_step == STEP_COMPARE:
                self.refresh_compare()
        self._update_title()
        self._update_actions()
        self._update_nav()

    def _show_model(self, s: Session) -> None:
        model, profile = s.project.model, self.controller.model_profile
        if model is None:
            self.profile_view.show_empty()
            self._shown_profile = None
        elif profile is not None:
            if self._shown_profile != (id(profile), id(model)):  # drawing a profile takes a while: only when new
                self.profile_view.show_profile(profile, model)
                self._shown_profile = (id(profile), id(model))
        elif self.profile_view.state != "profile" or self.profile_view.profile is None:
            self.profile_view.show_waiting()

    def _show_goal(self) -> None:
        if self.session is not None:
            self.target_page.show_project(self.session.project)

    # --- target, budget, advice ------------------------------------------------------------------------------------

    def ensure_targets(self) -> None:
        if not self.target_page._targets:
            try:
                self.target_page.set_targets(self.controller.targets())
                self.advice_page.targets = dict(self.target_page._targets)
            except Exception as exc:  # noqa: BLE001 - a broken target file must be shown, not crash the page
                self.show_error(exc)

    def refresh_advice(self) -> None:
        if self.session is not None and self.session.project.model is not None and advising.rules_ready():
            self.ensure_targets()
        self.controller.refresh_advice()

    def _show_advice(self, advice: Any) -> None:
        self.advice_page.targets = dict(self.target_page._targets)
        self.advice_page.candidate_labels = (
            {e.id: e.label or e.id for e in self.session.project.experiments} if self.session is not None else {}
        )
        self.advice_page.show_advice(advice)
        self.compare_page.advice = advice
        self.compare_page.result_rules = advising.result_rule_ids()
        self.export_page.show_decision(advice.decision)

    def answer(self, fact: str, value: Any) -> None:
        """An answer to one of the advisor's questions: stored in the project, the advice updated at once."""
        self.controller.answer(fact, value)

    # --- runs ------------------------------------------------------------------------------------------------------

    def start_runs(self, requests: list[dict[str, Any]]) -> list[RunItem]:
        return self.controller.start_runs(requests)

    def start_sweep(self, request: dict[str, Any]) -> list[RunItem]:
        return self.controller.start_sweep(request)

    def _start_autopilot(self, time_budget_s: float) -> None:
        if self.controller.start_autopilot(time_budget_s):
            self.advice_page.autopilot.set_running(True)

    def _autopilot_finished(self, journal: Any) -> None:
        panel = self.advice_page.autopilot
        panel.set_running(False)
        panel.show_journal(journal)
        self._update_actions()

    def _on_runs_queued(self, items: list[RunItem]) -> None:
        self._batch.extend(items)
        self.go(STEP_RUN)
        self._update_actions()

    def _show_run_details(self, item: RunItem) -> None:
        dialogs.show_details(self, "A run failed", f"“{item.label}” failed: {item.error}", item.details)

    def _on_run_finished(self, item: RunItem) -> None:
        self._update_actions()
        if item.status == "failed":
            self.busy_label.setText(f"Run failed: {item.label} — see the Run page (Details…)")
        elif item.status == "finished":
            self.busy_label.setText(f"Finished: {item.label}")
        if self.session is not None:
            self.measurements_panel.show_baseline(self.session.project.baseline, self.session.project.model is not None)
            self.target_page.show_project(self.session.project)
            # The advice and the comparison are rebuilt when their page is shown, not while runs go on elsewhere.
            if self.current_step in (STEP_ADVICE, STEP_COMPARE) and advising.rules_ready():
                self.refresh_advice()
            if self.current_step == STEP_COMPARE:
                self.refresh_compare()

    def _on_runs_idle(self) -> None:
        """When the queue is done: close if asked to; else, if the user is still watching the Run page and a run
        made a candidate, move on to Compare (the Run page is a waiting room; a failed run keeps them there)."""
        self._update_actions()
        batch, self._batch = self._batch, []
        if self._close_when_idle:
            self._close_when_idle = False
            QTimer.singleShot(0, self.close)
        elif (
            self.current_step == STEP_RUN
            and any(i.status == "finished" for i in batch)
            and not any(i.status == "failed" for i in batch)
        ):
            self.go(STEP_COMPARE)

    # --- compare and export ----------------------------------------------------------------------------------------

    def refresh_compare(self) -> None:
        rows = self.controller.results()
        if rows is not None and self.session is not None:
            self.compare_page.show_results(self.session.project, rows, self.advice)

    def choose_candidate(self, exp_id: str) -> None:
        if self.session is None:
            return
        misses = self.controller.misses_budget(exp_id)
        if misses and not dialogs.confirm(
            self,
            "Ship a candidate that misses the budget?",
            "This candidate misses the budget: " + "; ".join(misses) + ".\n\nShip it anyway? The report will flag it.",
        ):
            return
        self.controller.choose_candidate(exp_id)

    def export_model(self) -> None:
        if self.session is None:
            return
        folder = dialogs.choose_folder(
            self, "Export the chosen model into…", str(self.export_page.folder_for_exports())
        )
        if folder:
            self.controller.export_model(Path(folder))

    def write_report(self, fmt: str) -> None:
        suggested = self.controller.suggested_report_path(fmt)
        if suggested is None:
            return
        folder = self.export_page.folder_for_exports()  # the visible export folder, not the project's data folder
        path = dialogs.choose_save_path(
            self,
            f"Write the {fmt.upper()} report",
            f"{fmt.upper()} (*.{fmt})",
            str(folder / suggested.name if folder else suggested),
        )
        if path:
            self.controller.write_report(fmt, Path(path))

    def make_bundle(self) -> None:
        if self.session is None:
            return
        folder = dialogs.choose_folder(
            self, "Write the benchmark bundle into…", str(self.export_page.folder_for_exports())
        )
        if folder:
            self.controller.make_bundle(Path(folder))

    def import_device_results(self) -> None:
        if self.session is None:
            return
        path = dialogs.choose_open_path(
            self,
            "Import the device's results.json",
            "Benchmark results (*.json);;All files (*)",
            str(self.session.folder),
        )
        if path:
            self.controller.import_device_results(Path(path))

    def open_in_netron(self) -> None:
        if self.session is None or self.session.project.model is None:
            return
        from shrinkwise.gui import profile_view

        try:
            profile_view.launch_netron(str(self.session.onnx_path))
        except Exception as exc:  # noqa: BLE001
            self.show_error(
                ShrinkwiseError(
                    f"Netron could not start ({exc.__class__.__name__}: {exc})",
                    fix="check that the 'netron' package works: python -m netron --version",
                )
            )
            return
        self.busy_label.setText("Netron is opening the model in your web browser…")

    def show_help(self) -> None:
        name = STEPS[self.current_step]
        dialogs.info_box(
            self,
            f"Help — {name}",
            f"<h3>{self.current_step + 1}. {name}</h3><p>{HELP[name]}</p>"
            "<p>Shortcuts: Ctrl+N new, Ctrl+O open, Ctrl+S save, Ctrl+Shift+S save as, Ctrl+1…8 go to a "
            "step, Alt+Right / Alt+Left the next / previous step, Ctrl+Q quit, F1 this help.</p>",
        )

    # --- files -----------------------------------------------------------------------------------------------------

    def maybe_keep_changes(self) -> bool:
        """True when it is fine to drop the current project: saved, discarded (read again from its file, nothing
        saved), or nothing to save."""
        if self.runs.active:
            self.show_error(
                ShrinkwiseError("runs are still in progress", fix="wait for them, or cancel them on the Run page")
            )
            return False
        if self.session is None or not self.dirty:
            return True
        answer = dialogs.ask_unsaved(self, self.session.project.name)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        if answer == QMessageBox.StandardButton.Discard:
            return self.controller.discard()
        return False

    def new_project(self, then: Callable[[], None] | None = None, suggested: str = "") -> None:
        if not self.maybe_keep_changes():
            return
        path = dialogs.choose_save_path(self, "New project", PROJECT_FILTER, suggested)
        if not path:
            return
        follow = self._follow(STEP_START)

        def done(_session: Any) -> None:
            follow()
            if then is not None:
                then()

        self.controller.new_project(Path(path), then=done)

    def open_project_dialog(self) -> None:
        if not self.maybe_keep_changes():
            return
        path = dialogs.choose_open_path(self, "Open project", PROJECT_FILTER)
        if path:
            self.open_project(path, ask=False)

    def _after_open(self) -> Callable[[Any], None]:
        origin = self.current_step

        def done(session: Any) -> None:
            if self.current_step == origin:  # the user waited: show the model; elsewhere, stay there
                self.go(STEP_MODEL if session.project.model is not None else STEP_START)

        return done

    def open_project(self, path: Path | str, ask: bool = True) -> None:
        if ask and not self.maybe_keep_changes():
            return
        self.controller.open_project(Path(path), then=self._after_open())

    def open_demo(self, speech: bool = False) -> None:
        if not self.maybe_keep_changes():
            return
        folder = speech_demo_dir() if speech else demo_dir()
        self.controller.open_demo(folder, then=self._after_open(), speech=speech)

    def _commit_typing(self) -> None:
        """A number typed in a spin box counts on Enter or when the focus leaves it (keyboard tracking is off, so
        the advice is not redone per keystroke). Save and close come before either: commit it first, or a budget
        typed and saved with Ctrl+S would be lost without a word."""
        widget = QApplication.focusWidget()
        while widget is not None and not isinstance(widget, QAbstractSpinBox):
            widget = widget.parentWidget()
        if widget is not None and widget.window() is self:
            widget.interpretText()

    def save(self) -> bool:
        self._commit_typing()
        if not self.controller.save():
            return False
        assert self.session is not None
        self.add_recent(self.session.path)
        return True

    def save_as(self) -> bool:
        self._commit_typing()
        if self.session is None:
            return False
        path = dialogs.choose_save_path(self, "Save project as", PROJECT_FILTER, str(self.session.path))
        if not path or not self.controller.save_as(Path(path)):
            return False
        self.add_recent(self.session.path)
        return True

    # --- recent projects -------------------------------------------------------------------------------------------

    def recent_projects(self) -> list[Path]:
        """Most recent first; files that no longer exist are dropped (and forgotten)."""
        raw = self.settings.value(RECENT_KEY, [])
        if isinstance(raw, str):
            raw = [raw]
        paths = [Path(p) for p in (raw or []) if p]
        kept = [p for p in paths if p.exists()][:MAX_RECENT]
        if len(kept) != len(paths):
            self._store_recent(kept)
        return kept

    def add_recent(self, path: Path) -> None:
        path = Path(path).resolve()
        paths = [path] + [p for p in self.recent_projects() if p.resolve() != path]
        self._store_recent(paths[:MAX_RECENT])

    def _store_recent(self, paths: list[Path]) -> None:
        self.settings.setValue(RECENT_KEY, [str(p) for p in paths])
        self.settings.sync()
        self._fill_recent_menu()
        if hasattr(self, "start_page"):
            self.start_page.set_recent(paths)

    def _fill_recent_menu(self) -> None:
        if not hasattr(self, "recent_menu"):
            return
        self.recent_menu.clear()
        recent = self.recent_projects() if self.settings.contains(RECENT_KEY) else []
        for i, path in enumerate(recent):
            action = self.recent_menu.addAction(f"&{i + 1} {path.name}")
            action.setToolTip(str(path))
            action.triggered.connect(lambda _checked=False, p=path: self.open_project(p))
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)

    # --- model and data --------------------------------------------------------------------------------------------

    def open_model_dialog(self) -> None:
        path = dialogs.choose_open_path(self, "Open model", MODEL_FILTER)
        if path:
            self.attach_model_file(Path(path))

    def add_data_dialog(self, role: str | None = None) -> None:
        title = {
            "evaluation": "Add evaluation data",
            "calibration": "Add calibration data",
            "training": "Add training data",
        }.get(role or "", "Add data")
        path = dialogs.choose_open_path(self, title, DATA_FILTER)
        if path:
            self.add_data_path(Path(path), role)

    def add_data_folder_dialog(self) -> None:
        path = dialogs.choose_folder(self, "Add an image folder (one sub-folder per class)")
        if path:
            self.add_data_path(Path(path))

    def attach_model_file(self, path: Path) -> None:
        if self.session is None:
            # A model needs a project to live in: offer one next to the model file.
            self.new_project(
                then=lambda: self.attach_model_file(path), suggested=str(path.with_suffix("")) + ".shrinkwise.json"
            )
            return
        architecture: str | None = None
        input_specs = None
        try:
            needs_arch, needs_shape = self.controller.model_questions(path)
            if needs_arch or needs_shape:
                answers = dialogs.ask_torch_details(self, path.name, needs_arch, needs_shape)
                if answers is None:
                    return
                architecture = answers.architecture
                input_specs = self.controller.input_specs(
                    path, answers.input_shape, architecture, needs_arch, needs_shape
                )
        except ShrinkwiseError as exc:
            self.show_error(exc)
            return
        to_confirm = self.controller.architecture_to_confirm(architecture)
        if to_confirm is not None and not dialogs.confirm_architecture(self, *to_confirm):
            return
        trusted = to_confirm[1] if to_confirm is not None else False  # the sha256 the user was shown
        self.controller.attach_model(path, architecture, input_specs, trusted, then=self._follow(STEP_MODEL))

    def add_data_path(self, path: Path, role: str | None = None) -> None:
        if self.session is not None and role is None:
            role = dialogs.ask_data_role(self, path.name)
            if role is None:
                return
        self.controller.add_data(path, role or "all", then=self._follow(STEP_DATA))

    def start_profile(self, force: bool = False) -> None:
        self.controller.profile_model(force)

    def measure_baseline(self) -> None:
        self.controller.measure_baseline()

    # --- drag and drop ---------------------------------------------------------------------------------------------

    @staticmethod
    def _dropped_paths(event: QDragEnterEvent | QDropEvent) -> list[Path]:
        mime = event.mimeData()
        if not mime.hasUrls():
            return []
        return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]

    @staticmethod
    def _usable(path: Path) -> bool:
        return path.is_dir() or path.suffix.lower() in MODEL_SUFFIXES + DATA_SUFFIXES

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(self._usable(p) for p in self._dropped_paths(event)):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:  # noqa: N802
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = self._dropped_paths(event)
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.handle_dropped(paths)

    def handle_dropped(self, paths: list[Path]) -> None:
        if self.busy:
            self.busy_label.setText("Busy — drop the file again when the current step has finished")
            return
        if self.runs.active:
            self.show_error(
                ShrinkwiseError(
                    "runs are using the current model and data",
                    fix="drop the file again when the runs have finished, or cancel them on the Run page",
                )
            )
            return
        path = paths[0]
        if path.suffix.lower() in MODEL_SUFFIXES:
            self.attach_model_file(path)
        elif path.is_dir() or path.suffix.lower() in DATA_SUFFIXES:
            self.add_data_path(path)
        else:
            self.show_error(
                ShrinkwiseError(
                    "is not a model or data file Shrinkwise reads",
                    path,
                    "drop a model (.onnx, .pt, .pt2, .pth), a data file (.npz) or an image folder",
                )
            )

    # --- about and closing -----------------------------------------------------------------------------------------

    def about_text(self) -> str:
        import pyqtgraph
        from PySide6 import __version__ as pyside_version

        from shrinkwise.workspace.versions import library_versions

        versions = dict(library_versions())
        versions["PySide6"] = pyside_version
        versions["pyqtgraph"] = pyqtgraph.__version__
        rows = "".join(f"<tr><td>{k}</td><td>&nbsp;{v}</td></tr>" for k, v in versions.items())
        return (
            "<h3>Shrinkwise</h3><p>A workbench that helps you make neural networks smaller and faster, "
            f"and shows what it cost.</p><table>{rows}</table>"
        )

    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("About Shrinkwise")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(self.about_text())
        dialogs.exec_dialog(box)

    def _restore_geometry(self) -> None:
        geometry = self.settings.value(GEOMETRY_KEY)
        if geometry is not None:
            try:
                self.restoreGeometry(geometry)
            except TypeError:
                pass

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.runs.active:
            if dialogs.ask_yes_no(
                self,
                "Runs in progress",
                "Stop the runs and quit?",
                "Running steps are cancelled cleanly and recorded as cancelled; finished ones are kept.",
            ):
                self._close_when_idle = True
                self.busy_label.setText("Stopping the runs…")
                self.runs.cancel_all()
            event.ignore()
            return
        if self._may_close():
            self.settings.setValue(GEOMETRY_KEY, self.saveGeometry())
            self.settings.sync()
            event.accept()
        else:
            event.ignore()

    def _may_close(self) -> bool:
        """Save, Discard (closing drops the edits: nothing is written) or Cancel."""
        self._commit_typing()
        if self.session is None or not self.dirty:
            return True
        answer = dialogs.ask_unsaved(self, self.session.project.name)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard
