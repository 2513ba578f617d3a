"""The runner: events streamed, cancel within 2 s, crashes and SIGKILL reported as failed with stderr, pool."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from shrinkwise.compression.jobs import JobStep
from shrinkwise.compression.runner import Run, run_many
from shrinkwise.compression.worker import TEST_SLEEP_ENV
from tests.compression.test_worker import demo_copy, make_job


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return demo_copy(tmp_path_factory, tmp_path)


def slow_env() -> dict[str, str]:
    return dict(os.environ, **{TEST_SLEEP_ENV: "30"})


def test_run_streams_events_and_finishes(project: Path, tmp_path: Path) -> None:
    events = []
    outcome = (
        Run(
            make_job(project, tmp_path / "r", [JobStep(technique="fp16")]),
            tmp_path / "r" / "job.json",
            on_event=events.append,
        )
        .start()
        .wait()
    )
    assert outcome.status == "finished", outcome.error
    assert outcome.result is not None and len(outcome.result.steps) == 1
    assert events[-1].kind == "result" and any(e.kind == "progress" for e in events)


def _started(run: Run, events: list) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + 30
    while not any(getattr(e, "message", "") == "test hook: waiting" for e in events):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_cancel_stops_within_two_seconds(project: Path, tmp_path: Path) -> None:
    events: list = []
    run = Run(
        make_job(project, tmp_path / "r", [JobStep(technique="fp16")]),
        tmp_path / "r" / "job.json",
        on_event=events.append,
        env=slow_env(),
    )
    run.start()
    timing: dict[str, float] = {}

    def cancel_later() -> None:
        _started(run, events)
        timing["cancel"] = time.monotonic()
        run.cancel()

    threading.Thread(target=cancel_later, daemon=True).start()
    outcome = run.wait()
    assert outcome.status == "cancelled"
    assert time.monotonic() - timing["cancel"] < 2.0


def test_sigkill_is_failed_with_message(project: Path, tmp_path: Path) -> None:
    events: list = []
    run = Run(
        make_job(project, tmp_path / "r", [JobStep(technique="fp16")]),
        tmp_path / "r" / "job.json",
        on_event=events.append,
        env=slow_env(),
    )
    run.start()

    def kill() -> None:
        _started(run, events)
        os.kill(run.proc.pid, signal.SIGKILL)  # type: ignore[union-attr]

    threading.Thread(target=kill, daemon=True).start()
    outcome = run.wait()
    assert outcome.status == "failed"
    assert "SIGKILL" in (outcome.error or "")


def test_time_limit_fails_the_run(project: Path, tmp_path: Path) -> None:
    run = Run(
        make_job(project, tmp_path / "r", [JobStep(technique="fp16")]),
        tmp_path / "r" / "job.json",
        time_limit_s=1.0,
        env=slow_env(),
    )
    t0 = time.monotonic()
    outcome = run.start().wait()
    assert outcome.status == "failed" and "time limit of 1 s" in (outcome.error or "")
    assert "--time-limit SECONDS" in (outcome.error or "")  # says how to give it more
    assert time.monotonic() - t0 < 5


def test_crash_reports_stderr_tail(project: Path, tmp_path: Path) -> None:
    job = make_job(project, tmp_path / "r", [JobStep(technique="fp16")])
    job = job.model_copy(update={"original_onnx": str(tmp_path / "missing.onnx")})
    outcome = Run(job, tmp_path / "r" / "job.json").start().wait()
    assert outcome.status == "failed"
    assert outcome.error and "\n" not in outcome.error
    assert len(outcome.stderr_tail) <= 2048


def test_interrupt_in_callback_cancels(project: Path, tmp_path: Path) -> None:
    def on_event(ev) -> None:  # type: ignore[no-untyped-def]
        if getattr(ev, "message", "") == "test hook: waiting":
            raise KeyboardInterrupt  # what Ctrl-C looks like in the reading thread

    outcome = (
        Run(
            make_job(project, tmp_path / "r", [JobStep(technique="fp16")]),
            tmp_path / "r" / "job.json",
            on_event=on_event,
            env=slow_env(),
        )
        .start()
        .wait()
    )
    assert outcome.status == "cancelled" and outcome.interrupted


def test_run_many_keeps_order(project: Path, tmp_path: Path) -> None:
    jobs = [
        (make_job(project, tmp_path / f"r{i}", [JobStep(technique=t)]), tmp_path / f"r{i}" / "job.json")
        for i, t in enumerate(["fp16", "int8_dynamic"])
    ]
    outcomes = run_many(jobs, max_parallel=2)
    assert [o.status for o in outcomes] == ["finished", "finished"]
    assert [o.result.steps[0].technique for o in outcomes] == ["fp16", "int8_dynamic"]  # type: ignore[union-attr]
