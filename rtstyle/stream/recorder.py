"""Recording the stylized feed to a video file, in its own thread.

The encoder is the one ``rtstyle convert`` uses (:class:`rtstyle.stream.sinks.VideoSink`,
H.264 by default) and the file appears only when complete (:func:`atomic_output`), so a crash or
a full disk never leaves a half-written video under the chosen name.  Encoding runs beside
inference, not in it, so recording does not add latency; frames wait in a short bounded queue
and are dropped (and counted) only if the encoder falls behind for more than about a second.
Timestamps are the frames' capture times in milliseconds, so the file plays back at the speed
the scene happened even when inference ran slower than the camera.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

from rtstyle.stream.sinks import VideoSink
from rtstyle.video.atomic import atomic_output, check_destination
from rtstyle.video.frames import Frame
from rtstyle.video.writer import EncodeOptions

log = logging.getLogger(__name__)

#: Live recording must keep up with the camera on a laptop CPU that is also running the model,
#: so x264's "veryfast" preset rather than convert's "medium"; same codec, CRF and pixel format.
LIVE_ENCODE = EncodeOptions(preset="veryfast")
_TIME_BASE = Fraction(1, 1000)
_QUEUE_FRAMES = 30
_JOIN_S = 30.0


class Recorder(threading.Thread):
    """Writes submitted frames to ``path``; ``finish()`` ends the file, callbacks report."""

    def __init__(
        self,
        path: Path,
        *,
        fps: float,
        on_done: Callable[[Path, int], None],
        on_error: Callable[[BaseException], None],
        options: EncodeOptions = LIVE_ENCODE,
    ) -> None:
        super().__init__(name="rtstyle-record", daemon=True)
        check_destination(path, overwrite=False)  # fail in the caller, before anything starts
        self.path = path
        self._rate = Fraction(fps).limit_denominator(1001)
        self._options = options
        self._on_done = on_done
        self._on_error = on_error
        self._queue: queue.Queue[tuple[np.ndarray, float] | None] = queue.Queue(_QUEUE_FRAMES)
        self._finishing = threading.Event()
        self.written = 0
        self.dropped = 0

    def submit(self, rgb: np.ndarray, captured_at: float) -> None:
        """Queue one frame (called from the inference thread; never blocks)."""
        if self._finishing.is_set():
            return
        try:
            self._queue.put_nowait((rgb, captured_at))
        except queue.Full:
            self.dropped += 1

    def finish(self) -> None:
        """Stop accepting frames; the thread encodes what is queued and closes the file."""
        if self._finishing.is_set():
            return
        self._finishing.set()
        while self.is_alive():  # a thread that died on an error would never drain a full queue
            try:
                self._queue.put(None, timeout=0.1)
                return
            except queue.Full:
                continue

    def wait(self) -> None:
        """Block until the file is complete (used when the window closes mid-recording)."""
        if self.is_alive():
            self.join(_JOIN_S)

    def run(self) -> None:
        try:
            with atomic_output(self.path) as tmp:
                self._encode(tmp)
        except Exception as exc:  # noqa: BLE001 - reported to the window
            log.warning("recording %s failed: %s", self.path, exc)
            self._finishing.set()
            self._on_error(exc)
            return
        if self.dropped:
            log.warning("%s: %d frames dropped (the encoder fell behind)", self.path, self.dropped)
        self._on_done(self.path, self.written)

    def _encode(self, tmp: Path) -> None:
        # The sink opens its encoder on the first frame (its size is the file's size); leaving the
        # block closes the file on success and abandons it without flushing on an error.
        first_at: float | None = None
        with VideoSink(tmp, time_base=_TIME_BASE, rate=self._rate, options=self._options, label=str(self.path)) as sink:
            while (item := self._queue.get()) is not None:
                rgb, captured_at = item
                if sink.size is not None and rgb.shape[:2] != sink.size:
                    self.dropped += 1  # the source changed size; the file keeps its first size
                    continue
                first_at = captured_at if first_at is None else first_at
                pts = round((captured_at - first_at) / _TIME_BASE)
                sink.write(Frame(np.ascontiguousarray(rgb), pts, _TIME_BASE))
                self.written += 1
