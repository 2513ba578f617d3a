"""Latency on ONNX Runtime's CPU provider: warm-up, repeats until stable, median and p90, interleaved.

Tiny models run in tens of microseconds, where a machine's drift is larger than the differences we look for. So
all candidates' sessions stay alive together and are timed in rounds, in a shuffled order each round; a candidate
is compared with the original through paired per-round ratios, whose spread (IQR) is reported as the noise bar.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from shrinkwise.compression.measure.records import Measurement
from shrinkwise.compression.measure.runtime import make_session

if TYPE_CHECKING:  # pragma: no cover
    from shrinkwise.compression.data import Dataset


@dataclass
class LatencyResult:
    median_ms: float
    p90_ms: float
    iqr_ms: float
    runs: int
    threads: int
    ratio_to_reference: float | None = None
    ratio_iqr: tuple[float, float] | None = None

    def measurements(self) -> list[Measurement]:
        import onnxruntime as ort

        details = {
            "runtime": f"onnxruntime {ort.__version__} CPUExecutionProvider",
            "threads": self.threads,
            "runs": self.runs,
            "batch": 1,
        }
        out = [
            Measurement(metric="latency_ms_median", value=self.median_ms, unit="ms", details=details),
            Measurement(metric="latency_ms_p90", value=self.p90_ms, unit="ms", details=details),
            Measurement(metric="latency_ms_iqr", value=self.iqr_ms, unit="ms", details=details),
        ]
        if self.ratio_to_reference is not None:
            d = dict(details, paired_ratio_iqr=list(self.ratio_iqr or ()))
            out.append(Measurement(metric="latency_ratio", value=self.ratio_to_reference, unit="x", details=d))
        return out


def measure_latency(
    models: dict[str, Path],
    feed: dict[str, np.ndarray],
    threads: int = 1,
    warmup: int = 10,
    rounds: int = 20,
    runs_per_round: int = 13,
    max_seconds: float = 20.0,
    reference: str | None = None,
    seed: int = 0,
) -> dict[str, LatencyResult]:
    """Time every model on the same batch-1 `feed`, interleaved; stop early once `max_seconds` is spent."""
    sessions = {name: make_session(path, threads=threads) for name, path in models.items()}
    for sess in sessions.values():
        for _ in range(warmup):
            sess.run(None, feed)
    rng = np.random.default_rng(seed)
    names = list(sessions)
    samples: dict[str, list[float]] = {n: [] for n in names}
    round_medians: dict[str, list[float]] = {n: [] for n in names}
    deadline = time.perf_counter() + max_seconds
    for r in range(rounds):
        for idx in rng.permutation(len(names)):
            name = names[idx]
            sess = sessions[name]
            sess.run(None, feed)  # re-warm after the others ran
            times = []
            for _ in range(runs_per_round):
                t0 = time.perf_counter()
                sess.run(None, feed)
                times.append((time.perf_counter() - t0) * 1e3)
            samples[name].extend(times)
            round_medians[name].append(float(np.median(times)))
        if r >= 3 and time.perf_counter() > deadline:
            break
    results: dict[str, LatencyResult] = {}
    for name in names:
        arr = np.asarray(samples[name])
        q1, q3 = np.percentile(arr, [25, 75])
        res = LatencyResult(
            median_ms=float(np.median(arr)),
            p90_ms=float(np.percentile(arr, 90)),
            iqr_ms=float(q3 - q1),
            runs=len(arr),
            threads=threads,
        )
        if reference is not None and name != reference:
            ratios = np.asarray(round_medians[name]) / np.asarray(round_medians[reference])
            res.ratio_to_reference = float(np.median(arr) / np.median(samples[reference]))
            lo, hi = np.percentile(ratios, [25, 75])
            res.ratio_iqr = (float(lo), float(hi))
        elif reference is not None:
            res.ratio_to_reference, res.ratio_iqr = 1.0, (1.0, 1.0)
        results[name] = res
    return results


def batch_one_feed(inputs: Dataset | dict[str, np.ndarray], index: int = 0) -> dict[str, np.ndarray]:
    """One sample as a model feed: sliced where a `Dataset`'s spec puts the samples (axis 0 for a plain dict),
    constants whole."""
    from shrinkwise.compression.data import Dataset

    data = inputs if isinstance(inputs, Dataset) else Dataset(inputs=dict(inputs))
    return data.batch(index, index + 1)
