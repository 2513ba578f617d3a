"""The one decision: the least invasive candidate that the target runs and that meets every budget; never one that
misses a budget or cannot run there; provisional when a budget cannot be checked yet."""

from __future__ import annotations

from typing import Any

from shrinkwise.advisor.engine import advise
from shrinkwise.advisor.facts import Facts
from shrinkwise.compression.catalog import load_catalog


def _decide(target: str | None, budget: dict[str, Any], candidates: list[dict[str, Any]], **model: Any) -> Any:
    facts = Facts.model_validate(
        {
            "target_id": target,
            "model": {"name": "m", "size_mb": 1.0, "parameters": 250_000, "weight_dtype": "fp32", **model},
            "budget": budget,
            "results": {"candidates": candidates},
        }
    )
    return advise(facts, load_catalog()).decision


FP16 = {"id": "f", "label": "fp16", "techniques": ["fp16"], "size_mb": 0.5, "size_ratio": 0.5, "accuracy_drop_pts": 0}
STATIC = {
    "id": "s",
    "label": "int8 static",
    "techniques": ["int8_static"],
    "size_mb": 0.27,
    "size_ratio": 0.27,
    "accuracy_drop_pts": 0.2,
    "op_types": ["Conv", "DequantizeLinear", "QuantizeLinear"],
}
DYNAMIC = {
    "id": "d",
    "label": "int8 dynamic",
    "techniques": ["int8_dynamic"],
    "size_mb": 0.26,
    "size_ratio": 0.26,
    "accuracy_drop_pts": 0.1,
    "op_types": ["ConvInteger", "DynamicQuantizeLinear"],
}


def test_least_invasive_passing_candidate_is_recommended() -> None:
    d = _decide("phone-npu", {"size_mb": 0.6, "accuracy_drop_pts": 1.0}, [STATIC, FP16])
    assert d.status == "recommended" and d.candidate == "f"
    assert "least invasive" in d.paragraph and d.size_mb == 0.5


def test_a_candidate_that_misses_a_budget_is_never_recommended() -> None:
    d = _decide("phone-npu", {"size_mb": 0.3, "accuracy_drop_pts": 1.0}, [FP16, STATIC])
    assert d.candidate == "s"
    assert any("size budget" in r for r in d.misses_budget("f"))
    d = _decide("phone-npu", {"size_mb": 0.1}, [FP16, STATIC])
    assert d.status == "none_meets" and d.candidate is None
    assert {r.id for r in d.rejected} == {"f", "s"}


def test_a_candidate_the_target_cannot_run_is_never_recommended() -> None:
    # The dynamic candidate is the smallest and most accurate, but a phone NPU has no ConvInteger.
    d = _decide("phone-npu", {"size_mb": 0.3, "accuracy_drop_pts": 1.0}, [DYNAMIC, STATIC])
    assert d.candidate == "s"
    assert any("cannot run" in r for r in d.misses_budget("d"))
    d = _decide("phone-npu", {"size_mb": 0.3}, [DYNAMIC])
    assert d.candidate is None and d.status == "none_meets"


def test_device_target_without_device_latency_is_only_provisional() -> None:
    host_only = {**STATIC, "latency_ms": 0.5, "latency_ratio": 11.0, "latency_source": "host"}
    d = _decide("phone-npu", {"size_mb": 0.3, "latency_ms": 1.0}, [host_only])
    assert d.status == "provisional" and d.candidate == "s"
    assert any("benchmark bundle" in u for u in d.unknown)
    assert "Still unknown" in d.paragraph


def test_no_budget_no_recommendation() -> None:
    d = _decide("phone-npu", {}, [FP16])
    assert d.status == "no_budget" and d.candidate is None


def test_a_subgroup_over_the_tolerance_misses_the_budget() -> None:
    hurt = {**FP16, "max_subgroup_drop_pts": 3.0, "worst_subgroup": "thin_ink"}
    d = _decide("phone-npu", {"size_mb": 0.6, "accuracy_drop_pts": 1.0}, [hurt, STATIC])
    assert d.candidate == "s" and any("thin_ink" in r for r in d.misses_budget("f"))


def test_stop_here_names_the_same_candidate_as_the_decision() -> None:
    facts = Facts.model_validate(
        {
            "target_id": "phone-npu",
            "model": {"name": "m", "size_mb": 1.0, "parameters": 250_000, "weight_dtype": "fp32"},
            "budget": {"size_mb": 0.3, "accuracy_drop_pts": 1.0},
            "results": {"candidates": [DYNAMIC, STATIC, FP16]},
        }
    )
    advice = advise(facts, load_catalog())
    ship = [s for s in advice.plan if s.activity == "ship_candidate"]
    assert advice.decision.candidate == "s"
    assert all(s.subject in (None, "s") for s in ship)


def test_a_fidelity_tolerance_is_a_budget_for_unlabelled_models() -> None:
    close = {**FP16, "accuracy_drop_pts": None, "cosine_mean": 0.9995}
    far = {**STATIC, "accuracy_drop_pts": None, "cosine_mean": 0.97}
    d = _decide("phone-npu", {"size_mb": 0.3, "min_cosine": 0.99}, [close, far])
    assert d.candidate is None and any("cosine" in r for r in d.misses_budget("s"))
    d = _decide("phone-npu", {"size_mb": 0.6, "min_cosine": 0.99}, [close, far])
    assert d.status == "recommended" and d.candidate == "f"


def test_a_candidate_in_a_format_the_device_cannot_compute_is_never_recommended() -> None:
    """An int8-only microcontroller: fp16 is smaller and keeps the accuracy, but the device cannot compute in it."""
    d = _decide("cortex-m-mcu", {"size_mb": 0.6, "accuracy_drop_pts": 1.0}, [FP16, STATIC])
    assert d.candidate == "s"
    reasons = d.misses_budget("f")
    assert any("runs only int8" in r and "fp16" in r for r in reasons)
    assert next(r for r in d.rejected if r.id == "f").missed == ["target"]


def test_the_cost_states_the_latency_every_view_shows_with_where_it_was_measured() -> None:
    """Compare, Export and the report show this paragraph: it names the median latency (the one formatter), not
    only the ratio, so the number read in one view is the number read in the others."""
    timed = {**FP16, "latency_ms": 0.0143, "latency_ratio": 0.5, "latency_source": "device"}
    d = _decide("phone-npu", {"size_mb": 0.6}, [timed])
    assert "2.00× faster (0.014 ms, on the device)" in d.cost and d.cost in d.paragraph
    untimed_ratio = {**FP16, "latency_ms": 2.5, "latency_source": "host"}
    d = _decide("this-computer", {"size_mb": 0.6}, [untimed_ratio])
    assert "latency 2.50 ms (on this computer)" in d.cost
    d = _decide("phone-npu", {"size_mb": 0.6}, [FP16])
    assert "latency" not in d.cost  # nothing timed: nothing claimed
