"""Starting the window: the QApplication, the theme, the settings, stop signals, the exit code."""

from __future__ import annotations

import signal
import sys

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

from rtstyle.errors import OutputError
from rtstyle.interrupts import HANDLED_SIGNALS
from rtstyle_gui.options import WindowOptions
from rtstyle_gui.screenshot import ScreenshotTaker
from rtstyle_gui.settings import open_settings
from rtstyle_gui.theme import apply_dark_theme
from rtstyle_gui.window import MainWindow

#: How often the event loop lets Python run, so Ctrl-C, SIGTERM or SIGHUP close the window.
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
    # control back regularly so that the handler can close the window cleanly (a recording in
    # progress is completed, as when the user closes the window).  Raising
    # from a Qt callback would abort the process, so the handler only closes and records.
    received: list[int] = []

    def close_on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        window.close()

    previous = {signum: signal.signal(signum, close_on_signal) for signum in HANDLED_SIGNALS}
    poll = QTimer()
    poll.timeout.connect(lambda: None)
    poll.start(_SIGNAL_POLL_MS)
    try:
        app.exec()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if taker is not None and taker.error:
        raise OutputError(taker.error)
    return 128 + received[0] if received else 0
