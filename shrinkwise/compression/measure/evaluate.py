"""Measure a candidate against the original, the same way for every candidate and for the original itself.

One call gives: file size (and encoded size when the technique reports one), latency interleaved with the original,
peak session memory, task quality where labels exist, fidelity to the original always, per-class and per-subgroup
accuracy, and the evaluation inputs whose top-1 answer changed.
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
from shrinkwise.compression.measure.latency import batch_one_feed, measure_latency
from shrinkwise.compression.measure.memory import peak_session_memory_mb
from shrinkwise.compression.measure.quality import (
    classification_metrics,
    fidelity,
    is_classifier_output,
    subgroup_accuracy,
)
from shrinkwise.compression.measure.records import Measurement
from shrinkwise.compression.measure.runtime import make_session, run_batches

MAX_DISAGREEMENTS_KEPT = 200


class CandidateMeasurement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    measurements: list[Measurement]
    quality: dict[str, Any] = Field(default_factory=dict, description="Fields of workspace.project.QualityDetails")


def reference_outputs(original: Path, evaluation: Dataset) -> np.ndarray:
    with runtime_errors(original, "run the original model on the evaluation data"):
        return run_batches(make_session(original), evaluation.inputs)[0]


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
    reference: np.ndarray | None = None,
    encoded_size_bytes: int | None = None,
    threads: int = 1,
    latency_seconds: float = 8.0,
    measure_memory: bool = True,
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

    feed = batch_one_feed(evaluation.inputs)
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

    cand_out = run_batches(make_session(candidate, threads=threads), evaluation.inputs)[0].astype(np.float32)
    ref = reference if reference is not None else (cand_out if same else reference_outputs(original, evaluation))
    fid = fidelity(ref, cand_out)
    source = "generated" if evaluation.generated else ("labelled" if evaluation.labels is not None else "unlabelled")
    quality: dict[str, Any] = {"data_source": source, "samples": len(evaluation)}
    details = {"samples": len(evaluation), "data": source}
    if not evaluation.generated:
        out.append(
            Measurement(
                metric="sqnr_db",
                value=min(fid.sqnr_db, 200.0),
                unit="dB",
                details=dict(details, note="200 means identical outputs"),
            )
        )
        out.append(Measurement(metric="cosine_mean", value=fid.cosine_mean, details=details))
        out.append(Measurement(metric="cosine_min", value=fid.cosine_min, details=details))
        if fid.top1_agreement is not None:
            out.append(Measurement(metric="top1_agreement", value=fid.top1_agreement, details=details))
            quality["disagreements"] = fid.disagreements[:MAX_DISAGREEMENTS_KEPT]
        if evaluation.labels is not None and is_classifier_output(cand_out):
            preds = cand_out.argmax(axis=1)
            cm = classification_metrics(evaluation.labels, preds)
            out.append(Measurement(metric="accuracy", value=cm.accuracy, details=details))
            out.append(Measurement(metric="macro_f1", value=cm.macro_f1, details=details))
            quality["per_class_accuracy"] = {str(k): v for k, v in cm.per_class_accuracy.items()}
            quality["per_class_f1"] = {str(k): v for k, v in cm.per_class_f1.items()}
            if evaluation.groups is not None:
                quality["per_subgroup_accuracy"] = subgroup_accuracy(evaluation.labels, preds, evaluation.groups)
    return CandidateMeasurement(measurements=out, quality=quality)
