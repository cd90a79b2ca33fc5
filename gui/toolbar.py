"""The window's toolbar: the source picker and the snapshot/record/view actions.

The source picker lists a few camera indices (probing cameras would open them, which is slow
and, on some systems, visibly switches a camera's light on), any video files used in this
session, and an entry that opens a file dialog.
"""

from __future__ import annotations

from PyQt6.QtCore import QSize, Qt, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QComboBox, QLabel, QSizePolicy, QToolBar, QWidget

from rtstyle.stream.spec import SourceSpec

CAMERAS_LISTED = 3
_OPEN_FILE = ""  # item data of the "Open a video file…" entry


class MainToolBar(QToolBar):
    """``sourceChosen(SourceSpec)`` when a listed source is picked, ``openFileRequested`` for the dialog."""

    sourceChosen = pyqtSignal(object)
    openFileRequested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Main", parent)
        self.setMovable(False)
        self.setIconSize(QSize(18, 18))
        self.addWidget(QLabel(" Source "))
        self.source = QComboBox()
        self.source.setMinimumWidth(220)
        self.source.setToolTip("Camera, or a video file played in a loop")
        for index in range(CAMERAS_LISTED):
            spec = SourceSpec(camera=index)
            self.source.addItem(spec.label, str(spec))
        self.source.insertSeparator(CAMERAS_LISTED)
        self.source.addItem("Open a video file…", _OPEN_FILE)
        self.source.activated.connect(self._on_activated)
        self.addWidget(self.source)
        self.addSeparator()
        self.snapshot = self._action("Snapshot", "S", "Save the stylized frame as a PNG")
        self.record = self._action("● Record", "R", "Record the stylized video (H.264, like convert)")
        self.record.setCheckable(True)
        record_button = self.widgetForAction(self.record)
        if record_button is not None:
            record_button.setObjectName("recordButton")
        self.virtual_camera = self._action("Virtual camera", None,
                                           "Send the stylized video to a virtual camera for call and streaming apps")
        self.virtual_camera.setCheckable(True)
        self.addSeparator()
        self.side_by_side = self._action("Side by side", "B", "Show the original beside the stylized frame")
        self.side_by_side.setCheckable(True)
        self.fullscreen = self._action("Fullscreen", "F11", "Video only, whole screen (Esc leaves)")
        self.fullscreen.setCheckable(True)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        self.folder = self._action("Output folder…", None, "Where snapshots and recordings are saved")

    def _action(self, text: str, shortcut: str | None, tip: str) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            tip = f"{tip} ({shortcut})"
        action.setToolTip(tip)
        self.addAction(action)
        return action

    def show_source(self, spec: SourceSpec) -> None:
        """Select ``spec`` in the picker, adding it (files) before the separator if needed."""
        self.source.blockSignals(True)
        index = self.source.findData(str(spec))
        if index < 0:
            index = self.source.count() - 2  # just before the separator and the "Open…" entry
            self.source.insertItem(index, spec.label, str(spec))
            self.source.setItemData(index, str(spec), Qt.ItemDataRole.ToolTipRole)
        self.source.setCurrentIndex(index)
        self.source.blockSignals(False)

    def _on_activated(self, index: int) -> None:
        data = self.source.itemData(index)
        if data == _OPEN_FILE:
            self.openFileRequested.emit()
        elif isinstance(data, str):
            self.sourceChosen.emit(SourceSpec.parse(data))
