"""The main window: a step list on the left, one page per step, and the File menu that holds a project.

The window never does the work itself: every load, attach, data read and profile runs through `gui.workers` while
the window shows a busy state and stays responsive. Errors reach the user as a dialog (`gui.dialogs.show_error`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QHBoxLayout,
    QStackedWidget,
    QWidget,
)

from compression.errors import ModelLoadError, ShrinkwiseError
from compression.profile_types import ModelProfile
from gui import dialogs
from gui.panels import DataPanel, MeasurementsPanel, ProjectPanel
from gui.profile_view import ProfileView
from gui.workers import run_in_background
from workspace.session import Session

APP_TITLE = "Shrinkwise"
MODEL_SUFFIXES = (".onnx", ".pt", ".pt2", ".pth")
DATA_SUFFIXES = (".npz",)
PROJECT_FILTER = "Shrinkwise projects (*.shrinkwise.json);;All files (*)"
MODEL_FILTER = "Models (*.onnx *.pt *.pt2 *.pth);;All files (*)"
DATA_FILTER = "Data (*.npz);;All files (*)"
RECENT_KEY = "recent_projects"
MAX_RECENT = 8
STEPS = ("Project", "Model", "Data", "Baseline")
STEP_PROJECT, STEP_MODEL, STEP_DATA, STEP_BASELINE = range(4)


def _open_session(path: Path) -> tuple[Session, ModelProfile | None]:
    session = Session.open(path)
    return session, session.cached_profile()


def _build_demo(out_dir: Path) -> tuple[Session, ModelProfile | None]:
    from workspace.demo import build_demo

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
        self.setAcceptDrops(True)
        self.resize(1280, 800)

        self.steps = QListWidget()
        self.steps.addItems(list(STEPS))
        self.steps.setFixedWidth(150)
        self.steps.setAcceptDrops(False)
        self.steps.setStyleSheet("QListWidget { font-size: 11pt; } QListWidget::item { padding: 6px; }")
        self.pages = QStackedWidget()
        self.project_panel = ProjectPanel()
        self.profile_view = ProfileView()
        self.data_panel = DataPanel()
        self.measurements_panel = MeasurementsPanel()
        for page in (self.project_panel, self.profile_view, self.data_panel, self.measurements_panel):
            self.pages.addWidget(page)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(4, 4, 4, 0)
        row.addWidget(self.steps)
        row.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.steps.currentRowChanged.connect(self.pages.setCurrentIndex)

        self.busy_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # indeterminate
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(False)
        self.statusBar().addWidget(self.busy_label, 1)
        self.statusBar().addPermanentWidget(self.progress)

        self._make_actions()
        self.project_panel.edited.connect(self._on_project_edited)
        self.profile_view.open_model_requested.connect(self.open_model_dialog)
        self.profile_view.demo_requested.connect(self.open_demo)
        self.data_panel.add_requested.connect(self.add_data_dialog)
        self.measurements_panel.measure_requested.connect(self.measure_baseline)
        self._refresh()
        self.busy_label.setText("Ready")
        self.steps.setCurrentRow(STEP_MODEL)

    # --- menus ---------------------------------------------------------------------------------------------------

    def _action(self, text: str, slot: Callable[[], Any], shortcut: str | None = None, needs_project: bool = False) -> QAction:
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
        help_menu = self.menuBar().addMenu("&Help")
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
        for action in (self.new_action, self.open_action, self.save_action, self.save_as_action, self.open_model_action,
                       self.add_data_action, self.add_folder_action, self.profile_action, self.measure_action,
                       self.demo_action):
            needs = bool(action.property("needs_project"))
            action.setEnabled(not self.busy and (self.session is not None or not needs))
        self.recent_menu.setEnabled(not self.busy)
        has_model = self.session is not None and self.session.project.model is not None
        self.profile_action.setEnabled(self.profile_action.isEnabled() and has_model)
        self.measure_action.setEnabled(self.measure_action.isEnabled() and has_model)

    def set_dirty(self, dirty: bool) -> None:
        self.dirty = dirty
        self.setWindowModified(dirty)
        self._update_title()

    def _update_title(self) -> None:
        if self.session is None:
            self.setWindowTitle(APP_TITLE)
        else:
            self.setWindowTitle(f"{self.session.project.name}{'*' if self.dirty else ''} — {APP_TITLE}")

    def run_job(self, message: str, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
                on_error: Callable[[BaseException, str], None] | None = None) -> None:
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
        self.add_recent(session.path)
        self.set_dirty(False)
        self._refresh(profile)
        if session.project.model is not None and profile is None:
            self.start_profile()
        self.steps.setCurrentRow(STEP_MODEL if session.project.model is not None else STEP_PROJECT)

    def _refresh(self, profile: ModelProfile | None = None) -> None:
        s = self.session
        if s is None:
            self.profile_view.show_empty()
            self.data_panel.show_data([])
            self.measurements_panel.show_baseline(None, False)
            self.project_panel.setEnabled(False)
        else:
            self.project_panel.setEnabled(not self.busy)
            self.project_panel.show_project(s.project, s.path)
            if s.project.model is None:
                self.profile_view.show_empty()
            elif profile is not None:
                self.profile_view.show_profile(profile, s.project.model)
            elif self.profile_view.state != "profile" or self.profile_view.profile is None:
                self.profile_view.show_waiting()
            self.data_panel.show_data(s.project.data)
            self.measurements_panel.show_baseline(s.project.baseline, s.project.model is not None)
        self._update_title()
        self._update_actions()

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
        from workspace.demo import DEMO_NAME

        if not self.maybe_keep_changes():
            return
        folder = demo_dir()
        project = folder / f"{DEMO_NAME}.shrinkwise.json"
        if project.exists():
            self.open_project(project, ask=False)
        else:
            self.run_job("Building the demo project (first use, a few seconds)…", _build_demo, folder, on_done=lambda r: self.set_session(*r))

    def save(self) -> bool:
        if self.session is None:
            return False
        try:
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

    def add_data_dialog(self) -> None:
        path = dialogs.choose_open_path(self, "Add data", DATA_FILTER)
        if path:
            self.add_data_path(Path(path))

    def add_data_folder_dialog(self) -> None:
        path = dialogs.choose_folder(self, "Add an image folder (one sub-folder per class)")
        if path:
            self.add_data_path(Path(path))

    def attach_model_file(self, path: Path) -> None:
        if self.session is None:
            # A model needs a project to live in: offer one next to the model file.
            self.new_project(then=lambda: self.attach_model_file(path), suggested=str(path.with_suffix("")) + ".shrinkwise.json")
            return
        from compression.intake import detect_format, parse_input_shape

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
                        raise ModelLoadError("a state dict needs its architecture", path, "give it as path/to/file.py:ClassName")
                    if needs_shape:
                        if not answers.input_shape:
                            raise ModelLoadError("needs its input shape", path, "give it as NAME:1,3,224,224")
                        input_specs = [parse_input_shape(part.strip()) for part in answers.input_shape.split(";") if part.strip()]
                except ShrinkwiseError as exc:
                    self.show_error(exc)
                    return
        session = self.session

        def done(_ref: Any) -> None:
            self.set_dirty(False)  # attach_model saved the project
            self._refresh()
            self.start_profile()
            self.steps.setCurrentRow(STEP_MODEL)

        self.run_job(f"Reading {path.name}…", session.attach_model, path, architecture, None, input_specs, on_done=done)

    def add_data_path(self, path: Path, role: str | None = None) -> None:
        if self.session is None:
            self.show_error(ShrinkwiseError("there is no project to add data to", fix="open or create a project first (File > New Project…)"))
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

        self.run_job("Profiling the model…", self.session.profile, force, on_done=lambda p: self._refresh(p), on_error=failed)

    def measure_baseline(self) -> None:
        if self.session is None:
            return
        self.run_job("Measuring the original model…", self.session.measure_baseline,
                     on_done=lambda _e: (self.set_dirty(False), self._refresh(self.profile_view.profile)))

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
        path = paths[0]
        if path.suffix.lower() in MODEL_SUFFIXES:
            self.attach_model_file(path)
        elif path.is_dir() or path.suffix.lower() in DATA_SUFFIXES:
            self.add_data_path(path)
        else:
            self.show_error(ShrinkwiseError(
                "is not a model or data file Shrinkwise reads", path,
                "drop a model (.onnx, .pt, .pt2, .pth), a data file (.npz) or an image folder",
            ))

    # --- about and closing ---------------------------------------------------------------------------------------

    def about_text(self) -> str:
        from workspace.versions import library_versions

        from PySide6 import __version__ as pyside_version
        import pyqtgraph

        versions = dict(library_versions())
        versions["PySide6"] = pyside_version
        versions["pyqtgraph"] = pyqtgraph.__version__
        rows = "".join(f"<tr><td>{k}</td><td>&nbsp;{v}</td></tr>" for k, v in versions.items())
        return ("<h3>Shrinkwise</h3><p>A workbench that helps you make neural networks smaller and faster, "
                f"and shows what it cost.</p><table>{rows}</table>")

    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("About Shrinkwise")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(self.about_text())
        dialogs.exec_dialog(box)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.maybe_keep_changes():
            event.accept()
        else:
            event.ignore()
