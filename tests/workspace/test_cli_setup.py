"""Target, budget and answers from the CLI, and the advisor's reading of the demo project (issue 4's demo case)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shrinkwise.workspace.cli import main
from shrinkwise.workspace.project import load_project
from shrinkwise.workspace.session import Session


def test_demo_on_phone_npu_with_one_point_tolerance(demo_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["target", str(demo_project), "phone-npu"]) == 0
    assert main(["budget", str(demo_project), "--accuracy-drop-pts", "1"]) == 0
    capsys.readouterr()
    assert main(["advise", str(demo_project), "--json"]) == 0
    advice = json.loads(capsys.readouterr().out)
    plan = [s["technique"] for s in advice["plan"]]
    training = {"prune_structured", "distill"}
    assert plan[:2] == ["fp16", "int8_static"]
    first_training = min((i for i, t in enumerate(plan) if t in training), default=len(plan))
    assert plan.index("fp16") < first_training and plan.index("int8_static") < first_training
    assert "unstructured-pruning-no-speedup-here" in {w["rule_id"] for w in advice["warnings"]}
    asked = {q["fact"] for q in advice["questions"]}
    assert {"budget.size_mb", "budget.latency_ms"} <= asked
    assert "budget.accuracy_drop_pts" not in asked  # it was given


def test_budget_and_target_are_validated(demo_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = demo_project.read_bytes()
    assert main(["target", str(demo_project), "phone-npuu"]) == 2
    assert "phone-npu" in capsys.readouterr().err  # did-you-mean
    assert main(["budget", str(demo_project), "--latency-ms", "-3"]) == 2
    assert demo_project.read_bytes() == before
    assert main(["budget", str(demo_project), "--size-mb", "0.2", "--latency-ms", "1"]) == 0
    assert load_project(demo_project).budget.model_dump(exclude_none=True) == {"size_mb": 0.2, "latency_ms": 1.0}


def test_answers_are_checked_against_the_facts(demo_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["answer", str(demo_project), "device_available=false"]) == 0
    assert load_project(demo_project).answers == {"device_available": False}
    before = demo_project.read_bytes()
    assert main(["answer", str(demo_project), "data.no_such_fact=1"]) == 2
    err = capsys.readouterr().err
    assert "no_such_fact" in err and "\n" not in err.strip()
    assert demo_project.read_bytes() == before


def test_budget_clears_before_it_sets(demo_project: Path) -> None:
    """`--clear size-mb --smaller 4` replaces the size by the factor's (the clear once ran last and undid it)."""
    assert main(["budget", str(demo_project), "--size-mb", "0.2", "--latency-ms", "1"]) == 0
    assert main(["budget", str(demo_project), "--clear", "size-mb", "--smaller", "4", "--clear", "latency-ms"]) == 0
    budget = load_project(demo_project).budget.model_dump(exclude_none=True)
    assert "latency_ms" not in budget
    original_mb = Session.open(demo_project).onnx_path.stat().st_size / 1e6
    assert budget["size_mb"] == pytest.approx(original_mb / 4, rel=1e-4)
    assert main(["budget", str(demo_project), "--clear", "size-mb"]) == 0
    assert "size_mb" not in load_project(demo_project).budget.model_dump(exclude_none=True)
