"""The advisor's own error type.

The advisor may not import the engine (`compression.errors`), so it raises `AdvisorError`, a `ValueError` whose
message is one line that names the field or file at fault. The CLI turns it into a `ShrinkwiseError` (exit 2).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pydantic import ValidationError


class AdvisorError(ValueError):
    """Facts, a rule, or a target that cannot be used, explained in one line."""

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None) -> None:
        text = f"{where}: {message}" if where else message
        if fix:
            text += f" — {fix}"
        super().__init__(text.replace("\n", " "))
        self.where = where


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a close spelling exists, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def first_validation_error(exc: ValidationError, model: type | None = None) -> str:
    """The first pydantic error as 'field 'a.b': message', with a spelling hint for unknown fields."""
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    where = ".".join(loc) or "(top level)"
    msg = err["msg"]
    if err["type"] == "extra_forbidden" and model is not None:
        msg = "is not a known field" + did_you_mean(loc[-1], _fields_at(model, loc[:-1]))
    elif "input" in err and err["type"] not in ("missing",):
        shown = repr(err["input"])
        if len(shown) <= 40:
            msg += f" (got {shown})"
    return f"field '{where}': {msg}"


def _fields_at(model: type, path: list[str]) -> list[str]:
    """Field names of the nested pydantic model found by following `path` (list indices skipped)."""
    current: type | None = model
    for part in path:
        if part.isdigit():
            continue
        fields = getattr(current, "model_fields", {})
        if part not in fields:
            return []
        current = _inner_model(fields[part].annotation)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def _inner_model(annotation: object) -> type | None:
    import typing

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
