"""VideoWriter: timestamps, sizes, audio copy-or-convert and configuration errors."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from rtstyle.errors import OutputError
from rtstyle.video.frames import Frame
from rtstyle.video.reader import VideoReader
from rtstyle.video.writer import EncodeOptions, VideoWriter, check_encodable

FAST = EncodeOptions(preset="superfast")
TB = Fraction(1, 1000)


def frames(count: int, width: int = 32, height: int = 16, pts=None) -> list[Frame]:
    """Smooth, distinct pictures (noise would defeat any lossy comparison)."""
    pts = pts if pts is not None else [i * 100 for i in range(count)]
    y, x = np.mgrid[0:height, 0:width]
    result = []
    for i, p in enumerate(pts):
        rgb = np.stack(
            [
                x * 255 // max(width - 1, 1),
                y * 255 // max(height - 1, 1),
                np.full_like(x, 40 * i % 256),
            ],
            axis=-1,
        ).astype(np.uint8)
        result.append(Frame(rgb, p, TB if p is not None else None))
    return result


def write(path, items, **kwargs) -> None:
    first = items[0]
    with VideoWriter(
        path,
        width=first.rgb.shape[1],
        height=first.rgb.shape[0],
        time_base=kwargs.pop("time_base", TB),
        rate=kwargs.pop("rate", Fraction(10)),
        options=kwargs.pop("options", FAST),
        **kwargs,
    ) as writer:
        for frame in items:
            writer.write(frame)


def decoded_times(path) -> list[Fraction]:
    with av.open(str(path)) as container:
        return [f.pts * f.time_base for f in container.decode(video=0)]


def test_timestamps_are_rescaled_exactly(tmp_path):
    pts = [0, 40, 80, 200, 210, 600, 1000]  # irregular, in milliseconds
    write(tmp_path / "out.mp4", frames(len(pts), pts=pts))
    assert decoded_times(tmp_path / "out.mp4") == [Fraction(p, 1000) for p in pts]


def test_frames_without_timestamps_are_spaced_at_the_rate(tmp_path):
    write(tmp_path / "out.mp4", frames(5, pts=[None] * 5), rate=Fraction(25))
    assert decoded_times(tmp_path / "out.mp4") == [Fraction(i, 25) for i in range(5)]


def test_colliding_timestamps_stay_increasing(tmp_path):
    """A coarser output time base maps two source ticks to one; frames must not be lost."""
    pts = [0, 1, 2, 3, 100]
    write(tmp_path / "out.mp4", frames(5, pts=pts), time_base=Fraction(1, 100))
    times = decoded_times(tmp_path / "out.mp4")
    assert len(times) == 5 and times == sorted(set(times))


def test_odd_size_is_padded_with_edge_pixels(tmp_path):
    items = frames(3, width=33, height=17)
    write(tmp_path / "out.mp4", items, options=EncodeOptions(crf=0, preset="ultrafast"))
    with VideoReader(tmp_path / "out.mp4") as reader:
        assert (reader.width, reader.height) == (34, 18)
        out = [f.rgb.astype(int) for f in reader.frames()]
    for got, want in zip(out, items):
        # Near-lossless luma; 4:2:0 chroma on saturated gradients costs a few levels.
        assert np.abs(got[:17, :33] - want.rgb).mean() < 6
        # The padding column and row repeat the picture's edge (black would be ~128 off).
        assert np.abs(got[:17, 33] - want.rgb[:, 32]).mean() < 6
        assert np.abs(got[17, :33] - want.rgb[16]).mean() < 6
    # With 4:4:4 no padding is needed at all.
    write(
        tmp_path / "out444.mp4", items, options=EncodeOptions(pix_fmt="yuv444p", preset="ultrafast")
    )
    with VideoReader(tmp_path / "out444.mp4") as reader:
        assert (reader.width, reader.height) == (33, 17)


def test_wrong_frame_size_is_refused(tmp_path):
    with VideoWriter(tmp_path / "out.mp4", width=32, height=16, time_base=TB, rate=None) as writer:
        writer.write(frames(1)[0])
        with pytest.raises(ValueError, match="writer expects 32x16"):
            writer.write(frames(1, width=16)[0])


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("out.mp4", EncodeOptions(codec="nosuchcodec"), "unknown video encoder 'nosuchcodec'"),
        ("out.mp4", EncodeOptions(codec="aac"), "is not a video encoder"),
        ("out.mp4", EncodeOptions(pix_fmt="nosuchformat"), "unknown pixel format"),
        ("out.mp4", EncodeOptions(pix_fmt="pal8"), "libx264 cannot encode pal8"),
        ("out.webm", EncodeOptions(codec="libx264"), "webm file cannot hold libx264 video"),
        ("out.wav", EncodeOptions(), "wav file holds no video"),
        ("out.mp4", EncodeOptions(crf=-5), r"--crf -5 is out of range for libx264 \(0 to 51\)"),
        ("out.mp4", EncodeOptions(crf=99), r"--crf 99 is out of range for libx264 \(0 to 51\)"),
        ("out.webm", EncodeOptions(crf=64), r"--crf 64 is out of range for libvpx-vp9 \(0 to 63\)"),
        ("out.mp4", EncodeOptions(preset="bogus"), "--preset 'bogus' is not a libx264 preset"),
        ("out.webm", EncodeOptions(preset="fast"), "libvpx-vp9 has no --preset"),
        ("out.avi", EncodeOptions(codec="mpeg4", crf=20), "mpeg4 has no constant-quality mode"),
        ("out.nosuchsuffix", EncodeOptions(), "unknown video container '.nosuchsuffix'"),
        ("out", EncodeOptions(), r"unknown video container '\(no suffix\)'"),
    ],
)
def test_unusable_output_settings(tmp_path, name, options, message):
    with pytest.raises(OutputError, match=message) as info:
        check_encodable(tmp_path / name, options)
    assert "\n" not in str(info.value)
    with pytest.raises(OutputError, match=message):
        VideoWriter(tmp_path / name, width=32, height=16, time_base=TB, rate=None, options=options)
    assert list(tmp_path.iterdir()) == []  # nothing was created


@pytest.mark.parametrize(
    ("name", "codec"), [("out.mp4", "h264"), ("out.mkv", "h264"), ("out.mov", "h264"), ("out.webm", "vp9"),
                        ("out.avi", "h264"), ("out.ts", "h264")],
)
def test_the_container_picks_the_encoder_when_none_is_given(tmp_path, name, codec):
    write(tmp_path / name, frames(3), options=EncodeOptions())
    with av.open(str(tmp_path / name)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == codec
        assert sum(1 for _ in container.decode(stream)) == 3


def test_an_encoder_that_rejects_its_settings_is_caught_before_any_frame(tmp_path):
    """SVT-AV1 checks its own preset names: opening it up front finds the mistake."""
    if "libsvtav1" not in av.codecs_available:
        pytest.skip("this FFmpeg build has no SVT-AV1 encoder")
    with pytest.raises(OutputError, match="libsvtav1 does not accept --preset 'bogus'"):
        check_encodable(tmp_path / "out.mkv", EncodeOptions(codec="libsvtav1", preset="bogus"))
    assert list(tmp_path.iterdir()) == []


def _copy_audio(src, dst) -> None:
    with VideoReader(src) as reader:
        with VideoWriter(
            dst,
            width=reader.width,
            height=reader.height,
            time_base=reader.time_base,
            rate=reader.average_rate,
            audio_streams=reader.audio_streams,
            options=FAST,
        ) as writer:
            for item in reader.items():
                if isinstance(item, av.Packet):
                    writer.mux_audio(item)
                else:
                    writer.write(item)


def _audio_codecs(path) -> list[str]:
    with av.open(str(path)) as container:
        return [s.codec_context.name for s in container.streams.audio]


@pytest.mark.parametrize(
    ("source_codec", "suffix", "expected"),
    [
        ("aac", ".mp4", "aac"),
        ("aac", ".mkv", "aac"),
        ("aac", ".mov", "aac"),
        ("pcm_s16le", ".mp4", "aac"),
        ("pcm_s16le", ".mov", "pcm_s16le"),
        ("libopus", ".mov", "aac"),
        ("libopus", ".mkv", "opus"),
        ("vorbis", ".mp4", "aac"),
    ],
)
def test_audio_is_copied_when_possible_else_converted(
    make_clip, tmp_path, source_codec, suffix, expected
):
    src = make_clip(f"src-{source_codec}.mkv", audio_codec=source_codec)
    dst = tmp_path / f"out{suffix}"
    _copy_audio(src, dst)
    assert _audio_codecs(dst) == [expected]
    with av.open(str(dst)) as container:
        decoded = list(container.decode(audio=0))
    seconds = sum(f.samples for f in decoded) / decoded[0].sample_rate
    assert seconds == pytest.approx(1.0, abs=0.05)


def test_packets_from_unknown_streams_are_refused(make_clip, tmp_path):
    src = make_clip()
    with (
        VideoReader(src) as reader,
        VideoWriter(
            tmp_path / "out.mp4", width=64, height=48, time_base=reader.time_base, rate=None
        ) as writer,
    ):
        packet = next(i for i in reader.items() if isinstance(i, av.Packet))
        with pytest.raises(ValueError, match="not one given to the writer"):
            writer.mux_audio(packet)
