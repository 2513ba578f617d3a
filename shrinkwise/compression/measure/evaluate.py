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
from shrinkwise.compression.measure.runtime import make_session, run_outputs, session_signature
from shrinkwise.compression.measure.scoring import score_outputs


class CandidateMeasurement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    measurements: list[Measurement]
    quality: dict[str, Any] = Field(default_factory=dict, description="Fields of workspace.project.QualityDetails")


def output_axes(io: IOSpec | None) -> dict[str, int | None]:
    """Samples axes the user declared for outputs (the rest are found from the model's shapes)."""
    return {k: v.batch_axis for k, v in (io.outputs if io else {}).items() if v.batch_axis is not None}


def reference_outputs(original: Path, evaluation: Dataset, io: IOSpec | None = None) -> dict[str, np.ndarray]:
    """The original's outputs on the evaluation data, by output name, samples on axis 0."""
    with runtime_errors(original, "run the original model on the evaluation data"):
        return run_outputs(make_session(original), evaluation, output_axes=output_axes(io))


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
) -> CandidateMeasurement:
    """Measure `candidate` (which may be `original` itself, for the baseline) on `evaluation`."""
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

    session = make_session(candidate, threads=threads)
    cand = run_outputs(session, evaluation, output_axes=output_axes(io))
    ref = reference if reference is not None else (cand if same else reference_outputs(original, evaluation, io))
    source = "generated" if evaluation.generated else ("labelled" if evaluation.labels is not None else "unlabelled")
    scored = score_outputs(ref, cand, evaluation, session_signature(session), io)
    quality: dict[str, Any] = {
        "data_source": source,
        "samples": len(evaluation),
        "outputs": [q.model_dump() for q in scored.outputs],
        "primary_output": scored.primary,
    }
    if not evaluation.generated:
        out.extend(scored.measurements(source, len(evaluation)))
        quality.update(scored.details)
    return CandidateMeasurement(measurements=out, quality=quality)
