"""SIGKILL at random moments (a process saving, the worker, the CLI during `shrinkwise run`): nothing is lost.

Each loop kills 20 times and checks after every kill: the project loads, its `.bak` is valid JSON, no temp file is
left anywhere in the project folder, no experiment stays `running` once the next command has opened the project
(a run whose process died is marked `interrupted`, its unfinished files removed), and every result that had finished
before the kill is still there, unchanged, with its files. The loops stay cheap by killing early in an fp16 run of
the demo and by reusing one project for all 20 kills: about 40 s for the module on a quiet 2-core machine (the CLI
loop 17-25 s, as each kill costs one interpreter start; the worker loop 9 s; 20 saves 3 s; the shared project 6 s).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from shrinkwise.workspace.project import Experiment, load_project
from shrinkwise.workspace.session import Session

ROOT = Path(__file__).resolve().parents[2]
KILLS = 20
pytestmark = pytest.mark.slow  # still part of `make test`, which CI runs


def _finished(path: Path) -> dict[str, dict[str, Any]]:
    """Every finished experiment as saved on disk, keyed by id."""
    return {e.id: e.model_dump(mode="json") for e in load_project(path).experiments if e.status == "finished"}


def _assert_sound(path: Path, kept: dict[str, dict[str, Any]]) -> Session:
    """What every kill must leave; `kept` are the finished results that must survive it, unchanged."""
    load_project(path)  # loads as the kill left it, before any reconciling
    bak = path.with_name(path.name + ".bak")
    if bak.exists():
        json.loads(bak.read_text())  # the .bak is always complete JSON
    session = Session.open(path)  # what the next command does first
    on_disk = load_project(path)  # ... and what it leaves on disk
    running = [e.id for e in on_disk.experiments if e.status == "running"]
    assert running == [], f"still running after the next open: {running}"
    temps = [str(p.relative_to(path.parent)) for p in path.parent.rglob("*.tmp")]
    assert temps == [], temps
    now = _finished(path)
    for exp_id, record in kept.items():
        assert now.get(exp_id) == record, f"finished result {exp_id} lost or changed"
        for art in record["artifacts"]:
            assert session.resolve(art["path"]).is_file(), art["path"]
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
    kept: dict[str, dict[str, Any]] = {}
    for _ in range(KILLS):
        ready = ctx.Event()
        proc = ctx.Process(target=_save_forever, args=(str(path), ready))
        proc.start()
        assert ready.wait(30)
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        _assert_sound(path, kept)  # a kill never loses what an earlier save wrote
        kept = _finished(path)
    assert len(kept) > KILLS


@pytest.fixture(scope="module")
def project_with_a_result(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo project, with one finished fp16 run, shared by the two kill loops (its result must survive both)."""
    from shrinkwise.workspace.runs import run_recipe

    dest = tmp_path_factory.mktemp("crash") / "demo"
    shutil.copytree(demo_template, dest)
    path = next(dest.glob("*.shrinkwise.json"))
    assert run_recipe(Session.open(path), ["fp16"]).status == "finished"
    return path


def _worker_pids(folder: Path) -> list[int]:
    """The worker runs in its own session, so killing the CLI leaves it orphaned: find those of this test only."""
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


def _kill_workers_of(folder: Path) -> None:
    for pid in _worker_pids(folder):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _runs(path: Path) -> list[Experiment]:
    return [e for e in load_project(path).experiments if e.kind == "run"]


def test_killing_the_cli_during_a_run_leaves_it_interrupted(project_with_a_result: Path) -> None:
    path = project_with_a_result
    folder = path.parent
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rng = random.Random(7)
    kept = _finished(path)
    assert any(e["kind"] == "run" for e in kept.values())
    runs_before = len(_runs(path))
    worker_started = 0
    err_log = path.parent / "cli-stderr.txt"
    for attempt in range(KILLS):
        with err_log.open("w") as err:  # the child keeps its own copy of the file
            proc = subprocess.Popen(
                [sys.executable, "-m", "shrinkwise.workspace.cli", "run", str(path), "fp16"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        if attempt % 4 == 3:
            # Every fourth kill lands at a random moment of the CLI's start: importing, opening, recording the run.
            time.sleep(rng.uniform(0.3, 1.5))
        else:
            deadline = time.monotonic() + 60
            while not _worker_pids(folder) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)  # kill while the run is really under way: its worker has started
            worker_started += bool(_worker_pids(folder))
            time.sleep(rng.uniform(0.0, 0.3))
        assert proc.poll() is None, f"the run ended before its kill (attempt {attempt}): {err_log.read_text()}"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _kill_workers_of(folder)
        session = _assert_sound(path, kept)
        runs = [e for e in session.project.experiments if e.kind == "run"]
        assert worker_started <= len(runs) - runs_before <= attempt + 1  # recorded before its worker started
        for e in runs:
            if e.status == "interrupted":
                assert "interrupted" in (e.error or "") and not (session.artifacts / "runs" / e.id).exists()
        kept = _finished(path)
    interrupted = sum(e.status == "interrupted" for e in _runs(path))
    assert interrupted >= worker_started >= KILLS // 2  # the kills did land mid-run
    # A real next command on the project after the last kill: it works and nothing is left running.
    show = subprocess.run(
        [sys.executable, "-m", "shrinkwise.workspace.cli", "show", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert show.returncode == 0, show.stderr
    assert " running " not in show.stdout
    assert all(e.status != "running" for e in load_project(path).experiments)


def test_killing_the_worker_records_a_failed_run(project_with_a_result: Path) -> None:
    from shrinkwise.workspace.runs import run_recipe

    path = project_with_a_result
    kept = _finished(path)
    assert any(e["kind"] == "run" for e in kept.values())
    runs_before = len(_runs(path))
    session = Session.open(path)
    rng = random.Random(3)
    for _ in range(KILLS):
        delay = rng.uniform(0.05, 0.6)  # early in the run: the worker is starting, reading or converting

        def kill_soon(run, delay=delay) -> None:  # type: ignore[no-untyped-def]
            def later() -> None:
                time.sleep(delay)
                if run.proc is not None and run.proc.poll() is None:
                    os.killpg(run.proc.pid, signal.SIGKILL)

            threading.Thread(target=later, daemon=True).start()

        exp = run_recipe(session, ["fp16"], on_start=kill_soon)
        assert exp.status in ("failed", "finished")  # finished only if the worker beat the kill
        _assert_sound(path, kept)
        kept = _finished(path)
    runs = _runs(path)
    assert len(runs) - runs_before == KILLS
    failed = [e for e in runs if e.status == "failed"]
    assert len(failed) >= KILLS - 2 and all("killed" in (e.error or "") for e in failed), [e.error for e in failed]
