"""Webcam frames through OpenCV, as upright ``uint8 [H, W, 3]`` RGB.

Cameras differ from files in the ways that matter to a live window: they have no timestamps and
no end, opening one can fail because it is absent or held by another program, and they can
vanish mid-stream (unplugged).  OpenCV reports all of these only through return values
(``isOpened()`` false, ``read()`` returning ``False``), so this module turns them into
:class:`rtstyle.errors.InputError` with a message a user can act on.  Torch-free on purpose: the
capture side of the window must not pay for (or depend on) the inference stack.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Protocol

import cv2
import numpy as np

from rtstyle.errors import InputError

log = logging.getLogger(__name__)

#: Consecutive failed reads before a camera counts as gone.  USB cameras occasionally drop a
#: single frame (bandwidth, auto-exposure changes); an unplugged one fails every read.
MAX_FAILED_READS = 5


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` used here (tests substitute a fake)."""

    def isOpened(self) -> bool: ...
    def read(self) -> tuple[bool, np.ndarray | None]: ...
    def get(self, prop: int) -> float: ...
    def release(self) -> None: ...


def open_capture(index: int) -> Capture:
    """Open camera ``index`` with OpenCV's default backend for this platform."""
    return cv2.VideoCapture(index)


class Camera:
    """An opened camera; use as a context manager.  ``read()`` blocks until the next frame."""

    def __init__(self, index: int) -> None:
        if index < 0:
            raise InputError(f"camera index must be 0 or more, got {index}")
        self.index = index
        self._capture = open_capture(index)
        if not self._capture.isOpened():
            self._capture.release()
            raise InputError(f"camera {index}: not found, or in use by another program")
        reported = self._capture.get(cv2.CAP_PROP_FPS)
        # Many drivers report 0 (unknown) or absurd rates; callers then fall back to measuring.
        self.fps: float | None = reported if 1.0 <= reported <= 240.0 else None
        log.info("camera %d opened (%s fps reported)", index, self.fps)

    def read(self) -> np.ndarray:
        """The next frame as RGB; raises ``InputError`` once the camera stops delivering."""
        for _ in range(MAX_FAILED_READS):
            ok, image = self._capture.read()
            if ok and image is not None and image.size:
                return _to_rgb(image)
        raise InputError(f"camera {self.index} stopped delivering frames (unplugged or taken by another program?)")

    def close(self) -> None:
        """Release the device so other programs (or a later open) can use it."""
        self._capture.release()

    def __enter__(self) -> Camera:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _to_rgb(image: np.ndarray) -> np.ndarray:
    """OpenCV delivers BGR (or grey, or BGRA from some drivers); make it contiguous RGB."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
