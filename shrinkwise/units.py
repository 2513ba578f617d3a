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
