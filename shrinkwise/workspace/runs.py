"""Run recipes, sweeps and the sensitivity analysis for a session, and persist every outcome at once.

Why here and not in the runner: the runner knows processes, not projects. This module is the one place where run
results enter the project file: the experiment is saved as `running` before the worker starts (so a crash of the
whole app still leaves a trace), and saved again, atomically, the moment the worker ends — finished, failed or
cancelled. Earlier experiments are never touched.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from shrinkwise.compression.errors import ShrinkwiseError, TechniqueError
from shrinkwise.compression.jobs import Job, JobStep, TorchSpecData, save_dataset
from shrinkwise.compression.measure.layer_error import LayerErrorReport
from shrinkwise.compression.measure.records import Measurement
from shrinkwise.compression.results import StepResult
from shrinkwise.compression.runner import Run, RunOutcome
from shrinkwise.workspace.figures import pareto_front, quality_metric, value
from shrinkwise.workspace.hashing import sha256_file
from shrinkwise.workspace.project import ArtifactRecord, Experiment, RecipeStep, utc_now
from shrinkwise.workspace.result_row import ResultRow
from shrinkwise.workspace.sensitivity_model import (
    CurvePoint,
    LayerRank,
    Proposal,
    SensitivityResult,
    VariantSummary,
)
from shrinkwise.workspace.session import Session
from shrinkwise.workspace.store import owner_record

EventCallback = Callable[[Any], None]
StepLike = RecipeStep | JobStep | dict[str, Any] | tuple[str, dict[str, Any]] | str
_SAVE_LOCK = threading.Lock()


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def as_steps(steps: Sequence[StepLike]) -> list[RecipeStep]:
    out = []
    for s in steps:
        if isinstance(s, RecipeStep):
            out.append(s)
        elif isinstance(s, JobStep):
            out.append(RecipeStep(technique=s.technique, config=dict(s.config)))
        elif isinstance(s, str):
            out.append(RecipeStep(technique=s))
        elif isinstance(s, tuple):
            out.append(RecipeStep(technique=s[0], config=dict(s[1])))
        else:
            out.append(RecipeStep.model_validate(s))
    return out


def check_techniques(steps: Sequence[RecipeStep]) -> None:
    """Refuse an unknown technique or a bad setting before anything is recorded (a typo is not a failed run): one
    line naming the step, the setting and what is allowed (`compression.catalog.technique_config`)."""
    from shrinkwise.compression.catalog import load_catalog, technique_config, technique_settings

    catalog = load_catalog()
    for s in steps:
        if s.technique not in catalog:
            raise TechniqueError(f"unknown technique '{s.technique}'", fix=f"use one of: {', '.join(catalog)}")
    if not steps:
        raise ShrinkwiseError("the recipe has no steps", fix="name at least one technique")
    many = len(steps) > 1
    for i, s in enumerate(steps):
        elsewhere = {
            key: f"step {j + 1} ({other.technique})"
            for j, other in reversed(list(enumerate(steps)))
            if j != i
            for key in technique_settings(other.technique)
        }
        technique_config(s.technique, s.config, step=i + 1 if many else None, elsewhere=elsewhere)


def ensure_baseline(session: Session) -> Experiment:
    """Candidates are compared with the original measured the same way; measure it first if it is missing."""
    return session.project.baseline or session.measure_baseline()


def latest_sensitivity(session: Session) -> dict[str, float] | None:
    """Node -> quality drop from the newest finished sensitivity analysis (what mixed precision reads)."""
    latest = session.project.latest_sensitivity()
    return dict(latest[1].sensitivity) if latest is not None and latest[1].sensitivity else None


def _save(session: Session) -> None:
    with _SAVE_LOCK:
        session.save()


def _needs(steps: Sequence[RecipeStep]) -> dict[str, bool]:
    from shrinkwise.compression.catalog import load_catalog

    catalog = load_catalog()
    needs = {"calibration": False, "training": False, "torch_model": False}
    for s in steps:
        n = catalog[s.technique].get("needs", {})
        needs["calibration"] |= bool(n.get("calibration"))
        needs["training"] |= bool(n.get("training") or n.get("torch_model"))
        needs["torch_model"] |= bool(n.get("torch_model"))
    return needs


def prepare_job(
    session: Session, steps: Sequence[RecipeStep], run_dir: Path, chain: bool = True, **options: Any
) -> Job:
    """Write the session's datasets as .npz in the run folder and describe the job (plain data)."""
    model = session.require_model()
    sets = session.datasets()
    data_dir = run_dir / "data"
    needs = _needs(steps)
    evaluation = sets["evaluation"]
    assert evaluation is not None
    paths: dict[str, str | None] = {"evaluation": save_dataset(evaluation, data_dir / "evaluation.npz")}
    for role in ("calibration", "training"):
        ds = sets[role]
        # Calibration is cheap and optional techniques use it; training data only when a step needs it.
        wanted = needs[role] or (role == "calibration")
        paths[role] = save_dataset(ds, data_dir / f"{role}.npz") if ds is not None and wanted else None
    if needs["torch_model"]:
        session.check_architecture()  # an unconfirmed architecture file is refused before the worker starts
    spec = session.torch_spec()
    torch = None
    if spec is not None:
        torch = TorchSpecData(
            format=spec.format,
            path=str(spec.path),
            architecture=spec.architecture,
            arch_kwargs=spec.arch_kwargs,
            base_dir=str(session.folder),
            trusted_sha256=spec.trusted_sha256,
        )
    if "sensitivity" not in options:
        options["sensitivity"] = latest_sensitivity(session)
    return Job(
        original_onnx=str(session.onnx_path),
        out_dir=str(run_dir),
        steps=[JobStep(technique=s.technique, config=s.config) for s in steps],
        chain=chain,
        input_names=model.signature.input_names,
        calibration=paths["calibration"],
        evaluation=paths["evaluation"],
        evaluation_generated=evaluation.generated,
        training=paths["training"],
        torch=torch,
        seed=session.project.split.seed,
        io=session.project.io,
        **options,
    )


RECURRENT_OPS = ("LSTM", "GRU", "RNN")
# Runs whose last step leaves Q/DQ pairs get a layer-by-layer range check against that step's float input.
RANGE_CHECKED = ("int8_static", "mixed_precision")
# Below this activation SQNR (dB) a layer has lost real information (a clean int8 tensor is ~35-45 dB).
RANGE_ANOMALY_SQNR_DB = 20.0


def run_recipe(
    session: Session,
    steps: Sequence[StepLike],
    label: str | None = None,
    group: str | None = None,
    on_event: EventCallback | None = None,
    kind: str = "run",
    time_limit_s: float | None = None,
    on_start: Callable[[Run], None] | None = None,
    **job_options: Any,
) -> Experiment:
    """Run a recipe in a worker process and persist the experiment; returns it (finished, failed or cancelled).

    `on_start` receives the `Run` so a caller (the GUI) can cancel it. Ctrl-C cancels, records, then re-raises.
    """
    recipe = as_steps(steps)
    check_techniques(recipe)
    ensure_baseline(session)
    if recipe[-1].technique in RANGE_CHECKED:
        job_options.setdefault("layer_error_step", -1)
    exp_id = new_id("run")
    run_dir = session.artifacts / "runs" / exp_id
    exp = Experiment(
        id=exp_id,
        label=label or " + ".join(s.technique for s in recipe),
        kind=kind,  # type: ignore[arg-type]
        group=group,
        recipe=recipe,
        status="running",
        started=utc_now(),
        extra={"owner": owner_record()},  # so a later open can tell a dead run from a live one
    )
    session.project.experiments.append(exp)
    _save(session)
    try:
        job = prepare_job(session, recipe, run_dir, **job_options)
        run = Run(job, run_dir / "job.json", on_event=on_event, time_limit_s=time_limit_s)
        if on_start is not None:
            on_start(run)
        outcome = run.start().wait()
    except BaseException as exc:  # preparing failed, or interrupted before the worker ran: still record it
        status = "cancelled" if isinstance(exc, KeyboardInterrupt) else "failed"
        _record_error(session, exp_id, status, str(exc) or exc.__class__.__name__)
        raise
    record_outcome(session, exp_id, outcome, run_dir)
    if outcome.interrupted:
        raise KeyboardInterrupt
    return session.project.experiment(exp_id)


def _record_error(session: Session, exp_id: str, status: str, message: str, details: str = "") -> None:
    exp = session.project.experiment(exp_id)
    exp.status = status  # type: ignore[assignment]
    exp.error = message.replace("\n", " ")
    exp.error_details = details
    exp.finished = utc_now()
    _save(session)


def record_outcome(session: Session, exp_id: str, outcome: RunOutcome, run_dir: Path) -> Experiment:
    """Turn a worker's outcome into the saved experiment: artifacts with hashes and lineage, measurements, quality.

    A failed or cancelled recipe keeps the steps that finished before it stopped (artifacts and their measurements
    in `extra['steps']`), so nothing measured is lost; its headline measurements stay empty.
    """
    exp = session.project.experiment(exp_id)
    if outcome.status != "finished" or outcome.result is None:
        if outcome.partial_steps:
            _record_steps(session, exp, outcome.partial_steps, run_dir)
        _record_error(
            session,
            exp_id,
            outcome.status,
            outcome.error or outcome.status,
            outcome.error_details or outcome.stderr_tail,
        )
        return exp
    steps = outcome.result.steps
    _record_steps(session, exp, steps, run_dir)
    last = steps[-1]
    exp.measurements = list(last.measurements)
    exp.quality = last.quality
    exp.recipe = (
        [RecipeStep(technique=s.technique, config=s.config) for s in steps]
        if len(steps) == len(exp.recipe)
        else exp.recipe
    )
    exp.extra = dict(exp.extra, wall_s=outcome.wall_s)
    if last.layer_error is not None:
        exp.extra["layer_error"] = last.layer_error.model_dump(mode="json")
        exp.extra["range_anomalies"] = range_anomalies(last.layer_error)
    exp.status = "finished"
    exp.error = None
    exp.finished = utc_now()
    _save(session)
    return exp


def range_anomalies(layer_error: LayerErrorReport) -> list[str]:
    """Layers whose quantized activations drift from the float ones: SQNR under RANGE_ANOMALY_SQNR_DB.

    The advisor reads them as `range_anomalies` (check ranges layer by layer after quantizing; keep those layers
    in float first)."""
    return [
        e.node
        for e in layer_error.layers
        if e.activation_sqnr_db is not None and e.activation_sqnr_db < RANGE_ANOMALY_SQNR_DB
    ]


def _op_types(path: Path) -> list[str]:
    """The graph's op types, for "can the target run it"; empty (= unknown) for a file ONNX cannot parse."""
    from shrinkwise.compression.graph_ops import op_types

    if path.suffix != ".onnx":
        return []
    try:
        return op_types(path)
    except Exception:  # noqa: BLE001 - a missing op list only makes the target check "unknown"
        return []


def _record_steps(session: Session, exp: Experiment, steps: list[StepResult], run_dir: Path) -> None:
    artifacts: list[ArtifactRecord] = []
    extra_steps = []
    for i, step in enumerate(steps):
        art = step.artifact
        path = run_dir / art.path
        artifacts.append(
            ArtifactRecord(
                path=session.relpath(path),
                size_bytes=path.stat().st_size,
                sha256=sha256_file(path),
                summary=art.summary,
                encoded_size_bytes=art.encoded_size_bytes,
                notes=list(art.notes),
                step=i,
                op_types=_op_types(path),
                lineage=session.lineage(exp.recipe[: i + 1]),
            )
        )
        extra_steps.append(
            {
                "technique": step.technique,
                "config": step.config,
                "summary": art.summary,
                "details": art.details,
                "measurements": [m.model_dump(mode="json") for m in step.measurements],
                "quality": step.quality.model_dump(mode="json", exclude={"disagreements"}),
            }
        )
    exp.artifacts = artifacts
    exp.extra = dict(exp.extra, steps=extra_steps)


# --- sweeps ------------------------------------------------------------------------------------------------------


def sweep(
    session: Session,
    technique: str,
    key: str,
    values: Sequence[Any],
    base_config: dict[str, Any] | None = None,
    on_event: Callable[[int, Any], None] | None = None,
    on_start: Callable[[int, Run], None] | None = None,
    **job_options: Any,
) -> list[Experiment]:
    """One experiment per value, sharing a group id. `key == 'technique'` means a ladder of techniques (defaults).

    Runs one at a time on purpose: candidates timed while others run would carry noisy latencies.
    """
    if key == "technique":
        recipes = [[RecipeStep(technique=str(v), config=dict(base_config or {}))] for v in values]
        labels = [str(v) for v in values]
    else:
        recipes = [[RecipeStep(technique=technique, config=dict(base_config or {}, **{key: v}))] for v in values]
        labels = [f"{technique} {key}={v}" for v in values]
    for r in recipes:
        check_techniques(r)
    group = new_id("sweep")
    out = []
    for i, (recipe, label) in enumerate(zip(recipes, labels, strict=False)):
        cb = (lambda ev, i=i: on_event(i, ev)) if on_event else None
        st = (lambda run, i=i: on_start(i, run)) if on_start else None
        out.append(
            run_recipe(session, recipe, label=label, group=group, on_event=cb, kind="sweep", on_start=st, **job_options)
        )
    return out


# --- sensitivity -------------------------------------------------------------------------------------------------


def _metric_map(measurements: Sequence[Any]) -> dict[str, float]:
    """Each metric's value under the one measurement policy (device > host > estimate)."""
    ms = [m if isinstance(m, Measurement) else Measurement.model_validate(m) for m in measurements]
    return {name: v for name in {m.metric for m in ms} if (v := value(ms, name)) is not None}


def _baseline_quality(session: Session, metric: str) -> float:
    """The original's own value of the headline metric: its accuracy, or 1.0 for a fidelity to itself."""
    m = ensure_baseline(session).measurement(metric)
    return m.value if m is not None else 1.0


def sensitivity(
    session: Session,
    tolerance: float = 0.01,
    technique: str = "int8_static",
    on_event: EventCallback | None = None,
    on_start: Callable[[Run], None] | None = None,
    latency_seconds: float = 1.0,
    config: dict[str, Any] | None = None,
    time_limit_s: float | None = None,
    label: str | None = None,
) -> Experiment:
    """Quantize one layer at a time (and all but one), rank layers by quality drop, propose what to keep in float.

    `tolerance` is the allowed drop of the quality metric below the original (accuracy where labels exist, else
    top-1 agreement, else mean cosine similarity), in absolute units (0.01 = one point of accuracy). The proposal
    is the smallest set of layers, taken in order of sensitivity, whose exclusion was *measured* to meet it.
    `config` is the technique's other settings (e.g. `per_channel`), kept in every variant; `time_limit_s` bounds
    each of its (at most two) worker runs.
    """
    from shrinkwise.compression.catalog import technique_module

    if technique not in ("int8_static", "int8_dynamic"):
        raise TechniqueError(f"sensitivity works with int8_static or int8_dynamic, not '{technique}'")
    check_techniques([RecipeStep(technique=technique, config=dict(config or {}))])
    if "nodes_to_exclude" not in technique_module(technique).Config.model_fields:
        raise TechniqueError(f"{technique} has no 'nodes_to_exclude' setting; sensitivity cannot use it")
    ensure_baseline(session)
    from shrinkwise.compression.graph_ops import quantizable_layers

    layers = quantizable_layers(session.onnx_path)
    # Static int8 leaves recurrent ops in float: a variant quantizing only one of them would change nothing.
    float_anyway = [l["node"] for l in layers if technique == "int8_static" and l["op_type"] in RECURRENT_OPS]
    layers = [l for l in layers if l["node"] not in float_anyway]
    if not layers:
        raise TechniqueError(
            "the model has no layers with weights to quantize"
            + (f" with {technique} (its recurrent layers stay float)" if float_anyway else ""),
            fix="run the sensitivity analysis with int8_dynamic" if float_anyway else None,
        )
    names = [l["node"] for l in layers]
    exp_id = new_id("sensitivity")
    run_dir = session.artifacts / "runs" / exp_id
    exp = Experiment(
        id=exp_id,
        label=label or f"Sensitivity ({technique}, tolerance {tolerance * 100:g} pts)",  # points, like the budget
        kind="sensitivity",
        recipe=[RecipeStep(technique=technique)],
        status="running",
        started=utc_now(),
        extra={"owner": owner_record()},
    )
    session.project.experiments.append(exp)
    _save(session)

    # Every quantizable layer must be a candidate, Conv included (int8_dynamic's default preset skips Conv).
    base_config: dict[str, Any] = {"op_preset": "all_supported"} if technique == "int8_dynamic" else {}
    base_config.update({k: v for k, v in (config or {}).items() if k != "nodes_to_exclude"})

    # Every variant is measured on the graph as exported: int8_dynamic's attention fusion would remove the Q/K/V
    # MatMuls the variants name (each would try it, then fall back) and give the others a 7-bit QAttention instead.
    unfused: dict[str, Any] = {"fuse_attention": "off"} if technique == "int8_dynamic" else {}

    def step(exclude: Sequence[str]) -> RecipeStep:
        return RecipeStep(technique=technique, config={**unfused, **base_config, "nodes_to_exclude": list(exclude)})

    # Job 1: everything quantized, each layer alone, and all but each layer.
    # With one layer, "all but it" is the original itself (and a quantizer asked to change nothing refuses).
    singles = [step([name]) for name in names] if len(names) > 1 else []
    variants = [step([])] + [step([n for n in names if n != name]) for name in names] + singles
    # The worker also compares the fully quantized variant with the original layer by layer (ORT's QDQ debugging):
    # heavy, so it runs there, never in this (possibly GUI) process.
    outcome = _run_variants(
        session,
        variants,
        run_dir / "pass1",
        on_event,
        on_start,
        latency_seconds,
        layer_error=True,
        time_limit_s=time_limit_s,
    )
    if outcome.status != "finished" or outcome.result is None:
        _record_error(session, exp_id, outcome.status, outcome.error or outcome.status, outcome.error_details)
        if outcome.interrupted:
            raise KeyboardInterrupt
        return session.project.experiment(exp_id)
    res = outcome.result.steps
    metric_name = quality_metric(res[0].measurements) or "cosine_mean"
    base_q = _baseline_quality(session, metric_name)

    def summary(step_result: StepResult) -> VariantSummary:
        values = _metric_map(step_result.measurements)
        q = values.get(metric_name, 0.0)
        return VariantSummary(
            quality=q,
            drop=base_q - q,
            size_bytes=values.get("size_bytes"),
            latency_ms=values.get("latency_ms_median"),
            latency_ratio=values.get("latency_ratio"),
            sqnr_db=values.get("sqnr_db"),
        )

    full = summary(res[0])
    base_exp = ensure_baseline(session)
    base_m = base_exp.measurement("latency_ms_median")
    base_latency = base_m.value if base_m else None
    n = len(names)
    original = VariantSummary(
        quality=base_q,
        drop=0.0,
        size_bytes=_metric_map(base_exp.measurements).get("size_bytes"),
        latency_ms=base_latency,
        latency_ratio=1.0,
    )
    layer_error = outcome.result.layer_error or LayerErrorReport(reason="the worker reported no per-layer error")
    per_node = layer_error.by_node()
    ranking: list[LayerRank] = []
    for i, layer in enumerate(layers):
        alone, but = summary(res[1 + i]), (summary(res[1 + n + i]) if n > 1 else original)
        e = per_node.get(layer["node"])
        ranking.append(
            LayerRank(
                node=layer["node"],
                op_type=layer["op_type"],
                weight_bytes=layer["weight_bytes"],
                drop_alone=alone.drop,
                recovery=full.drop - but.drop,
                sqnr_alone_db=alone.sqnr_db,
                size_cost_bytes=(but.size_bytes or 0) - (full.size_bytes or 0),
                # Paired ratios (each timed interleaved with the original) drift less than raw medians between variants.
                latency_cost_ms=_latency_cost(but, full, base_latency),
                activation_sqnr_db=e.activation_sqnr_db if e else None,
                weight_sqnr_db=e.weight_sqnr_db if e else None,
            )
        )
    ranking.sort(
        key=lambda r: (-max(r.drop_alone, r.recovery), r.sqnr_alone_db if r.sqnr_alone_db is not None else 1e9)
    )
    order = [r.node for r in ranking]

    def point(keep: list[str], s: VariantSummary, source: Literal["pass1", "pass2"]) -> CurvePoint:
        return CurvePoint(keep_float=keep, source=source, **s.model_dump())

    # Keep-in-float sets of growing size, measured (k = 1 is "all but the first" from job 1).
    curve = [point([], full, "pass1")]
    by_node = {l["node"]: i for i, l in enumerate(layers)}
    sources: list[tuple[Path, StepResult]] = [(run_dir / "pass1", res[0])]  # the artifact behind each curve point
    chosen: CurvePoint | None = curve[0] if full.drop <= tolerance else None
    if chosen is None and n > 1:
        first = res[1 + n + by_node[order[0]]]
        curve.append(point(order[:1], summary(first), "pass1"))
        sources.append((run_dir / "pass1", first))
        if curve[-1].drop <= tolerance:
            chosen = curve[-1]
    if chosen is None and n > 2:
        more = [step(order[:k]) for k in range(2, n)]
        out2 = _run_variants(
            session, more, run_dir / "pass2", on_event, on_start, latency_seconds, time_limit_s=time_limit_s
        )
        if out2.status != "finished" or out2.result is None:
            _record_error(session, exp_id, out2.status, out2.error or out2.status, out2.error_details)
            if out2.interrupted:
                raise KeyboardInterrupt
            return session.project.experiment(exp_id)
        for k, r in zip(range(2, n), out2.result.steps, strict=False):
            curve.append(point(order[:k], summary(r), "pass2"))
            sources.append((run_dir / "pass2", r))
            if chosen is None and curve[-1].drop <= tolerance:
                chosen = curve[-1]
    meets = chosen is not None
    if chosen is None:  # nothing quantized meets it: say so and point at the least-bad measured option
        chosen = min(curve, key=lambda c: c.drop)
    folder, step_result = sources[next(i for i, c in enumerate(curve) if c is chosen)]
    exp = session.project.experiment(exp_id)
    art = step_result.artifact
    path = folder / art.path
    exp.recipe = [step(chosen.keep_float)]
    exp.artifacts = [
        ArtifactRecord(
            path=session.relpath(path),
            size_bytes=path.stat().st_size,
            sha256=sha256_file(path),
            summary=art.summary,
            notes=list(art.notes),
            op_types=_op_types(path),
            lineage=session.lineage(exp.recipe),
        )
    ]
    exp.measurements = list(step_result.measurements)
    exp.quality = step_result.quality
    result = SensitivityResult(
        technique=technique,
        metric=metric_name,
        tolerance=tolerance,
        original_quality=base_q,
        sensitivity={r.node: r.drop_alone for r in ranking},
        ranking=ranking,
        all_quantized=full,
        curve=curve,
        layer_error=layer_error,
        not_ranked=float_anyway,  # recurrent layers static int8 leaves float: not candidates
        proposal=Proposal(
            keep_float=chosen.keep_float,
            quality=chosen.quality,
            drop=chosen.drop,
            meets_tolerance=meets,
            size_bytes=chosen.size_bytes,
            latency_ms=chosen.latency_ms,
            config={**base_config, "nodes_to_exclude": chosen.keep_float},
            note=None
            if meets
            else f"no measured set met the tolerance of {tolerance * 100:g} pts; the least-bad one is shown",
        ),
    )
    exp.extra = result.to_extra()
    exp.status = "finished"
    exp.finished = utc_now()
    _save(session)
    return exp


def _latency_cost(variant: VariantSummary, reference: VariantSummary, base_latency: float | None) -> float | None:
    if variant.latency_ratio is not None and reference.latency_ratio is not None and base_latency is not None:
        return (variant.latency_ratio - reference.latency_ratio) * base_latency
    if variant.latency_ms is None or reference.latency_ms is None:
        return None
    return variant.latency_ms - reference.latency_ms


def _run_variants(
    session: Session,
    variants: list[RecipeStep],
    run_dir: Path,
    on_event: EventCallback | None,
    on_start: Callable[[Run], None] | None,
    latency_seconds: float,
    layer_error: bool = False,
    time_limit_s: float | None = None,
) -> RunOutcome:
    """Many independent variants of the original in one worker (no chaining), measured lightly."""
    job = prepare_job(
        session,
        variants,
        run_dir,
        chain=False,
        latency_seconds=latency_seconds,
        measure_memory=False,
        saturation_note=False,
        sensitivity=None,
        layer_error_step=0 if layer_error else None,
    )
    run = Run(job, run_dir / "job.json", on_event=on_event, time_limit_s=time_limit_s)
    if on_start is not None:
        on_start(run)
    return run.start().wait()


# --- results and the Pareto front --------------------------------------------------------------------------------


def results(session: Session) -> list[ResultRow]:
    """Every finished candidate (the original first) with size, latency, quality, per-class deltas and Pareto flags.

    Every number is the one `Experiment.measurement` picks (device > host > estimate), so this table, the
    advisor's decision, Export and the report show the same figures. Latency is the candidate's own median;
    `latency_ratio` is its paired ratio to the original, timed interleaved in the same run.
    """
    base = session.project.baseline
    exps = ([base] if base else []) + [
        e for e in session.project.experiments if e.kind != "baseline" and e.status == "finished" and e.measurements
    ]
    base_classes = base.quality.per_class_accuracy if base and base.quality else {}
    metric = quality_metric(base.measurements) if base else None
    metric = metric or next((q for e in exps if (q := quality_metric(e.measurements))), None)
    values = [_metric_map(e.measurements) for e in exps]
    qualities = [v.get(metric) if metric else None for v in values]
    size_front = pareto_front([(v.get("size_bytes"), q) for v, q in zip(values, qualities, strict=True)])
    lat_front = pareto_front([(v.get("latency_ms_median"), q) for v, q in zip(values, qualities, strict=True)])
    rows: list[ResultRow] = []
    for e, v, quality, on_size, on_latency in zip(exps, values, qualities, size_front, lat_front, strict=True):
        latency = e.measurement("latency_ms_median")
        classes = e.quality.per_class_accuracy if e.quality else {}
        rows.append(
            ResultRow(
                id=e.id,
                label=e.label or e.id,
                kind=e.kind,
                group=e.group,
                original=e.kind == "baseline",
                size_bytes=v.get("size_bytes"),
                encoded_size_bytes=v.get("encoded_size_bytes"),
                latency_ms_median=v.get("latency_ms_median"),
                latency_source=latency.source if latency else None,
                latency_ms_p90=v.get("latency_ms_p90"),
                latency_ratio=v.get("latency_ratio"),
                accuracy=v.get("accuracy"),
                agreement=v.get("top1_agreement"),
                sqnr_db=v.get("sqnr_db"),
                quality_metric=metric,
                quality=quality,
                per_class_delta={k: classes[k] - base_classes[k] for k in classes if k in base_classes},
                pareto_size=on_size,
                pareto_latency=on_latency,
            )
        )
    return rows
