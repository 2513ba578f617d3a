"""The Target page: which device, what it can do in plain words, and the budgets next to the model's own numbers."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from shrinkwise.gui import theme
from shrinkwise.gui.formatting import fmt_bytes, fmt_ms
from shrinkwise.gui.help_text import explains
from shrinkwise.gui.panels import MeasurementsPanel
from shrinkwise.gui.unset_spin import UnsetSpinBox

NOT_SET = "not set"
# key, label, unit, max, decimals, tooltip — the budget fields this page edits, in the order shown
BUDGETS: list[tuple[str, str, str, float, int, str]] = [
    ("latency_ms", "Latency, at most", "ms", 1e6, 3, "How long one inference (batch 1) may take on the device"),
    (
        "min_speedup",
        "…or faster than the original, at least",
        "×",
        1000,
        2,
        "How many times faster than the original each candidate must be, timed side by side with the original "
        "here (so a busy computer does not skew it); 1 = never slower",
    ),
    ("size_mb", "Model file size, at most", "MB", 1e6, 3, "The largest model file the device or the app can take"),
    ("peak_memory_mb", "Memory while running, at most", "MB", 1e6, 1, "RAM the model may use while it runs"),
    (
        "accuracy_drop_pts",
        "Accuracy loss, at most",
        "points",
        100,
        2,
        "How many percentage points of accuracy you can give up: 1.0 means 99.4 % → 98.4 % is fine",
    ),
    (
        "max_disagreement_pct",
        "Changed answers, at most",
        "%",
        100,
        2,
        "The share of inputs whose answer may differ from the original model's",
    ),
    (
        "min_cosine",
        "Outputs stay this close (cosine ≥)",
        "",
        1.0,
        4,
        "For a model without labels (embeddings, features, audio): how close each output must stay to the "
        "original's, as the mean cosine similarity (1 = identical; 0.99 keeps embeddings interchangeable)",
    ),
]
# The factor row under the file size: not a budget field, it sets `size_mb` (Session.relative_budget).
SMALLER_TIP = (
    "How many times smaller than the original file the model must become: 5 means a fifth of its size. "
    "It sets the file size above (from the original's file)."
)
STATISTICS = [
    ("median", "typical (median)"),
    ("p90", "9 out of 10 runs (p90)"),
    ("worst_case", "every run (worst case)"),
]


def _spin(maximum: float, decimals: int, unit: str) -> QDoubleSpinBox:
    spin = UnsetSpinBox()
    spin.setDecimals(decimals)
    spin.setRange(0.0, maximum)
    spin.setSpecialValueText(NOT_SET)
    if unit:
        spin.setSuffix(f" {unit}")
    spin.setKeyboardTracking(False)
    spin.setMinimumWidth(130)
    spin.setSingleStep(1.0 if unit == "ms" else 0.001 if decimals >= 4 else 10 ** -min(decimals, 1))
    return spin


class TargetPage(QWidget):
    changed = Signal()  # the target or a budget changed (the window stores it in the project)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self._targets: dict[str, Any] = {}
        self.current: dict[str, tuple[float | None, str]] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        title = QLabel("Target and budget")
        title.setStyleSheet(theme.title_css())
        layout.addWidget(title)
        intro = QLabel(
            "Where will the model run, and what must it fit into? Shrinkwise uses this to choose the steps "
            "and to judge the results. Leave a budget at “not set” if it does not matter."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        row = QHBoxLayout()
        device_box = QGroupBox("Device")
        dl = QVBoxLayout(device_box)
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(20)
        self.combo.setToolTip("The kind of device the compressed model must run on")
        dl.addWidget(self.combo)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setTextFormat(Qt.TextFormat.RichText)
        dl.addWidget(self.description)
        self.capabilities = QLabel()
        self.capabilities.setWordWrap(True)
        self.capabilities.setTextFormat(Qt.TextFormat.RichText)
        dl.addWidget(self.capabilities)
        dl.addStretch(1)
        row.addWidget(device_box, 1)

        budget_box = QGroupBox("Budget")
        grid = QGridLayout(budget_box)
        # Three columns: the budget's name, its value, and what the model is now with the verdict under it. The
        # last one stretches and wraps: a fourth column for the verdict got ~70 px at 1024 px wide.
        grid.setColumnStretch(2, 1)
        head_style = f"color: {theme.muted()}; font-size: 9pt;"
        for col, text in enumerate(("", "Your budget", "The model now")):
            h = QLabel(text)
            h.setStyleSheet(head_style)
            grid.addWidget(h, 0, col)
        self.spins: dict[str, QDoubleSpinBox] = {}
        self.now_labels: dict[str, QLabel] = {}
        self.verdicts: dict[str, QLabel] = {}
        self._loaded: dict[str, float] = {}  # budget values as the project holds them (the spins round them)
        self._original_mb: float | None = None  # the original's file, for the "× smaller" row
        self._size_from_factor = False  # the size was last set as a factor (sent as `smaller`, see budget_value)
        r = 1
        for key, label, unit, maximum, decimals, tip in BUDGETS:
            name = QLabel(label)
            name.setToolTip(tip)
            spin = _spin(maximum, decimals, unit)
            spin.setToolTip(tip)
            spin.setObjectName(key)
            spin.valueChanged.connect(lambda _v, k=key: self._on_budget(k))
            now = QLabel("–")
            now.setWordWrap(True)
            verdict = QLabel()
            verdict.setWordWrap(True)
            verdict.setVisible(False)
            cell = QWidget()
            stack = QVBoxLayout(cell)
            stack.setContentsMargins(0, 0, 0, 0)
            stack.setSpacing(0)
            stack.addWidget(now)
            stack.addWidget(verdict)
            grid.addWidget(name, r, 0)
            grid.addWidget(spin, r, 1)
            grid.addWidget(cell, r, 2)
            self.spins[key], self.now_labels[key], self.verdicts[key] = spin, now, verdict
            r += 1
            if key == "latency_ms":
                self.statistic = QComboBox()
                for value, text in STATISTICS:
                    self.statistic.addItem(text, value)
                self.statistic.setToolTip("Must the latency hold typically, for 9 in 10 runs, or always?")
                self.statistic.currentIndexChanged.connect(lambda _i: self._on_budget("latency_statistic"))
                lab = QLabel("…which must hold for")
                lab.setStyleSheet(head_style)
                grid.addWidget(lab, r, 0)
                grid.addWidget(self.statistic, r, 1)
                r += 1
            if key == "size_mb":
                self.smaller = _spin(1000, 2, "×")
                self.smaller.setObjectName("smaller")
                self.smaller.setToolTip(SMALLER_TIP)
                self.smaller.setSingleStep(0.5)
                self.smaller.valueChanged.connect(lambda _v: self._on_smaller())
                lab = QLabel("…or smaller than the original, at least")
                lab.setToolTip(SMALLER_TIP)
                grid.addWidget(lab, r, 0)
                grid.addWidget(self.smaller, r, 1)
                r += 1
        self.budget_note = QLabel()
        self.budget_note.setWordWrap(True)
        self.budget_note.setStyleSheet(head_style)
        grid.addWidget(self.budget_note, r, 0, 1, 3)
        row.addWidget(budget_box, 2)
        layout.addLayout(row)

        self.measurements_panel = MeasurementsPanel()
        self.measurements_panel.setMinimumHeight(260)
        layout.addWidget(self.measurements_panel, 1)
        self.combo.currentIndexChanged.connect(self._on_target)

    # --- data in -------------------------------------------------------------------------------------------------

    @explains
    def set_targets(self, targets: dict[str, Any]) -> None:
        self._targets = dict(targets)
        self._loading = True
        try:
            current = self.combo.currentData()
            self.combo.clear()
            self.combo.addItem("Choose the device…", None)
            order = sorted(targets.values(), key=lambda t: (t.id != "this-computer", t.name.lower()))
            for t in order:
                self.combo.addItem(t.name, t.id)
            if current:
                self.combo.setCurrentIndex(max(0, self.combo.findData(current)))
        finally:
            self._loading = False
        self._show_target()

    @explains
    def show_project(self, project: Any) -> None:
        self._loading = True
        try:
            tid = project.target.id
            i = self.combo.findData(tid) if tid else 0
            if tid and i < 0 and self._targets == {}:
                self.combo.addItem(str(tid), tid)
                i = self.combo.count() - 1
            self.combo.setCurrentIndex(max(i, 0))
            b = project.budget
            self._loaded = {}
            for key, spin in self.spins.items():
                v = getattr(b, key)
                spin.setValue(float(v) if v is not None else 0.0)
                if v is not None:
                    self._loaded[key] = float(v)
            stat = b.latency_statistic or "median"
            self.statistic.setCurrentIndex(max(0, self.statistic.findData(stat)))
            self._current_numbers(project)
            self._size_from_factor = False
            self._show_factor()
        finally:
            self._loading = False
        self._show_target()
        self._verdicts()

    def _current_numbers(self, project: Any) -> None:
        base = project.baseline
        self.current = {}

        def m(metric: str) -> Any:
            return base.measurement(metric) if base is not None else None

        size, lat, p90, mem, acc = (
            m("size_bytes"),
            m("latency_ms_median"),
            m("latency_ms_p90"),
            m("peak_memory_mb"),
            m("accuracy"),
        )
        stat = project.budget.latency_statistic or "median"
        lat_used = p90 if stat in ("p90", "worst_case") and p90 is not None else lat
        self.current["size_mb"] = (size.value / 1e6, "measured here") if size else (None, "")
        self._original_mb = size.value / 1e6 if size else None
        self.current["latency_ms"] = (lat_used.value, "measured on this computer") if lat_used else (None, "")
        self.current["peak_memory_mb"] = (mem.value, "measured here") if mem else (None, "")
        self.current["accuracy"] = (acc.value, "measured here") if acc else (None, "")
        # The one formatter (shrinkwise.units), so the original's size and latency read here as on Compare.
        fmt = {
            "size_mb": lambda v: fmt_bytes(v * 1e6),
            "latency_ms": fmt_ms,
            "peak_memory_mb": lambda v: f"{v:.3g} MB",
        }
        for key, label in self.now_labels.items():
            value, source = self.current.get(key, (None, ""))
            if key == "accuracy_drop_pts":
                a = self.current["accuracy"][0]
                label.setText(f"accuracy {a * 100:.2f} %" if a is not None else "no labelled data")
            elif key == "max_disagreement_pct":
                label.setText("0 % (it is the original)")
            elif key == "min_speedup":
                label.setText("1× (it is the original)")
            elif key == "min_cosine":
                label.setText("1 (it is the original)")
            else:
                label.setText(fmt[key](value) if value is not None else "not measured")
                label.setToolTip(source)
        self.budget_note.setText(
            "The model's numbers come from measuring it on this computer (Model > Measure Baseline). "
            "For another device, latency is estimated by the advisor and should be checked with the benchmark bundle."
            if base is not None
            else "Measure the original model (below) to see its numbers next to each budget."
        )

    # --- user edits ----------------------------------------------------------------------------------------------

    def _on_target(self, _index: int) -> None:
        self._show_target()
        self._verdicts()
        if not self._loading:
            self.changed.emit()

    def _on_budget(self, key: str) -> None:
        if key == "size_mb" and not self._loading:
            self._size_from_factor = False
            self._show_factor()
        self._verdicts()
        if not self._loading:
            self.changed.emit()

    def _on_smaller(self) -> None:
        """The "N× smaller" row edited: the size row follows at once where the original's size is known; the
        controller turns the factor into the budget's `size_mb` (Session.relative_budget), from the original's file."""
        if self._loading:
            return
        self._size_from_factor = True
        factor = self.smaller.value()
        if factor <= 0 or self._original_mb is not None:
            self._loading = True
            try:
                self.spins["size_mb"].setValue(self._original_mb / factor if factor > 0 and self._original_mb else 0.0)
            finally:
                self._loading = False
        self._verdicts()
        self.changed.emit()

    def _show_factor(self) -> None:
        """The "× smaller" row as the size row stands (kept as typed while the original's size is unknown)."""
        size = self.spins["size_mb"].value()
        exact = self._loaded.get("size_mb", size) if size > 0 else None
        if exact is not None and round(exact, self.spins["size_mb"].decimals()) != size:
            exact = size
        if exact is None:
            factor = 0.0
        elif self._original_mb:
            factor = self._original_mb / exact
        else:
            return
        was, self._loading = self._loading, True
        try:
            self.smaller.setValue(round(factor, 2))
        finally:
            self._loading = was

    def target_value(self) -> str | None:
        tid = self.combo.currentData()
        return str(tid) if tid else None

    def budget_value(self) -> dict[str, Any]:
        """The budget fields this page edits, for `Controller.set_goal` (0 = not set, so None clears it). A value
        the user left as loaded is sent as the project holds it (the spin shows it rounded). When the size was
        last given as a factor, `smaller` replaces `size_mb`: the controller turns it into a size in MB."""
        out: dict[str, Any] = {}
        for key, spin in self.spins.items():
            value, loaded = spin.value(), self._loaded.get(key)
            if value <= 0:
                out[key] = None
            elif loaded is not None and round(loaded, spin.decimals()) == value:
                out[key] = loaded
            else:
                out[key] = round(value, spin.decimals())
        out["latency_statistic"] = self.statistic.currentData() if out.get("latency_ms") else None
        if self._size_from_factor and self.smaller.value() > 0:
            del out["size_mb"]
            out["smaller"] = round(self.smaller.value(), self.smaller.decimals())
        return out

    # --- showing -------------------------------------------------------------------------------------------------

    @explains
    def _show_target(self) -> None:
        from shrinkwise.gui.advising import capabilities_in_words

        t = self._targets.get(self.combo.currentData() or "")
        if t is None:
            self.description.setText(
                f"<span style='color:{theme.muted()}'>No device chosen yet. Pick the closest one; "
                "“This computer” if the model runs where Shrinkwise runs.</span>"
            )
            self.capabilities.setText("")
            return
        examples = ", ".join(t.example_devices[:4])
        self.description.setText(
            html.escape(t.description or "") + (f"<br><i>For example: {html.escape(examples)}</i>" if examples else "")
        )
        good, bad = theme.severity("good"), theme.severity("medium")
        lines = [
            f"<span style='color:{good if ok else bad}'>{'✔' if ok else '✘'}</span> {html.escape(text)}"
            for text, ok in capabilities_in_words(t)
        ]
        self.capabilities.setText("<br>".join(lines))

    def _verdicts(self) -> None:
        t = self._targets.get(self.combo.currentData() or "")
        here = t is not None and getattr(t, "is_this_computer", False)
        for key, verdict in self.verdicts.items():
            limit = self.spins[key].value()
            value = self.current.get(key, (None, ""))[0]
            shown = limit > 0 and value is not None and key in ("latency_ms", "size_mb", "peak_memory_mb")
            verdict.setVisible(shown)
            if not shown or value is None:
                verdict.setText("")
                continue
            if key == "latency_ms" and not here:
                verdict.setText(
                    f"<span style='color:{theme.muted()}'>measured on this computer; the advisor estimates the "
                    "device</span>"
                )
                continue
            if value <= limit:
                verdict.setText(f"<span style='color:{theme.severity('good')}'>fits already</span>")
            else:
                verdict.setText(f"<span style='color:{theme.severity('high')}'>must shrink {value / limit:.2g}×</span>")
