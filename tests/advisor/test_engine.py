"""Turning matches into advice: ordering, de-duplication, blocking, questions, determinism."""

from __future__ import annotations

import random
from typing import Any

from shrinkwise.advisor.engine import advise
from shrinkwise.advisor.examples import example_facts
from shrinkwise.advisor.rules import LoadedRule


def test_same_facts_same_advice_same_order(manifest: dict[str, Any], rules: list[LoadedRule]) -> None:
    patch = {
        "target_id": "raspberry-pi-4",
        "budget": {"latency_ms": 0.001, "size_mb": 0.05},
        "results": {
            "candidates": [
                {"id": "a", "techniques": ["int8_static"], "accuracy_drop_pts": 2.0},
                {"id": "b", "techniques": ["fp16"], "accuracy_drop_pts": 0.0},
            ]
        },
    }
    first = advise(example_facts(patch), manifest, rules).model_dump_json()
    shuffled = list(rules)
    random.Random(4).shuffle(shuffled)
    assert advise(example_facts(patch), manifest, sorted(shuffled, key=lambda r: r.id)).model_dump_json() == first
    assert advise(example_facts(patch), manifest, rules).model_dump_json() == first


def test_plan_is_ordered_and_each_step_appears_once(manifest: dict[str, Any], rules: list[LoadedRule]) -> None:
    advice = advise(
        example_facts(
            {
                "target_id": "desktop-avx2",
                "budget": {"size_mb": 0.05},
                "results": {"candidates": [{"id": "p", "techniques": ["prune_structured"], "size_ratio": 0.5}]},
            }
        ),
        manifest,
        rules,
    )
    keys = [s.technique or s.activity for s in advice.plan]
    assert len(keys) == len(set(keys))
    assert [s.position for s in advice.plan] == list(range(1, len(keys) + 1))
    int8 = next(s for s in advice.plan if s.technique == "int8_static")
    assert int8.also_from, "two rules recommend int8_static; the step keeps the earliest and names the other"


def test_every_item_carries_rule_message_and_sources(manifest: dict[str, Any], rules: list[LoadedRule]) -> None:
    advice = advise(example_facts({"target_id": "phone-npu", "data": {"has_eval_set": False}}), manifest, rules)
    items = [*advice.plan, *advice.warnings, *advice.blockers, *advice.questions]
    assert items
    for item in items:
        assert item.rule_id and item.what and item.why and item.do and item.sources
        assert "{" not in item.what + item.why + item.do, "every placeholder is filled"


def test_blockers_mark_the_steps_they_stop(manifest: dict[str, Any], rules: list[LoadedRule]) -> None:
    advice = advise(example_facts({"data": {"has_eval_set": False}}), manifest, rules)
    assert [b.rule_id for b in advice.blockers] == ["evaluation-first"]
    for step in advice.plan:
        assert bool(step.blocked_by) == (step.technique is not None)


def test_steps_say_what_they_need_and_what_is_missing(manifest: dict[str, Any], rules: list[LoadedRule]) -> None:
    advice = advise(
        example_facts(
            {"target_id": "raspberry-pi-4", "budget": {"latency_ms": 0.001}, "data": {"torch_model_available": True}}
        ),
        manifest,
        rules,
    )
    prune = next(s for s in advice.plan if s.technique == "prune_structured")
    assert prune.needs_training and any("training data" in n for n in prune.needs) and not prune.missing
    int8 = next(s for s in advice.plan if s.technique == "int8_static")
    assert any("calibration" in n for n in int8.needs) and not int8.needs_training


def test_questions_are_unique_and_ordered(manifest: dict[str, Any], rules: list[LoadedRule]) -> None:
    advice = advise(
        example_facts({"budget": {"accuracy_drop_pts": None}, "data": {"has_eval_set": None}}), manifest, rules
    )
    facts = [q.fact for q in advice.questions]
    assert len(facts) == len(set(facts))
    assert facts[:2] == ["data.has_eval_set", "budget.accuracy_drop_pts"]


def test_estimates_are_labelled(manifest: dict[str, Any], rules: list[LoadedRule]) -> None:
    advice = advise(example_facts({"target_id": "phone-npu"}), manifest, rules)
    assert advice.estimates and all("estimate" in e for e in advice.estimates)
    here = advise(example_facts({"target_id": "this-computer"}), manifest, rules)
    assert not any("Latency of the original" in e for e in here.estimates), "on this computer latency is measured"


def test_result_rules_fire_once_per_candidate_with_its_name(manifest: dict[str, Any], rules: list[LoadedRule]) -> None:
    cands = [
        {"id": f"c{i}", "label": f"try {i}", "techniques": ["int8_static"], "accuracy_drop_pts": 3.0} for i in range(3)
    ]
    advice = advise(example_facts({"results": {"candidates": cands}}), manifest, rules)
    over = [w for w in advice.warnings if w.rule_id == "quality-over-tolerance"]
    assert [w.subject for w in over] == ["c0", "c1", "c2"]
    assert "try 1 lost 3.00 points" in over[1].what
