"""Translate a saved project (and its profile) into the advisor's `Facts`.

Why here: the advisor and the engine never know each other. The workspace owns the project file, so it is the one
place that reads the profile (`ARTIFACTS/profile.json`), the baseline and candidate measurements, the data roles
and the user's answers, and states them in the advisor's vocabulary. Everything is read defensively: a missing
number is `None` (the advisor then asks), never a guess.

Project fields used:
- `project.target`: a `TargetChoice` (profile id + overriding fields).
- `project.budget`: the advisor's own `BudgetFacts`, stored as it is.
- `project.answers`: answers to the advisor's other questions, keyed by fact path ("data.has_training_data",
  "device_available", "stage", ...). Answers win over what is derived. Budget and target answers are not kept
  here: `Session.answer` writes them into the typed fields, so the advisor and the report read the same budget.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shrinkwise.advisor.advice import Advice
from shrinkwise.advisor.errors import AdvisorError
from shrinkwise.advisor.facts import Facts, parse_facts
from shrinkwise.advisor.targets import get_target
from shrinkwise.compression.graph_ops import looks_like_transformer
from shrinkwise.compression.measure.records import Measurement
from shrinkwise.compression.profile_types import ModelProfile
from shrinkwise.workspace.figures import agreement_metric
from shrinkwise.workspace.project import Experiment, Project, artifacts_dir

MATMUL_OPS = {
    "MatMul",
    "Gemm",
    "FusedMatMul",
    "MatMulInteger",
    "QGemm",
    "QLinearMatMul",
    "MatMulNBits",
    "DynamicQuantizeMatMul",
}
CONV_OPS = {"Conv", "ConvTranspose", "ConvInteger", "QLinearConv"}
DTYPES = {
    "float32": "fp32",
    "float": "fp32",
    "float16": "fp16",
    "bfloat16": "bf16",
    "int8": "int8",
    "uint8": "int8",
    "int4": "int4",
    "uint4": "int4",
}
CANDIDATE_KINDS = ("run", "sweep")


def load_saved_profile(project: Project, project_path: Path | str) -> tuple[ModelProfile | None, bool | None]:
    """The saved profile and whether it is stale (written for another model file); (None, None) when absent."""
    path = artifacts_dir(Path(project_path)) / "profile.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    stale: bool | None = None
    if isinstance(raw, dict) and "profile" in raw:  # {"onnx_sha256": ..., "profile": {...}} as the session writes it
        model = project.model
        stale = bool(model is not None and raw.get("onnx_sha256") not in (None, model.onnx_sha256))
        raw = raw["profile"]
    try:
        return ModelProfile.model_validate(raw), (stale if stale is not None else False)
    except ValueError:
        return None, None


def pick(exp: Experiment | None, metric: str) -> Measurement | None:
    """`Experiment.measurement` (the one policy: device > host > estimate) for an experiment that may be absent."""
    return None if exp is None else exp.measurement(metric)


def _value(exp: Experiment | None, metric: str) -> float | None:
    m = pick(exp, metric)
    return None if m is None else float(m.value)


def _share(profile: ModelProfile, ops: set[str]) -> float | None:
    return (
        round(sum(l.parameters for l in profile.layers if l.op_type in ops) / profile.parameters, 4)
        if profile.parameters
        else None
    )


def _time_share(profile: ModelProfile, ops: set[str]) -> float | None:
    total = sum(l.time_us or 0.0 for l in profile.layers)
    return round(sum(l.time_us or 0.0 for l in profile.layers if l.op_type in ops) / total, 4) if total else None


def _weight_dtype(profile: ModelProfile) -> str:
    by = {DTYPES.get(k, "unknown"): 0 for k in profile.weight_bytes_by_dtype}
    for k, v in profile.weight_bytes_by_dtype.items():
        by[DTYPES.get(k, "unknown")] += v
    by.pop("unknown", None)
    total = sum(by.values())
    if not total:
        return "unknown"
    ranked = sorted(by.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) > 1 and ranked[1][1] / total >= 0.2:
        return "mixed"
    return ranked[0][0]


def _arch_family(profile: ModelProfile, conv_share: float | None) -> str:
    ops = set(profile.op_histogram)
    if ops & {"LSTM", "GRU", "RNN"}:
        return "rnn"
    if looks_like_transformer(ops):
        return "transformer"
    if (conv_share or 0.0) >= 0.3:
        return "cnn"
    if ops & MATMUL_OPS:
        return "mlp"
    return "other"


def _input_kind(project: Project) -> str:
    if project.model is None:
        return "unknown"
    try:
        first = project.model.signature.inputs[0]
        rank, dtype = len(first.shape), str(first.dtype)
    except (AttributeError, IndexError, TypeError):
        return "unknown"
    if dtype.startswith("int"):
        return "text"
    return {4: "image", 3: "timeseries", 2: "tabular"}.get(rank, "unknown")


def model_facts(project: Project, profile: ModelProfile | None, stale: bool | None) -> dict[str, Any]:
    base = project.baseline if project.baseline is not None and project.baseline.status == "finished" else None
    out: dict[str, Any] = {"name": project.name, "input_kind": _input_kind(project), "profile_stale": stale}
    size = _value(base, "size_bytes")
    if profile is not None:
        conv = _share(profile, CONV_OPS)
        total_time = sum(l.time_us or 0.0 for l in profile.layers)
        outputs = [l.output_bytes for l in profile.layers if l.output_bytes]
        out.update(
            size_mb=round((size or profile.file_bytes) / 1e6, 6),
            parameters=profile.parameters,
            weight_dtype=_weight_dtype(profile),
            arch_family=_arch_family(profile, conv),
            op_types=sorted(profile.op_histogram),
            op_count=profile.op_count,
            macs=profile.total_macs,
            matmul_param_share=_share(profile, MATMUL_OPS),
            conv_param_share=conv,
            embedding_param_share=_share(profile, {"Gather"}),
            matmul_time_share=_time_share(profile, MATMUL_OPS),
            conv_time_share=_time_share(profile, CONV_OPS),
            largest_layers=[
                {
                    "name": l.name,
                    "op_type": l.op_type,
                    "parameters": l.parameters,
                    "parameter_share": round(l.parameters / profile.parameters, 4) if profile.parameters else 0.0,
                    "time_share": round(l.time_us / total_time, 4) if l.time_us and total_time else None,
                }
                for l in profile.top_by_size(5)
            ],
            cast_ops=profile.op_histogram.get("Cast", 0),
            activation_peak_mb=round(max(outputs) / 1e6, 6) if outputs else None,
        )
    elif size is not None:
        out["size_mb"] = round(size / 1e6, 6)
    latency = pick(base, "latency_ms_median")
    if latency is not None and latency.value > 0:
        out["latency_ms"] = latency.value
        out["latency_source"] = latency.source
    memory = _value(base, "peak_memory_mb")
    if memory:
        out["peak_memory_mb"] = memory
    accuracy = _value(base, "accuracy")
    if accuracy is not None:
        out["accuracy"] = accuracy
    task = primary_task(base)
    if task is not None:
        out["task"] = task
    elif accuracy is not None:
        out["task"] = "classification"
    return out


# The advisor's words for the primary output's task (`compression.measure.tasks`).
ADVISOR_TASKS = {"classification": "classification", "binary": "classification", "embedding": "embedding"}
ADVISOR_TASKS.update(regression="regression", sequence="other")


def primary_task(base: Experiment | None) -> str | None:
    """The advisor's task of the baseline's primary output, as the measurement scored it."""
    if base is None or base.quality is None or base.quality.primary_output is None:
        return None
    task = next((o.task for o in base.quality.outputs if o.output == base.quality.primary_output), None)
    return ADVISOR_TASKS.get(task or "")


def data_facts(project: Project) -> dict[str, Any]:
    roles = {d.role for d in project.data}
    health = [d.health for d in project.data if d.health is not None]
    evaluation = [d for d in project.data if d.role in ("evaluation", "all")]
    out: dict[str, Any] = {"has_eval_set": bool(evaluation) if project.data else None}
    eval_health = [d.health for d in evaluation if d.health is not None]
    if eval_health:
        out["eval_labelled"] = all(h.has_labels for h in eval_health)
        out["has_subgroup_labels"] = all(h.has_groups for h in eval_health)
        counts = [c for h in eval_health for c in h.class_counts.values()]
        if counts and min(counts) > 0:
            out["classes_imbalanced"] = max(counts) / min(counts) > 3.0
    if evaluation:
        out["eval_samples"] = sum(d.samples for d in evaluation) if any(d.samples for d in evaluation) else None
    if "calibration" in roles:
        out["calibration_samples"] = sum(d.samples for d in project.data if d.role == "calibration") or None
        out["calibration_matches_production"] = None
    elif roles & {"all", "training"}:
        pool = sum(d.samples for d in project.data if d.role in ("all", "training"))
        out["calibration_samples"] = (
            min(project.split.calibration_count, pool) if pool else project.split.calibration_count
        )
        out["calibration_matches_production"] = True  # drawn from the same data as the evaluation
    elif project.data:
        out["calibration_samples"] = 0
    if "training" in roles:
        out["has_training_data"] = any(h.has_labels for h in health) if health else True
        out["has_unlabelled_in_domain"] = True
    if project.model is not None:
        out["torch_model_available"] = project.model.format != "onnx"
    return out


def _candidate(exp: Experiment, base: Experiment | None, statistic: str | None) -> dict[str, Any]:
    metric = "latency_ms_p90" if statistic in ("p90", "worst_case") else "latency_ms_median"
    bits = [int(s.config["bits"]) for s in exp.recipe if isinstance(s.config.get("bits"), int)]
    size, size0 = _value(exp, "size_bytes"), _value(base, "size_bytes")
    lat, lat0 = pick(exp, metric), pick(base, metric)
    ratio = _value(exp, "latency_ratio") if metric == "latency_ms_median" else None
    if ratio is None and lat is not None and lat0 is not None and lat0.value > 0:
        ratio = lat.value / lat0.value
    mem, mem0 = _value(exp, "peak_memory_mb"), _value(base, "peak_memory_mb")
    acc, acc0 = _value(exp, "accuracy"), _value(base, "accuracy")
    out: dict[str, Any] = {
        "id": exp.id,
        "label": exp.label or exp.id,
        "techniques": [s.technique for s in exp.recipe],
        "bits": min(bits) if bits else None,
        "size_mb": None if size is None else size / 1e6,
        "size_ratio": None if size is None or not size0 else round(size / size0, 4),
        "latency_ms": None if lat is None else lat.value,
        "latency_ratio": None if ratio is None else round(ratio, 4),
        "latency_source": "none" if lat is None else lat.source,
        "peak_memory_mb": mem or None,
        "peak_memory_ratio": None if not mem or not mem0 else round(mem / mem0, 4),
        "accuracy_drop_pts": None if acc is None or acc0 is None else round((acc0 - acc) * 100.0, 4),
        "agreement": _value(exp, agreement_metric(exp.measurements) or "top1_agreement"),
        "cosine_mean": _value(exp, "cosine_mean"),
        "metrics": sorted({m.metric for m in exp.measurements}),
        "op_types": list(exp.final_artifact.op_types) if exp.final_artifact else [],
    }
    groups = exp.quality.per_subgroup_accuracy if exp.quality else {}
    groups0 = base.quality.per_subgroup_accuracy if base is not None and base.quality else {}
    drops = {g: (groups0[g] - v) * 100.0 for g, v in groups.items() if g in groups0}
    if drops:
        worst = max(sorted(drops), key=lambda g: drops[g])
        out["max_subgroup_drop_pts"], out["worst_subgroup"] = round(drops[worst], 4), worst
    anomalies = exp.extra.get("range_anomalies")
    if isinstance(anomalies, list):  # present only when the range check ran (every int8_static/mixed_precision run)
        out["range_anomalies"] = [str(a) for a in anomalies]
        out["range_checked"] = True
    return out


def results_facts(project: Project) -> dict[str, Any]:
    base = project.baseline
    statistic = project.budget.latency_statistic
    candidates = [
        _candidate(e, base, statistic)
        for e in project.experiments
        if e.kind in CANDIDATE_KINDS and e.status == "finished" and e.recipe
    ]
    out: dict[str, Any] = {"candidates": candidates}
    latest = project.latest_sensitivity()
    if latest is not None:
        out["sensitivity_done"] = True
        out["sensitive_layers"] = [node for node, _ in latest[1].most_sensitive(10)]
    return out


def target_choice(project: Project) -> tuple[str | None, dict[str, Any] | None]:
    """(target id, full target facts with the project's overrides) from `project.target`."""
    tid, t = project.target.id, dict(project.target.overrides)
    if not tid:
        return None, None
    if not t:
        return tid, None
    profile = get_target(tid).to_facts().model_dump()
    unknown = sorted(k for k in t if k not in profile)
    if unknown:
        raise AdvisorError(f"'{unknown[0]}' is not a target field", where="project target")
    return tid, {**profile, **t}


def _set_path(raw: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = raw
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise AdvisorError(f"cannot set '{path}'", where="project answers")
    node[parts[-1]] = value


def build_facts(project: Project, project_path: Path | str | None = None, profile: ModelProfile | None = None) -> Facts:
    """Facts for the advisor from a project, its saved profile (if any) and the user's answers."""
    stale: bool | None = None
    if profile is None and project_path is not None:
        profile, stale = load_saved_profile(project, project_path)
    elif profile is not None:
        stale = False
    tid, target = target_choice(project)
    raw: dict[str, Any] = {
        "target_id": tid,
        "target": target,
        "model": model_facts(project, profile, stale),
        "budget": project.budget.model_dump(exclude_none=True),
        "data": data_facts(project),
        "results": results_facts(project),
    }
    for path, value in sorted(project.answers.items()):
        if path in ("stage", "device_available", "also_targets") or "." in path:
            _set_path(raw, path, value)
    return parse_facts(raw, where=f"{project.name}: facts from the project")


def advise_project(
    project: Project, project_path: Path | str | None = None, profile: ModelProfile | None = None
) -> Advice:
    """The advisor's advice for a project: facts from the project, the technique manifest as data.
    Callers go through `Session.advise`; this is the translation it uses."""
    from shrinkwise.advisor.engine import advise
    from shrinkwise.compression.catalog import load_catalog

    return advise(build_facts(project, project_path, profile), load_catalog())


# --- the advisor's rules, loaded once (the GUI warms them up off the UI thread) ---------------------------------


def warm_up_advisor() -> int:
    """Load and compile every rule once (~0.4 s); later advice takes milliseconds. Safe from a worker thread."""
    from shrinkwise.advisor.rules import cached_rules
    from shrinkwise.compression.catalog import load_catalog

    return len(cached_rules(load_catalog()))


def advisor_ready() -> bool:
    """The rules are loaded, so advising now will not stall the caller."""
    from shrinkwise.advisor.rules import rules_cached
    from shrinkwise.compression.catalog import load_catalog

    return rules_cached(load_catalog())


def result_rule_ids() -> set[str]:
    """Rules that read finished candidates (the advisor's reading on the Compare page)."""
    from shrinkwise.advisor.rules import cached_rules
    from shrinkwise.compression.catalog import load_catalog

    return {r.id for r in cached_rules(load_catalog()) if r.category in ("results", "evaluation")}
