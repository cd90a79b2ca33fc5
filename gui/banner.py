"""An in-window banner for faults: what happened, and buttons for the ways on.

A modal dialog would block the live view and pile up if a camera keeps failing; a banner above
the video says the same thing, leaves everything usable, and is replaced by the next fault.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from rtstyle_gui.faults import Fault, Remedy


class FaultBanner(QFrame):
    """Hidden until ``show_fault``; ``remedyChosen`` carries the button's :class:`Remedy`."""

    remedyChosen = pyqtSignal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("faultBanner")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._buttons: list[QPushButton] = []
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(12, 8, 8, 8)
        self._layout.addWidget(self.message, 1)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        self._layout.addWidget(close)
        self.hide()

    def show_fault(self, fault: Fault) -> None:
        self.message.setText(fault.message)
        for button in self._buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self._buttons = []
        for index, remedy in enumerate(fault.remedies):
            button = QPushButton(remedy.value)
            button.clicked.connect(lambda _=False, r=remedy: self._choose(r))
            self._layout.insertWidget(1 + index, button)
            self._buttons.append(button)
        self.show()

    def remedies(self) -> list[Remedy]:
        """The ways on currently offered (what the buttons say)."""
        return [Remedy(button.text()) for button in self._buttons]

    def _choose(self, remedy: Remedy) -> None:
        self.hide()
        self.remedyChosen.emit(remedy)
