"""Measure a candidate against the original, the same way for every candidate and for the original itself.

One call gives: file size (and encoded size when the technique reports one), latency interleaved with the original,
peak session memory, and for every output its task (inferred with a reason, or declared) and the fidelity that
task calls for (`measure.scoring`); for the primary output also task quality where labels exist, per-class and
per-subgroup accuracy, and the evaluation inputs whose answer changed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shrinkwise.compression.data import Dataset
from shrinkwise.compression.errors import runtime_errors
from shrinkwise.compression.io_spec import IOSpec
from shrinkwise.compression.measure.latency import batch_one_feed, measure_latency
from shrinkwise.compression.measure.memory import peak_session_memory_mb
from shrinkwise.compression.measure.records import Measurement
from shrinkwise.compression.measure.runtime import (
    EXACT_INT8_OPTION,
    make_session,
    quality_session,
    run_outputs,
    session_signature,
)
from shrinkwise.compression.measure.scoring import ScoredOutputs, score_outputs
from shrinkwise.compression.measure.tasks import headline_metric
from shrinkwise.compression.onnx_utils import INT8_GEMM_OPS
from shrinkwise.cpuflags import int8_gemm_saturates
from shrinkwise.units import fmt_metric


class CandidateMeasurement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    measurements: list[Measurement]
    quality: dict[str, Any] = Field(default_factory=dict, description="Fields of workspace.project.QualityDetails")
    notes: list[str] = Field(default_factory=list, description="Caveats about how it was measured, for the artifact")


def output_axes(io: IOSpec | None) -> dict[str, int | None]:
    """Samples axes the user declared for outputs (the rest are found from the model's shapes)."""
    return {k: v.batch_axis for k, v in (io.outputs if io else {}).items() if v.batch_axis is not None}


def reference_outputs(original: Path, evaluation: Dataset, io: IOSpec | None = None) -> dict[str, np.ndarray]:
    """The original's outputs on the evaluation data, by output name, samples on axis 0."""
    with runtime_errors(original, "run the original model on the evaluation data"):
        return run_outputs(quality_session(original)[0], evaluation, output_axes=output_axes(io))


def _one_line_errors(fn: Callable[..., CandidateMeasurement]) -> Callable[..., CandidateMeasurement]:
    """A raw ONNX Runtime error while measuring leaves as one line naming the candidate file."""

    @functools.wraps(fn)
    def wrapped(candidate: Path, *args: Any, **kwargs: Any) -> CandidateMeasurement:
        with runtime_errors(candidate, "run the model to measure it"):
            return fn(candidate, *args, **kwargs)

    return wrapped


@_one_line_errors
def measure_candidate(
    candidate: Path,
    original: Path,
    evaluation: Dataset,
    work_dir: Path,
    reference: dict[str, np.ndarray] | None = None,
    encoded_size_bytes: int | None = None,
    threads: int = 1,
    latency_seconds: float = 8.0,
    measure_memory: bool = True,
    io: IOSpec | None = None,
    saturation_note: bool = True,
) -> CandidateMeasurement:
    """Measure `candidate` (which may be `original` itself, for the baseline) on `evaluation`: latency with the
    runtime's default kernels, quality with the exact int8 kernel (`quality_session`); `saturation_note` also
    scores an int8 candidate with the default kernel where that one saturates, and notes a difference."""
    out: list[Measurement] = [
        Measurement(
            metric="size_bytes", value=float(Path(candidate).stat().st_size), unit="B", details={"what": "ONNX file"}
        )
    ]
    if encoded_size_bytes is not None:
        out.append(
            Measurement(
                metric="encoded_size_bytes",
                value=float(encoded_size_bytes),
                unit="B",
                details={"what": "compact encoding the technique describes; not the file ONNX Runtime loads"},
            )
        )

    feed = batch_one_feed(evaluation)
    same = Path(candidate).resolve() == Path(original).resolve()
    models = {"candidate": Path(candidate)} if same else {"original": Path(original), "candidate": Path(candidate)}
    lat = measure_latency(
        models, feed, threads=threads, reference=None if same else "original", max_seconds=latency_seconds
    )
    out.extend(lat["candidate"].measurements())
    if not same:
        out.append(
            Measurement(
                metric="original_latency_ms_median",
                value=lat["original"].median_ms,
                unit="ms",
                details={"note": "the original, timed interleaved with this candidate"},
            )
        )

    if measure_memory:
        mem = peak_session_memory_mb(Path(candidate), feed, work_dir, threads=threads)
        if mem is not None:
            out.append(
                Measurement(
                    metric="peak_memory_mb",
                    value=round(mem["peak_mb"], 2),
                    unit="MB",
                    details={"how": "growth of the peak RSS of a fresh process while loading and running the session"},
                )
            )

    session, may_saturate = quality_session(candidate, threads=threads)
    cand = run_outputs(session, evaluation, output_axes=output_axes(io))
    ref = reference if reference is not None else (cand if same else reference_outputs(original, evaluation, io))
    source = "generated" if evaluation.generated else ("labelled" if evaluation.labels is not None else "unlabelled")
    scored = score_outputs(ref, cand, evaluation, session_signature(session), io)
    notes = _saturation_notes(candidate, scored, ref, evaluation, threads, io, may_saturate) if saturation_note else []
    quality: dict[str, Any] = {
        "data_source": source,
        "samples": len(evaluation),
        "outputs": [q.model_dump() for q in scored.outputs],
        "primary_output": scored.primary,
    }
    if not evaluation.generated:
        out.extend(scored.measurements(source, len(evaluation)))
        quality.update(scored.details)
    return CandidateMeasurement(measurements=out, quality=quality, notes=notes)


def _headline(scored: ScoredOutputs) -> tuple[str, float] | None:
    q = next((o for o in scored.outputs if o.output == scored.primary), None)
    name = headline_metric(q.task, q.metrics) if q else None
    return (name, float(q.metrics[name])) if q and name else None


def _op_types(path: Path) -> set[str]:
    import onnx

    return {n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node}


def _saturation_notes(
    candidate: Path,
    exact: ScoredOutputs,
    ref: dict[str, np.ndarray],
    evaluation: Dataset,
    threads: int,
    io: IOSpec | None,
    may_saturate: bool,
) -> list[str]:
    """Quality is measured with the exact int8 kernel (`quality_session`). On a host whose default kernel
    saturates, the candidate is scored with that default too, and a difference is said in one note: it is what
    this model gives on such a CPU unless the session option is set (or its weights use 7 bits)."""
    if not int8_gemm_saturates() or not _op_types(candidate) & INT8_GEMM_OPS:
        return []
    if may_saturate:
        return [
            f"Quality is measured with ONNX Runtime's default int8 kernel, which can saturate on this x86 CPU "
            f"without VNNI: ONNX Runtime could not load this graph with its exact kernel ({EXACT_INT8_OPTION}=1). "
            "The quality may be better on a phone, an Arm board or a VNNI CPU; measure it there."
        ]
    session = make_session(candidate, threads=threads)
    fast = score_outputs(
        ref, run_outputs(session, evaluation, output_axes=output_axes(io)), evaluation, session_signature(session), io
    )
    a, b = _headline(exact), _headline(fast)
    if a is None or b is None or abs(a[1] - b[1]) < 1e-6:
        return []
    return [
        f"Quality is measured with ONNX Runtime's exact int8 kernel ({EXACT_INT8_OPTION}=1): on this x86 CPU "
        f"without VNNI the default int8 kernel saturates, and {a[0]} is {fmt_metric(*b)} with it instead of "
        f"{fmt_metric(*a)}. "
        f"Where this model runs on such a CPU, set that session option (slower) or use 7-bit weights "
        "(reduce_range); a phone, an Arm board or a VNNI CPU does not saturate. Latency here is timed with the "
        "default kernel."
    ]
