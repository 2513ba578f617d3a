"""Run a callable off the UI thread and hear back on it.

`run_in_background(fn, *args, on_done=..., on_error=...)` queues `fn` on the global `QThreadPool`; when it returns,
`on_done(result)` runs on the UI thread; when it raises, `on_error(exception, traceback_text)` does. Nothing in the
GUI calls the engine directly: loading, attaching, adding data and profiling all go through here.

`CALLS` records, per finished call, the function's name and the thread it ran on, so that tests can check that the
heavy work never ran on the UI thread.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


@dataclass(frozen=True)
class CallRecord:
    name: str
    thread: threading.Thread


CALLS: list[CallRecord] = []
_LIVE: set[Worker] = set()  # keep workers (and their signal objects) alive until they report


class WorkerSignals(QObject):
    finished = Signal(object)
    failed = Signal(object, str)


class Worker(QRunnable):
    """One call of `fn(*args, **kwargs)` on a pool thread; reports through `signals` (delivered on the UI thread)."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.signals = WorkerSignals()  # created on the UI thread, so its slots run there
        self.thread: threading.Thread | None = None

    def run(self) -> None:  # on a pool thread
        self.thread = threading.current_thread()
        CALLS.append(CallRecord(getattr(self.fn, "__qualname__", repr(self.fn)), self.thread))
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:  # noqa: BLE001 - every failure is reported, never swallowed
            self.signals.failed.emit(exc, traceback.format_exc())
        else:
            self.signals.finished.emit(result)


def run_in_background(
    fn: Callable[..., Any],
    *args: Any,
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException, str], None] | None = None,
    **kwargs: Any,
) -> Worker:
    worker = Worker(fn, *args, **kwargs)

    def done(result: Any) -> None:
        _LIVE.discard(worker)
        if on_done is not None:
            on_done(result)

    def failed(exc: BaseException, tb: str) -> None:
        _LIVE.discard(worker)
        if on_error is not None:
            on_error(exc, tb)

    worker.signals.finished.connect(done)
    worker.signals.failed.connect(failed)
    _LIVE.add(worker)
    QThreadPool.globalInstance().start(worker)
    return worker
