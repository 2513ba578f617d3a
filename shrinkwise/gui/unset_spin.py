"""A number box whose lowest value means "not set" (shown as words, Qt's special value text).

Why a class: while the box shows its words, a click into it left the cursor after them, so the digits a user typed
were refused and nothing seemed to happen. Focusing it now selects the words, and typing replaces them.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import QDoubleSpinBox


class UnsetSpinBox(QDoubleSpinBox):
    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        super().focusInEvent(event)
        if self.value() == self.minimum() and self.specialValueText():
            QTimer.singleShot(0, self.selectAll)  # after the click has placed the cursor
