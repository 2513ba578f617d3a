"""The Export page: the chosen model (ONNX + model card), the report (HTML / PDF) and the on-device benchmark bundle.

Each action runs off the UI thread through the window's `run_job`; the page only says what will be written.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from shrinkwise.gui import theme
from shrinkwise.gui.formatting import fmt_bytes, fmt_ms
from shrinkwise.gui.help_text import explains


def _hidden(path: Path) -> bool:
    """Inside an application data folder or a dot-folder: a place people do not browse to."""
    import platformdirs

    path = path.resolve()
    for base in (platformdirs.user_data_dir(), platformdirs.user_cache_dir(), platformdirs.user_config_dir()):
        if path.is_relative_to(Path(base).resolve()):
            return True
    home = Path.home().resolve()
    rel = path.relative_to(home).parts if path.is_relative_to(home) else path.parts
    return any(part.startswith(".") and part not in (".", "..") for part in rel)


def export_folder(project_file: Path) -> Path:
    """Where exports go unless you choose another folder: beside the project, in `<name>-export`; for a project
    kept in a hidden application folder (the demo), in Documents/Shrinkwise/<name>-export instead."""
    import platformdirs

    stem = project_file.name.split(".")[0]
    if _hidden(project_file.parent):
        return Path(platformdirs.user_documents_dir()) / "Shrinkwise" / f"{stem}-export"
    return project_file.parent / f"{stem}-export"


class ExportPage(QWidget):
    export_model_requested = Signal()
    report_requested = Signal(str)  # "html" | "pdf"
    bundle_requested = Signal()
    import_requested = Signal()
    compare_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        title = QLabel("Export")
        title.setStyleSheet(theme.title_css())
        layout.addWidget(title)
        self.chosen_label = QLabel()
        self.chosen_label.setWordWrap(True)
        self.chosen_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.chosen_label)
        self.decision_label = QLabel()
        self.decision_label.setWordWrap(True)
        self.decision_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.decision_label)
        self.decision: Any = None
        self.project: Any = None
        self.pick_button = QPushButton("← Pick a Candidate on the Compare Page")
        self.pick_button.clicked.connect(self.compare_requested)
        layout.addWidget(self.pick_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.project_file: Path | None = None
        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("<b>Export folder:</b>"))
        self.folder_label = QLabel()
        self.folder_label.setTextFormat(Qt.TextFormat.PlainText)  # a path is text, never markup
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_label.setWordWrap(True)
        self.folder_label.setToolTip("Every export is offered here first; the file dialogs let you pick another")
        folder_row.addWidget(self.folder_label, 1)
        self.open_folder_button = QPushButton("Open Folder")
        self.open_folder_button.setToolTip("Show the export folder in your file manager")
        self.open_folder_button.clicked.connect(self.open_folder)
        folder_row.addWidget(self.open_folder_button)
        layout.addLayout(folder_row)

        def group(name: str, text: str, button: QPushButton, *more: QPushButton) -> QGroupBox:
            box = QGroupBox(name)
            v = QVBoxLayout(box)
            lab = QLabel(text)
            lab.setWordWrap(True)
            v.addWidget(lab)
            row = QHBoxLayout()
            row.addWidget(button)
            for b in more:
                row.addWidget(b)
            row.addStretch(1)
            v.addLayout(row)
            return box

        self.model_button = QPushButton("Export the Model…")
        self.model_button.clicked.connect(self.export_model_requested)
        layout.addWidget(
            group(
                "The model",
                "The chosen model as an ONNX file, with model_card.json: what was done, what was "
                "measured and where, and the hashes that tie it to the original model and data.",
                self.model_button,
            )
        )
        self.html_button = QPushButton("Write HTML Report…")
        self.html_button.clicked.connect(lambda: self.report_requested.emit("html"))
        self.pdf_button = QPushButton("Write PDF Report…")
        self.pdf_button.clicked.connect(lambda: self.report_requested.emit("pdf"))
        layout.addWidget(
            group(
                "The report",
                "Why this candidate was chosen, every candidate's numbers with where they were "
                "measured, the budget checks, the changed answers and the advisor's plan with its sources.",
                self.html_button,
                self.pdf_button,
            )
        )
        self.bundle_button = QPushButton("Make the Benchmark Bundle…")
        self.bundle_button.clicked.connect(self.bundle_requested)
        self.import_button = QPushButton("Import Device Results…")
        self.import_button.setToolTip("Read the bundle's results.json: the latencies become 'measured on the device'")
        self.import_button.clicked.connect(self.import_requested)
        layout.addWidget(
            group(
                "On-device benchmark",
                "A folder to copy to the device: it runs the chosen model (and the original) "
                "there and writes results.json, which you import back so the numbers say “measured on the device”.",
                self.bundle_button,
                self.import_button,
            )
        )
        layout.addWidget(QLabel("<b>Written so far</b>"))
        self.outputs = QLabel(f"<span style='color:{theme.muted()}'>Nothing yet.</span>")
        self.outputs.setWordWrap(True)
        self.outputs.setTextFormat(Qt.TextFormat.RichText)
        self.outputs.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.outputs)
        layout.addStretch(1)
        self.written: list[tuple[str, str]] = []
        self.set_project_file(None)
        self.show_project(None)

    def show_decision(self, decision: Any) -> None:
        """The advisor's one recommendation (`Advice.decision`), the same Compare and the report show."""
        self.decision = decision
        self.show_project(self.project)

    def _decision_text(self, chosen: str | None) -> str:
        d = self.decision
        if d is None:
            return ""
        text = f"<b>The advisor's recommendation:</b> {html.escape(d.paragraph)}"
        misses = d.misses_budget(chosen) if chosen else []
        if chosen and d.candidate and chosen != d.candidate and not misses:
            text += (
                f"<br><b>You chose another candidate than the recommended {html.escape(d.label or d.candidate)}.</b>"
            )
        if misses:
            text += (
                f"<br><span style='color:{theme.severity('high')}'><b>The chosen candidate misses the budget:</b> "
                f"{html.escape('; '.join(misses))}.</span>"
            )
        return text

    @explains
    def show_project(self, project: Any) -> None:
        self.project = project
        exp = None
        if project is not None and project.chosen:
            try:
                exp = project.experiment(project.chosen)
            except KeyError:
                exp = None
        has = exp is not None
        self.model_button.setEnabled(has)
        self.html_button.setEnabled(project is not None)
        self.pdf_button.setEnabled(project is not None)
        self.bundle_button.setEnabled(has)
        self.import_button.setEnabled(project is not None)
        self.pick_button.setVisible(not has)
        if project is None:
            self.chosen_label.setText("Open a project first.")
        elif exp is None:
            self.chosen_label.setText(
                "No candidate is chosen yet. Compare the candidates and press “Ship This Candidate”. "
                "The report can be written at any time."
            )
        else:
            size = exp.measurement("size_bytes")
            acc = exp.measurement("accuracy")
            lat = exp.measurement("latency_ms_median")
            where = {"host": "on this computer", "device": "on the device", "estimate": "(estimate)"}
            facts = [
                f"size {fmt_bytes(size.value)}" if size else None,
                f"accuracy {acc.value * 100:.2f} %" if acc else None,
                f"latency {fmt_ms(lat.value)} {where[lat.source]}" if lat else None,
            ]
            recipe = " → ".join(s.technique for s in exp.recipe) or "the original, unchanged"
            how = f" ({html.escape(recipe)})" if recipe != (exp.label or exp.id) else ""
            self.chosen_label.setText(
                f"Chosen: <b>{html.escape(exp.label or exp.id)}</b>{how}: " + ", ".join(f for f in facts if f) + "."
            )
        self.decision_label.setText(self._decision_text(project.chosen if project is not None else None))
        self.decision_label.setVisible(self.decision is not None and project is not None)

    def set_project_file(self, path: Path | str | None) -> None:
        """The project's file: the export folder is derived from it (see `export_folder`)."""
        self.project_file = Path(path) if path else None
        folder = self.folder()
        self.folder_label.setText(str(folder) if folder is not None else "–")
        self.open_folder_button.setEnabled(folder is not None)

    def folder(self) -> Path | None:
        return export_folder(self.project_file) if self.project_file is not None else None

    def folder_for_exports(self) -> Path | None:
        """The export folder, made if missing (the file dialogs open there)."""
        folder = self.folder()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        return folder

    def open_folder(self) -> None:
        folder = self.folder_for_exports()
        if folder is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def add_output(self, what: str, path: str) -> None:
        self.written.append((what, path))
        self.outputs.setText("<br>".join(f"{html.escape(w)}: <code>{html.escape(p)}</code>" for w, p in self.written))
