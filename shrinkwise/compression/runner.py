"""Start a worker process for a job, stream its events, cancel it promptly, and tell how it ended.

Why a separate process with its own session (process group): a crash, an out-of-memory kill or a SIGKILL of the
worker ends the run, never the caller; cancel signals the whole group, so helper processes (the memory probe)
go too; and Ctrl-C in a terminal reaches only the parent, which then cancels cleanly and records it.
No Qt here: the GUI drives `Run.wait()` from its own worker thread and calls `Run.cancel()` from the UI thread.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shrinkwise.compression.errors import ShrinkwiseError
from shrinkwise.compression.events import ErrorEvent, ResultEvent, StepEvent, parse_event
from shrinkwise.compression.jobs import Job
from shrinkwise.compression.results import RunResult, StepResult

KILL_AFTER_S = 1.5
# Every run stops after this long unless told otherwise: a converter that hangs (seen: fp16 on a large graph for
# more than 10 minutes) must not hold a worker forever. SHRINKWISE_TIME_LIMIT_S changes the default.
DEFAULT_TIME_LIMIT_S = 30 * 60.0
TIME_LIMIT_ENV = "SHRINKWISE_TIME_LIMIT_S"
# Every run's worker gets an address-space cap (Linux, RLIMIT_AS), so a run that balloons (a 2 MB file that
# inflates to 12 GiB, a huge declared batch) fails in one line instead of pushing the machine into swap or the OOM
# killer. Default: this computer's RAM. Address space counts reservations too (thread stacks, allocator arenas),
# so the cap is generous; CUDA reserves far more address space than it uses, so with an NVIDIA GPU present there
# is no default cap (an explicit one still applies). SHRINKWISE_MEMORY_LIMIT_GB changes the default.
MEMORY_LIMIT_ENV = "SHRINKWISE_MEMORY_LIMIT_GB"
GB = 1024**3
STDERR_TAIL_BYTES = 2048
OutcomeStatus = Literal["finished", "failed", "cancelled"]
EventCallback = Callable[[Any], None]


@dataclass
class RunOutcome:
    status: OutcomeStatus
    result: RunResult | None = None
    error: str | None = None
    error_details: str = ""
    stderr_tail: str = ""
    returncode: int | None = None
    wall_s: float = 0.0
    interrupted: bool = False  # Ctrl-C in the parent caused the cancel
    # Steps that finished (and were measured) before a failure or cancel, in order; empty when none did.
    partial_steps: list[StepResult] = field(default_factory=list)


class Run:
    """One worker process. `start()`, then `wait()` (blocking; streams events to `on_event`); `cancel()` from anywhere."""

    def __init__(
        self,
        job: Job,
        job_path: Path,
        on_event: EventCallback | None = None,
        time_limit_s: float | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.job = job
        self.job_path = Path(job_path)
        self.on_event = on_event
        self.time_limit_s = resolve_time_limit(time_limit_s)
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self._cancel_reason: str | None = None
        self._timed_out = False
        self._lock = threading.Lock()
        self._stderr: collections.deque[bytes] = collections.deque()
        self._stderr_size = 0
        self._unreadable: str | None = None  # the last stdout line that was not a valid event

    # --- control -----------------------------------------------------------------------------------------------

    def start(self) -> Run:
        self.job.memory_limit_bytes = resolve_memory_limit(self.job.memory_limit_bytes) or 0
        self.job.write(self.job_path)
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")])
        )
        kwargs: dict[str, Any] = {"start_new_session": True} if os.name == "posix" else {}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shrinkwise.compression.worker", str(self.job_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            **kwargs,
        )
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        if self.time_limit_s is not None:
            timer = threading.Timer(self.time_limit_s, self._time_limit_hit)
            timer.daemon = True
            timer.start()
        return self

    def cancel(self, reason: str = "cancelled") -> None:
        """Terminate the worker now and kill it if it is still alive after KILL_AFTER_S."""
        with self._lock:
            if self._cancel_reason is None:
                self._cancel_reason = reason
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        self._signal(signal.SIGTERM)

        def later() -> None:
            if proc.poll() is None:
                self._signal(signal.SIGKILL)

        t = threading.Timer(KILL_AFTER_S, later)
        t.daemon = True
        t.start()

    def _signal(self, sig: int) -> None:
        assert self.proc is not None
        try:
            if os.name == "posix":
                os.killpg(self.proc.pid, sig)
            else:  # pragma: no cover
                self.proc.kill() if sig == getattr(signal, "SIGKILL", None) else self.proc.terminate()
        except (ProcessLookupError, PermissionError):
            pass

    def _time_limit_hit(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self._timed_out = True
            self.cancel("time limit")

    # --- reading -----------------------------------------------------------------------------------------------

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for chunk in iter(lambda: self.proc.stderr.read1(4096), b""):  # type: ignore[union-attr]
            self._stderr.append(chunk)
            self._stderr_size += len(chunk)
            while self._stderr_size - len(self._stderr[0]) >= STDERR_TAIL_BYTES and len(self._stderr) > 1:
                self._stderr_size -= len(self._stderr.popleft())

    def stderr_tail(self) -> str:
        return b"".join(self._stderr)[-STDERR_TAIL_BYTES:].decode("utf-8", "replace")

    def wait(self) -> RunOutcome:
        """Stream events until the worker exits; Ctrl-C here cancels the worker and returns 'cancelled'."""
        if self.proc is None:
            self.start()
        assert self.proc is not None and self.proc.stdout is not None
        t0 = time.monotonic()
        final: ResultEvent | ErrorEvent | None = None
        interrupted = False
        finished_steps: list[StepResult] = []
        while True:
            try:
                line = self.proc.stdout.readline()
                if not line:
                    break
                try:
                    event = parse_event(line.decode("utf-8", "replace"))
                except ValueError as exc:  # should not happen: the worker guards stdout and writes typed events
                    self._unreadable = f"{str(exc).splitlines()[0]}: {line[:300].decode('utf-8', 'replace')}"
                    continue
                if isinstance(event, (ResultEvent, ErrorEvent)):
                    final = event
                elif isinstance(event, StepEvent):
                    finished_steps.append(event.payload)
                if self.on_event is not None:
                    self.on_event(event)
            except KeyboardInterrupt:
                interrupted = True
                self.cancel("interrupted")
        while True:
            try:
                returncode = self.proc.wait()
                break
            except KeyboardInterrupt:
                interrupted = True
                self.cancel("interrupted")
        time.sleep(0.05)  # let the stderr reader catch the last bytes
        outcome = self._outcome(final, returncode, time.monotonic() - t0)
        outcome.interrupted = interrupted
        if outcome.status != "finished":
            outcome.partial_steps = finished_steps
        return outcome

    def _outcome(self, final: ResultEvent | ErrorEvent | None, returncode: int, wall: float) -> RunOutcome:
        tail = self.stderr_tail()
        common = {"stderr_tail": tail, "returncode": returncode, "wall_s": round(wall, 3)}
        if isinstance(final, ResultEvent) and returncode == 0:
            return RunOutcome(status="finished", result=final.payload, **common)
        if self._timed_out:
            return RunOutcome(
                status="failed",
                error=f"stopped: the run went over its time limit of {_duration(self.time_limit_s or 0)} — give it "
                "more with --time-limit SECONDS (0 = no limit)",
                error_details=tail,
                **common,
            )
        if self._cancel_reason is not None:
            return RunOutcome(
                status="cancelled", error=f"cancelled ({self._cancel_reason})", error_details=tail, **common
            )
        limit = self.job.memory_limit_bytes
        if isinstance(final, ErrorEvent):
            details = final.details or tail
            if limit and _ran_out_of_memory(f"{final.message}\n{details}"):
                return RunOutcome(status="failed", error=memory_message(limit), error_details=details, **common)
            return RunOutcome(status="failed", error=final.message, error_details=details, **common)
        if limit and _ran_out_of_memory(tail):  # native code that aborts on a failed allocation (std::bad_alloc)
            return RunOutcome(status="failed", error=memory_message(limit), error_details=tail, **common)
        if self._unreadable is not None:  # a worker and a runner that disagree on the result's shape: a bug
            return RunOutcome(
                status="failed",
                error="the worker's report could not be read (a bug in Shrinkwise; the details hold the line)",
                error_details=self._unreadable,
                **common,
            )
        return RunOutcome(status="failed", error=_death_message(returncode), error_details=tail, **common)


# What a failed allocation looks like from Python (MemoryError, numpy's "Unable to allocate"), torch ("can't
# allocate memory"), ONNX Runtime and C++ (bad_alloc, "Failed to allocate"), and the OS (ENOMEM: no new thread,
# no room to map a shared library).
_OUT_OF_MEMORY = re.compile(
    r"MemoryError|bad_alloc|bad allocation|Unable to allocate|can't allocate memory|Cannot allocate memory|"
    r"Failed to allocate|failed to allocate|can't start new thread|failed to map segment|"
    r"std::length_error|out of memory",
)


def _ran_out_of_memory(text: str) -> bool:
    return bool(_OUT_OF_MEMORY.search(text or ""))


def memory_message(limit_bytes: int) -> str:
    return (
        f"the run needed more than {limit_bytes / GB:.3g} GB of memory (its limit) — raise it with --memory-limit GB "
        f"(0 = no limit; or {MEMORY_LIMIT_ENV}), or give it less data or a smaller input"
    )


def default_memory_limit() -> int | None:
    """This computer's RAM in bytes; None (no cap) where it is unknown or an NVIDIA GPU is present (see above)."""
    if not sys.platform.startswith("linux") or Path("/dev/nvidiactl").exists():
        return None
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def resolve_memory_limit(limit_bytes: int | None) -> int | None:
    """None: the default (SHRINKWISE_MEMORY_LIMIT_GB when set, else `default_memory_limit`); 0: no cap."""
    if limit_bytes is None:
        text = os.environ.get(MEMORY_LIMIT_ENV)
        if text:
            try:
                limit_bytes = int(float(text) * GB)
            except ValueError:
                limit_bytes = None
        if limit_bytes is None:
            limit_bytes = default_memory_limit()
    return limit_bytes if limit_bytes and limit_bytes > 0 else None


def memory_limit_from_gb(gb: float | None) -> int | None:
    """--memory-limit GB as the job's field: None = the default, 0 = no limit."""
    if gb is None:
        return None
    if gb < 0:
        raise ShrinkwiseError(f"--memory-limit {gb:g} is negative", fix="give GB, e.g. --memory-limit 8 (0 = no limit)")
    return int(gb * GB)


def resolve_time_limit(time_limit_s: float | None) -> float | None:
    """None: the default limit (DEFAULT_TIME_LIMIT_S, or SHRINKWISE_TIME_LIMIT_S when set); 0 or less: no limit."""
    if time_limit_s is None:
        try:
            time_limit_s = float(os.environ.get(TIME_LIMIT_ENV) or DEFAULT_TIME_LIMIT_S)
        except ValueError:
            time_limit_s = DEFAULT_TIME_LIMIT_S
    return time_limit_s if time_limit_s > 0 else None


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds:g} s ({seconds / 60:g} min)"
    return f"{seconds:g} s"


def _death_message(returncode: int) -> str:
    if returncode < 0:
        sig = -returncode
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        why = " (often: out of memory)" if sig == signal.SIGKILL else ""
        return f"the worker process was killed by {name}{why} before it finished"
    return f"the worker process exited with code {returncode} without a result (a crash in native code?)"


def run_job(
    job: Job, job_path: Path, on_event: EventCallback | None = None, time_limit_s: float | None = None
) -> RunOutcome:
    return Run(job, job_path, on_event, time_limit_s).start().wait()


def default_parallelism(n: int) -> int:
    return max(1, min(os.cpu_count() or 1, n))


def run_many(
    jobs: Sequence[tuple[Job, Path]],
    on_event: Callable[[int, Any], None] | None = None,
    max_parallel: int | None = None,
    time_limit_s: float | None = None,
) -> list[RunOutcome]:
    """Run jobs with at most min(cores, N) at once; outcomes in the jobs' order.

    Note: runs measured in parallel share CPU cores, so their latencies are noisier; sweeps measure one at a time.
    """
    width = max_parallel or default_parallelism(len(jobs))

    def one(i: int) -> RunOutcome:
        job, path = jobs[i]
        callback = (lambda ev: on_event(i, ev)) if on_event else None
        return run_job(job, path, callback, time_limit_s)

    with ThreadPoolExecutor(max_workers=width) as pool:
        return list(pool.map(one, range(len(jobs))))
