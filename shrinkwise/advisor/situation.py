"""The facts the rules actually see: the user's facts plus what follows from them.

Why a separate, derived layer: rules should say *what to do* in plain expressions, not re-implement arithmetic.
Gaps to the budget, which candidate meets every budget, which is the least invasive, which ops the device lacks —
these are computed here once, deterministically, and the rules read them as typed fields.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shrinkwise.advisor.facts import (
    BudgetFacts,
    CandidateFacts,
    DataFacts,
    Facts,
    ModelFacts,
    Stage,
    TargetFacts,
    UserFacts,
)
from shrinkwise.advisor.feasibility import Feasibility, assess, load_limits, model_size
from shrinkwise.advisor.targets import get_target

Manifest = dict[str, dict[str, Any]]
# Timing noise of a paired latency ratio: int8_storage, whose run-time graph is the original's, measured 1.01
# [IQR 0.99-1.03] timed interleaved with it on this kind of machine (bench/README.md). A speed-up within that of the
# budget counts as met, so that a candidate running the original's own graph is not "slower" by a coin flip.
SPEED_TIE = 0.03
BUDGET_FIELDS = ("size_mb", "latency_ms", "peak_memory_mb", "accuracy_drop_pts")
BUDGET_WORDS = {
    "size_mb": "a size limit (MB)",
    "latency_ms": "a latency limit (ms)",
    "peak_memory_mb": "a memory limit (MB)",
    "accuracy_drop_pts": "an accuracy tolerance (points)",
}


class CandidateView(CandidateFacts):
    """A candidate with what follows from its measurements and the budget."""

    int8: bool = False
    low_bit: bool = False
    pruned: bool = False
    distilled: bool = False
    invasiveness: int = 0
    changes: str = Field(default="unknown", description="storage | latency | both, from the manifest")
    disagreement_pct: float | None = None
    within_tolerance: bool | None = None
    meets_size: bool | None = None
    meets_latency: bool | None = None
    meets_memory: bool | None = None
    meets_disagreement: bool | None = None
    meets_subgroups: bool | None = None
    meets_fidelity: bool | None = None
    meets_speedup: bool | None = None
    meets_all_budgets: bool | None = None
    runs_on_target: bool | None = Field(default=None, description="None when the target is unknown")
    cannot_run_because: list[str] = Field(default_factory=list, description="Why it cannot run on the target")
    least_invasive_passing: bool = False


class ResultsView(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    candidates: list[CandidateView] = Field(default_factory=list)
    sensitivity_done: bool = False
    sensitive_layers: list[str] = Field(default_factory=list)


class Summary(BaseModel):
    """Counts and lists over everything else, so rules stay short."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target_chosen: bool
    budget_missing: list[str]
    budget_missing_words: str = Field(default="", description="budget_missing for people: 'a latency limit (ms), ...'")
    budget_defined: bool = Field(description="A size budget and at least one runtime budget are set")
    any_budget: bool
    candidate_count: int
    techniques_tried: list[str]
    int8_variants_tried: int
    passing: list[str]
    least_invasive_passing: str | None
    over_tolerance: list[str]
    training_possible: bool | None
    distillation_possible: bool | None
    quality_metrics: list[str]
    latency_measured_on_device: bool


class Situation(BaseModel):
    """The rule-engine context: every top-level field is a symbol a rule's `when` can use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stage: Stage
    target: TargetFacts
    also_targets: list[str]
    device_available: bool | None
    model: ModelFacts
    budget: BudgetFacts
    data: DataFacts
    user: UserFacts
    results: ResultsView
    feasibility: Feasibility
    summary: Summary


def resolve_target(facts: Facts) -> TargetFacts:
    """The custom target if given, else the named profile, else a placeholder the rules recognise (known=false)."""
    if facts.target is not None:
        return facts.target
    if facts.target_id:
        return get_target(facts.target_id).to_facts()
    return TargetFacts(known=False)


def _tri_and(*values: bool | None) -> bool | None:
    if any(v is False for v in values):
        return False
    if all(v is True for v in values):
        return True
    return None


def least_invasive_first(v: CandidateView) -> tuple[int, float, str]:
    """The ladder's order: the least change to the model first, then the smaller file, then the id (stable)."""
    return (v.invasiveness, v.size_ratio if v.size_ratio is not None else 1.0, v.id)


def _candidate(c: CandidateFacts, facts: Facts, target: TargetFacts, manifest: Manifest) -> CandidateView:
    entries = [manifest.get(t, {}) for t in c.techniques]
    invasiveness = load_limits().invasiveness
    bits = c.bits if c.bits is not None else min((int(e.get("bits", 32)) for e in entries), default=None)
    training = c.training_aware if c.training_aware is not None else any(bool(e.get("training_aware")) for e in entries)
    acts = (
        c.quantizes_activations
        if c.quantizes_activations is not None
        else any(bool(e.get("quantizes_activations")) for e in entries)
    )
    changes = {e.get("changes", "unknown") for e in entries}
    b, m = facts.budget, facts.model
    original_mb, _ = model_size(m)  # the file size, else parameters x dtype
    size = (
        c.size_mb
        if c.size_mb is not None
        else (None if c.size_ratio is None or original_mb is None else round(c.size_ratio * original_mb, 6))
    )
    lat_counts = (
        c.latency_source == "device"
        or c.latency_source == "estimate"
        or (c.latency_source == "host" and target.is_this_computer)
    )
    latency = (
        c.latency_ms
        if c.latency_ms is not None
        else (None if c.latency_ratio is None or m.latency_ms is None else round(c.latency_ratio * m.latency_ms, 6))
    )
    within = (
        None
        if c.accuracy_drop_pts is None or b.accuracy_drop_pts is None
        else c.accuracy_drop_pts <= b.accuracy_drop_pts
    )
    meets_size = None if b.size_mb is None or size is None else size <= b.size_mb
    meets_lat = None if b.latency_ms is None or latency is None or not lat_counts else latency <= b.latency_ms
    meets_mem = None if b.peak_memory_mb is None or c.peak_memory_mb is None else c.peak_memory_mb <= b.peak_memory_mb
    disagreement = None if c.agreement is None else round((1.0 - c.agreement) * 100.0, 3)
    meets_dis = (
        None if b.max_disagreement_pct is None or disagreement is None else disagreement <= b.max_disagreement_pct
    )
    # A subgroup that lost more than the accuracy budget misses it, whatever the average says.
    meets_groups = (
        None
        if b.accuracy_drop_pts is None or c.max_subgroup_drop_pts is None
        else c.max_subgroup_drop_pts <= b.accuracy_drop_pts
    )
    meets_fid = None if b.min_cosine is None or c.cosine_mean is None else c.cosine_mean >= b.min_cosine
    # A speed-up budget is judged on the paired ratio (timed interleaved with the original in the same run), which a
    # busy machine shifts far less than two medians measured minutes apart.
    ratio_counts = c.latency_source == "device" or target.is_this_computer
    meets_speedup = (
        None
        if b.min_speedup is None or not c.latency_ratio or not ratio_counts
        else 1.0 / c.latency_ratio >= b.min_speedup * (1.0 - SPEED_TIE)
    )
    checks = [
        v
        for is_set, v in (
            (b.min_cosine is not None, meets_fid),
            (b.min_speedup is not None, meets_speedup),
            (b.size_mb is not None, meets_size),
            (b.latency_ms is not None, meets_lat),
            (b.peak_memory_mb is not None, meets_mem),
            (b.accuracy_drop_pts is not None, within),
            (b.max_disagreement_pct is not None, meets_dis),
            (b.accuracy_drop_pts is not None and c.max_subgroup_drop_pts is not None, meets_groups),
        )
        if is_set
    ]
    cannot = _cannot_run(c, entries, target)
    return CandidateView(
        **c.model_dump(exclude={"bits", "training_aware", "quantizes_activations", "label", "size_mb", "latency_ms"}),
        label=c.label or c.id,
        size_mb=size,
        latency_ms=latency,
        bits=bits,
        training_aware=training,
        quantizes_activations=acts,
        int8=any("int8" in e.get("precisions", []) for e in entries) or bits == 8,
        low_bit=bits is not None and bits <= 4,
        pruned=any(e.get("family") == "pruning" for e in entries),
        distilled=any(e.get("family") == "distillation" for e in entries),
        invasiveness=max((invasiveness.get(t, 3) for t in c.techniques), default=0),
        changes="both" if len(changes) > 1 or "both" in changes else (changes.pop() if changes else "unknown"),
        disagreement_pct=disagreement,
        within_tolerance=within,
        meets_size=meets_size,
        meets_latency=meets_lat,
        meets_memory=meets_mem,
        meets_disagreement=meets_dis,
        meets_subgroups=meets_groups,
        meets_fidelity=meets_fid,
        meets_speedup=meets_speedup,
        meets_all_budgets=_tri_and(*checks) if checks else None,
        runs_on_target=None if not target.known else not cannot,
        cannot_run_because=cannot,
    )


def _cannot_run(c: CandidateFacts, entries: list[dict[str, Any]], target: TargetFacts) -> list[str]:
    """Why the target cannot run this candidate as it is (empty when nothing says so, or the target is unknown)."""
    if not target.known:
        return []
    out = []
    missing_ops = sorted(set(c.op_types) & set(target.unsupported_ops))
    if missing_ops:
        out.append(f"cannot run {', '.join(missing_ops)}")
    # The number format it computes in is the last quantizing step's (pruning or distillation alone leave fp32).
    formats = next((list(e.get("precisions", [])) for e in reversed(entries) if int(e.get("bits", 32)) < 32), ["fp32"])
    if target.precisions and formats and not set(formats) & set(target.precisions):
        out.append(
            f"runs only {', '.join(target.precisions)} natively; this candidate computes in {' / '.join(formats)}"
        )
    dynamic = any(e.get("quantizes_activations") and not e.get("needs", {}).get("calibration") for e in entries)
    if dynamic and not target.dynamic_quantization and not missing_ops:
        out.append("cannot quantize activations on the fly")
    # The device is named once: the reasons are read one after another ("X cannot run A, it runs only B").
    return [f"{target.name if i == 0 else 'it'} {reason}" for i, reason in enumerate(out)]


def build_situation(facts: Facts, manifest: Manifest) -> Situation:
    """Everything the rules need, computed once and in a fixed order."""
    target = resolve_target(facts)
    for other in facts.also_targets:
        get_target(other)  # an unknown id fails here, naming the field
    model = facts.model
    lacking = sorted(set(model.unsupported_ops) | (set(model.op_types) & set(target.unsupported_ops)))
    model = model.model_copy(update={"unsupported_ops": lacking})
    views = [_candidate(c, facts, target, manifest) for c in facts.results.candidates]
    passing = sorted(
        (v for v in views if v.meets_all_budgets and v.runs_on_target is not False), key=least_invasive_first
    )
    best = passing[0].id if passing else None
    views = [v.model_copy(update={"least_invasive_passing": v.id == best}) for v in views]
    b, d = facts.budget, facts.data
    # A cosine or agreement tolerance is the quality budget of a model without labels: accuracy is then not missing.
    fidelity_set = b.min_cosine is not None or b.max_disagreement_pct is not None
    # A speed-up over the original ("3x faster") is a latency budget stated relatively: latency is then not missing.
    relative_speed = b.min_speedup is not None
    missing = [
        f
        for f in BUDGET_FIELDS
        if getattr(b, f) is None
        and not (f == "accuracy_drop_pts" and fidelity_set)
        and not (f == "latency_ms" and relative_speed)
    ]
    tried = sorted({t for v in views for t in v.techniques})
    summary = Summary(
        target_chosen=target.known,
        budget_missing=missing,
        budget_missing_words=", ".join(BUDGET_WORDS[f] for f in missing),
        budget_defined=b.size_mb is not None
        and (b.latency_ms is not None or b.peak_memory_mb is not None or relative_speed),
        any_budget=any(getattr(b, f) is not None for f in BUDGET_FIELDS),
        candidate_count=len(views),
        techniques_tried=tried,
        int8_variants_tried=sum(1 for v in views if v.int8),
        passing=[v.id for v in passing],
        least_invasive_passing=best,
        over_tolerance=[v.id for v in views if v.within_tolerance is False],
        training_possible=_tri_and(d.has_training_data, d.torch_model_available),
        distillation_possible=_tri_and(
            True
            if (d.has_training_data or d.has_unlabelled_in_domain)
            else (None if d.has_training_data is None and d.has_unlabelled_in_domain is None else False),
            d.torch_model_available,
        ),
        quality_metrics=sorted({m for v in views for m in v.metrics}),
        latency_measured_on_device=model.latency_source == "device" or any(v.latency_source == "device" for v in views),
    )
    return Situation(
        stage=facts.stage,
        target=target,
        also_targets=list(facts.also_targets),
        device_available=facts.device_available,
        model=model,
        budget=b,
        data=d,
        user=facts.user,
        results=ResultsView(
            candidates=views,
            sensitivity_done=facts.results.sensitivity_done,
            sensitive_layers=list(facts.results.sensitive_layers),
        ),
        feasibility=assess(model, target, b, manifest),
        summary=summary,
    )
