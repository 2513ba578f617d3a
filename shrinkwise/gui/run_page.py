"""The Run page: the queue with progress, elapsed and remaining time, live plots, a log, and cancel per run or all.

Plots are created once; events only append to lists and mark a curve dirty, and a 20 Hz timer calls `setData` on
the dirty curves (never `processEvents`). The log is buffered the same way.
"""

from __future__ import annotations

import html
import time
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from shrinkwise.gui import theme
from shrinkwise.gui.formatting import metric_label, plain, series_label, setting_label
from shrinkwise.gui.plot_style import add_legend, fit_category_ticks, fit_legend, style_plot
from shrinkwise.gui.run_controller import RunController, RunItem
from shrinkwise.workspace.labels import STATUS_COLOURS, STATUS_LABELS

REDRAW_MS = 50  # 20 Hz
METRIC_HINT = "Curves appear here for steps that train or calibrate step by step (loss, accuracy)."
CLOCK_MS = 500
COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194)]
STATUS_WORDS = STATUS_LABELS  # one set of words for every status, "interrupted" included (workspace.labels)
COL_RUN, COL_STATUS, COL_PROGRESS, COL_ELAPSED, COL_LEFT, COL_MESSAGE, COL_ACTION = range(7)


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "–"
    s = int(round(s))
    return f"{s // 60}:{s % 60:02d}" if s >= 60 else f"{s} s"


def _plot(title: str, left: str, bottom: str) -> pg.PlotWidget:
    w = pg.PlotWidget(background=theme.plot_background())
    w.setMinimumHeight(170)
    style_plot(w, title, left, bottom)
    add_legend(w)  # names that would not fit end in '…' (full name in the tooltip)
    return w


class RunPage(QWidget):
    details_requested = Signal(object)  # RunItem whose error details the user wants to see

    def __init__(self, controller: RunController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        title = QLabel("Run")
        title.setStyleSheet(theme.title_css())
        top.addWidget(title)
        self.summary = QLabel(
            "Nothing has run yet. Choose steps on the Advice page and press “Run the selected steps”."
        )
        self.summary.setStyleSheet(f"color: {theme.muted()};")
        self.summary.setWordWrap(True)  # a long summary must not widen the window
        top.addWidget(self.summary, 1)
        self.cancel_all_button = QPushButton("Cancel All")
        self.cancel_all_button.setToolTip("Stop the running step and drop the waiting ones")
        self.cancel_all_button.clicked.connect(controller.cancel_all)
        self.cancel_all_button.setEnabled(False)
        top.addWidget(self.cancel_all_button)
        layout.addLayout(top)

        self.table = QTableWidget(0, 7)
        self.table.setHorizontalHeaderLabels(["Run", "Status", "Progress", "Elapsed", "Left", "What it is doing", ""])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.verticalHeader().setDefaultSectionSize(30)
        header = self.table.horizontalHeader()
        for c, mode in (
            (COL_RUN, QHeaderView.ResizeMode.ResizeToContents),
            (COL_STATUS, QHeaderView.ResizeMode.ResizeToContents),
            (COL_PROGRESS, QHeaderView.ResizeMode.Fixed),
            (COL_ELAPSED, QHeaderView.ResizeMode.ResizeToContents),
            (COL_LEFT, QHeaderView.ResizeMode.ResizeToContents),
            (COL_MESSAGE, QHeaderView.ResizeMode.Stretch),
            (COL_ACTION, QHeaderView.ResizeMode.ResizeToContents),
        ):
            header.setSectionResizeMode(c, mode)
        self.table.setColumnWidth(COL_PROGRESS, 160)

        plots = QWidget()
        pl = QHBoxLayout(plots)
        pl.setContentsMargins(0, 0, 0, 0)
        self.progress_plot = _plot("Progress of each run", "done (%)", "seconds")
        self.progress_plot.setYRange(0, 100)
        self.metric_plot = _plot("Training and calibration curves", "value", "step")
        self.quality_plot = _plot("Quality of finished runs", "quality (%)", "")
        for p in (self.progress_plot, self.metric_plot, self.quality_plot):
            pl.addWidget(p, 1)
        self.metric_hint = QLabel(METRIC_HINT)
        self.metric_hint.setStyleSheet(f"color: {theme.muted()}; font-size: 9pt;")
        self.metric_hint.setWordWrap(True)

        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.setAcceptDrops(False)
        self.log.setPlaceholderText("Messages from the runs appear here.")

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        pw = QWidget()
        pwl = QVBoxLayout(pw)
        pwl.setContentsMargins(0, 0, 0, 0)
        pwl.addWidget(plots, 1)
        pwl.addWidget(self.metric_hint)
        split.addWidget(pw)
        split.addWidget(self.log)
        split.setSizes([170, 300, 150])
        split.setChildrenCollapsible(False)
        layout.addWidget(split, 1)

        self.rows: dict[int, int] = {}
        self.bars: dict[int, QProgressBar] = {}
        self.buttons: dict[int, QPushButton] = {}
        self.curves: dict[tuple[Any, ...], pg.PlotDataItem] = {}
        self.data: dict[tuple[Any, ...], tuple[list[float], list[float]]] = {}
        self.dirty: set[tuple[Any, ...]] = set()
        self.quality_points: list[tuple[float, float, str]] = []
        self.quality_scatter = pg.ScatterPlotItem(
            size=10,
            brush=pg.mkBrush(31, 119, 180),
            pen=pg.mkPen(None),
            hoverable=True,
            tip=lambda x, y, data: plain(f"{data}: {y:.2f} %"),  # the run's whole name, when its tick is cut short
        )
        self.quality_plot.addItem(self.quality_scatter)
        # A run's name under its point is cut to the room it has; re-cut when the plot changes size.
        self.quality_plot.plotItem.vb.sigResized.connect(lambda *_: self._fit_quality_ticks())
        self._quality_dirty = False
        self.sweep_mode = False
        self.sweep_levels: dict[str, list[Any]] = {}
        self._log_buffer: list[str] = []
        self.redraws = 0

        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self.redraw)
        self.redraw_timer.start()
        self.clock = QTimer(self)
        self.clock.setInterval(CLOCK_MS)
        self.clock.timeout.connect(self._tick)
        self.clock.start()

        controller.added.connect(self._on_added)
        controller.changed.connect(self._on_changed)
        controller.event.connect(self._on_event)
        controller.finished.connect(self._on_finished)

    # --- rows ----------------------------------------------------------------------------------------------------

    def _on_added(self, item: RunItem) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.rows[item.key] = row
        self.table.setItem(row, COL_RUN, QTableWidgetItem(item.label))
        for c in (COL_STATUS, COL_ELAPSED, COL_LEFT, COL_MESSAGE):
            self.table.setItem(row, c, QTableWidgetItem(""))
        bar = QProgressBar()
        bar.setRange(0, 1000)
        bar.setTextVisible(True)
        bar.setFormat("%p%")
        self.bars[item.key] = bar
        self.table.setCellWidget(row, COL_PROGRESS, bar)
        button = QPushButton("Cancel")
        button.setToolTip("Stop this run (the waiting ones still run)")
        button.clicked.connect(lambda _c=False, it=item: self._row_action(it))
        self.buttons[item.key] = button
        self.table.setCellWidget(row, COL_ACTION, button)
        self._on_changed(item)
        self._log(f"queued: {item.label}")

    def _row_action(self, item: RunItem) -> None:
        if item.active:
            self.controller.cancel(item)
        elif item.status == "failed":
            self.details_requested.emit(item)

    def _on_changed(self, item: RunItem) -> None:
        row = self.rows.get(item.key)
        if row is None:
            return
        status = self.table.item(row, COL_STATUS)
        status.setText(STATUS_WORDS.get(item.status, item.status))
        color = STATUS_COLOURS.get(item.status)
        if color:
            status.setForeground(theme.qcolor(color))
        self.table.item(row, COL_MESSAGE).setText(item.message)
        self.table.item(row, COL_MESSAGE).setToolTip(plain(item.message))
        self.bars[item.key].setValue(int(item.fraction * 1000))
        button = self.buttons[item.key]
        if item.active:
            button.setText("Cancel")
            button.setEnabled(True)
        elif item.status == "failed":
            button.setText("Details…")
            button.setToolTip("What went wrong, in full")
            button.setEnabled(True)
        else:
            button.setText("—")
            button.setEnabled(False)
        self._tick()

    def _tick(self) -> None:
        now = time.monotonic()
        for item in self.controller.items:
            row = self.rows.get(item.key)
            if row is None:
                continue
            self.table.item(row, COL_ELAPSED).setText(fmt_seconds(item.elapsed(now)) if item.started else "–")
            self.table.item(row, COL_LEFT).setText(fmt_seconds(item.remaining(now)) if item.active else "–")
        items = self.controller.items
        running = sum(1 for i in items if i.status in ("starting", "running"))
        waiting = sum(1 for i in items if i.status == "queued")
        done = sum(1 for i in items if i.status == "finished")
        failed = sum(1 for i in items if i.status in ("failed", "cancelled"))
        if items:
            self.summary.setText(
                f"{running} running, {waiting} waiting, {done} finished"
                + (f", {failed} failed or cancelled" if failed else "")
            )
        self.cancel_all_button.setEnabled(self.controller.active)

    # --- events --------------------------------------------------------------------------------------------------

    def _series(self, plot: pg.PlotWidget, key: tuple[Any, ...], name: str) -> None:
        if key in self.curves:
            return
        color = COLORS[len([k for k in self.curves if k[0] == key[0]]) % len(COLORS)]
        self.curves[key] = plot.plot(
            [],
            [],
            pen=pg.mkPen(color, width=2),
            name=name,
            symbol="o" if key[0] in ("metric", "sweep") else None,
            symbolSize=6,
        )
        self.data[key] = ([], [])
        fit_legend(plot)

    def _on_event(self, item: RunItem, ev: Any) -> None:
        kind = getattr(ev, "kind", "")
        if kind == "progress":
            key = ("progress", item.key)
            self._series(self.progress_plot, key, html.escape(item.label))  # legends render HTML
            xs, ys = self.data[key]
            xs.append(item.elapsed())
            ys.append(100.0 * ev.fraction)
            self.dirty.add(key)
            if ev.message:
                self._log(f"[{item.label}] {ev.message}")
        elif kind == "metric":
            key = ("metric", item.key, ev.series)
            self._series(self.metric_plot, key, html.escape(f"{item.label}: {series_label(ev.series)}"))
            xs, ys = self.data[key]
            xs.append(float(ev.step))
            ys.append(float(ev.value))
            self.dirty.add(key)
            if self.metric_hint.text() == METRIC_HINT:  # new text, same size: no relayout of the plots mid-run
                self.metric_hint.setText("Live curves: each point is one step of a run (an epoch, a batch, a layer).")
        elif kind == "log":
            self._log(f"[{item.label}] {ev.level}: {ev.text}" if ev.level != "info" else f"[{item.label}] {ev.text}")
        elif kind == "error":
            self._log(f"[{item.label}] error: {ev.message}")

    def _on_finished(self, item: RunItem) -> None:
        word = STATUS_WORDS.get(item.status, item.status).lower()
        self._log(
            f"{word}: {item.label}" + (f" — {item.error}" if item.error else "") + f" ({fmt_seconds(item.elapsed())})"
        )
        if item.status == "finished" and self.controller.session is not None and item.experiment_id:
            self._add_quality(item)

    def _add_quality(self, item: RunItem) -> None:
        from shrinkwise.workspace.figures import quality_metric

        try:
            exp = self.controller.session.project.experiment(item.experiment_id)
        except KeyError:
            return
        metric = quality_metric(exp.measurements)
        found = exp.measurement(metric) if metric else None
        if metric is None or found is None:
            return
        q = (metric, found.value)
        if item.group is not None:
            self._add_sweep_point(item, q[0], q[1] * 100.0)
            return
        x = float(len(self.quality_points) + 1)
        self.quality_points.append((x, q[1] * 100.0, item.label))
        self.quality_plot.plotItem.setLabel("left", f"{metric_label(q[0])} (%)", color=theme.plot_foreground())
        self._quality_dirty = True

    def _add_sweep_point(self, item: RunItem, metric: str, value: float) -> None:
        """Quality against the swept setting: one curve per sweep (x = the value, or its position for choices)."""
        key = ("sweep", item.group)
        name = html.escape(f"{item.steps[0]['technique']}: {setting_label(item.sweep_key or '')}")
        if key not in self.curves:
            if not self.sweep_mode:  # the plot switches to 'quality vs level' at the first sweep
                self.sweep_mode = True
                self.quality_scatter.setData([], [])
                self.quality_plot.plotItem.setTitle(
                    "Quality vs level (sweeps)", color=theme.plot_foreground(), size="10pt"
                )
                self.quality_plot.plotItem.getAxis("bottom").setTicks(None)
            self._series(self.quality_plot, key, name)
        numeric = isinstance(item.level, (int, float)) and not isinstance(item.level, bool)
        xs, ys = self.data[key]
        levels = self.sweep_levels.setdefault(item.group or "", [])
        levels.append(item.level)
        x = float(item.level) if numeric else float(len(levels))
        xs.append(x)
        ys.append(value)
        order = sorted(range(len(xs)), key=lambda i: xs[i])
        self.data[key] = ([xs[i] for i in order], [ys[i] for i in order])
        self.quality_plot.plotItem.setLabel(
            "bottom",
            html.escape(setting_label(item.sweep_key)) if item.sweep_key else "level",
            color=theme.plot_foreground(),
        )
        self.quality_plot.plotItem.setLabel("left", f"{metric_label(metric)} (%)", color=theme.plot_foreground())
        if not numeric:
            self.quality_plot.plotItem.getAxis("bottom").setTicks([[(i + 1.0, str(v)) for i, v in enumerate(levels)]])
        self.dirty.add(key)

    def _log(self, line: str) -> None:
        self._log_buffer.append(f"{time.strftime('%H:%M:%S')}  {line}")

    # --- the 20 Hz redraw ----------------------------------------------------------------------------------------

    def redraw(self) -> None:
        if self._log_buffer:
            self.log.appendPlainText("\n".join(self._log_buffer))
            self._log_buffer.clear()
        if not self.dirty and not self._quality_dirty:
            return
        for key in list(self.dirty):
            xs, ys = self.data[key]
            self.curves[key].setData(xs, ys)
        self.dirty.clear()
        if self._quality_dirty and not self.sweep_mode:
            self.quality_scatter.setData(
                [p[0] for p in self.quality_points],
                [p[1] for p in self.quality_points],
                data=[p[2] for p in self.quality_points],
            )
            if self.quality_points:
                self.quality_plot.setXRange(0.5, len(self.quality_points) + 0.5, padding=0)
            self._fit_quality_ticks()
        if any(k[0] == "sweep" for k in self.curves):
            self.quality_plot.plotItem.enableAutoRange()
        self._quality_dirty = False
        self.redraws += 1

    def _fit_quality_ticks(self) -> None:
        """One tick per finished run, its name cut at the end to the room between its neighbours (never overlapping)."""
        if not self.sweep_mode:
            fit_category_ticks(self.quality_plot, [(p[0], p[2]) for p in self.quality_points])

    def clear(self) -> None:
        """Forget the rows and curves of a previous project (only when nothing runs)."""
        self.table.setRowCount(0)
        self.rows.clear()
        self.bars.clear()
        self.buttons.clear()
        for key, curve in self.curves.items():
            {"progress": self.progress_plot, "metric": self.metric_plot, "sweep": self.quality_plot}[key[0]].removeItem(
                curve
            )
        self.sweep_mode = False
        self.sweep_levels.clear()
        self.quality_plot.plotItem.setTitle("Quality of finished runs", color=theme.plot_foreground(), size="10pt")
        self.curves.clear()
        self.data.clear()
        self.dirty.clear()
        self.quality_points.clear()
        self._quality_dirty = True
        self.log.clear()
        self.metric_hint.setText(METRIC_HINT)
        self.summary.setText("Nothing has run yet. Choose steps on the Advice page and press “Run the selected steps”.")
