"""Error hierarchy and exit codes.

Library code raises these; only entry points (the CLI, the window) turn them into a one-line
message.  A user mistake (bad path, unknown style, hostile file) must never print a traceback,
so every failure a user can cause is one of the ``RtStyleError`` subclasses below.
"""

from __future__ import annotations

#: Exit code for a mistake the user can fix (bad input, bad option, bad model file).
EXIT_USER_ERROR = 2
#: Exit code when the requested backend or device is not available on this machine.
EXIT_UNAVAILABLE = 3
#: Exit code for a bug in rtstyle itself (anything that is not an ``RtStyleError``).
EXIT_INTERNAL_ERROR = 70
#: Exit code after Ctrl-C, as shells report for SIGINT.
EXIT_INTERRUPTED = 130


class RtStyleError(Exception):
    """Base of every error a user can cause; its message is shown as one line."""

    exit_code = EXIT_USER_ERROR


class InputError(RtStyleError):
    """A media file or an option the user gave cannot be used (missing, corrupt, unsupported)."""


class OutputError(RtStyleError):
    """The destination cannot be written (exists, unwritable, same as the input, bad codec)."""


class ModelFileError(RtStyleError):
    """A style file is missing, malformed, of an unknown version or inconsistent."""


class StyleNotFoundError(RtStyleError):
    """A style or style bank name does not match anything installed."""


class BackendUnavailableError(RtStyleError):
    """A backend or device was requested that this machine cannot provide."""

    exit_code = EXIT_UNAVAILABLE


def first_line(exc: BaseException) -> str:
    """The exception's message as one line; its type name if it has none."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
