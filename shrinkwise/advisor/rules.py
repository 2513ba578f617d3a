"""Rules as data: the schema of one rule file, and loading every rule with its expression compiled.

A rule lives in `rules/<category>/<rule-id>.yaml` (id = file stem). It says when it applies (`when`, a typed
rule-engine expression), what it does (`action`: recommend a technique or an activity, warn, block, or ask),
how serious it is, a three-part message (what, why, what to do), where the knowledge comes from
(`provenance`) and examples that must and must not match. Loading fails early and in one line when any of that
is wrong — including a misspelt fact, a misspelt value, or a technique the manifest does not know.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Literal

import rule_engine
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shrinkwise.advisor.activities import Activity
from shrinkwise.advisor.errors import AdvisorError, did_you_mean, first_validation_error
from shrinkwise.advisor.parser_tables import save as save_parser_tables
from shrinkwise.advisor.provenance import Provenance
from shrinkwise.advisor.ruletypes import context, field_paths, literal_mistakes
from shrinkwise.advisor.template import unknown_placeholders
from shrinkwise.advisor.yaml_io import load_yaml

save_parser_tables()  # rule_engine is imported by now: its parser tables, built here once, serve the next process

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
NOT_RULE_FOLDERS = {"targets", "__pycache__"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Message(_Strict):
    """Three parts, in plain words a newcomer understands. Placeholders like {target.name} are filled in."""

    what: str = Field(min_length=10)
    why: str = Field(min_length=10)
    do: str = Field(min_length=10)


class Action(_Strict):
    kind: Literal["recommend", "warn", "block", "ask"]
    technique: str | None = Field(default=None, description="recommend: a technique id from the manifest")
    activity: Activity | None = Field(default=None, description="recommend: a non-technique step")
    config: dict[str, Any] = Field(default_factory=dict, description="recommend: the technique's settings")
    expected: str = Field(default="", description="recommend: the expected effect, in words")
    order: int = Field(default=50, ge=0, le=100, description="Position in the plan or question list; lower first")
    variant: str = Field(
        default="",
        pattern=r"^[a-z0-9-]*$",
        description="recommend: names a second setting of the same technique as its own plan step (e.g. "
        "embeddings-4bit); steps of one technique and variant are merged",
    )
    name: str = Field(default="", description="recommend: the step's name for people, when not the technique's title")
    marker_op: str = Field(
        default="",
        description="recommend with a variant: an op type in a candidate's graph showing this variant was run "
        "(e.g. GatherBlockQuantized)",
    )
    needs: list[str] = Field(default_factory=list, description="recommend: what it needs beyond the manifest's needs")
    blocks: list[str] = Field(
        default_factory=list, description="block: technique ids, activities, or '*' for all techniques"
    )
    asks: str | None = Field(default=None, description="ask: the fact path the answer fills, e.g. budget.latency_ms")
    choices: list[str] = Field(default_factory=list, description="ask: the allowed answers, if a fixed set")

    @model_validator(mode="after")
    def _shape(self) -> Action:
        if self.kind == "recommend" and (self.technique is None) == (self.activity is None):
            raise ValueError("a recommend action names exactly one of 'technique' or 'activity'")
        if self.kind != "recommend" and (
            self.technique
            or self.activity
            or self.config
            or self.expected
            or self.variant
            or self.marker_op
            or self.name
        ):
            raise ValueError("only a recommend action has technique, activity, config, expected or variant")
        if (self.variant or self.marker_op) and not (self.variant and self.marker_op and self.technique):
            raise ValueError("a variant names its technique and the marker_op that shows it was run")
        if self.activity and self.config:
            raise ValueError("an activity has no config")
        if self.kind == "block" and not self.blocks:
            raise ValueError("a block action lists what it blocks ('*' for every technique)")
        if self.kind != "block" and self.blocks:
            raise ValueError("only a block action has 'blocks'")
        if self.kind == "ask" and not self.asks:
            raise ValueError("an ask action names the fact it asks for ('asks')")
        if self.kind != "ask" and (self.asks or self.choices):
            raise ValueError("only an ask action has 'asks' or 'choices'")
        return self


class Examples(_Strict):
    """Facts (merged over rules/example_base.yaml) on which the rule must fire, and must not."""

    match: list[dict[str, Any]] = Field(min_length=1)
    no_match: list[dict[str, Any]] = Field(min_length=1)


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str = Field(min_length=5)
    scope: Literal["facts", "candidate"] = Field(
        default="facts", description="candidate: evaluated once per result, with the symbol `candidate`"
    )
    when: str = Field(min_length=3)
    action: Action
    severity: Severity
    message: Message
    provenance: list[Provenance] = Field(min_length=1)
    examples: Examples

    @property
    def lessons(self) -> list[str]:
        return sorted({p.lesson for p in self.provenance if p.lesson})


@dataclass(frozen=True)
class LoadedRule:
    """A validated rule, its category (folder) and its compiled expression."""

    rule: Rule
    category: str
    path: str
    compiled: rule_engine.Rule

    @property
    def id(self) -> str:
        return self.rule.id


def _rule_files() -> list[tuple[str, Traversable]]:
    root = resources.files("shrinkwise.rules")
    out: list[tuple[str, Traversable]] = []
    for folder in sorted(root.iterdir(), key=lambda e: e.name):
        if not folder.is_dir() or folder.name in NOT_RULE_FOLDERS or folder.name.startswith((".", "_")):
            continue
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".yaml"):
                out.append((folder.name, entry))
    return out


def compile_rule(rule: Rule, where: str, manifest: dict[str, dict[str, Any]]) -> rule_engine.Rule:
    """Check everything that can be checked without facts, and compile `when` against the typed context."""
    try:
        compiled = rule_engine.Rule(rule.when, context=context(rule.scope))
    except rule_engine.errors.SymbolResolutionError as exc:
        hint = f" (did you mean '{exc.suggestion}'?)" if getattr(exc, "suggestion", None) else ""
        raise AdvisorError(f"'when' names an unknown fact '{exc.symbol_name}'{hint}", where=where) from None
    except rule_engine.errors.AttributeResolutionError as exc:
        hint = f" (did you mean '{exc.suggestion}'?)" if getattr(exc, "suggestion", None) else ""
        raise AdvisorError(f"'when' names an unknown field '{exc.attribute_name}'{hint}", where=where) from None
    except rule_engine.errors.EngineError as exc:
        raise AdvisorError(f"'when' does not compile: {exc.message}", where=where) from None
    problems = literal_mistakes(rule.when, rule.scope)
    if problems:
        raise AdvisorError(f"'when': {problems[0]}", where=where)
    texts = [rule.message.what, rule.message.why, rule.message.do, rule.action.expected]
    for text in texts:
        bad = unknown_placeholders(text, rule.scope)
        if bad:
            raise AdvisorError(f"message names an unknown fact '{{{bad[0]}}}'", where=where)
    action = rule.action
    if action.technique is not None and action.technique not in manifest:
        raise AdvisorError(
            f"unknown technique '{action.technique}'" + did_you_mean(action.technique, manifest), where=where
        )
    for blocked in action.blocks:
        if blocked != "*" and blocked not in manifest and blocked not in Activity.__args__:  # type: ignore[attr-defined]
            raise AdvisorError(f"blocks unknown technique or activity '{blocked}'", where=where)
    if action.asks is not None and action.asks not in field_paths("facts"):
        raise AdvisorError(
            f"asks for an unknown fact '{action.asks}'" + did_you_mean(action.asks, field_paths("facts")), where=where
        )
    return compiled


def parse_rule(raw: Any, category: str, stem: str, manifest: dict[str, dict[str, Any]]) -> LoadedRule:
    where = f"rules/{category}/{stem}.yaml"
    if not isinstance(raw, dict):
        raise AdvisorError("is not a YAML mapping", where=where)
    try:
        rule = Rule.model_validate(raw)
    except ValidationError as exc:
        raise AdvisorError(first_validation_error(exc, Rule), where=where) from None
    if rule.id != stem:
        raise AdvisorError(f"id '{rule.id}' must equal the file name '{stem}'", where=where)
    return LoadedRule(rule=rule, category=category, path=where, compiled=compile_rule(rule, where, manifest))


def load_rules(manifest: dict[str, dict[str, Any]]) -> list[LoadedRule]:
    """Every rule shipped in `rules/`, validated and compiled, sorted by id (ids are unique across folders)."""
    out: dict[str, LoadedRule] = {}
    for category, entry in _rule_files():
        stem = entry.name[: -len(".yaml")]
        try:
            raw = load_yaml(entry.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            raise AdvisorError(f"is not valid YAML{at}", where=f"rules/{category}/{entry.name}") from None
        loaded = parse_rule(raw, category, stem, manifest)
        if loaded.id in out:
            raise AdvisorError(f"duplicate rule id (also in {out[loaded.id].path})", where=loaded.path)
        out[loaded.id] = loaded
    return [out[k] for k in sorted(out)]


_CACHE: dict[str, list[LoadedRule]] = {}


_CACHE_LOCK = threading.Lock()


def _key(manifest: dict[str, dict[str, Any]]) -> str:
    return json.dumps(manifest, sort_keys=True, default=str)


def cached_rules(manifest: dict[str, dict[str, Any]]) -> list[LoadedRule]:
    """`load_rules`, once per manifest content (rules are read-only data; loading takes a fraction of a second).
    Thread-safe: the GUI warms the cache on a worker thread while the UI thread may ask whether it is ready."""
    key = _key(manifest)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = load_rules(manifest)
        return _CACHE[key]


def rules_cached(manifest: dict[str, dict[str, Any]]) -> bool:
    return _key(manifest) in _CACHE
