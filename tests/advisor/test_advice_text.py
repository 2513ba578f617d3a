"""Issue 14's advisor text, read as a newcomer reads `shrinkwise advise`: every scenario and every rule example is
rendered and checked for leaked internals ("gap 0.369x", "supports it (yes)", "group 'unknown'", "about unknown
ms (none)", Python's True/None), for the device's name said once instead of in every paragraph, for caveats on
sources that were not checked, and for what it says about profiling (the CLI does not profile on `new`/`model`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shrinkwise.advisor.engine import advise
from shrinkwise.advisor.examples import example_facts
from shrinkwise.advisor.render import advice_text
from shrinkwise.advisor.rules import LoadedRule
from shrinkwise.advisor.targets import get_target
from shrinkwise.advisor.template import render

SCENARIOS = sorted(Path(__file__).with_name("scenarios").glob("*.yaml"))
LEAKS = {
    "a raw gap": re.compile(r"\bgap \d"),
    "a yes/no in brackets": re.compile(r"\((yes|no)\)"),
    "a yes/no after a colon": re.compile(r": (yes|no)\b"),
    "an unknown group": re.compile(r"group '(unknown|None)'"),
    "an unknown number": re.compile(r"\bunknown ?(ms|MB|x|%)|about unknown"),
    "a source enum": re.compile(r"\((none|host|device|proxy)\)"),
    "a Python value": re.compile(r"\b(None|True|False)\b"),
}


def _all_facts(rules: list[LoadedRule]) -> list[tuple[str, dict[str, Any]]]:
    out = [(f"{r.id} example {i}", ex) for r in rules for i, ex in enumerate(r.rule.examples.match)]
    return out + [(p.stem, yaml.safe_load(p.read_text(encoding="utf-8"))["facts"]) for p in SCENARIOS]


def test_no_advice_text_leaks_internals(manifest: dict[str, Any], rules: list[LoadedRule]) -> None:
    problems = []
    for name, patch in _all_facts(rules):
        text = advice_text(advise(example_facts(patch), manifest, rules), "m")
        for line in text.splitlines():
            if line.strip().startswith(("source:", "note:")):
                continue  # source titles are quoted as published
            problems += [f"{name}: {what}: {line.strip()}" for what, rx in LEAKS.items() if rx.search(line)]
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("target", ["desktop-avx512-vnni", "phone-arm-dotprod", "raspberry-pi-4", "desktop-avx2"])
def test_the_device_is_named_in_the_title_not_in_every_paragraph(
    target: str, manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    patch = {
        "target_id": target,
        "budget": {"accuracy_drop_pts": None},
        "data": {"calibration_samples": 0, "eval_labelled": False},
        "results": {
            "candidates": [{"id": "c1", "techniques": ["fp16"], "size_ratio": 0.5, "latency_source": "estimate"}]
        },
    }
    advice = advise(example_facts(patch), manifest, rules)
    text = advice_text(advice, "digits")
    name = get_target(target).name
    assert text.splitlines()[0].endswith(name)
    assert text.count(name) <= 3, text.count(name)
    assert len(advice.warnings) + len(advice.plan) + len(advice.questions) >= 8  # a full advice, not an empty one


def test_yes_no_facts_read_as_phrases(manifest: dict[str, Any], rules: list[LoadedRule]) -> None:
    advice = advise(example_facts({"target_id": "desktop-avx2", "data": {"calibration_samples": 0}}), manifest, rules)
    fp16 = next(s for s in advice.plan if s.technique == "fp16")
    assert "which is not the case on this device" in fp16.why
    no_calibration = next(s for s in advice.warnings if s.rule_id == "no-calibration-data")
    assert "or dynamic int8 (this device quantizes activations on the fly)" in no_calibration.do


def test_template_choices_and_optional_parts() -> None:
    symbols = {"flag": True, "off": False, "gone": None, "group": "class-7", "ms": 2.5}
    assert render("{flag:?is|is not} and {off:?is|is not} and {gone:?is|is not|may be}", symbols) == (
        "is and is not and may be"
    )
    assert render("lost [[in group '{group}'||in one group]]", symbols) == "lost in group 'class-7'"
    assert render("lost [[in group '{gone}'||in one group]]", symbols) == "lost in one group"
    assert render("runs[[ in about {ms:.2g} ms]] now[[ ({gone})]].", symbols) == "runs in about 2.5 ms now."


def test_feasibility_says_in_words_whether_the_budget_is_already_met(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    met = advice_text(
        advise(example_facts({"target_id": "this-computer", "budget": {"latency_ms": 1.0}}), manifest, rules)
    )
    assert "latency: now about 0.067 ms (measured on this computer); already within the latency budget" in met
    missed = advice_text(advise(example_facts({"budget": {"size_mb": 0.1}}), manifest, rules))
    assert "must shrink 3.62x to meet the size budget" in missed


def test_provenance_notes_that_a_source_was_not_checked_are_shown(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    advice = advise(example_facts({"model": {"arch_family": "transformer"}}), manifest, rules)
    warning = next(s for s in advice.warnings if s.rule_id == "static-int8-hurts-transformers")
    note = next(p.note for p in warning.sources if "not checked" in p.note)
    assert f"note: {note}" in " ".join(advice_text(advice).split())


def test_profiling_advice_says_how_to_profile_from_the_command_line(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    advice = advise(example_facts({"model": {"size_mb": None, "parameters": None}}), manifest, rules)
    step = next(s for s in advice.plan if s.activity == "profile_hot_spots")
    # `shrinkwise new` and `shrinkwise model` do not profile; only the app does when a model is added.
    assert "'shrinkwise profile PROJECT'" in step.do and "when you add the model" not in step.do


def test_a_missing_budget_is_named_in_words_and_a_cosine_tolerance_counts_as_the_quality_budget(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    patch = {
        "budget": {"accuracy_drop_pts": None, "min_cosine": 0.99, "size_mb": 0.1},
        "data": {"eval_labelled": False},
    }
    advice = advise(example_facts(patch), manifest, rules)
    missing = next(s for s in advice.warnings if s.rule_id == "budget-not-defined")
    assert "a latency limit (ms), a memory limit (MB)" in missing.what
    assert "accuracy" not in missing.what and "latency_ms" not in missing.what


def test_a_question_is_worded_for_people_and_says_how_to_answer_it(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    text = advice_text(advise(example_facts({}), manifest, rules))
    assert "? How many milliseconds may one inference take on the device?" in text
    assert "(shrinkwise answer PROJECT budget.latency_ms=VALUE)" in text
    assert "? budget.latency_ms" not in text


def test_identifiers_are_never_broken_across_lines(manifest: dict[str, Any], rules: list[LoadedRule]) -> None:
    text = advice_text(advise(example_facts({"model": {"arch_family": "transformer"}}), manifest, rules))
    ids = {r.id for r in rules}
    assert not [line for line in text.splitlines() if line.rstrip().endswith("-") and not line.rstrip().endswith(" -")]
    assert all(any(i in line for line in text.splitlines()) for i in ids if i in " ".join(text.split()))
