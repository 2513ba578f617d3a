"""The facts vocabulary: strict parsing with one-line errors, a JSON schema, and facts from a project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shrinkwise.advisor.errors import AdvisorError
from shrinkwise.advisor.examples import example_base, example_facts
from shrinkwise.advisor.facts import Facts, facts_json_schema, load_facts_file, parse_facts


def test_base_example_is_a_valid_facts_file_and_round_trips() -> None:
    facts = example_facts({})
    again = Facts.model_validate_json(facts.model_dump_json())
    assert again == facts
    assert parse_facts(example_base()) == facts


@pytest.mark.parametrize(
    ("raw", "pattern"),
    [
        ({"model": {"sizemb": 3}}, r"field 'model.sizemb': is not a known field \(did you mean 'size_mb'\?\)"),
        ({"budget": {"latency_ms": -3}}, r"field 'budget.latency_ms': Input should be greater than 0"),
        ({"budget": {"latency_ms": "fast"}}, r"field 'budget.latency_ms'"),
        ({"stage": "done"}, r"field 'stage'"),
        ({"model": {"weight_dtype": "float32"}}, r"field 'model.weight_dtype'"),
        ({"results": {"candidates": [{"id": "a", "agreement": 1.5}]}}, r"field 'results.candidates.0.agreement'"),
        ({"budgets": {}}, r"field 'budgets': is not a known field \(did you mean 'budget'\?\)"),
    ],
)
def test_bad_facts_name_the_field_in_one_line(raw: dict, pattern: str) -> None:
    with pytest.raises(AdvisorError, match=pattern) as info:
        parse_facts(raw)
    assert "\n" not in str(info.value)


def test_facts_file_errors(tmp_path: Path) -> None:
    with pytest.raises(AdvisorError, match="no such facts file"):
        load_facts_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(AdvisorError, match=r"not valid JSON \(line 1"):
        load_facts_file(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(AdvisorError, match="expected a JSON object"):
        load_facts_file(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"target_id": "phone-npu"}))
    assert load_facts_file(good).target_id == "phone-npu"


def test_schema_documents_every_section() -> None:
    schema = facts_json_schema()
    assert {"model", "budget", "data", "stage", "target_id", "results"} <= set(schema["properties"])
    budget = schema["$defs"]["BudgetFacts"]
    assert budget["additionalProperties"] is False
    assert "percentage points" in budget["properties"]["accuracy_drop_pts"]["description"]


def test_unknown_means_none_not_a_default() -> None:
    facts = Facts()
    assert facts.budget.accuracy_drop_pts is None  # the papers give no default tolerance: ask for it
    assert facts.data.has_eval_set is None
