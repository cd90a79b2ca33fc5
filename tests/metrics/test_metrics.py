"""Metric properties: identities are zero/one, and each metric ranks what it should rank."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from rtstyle.errors import BackendUnavailableError
from rtstyle.metrics.distribution import frechet_distance, inception_score, kernel_inception_distance
from rtstyle.metrics.inception import find_weights, load_inception
from rtstyle.metrics.ssim import ssim_luminance
from rtstyle.metrics.swd import sliced_wasserstein
from rtstyle.metrics.temporal import warping_error


def _texture(seed: int, size: tuple[int, int] = (180, 320), blur: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = (rng.random((size[0] // 2, size[1] // 2, 3)) * 255).astype(np.uint8)
    return cv2.resize(cv2.GaussianBlur(noise, (0, 0), blur), (size[1], size[0]))


def _panning_clip(frames: int = 6) -> list[np.ndarray]:
    base = _texture(0, (400, 520))
    return [np.ascontiguousarray(np.roll(base, (2 * i, 3 * i), axis=(0, 1))[:180, :320]) for i in range(frames)]


def test_warping_error_ranks_flicker_above_a_steady_clip() -> None:
    clip = _panning_clip()
    rng = np.random.default_rng(1)
    flickering = [np.clip(f.astype(int) + rng.integers(-25, 26, f.shape), 0, 255).astype(np.uint8) for f in clip]
    # A steady stylization: the same colour mapping on every frame, so it moves with the content.
    steady = [255 - f for f in clip]
    assert warping_error(clip, steady) < 0.01
    assert warping_error(clip, flickering) > 5 * warping_error(clip, steady)
    assert warping_error(clip[:1], clip[:1]) == 0.0


def test_ssim_is_one_for_identical_images_and_drops_with_damage() -> None:
    image = _texture(2)
    assert ssim_luminance(image, image) == pytest.approx(1.0, abs=1e-6)
    blurred = cv2.GaussianBlur(image, (0, 0), 4)
    noisy = np.clip(image.astype(int) + np.random.default_rng(3).integers(-60, 61, image.shape), 0, 255).astype(np.uint8)
    assert 0.0 < ssim_luminance(image, noisy) < ssim_luminance(image, blurred) < 1.0
    with pytest.raises(ValueError):
        ssim_luminance(image, image[:10])


def test_swd_prefers_the_same_texture_over_another() -> None:
    reference = _texture(4, blur=3.0)
    same_kind = _texture(5, blur=3.0)
    other_kind = _texture(6, blur=0.5)
    assert sliced_wasserstein(same_kind, reference) < sliced_wasserstein(other_kind, reference)


def test_frechet_distance_is_zero_on_itself_and_the_squared_mean_shift() -> None:
    rng = np.random.default_rng(7)
    features = rng.normal(size=(4000, 8))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    shifted = features + np.array([3.0] + [0.0] * 7)
    assert frechet_distance(shifted, features) == pytest.approx(9.0, rel=1e-3)


def test_kid_near_zero_for_one_distribution_and_positive_for_two() -> None:
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(300, 16)), rng.normal(size=(300, 16))
    same, _ = kernel_inception_distance(a, b)
    different, _ = kernel_inception_distance(a, b + 1.0)
    assert abs(same) < 0.05 < different


def test_inception_score_bounds() -> None:
    confident = np.eye(10)[np.arange(100) % 10]  # every class, each predicted with certainty
    assert inception_score(confident) == pytest.approx(10.0, rel=1e-6)
    uniform = np.full((50, 10), 0.1)
    assert inception_score(uniform) == pytest.approx(1.0, rel=1e-6)


def test_missing_inception_weights_is_a_clear_unavailable_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.delenv("RTSTYLE_INCEPTION_WEIGHTS", raising=False)
    assert find_weights(None) is None
    with pytest.raises(BackendUnavailableError, match="no Inception-v3 weights"):
        load_inception(None, torch.device("cpu"))
    explicit = tmp_path / "weights.pth"
    explicit.write_bytes(b"x")
    assert find_weights(explicit) == explicit


def test_warping_error_refuses_frames_too_small_for_optical_flow() -> None:
    from rtstyle.errors import InputError

    frames = [np.zeros((20, 300, 3), np.uint8)] * 2  # OpenCV's DIS would crash on these
    with pytest.raises(InputError, match="too small for optical flow"):
        warping_error(frames, frames)
