"""The Start page: new, open, recent projects, or the demo; and, once a project is open, its name and notes."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from shrinkwise.gui import theme
from shrinkwise.gui.panels import ProjectPanel


class StartPage(QWidget):
    new_requested = Signal()
    open_requested = Signal()
    demo_requested = Signal()
    speech_demo_requested = Signal()
    recent_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        title = QLabel("Shrinkwise")
        title.setStyleSheet(theme.title_css(18))
        layout.addWidget(title)
        intro = QLabel(
            "Make a trained model fit your device — smaller, faster — and see what it costs in quality. "
            "Follow the steps on the left from top to bottom; you can go back to any step at any time. "
            "Drop a model file (.onnx, .pt, .pt2) anywhere on this window to start. Press F1 for help on any page."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.new_button = QPushButton("New Project…")
        self.open_button = QPushButton("Open Project…")
        self.demo_button = QPushButton("Try the Demo")
        self.demo_button.setToolTip("A small digits CNN with its data, to look around before using your own model")
        self.demo_button.setStyleSheet("font-weight: bold;")  # a newcomer's first click
        self.speech_demo_button = QPushButton("Try the Speech Demo")
        self.speech_demo_button.setToolTip(
            "A keyword spotter (conv + GRU on log-mel frames) for a wake word on a microcontroller, with synthetic "
            "clips as .wav files"
        )
        for b, sig in (
            (self.new_button, self.new_requested),
            (self.open_button, self.open_requested),
            (self.demo_button, self.demo_requested),
            (self.speech_demo_button, self.speech_demo_requested),
        ):
            b.setMinimumHeight(34)
            b.clicked.connect(sig)
            row.addWidget(b)
        row.addStretch(1)
        layout.addLayout(row)
        columns = QHBoxLayout()
        recent_box = QGroupBox("Recent projects")
        rl = QVBoxLayout(recent_box)
        self.recent = QListWidget()
        self.recent.setAcceptDrops(False)
        self.recent.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        # One click (or Enter) opens: where the platform also "activates" on that click, it is the same request.
        self.recent.itemClicked.connect(self._open_item)
        self.recent.itemActivated.connect(self._open_item)
        self._last_open: tuple[str, float] | None = None
        self.recent_hint = QLabel("Click a project to open it (or select it and press Enter).")
        self.recent_hint.setWordWrap(True)
        self.recent_hint.setStyleSheet(f"color: {theme.muted()}; font-size: 9pt;")
        rl.addWidget(self.recent_hint)
        rl.addWidget(self.recent)
        self.no_recent = QLabel("None yet.")
        self.no_recent.setStyleSheet(f"color: {theme.muted()};")
        rl.addWidget(self.no_recent)
        recent_box.setMaximumWidth(480)
        columns.addWidget(recent_box, 1)
        self.how_box = QGroupBox("How it works")
        hl = QVBoxLayout(self.how_box)
        from shrinkwise.gui.help_text import steps_html

        how = QLabel(steps_html())
        how.setWordWrap(True)
        how.setTextFormat(Qt.TextFormat.RichText)
        how.setAlignment(Qt.AlignmentFlag.AlignTop)
        hl.addWidget(how)
        columns.addWidget(self.how_box, 2)
        self.project_box = QGroupBox("This project")
        pl = QVBoxLayout(self.project_box)
        self.project_panel = ProjectPanel(show_title=False)
        pl.addWidget(self.project_panel)
        columns.addWidget(self.project_box, 2)
        layout.addLayout(columns, 1)

    def _open_item(self, item: QListWidgetItem) -> None:
        path = str(item.data(Qt.ItemDataRole.UserRole))
        now = time.monotonic()
        if self._last_open is not None and self._last_open[0] == path and now - self._last_open[1] < 1.0:
            return  # the click's own activation (or a double click): already asked for
        self._last_open = (path, now)
        self.recent_requested.emit(path)

    def set_recent(self, paths: list[Path]) -> None:
        self.recent.clear()
        for p in paths:
            item = QListWidgetItem(f"{p.name}\n{p.parent}")
            item.setData(Qt.ItemDataRole.UserRole, str(p))
            item.setToolTip(str(p))
            self.recent.addItem(item)
        self.no_recent.setVisible(not paths)
        self.recent.setVisible(bool(paths))
        self.recent_hint.setVisible(bool(paths))
