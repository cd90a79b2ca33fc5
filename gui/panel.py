"""The side panel: model choices, the style gallery, regional styles and the look controls.

Only widgets and their layout live here; the window connects them to the pipeline.  Combo boxes
carry their machine value as item data (a bank path, a device name, a scale), so labels can be
friendly without the window parsing them back.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QKeySequence
from PyQt6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea,
    QSlider, QToolButton, QVBoxLayout, QWidget,
)

from rtstyle.catalog import BankEntry
from rtstyle_gui.devices import Choice
from rtstyle_gui.gallery import StyleGallery, StylesBox
from rtstyle_gui.options import AUTO_SCALE, Scale
from rtstyle_gui.regions_panel import RegionsBox

#: Fixed working resolutions offered, as fractions of the frame: what ``--scale F`` sets.
SCALES = ((1.0, "Full"), (0.75, "¾"), (0.5, "½ (≈4× faster)"), (0.25, "¼ (≈16× faster)"))
#: The first Resolution entry (``--scale auto``): the stylizer picks the resolution that keeps up.
AUTO_SCALE_LABEL = "Auto (camera rate)"
SCALE_TIP = ("Working resolution: the network runs at this fraction of the frame size.  Auto lowers it while the "
             "model cannot keep up with the source's frame rate and raises it again when it can")
PANEL_WIDTH = 340
MIX_HINT = ("Raise several sliders to mix styles; click a picture to use it alone; drop a painting here "
            "to paint like it.")
REGIONS_HINT = "Regions are on: each region takes the style chosen under Regions, so the mix sliders rest."
FUSION_TIP = "Run the bank's fusion network F: steadier video, the detail a lower resolution loses, soft region seams"
NO_FUSION_TIP = "this style bank has no fusion network"
ADD_PAINTING_SHORTCUT = "P"
ADD_PAINTING_TIP = (f"Paint in the style of any picture: choose image files, or drop them on Styles "
                    f"({ADD_PAINTING_SHORTCUT}).  They are kept for next time.")


def select_data(combo: QComboBox, value: object) -> bool:
    """Select the item whose data equals ``value``; False if there is none."""
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)
    return index >= 0


class ControlPanel(QScrollArea):
    """Model group (bank, backend, resolution, load progress), styles, regions, and look.

    The groups scroll as a whole when the window is shorter than they are (a region layout with
    many regions is tall), so the panel never sets a minimum height on the window.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedWidth(PANEL_WIDTH)
        self.setWidgetResizable(True)  # taller windows give the extra height to the style gallery
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        content = QWidget()
        self.setWidget(content)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(10)
        layout.addWidget(self._model_group())
        layout.addWidget(self._styles_group(), 1)
        self.regions = RegionsBox()
        self.regions.changed.connect(self._on_regions_changed)
        layout.addWidget(self.regions)
        layout.addWidget(self._look_group())

    def _model_group(self) -> QGroupBox:
        group = QGroupBox("Model")
        form = QFormLayout(group)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.bank = QComboBox()
        self.bank.setToolTip("Style bank: one network holding several styles (fast = CPU real time)")
        self.open_bank = QToolButton()
        self.open_bank.setText("…")
        self.open_bank.setToolTip("Open a style bank file (.safetensors)")
        bank_row = QHBoxLayout()
        bank_row.addWidget(self.bank, 1)
        bank_row.addWidget(self.open_bank)
        form.addRow("Style bank", bank_row)
        self.backend = QComboBox()
        self.backend.setToolTip("Inference engine; ONNX Runtime and TensorRT are prepared on first use (cached)")
        form.addRow("Backend", self.backend)
        self.device = QComboBox()
        self.device.setToolTip("Where the network runs")
        form.addRow("Device", self.device)
        self.scale = QComboBox()
        self.scale.setToolTip(SCALE_TIP)
        self.scale.addItem(AUTO_SCALE_LABEL, AUTO_SCALE)
        for value, label in SCALES:
            self.scale.addItem(label, value)
        form.addRow("Resolution", self.scale)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.hide()
        form.addRow(self.progress)
        return group

    def show_progress(self, percent: int, text: str) -> None:
        """A loading stage; a negative ``percent`` is a stage of unknown length (busy bar)."""
        self.progress.setRange(0, 0 if percent < 0 else 100)
        if percent >= 0:
            self.progress.setValue(percent)
        self.progress.setFormat(text)
        self.progress.show()

    def _styles_group(self) -> StylesBox:
        group = self.styles_box = StylesBox("Styles")
        layout = QVBoxLayout(group)
        layout.setContentsMargins(6, 6, 6, 6)
        self.styles_hint = QLabel(MIX_HINT)
        self.styles_hint.setWordWrap(True)
        self.styles_hint.setObjectName("hint")
        layout.addWidget(self.styles_hint)
        self.gallery = StyleGallery()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.gallery)
        layout.addWidget(scroll, 1)
        self._gallery_scroll = scroll
        self._revealed: str | None = None  # the card to keep in view while the gallery grows
        bar = scroll.verticalScrollBar()
        assert bar is not None
        bar.rangeChanged.connect(lambda _low, _high: self._reveal())
        bar.actionTriggered.connect(self._on_user_scrolled)
        self.add_painting = QPushButton("Add painting…")
        self.add_painting.setToolTip(ADD_PAINTING_TIP)
        self.add_painting.setShortcut(QKeySequence(ADD_PAINTING_SHORTCUT))
        layout.addWidget(self.add_painting)
        return group

    def reveal_style(self, name: str) -> None:
        """Scroll the gallery to the card of ``name`` (a painting just added is last, often out of view).

        New cards take their place over several rounds of the event loop (the gallery grows, then
        the scroll range), so the card is brought into view whenever the range changes, until
        the user scrolls.  If the range does not change, every card is in view already.
        """
        self._revealed = name

    def _reveal(self) -> None:
        for card in self.gallery.cards:
            if card.info.name == self._revealed:
                self._gallery_scroll.ensureWidgetVisible(card)

    def _on_user_scrolled(self, _action: int) -> None:
        self._revealed = None  # the view stays where the user puts it

    def _look_group(self) -> QGroupBox:
        group = QGroupBox("Look")
        form = QFormLayout(group)
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(0, 100)
        self.strength.setToolTip("0% shows the original, 100% the full style")
        self.strength_value = QLabel()
        self.strength_value.setMinimumWidth(38)
        self.strength_value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.strength.valueChanged.connect(lambda v: self.strength_value.setText(f"{v}%"))
        row = QHBoxLayout()
        row.addWidget(self.strength, 1)
        row.addWidget(self.strength_value)
        form.addRow("Strength", row)
        self.keep_colors = QCheckBox("Keep the original colours")
        self.keep_colors.setToolTip("Take only brightness and texture from the style")
        form.addRow(self.keep_colors)
        self.fusion = QCheckBox("Fusion (F)")
        self.fusion.setToolTip(FUSION_TIP)
        form.addRow(self.fusion)
        return group

    def set_fusion_available(self, available: bool) -> None:
        """Enable the fusion switch for a bank with F; without, say why it is off (the choice stays)."""
        self.fusion.setEnabled(available)
        self.fusion.setToolTip(FUSION_TIP if available else NO_FUSION_TIP)

    def _on_regions_changed(self) -> None:
        """With a region layout the mix sliders have no effect: grey them out and say why."""
        regional = self.regions.layout_name() is not None
        self.gallery.setEnabled(not regional)
        self.styles_hint.setText(REGIONS_HINT if regional else MIX_HINT)

    # -- filling the pickers -------------------------------------------------------------------

    def set_banks(self, entries: list[BankEntry], extra: list[Path]) -> None:
        """List installed banks (unreadable ones disabled, with the reason) plus opened files."""
        self.bank.blockSignals(True)
        self.bank.clear()
        model = self.bank.model()
        for entry in entries:
            detail = entry.preset or "custom" if not entry.error else "unreadable"
            self.bank.addItem(f"{entry.name} ({detail})", str(entry.path))
            index = self.bank.count() - 1
            tip = entry.error or f"{len(entry.styles)} styles: {', '.join(entry.styles)}\n{entry.path}"
            self.bank.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
            if entry.error:
                model.item(index).setEnabled(False)  # type: ignore[union-attr]
        for path in extra:
            if self.bank.findData(str(path)) < 0:
                self.bank.addItem(path.name, str(path))
        self.bank.setCurrentIndex(-1)
        self.bank.blockSignals(False)

    @staticmethod
    def fill(combo: QComboBox, choices: list[Choice], selected: str) -> None:
        """List ``choices`` and select ``selected`` (added as-is if it is not among them)."""
        combo.blockSignals(True)
        combo.clear()
        for choice in choices:
            combo.addItem(choice.label, choice.value)
        if not select_data(combo, selected):
            combo.addItem(selected, selected)
            combo.setCurrentIndex(combo.count() - 1)
        combo.blockSignals(False)

    def set_scale(self, value: Scale) -> None:
        """Select ``value`` (auto or a fraction), adding a fraction that is no preset as a custom entry."""
        self.scale.blockSignals(True)
        if not select_data(self.scale, value):
            self.scale.addItem(f"×{value:g}", value)
            self.scale.setCurrentIndex(self.scale.count() - 1)
        self.scale.blockSignals(False)

    def scale_choice(self) -> Scale:
        """The Resolution entry chosen: auto, or a fixed fraction of the frame size."""
        value = self.scale.currentData()
        return AUTO_SCALE if value == AUTO_SCALE else float(value)
