"""What the advisor hands back: an ordered plan, warnings, blockers and questions — each with its reason and source.

Plain data (pydantic) so the CLI prints it, the GUI shows it, reports embed it and `--json` writes it unchanged.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shrinkwise.advisor.decision import Decision
from shrinkwise.advisor.feasibility import Feasibility
from shrinkwise.advisor.provenance import Provenance


class Statement(BaseModel):
    """One thing the advisor says, with the rule behind it and where that knowledge comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule_id: str
    title: str
    severity: str
    what: str
    why: str
    do: str
    subject: str | None = Field(default=None, description="The candidate this is about, for result rules")
    sources: list[Provenance]


class PlanStep(Statement):
    position: int
    technique: str | None = None
    activity: str | None = None
    name: str = Field(description="What the step is, for people")
    config: dict[str, Any] = Field(default_factory=dict)
    variant: str = Field(default="", description="A second setting of the same technique (e.g. embeddings-4bit)")
    expected: str = ""
    needs: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list, description="Needs the facts say are not available")
    needs_training: bool = False
    in_app: bool = Field(default=True, description="Shrinkwise can do this step itself")
    blocked_by: list[str] = Field(default_factory=list, description="Rule ids of blockers that stop this step")
    also_from: list[str] = Field(default_factory=list, description="Other rules that recommended the same step")
    done_by: list[str] = Field(
        default_factory=list, description="Candidates that already ran exactly this technique (and variant)"
    )
    optional: bool = Field(default=False, description="A candidate already meets the budget; this step is not needed")

    @property
    def key(self) -> str:
        """One key per plan step, as the project's plan edits name it: a variant of a technique (e.g.
        `int8_dynamic:embeddings-4bit`) is a step of its own; an activity is `activity:<name>`."""
        if self.technique:
            return self.technique + (f":{self.variant}" if self.variant else "")
        return f"activity:{self.activity}"


class Question(Statement):
    fact: str = Field(description="The fact the answer fills, e.g. budget.latency_ms")
    choices: list[str] = Field(default_factory=list)


class Advice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str
    target_name: str
    plan: list[PlanStep]
    warnings: list[Statement]
    blockers: list[Statement]
    questions: list[Question]
    feasibility: Feasibility
    estimates: list[str] = Field(
        default_factory=list, description="Labelled numbers the advisor computed, not measured"
    )
    rules_fired: list[str]
    decision: Decision = Field(description="The one recommendation: which candidate to ship and why")

    def all_rule_ids(self) -> list[str]:
        return sorted(
            {s.rule_id for group in (self.plan, self.warnings, self.blockers, self.questions) for s in group}
            | {a for s in self.plan for a in s.also_from}
        )
