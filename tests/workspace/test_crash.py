"""SIGKILL at random moments (a process saving, the worker, the CLI during `shrinkwise run`): nothing is lost.

After every kill the project loads, its `.bak` is valid JSON, reopening leaves no temp file, and a run whose
process died is marked `interrupted` (never `running` forever) with its unfinished files removed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shrinkwise.workspace.project import Experiment, load_project
from shrinkwise.workspace.session import Session

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _assert_sound(path: Path) -> Session:
    project = load_project(path)  # loads after every kill
    bak = path.with_name(path.name + ".bak")
    if bak.exists():
        json.loads(bak.read_text())  # the .bak is always complete JSON
    session = Session.open(path)
    temps = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert temps == [], temps
    assert all(e.status != "running" for e in session.project.experiments), project.experiments
    return session


def _save_forever(path: str, ready: multiprocessing.synchronize.Event) -> None:  # runs in a forked child
    s = Session.open(path)
    ready.set()
    i = 0
    while True:
        i += 1
        s.project.experiments.append(
            Experiment(id=f"save-{os.getpid()}-{i}", status="finished", extra={"pad": "x" * 4000})
        )
        s.project.notes = f"save {i}"
        s.save()


def test_killing_a_process_mid_save_never_breaks_the_project(tmp_path: Path) -> None:
    path = tmp_path / "p.shrinkwise.json"
    Session.create(path)
    ctx = multiprocessing.get_context("fork")  # fast: 20 kills cost seconds, not 20 interpreter start-ups
    rng = random.Random(13)
    saved_before = 0
    for _ in range(20):
        ready = ctx.Event()
        proc = ctx.Process(target=_save_forever, args=(str(path), ready))
        proc.start()
        assert ready.wait(30)
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        session = _assert_sound(path)
        assert len(session.project.experiments) >= saved_before  # a kill never loses what an earlier save wrote
        saved_before = len(session.project.experiments)
    assert saved_before > 20


def _kill_workers_of(folder: Path) -> None:
    """The worker runs in its own session, so killing the CLI leaves it orphaned: end those of this test only."""
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            cmd = (pid_dir / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "shrinkwise.compression.worker" in cmd and str(folder) in cmd:
            try:
                os.kill(int(pid_dir.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def _worker_pids(folder: Path) -> list[int]:
    out = []
    for pid_dir in Path("/proc").iterdir():
        if pid_dir.name.isdigit():
            try:
                cmd = (pid_dir / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "shrinkwise.compression.worker" in cmd and str(folder) in cmd:
                out.append(int(pid_dir.name))
    return out


def test_killing_the_cli_during_a_run_leaves_it_interrupted(demo_project: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rng = random.Random(7)
    folder = demo_project.parent
    for attempt in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-m", "shrinkwise.workspace.cli", "run", str(demo_project), "fp16"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not _worker_pids(folder) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # kill while the run is really under way: its worker has started
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _kill_workers_of(folder)
        session = _assert_sound(demo_project)
        runs = [e for e in session.project.experiments if e.kind == "run"]
        assert runs, "the run was recorded before its worker started"
        interrupted = [e for e in runs if e.status == "interrupted"]
        for e in interrupted:
            assert "interrupted" in (e.error or "") and not (session.artifacts / "runs" / e.id).exists()
        assert len(runs) == attempt + 1
    assert sum(e.status == "interrupted" for e in session.project.experiments) >= 3  # kills did land mid-run


def test_killing_the_worker_records_a_failed_run(demo_project: Path) -> None:
    from shrinkwise.workspace.runs import run_recipe

    session = Session.open(demo_project)
    rng = random.Random(3)
    for _ in range(5):
        delay = rng.uniform(0.2, 1.0)

        def kill_soon(run, delay=delay) -> None:  # type: ignore[no-untyped-def]
            def later() -> None:
                time.sleep(delay)
                if run.proc is not None and run.proc.poll() is None:
                    os.killpg(run.proc.pid, signal.SIGKILL)

            import threading

            threading.Thread(target=later, daemon=True).start()

        exp = run_recipe(session, ["fp16"], on_start=kill_soon)
        assert exp.status in ("failed", "finished")  # finished only if the worker beat the kill
        _assert_sound(demo_project)
    reloaded = load_project(demo_project)
    assert sum(e.kind == "run" for e in reloaded.experiments) == 5
    failed = [e for e in reloaded.experiments if e.status == "failed"]
    assert len(failed) >= 3 and all("killed" in (e.error or "") for e in failed), [e.error for e in failed]
