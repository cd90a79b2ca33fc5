"""Decode a video file into upright RGB frames, and hand over its audio untouched.

The reader opens the file once to learn everything the rest of the program needs before the first
frame is processed (display size, rotation, rate, audio streams) and then opens it again for each
pass, so ``frames()`` and ``items()`` always start from the beginning without relying on seeking,
which some containers do inexactly.  The first container stays open for the reader's lifetime
because the writer copies or decodes audio with the codec parameters of its streams.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import av.audio.stream
import av.container
import av.video.stream
import numpy as np

from rtstyle.errors import InputError
from rtstyle.video.averror import reason
from rtstyle.video.frames import Frame

log = logging.getLogger(__name__)


class VideoReader:
    """A video file opened for decoding; use as a context manager.

    ``rotation`` is the clockwise angle, in degrees, by which the file asks players to turn the
    coded picture (phones record portrait video as rotated landscape).  Frames and
    ``width``/``height`` already have it applied, so consumers only ever see upright pictures.
    """

    def __init__(self, path: str | os.PathLike, *, threads: int = 0) -> None:
        self.path = Path(path)
        self._threads = threads
        if not self.path.exists():
            raise InputError(f"{self.path}: no such file")
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a directory, not a video file")
        self._container = self._open()
        try:
            self._describe()
        except BaseException:
            self._container.close()
            raise

    def _open(self) -> av.container.InputContainer:
        """Open the file for demuxing, translating failures into ``InputError``."""
        try:
            # Tags in a legacy 8-bit encoding (or garbled) must not make the pictures unreadable.
            return av.open(str(self.path), mode="r", metadata_errors="replace")
        except av.FFmpegError as exc:
            raise InputError(
                f"{self.path}: not a video file PyAV can read ({reason(exc)})"
            ) from exc
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read ({reason(exc)})") from exc

    def _describe(self) -> None:
        """Fill in the public attributes from the container and the first decoded frame."""
        container = self._container
        if not container.streams.video:
            raise InputError(f"{self.path}: has no video stream")
        video = container.streams.video[0]
        self._video_index = video.index
        # Demuxers always set a stream time base; PyAV merely types it as optional.
        self.time_base: Fraction = video.time_base or Fraction(1, 90000)
        self.average_rate: Fraction | None = video.average_rate or video.guessed_rate or None
        self.audio_streams: list[av.audio.stream.AudioStream] = list(container.streams.audio)

        first = self._first_frame(video)
        self.rotation: int = _clockwise_quarter_turns(first.rotation, self.path) * 90
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
            self.path,
            self.width,
            self.height,
            self.rotation,
            self.average_rate,
            self.frame_count,
            len(self.audio_streams),
        )

    def _first_frame(self, video: av.video.stream.VideoStream) -> av.VideoFrame:
        """Decode the first picture: only it reveals the display rotation and true size.

        ``_demux_decode`` raises ``InputError`` if the stream ends without a single frame.
        """
        items = self._demux_decode(self._container, video, ())
        return next(item for item in items if isinstance(item, av.VideoFrame))

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
                    f"{self.path}: file is corrupt; reading failed after frame {sent} "
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
                        f"{self.path}: video stream is corrupt or truncated at frame {sent}{at}"
                    )
            try:
                frames = video.decode(packet)
            except av.FFmpegError as exc:
                raise InputError(
                    f"{self.path}: video stream is corrupt; decoding failed at frame {sent} "
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
            raise InputError(f"{self.path}: no video frames could be decoded")
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
                self.path,
                decoded,
                covered,
                self.duration,
            )

    def _passes(self, with_audio: bool) -> Iterator[Frame | av.Packet]:
        """Open a fresh container and convert its decoded pictures into upright ``Frame``s."""
        container = self._open()
        try:
            video = container.streams[self._video_index]
            audio = tuple(container.streams.audio) if with_audio else ()
            turns = -self.rotation // 90
            for item in self._demux_decode(container, video, audio):
                if isinstance(item, av.Packet):
                    yield item
                    continue
                # Odd widths come back as a view into padded rows; rotation gives a strided view.
                rgb = np.ascontiguousarray(np.rot90(item.to_ndarray(format="rgb24"), turns))
                # Frames flushed out of the decoder at the end carry no time base of their own.
                yield Frame(rgb, item.pts, item.time_base or self.time_base)
        finally:
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


def _clockwise_quarter_turns(counter_clockwise: float, path: Path) -> int:
    """Convert PyAV's counter-clockwise display rotation to clockwise quarter turns (0-3).

    Arbitrary angles are legal in a display matrix but no player honours them; the nearest
    quarter turn is what users expect.
    """
    turns = round(-counter_clockwise / 90)
    if turns * 90 != -counter_clockwise:
        log.warning("%s: display rotation %s° rounded to %d°", path, counter_clockwise, turns * 90)
    return turns % 4
