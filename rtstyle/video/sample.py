"""Synthesise a short, deterministic demo clip (``rtstyle sample``) that also serves the tests.

The picture is drifting colour gradients with a woven texture and soft moving discs, so a style
has edges, flat areas and fine detail to work on.  Once a second a white dot blinks in the
top-right corner on the same instant as a short tick in the audio: the pair lets a viewer (and the
tests) check audio/video sync after conversion.  The options cover the awkward inputs real files
bring: rotation metadata, variable frame rate, odd sizes, other audio codecs and layouts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from rtstyle.errors import OutputError
from rtstyle.video.atomic import atomic_output
from rtstyle.video.writer import open_output

log = logging.getLogger(__name__)

SAMPLE_RATE = 48000
#: Pitch of the once-a-second sync tick, far above the background chord so it is easy to find.
TICK_HZ = 1760.0
#: x264 settings: one thread because libx264 output varies from run to run with more (and at
#: presets with more analysis, in rare runs even with one); superfast still uses B-frames.
_X264_SAMPLE = {"crf": "18", "preset": "superfast", "threads": "1"}
#: Variable-frame-rate clips cycle through these multiples of the nominal frame duration.
_VFR_PATTERN = tuple(Fraction(m) for m in ("1", "1/2", "3/2", "1", "2", "1/2", "3/4", "3/4"))


def make_sample_clip(
    path: str | os.PathLike,
    *,
    seconds: float = 3.0,
    width: int = 640,
    height: int = 360,
    fps: int = 24,
    audio: bool = True,
    audio_codec: str = "aac",
    channels: int = 2,
    audio_first: bool = False,
    rotation: int = 0,
    vfr: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write the sample clip to ``path`` (format from its suffix) and return the path.

    ``width``/``height`` are the displayed size.  With ``rotation`` (clockwise degrees, a multiple
    of 90) the picture is stored turned the other way and tagged so players turn it back, as phones
    do.  ``audio_first`` puts the audio stream at index 0; ``vfr`` spaces frames irregularly.
    """
    if rotation % 90:
        raise ValueError(f"rotation must be a multiple of 90, got {rotation}")
    if width < 1 or height < 1 or seconds <= 0 or fps <= 0:
        raise ValueError("width, height, seconds and fps must be positive")
    times = _frame_times(seconds, Fraction(fps), vfr)
    painter = _Painter(width, height)
    turns = (rotation // 90) % 4
    with atomic_output(path, overwrite=overwrite) as tmp, open_output(tmp, str(path)) as out:
        audio_stream = (
            _add_audio(out, audio_codec, channels, path) if audio and audio_first else None
        )
        video_stream = _add_video(out, width, height, turns, Fraction(fps), vfr, path)
        if audio and not audio_first:
            audio_stream = _add_audio(out, audio_codec, channels, path)
        chunks = _audio_chunks(seconds, channels) if audio_stream is not None else iter(())
        pending = next(chunks, None)
        for index, t in enumerate(times):
            # Interleave by time so the file is well formed even for muxers that do not reorder.
            while audio_stream is not None and pending is not None and pending.time <= t:
                out.mux(audio_stream.encode(pending))
                pending = next(chunks, None)
            # The sync blink marks the first frame of each second (exactly on it unless VFR).
            blink = index == 0 or int(t) != int(times[index - 1])
            rgb = np.ascontiguousarray(np.rot90(painter.paint(t, blink), turns))
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = round(t / video_stream.codec_context.time_base)
            out.mux(video_stream.encode(frame))
        out.mux(video_stream.encode(None))
        if audio_stream is not None:
            while pending is not None:
                out.mux(audio_stream.encode(pending))
                pending = next(chunks, None)
            out.mux(audio_stream.encode(None))
    log.info("wrote sample clip %s (%d frames)", path, len(times))
    return Path(path)


def _frame_times(seconds: float, fps: Fraction, vfr: bool) -> list[Fraction]:
    """Presentation times of every frame, exact fractions of a second."""
    step = 1 / fps
    if not vfr:
        return [i * step for i in range(max(1, round(seconds * fps)))]
    times: list[Fraction] = []
    t = Fraction(0)
    while t < seconds:
        # Round to whole milliseconds: the VFR stream uses a 1/1000 s time base.
        times.append(Fraction(round(t * 1000), 1000))
        t += step * _VFR_PATTERN[len(times) % len(_VFR_PATTERN)]
    return times


def _add_video(
    out: av.container.OutputContainer,
    width: int,
    height: int,
    turns: int,
    fps: Fraction,
    vfr: bool,
    path: str | os.PathLike,
) -> av.video.stream.VideoStream:
    """Add an H.264 stream (the container's own codec, e.g. VP9 for WebM, if it refuses H.264)."""
    codec = "libx264" if "libx264" in out.supported_codecs else out.default_video_codec
    coded_w, coded_h = (height, width) if turns % 2 else (width, height)
    try:
        stream = out.add_stream(
            codec,
            rate=fps,
            time_base=Fraction(1, 1000) if vfr else 1 / fps,
            width=coded_w,
            height=coded_h,
            options=_X264_SAMPLE if codec == "libx264" else {},
        )
    except ValueError as exc:
        raise OutputError(f"{path}: a {out.format.name} file cannot hold video") from exc
    # 4:2:0 needs even sizes; odd sample sizes exist to test the writer, so keep them exact.
    stream.pix_fmt = "yuv420p" if coded_w % 2 == 0 and coded_h % 2 == 0 else "yuv444p"
    if turns:
        # PyAV takes counter-clockwise degrees; players then turn the picture clockwise back.
        stream.set_display_rotation(-90 * turns)
    return stream


def _add_audio(
    out: av.container.OutputContainer, codec: str, channels: int, path: str | os.PathLike
) -> av.audio.stream.AudioStream:
    """Add an audio stream; FFmpeg's own Vorbis/Opus encoders need the experimental flag.

    A codec the container cannot hold is replaced by one it can (Opus for WebM), so that
    ``rtstyle sample clip.webm`` works with the default.
    """
    if codec not in out.supported_codecs:
        replacement = "libopus" if "libopus" in out.supported_codecs else out.default_audio_codec
        log.info("%s: %s cannot hold %s audio; using %s", path, out.format.name, codec, replacement)
        codec = replacement
    try:
        encoder = av.Codec(codec, "w")
    except ValueError:  # includes the "none" codec of containers without audio
        raise OutputError(f"{path}: a {out.format.name} file cannot hold audio") from None
    options = {"strict": "experimental"} if encoder.experimental else {}
    stream = out.add_stream(codec, rate=SAMPLE_RATE, options=options)
    stream.layout = "mono" if channels == 1 else "stereo"
    return stream


def _audio_chunks(seconds: float, channels: int, size: int = 1024) -> Iterator[av.AudioFrame]:
    """A soft two-note chord with a bright tick at every whole second, as float planar frames."""
    total = round(seconds * SAMPLE_RATE)
    t = np.arange(total) / SAMPLE_RATE
    chord = 0.10 * np.sin(2 * np.pi * 220.0 * t) + 0.07 * np.sin(2 * np.pi * 329.63 * t)
    chord *= 0.8 + 0.2 * np.sin(2 * np.pi * 0.5 * t)
    since_tick = t - np.floor(t)
    tick = 0.6 * np.sin(2 * np.pi * TICK_HZ * t) * np.exp(-since_tick / 0.012) * (since_tick < 0.06)
    mono = (chord + tick).astype(np.float32)
    if channels == 1:
        planes = mono[None, :]
    else:
        pan = 0.85 + 0.15 * np.sin(2 * np.pi * 0.25 * t).astype(np.float32)
        planes = np.stack([mono * pan, mono * (1.7 - pan)]).astype(np.float32)
    layout = "mono" if channels == 1 else "stereo"
    for start in range(0, total, size):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(planes[:, start : start + size]), format="fltp", layout=layout
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = start
        frame.time_base = Fraction(1, SAMPLE_RATE)
        yield frame


class _Painter:
    """Draws the sample picture at any time; all randomness comes from a fixed seed."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
        self.y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
        rng = np.random.default_rng(20240601)
        coarse = rng.random((height // 8 + 2, width // 8 + 2), dtype=np.float32)
        blotches = np.kron(coarse, np.ones((8, 8), np.float32))[:height, :width]
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        weave = 0.5 + 0.25 * np.sin(xx * 0.9) * np.sin(yy * 0.9) + 0.25 * np.sin((xx + yy) * 0.35)
        self.texture = (0.82 + 0.10 * blotches + 0.08 * weave)[..., None]
        self.discs = (
            (np.array([240, 90, 60], np.float32), 0.23, 0.31, 0.0),
            (np.array([60, 200, 120], np.float32), 0.17, 0.47, 2.1),
            (np.array([250, 210, 60], np.float32), 0.12, 0.73, 4.2),
        )

    def paint(self, t: Fraction, blink: bool) -> np.ndarray:
        """The upright RGB picture at time ``t``, with the white sync dot if ``blink``."""
        s = float(t)
        two_pi = 2 * np.pi
        img = np.empty((self.height, self.width, 3), np.float32)
        img[..., 0] = 0.5 + 0.5 * np.sin(two_pi * (0.8 * self.x + 0.10 * s))
        img[..., 1] = 0.5 + 0.5 * np.sin(two_pi * (0.7 * self.y + 0.07 * s + 0.33))
        img[..., 2] = 0.5 + 0.5 * np.sin(two_pi * (0.5 * (self.x + self.y) - 0.05 * s + 0.66))
        img = (40 + 150 * img) * self.texture
        aspect = self.width / self.height
        for colour, radius, speed, phase in self.discs:
            cx = 0.5 + 0.35 * np.sin(two_pi * speed * s + phase)
            cy = 0.5 + 0.30 * np.sin(two_pi * speed * 1.3 * s + phase * 0.7)
            # Only the disc's bounding box is touched: full-frame maths per disc is the slow part.
            x0, x1 = self._span(cx, (radius + 0.02) / aspect, self.width)
            y0, y1 = self._span(cy, radius + 0.02, self.height)
            dist = np.hypot((self.x[:, x0:x1] - cx) * aspect, self.y[y0:y1] - cy)
            alpha = np.clip((radius - dist) / 0.02, 0.0, 1.0)[..., None]
            box = img[y0:y1, x0:x1]
            box += (colour * self.texture[y0:y1, x0:x1] - box) * alpha
        if blink:
            img[(self.y < 0.1) & (self.x > 0.9)] = 255.0
        return np.clip(img, 0, 255).astype(np.uint8)

    @staticmethod
    def _span(centre: float, half: float, size: int) -> tuple[int, int]:
        """Pixel range covering ``centre ± half`` (in 0-1 units) clipped to ``[0, size)``."""
        lo = max(0, int((centre - half) * (size - 1)) - 1)
        hi = min(size, int((centre + half) * (size - 1)) + 2)
        return lo, max(lo, hi)
