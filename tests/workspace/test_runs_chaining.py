"""Multi-step recipes: a failing later step keeps the finished earlier ones; prune → distill uses the pruned model."""

from __future__ import annotations

from pathlib import Path

import pytest

from shrinkwise.workspace.project import load_project
from shrinkwise.workspace.runs import run_recipe
from shrinkwise.workspace.session import Session
from tests.compression.test_worker import demo_copy


@pytest.fixture
def session(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Session:
    return Session.open(demo_copy(tmp_path_factory, tmp_path))


def test_failed_second_step_keeps_the_first_steps_artifact_and_measurements(session: Session) -> None:
    exp = run_recipe(session, ["int8_static", "fp16"])
    saved = load_project(session.path).experiment(exp.id)
    assert saved.status == "failed"
    assert "already quantized" in (saved.error or "") and "fp16 before quantization" in (saved.error or "")
    assert len(saved.artifacts) == 1 and session.resolve(saved.artifacts[0].path).exists()
    step = saved.extra["steps"][0]
    assert step["technique"] == "int8_static"
    acc = next(m for m in step["measurements"] if m["metric"] == "accuracy")
    assert acc["value"] > 0.95
    assert saved.measurements == []  # the recipe as a whole produced no candidate


@pytest.mark.slow
def test_prune_then_distill_trains_the_pruned_student(session: Session) -> None:
    exp = run_recipe(session, [("prune_structured", {"epochs": 1}), ("distill", {"student": "previous", "epochs": 1})])
    assert exp.status == "finished", exp.error
    pruned, distilled = exp.extra["steps"]
    size = lambda s: next(m["value"] for m in s["measurements"] if m["metric"] == "size_bytes")  # noqa: E731
    base = session.project.baseline.measurement("size_bytes").value  # type: ignore[union-attr]
    assert size(pruned) < 0.8 * base
    # the student is the pruned model (same size), not a fresh copy of the original
    assert abs(size(distilled) - size(pruned)) < 0.05 * size(pruned)
    assert exp.measurement("accuracy").value > 0.9  # type: ignore[union-attr]
