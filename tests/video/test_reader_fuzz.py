"""Damaged video files: VideoReader reads them or raises InputError, quickly, never anything else.

Random bytes, truncations, bit flips and spliced garbage over tiny real clips (MP4 and Matroska:
the two demuxers users meet most); seeds are fixed so a failure reproduces.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from rtstyle.errors import InputError
from rtstyle.video.reader import VideoReader

#: Longest any one read may take: a bound on hanging, not a speed test (each takes milliseconds).
HANG_LIMIT_S = 2.0
TINY_CLIP: dict[str, object] = {"seconds": 0.5, "width": 32, "height": 24, "fps": 12}


def _outcome(path: Path) -> str:
    """Open ``path`` and run a full pass with audio; 'ok', or 'refused' on a one-line InputError."""
    started = time.perf_counter()
    try:
        with VideoReader(path) as reader:
            for _ in reader.items():
                pass
        result = "ok"
    except InputError as exc:
        assert "\n" not in str(exc), str(exc)
        result = "refused"
    elapsed = time.perf_counter() - started
    assert elapsed < HANG_LIMIT_S, f"reading took {elapsed:.1f} s"
    return result


@pytest.fixture(autouse=True)
def _quiet_truncation_warnings(caplog: pytest.LogCaptureFixture) -> None:
    """Short-file warnings are expected here by the hundred; keep them out of the report."""
    caplog.set_level(logging.ERROR, logger="rtstyle.video.reader")


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_damaged_clips(make_clip: Callable[..., Path], tmp_path: Path, suffix: str) -> None:
    data = make_clip(f"clip{suffix}", **TINY_CLIP).read_bytes()
    rng = random.Random(suffix)
    path = tmp_path / f"damaged{suffix}"
    outcomes: dict[str, set[str]] = {}

    def check(kind: str, blob: bytes) -> None:
        path.write_bytes(blob)
        outcomes.setdefault(kind, set()).add(_outcome(path))

    for offset in range(0, len(data), len(data) // 50):
        check("truncated", data[:offset])
    for _ in range(120):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        check("flipped", bytes(damaged))
    for _ in range(25):
        check("spliced", data[: rng.randrange(len(data))] + rng.randbytes(rng.randint(1, 3000)))
    for _ in range(25):
        check("random", rng.randbytes(rng.randint(0, 5000)))
    assert outcomes["random"] == {"refused"}
    assert outcomes["truncated"] == outcomes["flipped"] == {"ok", "refused"}  # the fuzzing reached the decoder


def test_metadata_in_a_legacy_encoding_does_not_hide_the_pictures(make_clip: Callable[..., Path], tmp_path: Path) -> None:
    """A Latin-1 title (old muxers, hand-edited tags) is not UTF-8; PyAV's default refuses the file."""
    source = make_clip("clip.mp4", **TINY_CLIP)
    legacy = tmp_path / "latin1.mkv"
    with av.open(str(source)) as inp, av.open(str(legacy), "w", metadata_encoding="latin-1") as out:
        out.metadata["title"] = "café"
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    with VideoReader(legacy) as reader:
        assert len(list(reader.frames())) == 6
