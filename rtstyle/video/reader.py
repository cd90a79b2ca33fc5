"""Decode a video into upright RGB frames, and hand over its audio untouched.

The reader opens its input once to learn everything the rest of the program needs before the
first frame is processed (display size, rotation, rate, audio streams).  A *file* is then opened
again for each pass, so ``frames()`` and ``items()`` always start from the beginning without
relying on seeking, which some containers do inexactly.  A *stream* -- a URL FFmpeg opens
(``rtsp://``, ``http(s)://``, ``udp://``, ``tcp://``) or a pipe such as standard input -- cannot
be started again, so it is read in a single pass: what was demuxed to find the first frame is
kept and handed out first.  The first container stays open for the reader's lifetime because the
writer copies or decodes audio with the codec parameters of its streams.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from fractions import Fraction
from itertools import chain
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import av
import av.audio.stream
import av.container
import av.video.stream
import numpy as np

from rtstyle.errors import InputError
from rtstyle.video.averror import reason
from rtstyle.video.frames import Frame

log = logging.getLogger(__name__)

#: Seconds a network stream may go without data before reading fails, instead of hanging the
#: program when a camera or server goes away mid-stream (PyAV's ``timeout``).
NETWORK_TIMEOUT_S = 5.0


def is_url(text: str) -> bool:
    """Whether ``text`` names something FFmpeg opens by protocol (``rtsp://...``) rather than a file."""
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.isalpha() and len(scheme) > 1  # "C://" is a Windows path


class VideoReader:
    """A video file, URL or pipe opened for decoding; use as a context manager.

    ``source`` is a path, a URL (see :func:`is_url`) or a binary file object such as
    ``sys.stdin.buffer``; ``label`` names it in messages (default: the path or URL).  Files can be
    read any number of times; streams (URLs and file objects) once (``single_pass``).

    ``rotation`` is the clockwise angle, in degrees, by which the file asks players to turn the
    coded picture (phones record portrait video as rotated landscape).  Frames and
    ``width``/``height`` already have it applied, so consumers only ever see upright pictures.
    """

    def __init__(self, source: str | os.PathLike | BinaryIO, *, threads: int = 0, label: str | None = None) -> None:
        self._threads = threads
        self.url: str | None = None
        self.path: Path | None = None
        self._pipe: BinaryIO | None = None
        if hasattr(source, "read"):
            self._pipe = source  # type: ignore[assignment]
            default_label = "standard input"
        elif isinstance(source, str) and is_url(source):
            self.url = default_label = source
        else:
            self.path = Path(source)  # type: ignore[arg-type]
            default_label = str(self.path)
        self.label = label or default_label
        self.single_pass = self.path is None
        if self.path is not None and not self.path.exists():
            raise InputError(f"{self.label}: no such file")
        if self.path is not None and self.path.is_dir():
            raise InputError(f"{self.label}: is a directory, not a video file")
        self._pending: Iterator[av.VideoFrame | av.Packet] | None = None
        self._container = self._open()
        try:
            self._describe()
        except BaseException:
            self._container.close()
            raise

    def _open(self) -> av.container.InputContainer:
        """Open the input for demuxing, translating failures into ``InputError``."""
        what = "a video file" if self.path is not None else "a video stream"
        try:
            # Tags in a legacy 8-bit encoding (or garbled) must not make the pictures unreadable.
            if self._pipe is not None:
                return av.open(self._pipe, mode="r", metadata_errors="replace")
            if self.url is not None:
                return av.open(self.url, mode="r", metadata_errors="replace", timeout=NETWORK_TIMEOUT_S)
            return av.open(str(self.path), mode="r", metadata_errors="replace")
        except av.FFmpegError as exc:
            if self.url is not None and isinstance(exc, OSError):  # refused, unreachable, timed out
                raise InputError(f"{self.label}: cannot open the stream ({reason(exc)})") from exc
            raise InputError(f"{self.label}: not {what} PyAV can read ({reason(exc)})") from exc
        except OSError as exc:
            raise InputError(f"{self.label}: cannot read ({reason(exc)})") from exc

    def _describe(self) -> None:
        """Fill in the public attributes from the container and the first decoded frame."""
        container = self._container
        if not container.streams.video:
            raise InputError(f"{self.label}: has no video stream")
        video = container.streams.video[0]
        self._video_index = video.index
        # Demuxers always set a stream time base; PyAV merely types it as optional.
        self.time_base: Fraction = video.time_base or Fraction(1, 90000)
        self.average_rate: Fraction | None = video.average_rate or video.guessed_rate or None
        self.audio_streams: list[av.audio.stream.AudioStream] = list(container.streams.audio)

        first = self._first_frame(video)
        self.rotation: int = _clockwise_quarter_turns(first.rotation, self.label) * 90
        coded_w, coded_h = first.width, first.height
        swapped = self.rotation in (90, 270)
        self.width: int = coded_h if swapped else coded_w
        self.height: int = coded_w if swapped else coded_h

        if video.duration is not None:
            self.duration: float | None = float(video.duration * self.time_base)
        elif container.duration is not None:
            self.duration = container.duration / av.time_base
        else:
            self.duration = None

        if video.frames > 0:
            self.frame_count: int | None = video.frames
        elif self.duration is not None and self.average_rate:
            self.frame_count = max(1, round(self.duration * self.average_rate))
        else:
            self.frame_count = None
        log.debug(
            "%s: %dx%d rotation %d, %s fps, %s frames, %d audio stream(s)",
            self.label,
            self.width,
            self.height,
            self.rotation,
            self.average_rate,
            self.frame_count,
            len(self.audio_streams),
        )

    def _first_frame(self, video: av.video.stream.VideoStream) -> av.VideoFrame:
        """Decode the first picture: only it reveals the display rotation and true size.

        A stream's single pass starts here: what it took to reach the first frame (audio
        packets, the frame) is kept in front of the rest for :meth:`items`.
        ``_demux_decode`` raises ``InputError`` if the input ends without a single frame.
        """
        audio = tuple(self._container.streams.audio) if self.single_pass else ()
        items = self._demux_decode(self._container, video, audio)
        taken: list[av.VideoFrame | av.Packet] = []
        for item in items:
            taken.append(item)
            if isinstance(item, av.VideoFrame):
                break
        if self.single_pass:
            self._pending = chain(taken, items)
        return taken[-1]  # type: ignore[return-value]  # _demux_decode ends in InputError otherwise

    def _demux_decode(
        self,
        container: av.container.InputContainer,
        video: av.video.stream.VideoStream,
        audio: tuple[av.audio.stream.AudioStream, ...],
    ) -> Iterator[av.VideoFrame | av.Packet]:
        """One demux pass yielding decoded video frames and raw packets of ``audio``."""
        video.thread_type = "AUTO"
        video.thread_count = self._threads
        decoded = sent = 0
        first: float | None = None
        last: float | None = None
        packets = container.demux((video, *audio))
        while True:
            try:
                packet = next(packets, None)
            except av.FFmpegError as exc:
                raise InputError(
                    f"{self.label}: file is corrupt; reading failed after frame {sent} "
                    f"({reason(exc)})"
                ) from exc
            if packet is not None and packet.size == 0:
                # demux() ends with one empty "flush" packet per stream, all claiming stream 0;
                # the decoder is flushed explicitly below instead.
                continue
            if packet is not None and packet.stream_index != video.index:
                yield packet
                continue
            if packet is not None:
                # Frames are numbered by packet (one per frame) in file order: the decoder's
                # output lags behind its input, so its count would name the wrong frame.
                sent += 1
                if packet.is_corrupt:
                    # Threaded decoders drop a damaged packet silently; the demuxer flags it
                    # (a truncated MP4 ends in one), so check here.
                    at = f" ({float(packet.pts * packet.time_base):.2f} s)" if packet.pts else ""
                    raise InputError(
                        f"{self.label}: video stream is corrupt or truncated at frame {sent}{at}"
                    )
            try:
                frames = video.decode(packet)
            except av.FFmpegError as exc:
                raise InputError(
                    f"{self.label}: video stream is corrupt; decoding failed at frame {sent} "
                    f"({reason(exc)})"
                ) from exc
            for frame in frames:
                decoded += 1
                if frame.pts is not None:
                    # Not frame.time: frames flushed by decode(None) have no time base (NaN).
                    last = float(frame.pts * video.time_base)
                    first = last if first is None else first
                yield frame
            if packet is None:
                break
        if decoded == 0:
            raise InputError(f"{self.label}: no video frames could be decoded")
        self._warn_if_short(first, last, decoded)

    def _warn_if_short(self, first: float | None, last: float | None, decoded: int) -> None:
        """Say so when the video ends well before the file's stated duration.

        Demuxers stop quietly at a truncated or damaged spot (Matroska does), so a damaged file
        would otherwise just give a shorter result.  Only a warning: the stated duration may
        include audio that legitimately runs past the video.
        """
        if first is None or last is None or self.duration is None or not self.average_rate:
            return
        frame_s = float(1 / self.average_rate)
        covered = last - first + frame_s
        if covered < self.duration - max(0.5, 2 * frame_s):
            log.warning(
                "%s: video stops after frame %d at %.2f s but the file says %.2f s; "
                "it may be truncated or damaged",
                self.label,
                decoded,
                covered,
                self.duration,
            )

    def _passes(self, with_audio: bool) -> Iterator[Frame | av.Packet]:
        """Convert one pass's decoded pictures into upright ``Frame``s.

        A file gets a fresh container per pass; a stream continues its single pass.
        """
        if self.single_pass:
            if self._pending is None:
                raise RuntimeError(f"{self.label}: a stream can be read only once")
            container, items, self._pending = self._container, self._pending, None
        else:
            container = self._open()
            video = container.streams[self._video_index]
            audio = tuple(container.streams.audio) if with_audio else ()
            items = self._demux_decode(container, video, audio)
        try:
            turns = -self.rotation // 90
            for item in items:
                if isinstance(item, av.Packet):
                    if with_audio:
                        yield item
                    continue
                # Odd widths come back as a view into padded rows; rotation gives a strided view.
                rgb = np.ascontiguousarray(np.rot90(item.to_ndarray(format="rgb24"), turns))
                # Frames flushed out of the decoder at the end carry no time base of their own.
                yield Frame(rgb, item.pts, item.time_base or self.time_base)
        finally:
            if container is not self._container:
                container.close()

    def frames(self) -> Iterator[Frame]:
        """Every video frame from the start, in presentation order."""
        for item in self._passes(with_audio=False):
            if isinstance(item, Frame):
                yield item

    def items(self) -> Iterator[Frame | av.Packet]:
        """Video frames and raw audio packets from one demux pass, in file order.

        Audio packets are meant for ``VideoWriter.mux_audio``; they are matched to the writer's
        streams by stream index, which is the same in every pass over the file.
        """
        return self._passes(with_audio=True)

    def close(self) -> None:
        """Release the file; the audio streams handed out become unusable."""
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _clockwise_quarter_turns(counter_clockwise: float, label: str) -> int:
    """Convert PyAV's counter-clockwise display rotation to clockwise quarter turns (0-3).

    Arbitrary angles are legal in a display matrix but no player honours them; the nearest
    quarter turn is what users expect.
    """
    turns = round(-counter_clockwise / 90)
    if turns * 90 != -counter_clockwise:
        log.warning("%s: display rotation %s° rounded to %d°", label, counter_clockwise, turns * 90)
    return turns % 4
