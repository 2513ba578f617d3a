"""Smaller pages: the project's name and notes, its data files with their health, and the baseline measurements."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from shrinkwise.gui.formatting import fmt_number, metric_label

SOURCE_LABELS = {"host": "measured here", "device": "measured on the device", "estimate": "estimate"}


def _title(text: str, size: int = 14) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet(f"font-size: {size}pt; font-weight: bold;")
    return label


class ProjectPanel(QWidget):
    """Name and notes; editing either marks the project as changed (it is saved with File > Save)."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None, show_title: bool = True) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        if show_title:
            layout.addWidget(_title("Project"))
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setAcceptDrops(False)
        self.path_label = QLabel()
        self.path_label.setTextFormat(Qt.TextFormat.PlainText)  # a path is text, never markup
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path_label.setWordWrap(True)
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setAcceptDrops(False)
        self.notes_edit.setPlaceholderText("Notes about this model: what it is for, where it will run…")
        form.addRow("Name:", self.name_edit)
        form.addRow("File:", self.path_label)
        form.addRow("Notes:", self.notes_edit)
        layout.addLayout(form)
        self._loading = False
        self.name_edit.textEdited.connect(lambda _t: self._emit())
        self.notes_edit.textChanged.connect(self._emit)

    def _emit(self) -> None:
        if not self._loading:
            self.edited.emit()

    def show_project(self, project: Any, path: Any) -> None:
        self._loading = True
        try:
            self.name_edit.setText(project.name)
            self.notes_edit.setPlainText(project.notes)
            self.path_label.setText(str(path))
        finally:
            self._loading = False


def _classes_text(h: Any) -> str:
    if h is None or not h.class_counts:
        return "–"
    counts = list(h.class_counts.values())
    return (
        f"{len(counts)}, {min(counts)}–{max(counts)} each"
        if min(counts) != max(counts)
        else f"{len(counts)}, {counts[0]} each"
    )


class DataPanel(QWidget):
    """Which data serves evaluation, calibration and training; the files with roles and sizes; their health warnings."""

    add_requested = Signal()
    add_role_requested = Signal(str)
    task_changed = Signal(str, str)  # output name, task ("" = let Shrinkwise infer it)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from shrinkwise.gui import theme

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(_title("Data"))
        top.addStretch(1)
        self.role_buttons: dict[str, QPushButton] = {}
        for role, text, tip in (
            ("evaluation", "Add Evaluation Data…", "Held-out labelled inputs for measuring quality"),
            ("calibration", "Add Calibration Data…", "A few hundred typical inputs for int8 calibration"),
            ("training", "Add Training Data…", "Labelled data for fine-tuning and distillation"),
            ("all", "Add One File for Everything…", "Shrinkwise splits it: evaluation, calibration, training"),
        ):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(lambda _c=False, r=role: self.add_role_requested.emit(r))
            self.role_buttons[role] = b
            top.addWidget(b)
        self.add_button = self.role_buttons["all"]
        layout.addLayout(top)
        self.roles_label = QLabel()
        self.roles_label.setWordWrap(True)
        self.roles_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.roles_label)
        self.empty_label = QLabel(
            "No data yet. Drop a .npz file or an image folder here, or use the buttons above.\n"
            "Without data, Shrinkwise can measure speed and size but not accuracy."
        )
        self.empty_label.setStyleSheet(f"color: {theme.muted()};")
        layout.addWidget(self.empty_label)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["File", "Role", "Samples", "Labels", "Classes", "Subgroups", "Warnings"])
        self.tree.setRootIsDecorated(True)
        self.tree.setAcceptDrops(False)
        self.tree.setStyleSheet("QTreeWidget::item { padding: 2px; }")
        self.tree.header().setStretchLastSection(True)
        layout.addWidget(self.tree, 1)
        # What each output is (its task decides the headline number); filled from the last measurement.
        self.outputs_title = _title("What the outputs are", 12)
        layout.addWidget(self.outputs_title)
        self.outputs_grid = QGridLayout()
        layout.addLayout(self.outputs_grid)
        self.task_combos: dict[str, QComboBox] = {}
        self.outputs_title.setVisible(False)

    def set_enabled_for(self, has_model: bool) -> None:
        for b in self.role_buttons.values():
            b.setEnabled(has_model)
            if not has_model:
                b.setToolTip("Load a model first: the data is checked against the model's inputs")

    @staticmethod
    def roles_html(data: list[Any], split: Any = None) -> str:
        """In words: which data each role uses (as `Session.datasets` will pick it)."""
        from shrinkwise.gui import theme

        by = {d.role: d for d in data}
        n = lambda d: f"<b>{html.escape(d.path.rsplit('/', 1)[-1])}</b> ({d.samples:,} samples)"  # noqa: E731
        frac = getattr(split, "evaluation_fraction", 0.3)
        calib_n = getattr(split, "calibration_count", 100)
        ev = (
            n(by["evaluation"])
            if "evaluation" in by
            else (
                f"{int(round(frac * 100))} % of {n(by['all'])}, held out"
                if "all" in by
                else f"<span style='color:{theme.severity('medium')}'>none — Shrinkwise makes up random inputs: speed and size only, no accuracy</span>"
            )
        )
        tr = (
            n(by["training"])
            if "training" in by
            else (
                f"the rest of {n(by['all'])}"
                if "all" in by
                else f"<span style='color:{theme.muted()}'>none — steps that train are not possible</span>"
            )
        )
        src = by.get("calibration")
        if src is not None:
            cal = n(src)
        elif "all" in by or "training" in by:
            cal = f"{calib_n} samples drawn from the training data"
        else:
            cal = f"<span style='color:{theme.muted()}'>none — int8 with calibration needs some typical inputs</span>"
        return (
            f"<table><tr><td>Evaluation:&nbsp;</td><td>{ev}</td></tr><tr><td>Calibration:&nbsp;</td><td>{cal}</td></tr>"
            f"<tr><td>Training:&nbsp;</td><td>{tr}</td></tr></table>"
        )

    def show_data(self, data: list[Any], split: Any = None) -> None:
        from shrinkwise.gui import theme

        self.tree.clear()
        self.empty_label.setVisible(not data)
        self.roles_label.setText(self.roles_html(data, split))
        for ref in data:
            h = ref.health
            warnings = list(h.warnings) if h is not None else []
            item = QTreeWidgetItem(
                [
                    ref.path,
                    ref.role,
                    f"{ref.samples:,}",
                    "yes" if h is not None and h.has_labels else "no",
                    _classes_text(h),
                    (", ".join(f"{k} {v}" for k, v in h.group_counts.items()) or "yes")
                    if h is not None and h.has_groups
                    else "no",
                    f"{len(warnings)} (below)" if warnings else "none",
                ]
            )
            for col in (2,):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setToolTip(5, item.text(5))
            if h is not None and h.class_counts:
                item.setToolTip(0, "Samples per class: " + ", ".join(f"{k}: {v}" for k, v in h.class_counts.items()))
            for w in warnings:
                child = QTreeWidgetItem([f"{w.severity}: {w.message}"])
                child.setFirstColumnSpanned(True)
                child.setToolTip(0, w.message)
                if w.severity in ("warning", "error"):
                    child.setForeground(0, theme.qcolor(w.severity))
                item.addChild(child)
            self.tree.addTopLevelItem(item)
            item.setExpanded(True)
            for i in range(item.childCount()):
                item.child(i).setFirstColumnSpanned(True)
        for c in range(0, 6):
            self.tree.resizeColumnToContents(c)
            self.tree.setColumnWidth(c, min(self.tree.columnWidth(c) + 16, 220))  # long texts elide (tooltip)

    def show_outputs(self, outputs: list[Any], declared: dict[str, Any]) -> None:
        """One row per output: its name, a task combo (first entry: what Shrinkwise inferred) and the reason."""
        from shrinkwise.compression.io_spec import OUTPUT_TASKS

        while self.outputs_grid.count():
            item = self.outputs_grid.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()
        self.task_combos = {}
        self.outputs_title.setVisible(bool(outputs))
        for row, q in enumerate(outputs):
            name = QLabel(f"<b>{html.escape(q.output)}</b>" + (" (headline)" if q.primary else ""))
            combo = QComboBox()
            combo.addItem("inferred" if q.declared else f"inferred: {q.task}", "")
            for task in OUTPUT_TASKS:
                combo.addItem(task, task)
            own = declared.get(q.output)
            combo.setCurrentIndex(max(0, combo.findData(own.task)) if own is not None and own.task else 0)
            combo.setToolTip("What this output is; its task chooses the quality number (Measure again after a change)")
            combo.currentIndexChanged.connect(
                lambda _i, c=combo, o=q.output: self.task_changed.emit(o, str(c.currentData() or ""))
            )
            reason = QLabel(q.reason)
            reason.setTextFormat(Qt.TextFormat.PlainText)  # names an output of the user's model: text, not markup
            reason.setWordWrap(True)
            self.outputs_grid.addWidget(name, row, 0)
            self.outputs_grid.addWidget(combo, row, 1)
            self.outputs_grid.addWidget(reason, row, 2)
            self.task_combos[q.output] = combo
        self.outputs_grid.setColumnStretch(2, 1)


class MeasurementsPanel(QWidget):
    """The baseline's measurements, each with where it came from."""

    measure_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(_title("The original model, measured here", 12))
        top.addStretch(1)
        self.measure_button = QPushButton("Measure Baseline")
        self.measure_button.clicked.connect(self.measure_requested)
        top.addWidget(self.measure_button)
        layout.addLayout(top)
        self.empty_label = QLabel("The original model has not been measured yet.")
        self.empty_label.setStyleSheet("color: gray;")
        layout.addWidget(self.empty_label)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Metric", "Value", "Source"])
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setAlternatingRowColors(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table, 1)

    def show_baseline(self, experiment: Any, has_model: bool) -> None:
        measurements = list(experiment.measurements) if experiment is not None else []
        self.empty_label.setVisible(not measurements)
        self.measure_button.setEnabled(has_model)
        self.measure_button.setText("Measure Again" if measurements else "Measure Baseline")
        self.table.setRowCount(len(measurements))
        for row, m in enumerate(measurements):
            value = QTableWidgetItem(fmt_number(m.value, m.unit))
            value.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            source = QTableWidgetItem(SOURCE_LABELS.get(m.source, m.source))
            if m.details:
                source.setToolTip(", ".join(f"{k}: {v}" for k, v in m.details.items()))
            metric = QTableWidgetItem(metric_label(m.metric))
            metric.setToolTip(m.metric)
            self.table.setItem(row, 0, metric)
            self.table.setItem(row, 1, value)
            self.table.setItem(row, 2, source)
        self.table.resizeColumnsToContents()
        for col in (0, 1):
            self.table.setColumnWidth(col, self.table.columnWidth(col) + 24)
