"""Losses of the fusion network F (its adversarial term reuses :mod:`training.losses`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def match_loss(fused: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """L_match = E(F(...) − G_full(x))²: the fused frame should look like G run at full resolution.

    With the generator at ½ or ¼ resolution this is what teaches F's detail term; at full
    resolution it keeps F from drifting away from the generator's style.  Squared, like the
    temporal loss: with two absolute errors pulling a pixel towards the new frame and towards the
    warped previous one, the optimum is whichever weighs more — all or nothing — while squared
    errors make it the weighted average, a share of the previous frame set by w_temporal/w_match.
    """
    return (fused - reference).square().mean()


def fusion_temporal_loss(second: torch.Tensor, first_warped: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """L_temp = Σ v·(O_2 − warp(O_1))² / Σ v over pixels ``valid`` [N,1,H,W] (unoccluded, in view).

    The warping error ``rtstyle eval`` reports, made a loss: O_2 should continue O_1 along the
    motion of the source (Lai et al. 2018).
    """
    weight = valid.expand_as(second)
    return (weight * (second - first_warped).square()).sum() / weight.sum().clamp_min(1.0)


def _gradient_magnitude(image: torch.Tensor) -> torch.Tensor:
    """|∇I| per pixel (forward differences, replicated at the far edge), summed over channels: [N,1,H,W]."""
    dx = F.pad(image[..., :, 1:] - image[..., :, :-1], (0, 1, 0, 0))
    dy = F.pad(image[..., 1:, :] - image[..., :-1, :], (0, 0, 0, 1))
    return (dx.abs() + dy.abs()).sum(1, keepdim=True)


def seam_loss(fused: torch.Tensor, references: torch.Tensor, band: torch.Tensor) -> torch.Tensor:
    """L_seam = Σ b·max(0, |∇O| − max_k |∇R_k|) / Σ b over the seam band ``b`` [N,1,H,W].

    Across a seam between regions the fused frame may change as fast as either style's own image
    does there, but no faster: an edge stronger than both inputs' is a visible seam.
    ``references``: [N,K,3,H,W] each region's style rendered over the whole frame.
    """
    allowed = torch.stack([_gradient_magnitude(references[:, k]) for k in range(references.shape[1])]).amax(0)
    excess = F.relu(_gradient_magnitude(fused) - allowed)
    return (band * excess).sum() / band.sum().clamp_min(1.0)
