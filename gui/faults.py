"""Turning a failure into one line a user can read and the ways on the window should offer.

The window never dies on a fault: each failure is classified here into a message (the same one
line the CLI would print for an :class:`RtStyleError`) plus the remedies that make sense for it —
another source for a dead camera, the CPU or a lower working resolution after running out of
memory, another bank after a bad style file.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from rtstyle.backends.registry import TORCH
from rtstyle.errors import RtStyleError, StyleNotFoundError, first_line


class Remedy(enum.Enum):
    """A way on that the banner offers as a button."""

    RETRY_SOURCE = "Retry"
    OPEN_FILE = "Open a video file…"
    NEXT_CAMERA = "Try the next camera"
    LOWER_RESOLUTION = "Lower the resolution"
    USE_CPU = "Use the CPU"
    USE_TORCH = "Use PyTorch"
    OPEN_BANK = "Open a style bank…"


@dataclass(frozen=True)
class Fault:
    message: str
    remedies: tuple[Remedy, ...]


def is_out_of_memory(exc: BaseException) -> bool:
    """CPU ``MemoryError``, ``torch.OutOfMemoryError`` and the RuntimeErrors older torch raises."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def _detail(exc: BaseException) -> str:
    """Our own errors read as sentences; anything else is a bug and says what it was."""
    if isinstance(exc, RtStyleError):
        return first_line(exc)
    return f"{type(exc).__name__}: {first_line(exc)}"


def source_fault(is_camera: bool, exc: BaseException) -> Fault:
    """A source that could not open or stopped delivering."""
    remedies = (Remedy.RETRY_SOURCE, Remedy.NEXT_CAMERA, Remedy.OPEN_FILE) if is_camera else (
        Remedy.OPEN_FILE, Remedy.RETRY_SOURCE)
    return Fault(f"Video source: {_detail(exc)}", remedies)


def model_fault(on_gpu: bool, backend: str, exc: BaseException) -> Fault:
    """Loading a style bank, or preparing its backend on a device, failed."""
    if is_out_of_memory(exc):
        return _memory_fault(on_gpu, "loading the style bank")
    remedies = (Remedy.OPEN_BANK,) + ((Remedy.USE_TORCH,) if backend != TORCH else ()) + (
        (Remedy.USE_CPU,) if on_gpu else ())
    return Fault(f"Style bank: {_detail(exc)}", remedies)


def stylize_fault(on_gpu: bool, exc: BaseException) -> Fault:
    """Stylizing a frame failed; the window now shows the source unstyled."""
    if is_out_of_memory(exc):
        return _memory_fault(on_gpu, "stylizing")
    remedies = (Remedy.USE_CPU, Remedy.LOWER_RESOLUTION) if on_gpu else (Remedy.LOWER_RESOLUTION,)
    return Fault(f"Stylizing stopped: {_detail(exc)}; showing the original", remedies)


def _memory_fault(on_gpu: bool, doing: str) -> Fault:
    where = "GPU" if on_gpu else "computer"
    remedies = (Remedy.LOWER_RESOLUTION, Remedy.USE_CPU) if on_gpu else (Remedy.LOWER_RESOLUTION,)
    return Fault(f"The {where} ran out of memory {doing}; showing the original", remedies)


def recording_fault(exc: BaseException) -> Fault:
    return Fault(f"Recording: {_detail(exc)}", ())


def picture_fault(exc: BaseException) -> Fault:
    """A picture that could not become a style (unreadable, too small, no any-style bank)."""
    return Fault(f"Add painting: {_detail(exc)}", (Remedy.OPEN_BANK,) if isinstance(exc, StyleNotFoundError) else ())
