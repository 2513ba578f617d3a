"""The autopilot's journal: for each rung, why it was run, what it measured, and why the next one was (not) needed.

Why a typed record in the project file (and not a log): the journal is what a newcomer reads to trust the result,
the GUI draws it as a timeline, the report prints it, and a resumed autopilot continues it. Every rung's run is a
normal experiment; the journal only points at it by id, so nothing measured lives twice.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JournalStatus = Literal["running", "met", "provisional", "not_met", "time_up", "cancelled", "failed"]
RungAction = Literal["run", "sensitivity", "reuse", "skip"]
RungStatus = Literal["running", "finished", "failed", "cancelled", "interrupted", "skipped"]

# What a journal's status means, for people, after "The autopilot …" (the CLI, the GUI and the report say the same).
STATUS_TEXT: dict[str, str] = {
    "running": "is climbing",
    "met": "found a candidate that meets every budget",
    "provisional": "found the best candidate that can be checked here (some budgets need the device)",
    "not_met": "found no candidate that meets every budget (the best trade-off is named)",
    "time_up": "stopped at its time budget (the best candidate so far is named)",
    "cancelled": "was stopped",
    "failed": "stopped on an error",
}


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RungFigures(_Record):
    """What a rung's candidate measured, relative to the original (the numbers the one decision judges)."""

    size_bytes: float | None = None
    size_ratio: float | None = Field(default=None, description="Original size ÷ candidate size (× smaller)")
    latency_ms: float | None = None
    speedup: float | None = Field(default=None, description="Original latency ÷ candidate latency (paired)")
    quality_metric: str | None = None
    quality: float | None = None
    quality_drop_pts: float | None = Field(default=None, description="Original minus candidate, in points")

    def phrases(self) -> list[str]:
        """'98.5 kB', '3.67× smaller', '1.17× slower', 'quality drop +0.00 points': the CLI, the GUI and the
        report word a rung's numbers alike."""
        from shrinkwise.workspace.units import fmt_bytes

        out = [fmt_bytes(self.size_bytes)] if self.size_bytes else []
        if self.size_ratio:
            out.append(f"{self.size_ratio:.2f}× smaller")
        if self.speedup:
            out.append(f"{self.speedup:.2f}× faster" if self.speedup >= 1 else f"{1 / self.speedup:.2f}× slower")
        if self.quality_drop_pts is not None:
            out.append(f"{self.quality_metric or 'quality'} drop {self.quality_drop_pts:+.2f} points")
        return out


class Rung(_Record):
    """One rung of the climb. `status_word` is how people read its status."""

    index: int = Field(description="1-based position in the climb")
    action: RungAction
    technique: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    recipe: list[dict[str, Any]] = Field(
        default_factory=list, description="Every step when the rung chains techniques ({technique, config} each)"
    )
    title: str = Field(default="", description="What the rung is, for people")
    why: str = Field(default="", description="Why this rung was run (or skipped)")
    rule_id: str | None = Field(default=None, description="The advisor rule (or autopilot step) that proposed it")
    experiment: str | None = Field(default=None, description="The experiment this rung ran or reused")
    status: RungStatus = "running"
    started: str | None = None
    finished: str | None = None
    seconds: float | None = None
    figures: RungFigures = Field(default_factory=RungFigures)
    verdict: str = Field(default="", description="Meets every budget, or which ones it misses")
    next: str = Field(default="", description="Why the next rung was, or was not, needed")
    error: str | None = None
    notes: list[str] = Field(default_factory=list, description="What else happened, e.g. a close call re-timed")

    @property
    def status_word(self) -> str:
        return "already measured" if self.action == "reuse" else self.status


class Journal(_Record):
    """One autopilot climb over a project."""

    id: str
    started: str
    finished: str | None = None
    status: JournalStatus = "running"
    time_budget_s: float
    max_rungs: int
    budget: dict[str, Any] = Field(default_factory=dict, description="The budget the climb aimed at")
    target: str | None = None
    rungs: list[Rung] = Field(default_factory=list)
    final: str | None = Field(default=None, description="The candidate the climb ended on (recommended or best so far)")
    final_label: str | None = None
    stopped_because: str = ""
    owner: dict[str, Any] = Field(default_factory=dict, description="Process running it (to tell a dead one)")

    @property
    def status_text(self) -> str:
        return STATUS_TEXT.get(self.status, self.status)

    @property
    def runs(self) -> list[Rung]:
        """The rungs that measured something (ran or reused a candidate)."""
        return [r for r in self.rungs if r.action != "skip"]
