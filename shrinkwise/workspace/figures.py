"""The numbers every view shows for a candidate, chosen one way: which quality metric is the headline, which
latency counts, and which candidates are on the Pareto front.

Why one module: Compare, Export, the report and `shrinkwise results` used to compute these separately and showed
different latencies for the same candidate (a paired ratio × baseline median in one place, the raw median in
another). Measurements themselves come from `Experiment.measurement` (device > host > estimate).
"""

from __future__ import annotations

from collections.abc import Sequence

from shrinkwise.compression.measure.records import Measurement, best

# For measurements that carry no headline flag (projects measured before outputs had tasks): accuracy where labels
# exist, else agreement, else cosine.
QUALITY_ORDER = ("accuracy", "top1_agreement", "cosine_mean")


def quality_metric(measurements: Sequence[Measurement]) -> str | None:
    """The headline quality metric among these measurements (the baseline's decides for a whole project).

    The measurement itself says which it is (`details["headline"]`, set by `compression.measure.scoring` from the
    primary output's task: accuracy or top-1 agreement for classes, decision agreement for a binary probability,
    cosine for an embedding, 1 - relative error for regression, frame cosine for sequences)."""
    flagged = next((m.metric for m in measurements if m.details.get("headline")), None)
    if flagged is not None:
        return flagged
    names = {m.metric for m in measurements}
    return next((name for name in QUALITY_ORDER if name in names), None)


def agreement_metric(measurements: Sequence[Measurement]) -> str | None:
    """The share of unchanged answers for the primary output's task (top-1, binary decision, nearest neighbour);
    None for tasks that have no discrete answer (regression, sequences)."""
    names = {m.metric for m in measurements}
    return next((n for n in ("top1_agreement", "decision_agreement", "nn_agreement") if n in names), None)


def value(measurements: Sequence[Measurement], metric: str | None) -> float | None:
    m = best(list(measurements), metric) if metric else None
    return None if m is None else float(m.value)


def pareto_front(points: Sequence[tuple[float | None, float | None]]) -> list[bool]:
    """(cost, quality) pairs, lower cost and higher quality better. On the front: no other point is at least as
    good on both axes and strictly better on one. A point missing either number is never on the front."""
    flags = []
    for i, (c, q) in enumerate(points):
        if c is None or q is None:
            flags.append(False)
            continue
        dominated = any(
            j != i and c2 is not None and q2 is not None and c2 <= c and q2 >= q and (c2 < c or q2 > q)
            for j, (c2, q2) in enumerate(points)
        )
        flags.append(not dominated)
    return flags
