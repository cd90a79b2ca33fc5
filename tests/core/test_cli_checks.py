"""What the command line checks before any model loads, and what it tells the user on the way."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from factories import write_tiny_bank
from rtstyle import commands
from rtstyle.cli import main
from rtstyle.errors import EXIT_USER_ERROR
from rtstyle.video.images import open_image, write_image
from rtstyle.video.sample import make_sample_clip


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    return write_tiny_bank(tmp_path / "tiny.safetensors")


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_sample_clip(tmp_path / "clip.mp4", seconds=0.5, width=64, height=48, fps=12)


@pytest.fixture(autouse=True)
def _fresh_logging():
    """``main`` configures the root logger; give each test pytest's handlers back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a command gets as far as loading a model."""

    def refuse(_args: object) -> None:
        raise AssertionError("the model was loaded before the mistake was found")

    monkeypatch.setattr(commands, "build_stylizer", refuse)


def _one_line_error(code: int, err: str, fragment: str) -> None:
    assert code == EXIT_USER_ERROR, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("rtstyle: error:") and fragment in lines[0], err


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--preset", "bogus"], "--preset 'bogus' is not a libx264 preset"),
        (["--crf", "-5"], "--crf -5 is out of range for libx264 (0 to 51)"),
        (["--crf", "99"], "--crf 99 is out of range"),
        (["--max-pixels", "0"], "--max-pixels must be at least 64"),
        (["--strength", "2"], "--strength must be between 0 and 1"),
        (["--scale", "0"], "--scale must be in (0, 4]"),
        (["--batch", "0"], "--batch must be at least 1"),
        (["--regions", "bogus"], "unknown region layout 'bogus'"),
        (["--codec", "aac"], "is not a video encoder"),
    ],
)
def test_bad_options_fail_before_the_model_loads(
    tmp_path: Path, clip: Path, no_model: None, capsys: pytest.CaptureFixture[str], extra: list[str], fragment: str
) -> None:
    code = main(["convert", str(clip), str(tmp_path / "out.mp4"), *extra])
    _one_line_error(code, capsys.readouterr().err, fragment)
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize(
    ("content", "output", "fragment"),
    [
        (b"", "out.mp4", "not a video file"),
        (b"hello, not a video", "out.mp4", "not a video file"),
        (None, "missing/out.mp4", "does not exist"),
        (None, "out.nosuchcontainer", "unknown video container"),
        (None, "out.wav", "holds no video"),
    ],
)
def test_bad_inputs_and_destinations_fail_before_the_model_loads(
    tmp_path: Path, clip: Path, no_model: None, capsys: pytest.CaptureFixture[str],
    content: bytes | None, output: str, fragment: str,
) -> None:
    source = clip
    if content is not None:
        source = tmp_path / "input.mp4"
        source.write_bytes(content)
    code = main(["convert", str(source), str(tmp_path / output)])
    _one_line_error(code, capsys.readouterr().err, fragment)


@pytest.mark.parametrize(("output", "fragment"), [("out.xyz", "unsupported image type"),
                                                  ("missing/out.png", "does not exist")])
def test_image_destination_is_checked_before_the_model_loads(
    tmp_path: Path, no_model: None, capsys: pytest.CaptureFixture[str], output: str, fragment: str
) -> None:
    source = write_image(tmp_path / "in.png", np.zeros((8, 8, 3), np.uint8))
    _one_line_error(main(["image", str(source), str(tmp_path / output)]), capsys.readouterr().err, fragment)


def test_debug_after_the_subcommand_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["convert", str(tmp_path / "missing.mp4"), str(tmp_path / "out.mp4"), "--debug"])
    err = capsys.readouterr().err
    assert code == EXIT_USER_ERROR and "Traceback" in err and "no such file" in err
    code = main(["--debug", "convert", str(tmp_path / "missing.mp4"), str(tmp_path / "out.mp4")])
    assert code == EXIT_USER_ERROR and "Traceback" in capsys.readouterr().err


def test_an_unknown_option_is_reported_with_the_subcommand_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["image", "in.png", "out.png", "--no-such-option"])
    err = capsys.readouterr().err
    assert exited.value.code == EXIT_USER_ERROR
    assert err.startswith("usage: rtstyle image") and "unrecognized arguments: --no-such-option" in err


def test_the_quality_alias_is_a_clear_error_while_no_quality_bank_ships(
    tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RTSTYLE_STYLE_DIR", str(tmp_path / "user-styles"))
    code = main(["convert", str(clip), str(tmp_path / "out.mp4"), "--model", "quality"])
    _one_line_error(code, capsys.readouterr().err, "no 'quality' bank is installed")
    write_tiny_bank(tmp_path / "user-styles" / "paintings-quality.safetensors")  # one the user trained
    assert main(["convert", str(clip), str(tmp_path / "out.mp4"), "--model", "quality", "--quiet"]) == 0


def test_image_quiet_prints_nothing(tmp_path: Path, bank: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_image(tmp_path / "in.png", np.zeros((8, 8, 3), np.uint8))
    assert main(["image", str(source), str(tmp_path / "out.png"), "--model", str(bank), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def _transparent_picture(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
    alpha = np.tile(np.linspace(0, 255, 32).astype(np.uint8), (24, 1))
    return write_image(tmp_path / "logo.png", rgb, alpha=alpha)


def test_transparency_is_kept_where_the_output_holds_it(
    tmp_path: Path, bank: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _transparent_picture(tmp_path)
    for name in ("out.png", "out.webp", "out.tiff"):
        assert main(["image", str(source), str(tmp_path / name), "--model", str(bank)]) == 0
        kept = open_image(tmp_path / name).alpha
        assert kept is not None and np.abs(kept.astype(int) - open_image(source).alpha).max() <= 1
    assert "holds no transparency" not in capsys.readouterr().err


def test_what_an_output_cannot_keep_is_named_in_one_line_each(
    tmp_path: Path, bank: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["image", str(_transparent_picture(tmp_path)), str(tmp_path / "out.jpg"), "--model", str(bank)]) == 0
    assert "logo.png is transparent and .jpg holds no transparency" in capsys.readouterr().err

    deep = tmp_path / "deep.png"
    deep.write_bytes(cv2.imencode(".png", np.full((8, 8, 3), 40000, np.uint16))[1].tobytes())
    assert main(["image", str(deep), str(tmp_path / "deep-out.png"), "--model", str(bank)]) == 0
    assert "deep.png has 16-bit samples" in capsys.readouterr().err

    animation = _animated_gif(tmp_path / "anim.gif", frames=4)
    assert main(["image", str(animation), str(tmp_path / "anim.png"), "--model", str(bank)]) == 0
    assert "anim.gif holds 4 pictures; this is the first ('rtstyle convert" in capsys.readouterr().err
    assert main(["convert", str(animation), str(tmp_path / "anim.mp4"), "--model", str(bank), "--quiet"]) == 0
    with av.open(str(tmp_path / "anim.mp4")) as converted:
        assert sum(1 for _ in converted.decode(video=0)) == 4


def _animated_gif(path: Path, frames: int) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "rgb8"
        for i in range(frames):
            picture = av.VideoFrame.from_ndarray(np.full((24, 32, 3), 60 * i, np.uint8), format="rgb24")
            container.mux(stream.encode(picture))
        container.mux(stream.encode(None))
    return path


def test_webm_gets_vp9_video_and_opus_audio(tmp_path: Path, bank: Path, clip: Path) -> None:
    out = tmp_path / "out.webm"
    assert main(["convert", str(clip), str(out), "--model", str(bank), "--quiet"]) == 0
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "vp9"
        assert [s.codec_context.name for s in container.streams.audio] == ["opus"]
        assert sum(1 for _ in container.decode(video=0)) == 6
