"""Filling rule messages with the facts: `{feasibility.size_gap:.1f}`, `{target.name}`, `{candidate.label}`.

Why our own tiny formatter instead of `str.format`: unknown values must read as "unknown" instead of raising, lists
must read as words, and every placeholder must be checked against the facts' shape when rules are loaded.
"""

from __future__ import annotations

import re
from typing import Any

from shrinkwise.advisor.ruletypes import field_paths

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)(?::([^{}]*))?\}")


def placeholders(text: str) -> list[str]:
    return [m.group(1) for m in PLACEHOLDER.finditer(text)]


def unknown_placeholders(text: str, scope: str) -> list[str]:
    paths = field_paths(scope)
    return [p for p in placeholders(text) if p not in paths]


def _lookup(root: dict[str, Any], path: str) -> Any:
    head, *rest = path.split(".")
    value = root.get(head)
    for part in rest:
        if value is None:
            return None
        value = getattr(value, part, None)
    return value


def _show(value: Any, spec: str | None) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(getattr(v, "name", v)) for v in value) if value else "none"
    if spec:
        try:
            return format(value, spec)
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def render(text: str, symbols: dict[str, Any]) -> str:
    """Replace each placeholder by the fact's value, formatted for people."""
    return PLACEHOLDER.sub(lambda m: _show(_lookup(symbols, m.group(1)), m.group(2)), text).strip()
