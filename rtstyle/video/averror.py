"""Turn PyAV and OS exceptions into the short reason shown in a one-line user message.

``str()`` of a PyAV error reads ``[Errno 1094995529] Invalid data found when processing input:
'/path'``; the errno is noise to a user and the path is already at the front of our messages.
"""

from __future__ import annotations


def reason(exc: BaseException) -> str:
    """The human-readable cause carried by ``exc``, on one line."""
    strerror = getattr(exc, "strerror", None)
    if strerror:
        return str(strerror)
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
