"""Carry a source's audio streams into an output file: copied where possible, else re-encoded.

Stylizing changes only the picture, so the sound should come out exactly as it went in: packets
are copied bit for bit (no generation loss, no work, timing untouched).  Only when the output
container cannot hold the codec -- or holds it in a way players do not understand -- is the
stream decoded and re-encoded to a codec that container is made for.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import av
import av.audio.stream
import av.container

from rtstyle.errors import OutputError
from rtstyle.video.averror import reason

log = logging.getLogger(__name__)

#: Encoders tried, in order, when an audio stream must be re-encoded: AAC plays everywhere
#: MP4/MOV/MKV do; Opus is what WebM allows; MP3 covers AVI-era containers.
_FALLBACK_ENCODERS = ("aac", "libopus", "libmp3lame")
#: Bit rate per channel when re-encoding (128 kb/s for stereo).
_BITS_PER_CHANNEL = 64000


@dataclass(frozen=True)
class AudioRoute:
    """How the packets of one source audio stream reach their output stream."""

    source: av.audio.stream.AudioStream
    output: av.audio.stream.AudioStream
    copy: bool

    def packets(self, packet: av.Packet) -> list[av.Packet]:
        """The output packets for one source packet (none yet, while an encoder fills up)."""
        if self.copy:
            # Only the output stream is touched: the packet's source container may be closed.
            packet.stream = self.output
            return [packet]
        decoded = self.source.codec_context.decode(packet)
        return [out for frame in decoded for out in self.output.encode(frame)]

    def flush(self) -> list[av.Packet]:
        """Whatever the decoder and encoder still hold, at the end of the stream."""
        if self.copy:
            return []
        decoded = self.source.codec_context.decode(None)
        tail = [out for frame in decoded for out in self.output.encode(frame)]
        return tail + self.output.encode(None)


def add_audio_route(
    container: av.container.OutputContainer, source: av.audio.stream.AudioStream, label: str
) -> AudioRoute:
    """Add an output stream for ``source`` to ``container``: a copy if it fits, else AAC/Opus.

    Re-encoding decodes with ``source``'s own codec context, so the source container must stay
    open while the route is used (``VideoReader`` keeps it open until closed).
    """
    fmt = container.format.name
    name = source.codec_context.name
    if _players_accept(fmt, name) and _muxer_accepts(fmt, source):
        log.info("%s: copying audio stream #%d (%s)", label, source.index, name)
        return AudioRoute(source, container.add_stream_from_template(source), copy=True)
    supported = container.supported_codecs
    encoder = next(
        (e for e in _FALLBACK_ENCODERS if e in supported and e in av.codecs_available), None
    )
    if encoder is None:
        raise OutputError(
            f"{label}: a {fmt} file cannot hold {name} audio and no encoder is available to "
            "convert it"
        )
    codec = av.Codec(encoder, "w")
    layout = source.codec_context.layout
    output = container.add_stream(
        encoder, rate=_nearest_rate(source.codec_context.sample_rate, codec.audio_rates)
    )
    # Encoders refuse layouts without channel order ("2 channels", common from PCM sources);
    # those get the default layout for their channel count ("2c" is stereo).
    unordered = any(c.name == "NONE" for c in layout.channels)
    output.layout = f"{layout.nb_channels}c" if unordered else layout
    output.bit_rate = _BITS_PER_CHANNEL * layout.nb_channels
    try:
        # Opened now so a refusal surfaces before any video work, not at the first packet.
        output.codec_context.open()
    except av.FFmpegError as exc:
        raise OutputError(
            f"{label}: cannot convert audio stream #{source.index} ({name}) to {codec.name} "
            f"({reason(exc)})"
        ) from exc
    log.info(
        "%s: a %s file cannot hold %s audio; converting stream #%d to %s",
        label,
        fmt,
        name,
        source.index,
        codec.name,
    )
    return AudioRoute(source, output, copy=False)


def _players_accept(fmt: str, codec: str) -> bool:
    """Whether a copy of ``codec`` audio in a ``fmt`` file is something players can play.

    FFmpeg's MP4 muxer takes Vorbis only through a private object type (0xDD) and PCM only as
    ISO 23003-5 ``ipcm``, which few players read -- and which fails when the trailer is written
    if the channel layout has no defined order.  Both are re-encoded instead.
    """
    return not (fmt == "mp4" and (codec == "vorbis" or codec.startswith("pcm_")))


def _muxer_accepts(fmt: str, source: av.audio.stream.AudioStream) -> bool:
    """Whether a ``fmt`` muxer takes a stream copied from ``source``.

    ``supported_codecs`` (avformat_query_codec) is not enough: the MOV muxer lists FLAC and Opus,
    then refuses them when writing the header.  So a header and trailer are written for real,
    into memory.
    """
    probe = av.open(io.BytesIO(), mode="w", format=fmt)
    try:
        try:
            probe.add_stream_from_template(source)
            probe.start_encoding()
        finally:
            probe.close()
    except ValueError:  # av.FFmpegError is a ValueError too
        return False
    return True


def _nearest_rate(rate: int, supported: Sequence[int] | None) -> int:
    """``rate`` if the encoder takes it, else the next supported rate up (or the highest)."""
    if not supported or rate in supported:
        return rate
    higher = [r for r in supported if r > rate]
    return min(higher) if higher else max(supported)
