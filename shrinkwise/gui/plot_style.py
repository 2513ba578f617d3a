"""One look for every pyqtgraph plot: title, axis labels and grid in the theme's colours, no context menu."""

from __future__ import annotations

import pyqtgraph as pg

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
