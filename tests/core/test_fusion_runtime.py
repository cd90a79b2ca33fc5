"""F's veto input: how wrong the warped previous frame is (rtstyle.fusion_runtime.reuse_error)."""

from __future__ import annotations

import torch

from rtstyle.fusion_runtime import VETO_POOL, coarse_luma, coarse_size, reuse_error
from rtstyle.models.fusion import FLOW_ERROR_LIMIT

HEIGHT, WIDTH = 64, 96


def _checkerboard(sign: float) -> torch.Tensor:
    """Grey 0.5 ± 0.2 in a one-pixel checkerboard: fine texture whose pixels all flip when ``sign`` does."""
    ys, xs = torch.meshgrid(torch.arange(HEIGHT), torch.arange(WIDTH), indexing="ij")
    pattern = ((ys + xs) % 2 * 2 - 1).float() * 0.2 * sign + 0.5
    return pattern.expand(1, 3, HEIGHT, WIDTH)


def _error(previous_source: torch.Tensor, source: torch.Tensor, previous: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    coarse = coarse_size(HEIGHT, WIDTH)
    return reuse_error(previous, coarse_luma(previous_source, coarse), coarse_luma(source, coarse), candidates)


def test_texture_changing_in_place_is_not_an_error_but_a_new_object_is() -> None:
    """Every pixel of the fine texture changes by 0.4 (rippling water), yet on the coarse grid the
    scene is the same: F may keep steadying it.  A bright block that appears is vetoed."""
    frame = torch.rand(1, 3, HEIGHT, WIDTH)
    before, after = _checkerboard(1.0), _checkerboard(-1.0)
    assert (luma_change := (after - before).abs().mean()) > 5 * FLOW_ERROR_LIMIT, luma_change
    shimmer = _error(before, after, frame, frame[:, None])
    assert shimmer.shape == (1, 1, *coarse_size(HEIGHT, WIDTH))
    assert shimmer.max() < FLOW_ERROR_LIMIT / 4
    appeared = after.clone()
    appeared[..., 16:48, 32:64] = 1.0
    error = _error(before, appeared, frame, frame[:, None])  # cells of VETO_POOL px: the block is cells 2-5 × 4-7
    assert error[..., 3:5, 5:7].min() >= FLOW_ERROR_LIMIT
    assert error[..., :, :3].max() < FLOW_ERROR_LIMIT / 4  # resampling blurs the block by about one cell


def test_a_stylized_change_the_source_does_not_show_is_an_error() -> None:
    """A halo the generator painted around an object that has moved on: the source is unchanged
    there, the new output is not, so the previous frame must not be reused."""
    source = torch.rand(1, 3, HEIGHT, WIDTH)
    previous = torch.full((1, 3, HEIGHT, WIDTH), 0.2)
    new = previous.clone()
    new[..., :, WIDTH // 2 :] = 0.8  # the right half of the stylized frame changed
    error = _error(source, source, previous, new[:, None])
    seam = WIDTH // 2 // VETO_POOL  # the first cell of the right half
    assert error[..., :, seam + 1 :].min() >= FLOW_ERROR_LIMIT
    assert error[..., :, : seam - 1].max() < 1e-6


def test_the_previous_frame_may_match_any_regions_candidate() -> None:
    """With several region styles, the previous frame is right where it matches one of them."""
    source = torch.rand(1, 3, HEIGHT, WIDTH)
    left, right = torch.full((1, 3, HEIGHT, WIDTH), 0.1), torch.full((1, 3, HEIGHT, WIDTH), 0.9)
    previous = torch.cat([left[..., : WIDTH // 2], right[..., WIDTH // 2 :]], -1)  # each half in its region's style
    candidates = torch.stack([left, right], 1)[..., ::2, ::2]  # at the working resolution
    error = _error(source, source, previous, candidates)
    seam = slice(WIDTH // 2 // VETO_POOL - 2, WIDTH // 2 // VETO_POOL + 2)  # cells of the coarse grid
    interiors = torch.cat([error[..., : seam.start], error[..., seam.stop :]], -1)
    assert interiors.max() < 1e-6
    assert error[..., seam].max() < FLOW_ERROR_LIMIT / 2  # the coarse grid mixes both styles at the seam
