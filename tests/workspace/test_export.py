"""choose / export: the chosen candidate as ONNX with a model card; atomic save; one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shrinkwise.workspace.cli import main
from shrinkwise.workspace.session import Session
from tests.workspace.test_report_fixtures import swept_project  # noqa: F401  (fixture)


def _candidate_id(project: Path) -> str:
    return next(e.id for e in Session.open(project).project.experiments if e.kind == "sweep")


def test_choose_sets_the_project_and_keeps_a_backup(swept_project: Path) -> None:  # noqa: F811
    cid = _candidate_id(swept_project)
    assert main(["choose", str(swept_project), cid]) == 0
    assert Session.open(swept_project).project.chosen == cid
    assert swept_project.with_name(swept_project.name + ".bak").exists()
    label = Session.open(swept_project).project.experiment(cid).label
    assert main(["choose", str(swept_project), "original"]) == 0
    assert main(["choose", str(swept_project), label]) == 0  # a unique label works too
    assert Session.open(swept_project).project.chosen == cid


def test_choose_refuses_unknown_and_unfinished(swept_project: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    from shrinkwise.workspace.project import Experiment

    s = Session.open(swept_project)
    s.project.experiments.append(Experiment(id="run-x", label="x", status="failed", error="boom"))
    s.save()
    assert main(["choose", str(swept_project), "nope"]) == 2
    assert main(["choose", str(swept_project), "run-x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no candidate 'nope'" in err[0] and "failed, not finished" in err[1]


def test_export_writes_onnx_and_model_card(swept_project: Path, tmp_path: Path) -> None:  # noqa: F811
    import onnxruntime as ort

    from shrinkwise.workspace.hashing import sha256_file

    cid = _candidate_id(swept_project)
    assert main(["export", str(swept_project), "--out", str(tmp_path / "x")]) == 2  # nothing chosen yet
    assert main(["choose", str(swept_project), cid]) == 0
    assert main(["export", str(swept_project), "--out", str(tmp_path / "out")]) == 0
    card = json.loads((tmp_path / "out" / "model_card.json").read_text())
    model = tmp_path / "out" / card["file"]["name"]
    assert card["candidate"]["id"] == cid and card["candidate"]["chosen"] is True
    assert card["file"]["sha256"] == sha256_file(model)
    assert card["input_signature"]["inputs"][0]["name"] == "x"
    assert card["what_was_done"][0]["technique"] and card["what_was_done"][0]["summary"]
    assert {m["source"] for m in card["measurements"]} == {"host"}
    project = Session.open(swept_project).project
    assert card["lineage"]["original_model_sha256"] == project.model.sha256
    ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])  # it loads


def test_export_refuses_a_changed_artifact(swept_project: Path, tmp_path: Path) -> None:  # noqa: F811
    s = Session.open(swept_project)
    exp = next(e for e in s.project.experiments if e.kind == "sweep")
    path = s.resolve(exp.final_artifact.path)
    path.write_bytes(path.read_bytes() + b"\0")
    assert main(["export", str(swept_project), exp.id, "--out", str(tmp_path / "o")]) == 2
