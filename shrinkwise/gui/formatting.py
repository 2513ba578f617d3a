"""Numbers as people read them (shared by the views)."""

from __future__ import annotations

from shrinkwise.workspace.units import fmt_bytes, fmt_ms

__all__ = ["fmt_bytes", "fmt_ms", "fmt_count"]


def fmt_count(n: float | None) -> str:
    """12,345 up to a million, then 1.23 M / 4.5 G."""
    if n is None:
        return "–"
    if abs(n) < 1_000_000:
        return f"{n:,.0f}"
    for div, suffix in ((1e9, " G"), (1e6, " M")):
        if abs(n) >= div:
            return f"{n / div:,.2f}{suffix}"
    return f"{n:,.0f}"


METRIC_LABELS = {
    "size_bytes": "Model file size",
    "encoded_size_bytes": "Encoded size",
    "latency_ms_median": "Latency, median (batch 1)",
    "latency_ms_p90": "Latency, 90th percentile",
    "latency_ms_iqr": "Latency spread (IQR)",
    "latency_ratio": "Latency vs. original",
    "original_latency_ms_median": "Original latency, median",
    "peak_memory_mb": "Peak memory",
    "sqnr_db": "SQNR vs. original (200 = identical)",
    "cosine_mean": "Output cosine similarity, mean",
    "cosine_min": "Output cosine similarity, worst",
    "top1_agreement": "Top-1 agreement with original",
    "accuracy": "Accuracy",
    "macro_f1": "Macro F1",
}


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def fmt_number(value: float, unit: str = "") -> str:
    if unit in ("bytes", "B"):
        return fmt_bytes(value)
    if unit == "ms" and 0 < abs(value) < 1:
        return f"{value * 1000:,.1f} µs"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        text = f"{value:.3g}"
    elif float(value).is_integer():
        text = f"{value:,.0f}"
    else:
        text = f"{value:,.4g}" if abs(value) < 10 else f"{value:,.2f}"
    return f"{text} {unit}".strip()
