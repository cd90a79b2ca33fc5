"""VideoReader: metadata, upright frames, audio pass-through and clear errors."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from rtstyle.errors import InputError
from rtstyle.video.frames import Frame
from rtstyle.video.reader import VideoReader


def test_metadata_of_sample_clip(make_clip):
    path = make_clip(seconds=2.0, width=64, height=48, fps=12)
    with VideoReader(path) as reader:
        assert (reader.width, reader.height, reader.rotation) == (64, 48, 0)
        assert reader.average_rate == 12
        assert reader.frame_count == 24
        assert reader.duration == pytest.approx(2.0, abs=1 / 12)
        assert isinstance(reader.time_base, Fraction)
        assert [s.codec_context.name for s in reader.audio_streams] == ["aac"]


def test_frames_are_upright_rgb_in_presentation_order(make_clip):
    with VideoReader(make_clip()) as reader:
        frames = list(reader.frames())
        again = list(reader.frames())  # every pass starts from the beginning
    assert len(frames) == len(again) == 12
    for frame in frames:
        assert frame.rgb.shape == (48, 64, 3) and frame.rgb.dtype == np.uint8
        assert frame.rgb.flags.c_contiguous
    times = [f.time for f in frames]
    assert times == sorted(times) and times[0] == 0.0
    assert times[1] == pytest.approx(1 / 12)


def test_items_interleave_frames_with_every_audio_packet(make_clip):
    path = make_clip(seconds=2.0)
    with av.open(str(path)) as container:
        audio_packets = sum(1 for p in container.demux(audio=0) if p.size)
    with VideoReader(path) as reader:
        items = list(reader.items())
        audio_index = reader.audio_streams[0].index
    packets = [i for i in items if isinstance(i, av.Packet)]
    frames = [i for i in items if isinstance(i, Frame)]
    assert len(frames) == 24 and len(packets) == audio_packets
    assert all(p.stream_index == audio_index for p in packets)
    # Interleaved, not all audio after all video: some packet precedes the last frame.
    kinds = [isinstance(i, Frame) for i in items]
    assert kinds.index(False) < len(kinds) - 1 - kinds[::-1].index(True)
    pts = [p.pts for p in packets]
    assert pts == sorted(pts)


def test_audio_stream_at_index_zero(make_clip):
    with VideoReader(make_clip(audio_first=True)) as reader:
        assert [s.index for s in reader.audio_streams] == [0]
        packets = [i for i in reader.items() if isinstance(i, av.Packet)]
    assert packets and {p.stream_index for p in packets} == {0}


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_is_applied(make_clip, rotation):
    upright = make_clip("upright.mp4", width=64, height=32, audio=False)
    turned = make_clip(f"r{rotation}.mp4", width=64, height=32, audio=False, rotation=rotation)
    with av.open(str(turned)) as container:
        coded = container.streams.video[0].codec_context
        assert (coded.width, coded.height) == ((32, 64) if rotation % 180 else (64, 32))
    with VideoReader(turned) as reader, VideoReader(upright) as reference:
        assert reader.rotation == rotation
        assert (reader.width, reader.height) == (64, 32)
        for a, b in zip(reader.frames(), reference.frames()):
            assert a.rgb.shape == (32, 64, 3)
            assert np.abs(a.rgb.astype(int) - b.rgb.astype(int)).mean() < 6


def test_variable_frame_rate_timestamps(make_clip):
    with VideoReader(make_clip("vfr.mkv", seconds=2.0, vfr=True)) as reader:
        times = [f.time for f in reader.frames()]
    gaps = np.round(np.diff(times), 3)
    assert len(set(gaps)) > 2 and (gaps > 0).all()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.mp4", "no such file"),
        (lambda d: d, "is a directory"),
        (
            lambda d: _write(d / "text.mp4", b"hello, not a video\n"),
            "not a video file PyAV can read",
        ),
        (lambda d: _write(d / "empty.mp4", b""), "not a video file PyAV can read"),
    ],
)
def test_unreadable_paths(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(InputError, match=message) as info:
        VideoReader(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_truncated_mp4(make_clip, tmp_path):
    truncated = _write(tmp_path / "cut.mp4", make_clip().read_bytes()[:3000])
    with pytest.raises(InputError, match="not a video file PyAV can read"):
        VideoReader(truncated)


def test_no_video(audio_only_clip, zero_frame_clip):
    with pytest.raises(InputError, match="has no video stream"):
        VideoReader(audio_only_clip)
    with pytest.raises(InputError, match="no video frames could be decoded"):
        VideoReader(zero_frame_clip)


def test_short_video_is_reported(make_clip, tmp_path, caplog):
    """A Matroska file cut short just ends early; the reader must say so rather than stay quiet."""
    data = make_clip("long.mkv", seconds=3.0).read_bytes()
    cut = _write(tmp_path / "cut.mkv", data[: len(data) // 3])
    with VideoReader(cut) as reader:
        frames = sum(1 for _ in reader.frames())
    assert 0 < frames < 36
    assert "may be truncated or damaged" in caplog.text


def _write(path, data: bytes):
    path.write_bytes(data)
    return path
