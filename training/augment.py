"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for the discriminator's inputs.

A style is often one painting: a discriminator sees the same few hundred patches again and again
and memorises them, after which its gradients to G are noise.  Augmenting *both* real and fake
images with the same random, differentiable transforms stops the memorising, and because the
transforms are differentiable G still gets gradients through them — the augmentations do not
leak into G's outputs (they would if only the reals were augmented).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

logger = logging.getLogger(__name__)

Augmentation = Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]

#: Explicit registry of the policies' parts, filled by :func:`_register`.
AUGMENTATIONS: dict[str, Augmentation] = {}


def _register(name: str) -> Callable[[Augmentation], Augmentation]:
    def wrap(function: Augmentation) -> Augmentation:
        AUGMENTATIONS[name] = function
        return function

    return wrap


def _uniform(x: torch.Tensor, low: float, high: float, generator: torch.Generator | None) -> torch.Tensor:
    """One random number per sample, shaped ``[N,1,1,1]`` to broadcast over an image batch."""
    values = torch.rand(x.shape[0], 1, 1, 1, generator=generator, device="cpu")
    return (low + (high - low) * values).to(device=x.device, dtype=x.dtype)


@_register("color")
def random_color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Brightness ±0.25, saturation ×[0,2], contrast ×[0.5,1.5] (DiffAugment's ranges for [0,1])."""
    x = x + _uniform(x, -0.25, 0.25, generator)
    gray = x.mean(dim=1, keepdim=True)
    x = gray + (x - gray) * _uniform(x, 0.0, 2.0, generator)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return mean + (x - mean) * _uniform(x, 0.5, 1.5, generator)


@_register("translation")
def random_translation(x: torch.Tensor, generator: torch.Generator | None = None, ratio: float = 0.125) -> torch.Tensor:
    """Shift by up to ``ratio`` of each side, filling with zeros (whole pixels, so no blur)."""
    n, _, h, w = x.shape
    shift_y = ((torch.rand(n, generator=generator) * 2 - 1) * ratio * h).round()
    shift_x = ((torch.rand(n, generator=generator) * 2 - 1) * ratio * w).round()
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = -2.0 * shift_x / w  # normalised coordinates span 2 per side
    theta[:, 1, 2] = -2.0 * shift_y / h
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


@_register("cutout")
def random_cutout(x: torch.Tensor, generator: torch.Generator | None = None, ratio: float = 0.5) -> torch.Tensor:
    """Zero one random square of ``ratio`` × the side per image (DeVries & Taylor 2017)."""
    n, _, h, w = x.shape
    ch, cw = max(1, int(h * ratio)), max(1, int(w * ratio))
    top = torch.randint(0, h - ch + 1, (n, 1, 1), generator=generator)
    left = torch.randint(0, w - cw + 1, (n, 1, 1), generator=generator)
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)  # [N,H,W]
    return x * (~inside).unsqueeze(1).to(device=x.device, dtype=x.dtype)


def parse_policy(policy: str) -> list[str]:
    """``"color,translation,cutout"`` → validated list; ``""`` or ``"none"`` → no augmentation."""
    names = [part.strip() for part in policy.split(",") if part.strip() and part.strip() != "none"]
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown DiffAugment part(s) {unknown}; choose from {sorted(AUGMENTATIONS)}")
    return names


def diff_augment(x: torch.Tensor, policy: Sequence[str], generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply the policy's transforms in order; call it on reals and fakes alike."""
    for name in policy:
        x = AUGMENTATIONS[name](x, generator)
    return x
