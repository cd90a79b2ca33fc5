"""Where live frames come from: a camera, or a video file played in a loop at its own pace.

A source is described by a :class:`SourceSpec` (what the user picked, what the settings store,
what ``--source`` parses) and opened into a :class:`FrameSource` *inside the capture thread*, so a
slow or failing open never freezes the window.  A looping file stands in for a camera: it is
paced to its timestamps against the wall clock, so the rest of the window sees frames arrive at
camera-like rate and can be tested without a camera.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from rtstyle.errors import InputError
from rtstyle.video.camera import Camera
from rtstyle.video.reader import VideoReader

log = logging.getLogger(__name__)

CAMERA_PREFIX = "camera:"
#: A file source that falls this far behind its clock (slow decode) re-anchors instead of
#: rushing through frames to catch up, which would only be dropped downstream.
_MAX_LAG_S = 0.25


@dataclass(frozen=True)
class SourceSpec:
    """A camera index or a video file path; ``str()`` gives the ``--source`` spelling back."""

    camera: int | None = None
    path: Path | None = None

    @classmethod
    def parse(cls, text: str) -> SourceSpec:
        """``camera:N`` (or a bare ``N``) is camera N; anything else is a file path."""
        text = text.strip()
        if not text:
            raise InputError("empty --source: use camera:N or a video file path")
        number = text[len(CAMERA_PREFIX):] if text.lower().startswith(CAMERA_PREFIX) else text
        if number.isdigit():
            return cls(camera=int(number))
        if text.lower().startswith(CAMERA_PREFIX):
            raise InputError(f"invalid --source {text!r}: expected camera:N with N a number")
        # Absolute, so the saved setting still finds the file when started from elsewhere.
        return cls(path=Path(text).expanduser().absolute())

    @property
    def is_camera(self) -> bool:
        return self.camera is not None

    @property
    def label(self) -> str:
        """What the source picker shows."""
        return f"Camera {self.camera}" if self.camera is not None else (self.path.name if self.path else "?")

    def __str__(self) -> str:
        return f"{CAMERA_PREFIX}{self.camera}" if self.camera is not None else str(self.path)


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


def open_source(spec: SourceSpec) -> FrameSource:
    """The frame source for ``spec`` (nothing is opened until iteration starts)."""
    if spec.camera is not None:
        return CameraSource(spec.camera)
    if spec.path is None:
        raise InputError("no source given: use camera:N or a video file path")
    return LoopingFileSource(spec.path)
