"""make_sample_clip: deterministic, textured, with audio as long as the video."""

from __future__ import annotations

import av
import numpy as np
import pytest

from rtstyle.errors import OutputError
from rtstyle.video.reader import VideoReader
from rtstyle.video.sample import make_sample_clip


def test_deterministic_and_textured(tmp_path):
    a = make_sample_clip(tmp_path / "a.mp4", seconds=0.5, width=96, height=64, fps=12)
    b = make_sample_clip(tmp_path / "b.mp4", seconds=0.5, width=96, height=64, fps=12)
    with VideoReader(a) as ra, VideoReader(b) as rb:
        fa, fb = list(ra.frames()), list(rb.frames())
    assert len(fa) == 6
    for x, y in zip(fa, fb):
        assert np.array_equal(x.rgb, y.rgb)
    first = fa[0].rgb.astype(float)
    # Texture and motion: not flat, and the picture changes over time.
    assert first.std() > 20 and np.abs(np.diff(first, axis=1)).mean() > 2
    assert np.abs(fa[-1].rgb.astype(float) - first).mean() > 2


def test_audio_matches_video_length(tmp_path):
    path = make_sample_clip(
        tmp_path / "c.mkv", seconds=1.5, width=32, height=32, fps=10, channels=1
    )
    with av.open(str(path)) as container:
        audio = list(container.decode(audio=0))
        assert audio[0].layout.name == "mono"
    assert sum(f.samples for f in audio) / 48000 == pytest.approx(1.5, abs=0.03)
    with VideoReader(path) as reader:
        assert sum(1 for _ in reader.frames()) == 15


def test_refuses_to_overwrite_and_bad_rotation(tmp_path):
    path = make_sample_clip(tmp_path / "d.mp4", seconds=0.2, width=16, height=16, audio=False)
    with pytest.raises(OutputError, match="already exists"):
        make_sample_clip(path, seconds=0.2, width=16, height=16)
    with pytest.raises(ValueError, match="multiple of 90"):
        make_sample_clip(tmp_path / "e.mp4", rotation=45)


def test_container_choices(tmp_path):
    webm = make_sample_clip(tmp_path / "f.webm", seconds=0.5, width=32, height=32)
    with av.open(str(webm)) as container:
        assert [s.codec_context.name for s in container.streams] == ["vp9", "opus"]
    with pytest.raises(OutputError, match="unknown video container"):
        make_sample_clip(tmp_path / "f.xyz", seconds=0.5, width=32, height=32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.webm"]
