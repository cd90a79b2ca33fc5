"""The optional virtual-camera output (pyvirtualcam), with a stand-in module: no driver needed."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("PyQt6.QtWidgets", reason="the window needs PyQt6: pip install 'rtstyle[gui]'")
pytest.importorskip("pytestqt", reason="the window tests need pytest-qt")

from gui_fakes import CLIP_SIZE, fake_pyvirtualcam, gui_threads

TIMEOUT_MS = 30000


def test_the_stylized_feed_reaches_the_virtual_camera(qtbot, open_window, monkeypatch) -> None:
    module = fake_pyvirtualcam()
    monkeypatch.setitem(sys.modules, "pyvirtualcam", module)
    window = open_window()
    qtbot.waitUntil(lambda: window.stylizer is not None and window.frames_shown >= 1, timeout=TIMEOUT_MS)
    window.toolbar.virtual_camera.trigger()
    qtbot.waitUntil(lambda: bool(module.cameras) and len(module.cameras[0].frames) >= 5, timeout=TIMEOUT_MS)
    camera = module.cameras[0]
    assert (camera.width, camera.height, camera.fmt) == (*CLIP_SIZE, "RGB")
    assert camera.fps == pytest.approx(window.pipeline.nominal_fps)
    window.toolbar.virtual_camera.trigger()
    assert camera.closed and window.pipeline.virtual_camera is None
    assert "rtstyle-vcam" not in gui_threads()


def test_no_virtual_camera_driver_is_reported(qtbot, open_window, monkeypatch) -> None:
    error = RuntimeError("'v4l2loopback' backend: No v4l2 loopback device found at /dev/video[0-99].")
    monkeypatch.setitem(sys.modules, "pyvirtualcam", fake_pyvirtualcam(error))
    window = open_window()
    window.toolbar.virtual_camera.trigger()
    qtbot.waitUntil(window.banner.isVisible, timeout=TIMEOUT_MS)
    assert "no virtual camera device to send to ('v4l2loopback'" in window.banner.message.text()
    assert not window.toolbar.virtual_camera.isChecked()
    qtbot.waitUntil(lambda: "rtstyle-vcam" not in gui_threads(), timeout=TIMEOUT_MS)


def test_without_pyvirtualcam_the_window_says_what_to_install(qtbot, open_window, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)  # makes `import pyvirtualcam` fail
    window = open_window()
    window.toolbar.virtual_camera.trigger()
    assert window.banner.isVisible()
    assert "pip install 'rtstyle[vcam]'" in window.banner.message.text()
    assert not window.toolbar.virtual_camera.isChecked()
