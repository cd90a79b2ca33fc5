"""The style gallery: one card per style with its thumbnail, name and mix slider.

Several sliders may be up at once: the bank mixes styles inside the network (conditional instance
norm), so the slider values are the mix weights, normalised.  Each card shows its share of the
mix, so "60 / 40" reads as such whatever the raw slider positions are.  Clicking a thumbnail plays
that style alone, the quickest way to browse a bank.  Picture files dropped on the Styles group
become styles (an any-style bank paints any picture; see :mod:`rtstyle_gui.pictures`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QColor, QDragEnterEvent, QDropEvent, QMouseEvent, QPainter, QPixmap, QResizeEvent
from PyQt6.QtWidgets import QFrame, QGridLayout, QGroupBox, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

from rtstyle_gui.view import to_qimage

THUMB = 64


@dataclass(frozen=True)
class StyleCardInfo:
    name: str
    title: str
    thumbnail: np.ndarray | None  # uint8 [h,w,3]


class _Thumbnail(QLabel):
    clicked = pyqtSignal()

    def mousePressEvent(self, event: QMouseEvent | None) -> None:
        if event is not None and event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()


class _Title(QLabel):
    """A title cut short with "…" to the width the card gives it.

    A label asks for the width of its whole text, so one long title (a painting's file name)
    would make every card wider than the panel and push the sliders out of sight.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._full = text
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        super().resizeEvent(event)
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, self.width()))


def _pixmap(info: StyleCardInfo) -> QPixmap:
    if info.thumbnail is not None:
        image = to_qimage(np.ascontiguousarray(info.thumbnail)).copy()  # copy: outlive the array
        return QPixmap.fromImage(image).scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                                               Qt.TransformationMode.SmoothTransformation)
    pixmap = QPixmap(THUMB, THUMB)
    pixmap.fill(QColor(60, 60, 68))
    painter = QPainter(pixmap)
    painter.setPen(QColor(200, 200, 210))
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, info.title[:2].upper())
    painter.end()
    return pixmap


class StyleCard(QFrame):
    """Thumbnail, title, share of the mix and a 0-100 slider for one style."""

    def __init__(self, info: StyleCardInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info = info
        self.setObjectName("styleCard")
        self.thumbnail = _Thumbnail()
        self.thumbnail.setPixmap(_pixmap(info))
        self.thumbnail.setFixedSize(THUMB, THUMB)
        self.thumbnail.setCursor(Qt.CursorShape.PointingHandCursor)
        self.thumbnail.setToolTip(f"Show only {info.title}")
        self.title = _Title(info.title)
        self.title.setToolTip(f"{info.title} ({info.name})")
        self.title.setStyleSheet("font-weight: 600;")
        self.share = QLabel()
        self.share.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.share.setMinimumWidth(38)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setAccessibleName(f"{info.title} weight")
        layout = QGridLayout(self)
        layout.setContentsMargins(6, 6, 8, 6)
        layout.setHorizontalSpacing(10)
        layout.addWidget(self.thumbnail, 0, 0, 2, 1)
        layout.addWidget(self.title, 0, 1)
        layout.addWidget(self.share, 0, 2)
        layout.addWidget(self.slider, 1, 1, 1, 2)
        layout.setColumnStretch(1, 1)

    def set_selected(self, selected: bool) -> None:
        self.setProperty("selected", selected)
        style = self.style()  # re-polish: style sheets read dynamic properties only then
        if style is not None:
            style.unpolish(self)
            style.polish(self)


class StyleGallery(QWidget):
    """All cards of one bank; ``mixChanged`` fires whenever a slider moves."""

    mixChanged = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cards: list[StyleCard] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self._empty = QLabel("No style bank loaded")
        self._empty.setWordWrap(True)
        self._layout.addWidget(self._empty)
        self._layout.addStretch(1)

    @property
    def cards(self) -> list[StyleCard]:
        return list(self._cards)

    def set_styles(self, styles: Sequence[StyleCardInfo], values: Mapping[str, int]) -> None:
        """Show ``styles`` with slider positions from ``values`` (missing names: 0)."""
        for card in self._cards:
            self._layout.removeWidget(card)
            card.deleteLater()
        self._cards = []
        for index, info in enumerate(styles):
            card = StyleCard(info, self)
            card.slider.setValue(int(values.get(info.name, 0)))
            card.slider.valueChanged.connect(self._on_slider)
            card.thumbnail.clicked.connect(lambda name=info.name: self.solo(name))
            self._layout.insertWidget(index, card)
            self._cards.append(card)
        self._empty.setVisible(not self._cards)
        self._refresh()

    def values(self) -> dict[str, int]:
        """Slider positions by style name (what the settings store)."""
        return {card.info.name: card.slider.value() for card in self._cards}

    def weights(self) -> list[float]:
        """The mix as raw weights in bank order (may all be zero: no style)."""
        return [float(card.slider.value()) for card in self._cards]

    def set_values(self, values: Mapping[str, int]) -> None:
        for card in self._cards:
            card.slider.blockSignals(True)
            card.slider.setValue(int(values.get(card.info.name, 0)))
            card.slider.blockSignals(False)
        self._refresh()
        self.mixChanged.emit()

    def solo(self, name: str) -> None:
        """Only ``name`` at full weight."""
        self.set_values({name: 100})

    def _on_slider(self) -> None:
        self._refresh()
        self.mixChanged.emit()

    def _refresh(self) -> None:
        total = sum(card.slider.value() for card in self._cards)
        for card in self._cards:
            share = card.slider.value() / total if total else 0.0
            card.share.setText(f"{share:.0%}" if share else "—")
            card.set_selected(share > 0)


class StylesBox(QGroupBox):
    """The group around the gallery; files dropped anywhere on it arrive as ``filesDropped``.

    The whole group takes drops, not only the cards: it is what a user aims at, and the cards
    are greyed out (and so refuse drops) while regions are on.  Any drag with URLs is accepted,
    so that a file that is no picture gets a word in the status line instead of a silent "no".
    """

    filesDropped = pyqtSignal(object)  # list[Path]: the local files dropped (empty: none was)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.setAcceptDrops(True)

    def dragEnterEvent(self, event: QDragEnterEvent | None) -> None:
        mime = event.mimeData() if event is not None else None
        if event is not None and mime is not None and mime.hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent | None) -> None:
        mime = event.mimeData() if event is not None else None
        if event is None or mime is None:
            return
        event.acceptProposedAction()
        self.filesDropped.emit([Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()])
