"""Small, deterministic SVG figures for the report: the trade-off scatter, delta bars and input thumbnails.

Written by hand (no plotting library) so the report stays Qt-free and byte-stable; every text that came from a model,
a file or the user goes through `esc`. The PDF renderer embeds the same SVG.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape as _xml_escape

from shrinkwise.workspace.report.model import DeltaRow, ScatterPlot

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
BLUE, GREEN, GREY, ORANGE, RED, INK = "#2f6db5", "#1a8f4c", "#8a8a8a", "#e08a00", "#c0392b", "#222222"
MARKER_WORDS = {"host": "this computer", "device": "device", "estimate": "estimate"}


def esc(text: object) -> str:
    return _xml_escape(str(text), {'"': "&quot;", "'": "&#39;"})


def n(v: float) -> str:
    """Coordinates with two decimals, no '-0.00'."""
    s = f"{v:.2f}"
    return "0.00" if s == "-0.00" else s


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    span = hi - lo
    if span <= 0:
        span = abs(hi) or 1.0
    raw = span / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    out: list[float] = []
    v = start
    while v <= hi + step * 1e-6 and len(out) < 50:
        out.append(round(v, 10))
        v += step
    return out


def tick_text(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 1:
        return f"{v:.4g}"
    return f"{v:.3g}"


def _range(values: list[float], pad: float = 0.08) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        d = abs(hi) * 0.02 or 1.0
        return lo - d, hi + d
    d = (hi - lo) * pad
    return lo - d, hi + d


def _marker(source: str, x: float, y: float, fill: str, stroke: str, r: float = 5.5) -> str:
    if source == "device":
        return f'<rect x="{n(x - r)}" y="{n(y - r)}" width="{n(2 * r)}" height="{n(2 * r)}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
    if source == "estimate":
        pts = f"{n(x)},{n(y - r - 1)} {n(x + r + 1)},{n(y)} {n(x)},{n(y + r + 1)} {n(x - r - 1)},{n(y)}"
        return f'<polygon points="{pts}" fill="white" stroke="{fill}" stroke-width="2"/>'
    return f'<circle cx="{n(x)}" cy="{n(y)}" r="{n(r)}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'


def scatter_svg(plot: ScatterPlot, width: int = 680, height: int = 400) -> str:
    """Quality (y) against cost (x): budget lines dashed red, the Pareto front in orange, the focus candidate green."""
    left, right, top, bottom = 64, 24, 34, 74
    pw, ph = width - left - right, height - top - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="{FONT}" font-size="11" role="img" aria-label="{esc(plot.title)}">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="20" font-size="14" font-weight="bold" fill="{INK}">{esc(plot.title)}</text>',
    ]
    if not plot.points:
        parts.append(
            f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" fill="{GREY}">No measured candidates yet</text></svg>'
        )
        return "".join(parts)
    xs = [p.x for p in plot.points] + [b.value for b in plot.budget_lines if b.axis == "x"]
    ys = [p.y for p in plot.points] + [b.value for b in plot.budget_lines if b.axis == "y"]
    x0, x1 = _range(xs)
    y0, y1 = _range(ys)
    x0 = max(x0, 0.0) if min(xs) >= 0 else x0
    y1 = min(y1, 100.0) if max(ys) <= 100 else y1

    def sx(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * pw

    def sy(v: float) -> float:
        return top + ph - (v - y0) / (y1 - y0) * ph

    parts.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fbfbfb" stroke="#cccccc"/>')
    for t in nice_ticks(x0, x1):
        if x0 <= t <= x1:
            X = sx(t)
            parts.append(f'<line x1="{n(X)}" y1="{top}" x2="{n(X)}" y2="{top + ph}" stroke="#e6e6e6"/>')
            parts.append(
                f'<text x="{n(X)}" y="{top + ph + 15}" text-anchor="middle" fill="{INK}">{esc(tick_text(t))}</text>'
            )
    for t in nice_ticks(y0, y1):
        if y0 <= t <= y1:
            Y = sy(t)
            parts.append(f'<line x1="{left}" y1="{n(Y)}" x2="{left + pw}" y2="{n(Y)}" stroke="#e6e6e6"/>')
            parts.append(
                f'<text x="{left - 6}" y="{n(Y + 4)}" text-anchor="end" fill="{INK}">{esc(tick_text(t))}</text>'
            )
    parts.append(
        f'<text x="{n(left + pw / 2)}" y="{top + ph + 34}" text-anchor="middle" fill="{INK}">{esc(plot.x_label)}</text>'
    )
    parts.append(
        f'<text transform="translate(16 {n(top + ph / 2)}) rotate(-90)" text-anchor="middle" fill="{INK}">{esc(plot.y_label)}</text>'
    )
    for b in plot.budget_lines:
        if b.axis == "x":
            X = sx(b.value)
            parts.append(
                f'<line x1="{n(X)}" y1="{top}" x2="{n(X)}" y2="{top + ph}" stroke="{RED}" stroke-width="1.5" stroke-dasharray="6 4"/>'
            )
            parts.append(f'<text x="{n(X - 4)}" y="{top + 12}" text-anchor="end" fill="{RED}">{esc(b.label)}</text>')
        else:
            Y = sy(b.value)
            parts.append(
                f'<line x1="{left}" y1="{n(Y)}" x2="{left + pw}" y2="{n(Y)}" stroke="{RED}" stroke-width="1.5" stroke-dasharray="6 4"/>'
            )
            parts.append(
                f'<text x="{left + pw - 4}" y="{n(Y - 4)}" text-anchor="end" fill="{RED}">{esc(b.label)}</text>'
            )
    front = sorted((p for p in plot.points if p.pareto), key=lambda p: (p.x, -p.y))
    if len(front) > 1:
        pts = " ".join(f"{n(sx(p.x))},{n(sy(p.y))}" for p in front)
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{ORANGE}" stroke-width="2"/>')
    placed: list[tuple[float, float, float, float]] = []
    for p in sorted(plot.points, key=lambda p: (p.focus, p.x, p.y, p.id)):
        X, Y = sx(p.x), sy(p.y)
        fill = GREEN if p.focus else (GREY if p.baseline else BLUE)
        stroke = ORANGE if p.pareto else "white"
        parts.append(_marker(p.source, X, Y, fill, stroke))
    for p in sorted(plot.points, key=lambda p: (-p.y, p.x, p.id)):
        X, Y = sx(p.x), sy(p.y)
        label = p.label if len(p.label) <= 28 else p.label[:27] + "…"
        w = 6.3 * len(label) + 4
        anchor_right = X + 9 + w > left + pw
        lx = X - 9 - w if anchor_right else X + 9
        for dy in (0, -13, 13, -26, 26, -39, 39, -52, 52):
            box = (lx, Y + dy - 9, lx + w, Y + dy + 4)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                break
        placed.append(box)
        ty = Y + dy + 2
        weight = ' font-weight="bold"' if p.focus else ""
        parts.append(
            f'<text x="{n(lx + (w if anchor_right else 0))}" y="{n(ty)}" text-anchor="{"end" if anchor_right else "start"}" fill="{INK}"{weight}>{esc(label)}</text>'
        )
    # Legend: marker shape = where x was measured; colours; Pareto line; budget line.
    ly = height - 16
    lx = left
    legend = []
    for src in sorted({p.source for p in plot.points}):
        legend.append(
            _marker(src, lx + 5, ly - 4, BLUE, "white", 4.5)
            + f'<text x="{lx + 14}" y="{ly}" fill="{INK}">{esc(MARKER_WORDS[src])}</text>'
        )
        lx += 24 + 6.3 * len(MARKER_WORDS[src])
    legend.append(
        f'<circle cx="{lx + 5}" cy="{ly - 4}" r="4.5" fill="{GREY}"/><text x="{lx + 14}" y="{ly}" fill="{INK}">original</text>'
    )
    lx += 72
    legend.append(
        f'<circle cx="{lx + 5}" cy="{ly - 4}" r="4.5" fill="{GREEN}"/><text x="{lx + 14}" y="{ly}" fill="{INK}">chosen / suggested</text>'
    )
    lx += 140
    legend.append(
        f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 18}" y2="{ly - 4}" stroke="{ORANGE}" stroke-width="2"/><text x="{lx + 22}" y="{ly}" fill="{INK}">Pareto front</text>'
    )
    lx += 104
    if plot.budget_lines:
        legend.append(
            f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 18}" y2="{ly - 4}" stroke="{RED}" stroke-width="1.5" stroke-dasharray="6 4"/><text x="{lx + 22}" y="{ly}" fill="{INK}">budget</text>'
        )
    parts.extend(legend)
    parts.append("</svg>")
    return "".join(parts)


def delta_bars_svg(rows: list[DeltaRow], title: str, width: int = 520) -> str:
    """Horizontal bars of the change in accuracy (points) per class or subgroup, around zero."""
    rows = [r for r in rows if r.delta_pts is not None]
    row_h, top, name_w = 18, 28, 130
    height = top + row_h * max(len(rows), 1) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="{FONT}" font-size="11" role="img" aria-label="{esc(title)}">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
        f'<text x="4" y="16" font-size="13" font-weight="bold" fill="{INK}">{esc(title)}</text>',
    ]
    if not rows:
        parts.append(f'<text x="4" y="{top + 12}" fill="{GREY}">nothing to compare</text></svg>')
        return "".join(parts)
    scale = max(max(abs(r.delta_pts or 0.0) for r in rows), 1.0)
    mid = name_w + (width - name_w - 70) / 2
    half = (width - name_w - 70) / 2
    parts.append(f'<line x1="{n(mid)}" y1="{top - 4}" x2="{n(mid)}" y2="{top + row_h * len(rows)}" stroke="#999999"/>')
    for i, r in enumerate(rows):
        y = top + i * row_h
        d = r.delta_pts or 0.0
        w = abs(d) / scale * half
        x = mid if d >= 0 else mid - w
        colour = GREEN if d > 0 else (RED if d < 0 else GREY)
        name = r.name if len(r.name) <= 20 else r.name[:19] + "…"
        parts.append(f'<text x="{name_w - 6}" y="{y + 12}" text-anchor="end" fill="{INK}">{esc(name)}</text>')
        parts.append(f'<rect x="{n(x)}" y="{y + 3}" width="{n(max(w, 1.0))}" height="{row_h - 6}" fill="{colour}"/>')
        parts.append(f'<text x="{n(mid + half + 6)}" y="{y + 12}" fill="{INK}">{d:+.2f}</text>')
    parts.append(
        f'<text x="{n(mid)}" y="{height - 6}" text-anchor="middle" fill="{GREY}">change in accuracy, points (scale ±{scale:.2g})</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def pixels_svg(pixels: list[list[float]], size: int = 56) -> str:
    """A grey thumbnail of a small image input (dark = high values)."""
    h = len(pixels)
    w = len(pixels[0]) if h else 0
    if not h or not w:
        return ""
    cell = size / max(h, w)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{n(cell * w)}" height="{n(cell * h)}" viewBox="0 0 {n(cell * w)} {n(cell * h)}">'
    ]
    for i, row in enumerate(pixels):
        for j, v in enumerate(row):
            g = int(round(255 * (1.0 - max(0.0, min(1.0, v)))))
            parts.append(
                f'<rect x="{n(j * cell)}" y="{n(i * cell)}" width="{n(cell + 0.3)}" height="{n(cell + 0.3)}" fill="#{g:02x}{g:02x}{g:02x}"/>'
            )
    parts.append("</svg>")
    return "".join(parts)
