"""Shared fixtures: small synthetic clips made on the fly, so tests need no data files."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from rtstyle.video.sample import make_sample_clip

#: Small and short so the whole video test set stays fast on two CPU cores.
CLIP_DEFAULTS: dict[str, object] = {"seconds": 1.0, "width": 64, "height": 48, "fps": 12}


@pytest.fixture(scope="session", autouse=True)
def _artifact_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Exported ONNX graphs and engines go to one cache per test session, never the user's."""
    with pytest.MonkeyPatch.context() as patch:
        cache = tmp_path_factory.mktemp("rtstyle-cache")
        patch.setenv("RTSTYLE_CACHE_DIR", str(cache))
        yield cache


@pytest.fixture
def make_clip(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_clip("name.mp4", **make_sample_clip options)`` -> path in ``tmp_path``."""

    def make(name: str = "clip.mp4", **options: object) -> Path:
        return make_sample_clip(tmp_path / name, **{**CLIP_DEFAULTS, **options})

    return make


def _write_tone(path: Path, *, with_video_stream: bool) -> Path:
    """One second of AAC tone, optionally beside a video stream that never gets a frame."""
    with av.open(str(path), "w") as out:
        if with_video_stream:
            out.add_stream("libx264", rate=12, width=64, height=48)
        audio = out.add_stream("aac", rate=48000)
        tone = np.sin(np.arange(48000, dtype=np.float32) * (2 * np.pi * 440 / 48000)) * 0.2
        frame = av.AudioFrame.from_ndarray(tone[None, :], format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
    return path


@pytest.fixture
def audio_only_clip(tmp_path: Path) -> Path:
    """An ``.mp4`` holding only an audio stream."""
    return _write_tone(tmp_path / "audio-only.mp4", with_video_stream=False)


@pytest.fixture
def zero_frame_clip(tmp_path: Path) -> Path:
    """An ``.mkv`` whose video stream exists but holds no frames (audio does)."""
    return _write_tone(tmp_path / "zero-frames.mkv", with_video_stream=True)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder this user cannot write to; skips where permissions do not bind (root)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user (root) that can write anywhere")
        yield locked
    finally:
        locked.chmod(0o755)
