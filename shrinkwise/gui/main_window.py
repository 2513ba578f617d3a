"""The main window: the wizard's step list on the left, one page per step, and the menus that hold a project.

Steps: Start, Model, Target, Data, Advice, Run, Compare, Export; every step can be revisited, and what the user
decides lives in the project file (target, budget, answers, experiments, chosen).

The window never does the work itself: every load, attach, data read, profile, measurement and export runs through
`gui.workers` (the window shows a busy state and stays responsive), and compression runs go through the run queue
(`gui.run_controller`). Errors reach the user as a dialog (`gui.dialogs.show_error`), with details on demand.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QStackedWidget,
    QWidget,
)

from shrinkwise.compression.errors import ModelLoadError, ShrinkwiseError
from shrinkwise.compression.profile_types import ModelProfile
from shrinkwise.gui import advising, dialogs
from shrinkwise.gui.advice_page import AdvicePage
from shrinkwise.gui.compare_page import ComparePage, load_disagreement_inputs
from shrinkwise.gui.export_page import ExportPage
from shrinkwise.gui.help_text import HELP
from shrinkwise.gui.panels import DataPanel
from shrinkwise.gui.profile_view import ProfileView
from shrinkwise.gui.run_controller import RunController, RunItem
from shrinkwise.gui.run_page import RunPage
from shrinkwise.gui.start_page import StartPage
from shrinkwise.gui.target_page import TargetPage
from shrinkwise.gui.workers import run_in_background
from shrinkwise.workspace.project import PlanEdits
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
STEP_PROJECT, STEP_BASELINE = (
    STEP_START,
    STEP_TARGET,
)  # older names: the project form is on Start, the baseline on Target
GEOMETRY_KEY = "window/geometry"


def _open_session(path: Path) -> tuple[Session, ModelProfile | None]:
    session = Session.open(path)
    return session, session.cached_profile()


def _build_demo(out_dir: Path) -> tuple[Session, ModelProfile | None]:
    from shrinkwise.workspace.demo import build_demo

    session = build_demo(out_dir)
    return session, session.cached_profile()


def demo_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("shrinkwise")) / "demo"


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.session: Session | None = None
        self.dirty = False
        self._jobs = 0
        self.advice: Any = None
        self._advice_loading = False
        self._close_when_idle = False
        self.setAcceptDrops(True)
        self.resize(1280, 800)

        self.steps = QListWidget()
        for i, name in enumerate(STEPS):
            item = QListWidgetItem(f"{i + 1}  {name}")
            item.setToolTip(HELP[name].split(".")[0] + ".")
            self.steps.addItem(item)
        self.steps.setFixedWidth(150)
        self.steps.setAcceptDrops(False)
        self.steps.setStyleSheet("QListWidget { font-size: 11pt; } QListWidget::item { padding: 6px; }")
        self.pages = QStackedWidget()
        self.runs = RunController(self)
        self.start_page = StartPage()
        self.project_panel = self.start_page.project_panel
        self.profile_view = ProfileView()
        self.target_page = TargetPage()
        self.measurements_panel = self.target_page.measurements_panel
        self.data_panel = DataPanel()
        self.advice_page = AdvicePage()
        self.run_page = RunPage(self.runs)
        self.compare_page = ComparePage()
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
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(4, 4, 4, 0)
        row.addWidget(self.steps)
        row.addWidget(self.pages, 1)
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
        self.project_panel.edited.connect(self._on_project_edited)
        self.start_page.new_requested.connect(self.new_project)
        self.start_page.open_requested.connect(self.open_project_dialog)
        self.start_page.demo_requested.connect(self.open_demo)
        self.start_page.recent_requested.connect(lambda p: self.open_project(Path(p)))
        self.profile_view.open_model_requested.connect(self.open_model_dialog)
        self.profile_view.demo_requested.connect(self.open_demo)
        self.profile_view.netron_requested.connect(self.open_in_netron)
        self.target_page.changed.connect(self._on_target_changed)
        self.data_panel.add_requested.connect(self.add_data_dialog)
        self.data_panel.add_role_requested.connect(self.add_data_dialog)
        self.measurements_panel.measure_requested.connect(self.measure_baseline)
        self.advice_page.answered.connect(self.answer)
        self.advice_page.plan_changed.connect(self._on_plan_changed)
        self.advice_page.run_requested.connect(self.start_runs)
        self.advice_page.sweep_requested.connect(self.start_sweep)
        self.run_page.details_requested.connect(self._show_run_details)
        self.run_page.compare_requested.connect(lambda: self.go(STEP_COMPARE))
        self.runs.finished.connect(self._on_run_finished)
        self.runs.idle.connect(self._on_runs_idle)
        self.compare_page.choose_requested.connect(self.choose_candidate)
        self.compare_page.load_images_requested.connect(self._load_disagreements)
        self.compare_page.export_requested.connect(lambda: self.go(STEP_EXPORT))
        self.export_page.export_model_requested.connect(self.export_model)
        self.export_page.report_requested.connect(self.write_report)
        self.export_page.bundle_requested.connect(self.make_bundle)
        self.export_page.import_requested.connect(self.import_device_results)
        self.export_page.compare_requested.connect(lambda: self.go(STEP_COMPARE))
        self._refresh()
        self.busy_label.setText("Ready")
        self._restore_geometry()
        self.steps.setCurrentRow(STEP_START)

    def go(self, step: int) -> None:
        self.steps.setCurrentRow(step)

    def _on_step(self, row: int) -> None:
        self.pages.setCurrentIndex(row)
        if row == STEP_TARGET:
            self._ensure_targets()
        if row in (STEP_ADVICE, STEP_COMPARE):
            self.refresh_advice()
        if row == STEP_COMPARE:
            self._refresh_compare()

    # --- menus ---------------------------------------------------------------------------------------------------

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
        self.cancel_runs_action = self._action("&Cancel All Runs", self.runs.cancel_all)
        self.step_actions = []
        for i, name in enumerate(STEPS):
            self.step_actions.append(self._action(f"&{i + 1} {name}", lambda i=i: self.go(i), f"Ctrl+{i + 1}"))

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
        for a in self.step_actions:
            go_menu.addAction(a)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.help_action)
        help_menu.addAction(self.demo_action)
        help_menu.addAction(self.about_action)
        self._fill_recent_menu()

    # --- state ---------------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._jobs > 0

    def _set_busy(self, message: str | None) -> None:
        self._jobs += 1 if message is not None else -1
        if message is not None:
            self.busy_label.setText(message)
        elif self._jobs == 0:
            self.busy_label.setText("Ready")
        self.progress.setVisible(self.busy)
        self.project_panel.setEnabled(self.session is not None and not self.busy)  # the worker may save the project
        self._update_actions()

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

    def set_dirty(self, dirty: bool) -> None:
        self.dirty = dirty
        self._update_title()

    def _update_title(self) -> None:
        if self.session is None:
            self.setWindowTitle(APP_TITLE)
        else:
            self.setWindowTitle(f"{self.session.project.name}{'*' if self.dirty else ''} — {APP_TITLE}")

    def run_job(
        self,
        message: str,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException, str], None] | None = None,
    ) -> None:
        """Run `fn(*args)` off the UI thread with the busy state shown; errors end in a dialog."""
        self._set_busy(message)

        def done(result: Any) -> None:
            self._set_busy(None)
            if on_done is not None:
                try:
                    on_done(result)
                except Exception as exc:  # noqa: BLE001 - a bug in a view must still be shown
                    self.show_error(exc)

        def failed(exc: BaseException, tb: str) -> None:
            self._set_busy(None)
            if on_error is not None:
                on_error(exc, tb)
            self.show_error(exc, tb)

        run_in_background(fn, *args, on_done=done, on_error=failed)

    def show_error(self, exc: BaseException, tb: str | None = None) -> None:
        self.busy_label.setText(f"Error: {exc}" if isinstance(exc, ShrinkwiseError) else "Unexpected error")
        dialogs.show_error(self, exc, tb)

    # --- showing the session -------------------------------------------------------------------------------------

    def set_session(self, session: Session, profile: ModelProfile | None = None) -> None:
        self.session = session
        self.runs.session = session
        if not self.runs.active:
            self.runs.items.clear()
            self.run_page.clear()
        self.advice = None
        self.export_page.written.clear()
        self.advice_page.set_state(session.project.plan.model_dump(mode="json"))
        self.add_recent(session.path)
        self.set_dirty(False)
        self._refresh(profile)
        if session.project.model is not None and profile is None:
            self.start_profile()
        self.steps.setCurrentRow(STEP_MODEL if session.project.model is not None else STEP_START)
        # Long-lived objects (Qt wrappers, pyqtgraph items, imported modules) move out of the garbage collector's
        # reach: a full collection otherwise walks them all and pauses the UI thread for tens of milliseconds.
        import gc

        gc.collect()
        gc.freeze()

    def _refresh(self, profile: ModelProfile | None = None) -> None:
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
            if s.project.model is None:
                self.profile_view.show_empty()
            elif profile is not None:
                self.profile_view.show_profile(profile, s.project.model)
            elif self.profile_view.state != "profile" or self.profile_view.profile is None:
                self.profile_view.show_waiting()
            self.data_panel.show_data(s.project.data, s.project.split)
            self.data_panel.set_enabled_for(s.project.model is not None)
            self.measurements_panel.show_baseline(s.project.baseline, s.project.model is not None)
            self.target_page.show_project(s.project)
            self.export_page.show_project(s.project)
            if self.pages.currentIndex() in (STEP_ADVICE, STEP_COMPARE):
                self.refresh_advice()
            if self.pages.currentIndex() == STEP_COMPARE:
                self._refresh_compare()
        self._update_title()
        self._update_actions()

    # --- target, budget, advice ----------------------------------------------------------------------------------

    def _ensure_targets(self) -> None:
        if not self.target_page._targets:
            try:
                self.target_page.set_targets(advising.targets())
                self.advice_page.targets = dict(self.target_page._targets)
            except Exception as exc:  # noqa: BLE001 - a broken target file must be shown, not crash the page
                self.show_error(exc)

    def _on_target_changed(self) -> None:
        if self.session is None:
            return
        try:
            self.session.set_target(self.target_page.target_value())
            self.session.set_budget(**self.target_page.budget_value())
        except ShrinkwiseError as exc:
            self.show_error(exc)
            return
        self.set_dirty(True)
        self.refresh_advice()

    def refresh_advice(self) -> None:
        """Recompute the advice now (the rules are loaded once, off the UI thread; then advice takes milliseconds)."""
        if self.session is None:
            return
        if self.session.project.model is None:
            self.advice_page.show_message("Load a model first (Model page): the advice starts from what the model is.")
            return
        if not advising.rules_ready():
            if not self._advice_loading:
                self._advice_loading = True
                self.advice_page.show_message("Reading the advisor's rules…")

                def loaded(_n: Any) -> None:
                    self._advice_loading = False
                    self.refresh_advice()

                def failed(_e: BaseException, _tb: str) -> None:
                    self._advice_loading = False
                    self.advice_page.show_message("The advisor could not load its rules; see the error message.")

                self.run_job("Reading the advisor's rules…", advising.warm_up, on_done=loaded, on_error=failed)
            return
        self._ensure_targets()
        try:
            self.advice = self.session.advise(self.profile_view.profile)
        except Exception as exc:  # noqa: BLE001 - say why there is no advice instead of showing stale advice
            self.advice = None
            self.advice_page.show_message(f"The advisor could not read this project: {exc}")
            import traceback

            self.busy_label.setText("The advisor could not read this project")
            dialogs.show_error(self, exc, traceback.format_exc())
            return
        self.advice_page.targets = dict(self.target_page._targets)
        self.advice_page.show_advice(self.advice)
        self.compare_page.advice = self.advice
        self.compare_page.result_rules = advising.result_rule_ids()
        self.export_page.show_decision(self.advice.decision)

    def answer(self, fact: str, value: Any) -> None:
        """An answer to one of the advisor's questions: stored in the project, the advice updated at once."""
        if self.session is None:
            return
        try:
            self.session.answer(fact, value)
        except ShrinkwiseError as exc:
            self.show_error(exc)
            return
        self.set_dirty(True)
        self.busy_label.setText(f"Answered: {fact} = {value}")
        if fact.startswith(("budget.", "target.")):
            self.target_page.show_project(self.session.project)
        self.refresh_advice()

    def _on_plan_changed(self) -> None:
        if self.session is None:
            return
        self.session.set_plan(PlanEdits.model_validate(self.advice_page.state))
        self.set_dirty(True)

    # --- runs ----------------------------------------------------------------------------------------------------

    def start_runs(self, requests: list[dict[str, Any]]) -> list[RunItem]:
        if self.session is None or self.session.project.model is None:
            self.show_error(ShrinkwiseError("there is no model to compress", fix="open a project with a model first"))
            return []
        items = [self.runs.enqueue(r["steps"], r.get("label")) for r in requests]
        self.go(STEP_RUN)
        self._update_actions()
        return items

    def start_sweep(self, request: dict[str, Any]) -> list[RunItem]:
        """One run per value of one setting, sharing a sweep id (kind 'sweep' in the project)."""
        if self.session is None or self.session.project.model is None:
            return []
        from shrinkwise.workspace.runs import new_id

        group = new_id("sweep")
        technique, key = request["technique"], request["key"]
        items = [
            self.runs.enqueue(
                [{"technique": technique, "config": {**request.get("config", {}), key: v}}],
                f"{technique} {key}={v}",
                group=group,
                sweep_key=key,
                level=v,
            )
            for v in request["values"]
        ]
        self.go(STEP_RUN)
        self._update_actions()
        return items

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
            if self.pages.currentIndex() in (STEP_ADVICE, STEP_COMPARE) and advising.rules_ready():
                self.refresh_advice()
            if self.pages.currentIndex() == STEP_COMPARE:
                self._refresh_compare()

    def _on_runs_idle(self) -> None:
        self._update_actions()
        if self._close_when_idle:
            self._close_when_idle = False
            QTimer.singleShot(0, self.close)

    # --- compare and export --------------------------------------------------------------------------------------

    def _refresh_compare(self) -> None:
        if self.session is None:
            return
        try:
            rows = self.session.results()
        except Exception as exc:  # noqa: BLE001
            self.show_error(exc)
            return
        self.compare_page.show_results(self.session.project, rows, self.advice)

    def _load_disagreements(self, exp_id: str, indices: list[int]) -> None:
        if self.session is None:
            return
        self.run_job(
            "Loading the inputs that changed answer…",
            load_disagreement_inputs,
            self.session,
            indices,
            on_done=lambda payload: self.compare_page.show_images(exp_id, payload),
        )

    def choose_candidate(self, exp_id: str) -> None:
        if self.session is None:
            return
        from shrinkwise.workspace.export import choose

        misses = self.advice.decision.misses_budget(exp_id) if self.advice is not None else []
        if misses and not dialogs.confirm(
            self,
            "Ship a candidate that misses the budget?",
            "This candidate misses the budget: " + "; ".join(misses) + ".\n\nShip it anyway? The report will flag it.",
        ):
            return
        try:
            with _save_lock():
                exp = choose(self.session, exp_id)
        except Exception as exc:  # noqa: BLE001
            self.show_error(exc)
            return
        self.busy_label.setText(f"Chosen to ship: {exp.label or exp.id}")
        self.export_page.show_project(self.session.project)
        self._refresh_compare()
        if advising.rules_ready():
            self.refresh_advice()

    def export_model(self) -> None:
        if self.session is None:
            return
        from shrinkwise.workspace.export import export_candidate

        folder = dialogs.choose_folder(self, "Export the chosen model into…", str(self.session.folder))
        if not folder:
            return
        self.run_job(
            "Exporting the model…",
            export_candidate,
            self.session,
            None,
            Path(folder),
            on_done=lambda r: (
                self.export_page.add_output("Model", r.model_path),
                self.export_page.add_output("Model card", r.card_path),
            ),
        )

    def write_report(self, fmt: str) -> None:
        if self.session is None:
            return
        from shrinkwise.workspace.report import write_report

        suggested = str(self.session.folder / f"{self.session.path.name.split('.')[0]}-report.{fmt}")
        path = dialogs.choose_save_path(self, f"Write the {fmt.upper()} report", f"{fmt.upper()} (*.{fmt})", suggested)
        if not path:
            return
        advice = self.advice  # the advice on screen, so the report states the same decision
        self.run_job(
            f"Writing the {fmt.upper()} report…",
            write_report,
            self.session,
            fmt,
            Path(path),
            advice,
            on_done=lambda out: self.export_page.add_output(f"{fmt.upper()} report", str(out)),
        )

    def make_bundle(self) -> None:
        if self.session is None:
            return
        from shrinkwise.workspace.bundle import make_bundle

        folder = dialogs.choose_folder(self, "Write the benchmark bundle into…", str(self.session.folder))
        if not folder:
            return
        out = Path(folder) / f"{self.session.path.name.split('.')[0]}-bundle"
        self.run_job(
            "Writing the benchmark bundle…",
            make_bundle,
            self.session,
            None,
            out,
            on_done=lambda r: self.export_page.add_output("Benchmark bundle", str(r)),
        )

    def import_device_results(self) -> None:
        if self.session is None:
            return
        from shrinkwise.workspace.bundle import import_results

        path = dialogs.choose_open_path(
            self,
            "Import the device's results.json",
            "Benchmark results (*.json);;All files (*)",
            str(self.session.folder),
        )
        if not path:
            return
        session = self.session

        def locked_import(p: Path) -> Any:
            with _save_lock():
                return import_results(session, p)

        def done(result: Any) -> None:
            exp, measurements = result
            self.export_page.add_output(
                f"Device results for {exp.label or exp.id}", f"{len(measurements)} measurement(s) from {path}"
            )
            self._refresh(self.profile_view.profile)

        self.run_job("Importing the device's results…", locked_import, Path(path), on_done=done)

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
        name = STEPS[self.pages.currentIndex()]
        dialogs.info_box(
            self,
            f"Help — {name}",
            f"<h3>{self.pages.currentIndex() + 1}. {name}</h3><p>{HELP[name]}</p>"
            "<p>Shortcuts: Ctrl+N new, Ctrl+O open, Ctrl+S save, Ctrl+Shift+S save as, Ctrl+1…8 go to a "
            "step, Ctrl+Q quit, F1 this help.</p>",
        )

    def _on_project_edited(self) -> None:
        if self.session is None:
            return
        name = self.project_panel.name_edit.text().strip()
        if name:
            self.session.project.name = name
        self.session.project.notes = self.project_panel.notes_edit.toPlainText()
        self.set_dirty(True)

    # --- files ---------------------------------------------------------------------------------------------------

    def maybe_keep_changes(self) -> bool:
        """True when it is fine to drop the current project (saved, discarded, or nothing to save)."""
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
        return answer == QMessageBox.StandardButton.Discard

    def new_project(self, then: Callable[[], None] | None = None, suggested: str = "") -> None:
        if not self.maybe_keep_changes():
            return
        path = dialogs.choose_save_path(self, "New project", PROJECT_FILTER, suggested)
        if not path:
            return

        def done(session: Session) -> None:
            self.set_session(session)
            if then is not None:
                then()

        self.run_job("Creating the project…", lambda: Session.create(path, overwrite=True), on_done=done)

    def open_project_dialog(self) -> None:
        if not self.maybe_keep_changes():
            return
        path = dialogs.choose_open_path(self, "Open project", PROJECT_FILTER)
        if path:
            self.open_project(path, ask=False)

    def open_project(self, path: Path | str, ask: bool = True) -> None:
        if ask and not self.maybe_keep_changes():
            return
        self.run_job(f"Opening {Path(path).name}…", _open_session, Path(path), on_done=lambda r: self.set_session(*r))

    def open_demo(self) -> None:
        from shrinkwise.workspace.demo import DEMO_NAME

        if not self.maybe_keep_changes():
            return
        folder = demo_dir()
        project = folder / f"{DEMO_NAME}.shrinkwise.json"
        if project.exists():
            self.open_project(project, ask=False)
        else:
            self.run_job(
                "Building the demo project (first use, a few seconds)…",
                _build_demo,
                folder,
                on_done=lambda r: self.set_session(*r),
            )

    def save(self) -> bool:
        if self.session is None:
            return False
        try:
            with _save_lock():
                self.session.save()
        except Exception as exc:  # noqa: BLE001
            self.show_error(exc)
            return False
        self.add_recent(self.session.path)
        self.set_dirty(False)
        self.busy_label.setText(f"Saved {self.session.path.name}")
        return True

    def save_as(self) -> bool:
        if self.session is None:
            return False
        path = dialogs.choose_save_path(self, "Save project as", PROJECT_FILTER, str(self.session.path))
        if not path:
            return False
        try:
            self.session.save(path)
        except Exception as exc:  # noqa: BLE001
            self.show_error(exc)
            return False
        self.add_recent(self.session.path)
        self.set_dirty(False)
        self._refresh(self.profile_view.profile)
        return True

    # --- recent projects -----------------------------------------------------------------------------------------

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

    # --- model and data ------------------------------------------------------------------------------------------

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
        from shrinkwise.compression.intake import detect_format, parse_input_shape

        architecture: str | None = None
        input_specs = None
        if path.suffix.lower() in (".pt", ".pth"):
            try:
                needs_arch = False
                fmt = detect_format(path)
            except ModelLoadError as exc:
                if "state dict" not in str(exc):
                    self.show_error(exc)
                    return
                needs_arch, fmt = True, "state_dict"
            needs_shape = fmt in ("torchscript", "state_dict")
            if needs_arch or needs_shape:
                answers = dialogs.ask_torch_details(self, path.name, needs_arch, needs_shape)
                if answers is None:
                    return
                architecture = answers.architecture
                try:
                    if needs_arch and not architecture:
                        raise ModelLoadError(
                            "a state dict needs its architecture", path, "give it as path/to/file.py:ClassName"
                        )
                    if needs_shape:
                        if not answers.input_shape:
                            raise ModelLoadError("needs its input shape", path, "give it as NAME:1,3,224,224")
                        input_specs = [
                            parse_input_shape(part.strip()) for part in answers.input_shape.split(";") if part.strip()
                        ]
                except ShrinkwiseError as exc:
                    self.show_error(exc)
                    return
        session = self.session
        to_confirm = session.architecture_to_confirm(architecture)
        if to_confirm is not None and not dialogs.confirm_architecture(self, *to_confirm):
            return
        trusted = to_confirm[1] if to_confirm is not None else False  # the sha256 the user was shown

        def done(_ref: Any) -> None:
            self.set_dirty(False)  # attach_model saved the project
            self._refresh()
            self.start_profile()
            self.steps.setCurrentRow(STEP_MODEL)

        self.run_job(
            f"Reading {path.name}…", session.attach_model, path, architecture, None, input_specs, trusted, on_done=done
        )

    def add_data_path(self, path: Path, role: str | None = None) -> None:
        if self.session is None:
            self.show_error(
                ShrinkwiseError(
                    "there is no project to add data to", fix="open or create a project first (File > New Project…)"
                )
            )
            return
        if role is None:
            role = dialogs.ask_data_role(self, path.name)
            if role is None:
                return

        def done(_ref: Any) -> None:
            self.set_dirty(False)  # add_data saved the project
            self._refresh(self.profile_view.profile)
            self.steps.setCurrentRow(STEP_DATA)

        self.run_job(f"Reading {path.name}…", self.session.add_data, path, role, on_done=done)

    def start_profile(self, force: bool = False) -> None:
        if self.session is None or self.session.project.model is None:
            return
        self.profile_view.show_waiting()

        def failed(_exc: BaseException, _tb: str) -> None:
            self.profile_view.show_waiting("Profiling failed. Use Model > Profile Again after fixing the problem.")

        self.run_job(
            "Profiling the model…", self.session.profile, force, on_done=lambda p: self._refresh(p), on_error=failed
        )

    def measure_baseline(self) -> None:
        if self.session is None:
            return
        self.run_job(
            "Measuring the original model…",
            self.session.measure_baseline,
            on_done=lambda _e: (self.set_dirty(False), self._refresh(self.profile_view.profile)),
        )

    # --- drag and drop -------------------------------------------------------------------------------------------

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

    # --- about and closing ---------------------------------------------------------------------------------------

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
        if self.maybe_keep_changes():
            self.settings.setValue(GEOMETRY_KEY, self.saveGeometry())
            self.settings.sync()
            event.accept()
        else:
            event.ignore()


def _save_lock() -> Any:
    """The lock workspace.runs takes while it saves from a run's thread: the UI's saves take it too."""
    from shrinkwise.workspace import runs

    return runs._SAVE_LOCK
