"""End-to-end conversions: frames, timing, audio and failure handling of ``convert_video``."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from rtstyle.errors import InputError, OutputError
from rtstyle.stream import ordered as pipeline
from rtstyle.stream.ordered import ConvertStats, convert_video, queue_depth
from rtstyle.video.frames import Frame
from rtstyle.video.reader import VideoReader
from rtstyle.video.writer import EncodeOptions

# Fast encoding keeps the suite quick; superfast still makes B-frames (reordered timestamps).
FAST = EncodeOptions(preset="superfast")


def invert(batch: np.ndarray) -> np.ndarray:
    """Stand-in stylizer: a cheap, visible, exactly checkable change."""
    return 255 - batch


def identity(batch: np.ndarray) -> np.ndarray:
    return batch


def leftovers(directory: Path) -> list[str]:
    """Hidden temporary files that an interrupted conversion might have left behind."""
    return [p.name for p in directory.iterdir() if ".rtstyle-" in p.name]


def video_times(path: Path) -> list[Fraction]:
    """Presentation times of every decoded frame, exact."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [frame.pts * frame.time_base for frame in container.decode(stream)]


def same_timing(a: list[Fraction], b: list[Fraction], tolerance: float) -> bool:
    """Equal frame timing up to a common shift (Matroska moves everything past AAC priming)."""
    return len(a) == len(b) and all(abs((x - a[0]) - (y - b[0])) <= tolerance for x, y in zip(a, b))


def audio_info(path: Path) -> list[tuple[str, int, list[bytes]]]:
    """(codec, channels, packet payloads) of every audio stream, in stream order."""
    result = []
    with av.open(str(path)) as container:
        for stream in container.streams.audio:
            payloads = [bytes(p) for p in container.demux(stream) if p.size]
            result.append((stream.codec_context.name, stream.codec_context.channels, payloads))
            container.seek(0)
    return result


def audio_seconds(path: Path) -> float:
    """Duration of the first audio stream, by decoding it (container metadata can lie)."""
    with av.open(str(path)) as container:
        frames = list(container.decode(container.streams.audio[0]))
    return float(frames[-1].time - frames[0].time) + frames[-1].samples / frames[-1].sample_rate


def sync_offset(path: Path, second: int = 1) -> float:
    """Audio tick time minus video blink time around ``second``: 0 when in sync."""
    with av.open(str(path)) as container:
        blink = None
        for frame in container.decode(container.streams.video[0]):
            rgb = frame.to_ndarray(format="rgb24")
            h, w = rgb.shape[:2]
            corner = rgb[: max(1, h // 12), w - max(1, w // 12) :].reshape(-1, 3).mean(axis=0)
            if frame.time > second - 0.5 and corner.min() > 230:
                blink = frame.time
                break
        container.seek(0)
        tick = None
        for frame in container.decode(container.streams.audio[0]):
            samples = frame.to_ndarray()
            if samples.dtype == np.int16:
                samples = samples / 32768.0
            if not frame.format.is_planar:  # interleaved: one row of L R L R ...
                samples = samples.reshape(-1, len(frame.layout.channels)).T
            loud = np.flatnonzero(np.abs(samples).max(axis=0) > 0.35)
            if frame.time > second - 0.5 and loud.size:
                tick = frame.time + loud[0] / frame.sample_rate
                break
    assert blink is not None and tick is not None, "sync markers not found"
    return tick - blink


def convert(src: Path, dst: Path, process: Callable = invert, **kwargs) -> ConvertStats:
    return convert_video(src, dst, process, options=kwargs.pop("options", FAST), **kwargs)


# -- frames, timing and picture -------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_frames_duration_and_picture_are_kept(make_clip, tmp_path, suffix):
    src = make_clip(seconds=2.0)
    dst = tmp_path / f"out{suffix}"
    stats = convert(src, dst, batch_size=3)

    assert stats.frames == 24 and stats.fps > 0
    src_times, dst_times = video_times(src), video_times(dst)
    assert len(dst_times) == len(src_times) == 24
    if suffix == ".mp4":
        assert dst_times == src_times
    else:  # Matroska keeps milliseconds
        assert same_timing(dst_times, src_times, 0.001)
    assert abs(audio_seconds(dst) - audio_seconds(src)) < 1 / 12
    with VideoReader(src) as a, VideoReader(dst) as b:
        for before, after in zip(a.frames(), b.frames()):
            # Inverted, up to lossy coding.
            diff = np.abs(after.rgb.astype(int) - (255 - before.rgb.astype(int)))
            assert diff.mean() < 6


def test_batches_keep_frame_order(make_clip, tmp_path):
    """Each output frame must be its own input frame: stamp frames, check the order after."""
    src = make_clip(seconds=1.0, width=32, height=32)
    seen: list[int] = []

    def stamp(batch: np.ndarray) -> np.ndarray:
        out = np.empty_like(batch)
        for i in range(len(batch)):
            out[i] = (len(seen) * 10) % 250
            seen.append(len(seen))
        return out

    convert(src, tmp_path / "out.mp4", stamp, batch_size=5)
    with VideoReader(tmp_path / "out.mp4") as reader:
        levels = [int(round(f.rgb.mean())) for f in reader.frames()]
    assert len(levels) == 12
    assert all(abs(level - i * 10) <= 3 for i, level in enumerate(levels)), levels


def test_output_size_follows_process(make_clip, tmp_path):
    src = make_clip(width=64, height=48)
    convert(src, tmp_path / "out.mp4", lambda b: np.ascontiguousarray(b[:, ::2, ::2]))
    with VideoReader(tmp_path / "out.mp4") as reader:
        assert (reader.width, reader.height) == (32, 24)


def test_variable_frame_rate_timestamps_survive(make_clip, tmp_path):
    src = make_clip("vfr.mkv", seconds=2.0, vfr=True)
    src_times = video_times(src)
    gaps = {b - a for a, b in zip(src_times, src_times[1:])}
    assert len(gaps) > 2, "the source should really be VFR"
    convert(src, tmp_path / "out.mkv")
    assert video_times(tmp_path / "out.mkv") == src_times
    convert(src, tmp_path / "out.mp4")
    assert video_times(tmp_path / "out.mp4") == src_times


def test_rotated_source_comes_out_upright(make_clip, tmp_path):
    upright = make_clip("upright.mp4", width=64, height=32, audio=False)
    rotated = make_clip("rotated.mp4", width=64, height=32, audio=False, rotation=90)
    with VideoReader(rotated) as reader:
        assert reader.rotation == 90
    convert(rotated, tmp_path / "out.mp4", identity)
    with VideoReader(tmp_path / "out.mp4") as out, VideoReader(upright) as ref:
        assert out.rotation == 0
        assert (out.width, out.height) == (64, 32)
        for a, b in zip(out.frames(), ref.frames()):
            assert np.abs(a.rgb.astype(int) - b.rgb.astype(int)).mean() < 6


@pytest.mark.parametrize(("width", "height"), [(33, 17), (2, 2), (1, 1)])
def test_odd_and_tiny_sizes(make_clip, tmp_path, width, height):
    src = make_clip(width=width, height=height, audio=False)
    convert(src, tmp_path / "out.mp4", identity)
    padded = (width + width % 2, height + height % 2)
    with VideoReader(tmp_path / "out.mp4") as out, VideoReader(src) as ref:
        assert (out.width, out.height) == padded
        got = [f.rgb for f in out.frames()]
        want = [f.rgb for f in ref.frames()]
    assert len(got) == len(want) == 12
    for a, b in zip(got, want):
        # The source picture is intact in the top-left corner; padding repeats its edge.
        assert np.abs(a[:height, :width].astype(int) - b.astype(int)).mean() < 12
        if width % 2:
            assert np.abs(a[:height, -1].astype(int) - a[:height, -2].astype(int)).mean() < 12


def test_progress_callback_counts_up_to_every_frame(make_clip, tmp_path):
    src = make_clip()
    progress: list[int] = []
    stats = convert(src, tmp_path / "out.mp4", batch_size=4, on_progress=progress.append)
    assert progress == sorted(set(progress)) and progress[-1] == stats.frames == 12


# -- audio ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_aac_audio_is_copied_untouched(make_clip, tmp_path, suffix):
    src = make_clip(seconds=2.0)
    dst = tmp_path / f"out{suffix}"
    stats = convert(src, dst, identity)
    [(codec, channels, packets)] = audio_info(dst)
    [(_, _, src_packets)] = audio_info(src)
    assert codec == "aac" and channels == 2
    assert packets == src_packets  # bit-identical: copied, not re-encoded
    assert stats.audio_packets == len(src_packets)
    assert abs(sync_offset(dst)) < 1 / 12
    assert abs(sync_offset(dst) - sync_offset(src)) < 0.002


def test_pcm_audio_into_mp4_is_converted_to_aac(make_clip, tmp_path):
    src = make_clip("pcm.mkv", seconds=2.0, audio_codec="pcm_s16le")
    dst = tmp_path / "out.mp4"
    convert(src, dst, identity)
    [(codec, channels, _)] = audio_info(dst)
    assert (codec, channels) == ("aac", 2)
    assert abs(audio_seconds(dst) - 2.0) < 1 / 12
    assert abs(sync_offset(dst)) < 0.01


def test_pcm_audio_is_copied_into_mkv(make_clip, tmp_path):
    src = make_clip("pcm.mkv", audio_codec="pcm_s16le")
    convert(src, tmp_path / "out.mkv")
    assert audio_info(tmp_path / "out.mkv")[0][2] == audio_info(src)[0][2]


def test_vorbis_audio_into_mp4_is_converted(make_clip, tmp_path):
    src = make_clip("vorbis.mkv", audio_codec="vorbis")
    convert(src, tmp_path / "out.mp4")
    assert audio_info(tmp_path / "out.mp4")[0][0] == "aac"


def test_audio_as_first_stream_and_mono(make_clip, tmp_path):
    src = make_clip(seconds=2.0, audio_first=True, channels=1)
    with av.open(str(src)) as container:
        assert container.streams[0].type == "audio"
    dst = tmp_path / "out.mkv"
    convert(src, dst, identity)
    [(codec, channels, packets)] = audio_info(dst)
    assert (codec, channels) == ("aac", 1)
    assert packets == audio_info(src)[0][2]
    assert abs(sync_offset(dst)) < 0.01


def test_no_audio(make_clip, tmp_path):
    src = make_clip(audio=False)
    stats = convert(src, tmp_path / "out.mp4")
    assert stats.audio_packets == 0
    assert audio_info(tmp_path / "out.mp4") == []
    assert len(video_times(tmp_path / "out.mp4")) == 12


# -- atomic output and errors ---------------------------------------------------------------


def test_failure_mid_conversion_leaves_nothing(make_clip, tmp_path):
    src = make_clip(seconds=2.0)
    dst = tmp_path / "out.mp4"
    calls = 0

    def failing(batch: np.ndarray) -> np.ndarray:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("model exploded")
        return batch

    with pytest.raises(RuntimeError, match="model exploded"):
        convert(src, dst, failing, batch_size=2)
    assert not dst.exists() and leftovers(tmp_path) == []


def test_ctrl_c_leaves_nothing(make_clip, tmp_path):
    src = make_clip(seconds=2.0)
    dst = tmp_path / "out.mp4"
    dst.write_bytes(b"previous result")

    def interrupted(batch: np.ndarray) -> np.ndarray:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        convert(src, dst, interrupted, overwrite=True)
    assert dst.read_bytes() == b"previous result"
    assert leftovers(tmp_path) == []


def test_real_sigint_mid_conversion_stops_every_thread(make_clip, tmp_path):
    """SIGINT lands wherever the main thread is (often blocked on a queue), not in process."""
    src = make_clip(seconds=2.0)
    dst = tmp_path / "out.mp4"
    first_progress = threading.Event()
    threads_before = threading.active_count()

    def slow(batch: np.ndarray) -> np.ndarray:
        time.sleep(0.02)
        return batch

    def interrupt() -> None:
        first_progress.wait(10)
        os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=interrupt)
    sender.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            convert(src, dst, slow, on_progress=lambda n: first_progress.set())
    finally:
        first_progress.set()
        sender.join()
    assert not dst.exists() and leftovers(tmp_path) == []
    assert threading.active_count() == threads_before


def test_error_in_encode_thread_reaches_the_caller(make_clip, tmp_path):
    src = make_clip(seconds=2.0)
    calls = 0

    def shrinking(batch: np.ndarray) -> np.ndarray:
        nonlocal calls
        calls += 1
        return batch if calls < 3 else np.ascontiguousarray(batch[:, :16, :16])

    with pytest.raises(ValueError, match="writer expects 64x48"):
        convert(src, tmp_path / "out.mp4", shrinking, batch_size=2)
    assert not (tmp_path / "out.mp4").exists() and leftovers(tmp_path) == []


def test_bad_process_result_is_reported(make_clip, tmp_path):
    src = make_clip()
    with pytest.raises(ValueError, match=r"uint8 \[1, H, W, 3\]"):
        convert(src, tmp_path / "out.mp4", lambda b: b.astype(np.float32))
    assert leftovers(tmp_path) == []


def test_existing_destination_needs_overwrite(make_clip, tmp_path):
    src = make_clip()
    dst = tmp_path / "out.mp4"
    dst.write_bytes(b"keep me")
    with pytest.raises(OutputError, match="already exists"):
        convert(src, dst)
    assert dst.read_bytes() == b"keep me"
    convert(src, dst, overwrite=True)
    assert len(video_times(dst)) == 12


def test_destination_equal_to_source_is_refused(make_clip, tmp_path):
    src = make_clip()
    before = src.read_bytes()
    for dst in (src, tmp_path / "." / src.name):
        with pytest.raises(OutputError, match="is the input file"):
            convert(src, dst, overwrite=True)
    assert src.read_bytes() == before


def test_unknown_codec_fails_before_processing(make_clip, tmp_path):
    src = make_clip()
    calls: list[int] = []

    def process(batch: np.ndarray) -> np.ndarray:
        calls.append(1)
        return batch

    with pytest.raises(OutputError, match="unknown video encoder 'nosuchcodec'"):
        convert(src, tmp_path / "out.mp4", process, options=EncodeOptions(codec="nosuchcodec"))
    with pytest.raises(OutputError, match="unknown video container"):
        convert(src, tmp_path / "out.xyz", process)
    assert calls == [] and leftovers(tmp_path) == []


def test_corrupt_stream_fails_with_frame_number(tmp_path):
    src = _moov_first_mp4(tmp_path / "fast.mp4")
    data = src.read_bytes()
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(InputError, match=r"corrupt or truncated at frame \d+") as info:
        convert(damaged, tmp_path / "out.mp4")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out.mp4").exists() and leftovers(tmp_path) == []


def test_unwritable_directory(make_clip, read_only_dir):
    src = make_clip()
    with pytest.raises(OutputError, match="cannot write to directory"):
        convert(src, read_only_dir / "out.mp4")


def test_bad_inputs_give_one_line_errors(tmp_path):
    missing = tmp_path / "missing.mp4"
    text = tmp_path / "notes.mp4"
    text.write_text("just some text, not a video\n")
    for src, pattern in [
        (missing, "no such file"),
        (text, "not a video file PyAV can read"),
        (tmp_path, "is a directory"),
    ]:
        with pytest.raises(InputError, match=pattern) as info:
            convert(src, tmp_path / "out.mp4")
        assert "\n" not in str(info.value)
        assert not (tmp_path / "out.mp4").exists()


def _moov_first_mp4(path: Path, frames: int = 24) -> Path:
    """An MP4 with its index at the front, so a truncated copy still opens (and then fails)."""
    rng = np.random.default_rng(1)
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=12, width=64, height=48)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def test_unusable_inputs_are_refused(make_clip, audio_only_clip, zero_frame_clip, tmp_path):
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(make_clip().read_bytes()[:4000])
    for src, pattern in [
        (truncated, "not a video file PyAV can read"),
        (audio_only_clip, "has no video stream"),
        (zero_frame_clip, "no video frames could be decoded"),
    ]:
        with pytest.raises(InputError, match=pattern) as info:
            convert(src, tmp_path / "out.mp4")
        assert str(info.value).startswith(f"{src}: ") and "\n" not in str(info.value)
        assert not (tmp_path / "out.mp4").exists() and leftovers(tmp_path) == []


# -- memory ---------------------------------------------------------------------------------


def test_queue_depth_is_bounded_in_bytes():
    assert queue_depth(1920 * 1080 * 3, 1) == 2  # single frames, even 1080p: two waiting chunks
    assert queue_depth(1920 * 1080 * 3, 8) == 2
    assert queue_depth(3840 * 2160 * 3, 8) == 1  # a 200 MB chunk of 4K frames waits alone
    assert queue_depth(10**12, 1) == 1  # a chunk must always be able to pass


def test_decoding_runs_ahead_by_no_more_than_the_queue_holds(make_clip, tmp_path, monkeypatch):
    """With room for one waiting chunk, the decoder holds at most one more chunk than the stylizer."""
    width, height, batch = 32, 24, 2
    src = make_clip(seconds=1.0, width=width, height=height, fps=24, audio=False)
    monkeypatch.setattr(pipeline, "_QUEUE_BYTES", width * height * 3 * batch)  # depth 1
    decoded = handed = ahead = 0
    items = VideoReader.items

    def counting_items(reader: VideoReader):
        nonlocal decoded
        for item in items(reader):
            decoded += isinstance(item, Frame)
            yield item

    def slow_identity(frames: np.ndarray) -> np.ndarray:
        nonlocal handed, ahead
        handed += len(frames)
        time.sleep(0.03)  # lets the decoder fill whatever room it has
        ahead = max(ahead, decoded - handed)
        return frames

    monkeypatch.setattr(VideoReader, "items", counting_items)
    stats = convert(src, tmp_path / "out.mp4", slow_identity, batch_size=batch)
    assert stats.frames == handed == 24
    # One chunk in the queue plus the one the decoder blocks on: two queued chunks would be 3·batch.
    assert 0 < ahead <= 2 * batch
