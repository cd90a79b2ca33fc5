"""Any painting as a style: "Add painting…" and drops add a live, saved style; restarts keep it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PyQt6.QtWidgets", reason="the window needs PyQt6: pip install 'rtstyle[gui]'")
pytest.importorskip("pytestqt", reason="the window tests need pytest-qt")

from PyQt6.QtCore import QMimeData, QPointF, Qt, QUrl
from PyQt6.QtGui import QDragEnterEvent, QDropEvent
from PyQt6.QtWidgets import QApplication, QFileDialog, QWidget

import rtstyle.catalog
from factories import tiny_bank
from gui_fakes import FrameLog
from rtstyle.catalog import ANY_STYLE_BANK
from rtstyle.picture_styles import extra_styles, find_picture_style, read_picture_style, save_picture_style, unique_name
from rtstyle.stylefile import load_style_bank, save_style_bank
from rtstyle.stylizer import Stylizer, StylizerSettings
from rtstyle.video.images import write_image
from rtstyle_gui.faults import Remedy

TIMEOUT_MS = 30000  # generous: two cores shared with other work


@pytest.fixture
def any_bank(gui_env) -> Path:
    """A tiny any-style bank installed as the bundled any-style bank's name, in the user style dir."""
    bank = replace(tiny_bank(2, style_dim=100), any_style=True)
    return save_style_bank(bank, gui_env.styles / f"{ANY_STYLE_BANK}.safetensors")


def _painting(path: Path, seed: int = 1) -> Path:
    """A small, colourful picture with strokes: something a style can be read from."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:120, 0:160]
    rgb = np.stack([x * 1.5, y * 2.0, 128 + 100 * np.sin(x / 6.0 + y / 9.0)], axis=-1)
    rgb += rng.normal(0, 20, rgb.shape)
    return write_image(path, np.clip(rgb, 0, 255).astype(np.uint8))


def _names(window) -> list[str]:
    return [card.info.name for card in window.panel.gallery.cards]


def _choose_in_dialog(monkeypatch, *paths: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *args, **kwargs: ([str(p) for p in paths], ""))


def _drop(widget: QWidget, *paths: Path) -> None:
    """Drag ``paths`` onto ``widget`` and drop them there, as a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    point = widget.rect().center()
    action, button, modifier = Qt.DropAction.CopyAction, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point, action, mime, button, modifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(point), action, mime, button, modifier)
    QApplication.sendEvent(widget, drop)
    assert drop.isAccepted()


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def _painted(bank_path: Path, picture: str, weights: list[float], rgb: np.ndarray) -> np.ndarray:
    """What the runtime makes of ``rgb`` with the bank plus the saved ``picture``, outside the window."""
    bank = load_style_bank(bank_path).with_extra_styles(*extra_styles([find_picture_style(picture)]))
    return Stylizer(bank, StylizerSettings(np.asarray(weights, np.float32)), device="cpu")(rgb)


def test_add_painting_makes_a_live_saved_style_that_a_restart_brings_back(
    qtbot, open_window, gui_env, any_bank, tmp_path, monkeypatch
) -> None:
    window = open_window(model=str(any_bank), scale=1.0)  # fixed, as the reference
    log = FrameLog(window)
    qtbot.waitUntil(lambda: log.stylized() >= 2, timeout=TIMEOUT_MS)
    _choose_in_dialog(monkeypatch, _painting(tmp_path / "My Painting.png"))
    window.panel.add_painting.click()
    qtbot.waitUntil(lambda: "my_painting" in _names(window), timeout=TIMEOUT_MS)
    assert window.stylizer.style_names == ["ink", "ember", "my_painting"]
    assert window.panel.gallery.values() == {"ink": 0, "ember": 0, "my_painting": 100}  # the new painting alone
    card = window.panel.gallery.cards[-1]
    assert card.title.text() == "My Painting" and card.share.text() == "100%"
    assert (gui_env.styles / "pictures" / "my_painting.safetensors").is_file()
    added = len(log.items)
    qtbot.waitUntil(lambda: log.stylized(since=added) >= 3, timeout=TIMEOUT_MS)
    _, _, original, output = log.items[-1]
    painted = _painted(any_bank, "my_painting", [0, 0, 1], original)
    assert _difference(painted, _painted(any_bank, "my_painting", [1, 0, 0], original)) > 2  # a style of its own
    assert _difference(output, painted) < 0.5
    window.close()

    again = open_window(source=None, model=None)  # a restart: everything from the settings
    qtbot.waitUntil(lambda: _names(again) == ["ink", "ember", "my_painting"], timeout=TIMEOUT_MS)
    assert again.panel.gallery.values() == {"ink": 0, "ember": 0, "my_painting": 100}
    assert again.stylizer.settings.style_weights.tolist() == [0, 0, 1]


def test_dropped_pictures_become_styles_and_other_files_are_named(
    qtbot, open_window, gui_env, any_bank, tmp_path
) -> None:
    window = open_window(model=str(any_bank))
    messages: list[str] = []
    window.styling.status.connect(messages.append)
    qtbot.waitUntil(lambda: window.stylizer is not None, timeout=TIMEOUT_MS)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a painting")
    picture = _painting(tmp_path / "wave.jpg")
    _drop(window.panel.gallery, notes)  # onto the cards: the Styles group takes the drop
    assert messages[-1].startswith("Not a picture: notes.txt")
    _drop(window.panel.gallery, picture, notes)
    qtbot.waitUntil(lambda: "wave" in _names(window), timeout=TIMEOUT_MS)
    assert "Not a picture: notes.txt" in " ".join(messages)
    _drop(window.panel.styles_box, picture)  # the same file again: a second style, the first one kept
    qtbot.waitUntil(lambda: "wave_2" in _names(window), timeout=TIMEOUT_MS)
    assert window.stylizer.style_names == ["ink", "ember", "wave", "wave_2"]
    assert window.panel.gallery.values()["wave_2"] == 100
    assert sorted(p.name for p in (gui_env.styles / "pictures").iterdir()) == ["wave.safetensors", "wave_2.safetensors"]
    assert not window.banner.isVisible()
    window.panel.regions.set_layout("left-right")  # the new styles are region choices too
    assert window.panel.regions.region_pickers[0].findData("wave_2") >= 0


def test_a_corrupt_picture_is_one_line_in_the_banner_and_no_style(
    qtbot, open_window, gui_env, any_bank, tmp_path, monkeypatch
) -> None:
    window = open_window(model=str(any_bank))
    log = FrameLog(window)
    qtbot.waitUntil(lambda: log.stylized() >= 1, timeout=TIMEOUT_MS)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 these are not the bytes of a picture")
    _choose_in_dialog(monkeypatch, broken)
    window.panel.add_painting.click()
    qtbot.waitUntil(window.banner.isVisible, timeout=TIMEOUT_MS)
    message = window.banner.message.text()
    assert message.startswith("Add painting:") and "broken.jpg" in message and "\n" not in message
    assert "Traceback" not in message
    assert _names(window) == ["ink", "ember"] and window.stylizer.style_names == ["ink", "ember"]
    assert not (gui_env.styles / "pictures").exists() or not any((gui_env.styles / "pictures").iterdir())
    shown = len(log.items)
    qtbot.waitUntil(lambda: log.stylized(since=shown) >= 2, timeout=TIMEOUT_MS)  # still live, still styled


def test_a_bank_of_its_own_styles_only_switches_to_the_any_style_bank_with_every_saved_painting(
    qtbot, open_window, gui_env, any_bank, tmp_path, monkeypatch
) -> None:
    save_picture_style(read_picture_style(_painting(tmp_path / "earlier.png", seed=2)))
    (gui_env.styles / "pictures" / "junk.safetensors").write_bytes(b"\x00" * 64)  # a broken file: skipped
    window = open_window()  # the tiny bank: it paints only its own styles
    messages: list[str] = []
    window.styling.status.connect(messages.append)
    qtbot.waitUntil(lambda: window.stylizer is not None, timeout=TIMEOUT_MS)
    assert not window.stylizer.bank.any_style
    _choose_in_dialog(monkeypatch, _painting(tmp_path / "new one.png"))
    window.panel.add_painting.click()
    qtbot.waitUntil(lambda: window.styling.bank_path == any_bank, timeout=TIMEOUT_MS)
    assert window.stylizer.style_names == ["ink", "ember", "earlier", "new_one"]
    assert _names(window) == window.stylizer.style_names
    assert window.panel.gallery.values() == {"ink": 0, "ember": 0, "earlier": 0, "new_one": 100}
    assert window.stylizer.settings.style_weights.tolist() == [0, 0, 0, 1]
    loaded = messages[-1]
    assert "painting with new one" in loaded and "skipped a saved painting" in loaded and "junk.safetensors" in loaded
    assert not window.banner.isVisible()


def test_style_naming_a_saved_painting_starts_on_the_any_style_bank(
    qtbot, open_window, gui_env, any_bank, tmp_path
) -> None:
    """``rtstyle gui --style earlier``: the window paints the saved painting from its first frame."""
    save_picture_style(read_picture_style(_painting(tmp_path / "earlier.png", seed=2)))
    window = open_window(model=None, styles=("earlier",))
    qtbot.waitUntil(lambda: window.stylizer is not None, timeout=TIMEOUT_MS)
    assert window.styling.bank_path == any_bank
    assert window.panel.gallery.values()["earlier"] == 100
    assert window.stylizer.settings.style_weights.tolist() == [0, 0, 1]


def test_without_an_any_style_bank_adding_a_painting_says_so(
    qtbot, open_window, gui_env, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(rtstyle.catalog, "BUNDLED_DIR", tmp_path / "no-bundled-banks")
    window = open_window()
    qtbot.waitUntil(lambda: window.stylizer is not None, timeout=TIMEOUT_MS)
    _choose_in_dialog(monkeypatch, _painting(tmp_path / "lonely.png"))
    window.panel.add_painting.click()
    assert window.banner.isVisible()
    message = window.banner.message.text()
    assert message.startswith("Add painting:") and ANY_STYLE_BANK in message and "not installed" in message
    assert window.banner.remedies() == [Remedy.OPEN_BANK]
    assert not (gui_env.styles / "pictures").exists()  # nothing read, nothing saved
    assert _names(window) == ["ink", "ember", "style2"]


def test_unique_names_leave_room_for_the_number() -> None:
    assert unique_name("wave", {"ink"}) == "wave"
    assert unique_name("wave", {"wave", "wave_2"}) == "wave_3"
    long = "x" * 64
    assert unique_name(long, {long}) == "x" * 60 + "_2"
