"""Fixtures for the window tests: offscreen Qt, a tiny style bank, a short looping clip.

``QT_QPA_PLATFORM`` must be set before the QApplication exists, hence at import time here (pytest
imports a directory's conftest before its test modules, and pytest-qt creates the application
lazily in its ``qapp`` fixture).  Every test gets its own style directory and settings file, so
nothing reads or writes a developer's real settings.  Modules that need Qt skip themselves
(``pytest.importorskip``) where PyQt6 or pytest-qt is not installed.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from factories import tiny_fusion_bank, write_tiny_bank
from gui_fakes import CLIP_FPS, CLIP_SIZE, gui_threads
from rtstyle.stylefile import save_style_bank
from rtstyle.video.sample import make_sample_clip


@dataclass(frozen=True)
class GuiEnv:
    styles: Path  # the user style directory ($RTSTYLE_STYLE_DIR)
    bank: Path  # a tiny 3-style bank in it
    settings: Path  # the window's INI file ($RTSTYLE_GUI_SETTINGS)
    clip: Path  # a 2 s looping clip standing in for a camera
    outputs: Path  # where snapshots and recordings go


@pytest.fixture
def gui_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GuiEnv:
    styles = tmp_path / "styles"
    bank = write_tiny_bank(styles / "tiny.safetensors", num_styles=3)
    settings = tmp_path / "settings.ini"
    monkeypatch.setenv("RTSTYLE_STYLE_DIR", str(styles))
    monkeypatch.setenv("RTSTYLE_GUI_SETTINGS", str(settings))
    clip = make_sample_clip(tmp_path / "clip.mp4", seconds=2.0, width=CLIP_SIZE[0], height=CLIP_SIZE[1],
                            fps=CLIP_FPS, audio=False)
    outputs = tmp_path / "out"
    outputs.mkdir()
    return GuiEnv(styles, bank, settings, clip, outputs)


@pytest.fixture
def fusion_bank(gui_env: GuiEnv) -> Path:
    """A tiny 3-style bank with a (tiny, untrained) fusion network F, next to ``gui_env.bank``."""
    return save_style_bank(tiny_fusion_bank(num_styles=3), gui_env.styles / "tiny-fusion.safetensors")


@pytest.fixture
def open_window(qtbot, gui_env: GuiEnv) -> Iterator[Callable[..., object]]:
    """Factory: ``open_window(source=..., **WindowOptions)`` → a started, shown MainWindow.

    On teardown every window is closed and the test fails if any of its threads survive.
    """
    from rtstyle_gui.options import WindowOptions
    from rtstyle_gui.settings import open_settings
    from rtstyle_gui.window import MainWindow

    windows: list[MainWindow] = []

    def make(**options: object) -> MainWindow:
        options.setdefault("source", str(gui_env.clip))
        options.setdefault("model", str(gui_env.bank))
        options.setdefault("backend", "torch")  # the reference the tests compare against
        window = MainWindow(WindowOptions(**options), open_settings(gui_env.settings))
        window.outputs.folder = gui_env.outputs
        qtbot.addWidget(window)
        window.show()
        window.start()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
    assert gui_threads() == [], "the window left threads running"
