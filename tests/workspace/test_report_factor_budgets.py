"""The report judges the budgets a candidate must reach, not only those it must stay under: the speed-up over the
original (its paired latency ratio) and the outputs' cosine, in friendly words — and a project whose only budget is
a factor is judged, not called "no budget set"."""

from __future__ import annotations

from pathlib import Path

from shrinkwise.workspace.report import build_report
from shrinkwise.workspace.report.model import budget_checks, budget_rows
from shrinkwise.workspace.runs import run_recipe
from shrinkwise.workspace.session import Session


def test_speed_up_and_cosine_are_checked_in_the_report(demo_project: Path) -> None:
    session = Session.open(demo_project)
    exp = run_recipe(session, ["fp16"])
    session.set_target("this-computer")
    session.set_budget(min_speedup=100.0, min_cosine=0.5)
    session.save()
    ratio = exp.measurement("latency_ratio")
    cosine = exp.measurement("cosine_mean")
    assert ratio is not None and cosine is not None

    checks = {c.key: c for c in budget_checks(session.project, exp, target_is_host=True)}
    speed = checks["min_speedup"]
    assert speed.label == "Speed-up over the original" and speed.limit_text == "≥ 100×"
    assert speed.value == round(1.0 / ratio.value, 4) and speed.met is False and "short" in speed.margin_text
    fid = checks["min_cosine"]
    assert fid.label == "Output cosine" and fid.met is True and fid.value == cosine.value

    # Measured here, for another device: the speed-up is shown but does not count (as the advisor judges it).
    elsewhere = {c.key: c for c in budget_checks(session.project, exp, target_is_host=False)}
    assert elsewhere["min_speedup"].met is None and "not on the target device" in elsewhere["min_speedup"].note

    rows = {r.key: (r.label, r.value) for r in budget_rows(session.project.budget.model_dump(exclude_none=True))}
    assert rows["min_speedup"] == ("Speed-up over the original", "≥ 100×")
    assert rows["min_cosine"] == ("Output cosine", "≥ 0.5")

    report = build_report(session)
    assert report.verdict.status == "misses", report.verdict.headline  # not "no budget is set"
    row = next(e for e in report.experiments if e.id == exp.id)
    assert row.meets_budgets is False
