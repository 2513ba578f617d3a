"""The window asks once before a state dict's architecture file runs; No leaves the project as it was."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from tests.gui.conftest import WAIT_MS, open_and_wait, wait_idle

torch = pytest.importorskip("torch")

ARCH = """
import torch

with open({marker!r}, "a") as fh:
    fh.write("ran\\n")


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x)
"""


def _drop(window: Any, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)


def test_the_architecture_file_runs_only_after_yes(
    qtbot: Any, window: Any, demo_project: Path, dialog_log: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "ran.txt"
    arch = tmp_path / "<b>net.py"  # markup in a file name must show as text
    arch.write_text(ARCH.format(marker=str(marker)))
    weights = tmp_path / "w.pth"
    torch.save({"fc.weight": torch.randn(3, 4), "fc.bias": torch.randn(3)}, weights)
    open_and_wait(qtbot, window, demo_project)
    before = demo_project.read_bytes()

    def fill(dialog: Any) -> None:
        dialog.architecture.setText(f"{arch}:Net")
        dialog.input_shape.setText("x:1,4")

    dialog_log.on_dialog = fill
    dialog_log.dialog_answer = 1
    dialog_log.answer = QMessageBox.StandardButton.No
    _drop(window, weights)
    wait_idle(qtbot, window)
    asked = [d for d in dialog_log.shown if d["title"] == "Run this architecture file?"]
    assert len(asked) == 1 and str(arch) in asked[0]["text"] and "Python code" in asked[0]["text"]
    assert not marker.exists() and demo_project.read_bytes() == before

    dialog_log.answer = QMessageBox.StandardButton.Yes
    _drop(window, weights)
    qtbot.waitUntil(lambda: window.session.project.model.format == "state_dict" and not window.busy, timeout=WAIT_MS)
    assert marker.read_text().splitlines() == ["ran"]
    model = window.session.project.model
    assert model.architecture_sha256 == hashlib.sha256(arch.read_bytes()).hexdigest()
    # Asked once: the same file again needs no second question.
    n = len(dialog_log.shown)
    _drop(window, weights)
    wait_idle(qtbot, window)
    assert not [d for d in dialog_log.shown[n:] if d["title"] == "Run this architecture file?"]
