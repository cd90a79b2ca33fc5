"""What the window remembers between runs, stored with QSettings.

Stored per user in the platform's usual place (``~/.config/rtstyle/rtstyle-gui.ini`` on Linux).
``RTSTYLE_GUI_SETTINGS`` (or ``rtstyle gui --settings PATH``) points it at an INI file instead, so
tests and portable setups never read or clobber a user's real settings.  Values are read back
defensively: a hand-edited or older file yields defaults, never an exception at start-up.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from PyQt6.QtCore import QByteArray, QSettings

from rtstyle.errors import InputError
from rtstyle.regions import check_layout
from rtstyle_gui.options import AUTO_SCALE, Scale

log = logging.getLogger(__name__)

_Default = TypeVar("_Default")

SETTINGS_ENV = "RTSTYLE_GUI_SETTINGS"
_ORGANIZATION, _APPLICATION = "rtstyle", "rtstyle-gui"


@dataclass
class SavedState:
    """Everything persisted; ``mix`` maps style names to slider values (0-100) per bank.

    ``region_layout`` is a built-in layout name or a mask image path (None: the whole frame in
    one mix), ``region_styles`` the style name chosen for each region, in region order.
    """

    source: str | None = None
    bank: str | None = None
    backend: str = "auto"
    device: str = "auto"
    mixes: dict[str, dict[str, int]] = field(default_factory=dict)
    strength: float = 1.0
    keep_colors: bool = False
    scale: Scale = AUTO_SCALE  # a fresh install keeps up with the camera
    fusion: bool = True
    region_layout: str | None = None
    region_styles: list[str] = field(default_factory=list)
    side_by_side: bool = False
    output_dir: str | None = None
    geometry: QByteArray | None = None


def open_settings(path: Path | None = None) -> QSettings:
    """The settings store: ``path`` or ``$RTSTYLE_GUI_SETTINGS`` as INI, else the per-user one."""
    override = path or (Path(os.environ[SETTINGS_ENV]) if os.environ.get(SETTINGS_ENV) else None)
    if override is not None:
        return QSettings(str(override), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, _ORGANIZATION, _APPLICATION)


def load_state(store: QSettings) -> SavedState:
    state = SavedState()
    state.source = _text(store, "source")
    state.bank = _text(store, "bank")
    state.backend = _text(store, "backend") or "auto"
    state.device = _text(store, "device") or "auto"
    state.mixes = _mixes(store.value("mixes"))
    state.strength = _number(store, "strength", 1.0, 0.0, 1.0)
    state.keep_colors = _flag(store, "keep_colors")
    state.scale = _scale(store)
    state.fusion = _flag(store, "fusion", default=True)
    state.region_layout = _usable_layout(_text(store, "region_layout"))
    state.region_styles = _names(store.value("region_styles"))
    state.side_by_side = _flag(store, "side_by_side")
    state.output_dir = _text(store, "output_dir")
    geometry = store.value("geometry")
    state.geometry = geometry if isinstance(geometry, QByteArray) else None
    return state


def save_state(store: QSettings, state: SavedState) -> None:
    optional = (("source", state.source), ("bank", state.bank), ("output_dir", state.output_dir),
                ("region_layout", _usable_layout(state.region_layout)))
    for key, value in optional:
        if value is None:
            store.remove(key)
        else:
            store.setValue(key, value)
    store.setValue("backend", state.backend)
    store.setValue("device", state.device)
    store.setValue("mixes", json.dumps(state.mixes, sort_keys=True))
    store.setValue("strength", state.strength)
    store.setValue("keep_colors", state.keep_colors)
    store.setValue("scale", state.scale)
    store.setValue("fusion", state.fusion)
    store.setValue("region_styles", json.dumps(state.region_styles))
    store.setValue("side_by_side", state.side_by_side)
    if state.geometry is not None:
        store.setValue("geometry", state.geometry)
    store.sync()
    if store.status() != QSettings.Status.NoError:
        log.warning("could not save settings to %s (%s)", store.fileName(), store.status().name)


def _text(store: QSettings, key: str) -> str | None:
    value = store.value(key)
    return value if isinstance(value, str) and value else None


def _number(store: QSettings, key: str, default: _Default, low: float, high: float) -> float | _Default:
    try:
        value = float(store.value(key, default))
    except (TypeError, ValueError):
        return default
    return value if low <= value <= high else default


def _scale(store: QSettings) -> Scale:
    """``auto``, or a number saved by a fixed choice (also by versions before auto); auto otherwise."""
    if _text(store, "scale") == AUTO_SCALE:
        return AUTO_SCALE
    return _number(store, "scale", AUTO_SCALE, 0.05, 4.0)


def _flag(store: QSettings, key: str, default: bool = False) -> bool:
    # INI files hand booleans back as the strings "true"/"false".
    value = store.value(key, default)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value if isinstance(value, bool) else default


def _usable_layout(layout: str | None) -> str | None:
    """``layout`` if it is a built-in one or a mask image that still exists, else None."""
    if layout is None:
        return None
    try:
        check_layout(layout)
    except InputError:
        return None
    return layout


def _names(raw: object) -> list[str]:
    try:
        document = json.loads(raw) if isinstance(raw, str) else []
    except json.JSONDecodeError:
        return []
    return [str(name) for name in document] if isinstance(document, list) else []


def _mixes(raw: object) -> dict[str, dict[str, int]]:
    try:
        document = json.loads(raw) if isinstance(raw, str) else {}
    except json.JSONDecodeError:
        return {}
    if not isinstance(document, dict):
        return {}
    return {
        str(bank): {str(k): int(v) for k, v in mix.items() if isinstance(v, (int, float)) and 0 <= v <= 100}
        for bank, mix in document.items() if isinstance(mix, dict)
    }
