"""The advisor's commands: advise on a facts file, the schema, targets, rules and coverage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shrinkwise.advisor.coverage import load_lessons
from shrinkwise.advisor.examples import example_base, merge
from shrinkwise.workspace.cli import main


def _facts_file(tmp_path: Path, patch: dict) -> Path:  # type: ignore[type-arg]
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(merge(example_base(), patch)))
    return path


def test_advise_facts_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _facts_file(tmp_path, {"target_id": "phone-npu"})
    assert main(["advise", "--facts", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Plan, in order" in out and "What the advisor still needs to know" in out and "estimate" in out
    assert main(["advise", "--facts", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"plan", "warnings", "blockers", "questions", "feasibility", "estimates"} <= set(data)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ({"model": {"sizemb": 3}}, "field 'model.sizemb': is not a known field (did you mean 'size_mb'?)"),
        ({"budget": {"latency_ms": 0}}, "field 'budget.latency_ms'"),
        ({"target_id": "phone-npuu"}, "unknown target 'phone-npuu'"),
    ],
)
def test_bad_facts_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: dict, needle: str
) -> None:  # type: ignore[type-arg]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    assert main(["advise", "--facts", str(path)]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_advise_needs_exactly_one_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["advise"]) == 2
    assert "give a PROJECT or --facts FILE" in capsys.readouterr().err


def test_facts_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["advise", "--facts-schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Facts" and "budget" in schema["properties"]


def test_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "this-computer" in data and data["phone-npu"]["sources"]
    assert main(["targets"]) == 0
    assert "cortex-m-mcu" in capsys.readouterr().out


def test_rules_and_coverage_account_for_every_lesson(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    assert "quantization/fp16-first" in capsys.readouterr().out
    assert main(["rules", "--coverage"]) == 0
    out = capsys.readouterr().out
    for lesson in load_lessons():
        assert lesson.id in out
    assert main(["rules", "--coverage", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(r["rules"] or r["not_encoded"] for r in rows)
