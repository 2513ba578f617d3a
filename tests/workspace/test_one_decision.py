"""Budget, target and answers have one home each, and the CLI, the advisor and the report judge the same budget.

Regression for: `shrinkwise budget P --size-mb 5` then `shrinkwise answer P budget.size_mb=0.2` made the advisor
judge against 0.2 and the report against 5."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shrinkwise.workspace.cli import main
from shrinkwise.workspace.project import load_project, migrate
from shrinkwise.workspace.report import build_report
from shrinkwise.workspace.session import Session


def test_answering_a_budget_question_changes_the_budget_everyone_reads(
    demo_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = str(demo_project)
    assert main(["target", p, "phone-npu"]) == 0
    assert main(["budget", p, "--size-mb", "5"]) == 0
    assert main(["answer", p, "budget.size_mb=0.2", "data.has_training_data=yes"]) == 0
    project = load_project(demo_project)
    assert project.budget.size_mb == 0.2
    assert "budget.size_mb" not in project.answers and project.answers["data.has_training_data"] is True
    capsys.readouterr()
    assert main(["advise", p, "--json"]) == 0
    advice = json.loads(capsys.readouterr().out)
    assert advice["feasibility"]["size_gap"] is None or advice["feasibility"]["size_gap"] > 1
    report = build_report(Session.open(demo_project), compute=False)
    assert {kv.key: kv.value for kv in report.budget}["size_mb"] == "≤ 200 kB"  # 0.2 MB, in the report's words
    # The same answer through the session (what the GUI calls) is stored alike.
    session = Session.open(demo_project)
    session.answer("budget.size_mb", 0.3)
    session.answer("target.id", "desktop-avx2")
    assert session.project.budget.size_mb == 0.3 and session.project.target.id == "desktop-avx2"
    assert not any(k.startswith(("budget.", "target.")) for k in session.project.answers)


def test_a_bad_answer_is_refused_and_nothing_changes(demo_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = demo_project.read_bytes()
    assert main(["answer", str(demo_project), "budget.size_mb=-1"]) == 2
    assert main(["answer", str(demo_project), "target.id=no-such-device"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "size_mb" in err[0] and "no-such-device" in err[1]
    assert demo_project.read_bytes() == before


def test_version_1_projects_move_answers_into_the_typed_fields(tmp_path: Path) -> None:
    raw = {
        "schema_version": 1,
        "name": "old",
        "target": {"id": "phone-npu", "memory_mb": 500},
        "budget": {"size_mb": 5},
        "answers": {
            "budget.size_mb": 0.2,
            "target.id": "desktop-avx2",
            "device_available": False,
            "wizard_plan": {"dropped": ["fp16"], "added": [{"technique": "int8_static", "config": {}}]},
        },
    }
    migrated = migrate(raw, tmp_path / "old.shrinkwise.json")
    path = tmp_path / "old.shrinkwise.json"
    path.write_text(json.dumps(raw))
    project = load_project(path)
    assert migrated["schema_version"] == 3  # 1 -> 2 -> 3
    assert project.budget.size_mb == 0.2  # the later answer wins, as the advisor used it
    assert project.target.id == "desktop-avx2" and project.target.overrides == {"memory_mb": 500}
    assert project.answers == {"device_available": False}
    assert project.plan.dropped == ["fp16"] and project.plan.added[0].technique == "int8_static"
