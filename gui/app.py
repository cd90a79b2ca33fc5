"""Starting the window: the QApplication, the theme, the settings, Ctrl-C, the exit code."""

from __future__ import annotations

import signal
import sys

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

from rtstyle.errors import OutputError
from rtstyle_gui.options import WindowOptions
from rtstyle_gui.screenshot import ScreenshotTaker
from rtstyle_gui.settings import open_settings
from rtstyle_gui.theme import apply_dark_theme
from rtstyle_gui.window import MainWindow

#: How often the event loop lets Python run, so Ctrl-C in the terminal closes the window.
_SIGNAL_POLL_MS = 200


def run_window(options: WindowOptions) -> int:
    """Show the window until it is closed; returns the process exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("rtstyle")
    app.setOrganizationName("rtstyle")
    apply_dark_theme(app)
    window = MainWindow(options, open_settings(options.settings_path))
    window.show()
    window.start()
    taker = ScreenshotTaker(window, options.screenshot) if options.screenshot else None
    # Qt's loop runs in C++, where Python signal handlers never get a turn: a timer hands
    # control back regularly so that the SIGINT handler can close the window cleanly.
    previous = signal.signal(signal.SIGINT, lambda *_: window.close())
    poll = QTimer()
    poll.timeout.connect(lambda: None)
    poll.start(_SIGNAL_POLL_MS)
    try:
        app.exec()
    finally:
        signal.signal(signal.SIGINT, previous)
    if taker is not None and taker.error:
        raise OutputError(taker.error)
    return 0
