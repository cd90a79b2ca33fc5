"""Encode RGB frames into a video file and carry the source's audio across.

Timing is taken from the frames, not from a frame counter, so variable-frame-rate sources keep
their rhythm and audio copied from the source stays in sync.  Audio is copied bit-for-bit whenever
the output container can hold it (no generation loss, no work) and re-encoded only when it cannot.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

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
    """Video encoder settings; ``None`` means "what suits the container and encoder".

    ``codec`` defaults to H.264 where the container holds it and to the container's own video
    codec elsewhere (VP9 for WebM), ``crf`` and ``preset`` to the encoder's entry in
    :data:`ENCODER_DEFAULTS`, ``pix_fmt`` to 4:2:0 where the encoder takes it.  ``crf`` and
    ``preset`` given for an encoder that has no such setting are errors, not silently ignored.
    """

    codec: str | None = None
    crf: int | None = None
    preset: str | None = None
    pix_fmt: str | None = None


@dataclass(frozen=True)
class EncoderDefaults:
    """Constant-quality range and defaults of one encoder, plus options it needs alongside.

    ``crf_max`` is the encoder's real top (x264's AVOption accepts any float and clamps to 51
    without a word, so the range cannot come from FFmpeg's option table).
    """

    crf: int
    crf_max: int
    preset: str | None = None
    presets: tuple[str, ...] = ()  # empty: the encoder checks its own preset names
    extra: tuple[tuple[str, str], ...] = ()


_X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                 "placebo")
#: Visually near-transparent quality at a speed that keeps up with stylization on a laptop.
ENCODER_DEFAULTS: dict[str, EncoderDefaults] = {
    # x264 holds every lookahead frame at ~2.5x its size (7.5 MB at 1080p): medium's 40 frames
    # were 300 MB of a 1080p convert; 10 (the "veryfast" preset's) leave 75 MB, and at CRF 18 the
    # files stay within a few per cent of the size (bench/RESULTS.md, 2026-12-02 memory).
    "libx264": EncoderDefaults(18, 51, "medium", _X26X_PRESETS, (("rc-lookahead", "10"),)),
    "libx265": EncoderDefaults(20, 51, "medium", _X26X_PRESETS, (("x265-params", "log-level=error"),)),
    # VP9 is in constant-quality mode only with a zero target bit rate; "good" + cpu-used 4 is
    # libvpx's usual speed/quality middle, row-mt lets it use every core.
    "libvpx-vp9": EncoderDefaults(31, 63, extra=(("b", "0"), ("deadline", "good"), ("cpu-used", "4"),
                                                 ("row-mt", "1"))),
    "libsvtav1": EncoderDefaults(35, 63, "8"),
}
#: Bits per pixel per frame for encoders without a constant-quality mode (MPEG-4 part 2 in AVI,
#: MPEG-2 in TS): FFmpeg's own default of 200 kbit/s would be a blur at any size.
_BITS_PER_PIXEL = 0.2


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
        path: str | os.PathLike | BinaryIO,
        *,
        width: int,
        height: int,
        time_base: Fraction,
        rate: Fraction | None,
        audio_streams: Sequence[av.audio.stream.AudioStream] = (),
        options: EncodeOptions = EncodeOptions(),
        label: str | os.PathLike | None = None,
        format: str | None = None,
    ) -> None:
        self._label = str(label if label is not None else path)
        if width < 1 or height < 1:
            raise ValueError(f"frame size must be positive, got {width}x{height}")
        self.width, self.height = width, height
        self._time_base = Fraction(time_base)
        self._container = open_output(path, self._label, format)
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


def check_encodable(path: str | os.PathLike | None, options: EncodeOptions, format: str | None = None) -> None:
    """Raise ``OutputError`` now if ``path``'s container or ``options`` cannot be used.

    Lets a conversion fail before any decoding or model work: the encoder is opened with the
    given settings on a small picture, so a preset it does not know fails here, not after the
    model has loaded.  Opening an output container does not create the file until the first
    packet is written.
    """
    label = str(path) if path is not None else "standard output"
    # Standard output cannot be opened twice; an in-memory file stands in for it.
    container = open_output(Path(path) if path is not None else io.BytesIO(), label, format)
    try:
        setup = _add_video_stream(
            container, label, width=64, height=64, time_base=Fraction(1, 1000), rate=None, options=options
        )
        _open_encoder(setup.stream, label, options)
    finally:
        container.close()


def _open_encoder(stream: av.video.stream.VideoStream, label: str, options: EncodeOptions) -> None:
    """Open ``stream``'s encoder, naming ``--preset`` when that is what it refuses."""
    try:
        stream.codec_context.open()
    except (av.FFmpegError, OverflowError) as exc:
        name = stream.codec_context.name
        if options.preset is not None:
            raise OutputError(f"{label}: {name} does not accept --preset {options.preset!r}") from None
        raise OutputError(f"{label}: cannot open the {name} encoder ({reason(exc)})") from exc


def _encoder_options(codec: av.Codec, label: str, options: EncodeOptions, pixels_per_second: float) -> dict[str, str]:
    """The private options to open ``codec`` with: checked ``--crf``/``--preset`` plus defaults."""
    private = {o.name: o for o in av.CodecContext.create(codec.name, "w").supported_options.private}
    known = ENCODER_DEFAULTS.get(codec.name)
    chosen: dict[str, str] = dict(known.extra) if known else {}
    if options.crf is not None or known is not None:
        if "crf" not in private:
            raise OutputError(f"{label}: {codec.name} has no constant-quality mode; --crf does not apply to it")
        crf_max = known.crf_max if known else int(private["crf"].max)
        crf = options.crf if options.crf is not None else known.crf  # type: ignore[union-attr]
        if not 0 <= crf <= crf_max:
            raise OutputError(f"{label}: --crf {crf} is out of range for {codec.name} (0 to {crf_max})")
        chosen["crf"] = str(crf)
    elif "b" not in chosen:
        chosen["b"] = str(round(pixels_per_second * _BITS_PER_PIXEL))
    preset = options.preset if options.preset is not None else (known.preset if known else None)
    if preset is not None:
        if "preset" not in private:
            raise OutputError(f"{label}: {codec.name} has no --preset setting")
        if known and known.presets and preset not in known.presets:
            raise OutputError(f"{label}: --preset {preset!r} is not a {codec.name} preset "
                              f"(use one of {', '.join(known.presets)})")
        chosen["preset"] = preset
    return chosen


def _container_encoder(container: av.container.OutputContainer, label: str) -> str:
    """The encoder for a container when ``--codec`` is not given.

    H.264 wherever the container holds it: it is what players everywhere decode, and x264 at
    a constant quality beats the legacy defaults some muxers declare (MPEG-4 part 2 for AVI,
    FLV1, MPEG-2 for TS, whose muxer cannot answer the query but carries H.264 every day).
    Elsewhere the container's own default, as ffmpeg picks it: VP9 for WebM, VP8 for Ogg.
    """
    holds_h264 = "h264" in container.supported_codecs or container.format.name == "mpegts"
    if holds_h264 and "libx264" in av.codecs_available:
        return "libx264"
    try:
        return av.Codec(container.default_video_codec, "w").name
    except (av.codec.codec.UnknownCodecError, ValueError):
        raise OutputError(f"{label}: a {container.format.name} file holds no video this build can encode") from None


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
    codec_name = options.codec or _container_encoder(container, label)
    try:
        codec = av.Codec(codec_name, "w")
    except av.codec.codec.UnknownCodecError:
        raise OutputError(f"{label}: unknown video encoder {codec_name!r}") from None
    if codec.type != "video":
        raise OutputError(f"{label}: {codec_name!r} is not a video encoder")
    accepted = [f.name for f in codec.video_formats or ()]
    wanted_format = options.pix_fmt or ("yuv420p" if not accepted or "yuv420p" in accepted else accepted[0])
    try:
        pix = av.VideoFormat(wanted_format)
    except ValueError:
        raise OutputError(f"{label}: unknown pixel format {wanted_format!r}") from None
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
    frame_rate = rate or Fraction(24)
    encoder_options = _encoder_options(codec, label, options, float(width * height * frame_rate))
    try:
        stream = container.add_stream(
            codec.name,
            rate=frame_rate,
            time_base=time_base,
            width=width + pad[1],
            height=height + pad[0],
            options=encoder_options,
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


def open_output(
    target: str | os.PathLike | BinaryIO, label: str, format: str | None = None
) -> av.container.OutputContainer:
    """Open ``target`` (a path, or a binary file object such as standard output) for writing.

    The container is ``format`` (an FFmpeg muxer name, as ffmpeg's ``-f``), else chosen from the
    path's suffix.  Nothing is created on disk until the first packet is written.
    """
    try:
        if hasattr(target, "write"):
            if format is None:
                raise OutputError(f"{label}: name the container with --format (e.g. matroska, mpegts, nut)")
            return av.open(target, mode="w", format=format)
        return av.open(str(target), mode="w", format=format)
    except av.FFmpegError as exc:
        raise OutputError(f"{label}: cannot open for writing ({reason(exc)})") from exc
    except ValueError:
        if format is not None:
            raise OutputError(f"{label}: unknown container format {format!r} (see 'ffmpeg -muxers')") from None
        path = Path(target)  # type: ignore[arg-type]
        raise OutputError(
            f"{label}: unknown video container {path.suffix or '(no suffix)'!r}; "
            "use a suffix such as .mp4, .mkv, .mov or .webm"
        ) from None
