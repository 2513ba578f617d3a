"""The model page: a summary, the per-layer profile as a sortable and filterable table, and where ops, time and
weights go by op type (bar charts; clicking a bar filters the table to that op type)."""

from __future__ import annotations

import html
import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from shrinkwise.compression.profile_types import LayerProfile, ModelProfile
from shrinkwise.gui import theme
from shrinkwise.gui.formatting import fmt_bytes, fmt_count
from shrinkwise.gui.help_text import explains

ALL_OPS = "All op types"
SORT_ROLE = Qt.ItemDataRole.UserRole + 1

# (header, value getter, display formatter, numeric)
COLUMNS: list[tuple[str, Any, Any, bool]] = [
    ("Layer", lambda l: l.name, str, False),
    ("Op type", lambda l: l.op_type, str, False),
    ("Params", lambda l: l.parameters, lambda v: f"{v:,}", True),
    ("Weight kB", lambda l: l.weight_bytes / 1000, lambda v: f"{v:,.1f}", True),
    ("MACs", lambda l: l.macs, lambda v: f"{v:,}", True),
    ("Output kB", lambda l: None if l.output_bytes is None else l.output_bytes / 1000, lambda v: f"{v:,.1f}", True),
    ("Time µs", lambda l: l.time_us, lambda v: f"{v:,.1f}", True),
]
COL_LAYER, COL_OP, COL_PARAMS = 0, 1, 2


class LayerTableModel(QAbstractTableModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layers: list[LayerProfile] = []

    def set_layers(self, layers: list[LayerProfile]) -> None:
        self.beginResetModel()
        self._layers = list(layers)
        self.endResetModel()

    def layer(self, row: int) -> LayerProfile:
        return self._layers[row]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._layers)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section][0]
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return (
                    Qt.AlignmentFlag.AlignRight if COLUMNS[section][3] else Qt.AlignmentFlag.AlignLeft
                ) | Qt.AlignmentFlag.AlignVCenter
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        _, get, fmt, numeric = COLUMNS[index.column()]
        value = get(self._layers[index.row()])
        if role == Qt.ItemDataRole.DisplayRole:
            return "–" if value is None else fmt(value)
        if role == SORT_ROLE:
            if numeric:
                return -1.0 if value is None else float(value)
            return str(value).lower()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return (
                Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft
            ) | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == COL_LAYER:
            return value
        return None


class LayerFilterProxy(QSortFilterProxyModel):
    """Sorts on raw numbers; keeps rows whose name or op type contains the text, and of the chosen op type."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self._text = ""
        self._op: str | None = None

    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "_text", text.strip().lower()))

    def set_op_type(self, op: str | None) -> None:
        self._refilter(lambda: setattr(self, "_op", op))

    @property
    def op_type(self) -> str | None:
        return self._op

    def _refilter(self, change: Any) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9: invalidateFilter is deprecated
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover
            change()
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        model = self.sourceModel()
        assert isinstance(model, LayerTableModel)
        layer = model.layer(source_row)
        if self._op is not None and layer.op_type != self._op:
            return False
        return not self._text or self._text in layer.name.lower() or self._text in layer.op_type.lower()


class OpBarChart(pg.PlotWidget):
    """Horizontal bars, one per op type (created once, updated with setOpts); emits the op type of a clicked bar."""

    op_clicked = Signal(str)

    BAR = (70, 130, 180)
    HIGHLIGHT = (230, 126, 34)

    def __init__(self, title: str, parent: QWidget | None = None, integer: bool = False) -> None:
        super().__init__(parent=parent, background=theme.plot_background())
        self.integer = integer
        self.setAcceptDrops(False)
        self.setMinimumHeight(150)
        self.plotItem.setTitle(title, color=theme.plot_foreground(), size="10pt")
        self.plotItem.setMenuEnabled(False)
        self.plotItem.hideButtons()
        vb = self.plotItem.getViewBox()
        vb.setMouseEnabled(x=False, y=False)
        vb.invertY(True)
        for name in ("left", "bottom"):
            axis = self.plotItem.getAxis(name)
            axis.setPen(pg.mkPen(theme.muted()))
            axis.setTextPen(pg.mkPen(theme.plot_foreground()))
        self.plotItem.showGrid(x=True, y=False, alpha=0.2)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.6, width=[], brush=pg.mkBrush(*self.BAR), pen=pg.mkPen(None))
        self.addItem(self.bars)
        self.ops: list[str] = []
        self.values: list[float] = []
        self.selected: str | None = None
        self.scene().sigMouseClicked.connect(self._on_click)

    def set_data(self, ops: list[str], values: list[float], labels: list[str] | None = None) -> None:
        """One bar per entry of `ops` (emitted when clicked); `labels` are the tick texts (default: the ops)."""
        self.ops, self.values = list(ops), [float(v) for v in values]
        ys = list(range(len(ops)))
        self.bars.setOpts(x0=[0.0] * len(ops), y=ys, height=0.6, width=self.values, brushes=self._brushes())
        self.plotItem.getAxis("left").setTicks([[(i, op) for i, op in enumerate(labels or ops)]])
        top = max(self.values) if self.values and max(self.values) > 0 else 1.0
        if self.integer:  # counts: whole-number ticks
            step = max(1, math.ceil(top / 6))
            self.plotItem.getAxis("bottom").setTickSpacing(step, step)
        self.plotItem.setXRange(0, top * 1.05, padding=0)
        self.plotItem.setYRange(-0.5, max(len(ops), 1) - 0.5, padding=0.02)

    def set_selected(self, op: str | None) -> None:
        self.selected = op
        self.bars.setOpts(brushes=self._brushes())

    def _brushes(self) -> list[Any]:
        return [pg.mkBrush(*(self.HIGHLIGHT if op == self.selected else self.BAR)) for op in self.ops]

    def bar_center_in_view(self, op: str) -> Any:
        """The scene position of a bar's middle (for clicking it in tests)."""
        i = self.ops.index(op)
        point = self.plotItem.getViewBox().mapViewToScene(pg.Point(max(self.values[i], 1e-9) / 2, i))
        return self.mapFromScene(point)

    def _on_click(self, event: Any) -> None:
        vb = self.plotItem.getViewBox()
        pos = event.scenePos()
        if not vb.sceneBoundingRect().contains(pos):
            return
        p = vb.mapSceneToView(pos)
        i = int(round(p.y()))
        if 0 <= i < len(self.ops) and abs(p.y() - i) <= 0.4:
            event.accept()
            self.op_clicked.emit(self.ops[i])


CHART_METRICS: dict[str, tuple[str, Any]] = {
    "Time per op type (µs)": ("time", lambda ls: sum(l.time_us or 0.0 for l in ls)),
    "Weights per op type (kB)": ("weight", lambda ls: sum(l.weight_bytes for l in ls) / 1000),
    "MACs per op type": ("macs", lambda ls: sum(l.macs or 0 for l in ls)),
    "Slowest layers (µs)": ("layer_time", lambda l: l.time_us or 0.0),
    "Largest layers (kB)": ("layer_weight", lambda l: l.weight_bytes / 1000),
}
TOP_LAYERS = 10


def short_name(name: str, width: int = 26) -> str:
    """The tail of a long layer name ('…features.8/Conv'), for chart ticks."""
    return name if len(name) <= width else "…" + name[-(width - 1) :]


FORMAT_NAMES = {
    "onnx": "ONNX",
    "torchscript": "TorchScript → ONNX",
    "torch_export": "torch.export → ONNX",
    "state_dict": "PyTorch state dict → ONNX",
}


def netron_available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("netron") is not None
    except (ImportError, ValueError):
        return False


def launch_netron(path: str) -> Any:
    """Start Netron on the model in its own process (it serves the graph to the web browser); never blocks."""
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "netron", path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


class ProfileView(QWidget):
    """Empty state (no model), a 'profiling…' state, or the profile itself."""

    open_model_requested = Signal()
    demo_requested = Signal()
    netron_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile: ModelProfile | None = None
        self.stack = QStackedWidget()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)

        # empty state
        empty = QWidget()
        el = QVBoxLayout(empty)
        el.addStretch(1)
        self.empty_label = QLabel("Drop a model file here or use File > Open Model…")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet(f"font-size: 16pt; color: {theme.muted()};")
        self.empty_hint = QLabel(
            "ONNX (.onnx), TorchScript (.pt), torch.export (.pt2) or a state dict (.pt/.pth) with its architecture"
        )
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setStyleSheet(f"color: {theme.muted()};")
        self.open_button = QPushButton("Open Model…")
        self.open_button.clicked.connect(self.open_model_requested)
        self.demo_button = QPushButton("Try the Demo Project")
        self.demo_button.setToolTip("A small digits CNN with its data, to look around before using your own model")
        self.demo_button.clicked.connect(self.demo_requested)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.open_button)
        row.addWidget(self.demo_button)
        row.addStretch(1)
        el.addWidget(self.empty_label)
        el.addWidget(self.empty_hint)
        el.addLayout(row)
        el.addStretch(2)
        self.stack.addWidget(empty)

        # waiting state
        self.waiting_label = QLabel("Profiling the model…")
        self.waiting_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.waiting_label.setStyleSheet(f"font-size: 14pt; color: {theme.muted()};")
        self.stack.addWidget(self.waiting_label)

        # content
        content = QWidget()
        cl = QVBoxLayout(content)
        cl.setContentsMargins(8, 8, 8, 8)
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.callout = QLabel()
        self.callout.setWordWrap(True)
        self.callout.setTextFormat(Qt.TextFormat.RichText)
        self.timing_note = QLabel()
        self.timing_note.setWordWrap(True)
        self.timing_note.setStyleSheet(f"color: {theme.muted()}; font-size: 9pt;")
        head = QHBoxLayout()
        head.addWidget(self.summary, 1)
        self.netron_button = QPushButton("Open in Netron")
        self.netron_button.setToolTip("Look at the model's graph in Netron (opens in your web browser)")
        self.netron_button.clicked.connect(self.netron_requested)
        self.netron_button.setVisible(netron_available())
        head.addWidget(self.netron_button, 0, Qt.AlignmentFlag.AlignTop)
        cl.addLayout(head)
        cl.addWidget(self.callout)
        cl.addWidget(self.timing_note)

        filters = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter layers by name or op type…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAcceptDrops(False)
        self.op_combo = QComboBox()
        self.op_combo.setMinimumContentsLength(14)
        self.shown_label = QLabel()
        self.shown_label.setStyleSheet(f"color: {theme.muted()};")
        filters.addWidget(self.filter_edit, 3)
        filters.addWidget(self.op_combo, 1)
        filters.addWidget(self.shown_label)
        self.table_model = LayerTableModel(self)
        self.proxy = LayerFilterProxy(self)
        self.proxy.setSourceModel(self.table_model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # file order until the user sorts
        self.table.setAlternatingRowColors(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        for c in range(len(COLUMNS)):  # full layer names; the last column takes what is left
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(filters)
        ll.addWidget(self.table)

        right = QWidget()
        right.setMinimumWidth(260)
        right.setMaximumWidth(520)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.count_chart = OpBarChart("Layers per op type", integer=True)
        self.metric_combo = QComboBox()
        self.metric_combo.addItems(list(CHART_METRICS))
        self.metric_chart = OpBarChart("")
        rl.addWidget(self.count_chart, 1)
        rl.addWidget(self.metric_combo)
        rl.addWidget(self.metric_chart, 1)
        hint = QLabel("Click an op-type bar to show only that op type; click a layer bar to select the layer.")
        hint.setWordWrap(True)
        hint.setStyleSheet(f"color: {theme.muted()}; font-size: 9pt;")
        rl.addWidget(hint)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([700, 400])
        split.setChildrenCollapsible(False)
        cl.addWidget(split, 1)
        self.stack.addWidget(content)

        self.filter_edit.textChanged.connect(self._on_filter_text)
        self.op_combo.currentIndexChanged.connect(self._on_op_combo)
        self.metric_combo.currentIndexChanged.connect(self._update_metric_chart)
        self.count_chart.op_clicked.connect(self.select_op_type)
        self.metric_chart.op_clicked.connect(self._on_metric_bar)
        self.table.selectionModel().selectionChanged.connect(
            lambda *_: self.metric_chart.set_selected(self.selected_layer()) if self.layer_chart_shown else None
        )
        self.show_empty()

    # --- states --------------------------------------------------------------------------------------------------

    def show_empty(self) -> None:
        self.profile = None
        self.stack.setCurrentIndex(0)

    def show_waiting(self, text: str = "Profiling the model…") -> None:
        self.waiting_label.setText(text)
        self.stack.setCurrentIndex(1)

    @property
    def state(self) -> str:
        return ("empty", "waiting", "profile")[self.stack.currentIndex()]

    @explains
    def show_profile(self, profile: ModelProfile, model: Any = None) -> None:
        self.profile = profile
        self.table_model.set_layers(profile.layers)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.proxy.sort(-1)
        ops = sorted(profile.op_histogram, key=lambda op: (-profile.op_histogram[op], op))
        self.op_combo.blockSignals(True)
        self.op_combo.clear()
        self.op_combo.addItem(ALL_OPS)
        self.op_combo.addItems(ops)
        self.op_combo.blockSignals(False)
        self.proxy.set_op_type(None)
        self.count_chart.set_data(ops, [profile.op_histogram[op] for op in ops])
        self.count_chart.set_selected(None)
        self._update_metric_chart()
        self.summary.setText(self._summary_html(profile, model))
        self.callout.setText(self._callout_html(profile))
        self.timing_note.setText(f"Timing: {profile.timing_note}" if profile.timing_note else "")
        self.timing_note.setVisible(bool(profile.timing_note))
        self._update_shown()
        self.stack.setCurrentIndex(2)

    # --- filtering -----------------------------------------------------------------------------------------------

    def select_op_type(self, op: str | None) -> None:
        """Show only layers of `op` (None or the current one again: all)."""
        if op is not None and op == self.proxy.op_type:
            op = None
        index = self.op_combo.findText(op) if op else 0
        self.op_combo.setCurrentIndex(max(index, 0))

    def _on_op_combo(self, index: int) -> None:
        op = None if index <= 0 else self.op_combo.itemText(index)
        self.proxy.set_op_type(op)
        self.count_chart.set_selected(op)
        self.metric_chart.set_selected(op)
        self._update_shown()

    def _on_filter_text(self, text: str) -> None:
        self.proxy.set_text(text)
        self._update_shown()

    def _update_shown(self) -> None:
        total = self.table_model.rowCount()
        shown = self.proxy.rowCount()
        self.shown_label.setText(f"{shown} of {total} layers" if shown != total else f"{total} layers")

    def _update_metric_chart(self) -> None:
        if self.profile is None:
            return
        name = self.metric_combo.currentText()
        ops = self.count_chart.ops
        self.metric_chart.plotItem.setTitle(name, color=theme.plot_foreground(), size="10pt")
        kind, agg = CHART_METRICS[name]
        if kind.startswith("layer_"):
            layers = sorted(self.profile.layers, key=lambda l: -agg(l))[:TOP_LAYERS]
            layers = [l for l in layers if agg(l) > 0]
            self.metric_chart.set_data(
                [l.name for l in layers], [agg(l) for l in layers], [short_name(l.name) for l in layers]
            )
            self.metric_chart.set_selected(self.selected_layer())
            return
        values = [agg([l for l in self.profile.layers if l.op_type == op]) for op in ops]
        self.metric_chart.set_data(ops, values)
        self.metric_chart.set_selected(self.proxy.op_type)

    @property
    def layer_chart_shown(self) -> bool:
        return CHART_METRICS[self.metric_combo.currentText()][0].startswith("layer_")

    def _on_metric_bar(self, key: str) -> None:
        if self.layer_chart_shown:
            self.select_layer(key)
        else:
            self.select_op_type(key)

    def selected_layer(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        src = self.proxy.mapToSource(rows[0])
        return self.table_model.layer(src.row()).name

    def select_layer(self, name: str) -> None:
        """Select (and scroll to) the layer's row; filters that hide it are cleared first."""
        rows = [i for i in range(self.table_model.rowCount()) if self.table_model.layer(i).name == name]
        if not rows:
            return
        index = self.proxy.mapFromSource(self.table_model.index(rows[0], 0))
        if not index.isValid():
            self.filter_edit.clear()
            self.op_combo.setCurrentIndex(0)
            index = self.proxy.mapFromSource(self.table_model.index(rows[0], 0))
        self.table.selectRow(index.row())
        self.table.scrollTo(index)
        if self.layer_chart_shown:
            self.metric_chart.set_selected(name)

    # --- text ----------------------------------------------------------------------------------------------------

    @staticmethod
    def _summary_html(p: ModelProfile, model: Any) -> str:
        fmt = FORMAT_NAMES.get(model.format, model.format) if model is not None else "ONNX"
        inputs = (
            ", ".join(
                f"{html.escape(t.name)} [{', '.join(str(d) for d in t.shape)}] {html.escape(t.dtype)}"
                for t in (model.signature.inputs if model is not None else [])
            )
            or "–"
        )
        dtypes = ", ".join(f"{k} {fmt_bytes(v)}" for k, v in sorted(p.weight_bytes_by_dtype.items()))
        cells = [
            ("Format", html.escape(fmt)),
            ("Inputs", inputs),
            ("File size", fmt_bytes(p.file_bytes)),
            ("Parameters", fmt_count(p.parameters)),
            ("Weights", dtypes or "–"),
            ("Ops", f"{p.op_count} (opset {p.opset})"),
            ("MACs", fmt_count(p.total_macs) + " at batch 1" if p.total_macs is not None else "unknown"),
        ]
        row = "".join(
            f"<td style='padding-right:18px'><span style='color:{theme.muted()}'>{k}</span><br><b>{v}</b></td>"
            for k, v in cells
        )
        return f"<table><tr>{row}</tr></table>"

    @staticmethod
    def _callout_html(p: ModelProfile) -> str:
        parts = []
        if size := p.top_by_size(1):
            l = size[0]
            share = 100.0 * l.weight_bytes / max(p.weight_bytes, 1)
            parts.append(
                f"<b>Largest:</b> {html.escape(l.name)} ({l.op_type}, {fmt_bytes(l.weight_bytes)}, {share:.0f}% of the weights)"
            )
        if slow := p.top_by_time(1):
            l = slow[0]
            total = p.node_time_total_us or sum(x.time_us or 0 for x in p.layers)
            share = 100.0 * (l.time_us or 0) / max(total, 1e-9)
            parts.append(
                f"<b>Slowest:</b> {html.escape(l.name)} ({l.op_type}, {l.time_us:.1f} µs, {share:.0f}% of node time)"
            )
        return " &nbsp;·&nbsp; ".join(parts)
