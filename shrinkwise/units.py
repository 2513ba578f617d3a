"""Numbers as people read them, one formatter each, shared by the advisor, the CLI, the GUI and the reports.

Sizes are decimal (kB, MB) because budgets are stated in MB: a 0.2 MB budget and a "195.3 KiB" file were hard to
compare at a glance.
"""

from __future__ import annotations


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "–"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:,.3g} {unit}" if abs(n) < 100 * scale else f"{n / scale:,.0f} {unit}"
    return f"{n:,.0f} B"


def fmt_ms(v: float | None) -> str:
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:.0f} ms"
    if v >= 1:
        return f"{v:.2f} ms"
    if v >= 0.01:
        return f"{v:.3f} ms"
    return f"{v * 1000:.1f} µs"


# Metrics that are a share of the samples, read as percentages.
SHARE_METRICS = ("accuracy", "macro_f1", "top1_agreement", "decision_agreement", "nn_agreement")


def fmt_metric(metric: str, value: float, unit: str = "") -> str:
    """One measured number with its unit, by metric name (shares as percentages, sizes and times as above)."""
    if metric in ("size_bytes", "encoded_size_bytes") or unit == "B":
        return fmt_bytes(value)
    if metric.startswith("latency_ms") or unit == "ms":
        return fmt_ms(value)
    if metric in SHARE_METRICS:
        return f"{value * 100:.2f} %"
    if metric == "latency_ratio" or unit == "x":
        return f"{value:.2f}×"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "dB":
        return f"{value:.1f} dB"
    if metric.startswith("cosine"):
        return f"{value:.5f}"
    return f"{value:g} {unit}".strip()
