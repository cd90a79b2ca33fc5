"""The window at work: frames flow, controls change the output, recording, snapshots, settings."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PyQt6.QtWidgets", reason="the window needs PyQt6: pip install 'rtstyle[gui]'")
pytest.importorskip("pytestqt", reason="the window tests need pytest-qt")

from PyQt6.QtCore import QRectF, QSize

from gui_fakes import CLIP_FPS, CLIP_SIZE, FrameLog
from rtstyle.stylefile import load_style_bank
from rtstyle.stylizer import Stylizer, StylizerSettings
from rtstyle.video.images import read_image
from rtstyle.video.reader import VideoReader
from rtstyle.stream.spec import SourceSpec
from rtstyle_gui.view import BACKGROUND, fit

TIMEOUT_MS = 30000  # generous: two cores shared with other work


def _reference(bank_path, weights, rgb, **settings) -> np.ndarray:
    """What the runtime makes of ``rgb`` with ``weights``, computed outside the window."""
    stylizer = Stylizer(load_style_bank(bank_path), StylizerSettings(np.asarray(weights, np.float32), **settings),
                        device="cpu")
    return stylizer(rgb)


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_frames_reach_the_view_stylized(qtbot, open_window, gui_env) -> None:
    window = open_window(scale=1.0)  # fixed: auto could lower it on a busy machine, and the pixels with it
    log = FrameLog(window)
    qtbot.waitUntil(lambda: log.stylized() >= 3, timeout=TIMEOUT_MS)
    latency, _, original, output = log.items[-1]
    assert output.shape == original.shape == (CLIP_SIZE[1], CLIP_SIZE[0], 3)
    assert _difference(output, _reference(gui_env.bank, [1, 0, 0], original)) < 0.5  # style 1, as the runtime does it
    assert 0 < latency < 5
    assert [card.info.name for card in window.panel.gallery.cards] == ["ink", "ember", "style2"]
    qtbot.waitUntil(lambda: "fps" in window.readout.text(), timeout=TIMEOUT_MS)


def test_moving_a_mix_slider_changes_the_output_on_the_next_frames(qtbot, open_window, gui_env) -> None:
    window = open_window(scale=1.0)  # fixed, as the reference
    log = FrameLog(window)
    qtbot.waitUntil(lambda: log.stylized() >= 2, timeout=TIMEOUT_MS)
    cards = window.panel.gallery.cards
    cards[1].slider.setValue(100)  # ink 100 + ember 100: an even mix
    assert [card.share.text() for card in cards] == ["50%", "50%", "—"]
    moved = len(log.items)
    qtbot.waitUntil(lambda: log.stylized(since=moved) >= 3, timeout=TIMEOUT_MS)
    _, _, original, output = log.items[-1]
    mixed = _reference(gui_env.bank, [1, 1, 0], original)
    solo = _reference(gui_env.bank, [1, 0, 0], original)
    assert _difference(mixed, solo) > 5  # the two styles really differ on this frame
    assert _difference(output, mixed) < 0.5


def test_strength_keep_colors_and_resolution_reach_the_stylizer(qtbot, open_window, gui_env) -> None:
    window = open_window()
    log = FrameLog(window)
    qtbot.waitUntil(lambda: log.stylized() >= 1, timeout=TIMEOUT_MS)
    window.panel.strength.setValue(50)
    window.panel.keep_colors.setChecked(True)
    window.panel.scale.setCurrentIndex(window.panel.scale.findData(0.5))
    window.panel.scale.activated.emit(window.panel.scale.currentIndex())
    moved = len(log.items)
    qtbot.waitUntil(lambda: log.stylized(since=moved) >= 3, timeout=TIMEOUT_MS)
    _, _, original, output = log.items[-1]
    expected = _reference(gui_env.bank, [1, 0, 0], original, strength=0.5, keep_colors=True, scale=0.5)
    assert _difference(output, expected) < 0.5


def test_all_sliders_down_shows_the_original(qtbot, open_window) -> None:
    window = open_window()
    log = FrameLog(window)
    qtbot.waitUntil(lambda: log.stylized() >= 1, timeout=TIMEOUT_MS)
    window.panel.gallery.set_values({})
    moved = len(log.items)
    qtbot.waitUntil(lambda: log.stylized(since=moved) >= 2, timeout=TIMEOUT_MS)
    _, _, original, output = log.items[-1]
    assert np.array_equal(output, original)


def test_recording_writes_a_playable_file_with_every_recorded_frame(qtbot, open_window, gui_env) -> None:
    window = open_window()
    qtbot.waitUntil(lambda: window.frames_shown >= 2, timeout=TIMEOUT_MS)
    window.toolbar.record.trigger()
    recorder = window.pipeline.recorder
    assert recorder is not None
    qtbot.waitUntil(lambda: recorder.written >= 12, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.pipeline.recordingFinished, timeout=TIMEOUT_MS) as finished:
        window.toolbar.record.trigger()
    path, frames = finished.args
    assert path.parent == gui_env.outputs and path.suffix == ".mp4"
    assert frames == recorder.written >= 12 and recorder.dropped == 0
    with VideoReader(path) as reader:
        assert (reader.width, reader.height) == CLIP_SIZE
        times = [frame.time for frame in reader.frames()]
    assert len(times) == frames
    assert times == sorted(times) and times[-1] > 0  # timestamps from capture times, increasing
    assert [p.name for p in gui_env.outputs.iterdir()] == [path.name]  # no temporary file left


def test_snapshot_saves_the_frame_on_screen(qtbot, open_window, gui_env) -> None:
    window = open_window()
    qtbot.waitUntil(lambda: window.frames_shown >= 1, timeout=TIMEOUT_MS)
    on_screen = window.view.output.copy()
    path = window.snapshot()
    assert path is not None and path.parent == gui_env.outputs and path.suffix == ".png"
    assert np.array_equal(read_image(path), on_screen)
    assert window.snapshot() != path  # a second snapshot never replaces the first


def test_side_by_side_and_fullscreen(qtbot, open_window) -> None:
    window = open_window()
    qtbot.waitUntil(lambda: window.frames_shown >= 1, timeout=TIMEOUT_MS)
    window.toolbar.side_by_side.trigger()
    assert window.view.side_by_side
    image = window.view.grab().toImage()
    middle = image.height() // 2
    for x in (image.width() // 4, 3 * image.width() // 4):  # a picture in each half
        assert image.pixelColor(x, middle) != BACKGROUND
    window.toolbar.fullscreen.trigger()
    assert window.isFullScreen() and not window.panel.isVisible()
    window.toolbar.fullscreen.trigger()
    assert not window.isFullScreen() and window.panel.isVisible()


def test_a_frame_bigger_than_the_view_is_stylized_at_the_size_shown(qtbot, open_window, gui_env) -> None:
    """Pixels the screen cannot show are not stylized: a 1280×720 source in a smaller view comes
    out at the view's size (half of it side by side), while the readout still names the source."""
    from rtstyle.video.sample import make_sample_clip

    clip = make_sample_clip(gui_env.outputs.parent / "big.mp4", seconds=1.0, width=1280, height=720, fps=12,
                            audio=False)
    window = open_window(source=str(clip))
    window.resize(900, 560)
    qtbot.waitUntil(lambda: window.frames_shown >= 3, timeout=TIMEOUT_MS)
    box = window.view.output_size()
    assert box[0] < 1280 and box[1] < 720

    def fitted(box: tuple[int, int]) -> bool:
        height, width = window.view.output.shape[:2]
        return window.view.original.shape[:2] == (720, 1280) and width <= box[0] and height <= box[1] and (
            width == box[0] or height == box[1])

    qtbot.waitUntil(lambda: fitted(window.view.output_size()), timeout=TIMEOUT_MS)
    assert window._resolution().startswith("1280×720")
    window.toolbar.side_by_side.trigger()
    half = window.view.output_size()
    assert half[0] < box[0]
    qtbot.waitUntil(lambda: fitted(half), timeout=TIMEOUT_MS)


def test_fit_keeps_the_aspect_ratio() -> None:
    assert fit(QSize(64, 48), QRectF(0, 0, 200, 100)) == QRectF(100 / 3, 0, 400 / 3, 100)
    assert fit(QSize(160, 90), QRectF(0, 0, 160, 180)) == QRectF(0, 45, 160, 90)


def test_settings_persist_between_runs(qtbot, open_window, gui_env) -> None:
    first = open_window()
    qtbot.waitUntil(lambda: first.panel.gallery.cards != [], timeout=TIMEOUT_MS)
    first.panel.strength.setValue(40)
    first.panel.keep_colors.setChecked(True)
    first.panel.gallery.cards[2].slider.setValue(60)
    first.panel.set_scale(0.5)
    first.toolbar.side_by_side.trigger()
    first.resize(700, 500)  # within the offscreen screen (800×600): restoreGeometry clamps to it
    first.close()

    second = open_window(source=None, model=None)  # nothing on the command line: all from settings
    qtbot.waitUntil(lambda: second.panel.gallery.cards != [], timeout=TIMEOUT_MS)
    assert second.pipeline.source == SourceSpec(path=gui_env.clip)
    assert second.panel.gallery.values() == {"ink": 100, "ember": 0, "style2": 60}
    assert second.panel.strength.value() == 40 and second.panel.keep_colors.isChecked()
    assert second.panel.scale.currentData() == 0.5 and second.toolbar.side_by_side.isChecked()
    assert (second.width(), second.height()) == (700, 500)
    settings = second.stylizer.settings
    assert settings.strength == pytest.approx(0.4) and settings.keep_colors and settings.scale == 0.5
    assert settings.target_fps is None  # a fixed resolution: auto is off
    assert settings.style_weights.tolist() == pytest.approx([100 / 160, 0, 60 / 160])


def test_command_line_overrides_saved_settings(qtbot, open_window, gui_env) -> None:
    first = open_window()
    qtbot.waitUntil(lambda: first.panel.gallery.cards != [], timeout=TIMEOUT_MS)
    first.panel.strength.setValue(30)
    first.close()
    second = open_window(strength=0.8, styles=("ember=3", "style2=1"))
    qtbot.waitUntil(lambda: second.panel.gallery.cards != [], timeout=TIMEOUT_MS)
    assert second.panel.strength.value() == 80
    assert second.panel.gallery.values() == {"ink": 0, "ember": 100, "style2": 33}
    assert second.pipeline.nominal_fps == pytest.approx(CLIP_FPS)
