"""Each loss has the property it is used for: zero (or minimal) where it should be, and positive
or larger where it should not be.  Gradient routing inside a real training step is tested in
test_train_step.py."""

from __future__ import annotations

import math

import pytest
import torch

from training import losses
from training.features import PatchProjector


def test_hinge_is_zero_beyond_the_margins_and_positive_inside() -> None:
    d_loss = losses.hinge_d_loss
    assert d_loss(torch.full((2, 1, 4, 4), 1.5), torch.full((2, 1, 4, 4), -2.0)).item() == 0.0
    assert d_loss(torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 4, 4)).item() == pytest.approx(2.0)


def test_hinge_generator_loss_falls_as_fakes_look_more_real() -> None:
    worse, better = losses.hinge_g_loss(torch.full((3, 1, 2, 2), -1.0)), losses.hinge_g_loss(torch.full((3, 1, 2, 2), 0.9))
    assert better.item() < worse.item()


def test_hinge_discriminator_loss_falls_as_it_separates_real_from_fake_and_stops_at_the_margin() -> None:
    confused = losses.hinge_d_loss(torch.zeros(4, 1, 3, 3), torch.zeros(4, 1, 3, 3))
    separated = losses.hinge_d_loss(torch.full((4, 1, 3, 3), 3.0), torch.full((4, 1, 3, 3), -3.0))
    assert separated.item() == 0.0 < confused.item()  # beyond the margin D gains nothing


def test_style_classification_is_minimal_for_confident_correct_logits() -> None:
    labels = torch.tensor([0, 1, 1])
    right = losses.style_classification_loss(torch.tensor([[9.0, -9.0], [-9.0, 9.0], [-9.0, 9.0]]), labels)
    wrong = losses.style_classification_loss(torch.tensor([[-9.0, 9.0], [9.0, -9.0], [9.0, -9.0]]), labels)
    assert right.item() < 1e-6 < 10 < wrong.item()


def test_patch_nce_is_low_when_each_patch_finds_itself_and_log_p_when_all_alike() -> None:
    keys = torch.nn.functional.normalize(torch.randn(2, 16, 32), dim=-1)
    matched = losses.patch_nce_loss(keys, keys)
    shuffled = losses.patch_nce_loss(keys[:, torch.randperm(16)], keys)
    alike = losses.patch_nce_loss(torch.ones(2, 16, 32) / 32**0.5, torch.ones(2, 16, 32) / 32**0.5)
    assert matched.item() < 0.1
    assert shuffled.item() > 5 * matched.item()
    assert alike.item() == pytest.approx(math.log(16), rel=1e-5)


def test_gram_loss_is_zero_for_identical_features_only() -> None:
    features = [torch.rand(2, 4, 8, 8), torch.rand(2, 6, 4, 4)]
    grams = [losses.gram_matrix(f) for f in features]
    assert losses.gram_style_loss(features, grams).item() == pytest.approx(0.0, abs=1e-10)
    other = [f.flip(1) * 2 for f in features]
    assert losses.gram_style_loss(other, grams).item() > 0.1


def test_gram_matrix_ignores_where_features_are() -> None:
    """Style statistics are orderless: shuffling positions leaves the Gram matrix unchanged."""
    features = torch.rand(1, 5, 6, 6)
    shuffled = features.flatten(2)[..., torch.randperm(36)].view(1, 5, 6, 6)
    assert torch.allclose(losses.gram_matrix(features), losses.gram_matrix(shuffled), atol=1e-6)


def test_identity_warp_keeps_the_image_and_every_pixel_valid() -> None:
    image = torch.rand(2, 3, 16, 16)
    identity = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).expand(2, 2, 3)
    warped, mask = losses.warp(image, identity)
    assert torch.allclose(warped, image, atol=1e-5)
    assert bool(mask.eq(1).all())


def test_temporal_loss_is_zero_for_motion_equivariant_stylization_only() -> None:
    content = torch.nn.functional.interpolate(torch.rand(2, 3, 4, 4), size=32, mode="bilinear")  # smooth
    theta = losses.random_affine(
        2, max_translate=0.1, max_rotate_deg=5, max_scale=0.05, generator=torch.Generator().manual_seed(0)
    )
    identity = lambda x: x  # noqa: E731
    assert losses.temporal_consistency_loss(identity, content, content, theta).item() < 1e-6
    pointwise = lambda x: x.pow(2)  # noqa: E731 - commutes with any warp (up to interpolation)
    assert losses.temporal_consistency_loss(pointwise, content, pointwise(content), theta).item() < 0.005
    pattern = torch.rand(1, 3, 32, 32)
    anchored = lambda x: 0.5 * x + 0.5 * pattern  # noqa: E731 - a texture glued to the frame flickers
    assert losses.temporal_consistency_loss(anchored, content, anchored(content), theta).item() > 0.05


def test_scale_consistency_is_zero_for_scale_free_stylization_and_large_for_pixel_sized_strokes() -> None:
    content = torch.nn.functional.interpolate(torch.rand(2, 3, 4, 4), size=32, mode="bilinear")  # smooth
    identity = lambda x: x  # noqa: E731
    assert losses.scale_consistency_loss(identity, content, content).item() < 1e-6
    pointwise = lambda x: x.pow(2)  # noqa: E731 - commutes with shrinking (up to the filter)
    assert losses.scale_consistency_loss(pointwise, content, pointwise(content)).item() < 0.01

    def pixel_strokes(x: torch.Tensor) -> torch.Tensor:
        """A texture one pixel wide at whatever size it is painted: gone once shrunk, back at ½."""
        rows = torch.arange(x.shape[-2])[:, None]
        cols = torch.arange(x.shape[-1])[None, :]
        return x + 0.2 * ((rows + cols) % 2 * 2 - 1).to(x.dtype)

    assert losses.scale_consistency_loss(pixel_strokes, content, pixel_strokes(content)).item() > 0.15


def test_sliced_wasserstein_is_near_zero_for_the_painting_itself_and_large_for_a_flat_image() -> None:
    torch.manual_seed(0)
    painting = torch.rand(1, 3, 48, 48).pow(2)
    projector = PatchProjector(patch_size=3, num_directions=16, levels=2)
    tables = projector.target_quantiles(painting, num_quantiles=512)
    itself = losses.sliced_wasserstein_loss(projector(painting), tables)
    flat = losses.sliced_wasserstein_loss(projector(torch.full_like(painting, painting.mean().item())), tables)
    assert itself.item() < 0.01
    assert flat.item() > 0.5


def test_reconstruction_and_perceptual_losses_vanish_on_identity() -> None:
    x = torch.rand(2, 3, 8, 8)
    assert losses.reconstruction_loss(x, x).item() == 0.0
    assert losses.perceptual_loss([x], [x]).item() == 0.0
    assert losses.reconstruction_loss(x, 1 - x).item() > 0.1


def test_structure_loss_ignores_brightness_and_contrast_but_not_edges() -> None:
    x = torch.rand(2, 3, 32, 32)
    assert losses.structure_loss(x, x).item() == pytest.approx(0.0, abs=1e-5)
    assert losses.structure_loss(0.5 * x + 0.2, x).item() == pytest.approx(0.0, abs=1e-3)  # restyled palette
    assert losses.structure_loss(1.0 - x, x).item() > 1.5  # edges inverted
    assert losses.structure_loss(torch.rand(2, 3, 32, 32), x).item() > 0.8  # edges lost
    flat = torch.full((1, 3, 16, 16), 0.5, requires_grad=True)
    losses.structure_loss(flat, torch.full((1, 3, 16, 16), 0.5)).backward()
    assert bool(torch.isfinite(flat.grad).all())
