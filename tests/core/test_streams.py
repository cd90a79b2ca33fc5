"""The stream core end to end: pipes in and out, a TCP stream, a camera recording, drops and reconnects."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from factories import write_tiny_bank
from rtstyle.cli import main
from rtstyle.errors import EXIT_USER_ERROR, InputError
from rtstyle.stream import live_sources
from rtstyle.stream.live_sources import NetworkStreamSource
from rtstyle.stream.spec import SourceSpec
from rtstyle.video import camera as camera_module
from rtstyle.video.sample import make_sample_clip

CLIP = {"seconds": 1.0, "width": 64, "height": 48, "fps": 12}
STYLE = ["--backend", "torch", "--quiet"]


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    return write_tiny_bank(tmp_path / "tiny.safetensors")


def _frames_and_audio(data: Path | bytes) -> tuple[int, int]:
    """(video frames, audio streams) of a file or of bytes read from a pipe."""
    with av.open(io.BytesIO(data) if isinstance(data, bytes) else str(data)) as container:
        audio = len(container.streams.audio)
        return sum(1 for _ in container.decode(video=0)), audio


def _rtstyle(*args: str, **popen: object) -> subprocess.Popen[bytes]:
    """``rtstyle ARGS`` in a child process, as a shell pipeline would run it."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "rtstyle.cli", *args], env=env, **popen)  # type: ignore[call-overload]


def test_source_spellings() -> None:
    assert SourceSpec.parse("-").stdin
    assert SourceSpec.parse("rtsp://cam.local:554/live").url == "rtsp://cam.local:554/live"
    assert SourceSpec.parse("camera:2").camera == 2 and SourceSpec.parse("3").camera == 3
    assert SourceSpec.parse("clip.mp4").path == Path("clip.mp4").absolute()
    for text in ("-", "udp://127.0.0.1:5000", "camera:1"):
        assert str(SourceSpec.parse(text)) == text
    assert SourceSpec.parse("udp://x:1").is_live and not SourceSpec.parse("a.mkv").is_live
    with pytest.raises(InputError, match="camera:N"):
        SourceSpec.parse("camera:x")


def test_convert_reads_a_pipe_on_standard_input(tmp_path: Path, bank: Path) -> None:
    clip = make_sample_clip(tmp_path / "in.mkv", **CLIP)
    out = tmp_path / "out.mp4"
    reader, writer = os.pipe()  # a real pipe: not seekable, read once
    child = _rtstyle("convert", "-", str(out), "--model", str(bank), *STYLE, stdin=reader, stderr=subprocess.PIPE)
    os.close(reader)
    with os.fdopen(writer, "wb") as pipe:
        pipe.write(clip.read_bytes())
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err.decode()
    assert _frames_and_audio(out) == _frames_and_audio(clip)  # every frame, and the audio


def test_convert_writes_a_stream_to_standard_output(tmp_path: Path, bank: Path) -> None:
    clip = make_sample_clip(tmp_path / "in.mp4", **CLIP)
    child = _rtstyle("convert", str(clip), "-", "--format", "matroska", "--model", str(bank), *STYLE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    data, err = child.communicate(timeout=120)
    assert child.returncode == 0, err.decode()
    assert data[:4] == b"\x1a\x45\xdf\xa3"  # the EBML magic: a Matroska stream, nothing else on stdout
    assert _frames_and_audio(data) == _frames_and_audio(clip)


def test_a_stream_nobody_serves_is_one_line(tmp_path: Path, bank: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free again once closed: nothing listens there
    assert main(["convert", f"tcp://127.0.0.1:{port}", str(tmp_path / "x.mp4"), "--model", str(bank)]) == EXIT_USER_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"rtstyle: error: tcp://127.0.0.1:{port}: cannot open the stream")
    assert not (tmp_path / "x.mp4").exists()


def test_standard_output_needs_a_container_name(tmp_path: Path, bank: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = make_sample_clip(tmp_path / "in.mp4", **CLIP)
    assert main(["convert", str(clip), "-", "--model", str(bank)]) == EXIT_USER_ERROR
    assert "--format" in capsys.readouterr().err


def _send_tcp(url: str, frames: int) -> None:
    """Push ``frames`` H.264 frames over MPEG-TS to a listening rtstyle, retrying until it listens.

    FFmpeg connects on the first packet, so a refused connection means nothing was sent yet.
    """
    deadline = time.monotonic() + 60
    while True:
        out = av.open(url, "w", format="mpegts")
        stream = out.add_stream("libx264", rate=12, options={"preset": "ultrafast", "tune": "zerolatency"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        try:
            for index in range(frames):
                picture = np.full((48, 64, 3), (index * 20) % 256, np.uint8)
                out.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
            out.mux(stream.encode())
            out.close()
            return
        except av.error.ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            threading.Event().wait(0.05)  # the child is still starting up


def test_convert_records_a_network_stream(tmp_path: Path, bank: Path) -> None:
    """A TCP stream served on 127.0.0.1 by PyAV stands in for an RTSP camera: every frame arrives."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "stream.mp4"
    child = _rtstyle("convert", f"tcp://127.0.0.1:{port}?listen=1", str(out), "--model", str(bank), *STYLE,
                     stderr=subprocess.PIPE)
    _send_tcp(f"tcp://127.0.0.1:{port}", 20)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err.decode()
    assert _frames_and_audio(out) == (20, 0)


class _UnpluggedAfter:
    """A fake OpenCV capture that delivers ``frames`` frames, then fails every read (unplugged)."""

    def __init__(self, frames: int) -> None:
        self.left = frames

    def isOpened(self) -> bool:
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.left -= 1
        if self.left < 0:
            return False, None
        return True, np.full((48, 64, 3), 40 + self.left, np.uint8)

    def get(self, prop: int) -> float:
        return 30.0

    def release(self) -> None:
        pass


def test_a_camera_recording_keeps_what_arrived_when_the_camera_goes(
    tmp_path: Path, bank: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(camera_module, "open_capture", lambda index: _UnpluggedAfter(15))
    out = tmp_path / "webcam.mp4"
    assert main(["convert", "camera:0", str(out), "--duration", "60", "--model", str(bank), "--backend", "torch"]) == 0
    assert _frames_and_audio(out) == (15, 0)
    err = capsys.readouterr().err
    assert "camera 0 stopped after 15 frames" in err and "Traceback" not in err


def test_a_camera_needs_a_duration(tmp_path: Path, bank: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", "camera:0", str(tmp_path / "x.mp4"), "--model", str(bank)]) == EXIT_USER_ERROR
    assert "--duration" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()


def test_duration_cuts_a_file(tmp_path: Path, bank: Path) -> None:
    clip = make_sample_clip(tmp_path / "in.mp4", **CLIP)  # 12 fps
    out = tmp_path / "cut.mp4"
    assert main(["convert", str(clip), str(out), "--duration", "0.5", "--model", str(bank), *STYLE]) == 0
    assert _frames_and_audio(out)[0] == 6


class _FlakyReader:
    """Stands in for VideoReader over a URL: each open follows the next script entry."""

    script: list[int | None] = []  # frames delivered before the drop; None: the open fails
    opened = 0

    def __init__(self, url: str) -> None:
        type(self).opened += 1
        self.frames_left = self.script.pop(0) if self.script else None
        if self.frames_left is None:
            raise InputError(f"{url}: connection refused")
        self.average_rate = Fraction(25)

    def frames(self):  # noqa: ANN201 - a generator of stand-in frames
        for index in range(self.frames_left):
            yield type("F", (), {"rgb": np.full((4, 4, 3), index, np.uint8)})()
        raise InputError("tcp://cam: file is corrupt; reading failed")

    def __enter__(self) -> _FlakyReader:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def test_a_live_stream_reconnects_then_gives_up_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _FlakyReader.script, _FlakyReader.opened = [3, 2, None, None, None], 0
    monkeypatch.setattr(live_sources, "VideoReader", _FlakyReader)
    source = NetworkStreamSource("tcp://cam", tries=3, wait_s=0.0)
    got, segments = [], []
    with pytest.raises(InputError, match="gave up after 3 tries"):
        for rgb in source.frames(threading.Event()):
            got.append(rgb)
            segments.append(source.segment)
    assert len(got) == 5 and _FlakyReader.opened == 5  # 3 + 2 frames, then three refused opens
    assert segments == [0, 0, 0, 1, 1]  # frames across a reconnection do not count as following
