"""The Regions box: a style for each part of the frame, from a built-in layout or a mask image.

A layout (:data:`rtstyle.regions.LAYOUTS`) or a grey mask image splits the frame into regions,
and each region gets one of the bank's styles.  The box remembers which style the user picked for
which region by name, so switching layouts or banks keeps every pick that still applies; regions
nobody picked take different styles (region i → style i mod S) so a new layout shows at once what
it does.  Only widgets live here: a file dialog for the mask is the owner's job (``maskRequested``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QSpinBox, QWidget

from rtstyle.regions import LAYOUTS, Regions, region_count

#: Item data of the layout picker's first and last entries; a layout name or a path never is
#: empty, and a path never starts with a NUL.
WHOLE_FRAME = ""
_ASK_MASK = "\0mask"
#: Most grey bands offered for a mask image (more would not fit the panel, nor be told apart).
MAX_MASK_REGIONS = 8

_LAYOUT_LABELS = {
    "left-right": "Left | right",
    "top-bottom": "Top / bottom",
    "centre-surround": "Centre + surround",
    "thirds": "Thirds (left to right)",
    "quadrants": "Quadrants",
}
#: What each region of a built-in layout is called, in the runtime's region order.
_REGION_NAMES = {
    "left-right": ("Left", "Right"),
    "top-bottom": ("Top", "Bottom"),
    "centre-surround": ("Centre", "Surround"),
    "thirds": ("Left", "Middle", "Right"),
    "quadrants": ("Top left", "Top right", "Bottom left", "Bottom right"),
}


def region_names(layout: str, count: int) -> list[str]:
    """Row labels for the regions of ``layout``: places for built-ins, grey bands for a mask."""
    names = _REGION_NAMES.get(layout)
    if names is not None and len(names) == count:
        return list(names)
    if region_count(layout) is not None:  # a layout the runtime gained after this table
        return [f"Region {i + 1}" for i in range(count)]
    return [f"Band {i + 1}" + (" (dark)" if i == 0 else " (bright)" if i == count - 1 else "")
            for i in range(count)]


class RegionsBox(QGroupBox):
    """Layout picker, band count (mask images only) and one style picker per region.

    ``changed`` fires when the layout, the band count or a region's style changes, also when
    set programmatically; filling in a bank's styles (:meth:`set_styles`) does not fire it.
    """

    changed = pyqtSignal()
    maskRequested = pyqtSignal()  # "Mask image…" was picked; answer with set_layout(path)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Regions", parent)
        self._styles: list[tuple[str, str]] = []  # (name, title) of the bank's styles, in bank order
        self._picked: list[str] = []  # style name the user picked per region ("" = not picked)
        self._region_pickers: list[QComboBox] = []
        self._form = QFormLayout(self)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.layout_picker = QComboBox()
        self.layout_picker.setToolTip("Give each part of the frame its own style")
        self.layout_picker.addItem("Whole frame", WHOLE_FRAME)
        for name in LAYOUTS:
            self.layout_picker.addItem(_LAYOUT_LABELS.get(name, name), name)
        self.layout_picker.insertSeparator(self.layout_picker.count())
        self.layout_picker.addItem("Mask image…", _ASK_MASK)
        mask_tip = "A grey image: dark parts take the first region's style, bright parts the last's"
        self.layout_picker.setItemData(self.layout_picker.count() - 1, mask_tip, Qt.ItemDataRole.ToolTipRole)
        self.layout_picker.activated.connect(self._on_layout_activated)
        self._form.addRow("Layout", self.layout_picker)
        self.bands = QSpinBox()
        self.bands.setRange(2, MAX_MASK_REGIONS)
        self.bands.setToolTip("The mask's grey levels, darkest to brightest, split into this many equal bands")
        self.bands.valueChanged.connect(self._on_bands_changed)
        self._form.addRow("Grey bands", self.bands)
        self._current = WHOLE_FRAME  # the layout in use (the picker shows it between dialogs)
        self._rebuild()

    # -- reading -------------------------------------------------------------------------------

    def layout_name(self) -> str | None:
        """The built-in layout name or mask image path in use; None for the whole frame."""
        return self._current or None

    @property
    def region_pickers(self) -> list[QComboBox]:
        """One style picker per region, in region order (none before a bank is loaded)."""
        return list(self._region_pickers)

    def style_names(self) -> list[str]:
        """The style name of each region, in region order (what the settings store).

        Without pickers on show (the whole frame, or no bank yet) these are the remembered picks,
        so a layout turned off and on again, or across a restart, finds them still there.
        """
        if not self._region_pickers:
            return list(self._picked)
        return [picker.currentData() for picker in self._region_pickers]

    def regions(self) -> Regions | None:
        """The layout with a one-style weight vector per region; None for the whole frame or no bank."""
        if not self._current or not self._styles:
            return None
        names = [name for name, _title in self._styles]
        one_hot = np.eye(len(names), dtype=np.float32)
        return Regions(self._current, tuple(one_hot[names.index(name)] for name in self.style_names()))

    # -- setting ---------------------------------------------------------------------------------

    def set_styles(self, styles: Sequence[tuple[str, str]]) -> None:
        """Offer these ``(name, title)`` styles; picks whose style is not among them fall back."""
        self._styles = list(styles)
        self._rebuild()

    def set_layout(self, layout: str | None, styles: Sequence[str] | None = None) -> None:
        """Use ``layout`` (a name, a mask image path or None) and, if given, these region styles.

        For a mask image, ``styles`` also sets the number of bands.
        """
        layout = layout or WHOLE_FRAME
        if layout not in LAYOUTS and layout != WHOLE_FRAME:
            self._add_mask(layout)
        if styles is not None:
            self._picked = list(styles)
            if region_count(layout) is None and len(styles) >= 2:
                self.bands.blockSignals(True)
                self.bands.setValue(min(len(styles), MAX_MASK_REGIONS))
                self.bands.blockSignals(False)
        self._current = layout
        self._rebuild()
        self.changed.emit()

    # -- internals -----------------------------------------------------------------------------

    def _add_mask(self, path: str) -> None:
        if self.layout_picker.findData(path) < 0:
            index = self.layout_picker.count() - 2  # before the separator and "Mask image…"
            self.layout_picker.insertItem(index, Path(path).name, path)
            self.layout_picker.setItemData(index, path, Qt.ItemDataRole.ToolTipRole)

    def _on_layout_activated(self, index: int) -> None:
        data = self.layout_picker.itemData(index)
        if data == _ASK_MASK:
            self._show_current()  # until a file is chosen, the layout in use stays
            self.maskRequested.emit()
        elif data != self._current:
            self.set_layout(data)

    def _on_bands_changed(self) -> None:
        self._rebuild()
        self.changed.emit()

    def _on_region_activated(self, region: int) -> None:
        self._picked += [""] * (region + 1 - len(self._picked))
        self._picked[region] = self._region_pickers[region].currentData()
        self.changed.emit()

    def _show_current(self) -> None:
        self.layout_picker.setCurrentIndex(self.layout_picker.findData(self._current))

    def _count(self) -> int:
        if not self._current:
            return 0
        return region_count(self._current) or self.bands.value()

    def _rebuild(self) -> None:
        """Show the layout in use, the band count for a mask, and one style picker per region."""
        self._show_current()
        self._form.setRowVisible(self.bands, bool(self._current) and region_count(self._current) is None)
        for picker in self._region_pickers:
            self._form.removeRow(picker)
        self._region_pickers = []
        count = self._count() if self._styles else 0
        names = [name for name, _title in self._styles]
        for region, label in enumerate(region_names(self._current, count) if count else []):
            picker = QComboBox()
            picker.setAccessibleName(f"{label} style")
            for name, title in self._styles:
                picker.addItem(title, name)
            picked = self._picked[region] if region < len(self._picked) else ""
            picker.setCurrentIndex(names.index(picked) if picked in names else region % len(names))
            picker.activated.connect(lambda _index, region=region: self._on_region_activated(region))
            self._form.addRow(label, picker)
            self._region_pickers.append(picker)
