"""The project file: round trip, atomic saves with .bak, migrations, refusal of newer or corrupt files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shrinkwise.compression.errors import ProjectFileError
from shrinkwise.workspace import project as project_mod
from shrinkwise.workspace.project import Experiment, Project, load_project, save_project


def test_round_trip_and_backup(tmp_path: Path) -> None:
    p = Project(name="a", notes="first")
    path = save_project(p, tmp_path / "a")
    assert path.name == "a.shrinkwise.json"
    p.notes = "second"
    save_project(p, path)
    assert load_project(path).notes == "second"
    assert json.loads(path.with_name(path.name + ".bak").read_text())["notes"] == "first"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "n.shrinkwise.json"
    path.write_text(json.dumps({"schema_version": 99, "name": "n"}))
    with pytest.raises(ProjectFileError, match="newer Shrinkwise.*update Shrinkwise"):
        load_project(path)


def test_older_schema_is_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def v1_to_v2(raw: dict) -> dict:
        raw["notes"] = raw.pop("comment", "")
        return raw

    monkeypatch.setattr(project_mod, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(project_mod.MIGRATIONS, 1, v1_to_v2)
    path = tmp_path / "o.shrinkwise.json"
    path.write_text(json.dumps({"schema_version": 1, "name": "o", "comment": "kept"}))
    raw = project_mod.migrate(json.loads(path.read_text()), path)
    assert raw["schema_version"] == 2 and raw["notes"] == "kept" and "comment" not in raw


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{ not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (
            '{"schema_version": 1, "name": "x", "experiments": [{"id": 3, "status": "exploded"}]}',
            "field 'experiments.0",
        ),
        ('{"schema_version": 1, "name": "x", "surprise": true}', "field 'surprise'"),
        ('{"name": "x"}', "schema_version"),
    ],
)
def test_hand_corrupted_file_is_refused_clearly(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "c.shrinkwise.json"
    path.write_text(text)
    with pytest.raises(ProjectFileError, match=match) as info:
        load_project(path)
    assert "c.shrinkwise.json" in str(info.value) and "\n" not in str(info.value)


def test_kill_during_save_loses_nothing_saved(tmp_path: Path) -> None:
    """A process killed in the middle of a save leaves the previous save intact and loadable."""
    path = tmp_path / "k.shrinkwise.json"
    script = textwrap.dedent(
        f"""
        import os, signal
        from shrinkwise.workspace.project import Project, Experiment, save_project
        p = Project(name="k", experiments=[Experiment(id="done", status="finished")])
        save_project(p, {str(path)!r})
        p.experiments.append(Experiment(id="half", status="running"))
        real_fsync = os.fsync
        def die(fd):
            os.kill(os.getpid(), signal.SIGKILL)
        os.fsync = die
        save_project(p, {str(path)!r})
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2])
    assert proc.returncode == -9
    project = load_project(path)
    assert [e.id for e in project.experiments] == ["done"]


def test_experiment_lookup() -> None:
    p = Project(name="x", experiments=[Experiment(id="original", kind="baseline"), Experiment(id="r1")])
    assert p.baseline is not None and p.baseline.id == "original" and p.experiment("r1").id == "r1"
    with pytest.raises(KeyError):
        p.experiment("nope")
