"""The capture thread: opens a source and keeps dropping its newest frame into a slot.

Opening happens here, not in the GUI thread, because opening a camera or probing a file can take
a noticeable moment (and fail).  Each frame is stamped with ``time.perf_counter()`` the moment it
arrives, which is where the window's capture→display latency is measured from.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rtstyle.stream.slot import LatestSlot
from rtstyle.stream.live_sources import FrameSource

log = logging.getLogger(__name__)

#: How long ``stop`` waits for the thread: a camera read blocks for at most one frame interval.
_JOIN_S = 5.0


@dataclass(frozen=True)
class Captured:
    """A frame as it left the source: ``uint8 [H,W,3]`` RGB, arrival time, which source and segment."""

    rgb: np.ndarray
    captured_at: float
    source_id: int  # tells frames of a source the user has since switched away from
    segment: int  # the source's segment: frames of one segment follow each other in time


class CaptureThread(threading.Thread):
    """Runs one source until stopped or until it fails (``on_error`` gets the exception)."""

    def __init__(
        self,
        source: FrameSource,
        source_id: int,
        slot: LatestSlot[Captured],
        on_error: Callable[[BaseException], None],
        on_first_frame: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name="rtstyle-capture", daemon=True)
        self.source = source
        self.source_id = source_id
        self._slot = slot
        self._on_error = on_error
        self._on_first_frame = on_first_frame
        self._stop_event = threading.Event()
        self.frames = 0

    def run(self) -> None:
        try:
            for rgb in self.source.frames(self._stop_event):
                if self._stop_event.is_set():
                    break
                self._slot.put(Captured(rgb, time.perf_counter(), self.source_id, self.source.segment))
                self.frames += 1
                if self.frames == 1 and self._on_first_frame is not None:
                    self._on_first_frame()
        except Exception as exc:  # noqa: BLE001 - any failure is reported; the window stays up
            if not self._stop_event.is_set():
                log.info("source failed after %d frames: %s", self.frames, exc)
                self._on_error(exc)

    def stop(self) -> None:
        """Ask the source to end and wait for the thread (the device is released on exit)."""
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(_JOIN_S)
            if self.is_alive():
                log.warning("capture thread did not stop within %.0f s", _JOIN_S)
