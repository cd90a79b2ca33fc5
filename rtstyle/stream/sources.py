"""Sources for the ordered scheduler (``convert``): every frame, in order, with its timestamp.

A :class:`Source` is what :func:`rtstyle.stream.ordered.convert_stream` reads: the stream's
size, timing and audio streams up front, then one pass of frames and audio packets.  Files, pipes
and network streams are all :class:`rtstyle.video.reader.VideoReader`; a camera is
:class:`CameraStream`, stamped with its capture times.  Live sources (cameras, network streams)
can go away mid-stream; for a conversion that is the end of the input, said in one line, and the
output keeps what arrived (:func:`until_dropped`) -- a recording of an hour is not thrown away
because the camera was unplugged at the end.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from types import TracebackType
from typing import Protocol

import av
import av.audio.stream
import numpy as np

from rtstyle.console import notice
from rtstyle.errors import InputError, first_line
from rtstyle.stream.spec import SourceSpec
from rtstyle.video.camera import Camera
from rtstyle.video.frames import Frame
from rtstyle.video.reader import VideoReader

log = logging.getLogger(__name__)

#: A camera's frames are stamped in milliseconds of wall-clock capture time.
CAMERA_TIME_BASE = Fraction(1, 1000)


class Source(Protocol):
    """What the ordered scheduler needs of an input (``VideoReader`` and ``CameraStream`` have it)."""

    label: str
    width: int
    height: int
    time_base: Fraction
    average_rate: Fraction | None
    frame_count: int | None  # None when unknown (streams, cameras): the progress bar then counts up
    audio_streams: list[av.audio.stream.AudioStream]

    def items(self) -> Iterator[Frame | av.Packet]: ...

    def close(self) -> None: ...


class CameraStream:
    """An OpenCV camera as an endless source; the first frame is read at once to learn the size."""

    time_base = CAMERA_TIME_BASE
    frame_count: int | None = None

    def __init__(self, index: int) -> None:
        self._camera = Camera(index)
        try:
            self._first = self._camera.read()
        except BaseException:
            self._camera.close()
            raise
        self._started = 0.0
        self.label = f"camera {index}"
        self.height, self.width = self._first.shape[:2]
        fps = self._camera.fps
        self.average_rate: Fraction | None = Fraction(fps).limit_denominator(1001) if fps else None
        self.audio_streams: list[av.audio.stream.AudioStream] = []

    def items(self) -> Iterator[Frame | av.Packet]:
        """Frames stamped from the start of this pass (a model may have loaded since the open)."""
        self._started = time.perf_counter()
        yield Frame(self._first, 0, CAMERA_TIME_BASE)
        while True:
            rgb = self._camera.read()
            yield Frame(np.ascontiguousarray(rgb), round((time.perf_counter() - self._started) * 1000), CAMERA_TIME_BASE)

    def close(self) -> None:
        self._camera.close()

    def __enter__(self) -> CameraStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_source(spec: SourceSpec) -> VideoReader | CameraStream:
    """Open ``spec`` for a conversion; raises ``InputError`` with one line if it cannot be read."""
    if spec.camera is not None:
        return CameraStream(spec.camera)
    if spec.stdin:
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError("- reads the video from standard input, but nothing is piped in (use: ... < in.mkv)")
        return VideoReader(sys.stdin.buffer, label="standard input")
    return VideoReader(spec.url if spec.url is not None else spec.path)  # type: ignore[arg-type]


def until_dropped(items: Iterator[Frame | av.Packet], label: str) -> Iterator[Frame | av.Packet]:
    """``items``, ending (with one line) where a live source stops delivering after its first frame."""
    frames = 0
    try:
        for item in items:
            frames += isinstance(item, Frame)
            yield item
    except InputError as exc:
        if frames == 0:
            raise
        notice("%s stopped after %d frames (%s); the output ends there", label, frames, first_line(exc))
