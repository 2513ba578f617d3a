"""The run queue: recipes run one after another in worker processes, driven from a pool thread, reported by signal.

Why one at a time: candidates timed while another run uses the cores carry noisy latencies (see workspace.runs).
The UI thread only enqueues, cancels and listens: `workspace.runs.run_recipe` runs on a pool thread
(`gui.workers.run_in_background`), its `on_event` callback emits a Qt signal (queued onto the UI thread), and
`Run.cancel()` is called from the UI thread (it only signals the worker process).
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from shiboken6 import isValid

from shrinkwise.gui.workers import run_in_background

ACTIVE = ("queued", "starting", "running")


@dataclass
class RunItem:
    key: int
    label: str
    steps: list[dict[str, Any]]
    status: str = "queued"  # queued | starting | running | finished | failed | cancelled
    fraction: float = 0.0
    message: str = ""
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    ended: float | None = None
    experiment_id: str | None = None
    error: str | None = None
    details: str = ""
    run: Any = None  # compression.runner.Run once the worker process exists
    group: str | None = None  # sweep id shared by the runs of one sweep
    sweep_key: str | None = None  # the setting a sweep varies
    level: Any = None  # this run's value of it
    kind: str = "run"  # run | sensitivity (`options` then holds its tolerance and technique)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def elapsed(self, now: float | None = None) -> float:
        if self.started is None:
            return 0.0
        return (self.ended if self.ended is not None else (now or time.monotonic())) - self.started

    def remaining(self, now: float | None = None) -> float | None:
        """Seconds left, from the progress so far (None until there is enough progress to tell)."""
        if self.status != "running" or self.fraction < 0.05:
            return None
        e = self.elapsed(now)
        return max(0.0, e * (1.0 - self.fraction) / self.fraction)


class _Bridge(QObject):
    """Lives on the UI thread; its signals, emitted from the pool thread, are delivered on the UI thread."""

    event = Signal(int, object)
    started = Signal(int)


def run_recipe_job(
    session: Any,
    steps: list[dict[str, Any]],
    label: str,
    key: int,
    bridge: _Bridge,
    controller: RunController,
    group: str | None = None,
) -> Any:
    """On a pool thread: run one recipe through workspace.runs and return the experiment."""
    from shrinkwise.workspace import runs

    def on_start(run: Any) -> None:
        with controller.lock:
            cancelled = key in controller.cancelled
            controller.live[key] = run
        if cancelled:
            raise KeyboardInterrupt  # recorded by run_recipe as 'cancelled' before the worker process starts
        bridge.started.emit(key)

    return runs.run_recipe(
        session,
        steps,
        label=label,
        group=group,
        kind="sweep" if group else "run",
        on_event=lambda ev: bridge.event.emit(key, ev),
        on_start=on_start,
    )


def run_sensitivity_job(
    session: Any, options: dict[str, Any], key: int, bridge: _Bridge, controller: RunController
) -> Any:
    """On a pool thread: `workspace.runs.sensitivity` (its worker processes are cancelled like a recipe's)."""
    from shrinkwise.workspace import runs

    def on_start(run: Any) -> None:  # once per pass of the analysis
        with controller.lock:
            cancelled = key in controller.cancelled
            controller.live[key] = run
        if cancelled:
            raise KeyboardInterrupt
        bridge.started.emit(key)

    return runs.sensitivity(
        session,
        float(options["tolerance"]),
        technique=str(options["technique"]),
        on_event=lambda ev: bridge.event.emit(key, ev),
        on_start=on_start,
    )


class RunController(QObject):
    added = Signal(object)  # RunItem
    changed = Signal(object)  # RunItem (status, progress)
    event = Signal(object, object)  # RunItem, compression.events event
    finished = Signal(object)  # RunItem, when it ended in any way
    idle = Signal()  # the queue is empty and nothing runs

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session: Any = None
        self.items: list[RunItem] = []
        self.lock = threading.Lock()
        self.cancelled: set[int] = set()
        self.live: dict[int, Any] = {}
        self._keys = itertools.count(1)
        self._bridge = _Bridge()
        self._bridge.event.connect(self._on_event)
        self._bridge.started.connect(self._on_started)
        self.current: RunItem | None = None

    # --- queue -----------------------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return any(i.active for i in self.items)

    def enqueue(
        self,
        steps: list[dict[str, Any]],
        label: str | None = None,
        group: str | None = None,
        sweep_key: str | None = None,
        level: Any = None,
    ) -> RunItem:
        item = RunItem(
            key=next(self._keys),
            label=label or " + ".join(s["technique"] for s in steps),
            steps=list(steps),
            group=group,
            sweep_key=sweep_key,
            level=level,
        )
        self.items.append(item)
        self.added.emit(item)
        self._next()
        return item

    def enqueue_sensitivity(self, tolerance: float, technique: str = "int8_static") -> RunItem:
        """Queue a sensitivity analysis (`tolerance` as a fraction, 0.01 = one point) like any other run."""
        item = RunItem(
            key=next(self._keys),
            label=f"Sensitivity analysis ({technique}, {tolerance * 100:g} points)",
            steps=[{"technique": technique}],
            kind="sensitivity",
            options={"tolerance": tolerance, "technique": technique},
        )
        self.items.append(item)
        self.added.emit(item)
        self._next()
        return item

    def _next(self) -> None:
        if self.current is not None or self.session is None:
            return
        item = next((i for i in self.items if i.status == "queued"), None)
        if item is None:
            self.idle.emit()
            return
        self.current = item
        item.status = "starting"
        item.started = time.monotonic()
        item.message = "preparing the data and the original's measurements…"
        self.changed.emit(item)
        if item.kind == "sensitivity":
            run_in_background(
                run_sensitivity_job,
                self.session,
                item.options,
                item.key,
                self._bridge,
                self,
                on_done=lambda exp, it=item: self._done(it, exp),
                on_error=lambda exc, tb, it=item: self._failed(it, exc, tb),
            )
            return
        run_in_background(
            run_recipe_job,
            self.session,
            item.steps,
            item.label,
            item.key,
            self._bridge,
            self,
            item.group,
            on_done=lambda exp, it=item: self._done(it, exp),
            on_error=lambda exc, tb, it=item: self._failed(it, exc, tb),
        )

    def cancel(self, item: RunItem) -> None:
        if not item.active:
            return
        if item.status == "queued":
            item.status = "cancelled"
            item.message = "cancelled before it started"
            item.ended = time.monotonic()
            self.changed.emit(item)
            self.finished.emit(item)
            if self.current is None and not self.active:
                self.idle.emit()
            return
        with self.lock:
            self.cancelled.add(item.key)
            run = self.live.get(item.key)
        item.message = "cancelling…"
        self.changed.emit(item)
        if run is not None:
            run.cancel("cancelled by the user")
            if run.proc is None:  # between on_start and the process start: signal it once it exists
                QTimer.singleShot(200, lambda: self._cancel_again(item))

    def _cancel_again(self, item: RunItem) -> None:
        with self.lock:
            run = self.live.get(item.key)
        if run is not None and item.active:
            run.cancel("cancelled by the user")

    def cancel_all(self) -> None:
        for item in list(self.items):  # queued ones first, so nothing new starts when the current one ends
            if item.status == "queued":
                self.cancel(item)
        for item in list(self.items):
            if item.active:
                self.cancel(item)

    # --- reports from the pool thread (delivered on the UI thread) -------------------------------------------------

    def _item(self, key: int) -> RunItem | None:
        return next((i for i in self.items if i.key == key), None)

    def _on_started(self, key: int) -> None:
        item = self._item(key)
        if item is not None and item.status == "starting":
            item.status = "running"
            item.message = "started"
            self.changed.emit(item)

    def _on_event(self, key: int, ev: Any) -> None:
        item = self._item(key)
        if item is None:
            return
        kind = getattr(ev, "kind", "")
        if kind == "progress":
            item.fraction = float(ev.fraction)
            if ev.message:
                item.message = ev.message
            if item.status == "starting":
                item.status = "running"
            self.changed.emit(item)
        self.event.emit(item, ev)

    def _end(self, item: RunItem) -> None:
        item.ended = time.monotonic()
        with self.lock:
            self.live.pop(item.key, None)
            self.cancelled.discard(item.key)
        if not isValid(self):  # the window was closed while the run ended: nobody to tell
            return
        if self.current is item:
            self.current = None
        self.changed.emit(item)
        self.finished.emit(item)
        self._next()

    def _done(self, item: RunItem, exp: Any) -> None:
        item.experiment_id = exp.id
        item.status = exp.status
        if exp.status == "finished":
            item.fraction = 1.0
            item.message = "done"
        else:
            item.error = exp.error or exp.status
            item.details = exp.error_details or ""
            item.message = item.error if exp.status == "failed" else "cancelled"
        self._end(item)

    def _failed(self, item: RunItem, exc: BaseException, tb: str) -> None:
        if isinstance(exc, KeyboardInterrupt):
            item.status, item.message = "cancelled", "cancelled"
        else:
            item.status = "failed"
            item.error = str(exc) or exc.__class__.__name__
            item.details = tb
            item.message = item.error
        self._end(item)
