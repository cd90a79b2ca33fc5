"""The fusion switch, regional styles and the fusion network's reset on a new source or a loop."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("PyQt6.QtWidgets", reason="the window needs PyQt6: pip install 'rtstyle[gui]'")
pytest.importorskip("pytestqt", reason="the window tests need pytest-qt")

from PyQt6.QtWidgets import QFileDialog

from gui_fakes import FrameLog
from rtstyle.regions import Regions
from rtstyle.stylefile import load_style_bank
from rtstyle.stylizer import Stylizer, StylizerSettings
from rtstyle.video.images import write_image
from rtstyle_gui.panel import MIX_HINT, NO_FUSION_TIP, REGIONS_HINT
from rtstyle.stream.spec import SourceSpec

TIMEOUT_MS = 30000  # generous: two cores shared with other work


def _pick(combo, data) -> None:
    """Choose the entry carrying ``data`` as a user would (``activated`` follows a click)."""
    index = combo.findData(data)
    assert index >= 0, f"no entry {data!r}"
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def _loaded(qtbot, window, bank) -> None:
    qtbot.waitUntil(lambda: window.styling.bank_path == bank, timeout=TIMEOUT_MS)


def _region_styles(settings: StylizerSettings) -> list[int]:
    """The style each region plays, from its one-hot weights."""
    assert settings.regions is not None
    return [int(np.argmax(w)) for w in settings.regions.style_weights]


def test_fusion_switch_reaches_the_stylizer_and_is_remembered(qtbot, open_window, fusion_bank) -> None:
    window = open_window(model=str(fusion_bank))
    _loaded(qtbot, window, fusion_bank)
    fusion = window.panel.fusion
    assert fusion.isEnabled() and fusion.isChecked()
    assert window.stylizer.settings.fusion and window.stylizer.uses_fusion()
    fusion.setChecked(False)
    assert not window.stylizer.settings.fusion and not window.stylizer.uses_fusion()
    window.close()

    second = open_window(model=str(fusion_bank))
    _loaded(qtbot, second, fusion_bank)
    assert not second.panel.fusion.isChecked() and not second.stylizer.uses_fusion()
    second.panel.fusion.setChecked(True)
    assert second.stylizer.uses_fusion()


def test_fusion_switch_is_disabled_for_a_bank_without_fusion(qtbot, open_window, gui_env, fusion_bank) -> None:
    window = open_window()
    _loaded(qtbot, window, gui_env.bank)
    fusion = window.panel.fusion
    assert not fusion.isEnabled() and fusion.toolTip() == NO_FUSION_TIP
    assert fusion.isChecked()  # the user's choice stays for the next bank that has F
    window.load_bank(fusion_bank)
    _loaded(qtbot, window, fusion_bank)
    assert fusion.isEnabled() and fusion.toolTip() != NO_FUSION_TIP
    assert window.stylizer.uses_fusion()


def test_a_layout_gives_each_region_its_chosen_style(qtbot, open_window, gui_env) -> None:
    window = open_window()
    log = FrameLog(window)
    qtbot.waitUntil(lambda: log.stylized() >= 1, timeout=TIMEOUT_MS)
    panel = window.panel
    _pick(panel.regions.layout_picker, "quadrants")
    pickers = panel.regions.region_pickers
    assert [p.currentText() for p in pickers] == ["Ink", "Ember", "Style2", "Ink"]  # region i → style i mod 3
    assert not panel.gallery.isEnabled() and panel.styles_hint.text() == REGIONS_HINT
    _pick(pickers[3], "ember")
    settings = window.stylizer.settings
    assert settings.regions is not None and settings.regions.layout == "quadrants"
    assert _region_styles(settings) == [0, 1, 2, 1]

    moved = len(log.items)
    qtbot.waitUntil(lambda: log.stylized(since=moved) >= 3, timeout=TIMEOUT_MS)
    _, _, original, output = log.items[-1]
    one_hot = np.eye(3, dtype=np.float32)
    expected = Stylizer(load_style_bank(gui_env.bank), StylizerSettings(
        one_hot[0], regions=Regions("quadrants", (one_hot[0], one_hot[1], one_hot[2], one_hot[1]))), device="cpu")
    assert np.abs(output.astype(np.int16) - expected(original).astype(np.int16)).mean() < 0.5

    _pick(panel.regions.layout_picker, "left-right")  # picks carry over to the regions that remain
    assert _region_styles(window.stylizer.settings) == [0, 1]
    _pick(panel.regions.layout_picker, "")
    assert window.stylizer.settings.regions is None
    assert panel.gallery.isEnabled() and panel.styles_hint.text() == MIX_HINT


def test_regions_style_the_frame_even_with_every_mix_slider_down(qtbot, open_window) -> None:
    window = open_window()
    qtbot.waitUntil(lambda: window.stylizer is not None, timeout=TIMEOUT_MS)
    window.panel.gallery.set_values({})
    assert window.stylizer.settings.strength == 0.0  # no mix, no regions: the original
    _pick(window.panel.regions.layout_picker, "top-bottom")
    assert window.stylizer.settings.strength == 1.0 and _region_styles(window.stylizer.settings) == [0, 1]


def test_a_mask_image_layout_has_any_number_of_bands_and_is_remembered(
    qtbot, open_window, gui_env, tmp_path, monkeypatch
) -> None:
    ramp = np.linspace(0, 255, 64, dtype=np.uint8)  # dark on the left, bright on the right
    mask = write_image(tmp_path / "mask.png", np.tile(ramp[None, :, None], (48, 1, 3)))
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not an image")
    chosen = [str(not_an_image)]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (chosen[0], ""))
    window = open_window()
    _loaded(qtbot, window, gui_env.bank)
    regions = window.panel.regions

    _pick(regions.layout_picker, regions.layout_picker.itemData(regions.layout_picker.count() - 1))  # "Mask image…"
    assert window.banner.isVisible() and "Mask image" in window.banner.message.text()
    assert regions.layout_name() is None and regions.layout_picker.currentData() == ""  # unchanged

    chosen[0] = str(mask)
    _pick(regions.layout_picker, regions.layout_picker.itemData(regions.layout_picker.count() - 1))
    assert regions.layout_name() == str(mask) and regions.layout_picker.currentText() == "mask.png"
    assert regions.bands.isVisible() and _region_styles(window.stylizer.settings) == [0, 1]
    regions.bands.setValue(4)
    _pick(regions.region_pickers[0], "style2")
    assert window.stylizer.settings.regions.layout == str(mask)
    assert _region_styles(window.stylizer.settings) == [2, 1, 2, 0]
    window.close()

    second = open_window(model=None)
    _loaded(qtbot, second, gui_env.bank)
    assert second.panel.regions.layout_name() == str(mask)
    assert _region_styles(second.stylizer.settings) == [2, 1, 2, 0]
    second.close()

    mask.unlink()  # a mask that is gone is not restored
    third = open_window(model=None)
    _loaded(qtbot, third, gui_env.bank)
    assert third.panel.regions.layout_name() is None and third.stylizer.settings.regions is None


def test_a_new_source_and_each_loop_reset_the_stylizer_in_the_inference_thread(
    qtbot, open_window, gui_env, fusion_bank, monkeypatch
) -> None:
    window = open_window(model=str(fusion_bank))
    log = FrameLog(window)
    qtbot.waitUntil(lambda: log.stylized() >= 3, timeout=TIMEOUT_MS)
    stylizer = window.stylizer
    assert stylizer.uses_fusion()  # with F, the stylizer itself never resets between frames
    resets: list[str] = []
    real_reset = stylizer.reset

    def spy() -> None:
        resets.append(threading.current_thread().name)
        real_reset()

    monkeypatch.setattr(stylizer, "reset", spy)
    qtbot.waitUntil(lambda: log.stylized() >= 6, timeout=TIMEOUT_MS)
    before = len(resets)
    window.set_source(SourceSpec(path=gui_env.clip))  # the same file, opened again
    switched = len(log.items)
    qtbot.waitUntil(lambda: log.stylized(since=switched) >= 2, timeout=TIMEOUT_MS)
    assert len(resets) > before
    # The 2 s clip loops: its first frame again does not follow its last one.
    reopened = len(resets)
    qtbot.waitUntil(lambda: len(resets) > reopened, timeout=TIMEOUT_MS)
    assert set(resets) == {"rtstyle-infer"}
