"""The window's controller: it owns the `workspace.Session` and carries out every use case the window triggers.

The window (`gui.main_window`) lays out pages, asks the user (file dialogs, confirmations) and navigates; this class
does the work, only through `Session` and workspace helpers, off the UI thread (`gui.workers`) where it is heavy,
and reports through Qt signals the window listens to. Where each use case lives:

- projects: `open_project`, `new_project`, `open_demo`, `save`, `save_as`, `discard` (reload from disk), `set_identity`
- the model: `model_questions` (what a PyTorch file does not say), `architecture_to_confirm`, `attach_model`,
  `profile_model`, `measure_baseline`
- data: `add_data`, `set_output_task` (what an output is)
- the goal: `set_goal` (target page), `answer` (advisor questions), `set_plan` (plan edits), `targets`
- advice: `refresh_advice` (warms the rules once off the UI thread, then recomputes at once)
- runs: `start_runs`, `start_sweep` (the queue itself is `gui.run_controller.RunController`, `self.runs`)
- autopilot: `start_autopilot`, `cancel_autopilot` (the climb itself is `workspace.autopilot`)
- compare: `results`, `load_disagreements`, `misses_budget`, `choose_candidate`
- export: `export_model`, `write_report`, `make_bundle`, `import_device_results`

The user's edits (name, notes, target, budget, plan, answers) reach the file only on `save`: the session is a
`gui.draft_session.DraftSession`, whose background saves leave them out, so `discard` really discards.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from shiboken6 import isValid

from shrinkwise.compression.errors import ModelLoadError, ShrinkwiseError
from shrinkwise.compression.profile_types import ModelProfile
from shrinkwise.gui import advising
from shrinkwise.gui.draft_session import DraftSession
from shrinkwise.gui.run_controller import RunController, RunItem
from shrinkwise.gui.workers import run_in_background
from shrinkwise.workspace.project import PlanEdits
from shrinkwise.workspace.result_row import ResultRow

Done = Callable[[Any], None] | None


def _open_session(path: Path) -> tuple[DraftSession, ModelProfile | None]:
    session = DraftSession.open(path)
    return session, session.cached_profile()


def _build_demo(out_dir: Path, speech: bool = False) -> tuple[DraftSession, ModelProfile | None]:
    from shrinkwise.workspace.demo import build_demo
    from shrinkwise.workspace.speech_demo import build_speech_demo

    built = (build_speech_demo if speech else build_demo)(out_dir)
    session = DraftSession.open(built.path)
    return session, session.cached_profile()


def _create_session(path: Path) -> DraftSession:
    return DraftSession.create(path, overwrite=True)


def save_lock() -> Any:
    """The lock workspace.runs takes while it saves from a run's thread: the UI's saves take it too."""
    from shrinkwise.workspace import runs

    return runs._SAVE_LOCK


class Controller(QObject):
    busy_changed = Signal(str)  # the busy message, '' when the last job ended
    status = Signal(str)  # a line for the status bar
    error = Signal(object, str)  # the exception and its traceback ('' when there is none)
    session_changed = Signal()  # another project is open (or the same one reloaded)
    project_changed = Signal()  # the open project's contents changed (model, data, baseline, results, chosen)
    goal_changed = Signal()  # target or budget changed outside the Target page (an answer)
    profile_changed = Signal(object)  # the profile (ModelProfile), or None while it is being made
    profile_failed = Signal()
    dirty_changed = Signal(bool)
    advice_changed = Signal(object)  # Advice
    advice_message = Signal(str)  # why there is no advice right now
    output_written = Signal(str, str)  # what, where (Export's "written so far")
    disagreements_loaded = Signal(str, object)  # experiment id, its ChangedAnswers
    runs_queued = Signal(list)  # [RunItem]
    autopilot_event = Signal(object)  # workspace.autopilot.AutopilotEvent, on the UI thread
    autopilot_finished = Signal(object)  # the Journal as it ended (also after a failure or Stop)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session: DraftSession | None = None
        self.model_profile: ModelProfile | None = None
        self.advice: Any = None
        self.dirty = False
        self.runs = RunController(self)
        self._jobs = 0
        self._opening = 0  # projects being opened or built right now
        self._advice_loading = False
        self._pending_goal: tuple[str | None, dict[str, Any]] | None = None
        self.autopilot: Any = None  # the climb in progress (gui.autopilot_panel.AutopilotJob)

    # --- jobs ------------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._jobs > 0

    def run_job(
        self,
        message: str,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Done = None,
        on_error: Callable[[BaseException, str], None] | None = None,
    ) -> None:
        """Run `fn(*args)` off the UI thread with the busy state shown; errors reach `error`."""
        self._jobs += 1
        self.busy_changed.emit(message)

        def ended() -> bool:
            """False when the window was closed while the job ran: its report goes nowhere."""
            if not isValid(self):
                return False
            self._jobs -= 1
            self.busy_changed.emit("" if self._jobs == 0 else message)
            return True

        def done(result: Any) -> None:
            if not ended():
                return
            if on_done is not None:
                try:
                    on_done(result)
                except Exception as exc:  # noqa: BLE001 - a bug in a view must still be shown
                    self.error.emit(exc, traceback.format_exc())

        def failed(exc: BaseException, tb: str) -> None:
            if not ended():
                return
            if on_error is not None:
                on_error(exc, tb)
            self.error.emit(exc, tb)

        run_in_background(fn, *args, on_done=done, on_error=failed)

    def set_dirty(self, dirty: bool) -> None:
        self.dirty = dirty
        self.dirty_changed.emit(dirty)

    def _fail(self, exc: BaseException) -> None:
        self.error.emit(exc, "" if isinstance(exc, ShrinkwiseError) else traceback.format_exc())

    # --- projects --------------------------------------------------------------------------------------------

    def set_session(self, session: DraftSession, profile: ModelProfile | None = None) -> None:
        self.session = session
        self.runs.session = session
        if not self.runs.active:
            self.runs.items.clear()
        self.model_profile = profile
        self.advice = None
        self.dirty = False
        goal, self._pending_goal = self._pending_goal, None
        self.session_changed.emit()
        if goal is not None:  # typed on the Target page while this project was being opened or built
            self.set_goal(*goal)
            self.goal_changed.emit()
        self.dirty_changed.emit(self.dirty)
        if session.project.model is not None and profile is None:
            self.profile_model()

    def _opened(self, then: Done) -> Callable[[Any], None]:
        def done(result: Any) -> None:
            self._opening -= 1
            if isinstance(result, tuple):  # (session, its cached profile)
                self.set_session(*result)
            else:
                self.set_session(result)
            if then is not None:
                then(self.session)

        return done

    def _open_failed(self, _exc: BaseException, _tb: str) -> None:
        self._opening -= 1
        self._pending_goal = None

    def open_project(self, path: Path | str, then: Done = None) -> None:
        self._opening += 1
        self.run_job(
            f"Opening {Path(path).name}…",
            _open_session,
            Path(path),
            on_done=self._opened(then),
            on_error=self._open_failed,
        )

    def new_project(self, path: Path | str, then: Done = None) -> None:
        self._opening += 1
        self.run_job(
            "Creating the project…", _create_session, Path(path), on_done=self._opened(then), on_error=self._open_failed
        )

    def open_demo(self, folder: Path, then: Done = None, speech: bool = False) -> None:
        """The demo project (digits, or the speech demo) in `folder`, built there on first use (a few seconds)."""
        from shrinkwise.workspace.demo import DEMO_NAME
        from shrinkwise.workspace.speech_demo import SPEECH_DEMO_NAME

        project = folder / f"{SPEECH_DEMO_NAME if speech else DEMO_NAME}.shrinkwise.json"
        if project.exists():
            self.open_project(project, then)
            return
        self._opening += 1
        self.run_job(
            f"Building the {'speech ' if speech else ''}demo project (first use, a few seconds)…",
            _build_demo,
            folder,
            speech,
            on_done=self._opened(then),
            on_error=self._open_failed,
        )

    def save(self) -> bool:
        if self.session is None:
            return False
        try:
            with save_lock():
                self.session.save_edits()
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return False
        self.set_dirty(False)
        self.status.emit(f"Saved {self.session.path.name}")
        return True

    def save_as(self, path: Path | str) -> bool:
        if self.session is None:
            return False
        try:
            with save_lock():
                self.session.save_edits(path)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return False
        self.set_dirty(False)
        self.project_changed.emit()
        return True

    def discard(self) -> bool:
        """Drop the unsaved edits: the project is read again from its file (nothing is saved)."""
        if self.session is None:
            return True
        try:
            session = DraftSession.open(self.session.path)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return False
        profile = self.model_profile
        self.set_session(session, profile if session.project.model == self.session.project.model else None)
        self.status.emit(f"Changes discarded: {session.path.name} as saved")
        return True

    def set_identity(self, name: str, notes: str) -> None:
        if self.session is None:
            return
        if name.strip():
            self.session.project.name = name.strip()
        self.session.project.notes = notes
        self.set_dirty(True)

    # --- model and data ----------------------------------------------------------------------------------------

    @staticmethod
    def model_questions(path: Path) -> tuple[bool, bool]:
        """What a PyTorch file does not say: (needs its architecture, needs its input shape); ONNX says all."""
        from shrinkwise.compression.intake import detect_format

        if path.suffix.lower() not in (".pt", ".pth"):
            return False, False
        try:
            fmt = detect_format(path)
        except ModelLoadError as exc:
            if "state dict" not in str(exc):
                raise
            return True, True
        return False, fmt in ("torchscript", "state_dict")

    @staticmethod
    def input_specs(path: Path, text: str | None, architecture: str | None, needs_arch: bool, needs_shape: bool) -> Any:
        """The user's answers as input specs (None when not needed); one-line errors name the file."""
        from shrinkwise.compression.intake import parse_input_shape

        if needs_arch and not architecture:
            raise ModelLoadError("a state dict needs its architecture", path, "give it as path/to/file.py:ClassName")
        if not needs_shape:
            return None
        if not text:
            raise ModelLoadError("needs its input shape", path, "give it as NAME:1,3,224,224")
        return [parse_input_shape(part.strip()) for part in text.split(";") if part.strip()]

    def architecture_to_confirm(self, architecture: str | None) -> tuple[Path, str] | None:
        """The architecture file (and its sha256) attaching would run that the user has not confirmed yet."""
        return self.session.architecture_to_confirm(architecture) if self.session is not None else None

    def attach_model(
        self,
        path: Path,
        architecture: str | None = None,
        input_specs: Any = None,
        trusted: bool | str = False,
        then: Done = None,
    ) -> None:
        """Read the model into the project; `trusted` is the architecture's sha256 the user confirmed, if any."""
        session = self.session
        if session is None:
            return

        def done(result: Any) -> None:
            self.model_profile = None
            self.project_changed.emit()
            self.profile_model()
            if then is not None:
                then(result)

        self.run_job(
            f"Reading {path.name}…", session.attach_model, path, architecture, None, input_specs, trusted, on_done=done
        )

    def add_data(self, path: Path, role: str, then: Done = None) -> None:
        if self.session is None:
            self._fail(
                ShrinkwiseError(
                    "there is no project to add data to", fix="open or create a project first (File > New Project…)"
                )
            )
            return

        def done(result: Any) -> None:
            self.project_changed.emit()
            if then is not None:
                then(result)

        self.run_job(f"Reading {path.name}…", self.session.add_data, path, role, on_done=done)

    def profile_model(self, force: bool = False) -> None:
        """Profile the model (cached in the project folder unless `force`)."""
        session = self.session
        if session is None or session.project.model is None:
            return
        self.profile_changed.emit(None)

        def done(profile: ModelProfile) -> None:
            self.model_profile = profile
            self.profile_changed.emit(profile)

        self.run_job(
            "Profiling the model…", session.profile, force, on_done=done, on_error=lambda *_: self.profile_failed.emit()
        )

    def measure_baseline(self) -> None:
        if self.session is None:
            return
        self.run_job(
            "Measuring the original model…",
            self.session.measure_baseline,
            on_done=lambda _e: self.project_changed.emit(),
        )

    def set_output_task(self, output: str, task: str) -> None:
        """The Data page's task combo: declare what an output is ("" = inferred); the baseline is measured again."""
        from shrinkwise.compression.io_spec import OutputSpec

        if self.session is None:
            return
        try:
            self.session.declare_io(outputs={output: OutputSpec(task=task or None)})  # type: ignore[arg-type]
        except ShrinkwiseError as exc:
            self._fail(exc)
            return
        self.set_dirty(True)
        self.project_changed.emit()

    # --- the goal ----------------------------------------------------------------------------------------------

    @staticmethod
    def targets() -> dict[str, Any]:
        return advising.targets()

    def set_goal(self, target: str | None, budget: dict[str, Any]) -> None:
        """The Target page's device and budget. Typed while a project is being opened (the first demo build takes
        seconds), they are kept and applied to it when it arrives. `smaller` (a factor, "5× smaller") becomes the
        budget's `size_mb` from the original's file (`Session.relative_budget`, as `shrinkwise budget --smaller`)."""
        if self.session is None:
            if self._opening:
                self._pending_goal = (target, dict(budget))
            return
        budget = dict(budget)
        smaller = budget.pop("smaller", None)
        try:
            self.session.set_target(target)
            if smaller is not None:
                budget.update(self.session.relative_budget(smaller=smaller))
            self.session.set_budget(**budget)
        except ShrinkwiseError as exc:
            self._fail(exc)
            return
        self.set_dirty(True)
        if smaller is not None:
            self.goal_changed.emit()  # the page shows the size in MB the factor stands for
        self.refresh_advice()

    def answer(self, fact: str, value: Any) -> None:
        """An answer to one of the advisor's questions: stored in the project, the advice updated at once."""
        if self.session is None:
            return
        try:
            self.session.answer(fact, value)
        except ShrinkwiseError as exc:
            self._fail(exc)
            return
        self.set_dirty(True)
        self.status.emit(f"Answered: {fact} = {value}")
        if fact.startswith(("budget.", "target.")):
            self.goal_changed.emit()
        self.refresh_advice()

    def set_plan(self, state: dict[str, Any]) -> None:
        if self.session is None:
            return
        self.session.set_plan(PlanEdits.model_validate(state))
        self.set_dirty(True)

    # --- advice ------------------------------------------------------------------------------------------------

    def refresh_advice(self) -> None:
        """Recompute the advice now (the rules are loaded once, off the UI thread; then advice takes milliseconds)."""
        if self.session is None:
            return
        if self.session.project.model is None:
            self.advice_message.emit("Load a model first (Model page): the advice starts from what the model is.")
            return
        if not advising.rules_ready():
            if not self._advice_loading:
                self._advice_loading = True
                self.advice_message.emit("Reading the advisor's rules…")

                def loaded(_n: Any) -> None:
                    self._advice_loading = False
                    self.refresh_advice()

                def failed(_e: BaseException, _tb: str) -> None:
                    self._advice_loading = False
                    self.advice_message.emit("The advisor could not load its rules; see the error message.")

                self.run_job("Reading the advisor's rules…", advising.warm_up, on_done=loaded, on_error=failed)
            return
        try:
            self.advice = self.session.advise(self.model_profile)
        except Exception as exc:  # noqa: BLE001 - say why there is no advice instead of showing stale advice
            self.advice = None
            self.advice_message.emit(f"The advisor could not read this project: {exc}")
            self.status.emit("The advisor could not read this project")
            self.error.emit(exc, traceback.format_exc())
            return
        self.advice_changed.emit(self.advice)

    # --- runs --------------------------------------------------------------------------------------------------

    def start_runs(self, requests: list[dict[str, Any]]) -> list[RunItem]:
        if self.session is None or self.session.project.model is None:
            self._fail(ShrinkwiseError("there is no model to compress", fix="open a project with a model first"))
            return []
        items = [self.runs.enqueue(r["steps"], r.get("label")) for r in requests]
        self.runs_queued.emit(items)
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
        self.runs_queued.emit(items)
        return items

    # --- autopilot ---------------------------------------------------------------------------------------------

    def start_autopilot(self, time_budget_s: float) -> bool:
        """Climb the ladder off the UI thread (workspace.autopilot); one at a time, and not beside queued runs,
        whose timings would disturb each other's."""
        from shrinkwise.gui.autopilot_panel import AutopilotJob

        if self.session is None or self.session.project.model is None:
            self._fail(ShrinkwiseError("there is no model to compress", fix="open a project with a model first"))
            return False
        if self.autopilot is not None:
            return False
        if self.runs.active:
            self._fail(
                ShrinkwiseError(
                    "runs are still queued", fix="wait for them (Run page) or cancel them, then start again"
                )
            )
            return False
        job = AutopilotJob(self.session, time_budget_s, self)
        job.event.connect(self.autopilot_event)
        job.finished.connect(self._autopilot_ended)

        def failed(exc: BaseException, tb: str) -> None:
            self._autopilot_ended(None)
            if not isinstance(exc, KeyboardInterrupt):  # Stop is not an error
                self.error.emit(exc, tb)

        job.failed.connect(failed)
        self.autopilot = job
        job.start()
        self.status.emit("The autopilot is climbing the ladder…")
        return True

    def cancel_autopilot(self) -> None:
        if self.autopilot is not None:
            self.autopilot.cancel()

    def _autopilot_ended(self, journal: Any) -> None:
        from shrinkwise.workspace.autopilot import latest_journal

        self.autopilot = None
        if self.session is not None:
            journal = journal or latest_journal(self.session)
        self.status.emit(f"The autopilot {journal.status_text}." if journal is not None else "The autopilot stopped.")
        self.autopilot_finished.emit(journal)
        self.project_changed.emit()
        self.refresh_advice()

    # --- compare -----------------------------------------------------------------------------------------------

    def results(self) -> list[ResultRow] | None:
        if self.session is None:
            return None
        try:
            return self.session.results()
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return None

    def load_disagreements(self, exp_id: str, limit: int) -> None:
        """The first `limit` inputs on which `exp_id` answers differently (`Session.disagreements`, off the UI thread)."""
        if self.session is None:
            return
        self.run_job(
            "Loading the inputs that changed answer…",
            self.session.disagreements,
            exp_id,
            limit,
            on_done=lambda changed: self.disagreements_loaded.emit(exp_id, changed),
        )

    def misses_budget(self, exp_id: str) -> list[str]:
        return list(self.advice.decision.misses_budget(exp_id)) if self.advice is not None else []

    def choose_candidate(self, exp_id: str) -> bool:
        if self.session is None:
            return False
        from shrinkwise.workspace.export import choose

        try:
            with save_lock():
                exp = choose(self.session, exp_id)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return False
        self.status.emit(f"Chosen to ship: {exp.label or exp.id}")
        self.project_changed.emit()
        if advising.rules_ready():
            self.refresh_advice()
        return True

    # --- export ------------------------------------------------------------------------------------------------

    def export_model(self, folder: Path, then: Done = None) -> None:
        if self.session is None:
            return
        from shrinkwise.workspace.export import export_candidate

        def done(r: Any) -> None:
            self.output_written.emit("Model", str(r.model_path))
            self.output_written.emit("Model card", str(r.card_path))
            if then is not None:
                then(r)

        self.run_job("Exporting the model…", export_candidate, self.session, None, Path(folder), on_done=done)

    def suggested_report_path(self, fmt: str) -> Path | None:
        if self.session is None:
            return None
        return self.session.folder / f"{self.session.path.name.split('.')[0]}-report.{fmt}"

    def write_report(self, fmt: str, path: Path, then: Done = None) -> None:
        if self.session is None:
            return
        from shrinkwise.workspace.report import write_report

        def done(out: Any) -> None:
            self.output_written.emit(f"{fmt.upper()} report", str(out))
            if then is not None:
                then(out)

        advice = self.advice  # the advice on screen, so the report states the same decision
        self.run_job(
            f"Writing the {fmt.upper()} report…", write_report, self.session, fmt, Path(path), advice, on_done=done
        )

    def make_bundle(self, folder: Path) -> None:
        if self.session is None:
            return
        from shrinkwise.workspace.bundle import make_bundle

        out = Path(folder) / f"{self.session.path.name.split('.')[0]}-bundle"
        self.run_job(
            "Writing the benchmark bundle…",
            make_bundle,
            self.session,
            None,
            out,
            on_done=lambda r: self.output_written.emit("Benchmark bundle", str(r)),
        )

    def import_device_results(self, path: Path) -> None:
        session = self.session
        if session is None:
            return
        from shrinkwise.workspace.bundle import import_results

        def locked_import(p: Path) -> Any:
            with save_lock():
                return import_results(session, p)

        def done(result: Any) -> None:
            exp, measurements = result
            self.output_written.emit(
                f"Device results for {exp.label or exp.id}", f"{len(measurements)} measurement(s) from {path}"
            )
            self.project_changed.emit()

        self.run_job("Importing the device's results…", locked_import, Path(path), on_done=done)
