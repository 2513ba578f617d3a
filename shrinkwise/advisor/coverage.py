"""Which lessons the rules encode: every lesson ID in `rules/lessons.yaml` with its rules, or why it has none.

Why: the knowledge base is only as good as its coverage of what practitioners reported. A lesson that no rule
encodes must say why, so gaps are deliberate and visible (`shrinkwise rules --coverage`).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shrinkwise.advisor.errors import AdvisorError, first_validation_error
from shrinkwise.advisor.rules import LoadedRule
from shrinkwise.advisor.yaml_io import load_yaml


class Lesson(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^L-[A-Z]+-\d\d$")
    tag: Literal["C", "S", "U", "V", "X"]
    title: str
    not_encoded: str | None = Field(default=None, description="Why no rule encodes it")


class CoverageRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lesson: str
    tag: str
    title: str
    rules: list[str]
    not_encoded: str | None = None


@lru_cache(maxsize=1)
def load_lessons() -> tuple[Lesson, ...]:
    raw = load_yaml(resources.files("shrinkwise.rules").joinpath("lessons.yaml").read_text(encoding="utf-8"))
    try:
        lessons = tuple(Lesson.model_validate(item) for item in raw["lessons"])
    except ValidationError as exc:
        raise AdvisorError(first_validation_error(exc, Lesson), where="rules/lessons.yaml") from None
    ids = [l.id for l in lessons]
    if len(ids) != len(set(ids)):
        raise AdvisorError("a lesson ID appears twice", where="rules/lessons.yaml")
    return lessons


def coverage(rules: list[LoadedRule]) -> list[CoverageRow]:
    """One row per lesson, in the digest's order; rules sorted by id."""
    lessons = load_lessons()
    known = {l.id for l in lessons}
    by_lesson: dict[str, set[str]] = {}
    for loaded in rules:
        for lesson in loaded.rule.lessons:
            if lesson not in known:
                raise AdvisorError(f"cites unknown lesson '{lesson}'", where=loaded.path)
            by_lesson.setdefault(lesson, set()).add(loaded.id)
    return [
        CoverageRow(
            lesson=l.id, tag=l.tag, title=l.title, rules=sorted(by_lesson.get(l.id, ())), not_encoded=l.not_encoded
        )
        for l in lessons
    ]


def coverage_problems(rows: list[CoverageRow]) -> list[str]:
    """Lessons with neither a rule nor a reason, or with both (a stale reason)."""
    out = []
    for row in rows:
        if not row.rules and not row.not_encoded:
            out.append(f"{row.lesson}: no rule encodes it and rules/lessons.yaml gives no reason")
        if row.rules and row.not_encoded:
            out.append(f"{row.lesson}: encoded by {', '.join(row.rules)} but still marked not_encoded")
    return out
