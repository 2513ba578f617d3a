"""Saves merge instead of overwrite: two processes (or sessions) on one project never erase each other's work."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shrinkwise.workspace.project import Experiment, load_project
from shrinkwise.workspace.session import Session
from shrinkwise.workspace.store import lock_path, owner_alive, owner_record

ROOT = Path(__file__).resolve().parents[2]


def _exp(exp_id: str, **kw: object) -> Experiment:
    return Experiment(id=exp_id, status="finished", **kw)  # type: ignore[arg-type]


def test_two_sessions_keep_each_others_experiments_and_fields(tmp_path: Path) -> None:
    path = tmp_path / "p.shrinkwise.json"
    Session.create(path).save()
    a, b = Session.open(path), Session.open(path)
    a.project.experiments.append(_exp("run-a"))
    a.project.notes = "from a"
    a.save()
    b.project.experiments.append(_exp("run-b"))
    b.project.answers = {"deploy": "phone"}
    b.save()  # b never saw a's changes: they must survive its save
    p = load_project(path)
    assert {e.id for e in p.experiments} == {"run-a", "run-b"}
    assert p.notes == "from a" and p.answers == {"deploy": "phone"}
    # and b's session now holds a's work too, so its next save keeps it
    assert {e.id for e in b.project.experiments} == {"run-a", "run-b"} and b.project.notes == "from a"


def test_merge_per_experiment_removal_and_change(tmp_path: Path) -> None:
    path = tmp_path / "p.shrinkwise.json"
    s = Session.create(path)
    s.project.experiments = [_exp("x"), _exp("y"), _exp("z")]
    s.save()
    a, b = Session.open(path), Session.open(path)
    held = a.project.experiment("x")
    a.project.experiments = [e for e in a.project.experiments if e.id != "y"]  # a removes y (unchanged elsewhere)
    b.project.experiment("z").label = "renamed by b"  # b changes z
    b.project.experiments = [e for e in b.project.experiments if e.id != "x"] + [_exp("w")]  # b removes x, adds w
    b.save()
    a.project.experiment("z")  # a still has the old z, unchanged: b's change must win
    held.label = "a changed x"  # a changed x after b removed it: a's change is kept, not lost
    a.save()
    p = load_project(path)
    assert {e.id for e in p.experiments} == {"x", "z", "w"}
    assert p.experiment("z").label == "renamed by b" and p.experiment("x").label == "a changed x"
    assert a.project.experiment("x") is held  # the live object a caller holds stays the session's


def test_merge_is_generic_over_project_fields() -> None:
    """Every top-level field other than experiments follows the same rule, including fields added later."""
    from pydantic import ValidationError

    from shrinkwise.workspace.project import Project
    from shrinkwise.workspace.store import merge_into, snapshot

    base = snapshot(Project(name="base"))
    candidates: list[object] = ["changed", 7, {"k": "v"}, {"seed": 7}, {"id": "x"}, {"latency_ms": 7.0}, ["a"]]
    tried = []
    for name in Project.model_fields:
        if name in ("experiments", "schema_version"):
            continue
        for value in candidates:
            try:
                other = Project.model_validate({**base, name: value})
            except ValidationError:
                continue
            if snapshot(other)[name] == base[name]:
                continue
            mine = Project.model_validate(base)
            mine.notes = "mine" if name != "notes" else mine.notes
            merge_into(mine, base, other)
            assert snapshot(mine)[name] == snapshot(other)[name], name  # the other writer's change arrives
            if name != "notes":
                assert mine.notes == "mine"  # and this process's change stays
            tried.append(name)
            break
    assert {"name", "notes", "answers", "split"} <= set(tried)


_WRITER = textwrap.dedent(
    """
    import sys
    from shrinkwise.workspace.project import Experiment
    from shrinkwise.workspace.session import Session
    path, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = Session.open(path)  # one long-lived session, as the GUI or a long run holds one
    for i in range(n):
        s.project.experiments.append(Experiment(id=f"{who}-{i}", status="running"))
        s.save()
        s.project.experiment(f"{who}-{i}").status = "finished"
        if who == "a":
            s.project.notes = f"a wrote {i}"
        else:
            s.project.answers = {"b": i}
        s.save()
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(5))
def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path, attempt: int) -> None:
    path = tmp_path / "p.shrinkwise.json"
    Session.create(path)
    n = 12
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), who, str(n)], env=env, stderr=subprocess.PIPE)
        for who in ("a", "b")
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    project = load_project(path)
    ids = {e.id for e in project.experiments}
    assert ids == {f"{w}-{i}" for w in "ab" for i in range(n)}
    assert all(e.status == "finished" for e in project.experiments)
    assert project.notes == f"a wrote {n - 1}" and project.answers == {"b": n - 1}
    assert lock_path(path).exists()
    json.loads(path.with_name(path.name + ".bak").read_text())


def test_a_run_left_running_by_a_dead_process_is_interrupted_on_open(tmp_path: Path) -> None:
    path = tmp_path / "p.shrinkwise.json"
    s = Session.create(path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    owner = {"pid": dead.pid, "host": socket.gethostname(), "start_ticks": None, "since": 0.0}
    s.project.experiments += [
        Experiment(id="run-dead", status="running", extra={"owner": owner}),
        Experiment(id="run-alive", status="running", extra={"owner": owner_record()}),
        Experiment(id="run-old", status="running"),  # no owner recorded (an older file): left alone
    ]
    s.save()
    leftovers = s.artifacts / "runs" / "run-dead"
    leftovers.mkdir(parents=True)
    (leftovers / "candidate.onnx").write_bytes(b"half")
    opened = Session.open(path)
    dead_exp = load_project(path).experiment("run-dead")
    assert dead_exp.status == "interrupted" and "1 unfinished file(s)" in (dead_exp.error or "")
    assert not leftovers.exists()
    assert opened.project.experiment("run-alive").status == "running"
    assert opened.project.experiment("run-old").status == "running"


def test_owner_alive_tells_dead_and_reused_pids() -> None:
    me = owner_record()
    assert owner_alive(me)
    assert not owner_alive(dict(me, start_ticks=(me["start_ticks"] or 0) + 1)) or me["start_ticks"] is None
    assert owner_alive(dict(me, host="another-machine"))  # not ours to judge
    assert owner_alive("garbage")


def test_backup_is_written_atomically_and_temps_are_cleaned(tmp_path: Path) -> None:
    path = tmp_path / "p.shrinkwise.json"
    s = Session.create(path)
    s.project.notes = "second"
    s.save()
    assert json.loads(path.with_name(path.name + ".bak").read_text())["notes"] == ""
    stale = tmp_path / f".{path.name}.abc123.tmp"
    stale_bak = tmp_path / f".{path.name}.bak.def456.tmp"
    stale.write_text("{half")
    stale_bak.write_text("{half")
    Session.open(path)
    assert not stale.exists() and not stale_bak.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, path.name + ".bak", path.name + ".lock"])
