"""Colours that follow the palette, so pages stay readable in dark mode and on high-DPI screens.

Fixed colours are used only where their meaning matters (good / warning / bad); everything else asks the palette.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def _palette() -> QPalette:
    app = QApplication.instance()
    return app.palette() if app is not None else QPalette()  # type: ignore[union-attr]


def is_dark() -> bool:
    return _palette().color(QPalette.ColorRole.Window).lightness() < 128


def muted() -> str:
    """Secondary text: readable on light and dark windows."""
    return "#a0a0a0" if is_dark() else "#5f6368"


def text() -> str:
    return _palette().color(QPalette.ColorRole.WindowText).name()


def plot_background() -> str:
    return _palette().color(QPalette.ColorRole.Base).name()


def plot_foreground() -> str:
    return _palette().color(QPalette.ColorRole.Text).name()


def card_background() -> str:
    base = _palette().color(QPalette.ColorRole.Base)
    return base.lighter(115).name() if is_dark() else base.name()


def card_border() -> str:
    return "#555" if is_dark() else "#d0d4d9"


SEVERITY_COLORS = {  # (light, dark)
    "good": ("#1b7f3b", "#6fd08c"),
    "info": ("#1f5f9f", "#8ab8f0"),
    "low": ("#5f6368", "#a0a0a0"),
    "medium": ("#8a5a00", "#f0c060"),
    "high": ("#b00020", "#ff7b8a"),
    "critical": ("#b00020", "#ff7b8a"),
    "warning": ("#8a5a00", "#f0c060"),
    "error": ("#b00020", "#ff7b8a"),
}


def severity(name: str) -> str:
    light, dark = SEVERITY_COLORS.get(name, SEVERITY_COLORS["info"])
    return dark if is_dark() else light


def qcolor(name: str) -> QColor:
    return QColor(severity(name))


def title_css(size: int = 14) -> str:
    return f"font-size: {size}pt; font-weight: bold;"
