"""Sending the stylized feed to a virtual camera, for video-call and streaming apps.

A virtual camera is a live sink: apps reading it want the newest picture, never a backlog, so
frames pass through a latest-wins slot to a thread that owns the device (sending can block for a
frame interval).  It needs the optional ``pyvirtualcam`` package (``rtstyle[vcam]``) and a virtual
camera driver (v4l2loopback on Linux, OBS on Windows and macOS); either one missing becomes a
one-line :class:`BackendUnavailableError` saying what to install.  The device is opened at the
size of the first frame and reopened if the source changes size.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from rtstyle.errors import BackendUnavailableError, first_line
from rtstyle.stream.slot import LatestSlot

log = logging.getLogger(__name__)

_POLL_S = 0.1
_JOIN_S = 5.0


def load_pyvirtualcam() -> ModuleType:
    """Import pyvirtualcam, or say how to install it."""
    try:
        return importlib.import_module("pyvirtualcam")
    except ImportError:
        raise BackendUnavailableError("the virtual camera needs pyvirtualcam: pip install 'rtstyle[vcam]'") from None


class VirtualCamera(threading.Thread):
    """Feeds submitted frames to the first virtual camera device pyvirtualcam finds."""

    def __init__(self, fps: float, on_started: Callable[[str], None],
                 on_error: Callable[[BaseException], None]) -> None:
        super().__init__(name="rtstyle-vcam", daemon=True)
        self._module = load_pyvirtualcam()  # fails in the caller, before the thread starts
        self._fps = fps
        self._on_started = on_started
        self._on_error = on_error
        self._frames: LatestSlot[np.ndarray] = LatestSlot()
        self._stop_event = threading.Event()
        self.sent = 0

    def submit(self, rgb: np.ndarray, captured_at: float) -> None:
        """Offer a frame (from the inference thread; never blocks, newer frames replace older)."""
        self._frames.put(rgb)

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(_JOIN_S)

    def run(self) -> None:
        camera: Any = None
        try:
            while not self._stop_event.is_set():
                rgb = self._frames.take(timeout=_POLL_S)
                if rgb is None:
                    continue
                if camera is None or (camera.height, camera.width) != rgb.shape[:2]:
                    if camera is not None:
                        camera.close()
                    camera = self._open(rgb.shape[1], rgb.shape[0])
                camera.send(np.ascontiguousarray(rgb))
                self.sent += 1
        except Exception as exc:  # noqa: BLE001 - reported to the window, which unchecks the action
            log.warning("virtual camera stopped: %s", exc)
            self._on_error(exc)
        finally:
            if camera is not None:
                camera.close()

    def _open(self, width: int, height: int) -> Any:
        try:
            camera = self._module.Camera(width, height, self._fps, fmt=self._module.PixelFormat.RGB)
        except (RuntimeError, OSError, ValueError) as exc:
            raise BackendUnavailableError(f"no virtual camera device to send to ({first_line(exc)})") from exc
        log.info("virtual camera %s opened at %dx%d", camera.device, width, height)
        self._on_started(str(camera.device))
        return camera
