"""The report as plain data: `ReportData`, built once from a project and rendered to HTML, PDF, Markdown and JSON.

Every renderer reads only this model, so the four formats cannot disagree. The JSON output *is* this model, and its
JSON schema is published beside this file (`report_schema.json`, kept up to date by a test).

Determinism: nothing here reads the clock or absolute paths; dictionaries are sorted; the same project gives the
same `ReportData`. Two things are computed on first use and cached in the artifacts folder so that later reports
read the same numbers: the chosen candidate's per-layer profile and the disagreement examples' predictions.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shrinkwise.compression.measure.records import Measurement
from shrinkwise.workspace.labels import BUDGET_LABELS, BUDGET_UNITS, budget_label
from shrinkwise.workspace.project import Experiment, Project, project_name_from_path
from shrinkwise.workspace.units import fmt_bytes, fmt_metric, fmt_ms

REPORT_SCHEMA_VERSION = 1
Source = Literal["host", "device", "estimate"]
SOURCE_WORDS: dict[str, str] = {
    "host": "measured on this computer",
    "device": "measured on the device",
    "estimate": "estimated",
}
SOURCE_PREFERENCE = ("device", "host", "estimate")
MAX_DISAGREEMENT_EXAMPLES = 12
MAX_SENSITIVITY_ROWS = 20
SLOWEST_LAYERS = 8
ERROR_DETAILS_CHARS = 2000


class _R(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Figure(_R):
    """One number as shown: its value, unit, a formatted text, and where it came from."""

    metric: str
    value: float
    unit: str = ""
    text: str = Field(description="The value formatted for people, with its unit")
    source: Source
    how: str = Field(default="", description="How it was taken (runtime, threads, repeats, device)")


class BudgetCheck(_R):
    key: str = Field(description="Budget field, e.g. latency_ms, size_mb, accuracy_drop_pts")
    label: str
    limit: float
    limit_text: str
    value: float | None = None
    value_text: str = "not measured"
    source: Source | None = None
    met: bool | None = Field(default=None, description="None: not measured, or not measured where it counts")
    margin: float | None = Field(default=None, description="Headroom in the budget's unit; negative = over budget")
    margin_text: str = ""
    note: str = ""


class QualityCost(_R):
    metric: str
    label: str
    baseline: float | None = None
    candidate: float | None = None
    delta: float | None = None
    text: str


class Verdict(_R):
    candidate_id: str | None = None
    candidate_label: str = ""
    chosen: bool = Field(default=False, description="True when the user chose it; False when the advisor recommends it")
    status: Literal["meets_all", "misses", "unknown", "no_budget", "no_candidate"]
    headline: str
    recommended_id: str | None = Field(default=None, description="The advisor's one recommendation (Advice.decision)")
    recommended_label: str = ""
    decision_status: str = Field(default="", description="recommended, provisional, none_meets, no_budget, ...")
    recommendation: str = Field(default="", description="Why this candidate: the decision's paragraph")
    flag: str = Field(default="", description="Set when the shipped candidate misses a budget or differs")
    checks: list[BudgetCheck] = Field(default_factory=list)
    quality_cost: list[QualityCost] = Field(default_factory=list)
    summary: list[str] = Field(default_factory=list, description="Size and speed change in words")


class TensorInfo(_R):
    name: str
    shape: list[int | str]
    dtype: str


class ModelSection(_R):
    path: str = ""
    format: str = ""
    sha256: str = ""
    onnx_path: str = ""
    onnx_sha256: str = ""
    exporter: str | None = None
    architecture: str | None = None
    inputs: list[TensorInfo] = Field(default_factory=list)
    outputs: list[TensorInfo] = Field(default_factory=list)
    parameters: int | None = None
    file_bytes: int | None = None
    op_count: int | None = None
    opset: int | None = None
    weight_bytes_by_dtype: dict[str, int] = Field(default_factory=dict)


class KeyValue(_R):
    key: str
    value: str
    label: str = Field(default="", description="The key in words, for people (the key itself stays for scripts)")


class DataWarning(_R):
    code: str
    severity: str
    message: str


class DataSection(_R):
    path: str
    kind: str
    role: str
    samples: int
    sha256: str
    class_counts: dict[str, int] = Field(default_factory=dict)
    group_counts: dict[str, int] = Field(default_factory=dict)
    warnings: list[DataWarning] = Field(default_factory=list)


class SourceRef(_R):
    label: str
    url: str | None = None
    confidence: str = ""
    claim: str = ""


class AdviceItem(_R):
    kind: str = Field(description="plan, warning, blocker or question")
    rule_id: str = ""
    title: str = ""
    what: str = ""
    why: str = ""
    do: str = ""
    severity: str = ""
    technique: str | None = None
    resolved: bool = False
    sources: list[SourceRef] = Field(default_factory=list)
    about: list[str] = Field(
        default_factory=list, description="The candidates it is about: one item per rule, not one per candidate"
    )


class AdviceSection(_R):
    available: bool
    note: str = ""
    plan: list[AdviceItem] = Field(default_factory=list)
    warnings: list[AdviceItem] = Field(default_factory=list)
    blockers: list[AdviceItem] = Field(default_factory=list)
    questions: list[AdviceItem] = Field(default_factory=list)


class StepInfo(_R):
    technique: str
    config: str = Field(description="The step's settings as compact, sorted JSON")


class ArtifactInfo(_R):
    path: str
    size_bytes: int
    sha256: str
    summary: str = ""
    notes: list[str] = Field(default_factory=list)


class ExperimentInfo(_R):
    id: str
    label: str
    kind: str
    group: str | None = None
    status: str
    recipe: list[StepInfo] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list, description="Key numbers, device results preferred")
    device_figures: list[Figure] = Field(default_factory=list, description="Numbers measured on the device")
    error: str | None = None
    error_details: str = ""
    artifacts: list[ArtifactInfo] = Field(default_factory=list)
    on_pareto_front: bool = False
    meets_budgets: bool | None = None
    is_focus: bool = False
    command: str = Field(default="", description="The shrinkwise command that recreates this candidate")


class PlotPoint(_R):
    id: str
    label: str
    x: float
    y: float
    source: Source = Field(description="Where the x value came from (quality is always measured on the host)")
    pareto: bool = False
    focus: bool = False
    baseline: bool = False


class BudgetLine(_R):
    axis: Literal["x", "y"]
    value: float
    label: str


class ScatterPlot(_R):
    id: str
    title: str
    x_label: str
    y_label: str
    x_metric: str
    y_metric: str
    points: list[PlotPoint] = Field(default_factory=list)
    budget_lines: list[BudgetLine] = Field(default_factory=list)
    note: str = ""


class DeltaRow(_R):
    name: str
    baseline: float | None = None
    candidate: float | None = None
    delta_pts: float | None = Field(default=None, description="Candidate minus original, percentage points")


class DeltasSection(_R):
    candidate_id: str | None = None
    candidate_label: str = ""
    per_class: list[DeltaRow] = Field(default_factory=list)
    per_subgroup: list[DeltaRow] = Field(default_factory=list)
    note: str = ""


class SensitivityRow(_R):
    rank: int
    layer: str
    drop: float
    drop_text: str = ""


class SensitivitySection(_R):
    experiment_id: str | None = None
    rows: list[SensitivityRow] = Field(default_factory=list)
    note: str = ""


class LayerTime(_R):
    name: str
    op_type: str
    time_us: float
    share_pct: float


class LayersSection(_R):
    before: list[LayerTime] = Field(default_factory=list)
    after: list[LayerTime] = Field(default_factory=list)
    candidate_id: str | None = None
    source: Source = "host"
    note: str = ""


class DisagreementExample(_R):
    index: int
    label: str | None = None
    original: str | None = None
    candidate: str | None = None
    pixels: list[list[float]] | None = Field(default=None, description="Small grey image (0..1) when the input is one")


class DisagreementsSection(_R):
    candidate_id: str | None = None
    total: int = 0
    samples: int = 0
    examples: list[DisagreementExample] = Field(default_factory=list)
    note: str = ""


class AutopilotRung(_R):
    index: int | None = Field(default=None, description="1-based rung number; None for a skipped rung")
    title: str
    status: str
    figures: str = Field(default="", description="Size, speed and quality change, in words")
    verdict: str = ""
    notes: list[str] = Field(default_factory=list)
    why: str = ""
    next: str = ""


class AutopilotSection(_R):
    """The newest autopilot climb: each rung with why it ran, what it measured and why the next was (not) needed."""

    journal_id: str
    status: str
    status_text: str
    stopped_because: str = ""
    final_id: str | None = None
    final_label: str | None = None
    time_budget_s: float
    rungs: list[AutopilotRung] = Field(default_factory=list)


class UnresolvedWarning(_R):
    origin: str = Field(description="advisor, data, run or artifact")
    ref: str = ""
    message: str


class Reproducibility(_R):
    project_file: str
    model_sha256: str = ""
    onnx_sha256: str = ""
    data: list[KeyValue] = Field(default_factory=list, description="Data file -> sha256")
    split: str = ""
    versions: list[KeyValue] = Field(default_factory=list, description="Versions the chosen candidate was made with")
    report_versions: list[KeyValue] = Field(default_factory=list, description="Versions that made this report")
    commands: list[KeyValue] = Field(default_factory=list, description="Candidate id -> command")


class ReportData(_R):
    report_schema_version: int = REPORT_SCHEMA_VERSION
    title: str
    project_name: str
    as_of: str = Field(description="The newest time recorded in the project (UTC, ISO 8601): what the report is as of")
    notes: str = ""
    verdict: Verdict
    model: ModelSection
    target: list[KeyValue] = Field(default_factory=list)
    budget: list[KeyValue] = Field(default_factory=list)
    data: list[DataSection] = Field(default_factory=list)
    advice: AdviceSection
    experiments: list[ExperimentInfo] = Field(default_factory=list)
    plots: list[ScatterPlot] = Field(default_factory=list)
    deltas: DeltasSection
    sensitivity: SensitivitySection
    autopilot: AutopilotSection | None = Field(default=None, description="The newest autopilot climb, if any")
    layers: LayersSection
    disagreements: DisagreementsSection
    warnings: list[UnresolvedWarning] = Field(default_factory=list)
    reproducibility: Reproducibility


# --- formatting --------------------------------------------------------------------------------------------------


KEY_METRICS = (
    "size_bytes",
    "encoded_size_bytes",
    "latency_ms_median",
    "latency_ms_p90",
    "latency_ratio",
    "peak_memory_mb",
    "accuracy",
    "macro_f1",
    "top1_agreement",
    "sqnr_db",
    "cosine_min",
)


def _how(m: Measurement) -> str:
    d = m.details or {}
    if m.source == "device":
        parts = [
            str(d.get("device", "device")),
            str(d.get("runtime", "")),
            f"{d['threads']} thread(s)" if "threads" in d else "",
            f"{d['runs']} runs" if "runs" in d else "",
        ]
    else:
        parts = [
            str(d.get("runtime", "")),
            f"{d['threads']} thread(s)" if "threads" in d else "",
            f"{d['runs']} runs" if "runs" in d else "",
            f"{d['samples']} samples" if "samples" in d else "",
            str(d.get("what", "") or d.get("note", "") or d.get("how", "")),
        ]
    return ", ".join(p for p in parts if p)


def pick(exp: Experiment | None, metric: str, source: str | None = None) -> Measurement | None:
    """`Experiment.measurement` (device > host > estimate) for an experiment that may be absent."""
    return None if exp is None else exp.measurement(metric, source)  # type: ignore[arg-type]


def figure(m: Measurement) -> Figure:
    return Figure(
        metric=m.metric,
        value=m.value,
        unit=m.unit,
        text=fmt_metric(m.metric, m.value, m.unit),
        source=m.source,
        how=_how(m),
    )


def compact_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


# --- budgets -----------------------------------------------------------------------------------------------------

LATENCY_STATISTIC_WORDS = {
    "median": "typical (median)",
    "p90": "9 out of 10 runs (p90)",
    "worst_case": "every run (worst case)",
}


def budget_rows(budget: dict[str, Any]) -> list[KeyValue]:
    """The budget as people read it ('Accuracy drop: ≤ 1.00 points'), the project's key kept beside each."""
    out = []
    for key, v in sorted(budget.items()):
        if key == "latency_statistic":
            text = LATENCY_STATISTIC_WORDS.get(str(v), str(v))
        elif key == "min_cosine" and isinstance(v, (int, float)):
            text = f"≥ {v:g}"
        elif key == "min_speedup" and isinstance(v, (int, float)):
            text = f"≥ {v:g}×" + (" (never slower)" if v == 1 else "")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            text = f"≤ {_amount(key, float(v))}"
        else:
            text = v if isinstance(v, str) else compact_json(v)
        out.append(KeyValue(key=key, value=text, label=budget_label(key)))
    return out


def _num(v: Any) -> float | None:
    try:
        return None if v is None or isinstance(v, bool) else float(v)
    except (TypeError, ValueError):
        return None


def _amount(key: str, v: float) -> str:
    """A budget quantity in the unit its figures are shown in (sizes as fmt_bytes, times as fmt_ms)."""
    if key == "size_mb":
        return fmt_bytes(v * 1e6)
    if key == "latency_ms":
        return fmt_ms(v)
    unit = BUDGET_UNITS.get(key, "")
    return f"{v:.3g} {unit}".strip() if key == "peak_memory_mb" else f"{v:.2f} {unit}".strip()


def budget_checks(project: Project, exp: Experiment | None, target_is_host: bool) -> list[BudgetCheck]:
    """Compare one candidate with each set budget. A host latency counts only when the target is this computer."""
    b = project.budget.model_dump()
    base = project.baseline
    out: list[BudgetCheck] = []
    stat = str(b.get("latency_statistic") or "median")
    for key in ("size_mb", "latency_ms", "peak_memory_mb", "accuracy_drop_pts", "max_disagreement_pct"):
        limit = _num(b.get(key))
        if limit is None:
            continue
        label = BUDGET_LABELS[key]
        value: float | None = None
        source: str | None = None
        note = ""
        if key == "size_mb":
            m = pick(exp, "size_bytes")
            limit_text = f"≤ {fmt_bytes(limit * 1e6)}"
            if m is not None:
                value, source = m.value / 1e6, m.source
            value_text = "not measured" if value is None else fmt_bytes(value * 1e6)
        elif key == "latency_ms":
            metric = "latency_ms_p90" if stat in ("p90", "worst_case") else "latency_ms_median"
            label = f"Latency ({'p90' if metric.endswith('p90') else 'median'})"
            limit_text = f"≤ {fmt_ms(limit)}"
            m = pick(exp, metric)
            if m is not None:
                value, source = m.value, m.source
                if m.source == "host" and not target_is_host:
                    note = "measured on this computer, not on the target device: run the benchmark bundle there"
            if stat == "worst_case":
                note = (note + "; " if note else "") + "the budget is a worst case; p90 is the closest measured figure"
            value_text = "not measured" if value is None else fmt_ms(value)
        elif key == "peak_memory_mb":
            limit_text = f"≤ {limit:g} MB"
            m = pick(exp, "peak_memory_mb")
            if m is not None:
                value, source = m.value, m.source
            value_text = "not measured" if value is None else f"{value:.1f} MB"
        elif key == "accuracy_drop_pts":
            limit_text = f"≤ {_amount(key, limit)}"
            a, a0 = pick(exp, "accuracy"), pick(base, "accuracy")
            if a is not None and a0 is not None:
                value, source = round((a0.value - a.value) * 100.0, 4), a.source
            value_text = "not measured (no labels)" if value is None else f"{value:.2f} points"
        else:
            limit_text = f"≤ {limit:g} %"
            agree = pick(exp, "top1_agreement")
            if agree is not None:
                value, source = round((1.0 - agree.value) * 100.0, 4), agree.source
            value_text = "not measured" if value is None else f"{value:.2f} %"
        met: bool | None = None
        margin = None
        margin_text = ""
        if value is not None:
            counts = not (key == "latency_ms" and source == "host" and not target_is_host)
            margin = limit - value
            met = (value <= limit) if counts else None
            rel = f" ({margin / limit * 100:+.0f} % of the budget)" if limit else ""
            word = "headroom" if margin >= 0 else "over"
            margin_text = f"{_amount(key, abs(margin))} {word}{rel}"
        out.append(
            BudgetCheck(
                key=key,
                label=label,
                limit=limit,
                limit_text=limit_text,
                value=value,
                value_text=value_text,
                source=source,  # type: ignore[arg-type]
                met=met,
                margin=margin,
                margin_text=margin_text,
                note=note,
            )
        )
    return out + _at_least_checks(b, exp, target_is_host)


def _at_least_text(key: str, v: float) -> str:
    return f"{v:.2f}×" if key == "min_speedup" else f"{v:.4f}"


def _at_least_checks(b: dict[str, Any], exp: Experiment | None, target_is_host: bool) -> list[BudgetCheck]:
    """The budgets a candidate must reach rather than stay under: the speed-up over the original (its paired
    latency ratio, which counts where the target is this computer, as the advisor judges it) and the outputs'
    cosine with the original's."""
    out = []
    for key, metric in (("min_speedup", "latency_ratio"), ("min_cosine", "cosine_mean")):
        limit = _num(b.get(key))
        if limit is None:
            continue
        m = pick(exp, metric)
        value: float | None = None
        note = ""
        if m is not None and m.value > 0:
            value = round(1.0 / m.value, 4) if key == "min_speedup" else m.value
        counts = key != "min_speedup" or target_is_host or (m is not None and m.source == "device")
        if value is not None and not counts:
            note = "timed on this computer, not on the target device: run the benchmark bundle there"
        margin = None if value is None else value - limit
        out.append(
            BudgetCheck(
                key=key,
                label=BUDGET_LABELS[key],
                limit=limit,
                limit_text=f"≥ {limit:g}×" if key == "min_speedup" else f"≥ {limit:g}",
                value=value,
                value_text="not measured" if value is None else _at_least_text(key, value),
                source=m.source if m is not None else None,
                met=None if value is None or not counts else value >= limit,
                margin=margin,
                margin_text=""
                if margin is None
                else f"{_at_least_text(key, abs(margin))} {'headroom' if margin >= 0 else 'short'}",
                note=note,
            )
        )
    return out


def tri_all(values: list[bool | None]) -> bool | None:
    if any(v is False for v in values):
        return False
    if values and all(v is True for v in values):
        return True
    return None


def target_is_host(project: Project) -> bool:
    t = project.target
    return t.id in (None, "", "this-computer") or bool(t.overrides.get("is_this_computer"))


# --- commands ----------------------------------------------------------------------------------------------------


def recreate_command(project_file: str, exp: Experiment) -> str:
    """The command that recreates a candidate: `shrinkwise run PROJECT TECHNIQUE --set key=value ...` for one step,
    `shrinkwise recipe PROJECT T1 T2 --set 1.key=value ...` for several. Values are JSON so types survive."""
    q = shlex.quote
    if exp.kind == "baseline":
        return f"shrinkwise measure {q(project_file)}"
    if exp.kind == "sensitivity":  # the options it ran with, as `shrinkwise sensitivity` takes them (points)
        result = exp.sensitivity_result()
        parts = ["shrinkwise", "sensitivity", q(project_file)]
        if result is not None:
            parts += ["--accuracy-drop-pts", f"{result.tolerance * 100:.10g}", "--technique", q(result.technique)]
            # The quantizer's settings kept in every variant (the proposal adds only the layers kept in float).
            parts += [f"--set {q(f'{k}={compact_json(v)}')}" for k, v in sorted(result.proposal.base_config().items())]
        return " ".join(parts)
    if not exp.recipe:
        return ""

    def sets(config: dict[str, Any], prefix: str) -> list[str]:
        return [
            f"--set {q(f'{prefix}{k}={compact_json(v)}')}"
            for k, v in sorted(config.items())
            if k not in ("technique", "version")
        ]

    if len(exp.recipe) == 1:
        step = exp.recipe[0]
        return " ".join(["shrinkwise", "run", q(project_file), q(step.technique), *sets(step.config, "")])
    parts = ["shrinkwise", "recipe", q(project_file), *(q(s.technique) for s in exp.recipe)]
    for i, step in enumerate(exp.recipe):
        parts += sets(step.config, f"{i + 1}.")
    return " ".join(parts)


def project_file_name(path: Path | str) -> str:
    return f"{project_name_from_path(Path(path))}.shrinkwise.json"
