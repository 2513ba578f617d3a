"""One look for every pyqtgraph plot: title, axis labels and grid in the theme's colours, no context menu; legends and
category ticks that fit the plot (names end in '…' rather than run over each other or off the edge)."""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF
from PySide6.QtWidgets import QApplication

from shrinkwise.gui import theme


def style_plot(w: pg.PlotWidget, title: str, left: str, bottom: str) -> None:
    fg = theme.plot_foreground()
    w.setAcceptDrops(False)  # a file dropped on a plot goes to the window (model/data intake)
    w.plotItem.setTitle(title, color=fg, size="10pt")
    w.plotItem.setLabel("left", left, color=fg)
    w.plotItem.setLabel("bottom", bottom, color=fg)
    w.plotItem.showGrid(x=True, y=True, alpha=0.2)
    w.plotItem.setMenuEnabled(False)
    for name in ("left", "bottom"):
        axis = w.plotItem.getAxis(name)
        axis.setPen(pg.mkPen(fg))
        axis.setTextPen(pg.mkPen(fg))


ELLIPSIS = "…"
LEGEND_MARGIN = 6  # pixels between the legend and the plot's edge
TICK_GAP = 8  # pixels kept free between two category tick labels


def elide(text: str, font: QFont, width: float) -> str:
    """`text` cut at the end to fit `width` pixels ('int8_sta…'), whole when it fits; never cut at the start."""
    if width <= 0:
        return ELLIPSIS
    return QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, width)


def add_legend(w: pg.PlotWidget) -> pg.LegendItem:
    """A legend in the plot's top-right corner that always fits inside it: names that would make it wider than the
    plot end in '…' (the full name in the entry's tooltip), re-fitted whenever the plot changes size."""
    bg = QColor(theme.plot_background())
    bg.setAlpha(200)  # the curves under it stay visible, the names stay readable
    legend = w.plotItem.addLegend(
        offset=(-LEGEND_MARGIN, LEGEND_MARGIN),
        labelTextColor=theme.plot_foreground(),
        labelTextSize="8pt",
        brush=pg.mkBrush(bg),
        verSpacing=-6,  # the rows as close as the text allows: more of them fit a 170 px plot
    )
    w.plotItem.vb.sigResized.connect(lambda *_: fit_legend(w))
    return legend


def fit_legend(w: pg.PlotWidget) -> None:
    """Elide the legend's names so that the legend is no wider than the plot area (it is anchored at the right, so
    a wider one would lose the *start* of every name under the axis)."""
    legend = w.plotItem.legend
    if legend is None or not legend.items:
        return
    left, _top, right, _bottom = legend.layout.getContentsMargins()
    room = w.plotItem.vb.width() - 2 * LEGEND_MARGIN - left - right - legend.layout.horizontalSpacing()
    for sample, label in legend.items:
        full = getattr(label, "full_name", None)
        if full is None:  # the name as given (legends render HTML, so it came escaped)
            full = html.unescape(label.text)
            label.full_name = full
            label.setToolTip(full)
            sample.setToolTip(full)
        limit = room - sample.boundingRect().width()
        font = label.item.font()
        font.setPointSizeF(8)  # the legend's labelTextSize
        text = full
        target = None
        for _ in range(12):  # measured, not guessed: the text item's own width (its margins included) must fit
            shown = html.escape(text)
            if label.text != shown:
                label.setText(shown)
            width = label.itemRect().width()
            if width <= limit or text == ELLIPSIS:
                break
            overhead = width - QFontMetricsF(font).horizontalAdvance(text)
            target = (limit - overhead) if target is None else target - 4
            text = elide(full, font, target)
    legend.adjustSize()  # to its layout's size (updateSize would keep a shortened name's old, wider geometry)


def fit_category_ticks(w: pg.PlotWidget, ticks: list[tuple[float, str]]) -> None:
    """Category names under their points (x = 1, 2, 3, ...), each cut at the end ('mixed_prec…') to the room between
    its neighbours, so no two overlap; when even a few letters do not fit, the points are numbered 1, 2, 3 instead."""
    axis = w.plotItem.getAxis("bottom")
    font = axis.style.get("tickFont")
    if font is None:
        font = QFont(QApplication.font())
        axis.setStyle(tickFont=font)  # the font measured here is the font drawn
    lo, hi = w.plotItem.vb.viewRange()[0]
    width = max(w.plotItem.vb.width(), 1.0)
    room = (width / (hi - lo) if hi > lo else width) - TICK_GAP  # pixels between neighbouring categories
    if room < QFontMetricsF(font).horizontalAdvance("Ab" + ELLIPSIS):
        axis.setTicks([[(x, str(i + 1)) for i, (x, _name) in enumerate(ticks)]])
    else:
        axis.setTicks([[(x, elide(name, font, room)) for x, name in ticks]])
