"""The newest-wins scheduler: an inference thread takes the newest captured frame, stylizes it, hands it on.

Live sources (cameras, streams, a looping file in the window) must never queue, so the capture
thread (:mod:`rtstyle.stream.capture`) drops each frame into a depth-1 slot and this thread takes
whatever is newest.  Its sinks are the view -- a depth-1 result slot plus a nudge -- and any
:class:`rtstyle.stream.sinks.LiveSink` (recorder, virtual camera).

Nothing is stylized larger than it is shown: the window tells this thread the size of the view
(:meth:`InferenceWorker.set_display_size`), and a frame bigger than that is shrunk to fit it
before the stylizer sees it -- at 720p in a 980×750 view that is 41 % fewer pixels through the
generator and F.  While a sink takes the output (recording, the virtual camera), frames keep the
source's full size, since that is what a recording should hold.

It never waits for the view: results go into a depth-1 slot and the view is nudged only when the
slot was empty (a nudge already pending will pick up the newer result), so neither frames nor
notifications pile up when painting is slow.  The stylizer is swapped by reference (a new model,
a new device) and read once per frame, so a change applies on the next frame without locks; its
live controls are the stylizer's own thread-safe settings.  A stylizer that fails (out of memory,
a driver error) is dropped and the original picture shown, so the window stays live while the
user chooses a way on.

The stylizer carries state from frame to frame (the fusion network reuses its previous output,
warped along the motion), which is only right while frames follow each other.  This thread owns
the stylizer, so it is the one that resets it — before the first frame of a new source, a new
segment of a source (a looping file back at its start) or a newly set stylizer — and no other
thread ever touches the stylizer's state mid-frame.  Changes to a stylizer's model that a frame
must not meet half-done (styles added to it) are handed to this thread too, and run between frames.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from rtstyle.stream.capture import Captured
from rtstyle.stream.sinks import LiveSink
from rtstyle.stream.slot import LatestSlot

log = logging.getLogger(__name__)

_POLL_S = 0.1
_JOIN_S = 10.0  # one inference of a big frame on a slow CPU, at worst


class Stylize(Protocol):
    """uint8 ``[H,W,3]`` RGB in, same size out; in the window a :class:`rtstyle.stylizer.Stylizer`."""

    def __call__(self, rgb: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None:
        """Forget earlier frames: the next one does not follow them."""


@dataclass(frozen=True)
class Result:
    """One processed frame: the source picture, what to show, and its timing."""

    original: np.ndarray  # uint8 [H,W,3]
    output: np.ndarray  # uint8 [H,W,3]; the original itself while no model is ready
    stylized: bool
    captured_at: float  # perf_counter seconds
    infer_s: float
    source_id: int


class InferenceWorker(threading.Thread):
    """Stylizes frames from ``frames`` into ``results`` until stopped."""

    def __init__(
        self,
        frames: LatestSlot[Captured],
        results: LatestSlot[Result],
        notify: Callable[[], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        super().__init__(name="rtstyle-infer", daemon=True)
        self._frames = frames
        self._results = results
        self._notify = notify
        self._on_error = on_error
        self._stylizer: Stylize | None = None
        self._sinks: tuple[LiveSink, ...] = ()
        self._edits: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._stop_event = threading.Event()
        self._display_size: tuple[int, int] | None = None  # (width, height) the output is shown at
        # The stylizer that stylized the last frame, and that frame's source and segment.
        self._last_stylized: tuple[Stylize, int, int] | None = None

    @property
    def stylizer(self) -> Stylize | None:
        return self._stylizer

    def set_stylizer(self, stylizer: Stylize | None) -> None:
        """Use ``stylizer`` from the next frame on (None: show the source as it is)."""
        self._stylizer = stylizer

    def set_display_size(self, size: tuple[int, int] | None) -> None:
        """The largest (width, height), in pixels of the screen, the output is shown at; None: any size."""
        self._display_size = size

    def add_sink(self, sink: LiveSink) -> None:
        self._sinks = (*self._sinks, sink)

    def remove_sink(self, sink: LiveSink) -> None:
        self._sinks = tuple(s for s in self._sinks if s is not sink)

    def between_frames(self, edit: Callable[[], None]) -> None:
        """Run ``edit`` in this thread before the next frame (within ``_POLL_S`` when none comes).

        ``edit`` must not raise: it is the caller's change, and the caller reports how it went.
        """
        self._edits.put(edit)

    def run(self) -> None:
        while not self._stop_event.is_set():
            captured = self._frames.take(timeout=_POLL_S)
            self._run_edits()
            if captured is not None:
                self._process(captured)

    def _run_edits(self) -> None:
        while True:
            try:
                edit = self._edits.get_nowait()
            except queue.Empty:
                return
            edit()

    def _process(self, captured: Captured) -> None:
        stylizer = self._stylizer  # one read: a swap mid-frame must not mix two models
        started = time.perf_counter()
        output = captured.rgb
        if stylizer is not None:
            try:
                self._continue_or_reset(stylizer, captured)
                output = stylizer(captured.rgb if self._sinks else shrink_to_fit(captured.rgb, self._display_size))
            except Exception as exc:  # noqa: BLE001 - forwarded to the window, which offers a way on
                log.warning("stylizing failed: %s", exc)
                if self._stylizer is stylizer:
                    self._stylizer = None
                self._on_error(exc)
                stylizer = None
        if stylizer is None:  # frames went by unstylized: a stylizer set again must start afresh
            self._last_stylized = None
        infer_s = time.perf_counter() - started
        for sink in self._sinks:
            sink.submit(output, captured.captured_at)
        result = Result(captured.rgb, output, stylizer is not None, captured.captured_at, infer_s, captured.source_id)
        if not self._results.put(result):
            self._notify()

    def _continue_or_reset(self, stylizer: Stylize, captured: Captured) -> None:
        """Reset ``stylizer`` unless ``captured`` directly follows the last frame it stylized."""
        stream = (stylizer, captured.source_id, captured.segment)
        if stream != self._last_stylized:
            stylizer.reset()
            self._last_stylized = stream

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(_JOIN_S)
            if self.is_alive():
                log.warning("inference thread did not stop within %.0f s", _JOIN_S)


def shrink_to_fit(rgb: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """``rgb`` shrunk (aspect kept) to fit within ``size`` = (width, height); as it is when it fits
    already or ``size`` is None.  Never enlarged: a small view does not make a small camera's
    frames bigger.

    Down to half size bilinear, which still reads every source pixel: 720p into a 980×551 view
    takes ~0.4 ms against ~2.5 ms area-averaged (OpenCV's slow path for a factor that is not a
    whole one), within one grey level on average, and no difference to see at 1:1.  Smaller than
    half, area averaging, as bilinear would skip pixels and alias."""
    if size is None:
        return rgb
    height, width = rgb.shape[:2]
    factor = min(size[0] / width, size[1] / height)
    if factor >= 1.0:
        return rgb
    fitted = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(rgb, fitted, interpolation=cv2.INTER_LINEAR if factor >= 0.5 else cv2.INTER_AREA)
