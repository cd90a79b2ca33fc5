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
    # From here on a stop signal closes the window the way the user would (a recording in
    # progress is completed): the handler only records it and asks Qt's loop to close the
    # windows.  Raising instead, as the command line's handler does, would abort the process
    # when it lands in Python code that Qt calls (a paint or show event while the window opens).
    received: list[int] = []

    def close_on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        QTimer.singleShot(0, app.closeAllWindows)  # once the loop runs, after the window opened

    previous = {signum: signal.signal(signum, close_on_signal) for signum in HANDLED_SIGNALS}
    # Qt's loop runs in C++, where Python signal handlers never get a turn: a timer hands
    # control back regularly so that the handler can run.
    poll = QTimer()
    poll.timeout.connect(lambda: None)
    poll.start(_SIGNAL_POLL_MS)
    try:
        app.setApplicationName("rtstyle")
        app.setOrganizationName("rtstyle")
        apply_dark_theme(app)
        window = MainWindow(options, open_settings(options.settings_path))
        window.show()
        window.start()
        taker = ScreenshotTaker(window, options.screenshot) if options.screenshot else None
        app.exec()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if taker is not None and taker.error:
        raise OutputError(taker.error)
    return 128 + received[0] if received else 0
