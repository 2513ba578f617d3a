"""Typing rule expressions against the facts.

Why rule-engine with a typed context: a rule's `when` is compiled once at load time against the exact shape of
`Situation`, so a misspelt fact (`model.sizemb`), a comparison of text with a number, or a comparison with a
value that may be unknown (`budget.latency_ms > 5` without `??`) fails when the rules are loaded, with a "did
you mean" — not silently at the user's desk. Unknown facts are NULLABLE; rules must say what unknown means
(`(budget.latency_ms ?? 0) > 5`, `data.has_eval_set == false`).

This module turns the pydantic models into rule-engine types, and lists the allowed values of every
`Literal` field so that a misspelt value (`target.kind == 'nup'`) fails early too.
"""

from __future__ import annotations

import re
import types
import typing
from functools import lru_cache
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from rule_engine import Context, DataType, type_resolver_from_dict

from shrinkwise.advisor.situation import CandidateView, Situation

_NONE = type(None)


def _datatype(annotation: Any, registry: dict[str, Any]) -> Any:
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not _NONE]
        dt = _datatype(inner[0], registry)
        return DataType.NULLABLE(dt) if len(inner) < len(args) else dt
    if origin is Literal:
        return DataType.STRING if all(isinstance(a, str) for a in args) else DataType.FLOAT
    if origin in (list, tuple, set, frozenset):
        return DataType.ARRAY(_datatype(args[0], registry))
    if origin is dict:
        return DataType.MAPPING(_datatype(args[0], registry), _datatype(args[1], registry))
    if annotation is bool:
        return DataType.BOOLEAN
    if annotation in (int, float):
        return DataType.FLOAT
    if annotation is str:
        return DataType.STRING
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return object_type(annotation, registry)
    raise TypeError(f"no rule-engine type for {annotation!r}")


def object_type(model: type[BaseModel], registry: dict[str, Any] | None = None) -> Any:
    """An OBJECT type whose attributes are the model's fields (read with getattr at evaluation time)."""
    registry = {} if registry is None else registry
    if model.__name__ in registry:
        return registry[model.__name__]
    attrs = {name: _datatype(field.annotation, registry) for name, field in model.model_fields.items()}
    registry[model.__name__] = DataType.OBJECT(model.__name__, attributes=attrs)
    return registry[model.__name__]


@lru_cache(maxsize=2)
def symbol_types(scope: str) -> dict[str, Any]:
    """Top-level symbols for a rule: the Situation's fields, plus `candidate` for per-candidate rules."""
    registry: dict[str, Any] = {}
    out = {name: _datatype(field.annotation, registry) for name, field in Situation.model_fields.items()}
    if scope == "candidate":
        out["candidate"] = object_type(CandidateView, registry)
    return out


def context(scope: str) -> Context:
    return Context(type_resolver=type_resolver_from_dict(symbol_types(scope)))


# --- paths and allowed values --------------------------------------------------------------------------------------


def _inner(annotation: Any) -> Any:
    """Strip Optional and list[] wrappers."""
    while True:
        origin = get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not _NONE)
        elif origin in (list, tuple, set, frozenset):
            annotation = get_args(annotation)[0]
        else:
            return annotation


@lru_cache(maxsize=2)
def field_paths(scope: str) -> dict[str, Any]:
    """Every dotted path a rule or a message may name, mapped to its (unwrapped) annotation."""
    roots: dict[str, Any] = {name: f.annotation for name, f in Situation.model_fields.items()}
    if scope == "candidate":
        roots["candidate"] = CandidateView
    out: dict[str, Any] = {}

    def walk(prefix: str, annotation: Any, depth: int) -> None:
        out[prefix] = _inner(annotation)
        inner = out[prefix]
        if depth < 4 and isinstance(inner, type) and issubclass(inner, BaseModel):
            for name, field in inner.model_fields.items():
                walk(f"{prefix}.{name}", field.annotation, depth + 1)

    for name, annotation in roots.items():
        walk(name, annotation, 0)
    return out


def allowed_values(scope: str, path: str) -> tuple[str, ...] | None:
    """The values a Literal-typed field (or list of them) may take; None when the field is free text."""
    annotation = field_paths(scope).get(path)
    if get_origin(annotation) is Literal:
        return tuple(str(a) for a in get_args(annotation))
    return None


_COMPARE = re.compile(r"\b([a-z_][a-z0-9_.]*)\s*(?:==|!=)\s*'([^']*)'")
_COMPARE_REV = re.compile(r"'([^']*)'\s*(?:==|!=)\s*([a-z_][a-z0-9_.]*)\b")
_IN_LIST = re.compile(r"\b([a-z_][a-z0-9_.]*)\s+in\s+\[([^\]]*)\]")
_VALUE_IN = re.compile(r"'([^']*)'\s+in\s+([a-z_][a-z0-9_.]*)\b")


def literal_mistakes(expression: str, scope: str) -> list[str]:
    """Strings compared with a Literal field that are not among its values (rule-engine cannot see these)."""
    pairs: list[tuple[str, str]] = []
    pairs += [(p, v) for p, v in _COMPARE.findall(expression)]
    pairs += [(p, v) for v, p in _COMPARE_REV.findall(expression)]
    pairs += [(p, v) for v, p in _VALUE_IN.findall(expression)]
    for path, items in _IN_LIST.findall(expression):
        pairs += [(path, v) for v in re.findall(r"'([^']*)'", items)]
    problems = []
    for path, value in pairs:
        allowed = allowed_values(scope, path)
        if allowed is not None and value not in allowed:
            problems.append(f"'{value}' is not a value of {path} (one of: {', '.join(allowed)})")
    return problems
