"""On a device target with no imported latency, a candidate the target cannot run, or one that misses a budget, is
never the one the session, `shrinkwise results --json` or the report's first section names; the reason it was
rejected is stated. (Issue: the report "suggested" the smallest file though the advisor warned it would not run.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shrinkwise.workspace.cli import main
from shrinkwise.workspace.report import build_report, render
from shrinkwise.workspace.runs import run_recipe
from shrinkwise.workspace.session import Session


def _views(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    session = Session.open(path)
    decision = session.recommendation()
    capsys.readouterr()
    assert main(["results", str(path), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    report = build_report(session, compute=False)
    html = render(report, "html").decode("utf-8")
    first = html[html.index('<section id="verdict">') :]
    first = first[: first.index("</section>")]
    return {"decision": decision, "results": results, "report": report, "first_section": first}


def _assert_never_named(views: dict[str, object], bad_id: str, bad_label: str, good_id: str, reason: str) -> None:
    decision = views["decision"]
    results = views["results"]
    report = views["report"]
    first = views["first_section"]
    assert decision.candidate == good_id and decision.status in ("recommended", "provisional")  # type: ignore[attr-defined]
    assert bad_label not in decision.headline  # type: ignore[attr-defined]
    rejection = next(r for r in decision.rejected if r.id == bad_id)  # type: ignore[attr-defined]
    assert any(reason in text for text in rejection.reasons), rejection.reasons
    # `shrinkwise results --json`: the same decision, the rejection and its reason in the paragraph.
    rec = results["recommendation"]  # type: ignore[index]
    assert rec["candidate"] == good_id
    assert f"Not recommended: {bad_label} (" in rec["paragraph"] and reason in rec["paragraph"]
    # The report's first section: suggests the good one, names the bad one only as rejected, with the reason.
    verdict = report.verdict  # type: ignore[attr-defined]
    assert verdict.candidate_id == verdict.recommended_id == good_id and not verdict.chosen
    assert bad_label not in verdict.headline and all(bad_label not in line for line in verdict.summary)
    assert verdict.recommendation == decision.paragraph  # type: ignore[attr-defined]
    before_rejections = verdict.recommendation.split("Not recommended:")[0]
    assert bad_label not in before_rejections  # neither headline, why nor cost speaks of it
    assert reason in first and f"{bad_label} (" in first  # type: ignore[operator]


def test_a_candidate_the_device_cannot_run_or_over_budget_is_never_recommended(
    demo_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = Session.open(demo_project)
    fp16 = run_recipe(session, ["fp16"])
    int8 = run_recipe(session, ["int8_static"])
    assert fp16.status == int8.status == "finished"
    fp16_size, int8_size = fp16.measurement("size_bytes"), int8.measurement("size_bytes")
    assert fp16_size is not None and int8_size is not None and int8_size.value < fp16_size.value
    # Nothing was measured on the device: latency is this computer's only.
    for exp in (fp16, int8):
        lat = exp.measurement("latency_ms_median")
        assert lat is not None and lat.source != "device"

    # An int8-only microcontroller cannot run fp16, although fp16 loses less quality (and is the less invasive step).
    session = Session.open(demo_project)
    session.set_target("cortex-m-mcu")
    session.set_budget(size_mb=10.0, accuracy_drop_pts=5.0, latency_ms=10_000.0)
    session.save()
    views = _views(demo_project, capsys)
    assert views["decision"].status == "provisional"  # type: ignore[attr-defined]  # latency on the device unknown
    assert any("latency on the device" in u for u in views["decision"].unknown)  # type: ignore[attr-defined]
    _assert_never_named(views, fp16.id, fp16.label or fp16.id, int8.id, "runs only int8 natively")

    # A phone NPU runs both; a size budget between the two files rules fp16 out for its size.
    session = Session.open(demo_project)
    session.set_target("phone-npu")
    session.set_budget(size_mb=(fp16_size.value + int8_size.value) / 2 / 1e6)
    session.save()
    views = _views(demo_project, capsys)
    _assert_never_named(views, fp16.id, fp16.label or fp16.id, int8.id, "size budget")
