"""The one decision: which candidate to ship, and why, in words a newcomer can act on.

Why one function: the Advice page, Compare, Export, the report and `shrinkwise results` used to each pick their own
"best" candidate and contradicted each other. Everything now shows `Advice.decision`, decided here from the budget,
the target's constraints and the measured results (already chosen by the workspace's one measurement policy:
device > host > estimate).

The rule, from the study's ladder (least invasive step first, stop when the budget is met): among the candidates
the target can run and that meet every set budget, recommend the least invasive one, then the smallest. A candidate
that misses a budget, or that the target cannot run, is never recommended. When some budgets cannot be checked yet
(say, latency on a phone before the device benchmark), the best candidate so far is named as *provisional*, with
what is still unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from shrinkwise.units import fmt_bytes, fmt_ms

if TYPE_CHECKING:
    from shrinkwise.advisor.situation import CandidateView, Situation

DecisionStatus = Literal["recommended", "provisional", "none_meets", "no_budget", "no_candidate"]
MissedBudget = Literal["size", "latency", "memory", "accuracy", "subgroups", "disagreement", "fidelity", "target"]


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    label: str
    reasons: list[str]
    missed: list[MissedBudget] = Field(
        default_factory=list, description="Which budgets the reasons are about, for a program (the autopilot)"
    )


class Decision(BaseModel):
    """The recommended candidate (or why there is none) with its numbers and a plain-language paragraph."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: DecisionStatus
    candidate: str | None = Field(default=None, description="Id of the recommended candidate")
    label: str | None = None
    headline: str
    why: str = ""
    cost: str = ""
    rejected: list[Rejection] = Field(default_factory=list)
    unknown: list[str] = Field(default_factory=list, description="What could not be checked yet")
    size_mb: float | None = None
    size_ratio: float | None = None
    latency_ms: float | None = None
    latency_source: str = "none"
    latency_ratio: float | None = None
    accuracy_drop_pts: float | None = None
    disagreement_pct: float | None = None

    @property
    def paragraph(self) -> str:
        """Why this one, what it costs, what was rejected and why, what is still unknown."""
        parts = [self.headline]
        if self.why:
            parts.append(self.why)
        if self.cost:
            parts.append(self.cost)
        if self.rejected:
            parts.append(
                "Not recommended: "
                + "; ".join(f"{r.label} ({', '.join(r.reasons)})" for r in self.rejected[:6])
                + ("; …" if len(self.rejected) > 6 else "")
                + "."
            )
        if self.unknown:
            parts.append("Still unknown: " + "; ".join(self.unknown) + ".")
        return " ".join(parts)

    def misses_budget(self, candidate_id: str) -> list[str]:
        """The reasons a candidate was rejected (empty for the recommended one or an unknown id)."""
        return next((r.reasons for r in self.rejected if r.id == candidate_id), [])


def _misses(v: CandidateView, situation: Situation) -> list[tuple[MissedBudget, str]]:
    b = situation.budget
    out: list[tuple[MissedBudget, str]] = []
    if v.meets_size is False and v.size_mb is not None and b.size_mb is not None:
        out.append(("size", f"{fmt_bytes(v.size_mb * 1e6)} is over the {fmt_bytes(b.size_mb * 1e6)} size budget"))
    if v.meets_latency is False and b.latency_ms is not None:
        out.append(("latency", f"latency {_ms(v.latency_ms)} is over the {_ms(b.latency_ms)} budget"))
    if v.meets_memory is False and v.peak_memory_mb is not None and b.peak_memory_mb is not None:
        out.append(("memory", f"peak memory {v.peak_memory_mb:.3g} MB is over the {b.peak_memory_mb:g} MB budget"))
    if v.within_tolerance is False and v.accuracy_drop_pts is not None and b.accuracy_drop_pts is not None:
        out.append(
            (
                "accuracy",
                f"accuracy drops {v.accuracy_drop_pts:.2f} points, more than the {b.accuracy_drop_pts:g} allowed",
            )
        )
    if v.meets_subgroups is False and v.max_subgroup_drop_pts is not None and b.accuracy_drop_pts is not None:
        out.append(
            (
                "subgroups",
                (f"subgroup '{v.worst_subgroup}'" if v.worst_subgroup else "a subgroup")
                + f" drops {v.max_subgroup_drop_pts:.2f} points, "
                f"more than the {b.accuracy_drop_pts:g} allowed",
            )
        )
    if v.meets_disagreement is False and v.disagreement_pct is not None and b.max_disagreement_pct is not None:
        out.append(
            (
                "disagreement",
                f"{v.disagreement_pct:.2f} % of answers change, more than the {b.max_disagreement_pct:g} % allowed",
            )
        )
    if v.meets_speedup is False and v.latency_ratio and b.min_speedup is not None:
        asks = "never to be slower" if b.min_speedup == 1 else f"{b.min_speedup:g}× faster"
        out.append(("latency", f"{_speed(v.latency_ratio)} than the original; the budget asks for {asks}"))
    if v.meets_fidelity is False and v.cosine_mean is not None and b.min_cosine is not None:
        out.append(("fidelity", f"output cosine {v.cosine_mean:.4f} is under the {b.min_cosine:g} tolerance"))
    return out + [("target", reason) for reason in v.cannot_run_because]


def _unknowns(v: CandidateView, situation: Situation) -> list[str]:
    b, t = situation.budget, situation.target
    out = []
    if b.size_mb is not None and v.meets_size is None:
        out.append("its file size")
    if b.latency_ms is not None and v.meets_latency is None:
        if v.latency_source == "host" and not t.is_this_computer:
            out.append("its latency on the device (measured only on this computer; run the benchmark bundle there)")
        else:
            out.append("its latency")
    if b.peak_memory_mb is not None and v.meets_memory is None:
        out.append("its peak memory")
    if b.accuracy_drop_pts is not None and v.within_tolerance is None:
        out.append("its accuracy drop (no accuracy was measured for it: the evaluation data needs labels)")
    if b.max_disagreement_pct is not None and v.meets_disagreement is None:
        out.append("how many answers change")
    if b.min_speedup is not None and v.meets_speedup is None:
        out.append("its speed-up over the original on the device")
    if b.min_cosine is not None and v.meets_fidelity is None:
        out.append("how close its outputs stay to the original's")
    if v.runs_on_target is None and t.known is False:
        out.append("whether your device can run it (no target is set)")
    return out


def _speed(latency_ratio: float) -> str:
    """0.5 -> '2.00× faster', 1.2 -> '1.20× slower' (timed side by side with the original)."""
    return f"{1 / latency_ratio:.2f}× faster" if latency_ratio <= 1 else f"{latency_ratio:.2f}× slower"


def _ms(v: float | None) -> str:
    return "unknown" if v is None else fmt_ms(v)


def _cost(v: CandidateView, situation: Situation) -> str:
    bits = []
    if v.size_ratio:
        bits.append(f"{1 / v.size_ratio:.2f}× smaller ({fmt_bytes(v.size_mb * 1e6)})" if v.size_mb else "")
    # The latency itself too, not only the ratio: Compare, Export and the report all show this paragraph, so the
    # one number a newcomer compares across them (the median, device > host > estimate) is in it.
    where = {"host": "on this computer", "device": "on the device", "estimate": "estimate"}.get(v.latency_source, "")
    how = ", ".join(x for x in (fmt_ms(v.latency_ms) if v.latency_ms is not None else "", where) if x)
    if v.latency_ratio:
        speed = (
            f"{1 / v.latency_ratio:.2f}× faster"
            if v.latency_ratio < 0.97
            else (f"{v.latency_ratio:.2f}× slower" if v.latency_ratio > 1.03 else "about as fast")
        )
        bits.append(f"{speed} ({how})" if how else speed)
    elif v.latency_ms is not None:
        bits.append(f"latency {fmt_ms(v.latency_ms)}" + (f" ({where})" if where else ""))
    if v.accuracy_drop_pts is not None:
        bits.append(
            f"accuracy {'drops' if v.accuracy_drop_pts > 0 else 'changes'} {abs(v.accuracy_drop_pts):.2f} points"
        )
    if v.disagreement_pct is not None:
        bits.append(f"{v.disagreement_pct:.2f} % of answers change")
    bits = [b for b in bits if b]
    return ("It costs: " + ", ".join(bits) + ".") if bits else ""


def _figures(v: CandidateView) -> dict[str, object]:
    return {
        "candidate": v.id,
        "label": v.label or v.id,
        "size_mb": v.size_mb,
        "size_ratio": v.size_ratio,
        "latency_ms": v.latency_ms,
        "latency_source": v.latency_source,
        "latency_ratio": v.latency_ratio,
        "accuracy_drop_pts": v.accuracy_drop_pts,
        "disagreement_pct": v.disagreement_pct,
    }


def decide(situation: Situation) -> Decision:
    """Recommend the least invasive candidate that the target runs and that meets every budget (see module doc)."""
    from shrinkwise.advisor.situation import least_invasive_first

    views = list(situation.results.candidates)
    if not views:
        return Decision(status="no_candidate", headline="No compressed candidate has finished yet: run a plan step.")
    b = situation.budget
    if not situation.summary.any_budget and all(
        x is None for x in (b.max_disagreement_pct, b.min_cosine, b.min_speedup)
    ):
        return Decision(
            status="no_budget",
            headline="No budget is set, so no candidate can be recommended: set a size, latency or accuracy budget.",
        )
    rejected = [
        Rejection(id=v.id, label=v.label or v.id, reasons=[text for _, text in m], missed=sorted({k for k, _ in m}))
        for v in views
        if (m := _misses(v, situation))
    ]
    out = {r.id for r in rejected}
    eligible = sorted((v for v in views if v.id not in out), key=least_invasive_first)
    passing = [v for v in eligible if v.meets_all_budgets is True and v.runs_on_target is not False]
    if passing:
        best = passing[0]
        others = [v.label or v.id for v in passing[1:]]
        why = (
            "It meets every budget you set and is the least invasive candidate that does"
            + (f" (also passing, but changing the model more or larger: {', '.join(others)})" if others else "")
            + "; every further step risks quality for nothing the budget asks for."
        )
        return Decision(
            status="recommended",
            headline=f"Ship {best.label or best.id}.",
            why=why,
            cost=_cost(best, situation),
            rejected=rejected,
            unknown=_unknowns(best, situation),
            **_figures(best),  # type: ignore[arg-type]
        )
    if eligible:
        best = eligible[0]
        unknown = _unknowns(best, situation)
        return Decision(
            status="provisional",
            headline=f"{best.label or best.id} is the best candidate so far, but not every budget could be checked.",
            why="It misses no budget that could be checked and is the least invasive such candidate.",
            cost=_cost(best, situation),
            rejected=rejected,
            unknown=unknown,
            **_figures(best),  # type: ignore[arg-type]
        )
    return Decision(
        status="none_meets",
        headline="No candidate meets every budget yet, so none is recommended.",
        why="Climb the next rung of the plan (or relax a budget): each candidate below misses at least one.",
        rejected=rejected,
    )
