"""The live video view: frames scaled to fit, aspect kept, on a dark background.

Painting a QImage directly (rather than a QLabel pixmap) lets the view scale to any window size
without re-creating pixmaps and draw original and stylized side by side in one pass.  The QImage
wraps the numpy buffer without copying; the array is kept referenced for as long as the image is.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent
from PyQt6.QtWidgets import QSizePolicy, QWidget

BACKGROUND = QColor(17, 17, 19)
_CAPTION = QColor(235, 235, 235)
_HINT = QColor(140, 140, 150)
_GAP = 6  # pixels between the two pictures side by side


def to_qimage(rgb: np.ndarray) -> QImage:
    """Wrap ``uint8 [H,W,3]`` RGB (C-contiguous) as a QImage sharing its memory."""
    height, width = rgb.shape[:2]
    # The stubs list only ``bytes``; sip takes any buffer, which spares a copy per frame.
    return QImage(rgb.data, width, height, rgb.strides[0], QImage.Format.Format_RGB888)  # type: ignore[call-overload]


def fit(frame: QSize, box: QRectF) -> QRectF:
    """The largest rectangle of ``frame``'s aspect ratio centred in ``box``."""
    if frame.isEmpty() or box.isEmpty():
        return QRectF()
    scale = min(box.width() / frame.width(), box.height() / frame.height())
    width, height = frame.width() * scale, frame.height() * scale
    return QRectF(box.x() + (box.width() - width) / 2, box.y() + (box.height() - height) / 2, width, height)


class VideoView(QWidget):
    """Shows the latest output (or original | output side by side), or a hint when idle."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._original: np.ndarray | None = None
        self._output: np.ndarray | None = None
        self._side_by_side = False
        self._hint = "No video yet — pick a source above"

    def sizeHint(self) -> QSize:
        return QSize(960, 540)

    @property
    def side_by_side(self) -> bool:
        return self._side_by_side

    def set_side_by_side(self, on: bool) -> None:
        self._side_by_side = on
        self.update()

    def set_hint(self, text: str) -> None:
        """Text shown while there is no picture (e.g. 'Opening camera 0…')."""
        self._hint = text
        if self._output is None:
            self.update()

    def clear(self, hint: str) -> None:
        self._original = self._output = None
        self.set_hint(hint)

    def show_frames(self, original: np.ndarray, output: np.ndarray) -> None:
        self._original, self._output = original, output
        self.update()

    @property
    def output(self) -> np.ndarray | None:
        """The stylized frame being shown (for snapshots)."""
        return self._output

    @property
    def original(self) -> np.ndarray | None:
        """The source frame the shown output was made from."""
        return self._original

    def paintEvent(self, event: QPaintEvent | None) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self._output is None or self._original is None:
            self._paint_hint(painter)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        original_box, output_box = self._boxes()
        if original_box is None:
            self._paint_frame(painter, self._output, output_box, None)
            return
        self._paint_frame(painter, self._original, original_box, "Original")
        self._paint_frame(painter, self._output, output_box, "Stylized")

    def output_size(self) -> tuple[int, int]:
        """(width, height) in screen pixels of the box the stylized picture is drawn in: no picture
        bigger than this can show more (``devicePixelRatio`` counted, for high-DPI screens)."""
        box = self._boxes()[1]
        ratio = self.devicePixelRatioF()
        return max(1, round(box.width() * ratio)), max(1, round(box.height() * ratio))

    def _boxes(self) -> tuple[QRectF | None, QRectF]:
        """Where the original (None unless side by side) and the stylized picture go."""
        area = QRectF(self.rect())
        if not self._side_by_side:
            return None, area
        half = (area.width() - _GAP) / 2
        return (QRectF(area.x(), area.y(), half, area.height()),
                QRectF(area.x() + half + _GAP, area.y(), half, area.height()))

    def _paint_frame(self, painter: QPainter, rgb: np.ndarray, box: QRectF, caption: str | None) -> None:
        image = to_qimage(rgb)
        target = fit(image.size(), box)
        painter.drawImage(target, image)
        if caption:
            font = QFont(painter.font())
            font.setBold(True)
            painter.setFont(font)
            label = target.adjusted(10, 8, -10, -8)
            painter.setPen(QColor(0, 0, 0, 160))
            painter.drawText(label.translated(1, 1), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, caption)
            painter.setPen(_CAPTION)
            painter.drawText(label, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, caption)

    def _paint_hint(self, painter: QPainter) -> None:
        font = QFont(painter.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        painter.setFont(font)
        painter.setPen(_HINT)
        painter.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._hint)
