"""``rtstyle gui --screenshot PATH``: grab the running window to a PNG, then quit.

Meant for checking the layout (and for documentation) on machines without a display: with
``QT_QPA_PLATFORM=offscreen`` Qt renders the whole window into memory and ``QWidget.grab`` reads
it back.  The grab waits for a number of stylized frames so the picture shows the window as a
user sees it (video running, readout filled in), or for a timeout, so that a window stuck on a
fault is captured with its banner instead of hanging.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QObject, QTimer
from PyQt6.QtGui import QImage

from rtstyle.errors import RtStyleError
from rtstyle.video.images import write_image
from rtstyle_gui.window import MainWindow

log = logging.getLogger(__name__)


def grab_rgb(window: MainWindow) -> np.ndarray:
    """The window's current rendering as ``uint8 [H,W,3]`` RGB."""
    image = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    height, width, stride = image.height(), image.width(), image.bytesPerLine()
    bits = image.constBits()
    bits.setsize(height * stride)
    rows = np.frombuffer(bits, np.uint8).reshape(height, stride)
    # A copy: the array must not outlive the QImage's memory, which goes with ``image``.
    return rows[:, : width * 3].reshape(height, width, 3).copy()


class ScreenshotTaker(QObject):
    """Saves ``path`` after ``frames`` stylized frames (or ``timeout_s``) and closes the window."""

    def __init__(self, window: MainWindow, path: Path, *, frames: int = 24, timeout_s: float = 60.0) -> None:
        super().__init__(window)
        self._window = window
        self._path = path
        self._frames_left = frames
        self.saved = False
        self.error: str | None = None
        window.frameShown.connect(self._on_frame)
        QTimer.singleShot(round(timeout_s * 1000), self.take)

    def _on_frame(self, _latency: float, _infer: float, stylized: bool) -> None:
        if stylized:
            self._frames_left -= 1
            if self._frames_left == 0:
                # Let the readout refresh with the latest figures before the grab.
                QTimer.singleShot(300, self.take)

    def take(self) -> None:
        if self.saved or self.error:
            return
        try:
            write_image(self._path, grab_rgb(self._window), overwrite=True)
            self.saved = True
            log.info("screenshot saved to %s", self._path)
        except RtStyleError as exc:
            self.error = str(exc)
        self._window.close()
