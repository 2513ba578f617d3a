"""Worker events as progress on stderr: a rich bar with time left on a terminal, sparse lines elsewhere.

stderr keeps stdout for the result (a line, a table or `--json`). When stderr is a log or CI, a line is written
only when the run crosses the next `step_pct` percent, or after `interval_s` if the message or fraction changed —
never one line per tick — and each line says how long is left once that can be estimated.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, Any

LOG_LEVELS_SHOWN = {
    "quiet": ("error",),
    "normal": ("warning", "error"),
    "verbose": ("debug", "info", "warning", "error"),
}


def time_left(elapsed_s: float, fraction: float) -> str | None:
    """'about 40 s left' from a linear extrapolation; None while too little has happened to say."""
    if fraction < 0.02 or fraction >= 1.0 or elapsed_s < 1.0:
        return None
    left = elapsed_s * (1.0 - fraction) / fraction
    if left < 60:
        return f"about {max(1, round(left))} s left"
    if left < 3600:
        return f"about {round(left / 60)} min left"
    return f"about {left / 3600:.1f} h left"


class Progress:
    """Callable on worker events (`Progress`, `LogLine`); `prefix` names the run within a sweep, e.g. '[2/4] '."""

    def __init__(
        self,
        stream: IO[str] | None = None,
        prefix: str = "",
        quiet: bool = False,
        verbose: bool = False,
        step_pct: int = 10,
        interval_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.prefix = prefix
        self.quiet, self.verbose = quiet, verbose
        self.step_pct, self.interval_s, self.clock = step_pct, interval_s, clock
        self._run_key: str | None = None
        self._started = 0.0
        self._last_line = 0.0
        self._last_bucket = -1
        self._last_state: tuple[float, str] | None = None
        self._last_fraction = 0.0
        self._bar: Any = None
        self._task: Any = None

    # --- events ------------------------------------------------------------------------------------------------

    def __call__(self, event: Any) -> None:
        kind = getattr(event, "kind", "")
        if kind == "progress":
            self.progress(float(event.fraction), str(event.message or ""))
        elif kind == "log":
            mode = "quiet" if self.quiet else "verbose" if self.verbose else "normal"
            if event.level in LOG_LEVELS_SHOWN[mode]:
                self.write(f"{self.prefix}{event.level}: {event.text}")

    def progress(self, fraction: float, message: str) -> None:
        if self.quiet:
            return
        now = self.clock()
        # A new run (or the first), or a second pass that starts again from 0: its own clock and buckets.
        if self._run_key != self.prefix or fraction < self._last_fraction - 0.2:
            self._run_key, self._started, self._last_bucket, self._last_state = self.prefix, now, -1, None
            if self._bar is not None:
                self._bar.reset(self._task, total=1.0, completed=0.0)
        self._last_fraction = fraction
        if self.tty:
            self._draw_bar(fraction, message)
        else:
            self._maybe_line(now, fraction, message)

    def write(self, text: str) -> None:
        """A line that must not be drawn over by the bar."""
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)

    def clear(self) -> None:
        """Remove the bar (before the result is printed, and on Ctrl-C)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._task = None

    # --- rendering ---------------------------------------------------------------------------------------------

    def _maybe_line(self, now: float, fraction: float, message: str) -> None:
        bucket = int(fraction * 100) // self.step_pct
        changed = self._last_state != (fraction, message)
        due = (
            self._last_bucket < 0
            or bucket > self._last_bucket
            or (changed and now - self._last_line >= self.interval_s)
        )
        if not due:
            return
        self._last_bucket, self._last_line, self._last_state = max(bucket, self._last_bucket), now, (fraction, message)
        left = time_left(now - self._started, fraction)
        print(
            f"{self.prefix}{fraction * 100:3.0f}% {message}" + (f" ({left})" if left else ""),
            file=self.stream,
            flush=True,
        )

    def _draw_bar(self, fraction: float, message: str) -> None:
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, TaskProgressColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[message]}"),
                console=Console(file=self.stream),
                transient=True,
            )
            self._task = self._bar.add_task(self.prefix.strip(), total=1.0, message="")
            self._bar.start()
        self._bar.update(self._task, completed=fraction, description=self.prefix.strip(), message=message[:70])
