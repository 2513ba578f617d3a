"""Numbers as people read them (shared by the views)."""

from __future__ import annotations

import html

from shrinkwise.workspace.labels import (
    budget_label,
    label,
    metric_label,
    series_label,
    setting_label,
    status_label,
)
from shrinkwise.workspace.units import fmt_bytes, fmt_ms

# One mapping from keys to words (workspace.labels), shared with the CLI and the reports.
__all__ = [
    "budget_label",
    "fmt_bytes",
    "fmt_count",
    "fmt_ms",
    "label",
    "metric_label",
    "plain",
    "series_label",
    "setting_label",
    "status_label",
]


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


def fmt_number(value: float, unit: str = "") -> str:
    if unit in ("bytes", "B"):
        return fmt_bytes(value)
    if unit == "ms":
        return fmt_ms(value)  # as Compare, Export and the report write it (not a second µs rule)
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        text = f"{value:.3g}"
    elif float(value).is_integer():
        text = f"{value:,.0f}"
    else:
        text = f"{value:,.4g}" if abs(value) < 10 else f"{value:,.2f}"
    return f"{text} {unit}".strip()


def plain(text: str) -> str:
    """Text for a place where Qt guesses rich text (tooltips, AutoText labels, legends): shown literally.

    A file named `<b>x</b>.onnx` must read as that name, not as a bold x: text Qt would take for markup is escaped
    (line breaks kept), other text is returned as it is.
    """
    from PySide6.QtGui import Qt  # here, not at the top: the CLI and the reports import this module's neighbours

    if not Qt.mightBeRichText(text):
        return text
    return "<p style='white-space:pre-wrap'>" + html.escape(text) + "</p>"
