"""Pages that fit the window's page area instead of making it scroll.

The window shows the pages in a scroll area (`QScrollArea.setWidgetResizable`), which sizes its widget by the pages'
`heightForWidth` as soon as any page has a word-wrapped label. Qt answers that with the *preferred* height of the
page's layout, plots and tables included (over 1100 px for the Model page), so every page scrolled at 1024×700.
A page with splitters and stretching plots needs only its minimum height; the extra space is spread by its layout.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


class FitsPageArea(QWidget):
    """Base class of a page: ask for the minimum height at any width (the layout stretches into the rest)."""

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        return self.minimumSizeHint().height()
