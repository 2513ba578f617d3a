"""Rule examples: facts merged over `rules/example_base.yaml`, then checked against the rule.

Why a shared base: an example should show only the facts it is about ("weight_dtype: fp16 must not match"),
while still being a complete, valid facts document.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from importlib import resources
from typing import Any

from shrinkwise.advisor.engine import fire
from shrinkwise.advisor.facts import Facts, parse_facts
from shrinkwise.advisor.rules import LoadedRule
from shrinkwise.advisor.situation import build_situation
from shrinkwise.advisor.yaml_io import load_yaml


@lru_cache(maxsize=1)
def example_base() -> dict[str, Any]:
    return load_yaml(resources.files("shrinkwise.rules").joinpath("example_base.yaml").read_text(encoding="utf-8"))


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; any other value (including lists and null) replaces."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def example_facts(patch: dict[str, Any], where: str = "example") -> Facts:
    return parse_facts(merge(example_base(), patch), where=where)


def check_examples(loaded: LoadedRule, manifest: dict[str, dict[str, Any]]) -> list[str]:
    """Problems with a rule's examples: one line per example that does not behave as declared."""
    problems = []
    for kind, items in (("match", loaded.rule.examples.match), ("no_match", loaded.rule.examples.no_match)):
        for i, patch in enumerate(items):
            facts = example_facts(patch, where=f"{loaded.path} examples.{kind}[{i}]")
            situation = build_situation(facts, manifest)
            fired = any(f.rule.id == loaded.id for f in fire(situation, [loaded]))
            if fired != (kind == "match"):
                problems.append(
                    f"{loaded.path}: examples.{kind}[{i}] {'did not match' if kind == 'match' else 'matched'}"
                )
    return problems
