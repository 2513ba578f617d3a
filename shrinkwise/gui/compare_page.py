"""The Compare page: every candidate on a scatter of size or latency against quality, the budget as lines and the
Pareto front highlighted; a sortable table with the original as the baseline; per-class and per-subgroup deltas;
the inputs on which a candidate disagrees with the original (as images for image models); the advisor's reading;
and the button that picks the candidate to ship."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from shrinkwise.gui import theme
from shrinkwise.gui.formatting import fmt_bytes, fmt_ms, metric_label, plain
from shrinkwise.gui.help_text import explain, explains, tooltip_for
from shrinkwise.gui.plot_style import elide, style_plot
from shrinkwise.gui.sensitivity_panel import SensitivityPanel
from shrinkwise.workspace.disagreements import ChangedAnswers
from shrinkwise.workspace.result_row import ResultRow

MAX_IMAGES = 24
IMAGE_COLUMNS = 4
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
AXES = {  # axis -> (title, scale from the row's size_bytes / latency_ms_median)
    "size": ("Model file size (kB)", 1 / 1000),
    "latency": ("Latency, median (µs)", 1e3),
}
# Six columns, so that Budget and Pareto stay in view at 1024×700: each cell carries its ratio to the original, and
# the rest (agreement, SQNR, the quality change) is in the row's tooltip and the details line under the table.
COLUMNS = ["Candidate", "Size", "Latency", "Quality", "Budget", "Pareto"]
COL_CANDIDATE, COL_SIZE, COL_LATENCY, COL_QUALITY, COL_BUDGET, COL_PARETO = range(len(COLUMNS))
HEADER_TIPS = {
    "Candidate": "The original and every compressed candidate; ★ marks the one chosen to ship",
    "Size": "The model file's size, and how it compares with the original (0.50× = half)",
    "Latency": "Median time of one inference (batch 1) on this computer, and its ratio to the original",
    "Quality": "The quality metric on the evaluation data, and the change from the original in points",
    "Budget": "Whether the candidate is the advisor's recommendation or misses your budget (hover for why)",
    "Pareto": "On the Pareto front: nothing else is both smaller (or faster) and at least as good",
}


class NumItem(QTableWidgetItem):
    """Sorts by the raw number, not by the text."""

    def __lt__(self, other: QTableWidgetItem) -> bool:  # type: ignore[override]
        a, b = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        return str(self.text()) < str(other.text())


def _item(text: str, sort: Any = None, align_right: bool = True) -> QTableWidgetItem:
    it = NumItem(text)
    it.setData(SORT_ROLE, sort if sort is not None else (-1e18 if align_right else text))
    if align_right:
        it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return it


def digit_image(sample: np.ndarray, scale: int = 5) -> QImage:
    """A grey image from one input (H×W, or C×H×W with C ≤ 3), contrast-stretched, scaled up without smoothing."""
    a = np.asarray(sample, dtype=np.float32)
    while a.ndim > 3:
        a = a[0]
    if a.ndim == 3:
        a = a.mean(axis=0) if a.shape[0] <= 4 else a.mean(axis=-1)
    lo, hi = float(a.min()), float(a.max())
    g = ((a - lo) / (hi - lo) * 255.0) if hi > lo else np.zeros_like(a)
    g = np.ascontiguousarray(255 - g.astype(np.uint8))  # dark ink on white, like the digits were written
    h, w = g.shape
    img = QImage(g.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return img.scaled(
        w * scale, h * scale, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )


class ComparePage(QWidget):
    choose_requested = Signal(str)
    load_images_requested = Signal(str, int)  # experiment id, how many of its changed inputs to show

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[ResultRow] = []
        self.project: Any = None
        self.selected_id: str | None = None
        self._advice: Any = None
        self.recommended_id: str | None = None
        self.result_rules: set[str] = set()  # ids of the rules that read results (rules/results, rules/evaluation)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        title = QLabel("Compare")
        title.setStyleSheet(theme.title_css())
        top.addWidget(title)
        # The headline is always visible; the long "why this candidate" paragraph opens on demand.
        self.headline = QLabel("Run at least one step to compare candidates with the original.")
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        top.addWidget(self.headline, 1)
        self.why_button = QToolButton()
        self.why_button.setText("Why? ▸")
        self.why_button.setCheckable(True)
        self.why_button.setToolTip("Show or hide the advisor's full reasoning for its recommendation")
        self.why_button.toggled.connect(self._toggle_why)
        self.why_button.setVisible(False)
        top.addWidget(self.why_button)
        self.axis_combo = QComboBox()
        self.axis_combo.addItem("Size", "size")
        self.axis_combo.addItem("Latency", "latency")
        self.axis_combo.setToolTip("Plot quality against the file size or against the latency")
        self.axis_combo.currentIndexChanged.connect(lambda _i: self._on_axis())
        self.choose_button = QPushButton("Ship This Candidate")
        self.choose_button.setToolTip("Pick the selected candidate as the one to export")
        self.choose_button.setStyleSheet("font-weight: bold; padding: 4px 12px;")
        self.choose_button.clicked.connect(self._choose)
        self.choose_button.setEnabled(False)
        top.addWidget(self.choose_button)
        layout.addLayout(top)
        self.why = QLabel()
        self.why.setWordWrap(True)
        self.why.setTextFormat(Qt.TextFormat.RichText)
        self.why.setStyleSheet(f"color: {theme.muted()};")
        self.why.setVisible(False)
        layout.addWidget(self.why)

        self.scatter_plot = pg.PlotWidget(background=theme.plot_background())
        style_plot(self.scatter_plot, "Candidates (up and left is better)", "quality", "size")
        self.scatter_plot.setMinimumHeight(180)
        self.front_curve = self.scatter_plot.plot(
            [], [], pen=pg.mkPen((230, 126, 34), width=2, style=Qt.PenStyle.DashLine)
        )
        self.scatter = pg.ScatterPlotItem(size=12, hoverable=True, tip=self._point_tip)
        self.scatter_plot.addItem(self.scatter)
        self.scatter.sigClicked.connect(self._on_point)
        red = theme.severity("high")
        # The budget lines' names are text items of their own, placed by _place_labels in a free corner of the plot
        # (an InfiniteLine's label sits at a fixed spot along the line, where a candidate's name may already be).
        self.x_budget = pg.InfiniteLine(angle=90, pen=pg.mkPen(red, width=1.5, style=Qt.PenStyle.DotLine))
        self.y_budget = pg.InfiniteLine(angle=0, pen=pg.mkPen(red, width=1.5, style=Qt.PenStyle.DotLine))
        self.x_budget_label = _text("budget", red)
        self.y_budget_label = _text("lowest quality allowed", red)
        for line in (self.x_budget, self.y_budget, self.x_budget_label, self.y_budget_label):
            line.setVisible(False)
            self.scatter_plot.addItem(line, ignoreBounds=True)
        self.labels: list[pg.TextItem] = []  # one per point, in the order they are placed (most important first)
        self._label_points: list[tuple[float, float, float]] = []  # each label's point (x, y) and marker radius (px)
        vb = self.scatter_plot.plotItem.vb
        vb.sigResized.connect(lambda *_: self._place_labels())
        vb.sigRangeChanged.connect(lambda *_: self._place_labels())

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for c, name in enumerate(COLUMNS):
            explain(self.table.horizontalHeaderItem(c), name, HEADER_TIPS[name])
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(True)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_CANDIDATE, QHeaderView.ResizeMode.Stretch)  # names elide, numbers never
        header.setMinimumSectionSize(40)
        self.table.itemSelectionChanged.connect(self._on_table_selection)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setStyleSheet(f"color: {theme.muted()}; font-size: 9pt;")

        self.class_plot = pg.PlotWidget(background=theme.plot_background())
        style_plot(self.class_plot, "Accuracy change per class", "points", "class")
        self.class_bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=pg.mkBrush(70, 130, 180))
        self.class_plot.addItem(self.class_bars)
        self.group_plot = pg.PlotWidget(background=theme.plot_background())
        style_plot(self.group_plot, "… per subgroup", "points", "")
        self.group_bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=pg.mkBrush(148, 103, 189))
        self.group_plot.addItem(self.group_bars)
        for p in (self.class_plot, self.group_plot):
            p.setMinimumHeight(120)
            p.plotItem.addLine(y=0, pen=pg.mkPen(theme.plot_foreground(), width=1))

        self.disagree_title = QLabel()
        self.disagree_title.setWordWrap(True)
        self.images = QWidget()
        self.images_grid = QGridLayout(self.images)
        self.images_grid.setContentsMargins(0, 0, 0, 0)
        images_scroll = QScrollArea()
        images_scroll.setWidgetResizable(True)
        images_scroll.setWidget(self.images)
        images_scroll.setMinimumHeight(80)
        self.reading = QLabel()
        self.reading.setWordWrap(True)
        self.reading.setTextFormat(Qt.TextFormat.RichText)
        self.reading.setAlignment(Qt.AlignmentFlag.AlignTop)
        reading_scroll = QScrollArea()
        reading_scroll.setWidgetResizable(True)
        reading_scroll.setWidget(self.reading)

        self.sensitivity = SensitivityPanel()
        self.sensitivity.ran.connect(lambda _exp: self.select(self.selected_id))

        plot_box = QWidget()
        pb = QVBoxLayout(plot_box)
        pb.setContentsMargins(0, 0, 0, 0)
        axis_row = QHBoxLayout()
        axis_row.addWidget(QLabel("Quality against:"))
        axis_row.addWidget(self.axis_combo)
        axis_row.addStretch(1)
        pb.addLayout(axis_row)
        pb.addWidget(self.scatter_plot, 1)
        table_box = QWidget()
        tb = QVBoxLayout(table_box)
        tb.setContentsMargins(0, 0, 0, 0)
        tb.addWidget(self.table, 1)
        tb.addWidget(self.details)
        # The table spans the page (its six columns fit 1024 px); below it, the scatter beside the details of the
        # selected candidate, one subject at a time in tabs.
        self.tabs = QTabWidget()
        dis = QWidget()
        dl = QVBoxLayout(dis)
        dl.setContentsMargins(4, 4, 4, 4)
        dl.addWidget(self.disagree_title)
        dl.addWidget(images_scroll, 1)
        self.tabs.addTab(dis, "Changed answers")
        deltas = QSplitter(Qt.Orientation.Horizontal)
        deltas.addWidget(self.class_plot)
        deltas.addWidget(self.group_plot)
        # Short tab names, so that all four fit beside a scatter wide enough for its names at 1024 px.
        self.tabs.addTab(deltas, "Per class")
        self.tabs.setTabToolTip(1, "How the accuracy of each class, and of each subgroup, changes from the original")
        self.tabs.addTab(reading_scroll, "Advisor's reading")
        self.tabs.setTabToolTip(
            2, "What the advisor's rules say about the selected candidate, and how each step made it"
        )
        self.tabs.addTab(self.sensitivity, "Sensitive layers")
        self.tabs.setTabToolTip(3, tooltip_for("sensitivity keep in float"))
        self.tabs.setMinimumWidth(self.tabs.tabBar().sizeHint().width() + 8)  # every tab's name in view, no arrows
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(plot_box)
        lower.addWidget(self.tabs)
        lower.setSizes([450, 550])  # the scatter wide enough for its points' names, the tabs for theirs
        lower.setChildrenCollapsible(False)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(table_box)
        split.addWidget(lower)
        split.setSizes([190, 400])
        split.setChildrenCollapsible(False)
        layout.addWidget(split, 1)

    # --- data in -------------------------------------------------------------------------------------------------

    @property
    def advice(self) -> Any:
        return self._advice

    @advice.setter
    def advice(self, advice: Any) -> None:
        """New advice (it arrives after the results when the rules load): the page shows its decision at once."""
        if self.rows and advice is not self._advice:
            self.show_results(self.project, self.rows, advice)
        else:
            self._advice = advice

    def set_runs(self, runs: Any) -> None:
        """The window's RunController, where the sensitivity analysis and its proposal are queued."""
        self.sensitivity.set_runs(runs)

    @explains
    def show_results(self, project: Any, rows: list[ResultRow], advice: Any = None) -> None:
        """Rows from `Session.results()`, the decision from `advice.decision` (the one recommendation)."""
        self.project, self.rows, self._advice = project, rows, advice
        candidates = [r for r in rows if not r.original]
        chosen = project.chosen if project is not None else None
        decision = advice.decision if advice is not None else None
        self.recommended_id = decision.candidate if decision is not None else None
        if not candidates:
            self.headline.setText("Run at least one step to compare candidates with the original.")
            self.why.setText("")
        else:
            label = next((r.label for r in rows if r.id == chosen), None)
            text = f"{len(candidates)} candidate{'s' if len(candidates) != 1 else ''} against the original. "
            if label:
                text += f"Chosen to ship: <b>{html.escape(label)}</b>. "
            if decision is not None:
                text += "<br>" + html.escape(decision.headline)
            self.headline.setText(text)
            rest = decision.paragraph.removeprefix(decision.headline).strip() if decision is not None else ""
            self.why.setText(html.escape(rest))
        self.why_button.setVisible(bool(self.why.text()))
        self.why.setVisible(self.why_button.isChecked() and bool(self.why.text()))
        self.sensitivity.show_project(project)
        self._fill_table()
        self._draw_scatter()
        keep = (
            self.selected_id
            if any(r.id == self.selected_id for r in rows)
            else (chosen or self.recommended_id or (candidates[-1].id if candidates else None))
        )
        self.select(keep)

    def _budget(self) -> dict[str, Any]:
        return self.project.budget.model_dump(exclude_none=True) if self.project is not None else {}

    def _base(self) -> ResultRow | None:
        return next((r for r in self.rows if r.original), None)

    def _verdict(self, r: ResultRow) -> tuple[str, int, str, str | None]:
        """(text, sort key, tooltip, colour) of the Budget column, straight from the decision."""
        decision = self.advice.decision if self.advice is not None else None
        if decision is None or r.original:
            return "–", 1, "", None
        if r.id == decision.candidate:
            word = "recommended" if decision.status == "recommended" else "best so far"
            return word, 3, decision.paragraph, "good"
        misses = decision.misses_budget(r.id)
        if misses:
            return "misses", 0, "; ".join(misses), "high"
        return "–", 1, "", None

    def _toggle_why(self, on: bool) -> None:
        self.why_button.setText("Why? ▾" if on else "Why? ▸")
        self.why.setVisible(on and bool(self.why.text()))

    def _on_axis(self) -> None:
        self._fill_table()
        self._draw_scatter()

    def _facts(self, r: ResultRow, base: ResultRow | None) -> dict[str, str]:
        """Every number of a row as text: the cells show some, the tooltip and the details line all of them."""
        size, lat, q = r.size_bytes, r.latency_ms_median, r.quality
        ratio = size / base.size_bytes if base and size and base.size_bytes else None
        lr = r.latency_ratio if not r.original else 1.0
        dq = (q - base.quality) * 100 if q is not None and base and base.quality is not None else None
        ag = r.agreement if not r.original else 1.0
        sq = r.sqnr_db
        return {
            "size": fmt_bytes(size) if size is not None else "–",
            "size_ratio": f"{ratio:.2f}×" if ratio else "",
            "latency": fmt_ms(lat) if lat is not None else "–",
            "latency_ratio": f"{lr:.2f}×" if lr is not None else "",
            "quality": f"{q * 100:.2f} %" if q is not None else "–",
            "change": f"{dq:+.2f} pts" if dq is not None else "",
            "agreement": f"{ag * 100:.1f} %" if ag is not None else "–",
            "sqnr": f"{sq:.1f} dB" if sq is not None else "–",
        }

    def _fill_table(self) -> None:
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.rows))
        base = self._base()
        metric = next((r.quality_metric for r in self.rows if r.quality_metric), None) or "quality"
        quality_name = metric_label(metric)
        self.table.horizontalHeaderItem(COL_QUALITY).setText(quality_name)
        explain(self.table.horizontalHeaderItem(COL_QUALITY), quality_name, HEADER_TIPS["Quality"])
        for i, r in enumerate(self.rows):
            f = self._facts(r, base)
            label = ("Original (baseline)" if r.original else r.label) + (
                "  ★ chosen" if self.project is not None and self.project.chosen == r.id else ""
            )
            tip = (
                f"{label}\nSize {f['size']} ({f['size_ratio'] or '–'} the original), latency {f['latency']} "
                f"({f['latency_ratio'] or '–'}), {quality_name.lower()} {f['quality']} {f['change']}, "
                f"agreement {f['agreement']}, SQNR {f['sqnr']}\nid: {r.id}"
            )
            first = _item(label, r.label.lower(), align_right=False)
            first.setData(Qt.ItemDataRole.UserRole, r.id)
            first.setToolTip(plain(tip))
            self.table.setItem(i, COL_CANDIDATE, first)
            cells = (
                (COL_SIZE, f"{f['size']}  {f['size_ratio']}".strip(), r.size_bytes),
                (COL_LATENCY, f"{f['latency']}  {f['latency_ratio']}".strip(), r.latency_ms_median),
                (
                    COL_QUALITY,
                    f"{f['quality']}  {f['change']}".strip() if not r.original else f["quality"],
                    r.quality,
                ),
            )
            for col, text, key in cells:
                it = _item(text, key)
                it.setToolTip(plain(tip))
                self.table.setItem(i, col, it)
            front = r.pareto_size if self.axis_combo.currentData() == "size" else r.pareto_latency
            pi = _item("yes" if front else "", 1 if front else 0, align_right=False)
            pi.setToolTip(HEADER_TIPS["Pareto"])
            self.table.setItem(i, COL_PARETO, pi)
            text, key, why, colour = self._verdict(r)
            mi = _item(text, key, align_right=False)
            mi.setToolTip(plain(why))
            if colour is not None:
                mi.setForeground(theme.qcolor(colour))
            self.table.setItem(i, COL_BUDGET, mi)
        self.table.setSortingEnabled(True)

    def _draw_scatter(self) -> None:
        axis = self.axis_combo.currentData() or "size"
        title, scale = AXES[axis]
        self.scatter_plot.plotItem.setLabel("bottom", title, color=theme.plot_foreground())
        metric = next((r.quality_metric for r in self.rows if r.quality_metric), None) or "quality"
        self.scatter_plot.plotItem.setLabel("left", f"{metric_label(metric)} (%)", color=theme.plot_foreground())
        for t in self.labels:
            self.scatter_plot.removeItem(t)
        self.labels, self._label_points = [], []
        spots = []
        front_pts = []
        named: list[tuple[int, pg.TextItem, tuple[float, float, float]]] = []
        for r in self.rows:
            x, q = (r.size_bytes if axis == "size" else r.latency_ms_median), r.quality
            if x is None or q is None:
                continue
            fx, fy = x * scale, q * 100.0
            front = r.pareto_size if axis == "size" else r.pareto_latency
            chosen = self.project is not None and self.project.chosen == r.id
            if r.original:
                brush, symbol = pg.mkBrush(120, 120, 120), "s"
            elif front:
                brush, symbol = pg.mkBrush(230, 126, 34), "o"
            else:
                brush, symbol = pg.mkBrush(70, 130, 180), "o"
            ringed = chosen or r.id == self.selected_id
            pen = pg.mkPen(theme.plot_foreground(), width=2.5) if ringed else pg.mkPen(None)
            size = 14 if front else 11
            spots.append({"pos": (fx, fy), "data": r.id, "brush": brush, "symbol": symbol, "pen": pen, "size": size})
            if front:
                front_pts.append((fx, fy))
            name = "original" if r.original else r.label
            text = _text(name, theme.plot_foreground())
            text.setToolTip(plain(name))
            text.full_name = name
            self.scatter_plot.addItem(text)
            # The selected, chosen and recommended candidates get the first pick of places, then the front.
            rank = 0 if r.id == self.selected_id else 1 if chosen else 2 if r.id == self.recommended_id else 3
            named.append(
                (rank * 2 + (0 if front or r.original else 1), text, (fx, fy, size / 2 + (2.5 if ringed else 0)))
            )
        named.sort(key=lambda n: n[0])
        self.labels = [n[1] for n in named]
        self._label_points = [n[2] for n in named]
        self.scatter.setData(spots)
        front_pts.sort()
        self.front_curve.setData([p[0] for p in front_pts], [p[1] for p in front_pts])
        b, base = self._budget(), self._base()
        if axis == "size" and b.get("size_mb"):
            self.x_budget.setPos(b["size_mb"] * 1e6 * scale)
            self.x_budget.setVisible(True)
        elif axis == "latency" and b.get("latency_ms"):
            self.x_budget.setPos(b["latency_ms"] * scale)
            self.x_budget.setVisible(True)
        else:
            self.x_budget.setVisible(False)
        self.x_budget_label.setText(f"{axis} budget", color=theme.severity("high"))
        if b.get("accuracy_drop_pts") is not None and base and base.quality is not None and metric == "accuracy":
            self.y_budget.setPos(base.quality * 100.0 - float(b["accuracy_drop_pts"]))
            self.y_budget.setVisible(True)
        else:
            self.y_budget.setVisible(False)
        self.scatter_plot.plotItem.enableAutoRange()
        if spots:
            ys = [s["pos"][1] for s in spots] + ([self.y_budget.value()] if self.y_budget.isVisible() else [])
            xs = [s["pos"][0] for s in spots] + ([self.x_budget.value()] if self.x_budget.isVisible() else [])
            # Room above the points for their names (up is better, so most names sit near the top).
            pad_y = max(0.5, (max(ys) - min(ys)) * 0.15)
            self.scatter_plot.setYRange(min(ys) - pad_y, max(ys) + 1.5 * pad_y)
            span = max(xs) - min(xs) or max(xs) or 1.0
            lo, hi = max(0.0, min(xs) - 0.2 * span), max(xs) + 0.1 * span  # names mostly go left or right
            self.scatter_plot.setXRange(lo, hi)
        self._place_labels()

    def _place_labels(self) -> None:
        """Place the names where they overlap nothing: the budget lines' names first, at the end of their line in the
        plot's corner with the fewest points, then each point's name beside its point (right, left, above, below),
        cut to end in '…' when only a shorter one fits (the full name is its tooltip) and hidden when even that
        fits nowhere (the point's own tooltip names it). Every name stays inside the plot. Runs again whenever the
        plot is resized, panned or zoomed, since the names keep their size in pixels while the data moves."""
        vb = self.scatter_plot.plotItem.vb
        w, h = vb.width(), vb.height()
        if w < 20 or h < 20 or not self.labels and not self.x_budget.isVisible() and not self.y_budget.isVisible():
            return
        area = QRectF(0, 0, w, h)

        def px(x: float, y: float) -> QPointF:
            return vb.mapFromView(QPointF(x, y))

        markers = []
        for x, y, r in self._label_points:
            c = px(x, y)
            markers.append(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r))
        taken: list[QRectF] = []

        def free(rect: QRectF) -> int:
            """How many things `rect` would cover (0: a free place); outside the plot counts as covering."""
            if not area.contains(rect):
                return 1_000
            return sum(rect.intersects(o) for o in taken) * 100 + sum(rect.intersects(m) for m in markers)

        gap = 3.0
        lines = []  # the budget lines themselves, which a budget's name had better not cross
        if self.x_budget.isVisible():
            lines.append(QRectF(px(self.x_budget.value(), 0).x() - 1, 0, 2, h))
        if self.y_budget.isVisible():
            lines.append(QRectF(0, px(0, self.y_budget.value()).y() - 1, w, 2))
        for line, label, vertical in (
            (self.x_budget, self.x_budget_label, True),
            (self.y_budget, self.y_budget_label, False),
        ):
            label.setVisible(line.isVisible())
            if not line.isVisible():
                continue
            tw, th = _size(label)
            if vertical:
                lx = px(line.value(), 0).x()
                spots = [(lx + gap, h - th - gap), (lx + gap, gap), (lx - gap - tw, h - th - gap), (lx - gap - tw, gap)]
            else:
                ly = px(0, line.value()).y()
                spots = [(w - tw - gap, ly + 1), (w - tw - gap, ly - th - 1), (gap, ly + 1), (gap, ly - th - 1)]
            rects = [_clamped(QRectF(x, y, tw, th), area) for x, y in spots]
            best = min(rects, key=lambda rect: free(rect) + sum(rect.intersects(ln) for ln in lines))
            label.setPos(vb.mapToView(best.topLeft()))  # the first free corner, else the one covering least
            taken.append(best)

        for text, (x, y, r) in zip(self.labels, self._label_points, strict=True):
            c = px(x, y)
            placed = None
            full = text.full_name
            font = text.textItem.font()
            widths = (min(170.0, w * 0.6), min(120.0, w * 0.45), 85.0, 55.0)
            # Beside the point first, shortened as far as needed; only then a little further up or down.
            for far, max_w in [(False, mw) for mw in widths] + [(True, mw) for mw in widths]:
                short = elide(full, font, max_w)
                if text.toPlainText() != short:
                    text.setPlainText(short)
                tw, th = _size(text)
                d, e = r + 1, (r + 1) * 0.6
                candidates = (
                    [
                        QRectF(c.x() + d, c.y() - th / 2, tw, th),  # right of the point
                        QRectF(c.x() - d - tw, c.y() - th / 2, tw, th),  # left
                        QRectF(c.x() + e, c.y() - e - th, tw, th),  # above right
                        QRectF(c.x() + e, c.y() + e, tw, th),  # below right
                        QRectF(c.x() - e - tw, c.y() - e - th, tw, th),  # above left
                        QRectF(c.x() - e - tw, c.y() + e, tw, th),  # below left
                        QRectF(c.x() - tw / 2, c.y() - d - th, tw, th),  # above
                        QRectF(c.x() - tw / 2, c.y() + d, tw, th),  # below
                    ]
                    if not far
                    else [
                        QRectF(c.x() - tw / 2, c.y() - d - 1.6 * th, tw, th),  # higher, clear of a neighbour
                        QRectF(c.x() - tw / 2, c.y() + d + 0.6 * th, tw, th),  # lower
                    ]
                )
                # A place that crosses no budget line either, else one that does (the lines are thin).
                clear = [rect for rect in candidates if free(rect) == 0]
                placed = next((rect for rect in clear if not any(rect.intersects(ln) for ln in lines)), None)
                placed = placed or next(iter(clear), None)
                if placed is not None:
                    break
            text.setVisible(placed is not None)
            if placed is not None:
                taken.append(placed)
                # Anchored to its own point, so that it moves with it until the next placement.
                text.setPos(x, y)
                text.setAnchor(((c.x() - placed.x()) / max(tw, 1.0), (c.y() - placed.y()) / max(th, 1.0)))

    # --- selection -----------------------------------------------------------------------------------------------

    def _point_tip(self, x: float, y: float, data: Any) -> str:
        name = next(("The original" if r.original else r.label for r in self.rows if r.id == data), "")
        return plain(f"{name}\n{x:.4g}, {y:.2f} %")

    def _on_point(self, _item: Any, points: Any, *_: Any) -> None:
        if len(points):
            self.select(points[0].data())

    def _on_table_selection(self) -> None:
        items = self.table.selectedItems()
        if items:
            row = items[0].row()
            rid = self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)
            if rid != self.selected_id:
                self.select(rid)

    @explains
    def select(self, exp_id: str | None) -> None:
        self.selected_id = exp_id
        for i in range(self.table.rowCount()):
            if self.table.item(i, 0).data(Qt.ItemDataRole.UserRole) == exp_id:
                self.table.blockSignals(True)
                self.table.selectRow(i)
                self.table.blockSignals(False)
                break
        row = next((r for r in self.rows if r.id == exp_id), None)
        self.choose_button.setEnabled(row is not None)
        self.choose_button.setText("Ship the Original" if row is not None and row.original else "Ship This Candidate")
        self._draw_scatter()
        self._show_details(row)
        self._show_deltas(row)
        self._show_disagreements(row)
        self._show_reading(row)

    def _show_details(self, row: ResultRow | None) -> None:
        """The selected candidate's every number in one line, under the table (the side of the narrow columns)."""
        if row is None:
            self.details.setText("Select a candidate to see all its numbers.")
            return
        f = self._facts(row, self._base())
        name = "The original" if row.original else row.label
        metric = metric_label(row.quality_metric or "quality").lower()
        parts = [f"size {f['size']}" + (f" ({f['size_ratio']} the original)" if not row.original else "")]
        parts.append(f"latency {f['latency']}" + (f" ({f['latency_ratio']})" if not row.original else ""))
        parts.append(f"{metric} {f['quality']}" + (f" ({f['change']})" if f["change"] and not row.original else ""))
        if not row.original:
            parts += [f"agreement with the original {f['agreement']}", f"SQNR {f['sqnr']}"]
        self.details.setText(f"{name}: " + ", ".join(parts) + ".")
        explain(self.details)

    def _show_deltas(self, row: ResultRow | None) -> None:
        per_class = row.per_class_delta if row else {}
        keys = sorted(per_class, key=lambda k: (len(k), k))
        vals = [per_class[k] * 100 for k in keys]
        self.class_bars.setOpts(
            x=list(range(len(keys))),
            height=vals,
            width=0.7,
            brushes=[pg.mkBrush(176, 0, 32) if v < 0 else pg.mkBrush(70, 130, 180) for v in vals],
        )
        self.class_plot.plotItem.getAxis("bottom").setTicks([[(i, k) for i, k in enumerate(keys)]])
        lo = min(vals + [-0.5])
        hi = max(vals + [0.5])
        self.class_plot.setYRange(lo * 1.2, hi * 1.2)
        self.class_plot.setXRange(-0.6, max(len(keys), 1) - 0.4, padding=0)
        groups: dict[str, float] = {}
        if row is not None and self.project is not None and not row.original:
            exp = _experiment(self.project, row.id)
            base = self.project.baseline
            if exp is not None and exp.quality and base is not None and base.quality:
                groups = {
                    g: (v - base.quality.per_subgroup_accuracy[g]) * 100
                    for g, v in exp.quality.per_subgroup_accuracy.items()
                    if g in base.quality.per_subgroup_accuracy
                }
        gk = sorted(groups)
        gv = [groups[k] for k in gk]
        self.group_bars.setOpts(
            x=list(range(len(gk))),
            height=gv,
            width=0.6,
            brushes=[pg.mkBrush(176, 0, 32) if v < 0 else pg.mkBrush(148, 103, 189) for v in gv],
        )
        self.group_plot.plotItem.getAxis("bottom").setTicks([[(i, k) for i, k in enumerate(short_groups(gk))]])
        self.group_plot.setYRange(min(gv + [-0.5]) * 1.2, max(gv + [0.5]) * 1.2)
        self.group_plot.setXRange(-0.6, max(len(gk), 1) - 0.4, padding=0)

    def _show_disagreements(self, row: ResultRow | None) -> None:
        self._clear_images()
        if row is None or row.original:
            self.disagree_title.setText(
                "<b>Changed answers</b><br>Select a compressed candidate to see the inputs where it answers differently."
            )
            return
        exp = _experiment(self.project, row.id)
        indices = list(exp.quality.disagreements) if exp is not None and exp.quality else []
        total = exp.quality.samples if exp is not None and exp.quality else 0
        if not indices:
            self.disagree_title.setText(
                f"<b>Changed answers</b><br>None: on all {total} evaluation inputs this candidate "
                "gives the same answer as the original."
            )
            return
        self.disagree_title.setText(
            f"<b>Changed answers</b><br>{len(indices)} of {total} evaluation inputs get a different answer"
            + (f" (first {MAX_IMAGES} shown)" if len(indices) > MAX_IMAGES else "")
            + ". Loading…"
        )
        self.load_images_requested.emit(row.id, MAX_IMAGES)

    def _clear_images(self) -> None:
        while self.images_grid.count():
            w = self.images_grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()

    def show_images(self, exp_id: str, changed: ChangedAnswers) -> None:
        """Called with `Session.disagreements()`' result (on the UI thread)."""
        if exp_id != self.selected_id:
            return
        self._clear_images()
        text = self.disagree_title.text().replace(" Loading…", "")
        self.disagree_title.setText(text)
        for n, (x, label, index) in enumerate(zip(changed.inputs, changed.labels, changed.indices, strict=True)):
            cell = QLabel()
            cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption = f"#{index}" + (f", a {label}" if label is not None else "")
            if changed.images:
                cell.setPixmap(QPixmap.fromImage(digit_image(x)))
                cell.setToolTip(caption)
                holder = QWidget()
                v = QVBoxLayout(holder)
                v.setContentsMargins(2, 2, 2, 2)
                v.setSpacing(0)
                v.addWidget(cell)
                cap = QLabel(caption)
                cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
                cap.setStyleSheet(f"font-size: 8pt; color: {theme.muted()};")
                v.addWidget(cap)
                self.images_grid.addWidget(holder, n // IMAGE_COLUMNS, n % IMAGE_COLUMNS)
            else:
                cell.setText(caption)
                self.images_grid.addWidget(cell, n // IMAGE_COLUMNS, n % IMAGE_COLUMNS)

    def _show_reading(self, row: ResultRow | None) -> None:
        parts = ["<b>The advisor's reading</b>"]
        if self.advice is None:
            parts.append(f"<span style='color:{theme.muted()}'>The advice is not available yet.</span>")
        else:
            subject = row.id if row else None
            about = [s for s in (*self.advice.blockers, *self.advice.warnings) if s.subject == subject and subject]
            general = [s for s in self.advice.warnings if s.subject is None and s.rule_id in self.result_rules]
            for s in about + general:
                parts.append(
                    f"<p><b>{html.escape(s.title)}</b><br>{html.escape(s.what)}"
                    f"<br><span style='color:{theme.muted()}'>{html.escape(s.do)}</span></p>"
                )
            if len(parts) == 1:
                parts.append(f"<span style='color:{theme.muted()}'>Nothing in particular about this candidate.</span>")
        parts += self._made(row)
        self.reading.setText("".join(parts))

    def _made(self, row: ResultRow | None) -> list[str]:
        """What each step did and its caveats (the artifact's summary and notes: how it was measured, what the
        runtime does with it), which the report and the model card carry too."""
        exp = _experiment(self.project, row.id) if row is not None and not row.original else None
        if exp is None or not exp.artifacts:
            return []
        out = ["<p><b>How this candidate was made</b></p>"]
        for art in exp.artifacts:
            out.append(f"<p>{html.escape(art.summary)}")
            out += [f"<br><span style='color:{theme.muted()}'>• {html.escape(n)}</span>" for n in art.notes]
            out.append("</p>")
        return out

    def _choose(self) -> None:
        if self.selected_id:
            self.choose_requested.emit(self.selected_id)


def _text(name: str, color: Any) -> pg.TextItem:
    """A plot label with a thin margin (its box is what the placement keeps apart, so no wide invisible border)."""
    t = pg.TextItem(name, color=color, anchor=(0, 0))
    t.textItem.document().setDocumentMargin(1)
    t.setText(name)  # re-laid out with the thin margin
    return t


def _size(t: pg.TextItem) -> tuple[float, float]:
    r = t.textItem.boundingRect()
    return r.width(), r.height()


def _clamped(rect: QRectF, area: QRectF) -> QRectF:
    """`rect` moved (not resized) to lie inside `area`."""
    x = min(max(rect.x(), area.left()), area.right() - rect.width())
    y = min(max(rect.y(), area.top()), area.bottom() - rect.height())
    return QRectF(x, y, rect.width(), rect.height())


def short_groups(names: list[str]) -> list[str]:
    """'heavy_ink', 'light_ink' → 'heavy', 'light' (a suffix all names share is dropped, for the axis)."""
    parts = [n.split("_") for n in names]
    if len(parts) > 1 and all(len(p) > 1 for p in parts) and len({p[-1] for p in parts}) == 1:
        return ["_".join(p[:-1]).replace("_", " ") for p in parts]
    return [n.replace("_", " ") for n in names]


def _experiment(project: Any, exp_id: str) -> Any:
    if project is None:
        return None
    try:
        return project.experiment(exp_id)
    except KeyError:
        return None
