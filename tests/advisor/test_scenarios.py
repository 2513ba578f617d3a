"""Scenarios written from the lessons: a facts file in, advice out, checked against what must and must not appear.

Each file in `scenarios/` names the lesson it checks, gives facts (merged over `rules/example_base.yaml`, then
written to a real facts file) and its expectations:
  include / exclude      rule ids that must / must not fire
  blockers, questions    rule ids among the blockers; fact paths among the questions
  question_first         the fact asked first
  plan_first             the first plan steps, in order (technique or activity)
  plan_order             pairs [a, b]: step a comes before step b
  plan_includes / plan_excludes, blocked (steps some blocker stops), config (technique -> settings)
  subject                rule id -> the candidate a result rule is about
  what_contains          rule id -> text its 'what' must contain
  feasibility            field -> value of advice.feasibility (floats compared to 3 digits)
  outlook                technique -> {field: value} of its feasibility outlook
  estimates_contain / estimates_exclude   texts that must / must not appear in the printed estimates
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from shrinkwise.advisor.advice import Advice
from shrinkwise.advisor.coverage import load_lessons
from shrinkwise.advisor.engine import advise
from shrinkwise.advisor.examples import example_base, merge
from shrinkwise.advisor.facts import load_facts_file
from shrinkwise.advisor.rules import LoadedRule

SCENARIOS = sorted(Path(__file__).with_name("scenarios").glob("*.yaml"))
ALLOWED = {
    "include",
    "exclude",
    "blockers",
    "questions",
    "question_first",
    "plan_first",
    "plan_order",
    "plan_includes",
    "plan_excludes",
    "blocked",
    "config",
    "subject",
    "what_contains",
    "feasibility",
    "outlook",
    "estimates_contain",
    "estimates_exclude",
}


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_there_are_enough_scenarios_and_each_names_a_known_lesson() -> None:
    assert len(SCENARIOS) >= 25
    known = {l.id for l in load_lessons()}
    for path in SCENARIOS:
        s = _load(path)
        assert s["lesson"] in known, path.name
        assert s.get("title") and set(s["expect"]) <= ALLOWED, path.name


def _same(got: Any, want: Any) -> bool:
    return got == pytest.approx(want, rel=1e-3) if isinstance(want, float) else bool(got == want)


def _keys(advice: Advice) -> list[str]:
    return [s.technique or s.activity or "" for s in advice.plan]


def _statements(advice: Advice) -> list[Any]:
    return [*advice.plan, *advice.warnings, *advice.blockers, *advice.questions]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path, tmp_path: Path, manifest: dict[str, Any], rules: list[LoadedRule]) -> None:
    scenario = _load(path)
    facts_file = tmp_path / f"{path.stem}.facts.json"
    facts_file.write_text(json.dumps(merge(example_base(), scenario["facts"])), encoding="utf-8")
    advice = advise(load_facts_file(facts_file), manifest, rules)
    e = scenario["expect"]
    where = f"{path.name} ({scenario['lesson']})"
    fired, keys = set(advice.rules_fired), _keys(advice)
    assert set(e.get("include", [])) <= fired, f"{where}: missing {sorted(set(e.get('include', [])) - fired)}"
    assert not set(e.get("exclude", [])) & fired, f"{where}: unexpected {sorted(set(e.get('exclude', [])) & fired)}"
    assert set(e.get("blockers", [])) <= {b.rule_id for b in advice.blockers}, where
    assert set(e.get("questions", [])) <= {q.fact for q in advice.questions}, where
    if "question_first" in e:
        assert advice.questions and advice.questions[0].fact == e["question_first"], where
    if "plan_first" in e:
        assert keys[: len(e["plan_first"])] == e["plan_first"], f"{where}: plan is {keys}"
    for a, b in e.get("plan_order", []):
        assert a in keys and b in keys and keys.index(a) < keys.index(b), f"{where}: {a} before {b} in {keys}"
    assert set(e.get("plan_includes", [])) <= set(keys), f"{where}: plan is {keys}"
    assert not set(e.get("plan_excludes", [])) & set(keys), f"{where}: plan is {keys}"
    by_id = {r.id: r for r in rules}
    for step in e.get("blocked", []):
        stoppers = [
            b
            for b in advice.blockers
            if step in by_id[b.rule_id].rule.action.blocks
            or ("*" in by_id[b.rule_id].rule.action.blocks and step in manifest)
        ]
        assert stoppers, f"{where}: nothing blocks {step}"
        for s in advice.plan:
            if (s.technique or s.activity) == step:
                assert s.blocked_by, f"{where}: {step} is not marked blocked"
    for technique, settings in e.get("config", {}).items():
        step = next(s for s in advice.plan if s.technique == technique)
        assert settings.items() <= step.config.items(), where
    for rule_id, subject in e.get("subject", {}).items():
        assert any(s.rule_id == rule_id and s.subject == subject for s in _statements(advice)), where
    for rule_id, text in e.get("what_contains", {}).items():
        assert any(s.rule_id == rule_id and text in s.what for s in _statements(advice)), where
    for name, value in e.get("feasibility", {}).items():
        got = getattr(advice.feasibility, name)
        assert _same(got, value), f"{where}: feasibility.{name} is {got!r}, expected {value!r}"
    looks = {o.technique: o for o in advice.feasibility.outlooks}
    for technique, fields in e.get("outlook", {}).items():
        for name, value in fields.items():
            got = getattr(looks[technique], name)
            assert _same(got, value), f"{where}: {technique}.{name} is {got!r}, expected {value!r}"
    text = "\n".join(advice.estimates)
    for part in e.get("estimates_contain", []):
        assert part in text, f"{where}: estimates lack {part!r}: {advice.estimates}"
    for part in e.get("estimates_exclude", []):
        assert part not in text, f"{where}: estimates say {part!r}: {advice.estimates}"
