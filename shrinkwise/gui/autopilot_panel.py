"""The Advice page's autopilot: one button that climbs the ladder for the user, and the climb as a timeline.

Why a panel of its own: the climb runs for minutes, rung after rung, and a newcomer must see why each rung ran,
what it measured and why the next one was (not) needed while it happens — not only a final answer. The climb
itself is `workspace.autopilot.Autopilot`, run on a pool thread (`AutopilotJob`); its events cross to the UI
thread through a Qt signal, so the window stays responsive and never runs a compression step itself.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from shrinkwise.gui import theme
from shrinkwise.gui.workers import run_in_background

BUTTON_TEXT = "Find the Smallest Candidate That Meets My Budget"
TIMELINE_MAX_HEIGHT = 200  # px: about three rungs; the rest scrolls
STATUS_COLOUR = {"met": "good", "provisional": "medium", "not_met": "high", "time_up": "high", "failed": "high"}


class _Bridge(QObject):
    """Created on the UI thread: signals emitted from the pool thread are delivered here, on the UI thread."""

    event = Signal(object)


class AutopilotJob(QObject):
    """One climb off the UI thread. `finished(journal)` or `failed(exception, traceback)` ends it."""

    event = Signal(object)  # workspace.autopilot.AutopilotEvent
    finished = Signal(object)  # Journal
    failed = Signal(object, str)

    def __init__(self, session: Any, time_budget_s: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from shrinkwise.workspace.autopilot import Autopilot

        self._bridge = _Bridge(self)
        self._bridge.event.connect(self.event)
        self.pilot = Autopilot(session, time_budget_s, on_event=self._bridge.event.emit)

    def start(self) -> None:
        run_in_background(self.pilot.run, on_done=self.finished.emit, on_error=self.failed.emit)

    def cancel(self) -> None:
        self.pilot.cancel()


def rung_html(rung: Any, show_next: bool = True) -> str:
    """One timeline entry: number, title and status; figures; verdict; why; what came next."""
    bits = rung.figures.phrases()
    head = f"{rung.index}." if rung.action != "skip" else "–"
    status = "measured" if rung.status_word == "finished" else rung.status_word
    lines = [f"<b>{head} {html.escape(rung.title)}</b> <span style='color:{theme.muted()}'>({status})</span>"]
    if bits:
        lines.append(html.escape(", ".join(bits)))
    verdict = rung.verdict or rung.error or ""
    if verdict:
        colour = theme.severity("good" if verdict.startswith("Meets every") else "medium")
        lines.append(f"<span style='color:{colour}'>{html.escape(verdict)}</span>")
    lines += [f"<span style='color:{theme.muted()}'>{html.escape(n)}</span>" for n in rung.notes]
    if rung.why:
        lines.append(f"<span style='color:{theme.muted()}'>Why: {html.escape(rung.why)}</span>")
    if rung.next and show_next:
        lines.append(f"<i>{html.escape(rung.next)}</i>")
    return "<br>".join(lines)


class AutopilotPanel(QWidget):
    """The button, the time budget, progress ("rung k of at most n") and the timeline of the newest climb."""

    start_requested = Signal(float)  # the time budget, seconds
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.button = QPushButton(BUTTON_TEXT)
        self.button.setToolTip(
            "Runs the plan's least invasive step, measures it, re-advises on what was measured and climbs\n"
            "(per-channel scales, keeping sensitive layers in float, 4-bit embeddings, pruning with training\n"
            "data) until a candidate meets every budget or the time budget is spent. Every rung is a normal\n"
            "run: it shows on Compare, survives a crash, and the autopilot resumes where it stopped."
        )
        self.button.setStyleSheet("font-weight: bold; padding: 4px 10px;")
        self.button.clicked.connect(lambda: self.start_requested.emit(self.minutes.value() * 60.0))
        row.addWidget(self.button)
        row.addWidget(QLabel("within"))
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0.5, 240.0)
        self.minutes.setDecimals(1)
        self.minutes.setValue(10.0)
        self.minutes.setSuffix(" min")
        self.minutes.setToolTip("The time budget for the whole climb; it stops with the best candidate so far")
        row.addWidget(self.minutes)
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        outer.addLayout(row)
        self.progress_label = QLabel()
        self.progress_label.setWordWrap(True)
        self.progress_label.setTextFormat(Qt.TextFormat.PlainText)  # titles come from the project
        outer.addWidget(self.progress_label)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setVisible(False)
        outer.addWidget(self.bar)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        outer.addWidget(self.summary)
        # The climb in its own bounded, scrolling box: a long climb must not push the plan off a small screen.
        self.timeline_box = QScrollArea()
        self.timeline_box.setWidgetResizable(True)
        self.timeline_box.setFrameShape(QScrollArea.Shape.NoFrame)
        self.timeline_box.setMaximumHeight(TIMELINE_MAX_HEIGHT)
        self.timeline_box.setVisible(False)
        inner = QWidget()
        self.timeline = QVBoxLayout(inner)
        self.timeline.setContentsMargins(0, 0, 0, 0)
        self.timeline.setSpacing(6)
        self.timeline.addStretch(1)
        self.timeline_box.setWidget(inner)
        outer.addWidget(self.timeline_box)
        self.running = False

    # --- state ---------------------------------------------------------------------------------------------

    def set_running(self, running: bool) -> None:
        self.running = running
        self.button.setEnabled(not running)
        self.minutes.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.bar.setVisible(running)
        if running:
            self.bar.setValue(0)
            self.progress_label.setText("Starting: measuring the original and reading the plan…")
        else:
            self.progress_label.clear()

    def show_event(self, ev: Any) -> None:
        """An `AutopilotEvent` from the climb: progress of the current rung, or the timeline grew."""
        if ev.kind == "run_event":
            fraction = getattr(ev.event, "fraction", None)
            if fraction is not None:
                self.bar.setValue(int(float(fraction) * 1000))
            return
        if ev.kind == "rung_started" and ev.rung is not None:
            self.progress_label.setText(f"Rung {ev.index} of at most {ev.max_rungs}: {ev.rung.title}")
            self.bar.setValue(0)
        self.show_journal(ev.journal)

    def show_journal(self, journal: Any | None) -> None:
        while self.timeline.count() > 1:  # the trailing stretch stays
            item = self.timeline.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()  # type: ignore[union-attr]
        self.timeline_box.setVisible(bool(journal is not None and journal.rungs))
        if journal is None:
            self.summary.clear()
            return
        if journal.status != "running":
            colour = theme.severity(STATUS_COLOUR.get(journal.status, "info"))
            final = f" Candidate: <b>{html.escape(journal.final_label or journal.final)}</b>." if journal.final else ""
            none = " No rung was needed: the candidates already measured decide it." if not journal.rungs else ""
            self.summary.setText(
                f"<span style='color:{colour}'><b>The autopilot {html.escape(journal.status_text)}.</b></span>{final} "
                f"{html.escape(journal.stopped_because)}{none}"
            )
        else:
            self.summary.setText("<b>The autopilot is climbing…</b>")
        for i, rung in enumerate(journal.rungs):
            last = i == len(journal.rungs) - 1 and journal.status != "running"
            label = QLabel(rung_html(rung, show_next=not last))  # the last rung's "next" is the summary above
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setStyleSheet(f"border-left: 3px solid {theme.severity('info')}; padding: 2px 8px;")
            self.timeline.insertWidget(self.timeline.count() - 1, label)
        bar = self.timeline_box.verticalScrollBar()
        bar.setValue(bar.maximum())  # the newest rung in view

    def timeline_texts(self) -> list[str]:
        """The timeline's entries as plain text (what a test or a screen reader reads)."""
        out = []
        for i in range(self.timeline.count()):
            item = self.timeline.itemAt(i)
            w = item.widget() if item is not None else None
            if isinstance(w, QLabel):
                from PySide6.QtGui import QTextDocument

                doc = QTextDocument()
                doc.setHtml(w.text())
                out.append(doc.toPlainText())
        return out
