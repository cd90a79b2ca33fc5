"""``rtstyle gui``: registered as a plugin, checks options up front, grabs a screenshot offscreen."""

from __future__ import annotations

import signal
import subprocess
import sys

import numpy as np
import pytest

from rtstyle.cli import main
from rtstyle.device import pick_device
from rtstyle.errors import BackendUnavailableError


def test_gui_is_a_registered_subcommand(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["gui", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--source camera:N|PATH" in out and "--scale auto|F" in out and "auto (the default)" in out


def test_scale_is_auto_or_a_fraction() -> None:
    from rtstyle_gui.command import parse_scale

    assert parse_scale(None) is None  # not given: the saved choice applies
    assert parse_scale("auto") == parse_scale(" AUTO ") == "auto"
    assert parse_scale("0.5") == 0.5


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--strength", "2"], "--strength must be between 0 and 1"),
        (["--scale", "0"], "--scale must be in (0, 4]"),
        (["--scale", "half"], "--scale must be auto or a number, got 'half'"),
        (["--source", "camera:front"], "expected camera:N"),
        (["--source", "missing.mp4"], "missing.mp4: no such file"),
        (["--style", "nope"], "unknown style 'nope'"),
        (["--backend", "nope"], "unknown backend 'nope'"),
    ],
)
def test_bad_options_fail_with_one_line_before_any_window(gui_env, capsys, argv, message) -> None:
    code = main(["gui", "--model", str(gui_env.bank), *argv])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_unavailable_device_exits_3(gui_env, capsys) -> None:
    try:
        pick_device("cuda:7")
        pytest.skip("this machine has eight CUDA GPUs")
    except BackendUnavailableError:
        pass
    assert main(["gui", "--model", str(gui_env.bank), "--device", "cuda:7"]) == 3


def test_missing_pyqt6_is_a_one_line_error(gui_env, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "PyQt6.QtWidgets", None)  # makes `import PyQt6.QtWidgets` fail
    assert main(["gui", "--source", str(gui_env.clip)]) == 3
    assert "rtstyle: error: the window needs PyQt6: pip install 'rtstyle[gui]'" in capsys.readouterr().err


def test_screenshot_grabs_the_running_window(gui_env, tmp_path) -> None:
    pytest.importorskip("PyQt6.QtWidgets", reason="the window needs PyQt6")
    from rtstyle.video.images import read_image
    from rtstyle_gui.view import BACKGROUND

    shot = tmp_path / "window.png"
    assert main(["gui", "--source", str(gui_env.clip), "--model", str(gui_env.bank), "--backend", "torch",
                 "--settings", str(tmp_path / "s.ini"), "--screenshot", str(shot)]) == 0
    rgb = read_image(shot)
    assert rgb.shape[0] >= 500 and rgb.shape[1] >= 800
    background = np.array([BACKGROUND.red(), BACKGROUND.green(), BACKGROUND.blue()])
    assert (rgb == background).all(axis=2).mean() > 0.005  # dark surround of the (4:3) video
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 500  # and a real picture in it


def test_no_display_is_a_one_line_error_not_an_abort(gui_env, capsys, monkeypatch) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("DISPLAY only decides this on Linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main(["gui", "--source", str(gui_env.clip)]) == 3
    assert "no display to open the window on" in capsys.readouterr().err


#: The window's command with a stop signal sent from inside the window's show event: Python code
#: that Qt calls, where an exception aborts the process (PyQt6 calls qFatal).
_SIGNAL_AS_THE_WINDOW_OPENS = """
import os, signal, sys
from rtstyle_gui.window import MainWindow
def show_then_signal(self, event):
    os.kill(os.getpid(), signal.SIGTERM)
    super(MainWindow, self).showEvent(event)
MainWindow.showEvent = show_then_signal
from rtstyle.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_stop_signal_while_the_window_opens_closes_it_as_the_user_would(gui_env, tmp_path) -> None:
    pytest.importorskip("PyQt6.QtWidgets", reason="the window needs PyQt6")
    settings = tmp_path / "s.ini"
    command = [sys.executable, "-c", _SIGNAL_AS_THE_WINDOW_OPENS, "gui", "--source", str(gui_env.clip),
               "--model", str(gui_env.bank), "--backend", "torch", "--settings", str(settings)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert "Traceback" not in done.stderr and "terminate" not in done.stderr
    assert settings.exists()  # the window's close event ran: it saves the settings
