"""What library code tells the person at the terminal: notices, warnings, debug logging.

Library modules never print.  They log: warnings through their own module logger, and status
lines a user should see while waiting (a first-run export, a rebuilt cache) through
:func:`notice`.  Only an entry point decides where these go; :func:`configure_console` is the
command line's choice: one ``rtstyle: ...`` line each on stderr, notices silenced by ``--quiet``,
everything (with logger names) under ``--debug``.
"""

from __future__ import annotations

import logging
import sys

#: Logger of user-facing status lines (INFO level), separate from the modules' debug chatter.
NOTICE_LOGGER = "rtstyle.notice"


def notice(message: str, *args: object) -> None:
    """Tell the user what is happening (e.g. why they are waiting); shown unless ``--quiet``."""
    logging.getLogger(NOTICE_LOGGER).info(message, *args)


class _ConsoleFormatter(logging.Formatter):
    """``rtstyle: message`` for notices, ``rtstyle: warning: message`` for everything else."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.name == NOTICE_LOGGER:
            return f"rtstyle: {text}"
        return f"rtstyle: {record.levelname.lower()}: {text}"


def configure_console(*, debug: bool, quiet: bool) -> None:
    """Send log records to stderr as the command line shows them (replaces earlier handlers)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    if debug:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.setLevel(logging.DEBUG)
    else:
        handler.setFormatter(_ConsoleFormatter())
        root.setLevel(logging.WARNING)
    root.addHandler(handler)
    notices = logging.getLogger(NOTICE_LOGGER)
    notices.setLevel(logging.WARNING if quiet and not debug else logging.INFO)
