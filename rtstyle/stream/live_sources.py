"""Sources for the newest-wins scheduler (the window): a camera, a network stream, or a looping file.

A source is described by a :class:`rtstyle.stream.spec.SourceSpec` (what the user picked, what
the settings store, what ``--source`` parses) and opened into a :class:`FrameSource` *inside the
capture thread*, so a slow or failing open never freezes the window.  A looping file stands in for
a camera: it is paced to its timestamps against the wall clock, so the rest of the window sees
frames arrive at camera-like rate and can be tested without a camera.  A network stream arrives
in real time by itself; when it drops it is opened again a few times before the window is told.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from rtstyle.errors import InputError, first_line
from rtstyle.stream.spec import SourceSpec
from rtstyle.video.camera import Camera
from rtstyle.video.reader import VideoReader

log = logging.getLogger(__name__)

#: A file source that falls this far behind its clock (slow decode) re-anchors instead of
#: rushing through frames to catch up, which would only be dropped downstream.
_MAX_LAG_S = 0.25
#: A network stream that drops is opened again this many times, this many seconds apart, before
#: the window says it is gone: a camera rebooting or a Wi-Fi hiccup should not need a click.
RECONNECT_TRIES = 3
RECONNECT_WAIT_S = 1.0


class FrameSource(Protocol):
    """Yields RGB frames until ``stop`` is set; raises ``InputError`` when it cannot go on."""

    #: Nominal frame rate once known (for recording), else ``None``.
    nominal_fps: float | None
    #: Bumped when the frames jump (a file looping back to its start), so that whoever carries
    #: something from frame to frame (the fusion network's previous frame) knows to drop it.
    segment: int

    def frames(self, stop: threading.Event) -> Iterator[np.ndarray]: ...


class CameraSource:
    """Frames from an OpenCV camera, as fast as the camera delivers them."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.nominal_fps: float | None = None
        self.segment = 0  # a camera never jumps; reopening one makes a new source

    def frames(self, stop: threading.Event) -> Iterator[np.ndarray]:
        with Camera(self.index) as camera:
            self.nominal_fps = camera.fps
            while not stop.is_set():
                yield camera.read()


class LoopingFileSource:
    """A video file played over and over at its own frame timing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.nominal_fps: float | None = None
        self.segment = 0  # passes completed: each pass starts a new segment

    def frames(self, stop: threading.Event) -> Iterator[np.ndarray]:
        with VideoReader(self.path) as reader:
            rate = float(reader.average_rate) if reader.average_rate else 25.0
            self.nominal_fps = rate
            while not stop.is_set():
                yield from self._one_pass(reader, 1.0 / rate, stop)
                self.segment += 1

    @staticmethod
    def _one_pass(reader: VideoReader, frame_s: float, stop: threading.Event) -> Iterator[np.ndarray]:
        """Every frame once, each released at its presentation time (clock anchored at the start)."""
        anchor: float | None = None
        first: float = 0.0
        last = 0.0
        for index, frame in enumerate(reader.frames()):
            at = frame.time if frame.time is not None else index * frame_s
            if anchor is None:
                anchor, first = time.perf_counter(), at
            last = at - first
            delay = anchor + last - time.perf_counter()
            if delay < -_MAX_LAG_S:
                anchor -= delay
            elif delay > 0 and stop.wait(delay):
                return
            yield frame.rgb
        # Hold the last frame for its duration so a loop keeps the clip's rhythm.
        if anchor is not None:
            stop.wait(max(0.0, anchor + last + frame_s - time.perf_counter()))


class NetworkStreamSource:
    """A URL FFmpeg opens (``rtsp://``, ``http(s)://``, ``udp://``, ...), reopened when it drops."""

    def __init__(self, url: str, *, tries: int = RECONNECT_TRIES, wait_s: float = RECONNECT_WAIT_S) -> None:
        self.url = url
        self.nominal_fps: float | None = None
        self.segment = 0  # each reconnection starts a new segment: frames do not follow across it
        self._tries, self._wait_s = tries, wait_s

    def frames(self, stop: threading.Event) -> Iterator[np.ndarray]:
        failures = 0
        while not stop.is_set():
            delivered = 0
            try:
                with VideoReader(self.url) as reader:
                    self.nominal_fps = float(reader.average_rate) if reader.average_rate else None
                    for frame in reader.frames():
                        delivered += 1
                        failures = 0
                        yield frame.rgb
                        if stop.is_set():
                            return
                error = f"{self.url}: the stream ended"
            except InputError as exc:
                error = first_line(exc)
            failures += 1 if delivered == 0 else 0
            if failures >= self._tries:
                raise InputError(f"{error}; gave up after {self._tries} tries to reconnect")
            log.info("%s (%d frames); reconnecting", error, delivered)
            self.segment += 1
            if stop.wait(self._wait_s):
                return


def open_source(spec: SourceSpec) -> FrameSource:
    """The frame source for ``spec`` (nothing is opened until iteration starts)."""
    if spec.camera is not None:
        return CameraSource(spec.camera)
    if spec.url is not None:
        return NetworkStreamSource(spec.url)
    if spec.path is None:
        raise InputError("the window takes camera:N, a video file or a URL as its source, not standard input")
    return LoopingFileSource(spec.path)
