"""Every rule file: schema, compiled expression, known technique with a valid config, provenance, examples."""

from __future__ import annotations

import importlib
from importlib import resources
from typing import Any

import pytest
import yaml

from shrinkwise.advisor.coverage import load_lessons
from shrinkwise.advisor.errors import AdvisorError
from shrinkwise.advisor.examples import check_examples
from shrinkwise.advisor.rules import LoadedRule, compile_rule, load_rules, parse_rule


def _rule_files() -> list[tuple[str, str]]:
    root = resources.files("shrinkwise.rules")
    return sorted(
        (folder.name, entry.name[:-5])
        for folder in root.iterdir()
        if folder.is_dir() and folder.name not in ("targets", "__pycache__")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


RULE_FILES = _rule_files()
RULE_IDS = [stem for _, stem in RULE_FILES]


def _by_id(rules: list[LoadedRule], rule_id: str) -> LoadedRule:
    return next(r for r in rules if r.id == rule_id)


def test_there_are_many_rules_in_every_category(rules: list[LoadedRule]) -> None:
    assert len(rules) == len(RULE_FILES) >= 80
    categories = {r.category for r in rules}
    assert {
        "process",
        "feasibility",
        "tradeoffs",
        "quantization",
        "palettization",
        "mixed_precision",
        "pruning",
        "distillation",
        "architecture",
        "profiling",
        "evaluation",
        "results",
        "questions",
    } <= categories


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_is_valid_and_sourced(rules: list[LoadedRule], rule_id: str) -> None:
    loaded = _by_id(rules, rule_id)
    assert loaded.path.endswith(f"/{rule_id}.yaml")
    assert loaded.rule.provenance, "every rule names at least one source"
    known = {l.id for l in load_lessons()}
    for p in loaded.rule.provenance:
        assert p.lesson is None or p.lesson in known
        if p.confidence in ("paper", "vendor_doc"):
            assert p.url and p.url.startswith("https://")
    a = loaded.rule.action
    if a.kind == "recommend" and a.technique is None:
        assert a.activity is not None


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_examples_behave_as_declared(rules: list[LoadedRule], manifest: dict[str, Any], rule_id: str) -> None:
    assert check_examples(_by_id(rules, rule_id), manifest) == []


RECOMMENDING = [
    stem
    for cat, stem in RULE_FILES
    if (
        yaml.safe_load(resources.files("shrinkwise.rules").joinpath(cat, f"{stem}.yaml").read_text(encoding="utf-8"))
        .get("action", {})
        .get("technique")
    )
]


@pytest.mark.parametrize("rule_id", RECOMMENDING)
def test_recommended_config_validates_against_the_technique(
    rules: list[LoadedRule], manifest: dict[str, Any], rule_id: str
) -> None:
    a = _by_id(rules, rule_id).rule.action
    module_name = manifest[a.technique]["module"]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:  # the technique is being written by someone else; say which one is missing
        pytest.skip(f"technique module {module_name} does not exist yet ({exc.name})")
    config = module.Config.model_validate({"technique": a.technique, **a.config})
    assert config.technique == a.technique


def test_every_technique_in_the_manifest_is_recommended_somewhere(
    rules: list[LoadedRule], manifest: dict[str, Any]
) -> None:
    recommended = {r.rule.action.technique for r in rules if r.rule.action.technique}
    assert recommended >= set(manifest) - {"prune_unstructured", "int4_weight_only"}, (
        "only techniques we warn about may go unrecommended"
    )


# --- loading fails early, in one line, naming what is wrong ---------------------------------------------------------


def _rule(**changes: Any) -> dict[str, Any]:
    raw = yaml.safe_load(
        resources.files("shrinkwise.rules").joinpath("quantization", "fp16-first.yaml").read_text(encoding="utf-8")
    )
    raw.update(changes)
    return raw


def test_a_misspelt_fact_fails_at_load_time_with_a_suggestion(manifest: dict[str, Any]) -> None:
    with pytest.raises(AdvisorError, match=r"unknown field 'weight_dtpye'.*did you mean 'weight_dtype'"):
        parse_rule(_rule(when="model.weight_dtpye == 'fp32'"), "quantization", "fp16-first", manifest)
    with pytest.raises(AdvisorError, match=r"unknown fact 'modle'"):
        parse_rule(_rule(when="modle.size_mb > 1"), "quantization", "fp16-first", manifest)


def test_a_misspelt_value_fails_at_load_time(manifest: dict[str, Any]) -> None:
    with pytest.raises(AdvisorError, match=r"'fp23' is not a value of model.weight_dtype"):
        parse_rule(_rule(when="model.weight_dtype == 'fp23'"), "quantization", "fp16-first", manifest)
    with pytest.raises(AdvisorError, match=r"'nup' is not a value of target.kind"):
        parse_rule(_rule(when="target.kind in ['cpu', 'nup']"), "quantization", "fp16-first", manifest)


def test_an_unknown_may_not_be_compared_without_saying_what_unknown_means(manifest: dict[str, Any]) -> None:
    with pytest.raises(AdvisorError, match="does not compile"):
        parse_rule(_rule(when="budget.latency_ms > 5"), "quantization", "fp16-first", manifest)
    parse_rule(_rule(when="(budget.latency_ms ?? 0) > 5"), "quantization", "fp16-first", manifest)


def test_unknown_technique_placeholder_and_id_are_refused(manifest: dict[str, Any]) -> None:
    bad_action = dict(_rule()["action"], technique="fp61")
    with pytest.raises(AdvisorError, match=r"unknown technique 'fp61' \(did you mean 'fp16'\?\)"):
        parse_rule(_rule(action=bad_action), "quantization", "fp16-first", manifest)
    message = dict(_rule()["message"], what="Shrink {model.sizemb} first, please.")
    with pytest.raises(AdvisorError, match=r"unknown fact '\{model.sizemb\}'"):
        parse_rule(_rule(message=message), "quantization", "fp16-first", manifest)
    with pytest.raises(AdvisorError, match="must equal the file name"):
        parse_rule(_rule(), "quantization", "other-name", manifest)


def test_schema_errors_name_the_field(manifest: dict[str, Any]) -> None:
    raw = _rule()
    raw["provenance"] = [dict(raw["provenance"][0], confidence="very")]
    with pytest.raises(AdvisorError, match=r"field 'provenance.0.confidence'"):
        parse_rule(raw, "quantization", "fp16-first", manifest)
    with pytest.raises(AdvisorError, match=r"field 'severty': is not a known field \(did you mean 'severity'\?\)"):
        parse_rule(dict(_rule(), severty="info"), "quantization", "fp16-first", manifest)
    paper_without_url = [{"source": "A paper", "claim": "Something it says, in our words.", "confidence": "paper"}]
    with pytest.raises(AdvisorError, match="needs a url"):
        parse_rule(_rule(provenance=paper_without_url), "quantization", "fp16-first", manifest)


def test_actions_must_be_well_formed(manifest: dict[str, Any]) -> None:
    with pytest.raises(AdvisorError, match="exactly one of 'technique' or 'activity'"):
        parse_rule(_rule(action={"kind": "recommend"}), "quantization", "fp16-first", manifest)
    with pytest.raises(AdvisorError, match="names the fact it asks for"):
        parse_rule(_rule(action={"kind": "ask"}), "quantization", "fp16-first", manifest)
    with pytest.raises(AdvisorError, match="asks for an unknown fact 'budget.latency'"):
        parse_rule(_rule(action={"kind": "ask", "asks": "budget.latency"}), "quantization", "fp16-first", manifest)


def test_compile_rule_is_what_load_uses(rules: list[LoadedRule], manifest: dict[str, Any]) -> None:
    loaded = rules[0]
    assert compile_rule(loaded.rule, loaded.path, manifest).text == loaded.compiled.text


def test_loading_is_deterministic(manifest: dict[str, Any]) -> None:
    assert [r.id for r in load_rules(manifest)] == sorted(RULE_IDS)
