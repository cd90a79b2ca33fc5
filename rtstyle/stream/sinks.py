"""Where stylized frames go: encoded video (a file or standard output) and the live sinks' contract.

An encoded sink opens its encoder at the size of the first frame it is given -- the stylizer
decides the output size, so nothing upstream has to predict it -- and that is written once,
here, for ``convert`` and for the window's recorder alike.  A file appears only when complete
(:func:`rtstyle.video.atomic.atomic_output`); standard output is a pipe, so it can only be
streamed into and needs its container named (``--format matroska``, as ffmpeg's ``-f``).

Live sinks (the window's view, the recorder, the virtual camera) take frames from the
newest-wins scheduler through :class:`LiveSink` and must never block it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol

import av
import av.audio.stream
import numpy as np

from rtstyle.errors import OutputError
from rtstyle.stream.spec import STANDARD_STREAM
from rtstyle.video.atomic import atomic_output
from rtstyle.video.frames import Frame
from rtstyle.video.writer import EncodeOptions, VideoWriter


class LiveSink(Protocol):
    """Anything that wants every output frame of a live source; ``submit`` must not block."""

    def submit(self, rgb: np.ndarray, captured_at: float) -> None: ...


class VideoSink:
    """Encodes frames into ``target`` (a path or a binary pipe), opened at the first frame's size.

    ``time_base``/``rate`` are the timing to aim for (the source's); audio packets must come from
    one of ``audio_streams``.  Use as a context manager: a clean exit finishes the container, an
    error abandons it.  A sink that never received a frame is an :class:`OutputError` on close:
    an empty video is never a result.
    """

    def __init__(
        self,
        target: str | os.PathLike | BinaryIO,
        *,
        time_base: Fraction,
        rate: Fraction | None,
        audio_streams: Sequence[av.audio.stream.AudioStream] = (),
        options: EncodeOptions = EncodeOptions(),
        label: str,
        format: str | None = None,
    ) -> None:
        self._target = target
        self._time_base, self._rate = time_base, rate
        self._audio_streams = tuple(audio_streams)
        self._options, self._format = options, format
        self.label = label
        self._writer: VideoWriter | None = None
        self._early_audio: list[av.Packet] = []  # audio demuxed before the first frame was stylized
        self.frames = 0

    @property
    def size(self) -> tuple[int, int] | None:
        """``(height, width)`` of the video once the first frame fixed it, else None."""
        return (self._writer.height, self._writer.width) if self._writer is not None else None

    def write(self, frame: Frame) -> None:
        """Encode ``frame``; the first one opens the encoder at its size."""
        if self._writer is None:
            height, width = frame.rgb.shape[:2]
            self._writer = VideoWriter(self._target, width=width, height=height, time_base=self._time_base,
                                       rate=self._rate, audio_streams=self._audio_streams, options=self._options,
                                       label=self.label, format=self._format)
            for packet in self._early_audio:
                self._writer.mux_audio(packet)
            self._early_audio = []
        self._writer.write(frame)
        self.frames += 1

    def mux_audio(self, packet: av.Packet) -> None:
        """Copy one audio packet of the source (held until the encoder exists)."""
        if self._writer is None:
            self._early_audio.append(packet)
        else:
            self._writer.mux_audio(packet)

    def __enter__(self) -> VideoSink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._writer is not None:
            self._writer.__exit__(exc_type, exc, tb)
        if exc_type is None and self._writer is None:
            raise OutputError(f"{self.label}: no frames arrived; nothing was written")


@contextmanager
def open_video_sink(
    destination: str,
    *,
    time_base: Fraction,
    rate: Fraction | None,
    audio_streams: Sequence[av.audio.stream.AudioStream] = (),
    options: EncodeOptions = EncodeOptions(),
    format: str | None = None,
    overwrite: bool = False,
    inputs: Sequence[str | os.PathLike] = (),
) -> Iterator[VideoSink]:
    """A :class:`VideoSink` for ``destination``: a file written atomically, or ``-`` for standard output."""
    if destination == STANDARD_STREAM:
        with VideoSink(sys.stdout.buffer, time_base=time_base, rate=rate, audio_streams=audio_streams,
                       options=options, label="standard output", format=format) as sink:
            yield sink
        sys.stdout.buffer.flush()
        return
    path = Path(destination)
    with atomic_output(path, overwrite=overwrite, inputs=inputs) as tmp, VideoSink(
        tmp, time_base=time_base, rate=rate, audio_streams=audio_streams, options=options, label=str(path),
        format=format,
    ) as sink:
        yield sink
