"""The run commands: exit codes, one-line errors, parsed settings, results as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shrinkwise.workspace.cli import main
from shrinkwise.workspace.cli.commands_runs import parse_set, parse_value
from tests.compression.test_worker import demo_copy


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> str:
    return str(demo_copy(tmp_path_factory, tmp_path))


def test_parse_values() -> None:
    assert parse_value("3") == 3 and parse_value("true") is True and parse_value("MinMax") == "MinMax"
    assert parse_set(["a=[1,2]", "b=x=y"]) == {"a": [1, 2], "b": "x=y"}


def test_techniques_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["techniques", "--json"]) == 0
    assert "fp16" in json.loads(capsys.readouterr().out)


def test_unknown_technique_exits_2_with_one_line(project: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", project, "nonsense"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("shrinkwise: error: unknown technique 'nonsense'") and "\n" not in err


def test_sweep_then_results(project: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", project, "fp16", "--over", "technique=fp16,int8_dynamic"]) == 0
    out = capsys.readouterr().out
    assert out.count("finished") == 2
    assert main(["results", project, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = out["candidates"]
    assert [r["label"] for r in rows] == ["Original", "fp16", "int8_dynamic"]
    assert out["recommendation"]["status"] == "no_budget" and out["recommendation"]["candidate"] is None
    assert main(["results", project]) == 0
    assert "pareto" in capsys.readouterr().out


def test_recipe_set_needs_step(project: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recipe", project, "fp16", "--set", "max_finite_value=100"]) == 2
    assert "STEP.key" in capsys.readouterr().err
