"""Filling rule messages with the facts: `{feasibility.size_gap:.1f}`, `{target.name}`, `{candidate.label}`.

Why our own tiny formatter instead of `str.format`: unknown values must read as "unknown" instead of raising, lists
must read as words, and every placeholder must be checked against the facts' shape when rules are loaded.

Two small additions keep messages readable when a fact is a yes/no or may be unknown:
  `{target.fp16_accelerated:?is|is not}`   a yes/no fact picks a phrase (a third phrase, after another `|`, is
                                           for "unknown"); no more "accelerated: no" or "supports it (yes)".
  `[[about {x:.3g} ms||at an unknown speed]]`  the part before `||` is used only when every fact it names is
                                           known, else the part after it (which may be empty: `[[, group {g}]]`);
                                           no more "about unknown ms" or "group 'unknown'".
"""

from __future__ import annotations

import re
from typing import Any

from shrinkwise.advisor.ruletypes import field_paths

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)(?::([^{}]*))?\}")
OPTIONAL = re.compile(r"\[\[(.*?)(?:\|\|(.*?))?\]\]", re.DOTALL)


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


def _choice(value: Any, spec: str) -> str:
    """`?yes|no[|unknown]`: the phrase for a yes/no fact."""
    options = spec[1:].split("|")
    if value is None:
        return options[2] if len(options) > 2 else "unknown"
    return options[0] if value else (options[1] if len(options) > 1 else "")


def _show(value: Any, spec: str | None) -> str:
    if spec and spec.startswith("?"):
        return _choice(value, spec)
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


def _fill(text: str, symbols: dict[str, Any]) -> str:
    return PLACEHOLDER.sub(lambda m: _show(_lookup(symbols, m.group(1)), m.group(2)), text)


def _known(text: str, symbols: dict[str, Any]) -> bool:
    return all(_lookup(symbols, m.group(1)) is not None for m in PLACEHOLDER.finditer(text))


def render(text: str, symbols: dict[str, Any]) -> str:
    """Replace each placeholder by the fact's value, formatted for people (optional parts first, see above)."""
    text = OPTIONAL.sub(lambda m: m.group(1) if _known(m.group(1), symbols) else (m.group(2) or ""), text)
    return re.sub(r"  +", " ", _fill(text, symbols)).strip()
