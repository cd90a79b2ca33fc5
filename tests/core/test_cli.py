"""The command line end to end: conversions, listings, and one clear line for every mistake."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from factories import write_tiny_bank
from rtstyle import catalog, commands
from rtstyle.cli import main
from rtstyle.errors import EXIT_INTERNAL_ERROR, EXIT_INTERRUPTED, EXIT_USER_ERROR
from rtstyle.video.images import read_image, write_image
from rtstyle.video.sample import make_sample_clip

CLIP = {"seconds": 1.0, "width": 64, "height": 48, "fps": 12}


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    return write_tiny_bank(tmp_path / "tiny.safetensors")


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_sample_clip(tmp_path / "clip.mp4", **CLIP)


def _video_summary(path: Path) -> tuple[int, float, int]:
    """(video frames, video duration in s, audio streams)."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio_streams = len(container.streams.audio)
        times = [frame.time for frame in container.decode(video)]
    return len(times), times[-1] - times[0], audio_streams


def _assert_user_error(code: int, capsys: pytest.CaptureFixture[str], fragment: str) -> None:
    err = capsys.readouterr().err
    assert code == EXIT_USER_ERROR, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith("rtstyle: error:") and fragment in lines[-1], err
    assert "Traceback" not in err


def test_convert_keeps_frames_timing_and_audio(
    tmp_path: Path, bank: Path, clip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.mp4"
    code = main(
        [
            "convert",
            str(clip),
            str(out),
            "--model",
            str(bank),
            "--style",
            "ink=1",
            "--style",
            "ember=1",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert _video_summary(out) == _video_summary(clip)
    assert "12 frames" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "out.mp4", "tiny.safetensors"]


def test_default_bank_is_used_when_no_model_is_named(
    tmp_path: Path, clip: Path, monkeypatch
) -> None:
    bundled = tmp_path / "bundled"
    write_tiny_bank(bundled / "paintings-fast.safetensors")
    monkeypatch.setattr(catalog, "BUNDLED_DIR", bundled)
    monkeypatch.setenv(catalog.STYLE_DIR_ENV, str(tmp_path / "user"))
    assert main(["convert", str(clip), str(tmp_path / "out.mp4"), "--quiet"]) == 0
    assert (tmp_path / "out.mp4").exists()


def test_image_command_and_strength_zero_returns_the_input(tmp_path: Path, bank: Path) -> None:
    rng = np.random.default_rng(0)
    source = write_image(tmp_path / "in.png", rng.integers(0, 255, (21, 34, 3), dtype=np.uint8))
    assert main(["image", str(source), str(tmp_path / "a.png"), "--model", str(bank)]) == 0
    assert (
        main(
            ["image", str(source), str(tmp_path / "b.png"), "--model", str(bank), "--strength", "0"]
        )
        == 0
    )
    np.testing.assert_array_equal(read_image(tmp_path / "b.png"), read_image(source))
    assert read_image(tmp_path / "a.png").shape == (21, 34, 3)
    assert not np.array_equal(read_image(tmp_path / "a.png"), read_image(source))


def test_styles_lists_user_banks_and_flags_broken_ones(
    tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    user = tmp_path / "user"
    write_tiny_bank(user / "mine.safetensors", num_styles=3)
    (user / "broken.safetensors").write_bytes(b"\x00" * 20)
    monkeypatch.setenv(catalog.STYLE_DIR_ENV, str(user))
    assert main(["styles"]) == 0
    out = capsys.readouterr().out
    assert "mine  [user, tiny preset]" in out and "    ember" in out and "    style2" in out
    assert "broken  [user]  UNREADABLE" in out


def test_sample_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "s.mp4"
    assert main(["sample", str(target), "--seconds", "0.5", "--size", "32x32"]) == 0
    _assert_user_error(main(["sample", str(target)]), capsys, "exists")


@pytest.mark.parametrize(
    ("make_args", "fragment"),
    [
        (
            lambda t, clip, bank: ["convert", str(t / "missing.mp4"), str(t / "o.mp4")],
            "no such file",
        ),
        (lambda t, clip, bank: ["convert", str(t), str(t / "o.mp4")], "directory"),
        (lambda t, clip, bank: ["convert", str(clip), str(clip), "--overwrite"], "input file"),
        (lambda t, clip, bank: ["convert", str(clip), str(bank)], "exists"),
        (lambda t, clip, bank: ["convert", str(clip), str(t / "no" / "dir" / "o.mp4")], "director"),
        (
            lambda t, clip, bank: [
                "convert",
                str(clip),
                str(t / "o.mp4"),
                "--codec",
                "nosuchcodec",
            ],
            "nosuchcodec",
        ),
        (
            lambda t, clip, bank: ["convert", str(clip), str(t / "o.notacontainer")],
            "o.notacontainer",
        ),
        (
            lambda t, clip, bank: [
                "convert",
                str(clip),
                str(t / "o.mp4"),
                "--model",
                str(bank),
                "--style",
                "nope",
            ],
            "unknown style 'nope'",
        ),
        (
            lambda t, clip, bank: [
                "convert",
                str(clip),
                str(t / "o.mp4"),
                "--model",
                str(bank),
                "--strength",
                "2",
            ],
            "strength",
        ),
        (
            lambda t, clip, bank: [
                "convert",
                str(clip),
                str(t / "o.mp4"),
                "--model",
                "no-such-bank",
            ],
            "no style bank",
        ),
        (
            lambda t, clip, bank: ["image", str(clip), str(t / "o.png"), "--model", str(bank)],
            "clip.mp4",
        ),
        (
            lambda t, clip, bank: ["convert", str(clip), str(t / "o.mp4"), "--model", str(bank),
                                   "--regions", "diagonal", "--region-style", "ink", "--region-style", "ember"],
            "unknown region layout 'diagonal'",
        ),
        (
            lambda t, clip, bank: ["convert", str(clip), str(t / "o.mp4"), "--model", str(bank),
                                   "--regions", "left-right", "--region-style", "ink"],
            "needs 2 --region-style",
        ),
        (
            lambda t, clip, bank: ["convert", str(clip), str(t / "o.mp4"), "--model", str(bank),
                                   "--region-style", "ink"],
            "needs --regions",
        ),
    ],
)
def test_user_mistakes_give_one_line_and_exit_2(
    tmp_path: Path,
    clip: Path,
    bank: Path,
    make_args,
    fragment: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _assert_user_error(main(make_args(tmp_path, clip, bank)), capsys, fragment)
    assert not (tmp_path / "o.mp4").exists()


def test_bad_media_files(
    tmp_path: Path, clip: Path, bank: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    _assert_user_error(
        main(["convert", str(text), str(tmp_path / "o.mp4"), "--model", str(bank)]),
        capsys,
        "notes.mp4",
    )

    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size // 3])
    _assert_user_error(
        main(["convert", str(truncated), str(tmp_path / "o.mp4"), "--model", str(bank)]),
        capsys,
        "truncated.mp4",
    )

    audio_only = tmp_path / "tone.m4a"
    with av.open(str(audio_only), "w") as out:
        stream = out.add_stream("aac", rate=48000)
        tone = (np.sin(np.arange(48000, dtype=np.float32) * 0.06) * 0.2)[None, :]
        frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    _assert_user_error(
        main(["convert", str(audio_only), str(tmp_path / "o.mp4"), "--model", str(bank)]),
        capsys,
        "video",
    )
    assert not (tmp_path / "o.mp4").exists()


def test_malformed_style_files(
    tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "fake.safetensors"
    fake.write_bytes(b"PK\x03\x04 pretend this is a pickle")
    _assert_user_error(
        main(["convert", str(clip), str(tmp_path / "o.mp4"), "--model", str(fake)]),
        capsys,
        "not a valid safetensors",
    )


def test_internal_error_is_exit_70_with_one_line(
    tmp_path: Path, clip: Path, bank: Path, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(commands, "convert_stream", broken)
    code = main(["convert", str(clip), str(tmp_path / "o.mp4"), "--model", str(bank)])
    err = capsys.readouterr().err
    assert code == EXIT_INTERNAL_ERROR
    assert "internal error (RuntimeError: boom)" in err and "Traceback" not in err


def test_ctrl_c_leaves_nothing_at_the_destination(
    tmp_path: Path, clip: Path, bank: Path, monkeypatch
) -> None:
    calls = {"n": 0}
    real_call = commands.Stylizer.__call__

    def interrupted(self, frames):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_call(self, frames)

    monkeypatch.setattr(commands.Stylizer, "__call__", interrupted)
    code = main(["convert", str(clip), str(tmp_path / "o.mp4"), "--model", str(bank), "--quiet"])
    assert code == EXIT_INTERRUPTED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "tiny.safetensors"]


def test_help_lists_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["convert", "--help"])
    assert exit_info.value.code == 0
    assert "examples:" in capsys.readouterr().out


def test_eval_writes_a_report_and_a_sheet(tmp_path: Path, bank: Path, clip: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(1)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        write_image(photos / f"p{i}.png", rng.integers(0, 255, (40, 60, 3), dtype=np.uint8))
    paintings = tmp_path / "paintings"
    paintings.mkdir()
    write_image(paintings / "ink.jpg", rng.integers(0, 255, (80, 80, 3), dtype=np.uint8))  # matched by source
    out = tmp_path / "report"
    code = main(["eval", str(bank), "--content", str(photos), "--video", str(clip), "--style-dir", str(paintings),
                 "--out", str(out), "--backend", "torch"])
    assert code == 0, capsys.readouterr().err
    report = (out / "report.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| ink") or line.startswith("| ember")]
    assert len(rows) == 2
    ink_cells = [c.strip() for c in rows[0].split("|")]
    ember_cells = [c.strip() for c in rows[1].split("|")]
    assert ink_cells[3] != "—" and ember_cells[3] == "—"  # SWD only where a painting was found
    assert float(ink_cells[4]) >= 0  # warping error computed from the clip
    sheet = read_image(out / "sheet.png")
    assert sheet.shape[1] == 3 * 192 and sheet.shape[0] == 3 * (192 + 18)


def test_regions_and_no_fusion_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from factories import tiny_fusion_bank

    from rtstyle.stylefile import save_style_bank

    bank = save_style_bank(tiny_fusion_bank(), tmp_path / "fused.safetensors")
    rng = np.random.default_rng(2)
    source = tmp_path / "in.png"
    write_image(source, rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    outputs = {}
    for name, extra in {
        "ink": ["--style", "ink"],
        "ember": ["--style", "ember"],
        "regions": ["--regions", "left-right", "--region-style", "ink", "--region-style", "ember"],
        "no-fusion": ["--style", "ink", "--no-fusion"],
    }.items():
        target = tmp_path / f"{name}.png"
        assert main(["image", str(source), str(target), "--model", str(bank), "--backend", "torch", *extra]) == 0
        outputs[name] = read_image(target).astype(int)
    regional = outputs["regions"]
    assert np.abs(regional[:, :16] - outputs["ink"][:, :16]).max() <= 2
    assert np.abs(regional[:, -16:] - outputs["ember"][:, -16:]).max() <= 2
    # one still image at full resolution: F has nothing to add, so --no-fusion gives the same
    assert np.abs(outputs["no-fusion"] - outputs["ink"]).max() <= 1


def test_cli_help_lists_every_region_layout(capsys: pytest.CaptureFixture[str]) -> None:
    from rtstyle.regions import LAYOUTS

    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    text = " ".join(capsys.readouterr().out.split()).replace("- ", "-")  # argparse wraps at hyphens
    assert all(name in text for name in LAYOUTS)


def test_eval_of_a_bank_with_fusion_adds_its_section_and_sheet(tmp_path: Path, clip: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from factories import tiny_fusion_bank

    from rtstyle.stylefile import save_style_bank

    bank = save_style_bank(tiny_fusion_bank(), tmp_path / "fused.safetensors")
    photos = tmp_path / "photos"
    photos.mkdir()
    write_image(photos / "p.png", np.random.default_rng(3).integers(0, 255, (40, 60, 3), dtype=np.uint8))
    second = make_sample_clip(tmp_path / "second.mp4", seconds=0.5, width=48, height=32, fps=12)
    out = tmp_path / "report"
    code = main(["eval", str(bank), "--content", str(photos), "--video", str(clip), str(second),
                 "--out", str(out), "--backend", "torch", "--max-frames", "6"])
    assert code == 0, capsys.readouterr().err
    report = (out / "report.md").read_text()
    assert "## Fusion network F" in report
    fusion = report[report.index("## Fusion network F"):]
    detail, flicker = fusion.split("Flicker:")
    detail_sources = [line.split("|")[1].strip() for line in detail.splitlines() if line.startswith("| ")][1:]
    # per style: the photos, and each clip played in order
    assert sorted(detail_sources) == sorted(["photos", "clip.mp4", "second.mp4"] * 2)
    flicker_rows = [line for line in flicker.splitlines() if line.startswith(("| clip.mp4", "| second.mp4"))]
    assert len(flicker_rows) == 4  # two clips × two styles
    sheet = read_image(out / "fusion_sheet.png")
    assert sheet.shape[1] == 4 * 320  # source, generator, generator + F, weights


def test_convert_with_fusion_and_regions_keeps_every_frame(tmp_path: Path, clip: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from factories import tiny_fusion_bank

    from rtstyle.stylefile import save_style_bank

    bank = save_style_bank(tiny_fusion_bank(), tmp_path / "fused.safetensors")
    out = tmp_path / "out.mp4"
    code = main(["convert", str(clip), str(out), "--model", str(bank), "--backend", "torch", "--scale", "0.5",
                 "--regions", "top-bottom", "--region-style", "ink", "--region-style", "ember"])
    assert code == 0, capsys.readouterr().err
    assert _video_summary(out) == _video_summary(clip)
    assert "top-bottom: ink | ember" in capsys.readouterr().err
