"""Termination signals as Ctrl-C: SIGTERM and SIGHUP unwind rtstyle the way SIGINT does.

``timeout``, ``kill``, systemd and ``docker stop`` send SIGTERM; closing a terminal sends SIGHUP.
Python's default for both is to die on the spot, which skips every ``finally`` and leaves the
hidden temporary output beside the destination.  Raising an exception instead lets the same
clean-up paths that handle Ctrl-C run (the temporary file is removed, worker threads stop).  The
exception subclasses ``KeyboardInterrupt`` so code that already handles Ctrl-C handles these too.

The handlers are one-shot: once a signal has started the unwinding, further signals are noted but
not raised, so a second Ctrl-C (or a supervisor repeating SIGTERM) cannot interrupt the clean-up
half way and print a traceback from inside it.

Python runs a signal handler between any two bytecodes of the main thread, so the exception can
land between acquiring a resource and registering its clean-up: just after ``queue.Queue`` has
taken its internal lock (the encode thread then waits on that lock forever and the conversion
hangs instead of stopping), or just after the temporary output was created but before the block
that deletes it was entered.  And where C++ calls back into Python (torch's start-up) an
exception cannot travel back at all: the process aborts (which is also why the window's handler,
in ``gui/app.py``, never raises).  :func:`interrupts_held` marks such stretches: a signal that
arrives inside one is raised as soon as it ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: Signals turned into :class:`Interrupted`; SIGHUP does not exist on Windows.
HANDLED_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Interrupted(KeyboardInterrupt):
    """The process was asked to stop by ``signum``; exits as shells expect, ``128 + signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def interrupt_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The interrupt that ``exc`` was raised from, if any: a signal that lands while Python runs a
    class's ``__set_name__`` (a dataclass being defined as torch imports, say) surfaces on Python
    3.11 as a ``RuntimeError`` whose cause is our :class:`Interrupted`."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def interrupt_exit_code(exc: KeyboardInterrupt) -> int:
    """Exit status for ``exc``: its signal's, or SIGINT's for a plain ``KeyboardInterrupt``."""
    return exc.exit_code if isinstance(exc, Interrupted) else 128 + signal.SIGINT


class _OneShot:
    """Signal handler raising :class:`Interrupted` for the first signal only, or holding it for
    :func:`interrupts_held` while the main thread is inside a held stretch (``held`` deep)."""

    def __init__(self) -> None:
        self.fired = False
        self.held = 0
        self.pending: int | None = None

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        if self.fired:
            return
        self.fired = True
        if self.held:
            self.pending = signum
            return
        raise Interrupted(signum)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Run the block whole: a signal arriving inside it is raised when it ends, not midway.

    For stretches that end soon (a queue hand-off, creating a file and arming its clean-up, a
    native library's import): a held signal waits for the block.  Only the main thread receives
    signals, so elsewhere, and where :func:`install_interrupt_handlers` has not run, this does
    nothing.
    """
    handler = signal.getsignal(signal.SIGINT)
    if not isinstance(handler, _OneShot) or threading.current_thread() is not threading.main_thread():
        yield
        return
    handler.held += 1
    try:
        yield
    finally:
        handler.held -= 1
        # A signal after the decrement raises by itself; one before it is pending here, and wins
        # over an error of the block as it would have without the hold.
        if handler.pending is not None and not handler.held:
            signum, handler.pending = handler.pending, None
            raise Interrupted(signum)


def install_interrupt_handlers() -> None:
    """Route SIGINT, SIGTERM and SIGHUP to :class:`Interrupted` (main thread only; else no-op)."""
    if threading.current_thread() is not threading.main_thread():
        return
    handler = _OneShot()
    for signum in HANDLED_SIGNALS:
        signal.signal(signum, handler)
