"""The working resolution in the window: auto by default (holding the source's rate), fixed on request."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("PyQt6.QtWidgets", reason="the window needs PyQt6: pip install 'rtstyle[gui]'")
pytest.importorskip("pytestqt", reason="the window tests need pytest-qt")

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QPushButton

from gui_fakes import CLIP_FPS, CLIP_SIZE, FrameLog
from rtstyle_gui.faults import Remedy
from rtstyle_gui.options import AUTO_SCALE
from rtstyle_gui.panel import AUTO_SCALE_LABEL, SCALES
from rtstyle_gui.settings import load_state, open_settings

TIMEOUT_MS = 30000  # generous: two cores shared with other work
FRAME = f"{CLIP_SIZE[0]}×{CLIP_SIZE[1]}"


def _pick(combo, data) -> None:
    """Choose the entry carrying ``data`` as a user would (``activated`` follows a click)."""
    index = combo.findData(data)
    assert index >= 0, f"no entry {data!r}"
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def _holds_clip_rate(window) -> bool:
    stylizer = window.stylizer
    return stylizer is not None and stylizer.settings.target_fps == pytest.approx(CLIP_FPS)


def test_auto_is_the_default_and_holds_the_sources_frame_rate(qtbot, open_window) -> None:
    window = open_window()  # a fresh settings file, no --scale
    combo = window.panel.scale
    assert combo.currentIndex() == 0 and combo.currentText() == AUTO_SCALE_LABEL
    assert combo.currentData() == AUTO_SCALE
    qtbot.waitUntil(lambda: _holds_clip_rate(window), timeout=TIMEOUT_MS)  # the clip's rate, not the default 30
    settings = window.stylizer.settings
    assert settings.scale == 1.0 and window.pipeline.nominal_fps == pytest.approx(CLIP_FPS)
    qtbot.waitUntil(lambda: window.stylizer.scale_control is not None, timeout=TIMEOUT_MS)
    assert window.stylizer.scale_control.target_fps == pytest.approx(CLIP_FPS)
    qtbot.waitUntil(lambda: "(auto)" in window.readout.text(), timeout=TIMEOUT_MS)
    assert f"· {FRAME}" in window.readout.text()


def test_a_fixed_resolution_turns_auto_off_and_each_choice_survives_a_restart(qtbot, open_window) -> None:
    first = open_window()
    qtbot.waitUntil(lambda: _holds_clip_rate(first), timeout=TIMEOUT_MS)
    _pick(first.panel.scale, 0.5)
    settings = first.stylizer.settings
    assert settings.target_fps is None and settings.scale == 0.5
    half = f"{FRAME} → {CLIP_SIZE[0] // 2}×{CLIP_SIZE[1] // 2}"
    qtbot.waitUntil(lambda: first.readout.text().endswith(f"· {half}"), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: first.stylizer.scale_control is None, timeout=TIMEOUT_MS)
    first.close()

    second = open_window(source=None, model=None)  # a restart: the resolution from the settings
    assert second.panel.scale.currentData() == 0.5
    qtbot.waitUntil(lambda: second.stylizer is not None, timeout=TIMEOUT_MS)
    assert second.stylizer.settings.target_fps is None and second.stylizer.settings.scale == 0.5
    _pick(second.panel.scale, AUTO_SCALE)
    assert _holds_clip_rate(second) and second.stylizer.settings.scale == 1.0
    second.close()

    third = open_window(source=None, model=None)
    assert third.panel.scale.currentData() == AUTO_SCALE
    qtbot.waitUntil(lambda: _holds_clip_rate(third), timeout=TIMEOUT_MS)


def test_the_command_line_picks_auto_or_a_fraction_over_the_saved_choice(qtbot, open_window) -> None:
    first = open_window(scale=0.25)
    qtbot.waitUntil(lambda: first.stylizer is not None, timeout=TIMEOUT_MS)
    assert first.stylizer.settings.target_fps is None and first.stylizer.settings.scale == 0.25
    first.close()
    second = open_window(scale=AUTO_SCALE)
    assert second.panel.scale.currentData() == AUTO_SCALE
    qtbot.waitUntil(lambda: _holds_clip_rate(second), timeout=TIMEOUT_MS)


def test_saved_resolutions_read_back(qapp, tmp_path) -> None:
    assert load_state(open_settings(tmp_path / "fresh.ini")).scale == AUTO_SCALE  # a fresh install starts on auto
    for written, expected in (("0.75", 0.75), ("auto", AUTO_SCALE), ("huge", AUTO_SCALE), ("9", AUTO_SCALE)):
        path = tmp_path / f"{written}.ini"  # one file each: Qt caches what it read from a file
        path.write_text(f"[General]\nscale={written}\n")  # as older versions (a number) or a hand edit left it
        assert load_state(open_settings(path)).scale == expected, written


def test_lower_resolution_from_auto_fixes_a_rung_below_the_one_auto_reached(qtbot, open_window, monkeypatch) -> None:
    window = open_window()
    log = FrameLog(window)
    qtbot.waitUntil(lambda: log.stylized() >= 1 and _holds_clip_rate(window), timeout=TIMEOUT_MS)
    stylizer = window.stylizer
    real = stylizer._stylize_at
    failed: list[float] = []

    def slow_then_out_of_memory(batch, settings):
        if settings.target_fps is not None and settings.scale < 1.0:  # auto stepped down, and still fails
            failed.append(settings.scale)
            raise MemoryError("simulated: not enough memory")
        if settings.target_fps is not None:
            time.sleep(0.1)  # a model too slow for the clip's 24 fps at full resolution: auto steps down
        return real(batch, settings)

    monkeypatch.setattr(stylizer, "_stylize_at", slow_then_out_of_memory)
    qtbot.waitUntil(window.banner.isVisible, timeout=TIMEOUT_MS)
    assert len(failed) == 1 and stylizer.working_scale == failed[0]  # the fault drops the model at once
    assert window.banner.remedies() == [Remedy.LOWER_RESOLUTION]
    button = next(b for b in window.banner.findChildren(QPushButton) if b.text() == Remedy.LOWER_RESOLUTION.value)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    lower = max((value for value, _label in SCALES if value < failed[0]), default=failed[0] / 2)
    assert window.panel.scale_choice() == lower  # fixed, below the working scale auto had reached
    assert stylizer.settings.target_fps is None and stylizer.settings.scale == lower
    recovered_at = len(log.items)
    qtbot.waitUntil(lambda: log.stylized(since=recovered_at) >= 2, timeout=TIMEOUT_MS)
    assert not window.banner.isVisible()
