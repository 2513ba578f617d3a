"""Time a candidate again, side by side with the original and for longer, when one timing is too close to call.

Why: a run times its candidate for a few seconds, interleaved with the original. On a busy machine that paired
ratio still moves by tens of percent between runs (MiniLM's int8 candidate measured 2.4× and 4.3× faster in two
runs), so a verdict near a speed budget can flip on noise. Re-timing only the close calls, with more rounds,
keeps the ladder honest without making every run slow. The new figures replace the candidate's host timings
(the one measurement policy reads one number per metric); `details` says they were re-timed and for how long.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shrinkwise.compression.errors import ShrinkwiseError
from shrinkwise.compression.measure.records import Measurement

if TYPE_CHECKING:
    from shrinkwise.workspace.project import Experiment
    from shrinkwise.workspace.session import Session

# The host timings a re-time replaces (a device import is never touched).
TIMING_METRICS = (
    "latency_ms_median",
    "latency_ms_p90",
    "latency_ms_iqr",
    "latency_ratio",
    "original_latency_ms_median",
)
DEFAULT_RETIME_S = 20.0


def retime(session: Session, experiment_id: str, seconds: float = DEFAULT_RETIME_S, threads: int = 1) -> Experiment:
    """Re-time `experiment_id` against the original, interleaved, for about `seconds`; save and return it."""
    from shrinkwise.compression.measure.latency import batch_one_feed, measure_latency
    from shrinkwise.workspace.runs import _save

    exp = session.project.experiment(experiment_id)
    art = exp.final_artifact
    if exp.kind == "baseline" or art is None:
        raise ShrinkwiseError(f"'{experiment_id}' has no compressed model to time", fix="pick a finished candidate")
    path = session.resolve(art.path)
    if not path.is_file():
        raise ShrinkwiseError(f"the model of '{experiment_id}' is missing: {path}", fix="run the candidate again")
    evaluation = session.datasets()["evaluation"]
    assert evaluation is not None
    models = {"original": session.onnx_path, "candidate": path}
    lat = measure_latency(
        models, batch_one_feed(evaluation), threads=threads, rounds=200, max_seconds=seconds, reference="original"
    )
    new = lat["candidate"].measurements()
    new.append(
        Measurement(
            metric="original_latency_ms_median",
            value=lat["original"].median_ms,
            unit="ms",
            details={"note": "the original, timed interleaved with this candidate"},
        )
    )
    for m in new:
        m.details.update({"retimed": True, "seconds": seconds, "why": "the first timing was too close to the budget"})
    kept = [m for m in exp.measurements if not (m.metric in TIMING_METRICS and m.source == "host")]
    exp.measurements = kept + new
    _save(session)
    return exp


def was_retimed(exp: Experiment) -> bool:
    m = exp.measurement("latency_ratio", source="host")
    return bool(m is not None and m.details.get("retimed"))
