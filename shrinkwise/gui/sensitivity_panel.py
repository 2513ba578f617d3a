"""Layer sensitivity on the Compare page: run `workspace.runs.sensitivity` from the window, see the ranking and the
proposed keep-in-float set, and run that proposal as a candidate.

The analysis is queued on the window's `RunController` like any run (one at a time, in worker processes, progress
on the Run page too); this panel only listens to the controller's signals for its own item, so the UI thread never
runs a compression step.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from shrinkwise.gui import theme
from shrinkwise.gui.formatting import fmt_bytes, fmt_ms, metric_label, plain
from shrinkwise.gui.help_text import explain, explains

TECHNIQUES = [("int8_static", "Static int8 (calibrated)"), ("int8_dynamic", "Dynamic int8")]
COLUMNS = [
    ("Layer", "The layer (ONNX node) and its operator"),
    ("Drop alone", "Quality lost when only this layer is quantized (points)"),
    ("Recovered in float", "Quality won back when only this layer is kept in float (points)"),
    ("SQNR alone", "SQNR of the outputs with only this layer quantized, in dB (higher is closer)"),
    ("Cost in float", "How much larger the model stays when this layer is kept in float"),
]


def _pts(v: float | None, in_points: bool) -> str:
    if v is None:
        return "–"
    return f"{v * 100:+.2f} pts" if in_points else f"{v:+.4g}"


class SensitivityPanel(QWidget):
    ran = Signal(object)  # the finished sensitivity experiment

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: Any = None  # gui.run_controller.RunController
        self.item: Any = None  # the RunItem of the analysis this panel started
        self.proposal_item: Any = None
        self.experiment: Any = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        intro = QLabel(
            "Which layers lose the most quality when quantized to int8? Shrinkwise quantizes one layer at a time, "
            "ranks them, and proposes the fewest layers to keep in float so that quality stays within your "
            "tolerance. It runs in the background; progress also shows on the Run page."
        )
        intro.setWordWrap(True)
        explain(intro)
        layout.addWidget(intro)
        row = QHBoxLayout()
        tol_label = QLabel("Allowed quality drop:")
        self.tolerance = QDoubleSpinBox()
        self.tolerance.setRange(0.01, 100.0)
        self.tolerance.setDecimals(2)
        self.tolerance.setSingleStep(0.25)
        self.tolerance.setSuffix(" points")
        self.tolerance.setValue(1.0)
        tip = "How much quality (accuracy, else agreement with the original) the proposal may lose, in points"
        tol_label.setToolTip(tip)
        self.tolerance.setToolTip(tip)
        explain(tol_label, "points")
        self.technique = QComboBox()
        for tid, name in TECHNIQUES:
            self.technique.addItem(name, tid)
        self.technique.setToolTip("The quantizer tested layer by layer")
        explain(self.technique, "int8 static int8 dynamic")
        self.run_button = QPushButton("Find Sensitive Layers")
        self.run_button.setToolTip("Run the sensitivity analysis (one worker process; the window stays usable)")
        self.run_button.clicked.connect(self.start)
        row.addWidget(tol_label)
        row.addWidget(self.tolerance)
        row.addWidget(self.technique)
        row.addStretch(1)
        layout.addLayout(row)
        # The button on a line of its own: one row of all four needs ~570 px, which took the width of the Compare
        # page's scatter (beside these tabs) at 1024 px and crowded the candidates' names there.
        layout.addWidget(self.run_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setStyleSheet(f"color: {theme.muted()};")
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c for c, _ in COLUMNS])
        for i, (name, what) in enumerate(COLUMNS):
            item = self.table.horizontalHeaderItem(i)
            item.setToolTip(what)
            explain(item, f"{name} {what}")
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, len(COLUMNS)):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.table, 1)
        self.proposal = QLabel()
        self.proposal.setWordWrap(True)
        self.proposal.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.proposal)
        self.proposal_button = QPushButton("Run the Proposal as a Candidate")
        self.proposal_button.setToolTip("Quantize with the proposed layers kept in float, measured like any run")
        self.proposal_button.clicked.connect(self.run_proposal)
        self.proposal_button.setEnabled(False)
        layout.addWidget(self.proposal_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.show_experiment(None)

    # --- wiring --------------------------------------------------------------------------------------------------

    def set_runs(self, runs: Any) -> None:
        """The window's RunController: the analysis is queued there, like any run."""
        self.runs = runs
        runs.changed.connect(self._on_changed)
        runs.finished.connect(self._on_finished)

    def show_project(self, project: Any) -> None:
        """The latest finished analysis of the project (and the budget's accuracy drop as the default tolerance)."""
        if project is None:
            self.show_experiment(None)
            return
        drop = project.budget.accuracy_drop_pts
        if drop and not (self.item is not None and self.item.active):
            self.tolerance.setValue(float(drop))
        latest = project.latest_sensitivity()
        self.show_experiment(latest[0] if latest is not None else None)

    # --- running -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self.runs is None or self.runs.session is None:
            self.status.setText("Open a project with a model first.")
            return
        if self.item is not None and self.item.active:
            return
        self.item = self.runs.enqueue_sensitivity(self.tolerance.value() / 100.0, self.technique.currentData())
        self.run_button.setEnabled(False)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.status.setText("Waiting for the runs before it…")

    def _on_changed(self, item: Any) -> None:
        if item is not self.item:
            return
        self.progress.setValue(int(item.fraction * 1000))
        if item.active:
            self.status.setText(item.message or "running…")

    def _on_finished(self, item: Any) -> None:
        if item is self.proposal_item:
            self.proposal_button.setEnabled(True)
            return
        if item is not self.item:
            return
        self.run_button.setEnabled(True)
        self.progress.setVisible(False)
        if item.status != "finished" or self.runs.session is None or not item.experiment_id:
            self.status.setText(f"The analysis stopped: {item.error or item.status}.")
            return
        try:
            exp = self.runs.session.project.experiment(item.experiment_id)
        except KeyError:
            return
        self.show_experiment(exp)
        self.ran.emit(exp)

    def run_proposal(self) -> None:
        result = self.experiment.sensitivity_result() if self.experiment is not None else None
        if result is None or self.runs is None or self.runs.session is None:
            return
        technique, keep = result.technique, result.proposal.keep_float
        label = f"{technique}, {len(keep)} layer(s) in float" if keep else f"{technique} (sensitivity proposal)"
        self.proposal_item = self.runs.enqueue(
            [{"technique": technique, "config": dict(result.proposal.config)}], label
        )
        self.proposal_button.setEnabled(False)
        self.status.setText(f"Queued “{label}”: it appears on Compare when it has run.")

    # --- showing -------------------------------------------------------------------------------------------------

    @explains
    def show_experiment(self, exp: Any) -> None:
        """A finished analysis (`Experiment.sensitivity_result()`), or None for "no analysis yet"."""
        self.experiment = exp
        result = exp.sensitivity_result() if exp is not None else None
        ranking = result.ranking if result is not None else []
        in_points = result.in_points if result is not None else True
        self.table.setRowCount(len(ranking))
        for i, r in enumerate(ranking):
            layer = QTableWidgetItem(f"{r.node}  ({r.op_type})")
            layer.setToolTip(plain(r.node))
            cells = [
                layer,
                QTableWidgetItem(_pts(r.drop_alone, in_points)),
                QTableWidgetItem(_pts(r.recovery, in_points)),
                QTableWidgetItem("–" if r.sqnr_alone_db is None else f"{r.sqnr_alone_db:.1f} dB"),
                QTableWidgetItem(fmt_bytes(r.size_cost_bytes)),
            ]
            for c, cell in enumerate(cells):
                if c:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, c, cell)
        self.proposal_button.setEnabled(
            result is not None and (self.proposal_item is None or not self.proposal_item.active)
        )
        if result is None:
            self.proposal.setText(
                f"<span style='color:{theme.muted()}'>No analysis yet: press “Find Sensitive Layers”.</span>"
            )
            self.proposal_button.setEnabled(False)
            return
        p = result.proposal
        words = metric_label(result.metric).lower()
        kept = (
            "keep these layers in float: " + ", ".join(f"<code>{html.escape(n)}</code>" for n in p.keep_float)
            if p.keep_float
            else "every layer can be quantized; none needs to stay in float"
        )
        meets = "within" if p.meets_tolerance else "<b>not</b> within"
        q_text = f"{p.quality * 100:.2f} %" if in_points else f"{p.quality:.4f}"
        self.proposal.setText(
            f"<b>Proposal:</b> {kept}. Then {html.escape(words)} is {q_text} "
            f"(a drop of {html.escape(_pts(p.drop, in_points))}), {meets} the tolerance of "
            f"{result.tolerance * 100:g} points; size {fmt_bytes(p.size_bytes)}, latency {fmt_ms(p.latency_ms)} on "
            "this computer." + (f"<br>{html.escape(p.note)}." if p.note else "")
        )
        self.status.setText(f"Ranked {len(ranking)} layer(s), most sensitive first.")
