"""Message boxes and small dialogs. Every error reaches the user here: a one-line message, details on demand.

Modal boxes go through `exec_dialog`, one seam that tests replace so that nothing blocks offscreen.
"""

from __future__ import annotations

import html
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from shrinkwise.compression.errors import ShrinkwiseError


def exec_dialog(dialog: QDialog) -> int:
    """Show `dialog` modally and return its result (tests patch this)."""
    return dialog.exec()


def error_box(
    parent: QWidget | None, exc: BaseException, tb: str | None = None, title: str = "Shrinkwise"
) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)  # messages quote file names and labels: never markup
    if isinstance(exc, ShrinkwiseError):
        box.setIcon(QMessageBox.Icon.Warning)
        box.setText(str(exc))
        details = tb or ""
    else:
        box.setIcon(QMessageBox.Icon.Critical)
        box.setText(f"Something went wrong that Shrinkwise did not expect: {exc.__class__.__name__}: {exc}")
        box.setInformativeText("This is a bug. The details below help to report it.")
        details = tb or "".join(traceback.format_exception(exc))
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    return box


def show_error(parent: QWidget | None, exc: BaseException, tb: str | None = None) -> None:
    exec_dialog(error_box(parent, exc, tb))


def confirm(parent: QWidget | None, title: str, text: str) -> bool:
    """A Yes/No question whose safe answer (No) is the default."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    result = exec_dialog(box)
    return QMessageBox.StandardButton(getattr(result, "value", result)) == QMessageBox.StandardButton.Yes


def confirm_architecture(parent: QWidget | None, file: Path, sha256: str) -> bool:
    """The one place the window asks before a model's architecture file runs (it is Python code). Plain text:
    a file name must never be read as markup. No is the default."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Run this architecture file?")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(
        f"{file}\n\nThis file is Python code. Shrinkwise runs it to build the model: now, to export it, and later "
        "when pruning or distillation train it. Run it only if you trust where it came from."
    )
    box.setInformativeText(f"sha256 {sha256}\nYou are asked again if the file changes.")
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    result = exec_dialog(box)
    return QMessageBox.StandardButton(getattr(result, "value", result)) == QMessageBox.StandardButton.Yes


def ask_unsaved(parent: QWidget | None, name: str) -> QMessageBox.StandardButton:
    """Save / Discard / Cancel for a project with unsaved changes."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Unsaved changes")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(f"Save the changes to '{name}'?")
    box.setStandardButtons(
        QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel
    )
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    result = exec_dialog(box)
    return QMessageBox.StandardButton(getattr(result, "value", result))


@dataclass
class TorchModelAnswers:
    architecture: str | None
    input_shape: str | None


class TorchModelDialog(QDialog):
    """Ask what a PyTorch file does not record: its architecture (state dicts) and its input shape."""

    def __init__(self, parent: QWidget | None, file_name: str, needs_architecture: bool, needs_shape: bool) -> None:
        super().__init__(parent)
        self.setWindowTitle("About this PyTorch model")
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"<b>{file_name}</b> does not say everything Shrinkwise needs to run it. Please fill in what is missing."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.architecture = QLineEdit()
        self.architecture.setPlaceholderText("path/to/file.py:ClassName")
        self.architecture.setToolTip("The Python file and class that build the network whose weights this file holds")
        self.input_shape = QLineEdit()
        self.input_shape.setPlaceholderText("x:1,3,224,224")
        self.input_shape.setToolTip("Input name and shape; the first axis is the batch. Add ':int64' for token ids.")
        if needs_architecture:
            form.addRow("Architecture:", self.architecture)
        if needs_shape:
            form.addRow("Input shape:", self.input_shape)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.needs_architecture = needs_architecture
        self.needs_shape = needs_shape

    def answers(self) -> TorchModelAnswers:
        return TorchModelAnswers(
            architecture=self.architecture.text().strip() or None if self.needs_architecture else None,
            input_shape=self.input_shape.text().strip() or None if self.needs_shape else None,
        )


def ask_torch_details(
    parent: QWidget | None, file_name: str, needs_architecture: bool, needs_shape: bool
) -> TorchModelAnswers | None:
    dialog = TorchModelDialog(parent, file_name, needs_architecture, needs_shape)
    if getattr(result := exec_dialog(dialog), "value", result) != QDialog.DialogCode.Accepted.value:
        return None
    return dialog.answers()


def info_box(parent: QWidget | None, title: str, text: str, **_: Any) -> None:
    box = QMessageBox(parent)
    box.setWindowTitle(title)
    box.setText(text)
    exec_dialog(box)


def choose_open_path(parent: QWidget | None, title: str, file_filter: str, directory: str = "") -> str | None:
    from PySide6.QtWidgets import QFileDialog

    path, _ = QFileDialog.getOpenFileName(parent, title, directory, file_filter)
    return path or None


def choose_save_path(parent: QWidget | None, title: str, file_filter: str, directory: str = "") -> str | None:
    from PySide6.QtWidgets import QFileDialog

    path, _ = QFileDialog.getSaveFileName(parent, title, directory, file_filter)
    return path or None


def choose_folder(parent: QWidget | None, title: str, directory: str = "") -> str | None:
    from PySide6.QtWidgets import QFileDialog

    path = QFileDialog.getExistingDirectory(parent, title, directory)
    return path or None


DATA_ROLES = {
    "all": "Everything (Shrinkwise splits it: evaluation, calibration, training)",
    "evaluation": "Evaluation only (held out, for measuring quality)",
    "calibration": "Calibration only (a few hundred typical inputs)",
    "training": "Training / fine-tuning",
}


class DataRoleDialog(QDialog):
    def __init__(self, parent: QWidget | None, name: str) -> None:
        from PySide6.QtWidgets import QComboBox

        super().__init__(parent)
        self.setWindowTitle("What is this data for?")
        layout = QVBoxLayout(self)
        label = QLabel(f"How should Shrinkwise use <b>{html.escape(name)}</b>?")
        layout.addWidget(label)
        self.role = QComboBox()
        for key, text in DATA_ROLES.items():
            self.role.addItem(text, key)
        layout.addWidget(self.role)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


def ask_data_role(parent: QWidget | None, name: str) -> str | None:
    dialog = DataRoleDialog(parent, name)
    if getattr(result := exec_dialog(dialog), "value", result) != QDialog.DialogCode.Accepted.value:
        return None
    return str(dialog.role.currentData())


def ask_yes_no(parent: QWidget | None, title: str, text: str, informative: str = "") -> bool:
    """A Yes / No question (No is the default); True for Yes."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    if informative:
        box.setInformativeText(informative)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    result = exec_dialog(box)
    return QMessageBox.StandardButton(getattr(result, "value", result)) == QMessageBox.StandardButton.Yes


def show_details(parent: QWidget | None, title: str, text: str, details: str) -> None:
    """A warning with the full details behind 'Show Details…' (a failed run, for instance)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    if details:
        box.setDetailedText(details)
    exec_dialog(box)
