"""Encode RGB frames into a video file and carry the source's audio across.

Timing is taken from the frames, not from a frame counter, so variable-frame-rate sources keep
their rhythm and audio copied from the source stays in sync.  Audio is copied bit-for-bit whenever
the output container can hold it (no generation loss, no work) and re-encoded only when it cannot.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import av.audio.stream
import av.container
import av.video.stream
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, VideoReformatter

from rtstyle.errors import OutputError
from rtstyle.video.audio import add_audio_route
from rtstyle.video.averror import reason
from rtstyle.video.frames import Frame

log = logging.getLogger(__name__)

#: BT.709 code point shared by AVColorPrimaries, AVColorTransferCharacteristic and AVColorSpace.
_BT709 = 1


@dataclass(frozen=True)
class EncodeOptions:
    """Video encoder settings; ``crf`` and ``preset`` apply to encoders that have them (x264/5)."""

    codec: str = "libx264"
    crf: int = 18
    preset: str = "medium"
    pix_fmt: str = "yuv420p"


@dataclass(frozen=True)
class _VideoSetup:
    """The video stream plus how frames must be prepared for it."""

    stream: av.video.stream.VideoStream
    #: Rows and columns of edge padding to reach a size the pixel format can hold.
    pad: tuple[int, int]
    #: Whether frames are converted to Y'CbCr (and so need the BT.709 matrix).
    yuv: bool


class VideoWriter:
    """An output video file; use as a context manager.

    ``time_base`` is the unit of the frames' timestamps to aim for (normally the source's), and
    ``rate`` the nominal frame rate, used as an encoder hint and for frames without timestamps.
    Audio packets handed to ``mux_audio`` must come from one of ``audio_streams`` (or the same
    stream index in another pass over that file).  ``label`` names the file in error messages,
    for when ``path`` is a temporary name.

    4:2:0 and 4:2:2 pixel formats store colour at half resolution, so H.264 and most encoders
    refuse odd sizes.  Odd frames are padded by repeating their last column/row rather than
    scaled: every source pixel survives unchanged, at the cost of one extra edge pixel.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        width: int,
        height: int,
        time_base: Fraction,
        rate: Fraction | None,
        audio_streams: Sequence[av.audio.stream.AudioStream] = (),
        options: EncodeOptions = EncodeOptions(),
        label: str | os.PathLike | None = None,
    ) -> None:
        self.path = Path(path)
        self._label = str(label if label is not None else path)
        if width < 1 or height < 1:
            raise ValueError(f"frame size must be positive, got {width}x{height}")
        self.width, self.height = width, height
        self._time_base = Fraction(time_base)
        self._container = open_output(self.path, self._label)
        try:
            video = _add_video_stream(
                self._container,
                self._label,
                width=width,
                height=height,
                time_base=self._time_base,
                rate=rate,
                options=options,
            )
            self._video, self._pad, self._yuv = video.stream, video.pad, video.yuv
            self._audio = {
                s.index: add_audio_route(self._container, s, self._label) for s in audio_streams
            }
        except BaseException:
            self._container.close()
            raise
        # pts for frames without one: one nominal frame duration, in our time base.
        self._tick = max(1, round(1 / ((rate or Fraction(24)) * self._time_base)))
        self._last_pts: int | None = None
        self._frames = 0
        self._reformatter = VideoReformatter()
        self._closed = False

    # -- setup ---------------------------------------------------------------------------------

    # -- writing -------------------------------------------------------------------------------

    def write(self, frame: Frame) -> None:
        """Encode one frame at its own timestamp, rescaled to the output time base."""
        rgb = frame.rgb
        if rgb.shape[:2] != (self.height, self.width):
            raise ValueError(
                f"frame is {rgb.shape[1]}x{rgb.shape[0]}, writer expects {self.width}x{self.height}"
            )
        if any(self._pad):
            rgb = np.pad(rgb, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
        picture = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        if self._yuv:
            picture = self._reformatter.reformat(
                picture,
                format=self._video.pix_fmt,
                dst_colorspace=Colorspace.ITU709,
                dst_color_range=ColorRange.MPEG,
            )
        picture.pts = self._next_pts(frame)
        picture.time_base = self._time_base
        self._frames += 1
        try:
            self._mux(self._video.encode(picture))
        except av.FFmpegError as exc:
            raise OutputError(
                f"{self._label}: encoding failed at frame {self._frames} ({reason(exc)})"
            ) from exc

    def _next_pts(self, frame: Frame) -> int:
        """The frame's pts in our time base, forced strictly increasing as encoders demand."""
        if frame.pts is None or frame.time_base is None:
            pts = 0 if self._last_pts is None else self._last_pts + self._tick
        else:
            pts = round(frame.pts * frame.time_base / self._time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            # Duplicate timestamps (broken sources, or two source ticks rounding to one of ours).
            log.debug("%s: pts %d not after %d; nudged", self._label, pts, self._last_pts)
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts

    def mux_audio(self, packet: av.Packet) -> None:
        """Write one source audio packet, copied or re-encoded as decided at construction."""
        route = self._audio.get(packet.stream_index)
        if route is None:
            raise ValueError(
                f"packet of stream #{packet.stream_index}, not one given to the writer"
            )
        try:
            self._mux(route.packets(packet))
        except av.FFmpegError as exc:
            raise OutputError(
                f"{self._label}: writing audio stream #{packet.stream_index} failed ({reason(exc)})"
            ) from exc

    def _mux(self, packets: Sequence[av.Packet]) -> None:
        """Hand packets to the muxer, reporting a full disk or vanished directory as OutputError."""
        try:
            self._container.mux(packets)
        except OSError as exc:
            raise OutputError(f"{self._label}: cannot write ({reason(exc)})") from exc

    # -- finishing -----------------------------------------------------------------------------

    def close(self) -> None:
        """Flush every encoder and finish the file; safe to call twice."""
        if self._closed:
            return
        try:
            self._mux(self._video.encode(None))
            for route in self._audio.values():
                self._mux(route.flush())
        except av.FFmpegError as exc:
            raise OutputError(f"{self._label}: finishing the file failed ({reason(exc)})") from exc
        finally:
            self._abort()

    def _abort(self) -> None:
        """Close the file without flushing encoders: the fast way out when it will be discarded."""
        if not self._closed:
            self._closed = True
            try:
                self._container.close()
            except (av.FFmpegError, OSError) as exc:
                raise OutputError(f"{self._label}: cannot finish the file ({reason(exc)})") from exc

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # On an error the file is about to be deleted; flushing a lookahead encoder would only
        # delay the exit (noticeably after Ctrl-C on large frames).
        if exc_type is None:
            self.close()
        else:
            self._abort()


def check_encodable(path: str | os.PathLike, options: EncodeOptions) -> None:
    """Raise ``OutputError`` now if ``path``'s container or ``options`` cannot be used.

    Lets a conversion fail before any decoding or model work; opening an output container does
    not create the file until the first packet is written.
    """
    path = Path(path)
    container = open_output(path, str(path))
    try:
        _add_video_stream(
            container,
            str(path),
            width=64,
            height=64,
            time_base=Fraction(1, 1000),
            rate=None,
            options=options,
        )
    finally:
        container.close()


def _add_video_stream(
    container: av.container.OutputContainer,
    label: str,
    *,
    width: int,
    height: int,
    time_base: Fraction,
    rate: Fraction | None,
    options: EncodeOptions,
) -> _VideoSetup:
    """Create the video stream, turning every way it can be misconfigured into OutputError."""
    try:
        codec = av.Codec(options.codec, "w")
    except av.codec.codec.UnknownCodecError:
        raise OutputError(f"{label}: unknown video encoder {options.codec!r}") from None
    if codec.type != "video":
        raise OutputError(f"{label}: {options.codec!r} is not a video encoder")
    try:
        pix = av.VideoFormat(options.pix_fmt)
    except ValueError:
        raise OutputError(f"{label}: unknown pixel format {options.pix_fmt!r}") from None
    accepted = [f.name for f in codec.video_formats or ()]
    if accepted and pix.name not in accepted:
        raise OutputError(
            f"{label}: {codec.name} cannot encode {pix.name} (it takes {', '.join(accepted)})"
        )
    # Pad to a whole number of chroma samples: 2 for 4:2:0 in both directions, 1 for 4:4:4.
    probe = av.VideoFormat(pix.name, 64, 64)
    pad = (-height % (64 // probe.chroma_height()), -width % (64 // probe.chroma_width()))
    if any(pad):
        log.info(
            "%s: %dx%d does not fit %s's chroma subsampling; padding to %dx%d",
            label,
            width,
            height,
            pix.name,
            width + pad[1],
            height + pad[0],
        )
    private = {o.name for o in av.CodecContext.create(codec.name, "w").supported_options.private}
    wanted = {"crf": str(options.crf), "preset": options.preset}
    ignored = sorted(set(wanted) - private)
    if ignored:
        log.warning("%s: encoder %s has no %s option; ignored", label, codec.name, ignored)
    try:
        stream = container.add_stream(
            codec.name,
            rate=rate or Fraction(24),
            time_base=time_base,
            width=width + pad[1],
            height=height + pad[0],
            options={k: v for k, v in wanted.items() if k in private},
        )
    except ValueError as exc:
        raise OutputError(
            f"{label}: a {container.format.name} file cannot hold {codec.name} video "
            f"({reason(exc)})"
        ) from exc
    stream.pix_fmt = pix.name
    stream.thread_type = "AUTO"
    yuv = not pix.is_rgb
    if yuv:
        # Tag what we convert with: players otherwise guess BT.601 or BT.709 by frame size.
        ctx = stream.codec_context
        ctx.colorspace = ctx.color_primaries = ctx.color_trc = _BT709
        ctx.color_range = ColorRange.MPEG
    return _VideoSetup(stream, pad, yuv)


def open_output(path: Path, label: str) -> av.container.OutputContainer:
    """Open ``path`` for writing, with the container chosen from its suffix.

    Nothing is created on disk until the first packet is written.
    """
    try:
        return av.open(str(path), mode="w")
    except av.FFmpegError as exc:
        raise OutputError(f"{label}: cannot open for writing ({reason(exc)})") from exc
    except ValueError:
        raise OutputError(
            f"{label}: unknown video container {path.suffix or '(no suffix)'!r}; "
            "use a suffix such as .mp4, .mkv, .mov or .webm"
        ) from None
