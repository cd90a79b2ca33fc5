"""Scale pyramid: one network run at every octave of the image, its outputs composed as a
Laplacian pyramid, so the generator paints the same picture whatever resolution it runs at.

A convolutional generator paints strokes at a size fixed in its input's pixels, so the generator
run at ½ resolution paints strokes twice as large (relative to the image) as at full resolution,
and no fusion network can turn the one into the other (bench/RESULTS.md, "detail at ½"). Here the
output is built coarse to fine: the coarsest level is the network's whole output on the image
shrunk until its shorter side is below ``2 * base``; every finer level adds only the top octave
of the network's output at that level, ``band(y) = y - enlarge(shrink(y))``. The output at ½
resolution is therefore *exactly* the full-resolution output without its finest octave, and the
fusion network's detail term has only that octave to restore. Strokes come at every octave,
defined relative to the image rather than to the pixel grid.

Cost: the levels add up to at most 4/3 of one run at full resolution (1 + ¼ + 1/16 + …).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from rtstyle.models.resample import resize

#: ``level(images [N,3,h,w], style_weights [N,S]) -> [N,3,h,w]``: the network at one resolution.
Level = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def octave_sizes(height: int, width: int, base: int) -> list[tuple[int, int]]:
    """The sizes the pyramid runs its network at, finest first: halved (rounding down) while the
    shorter side is at least ``2 * base``."""
    sizes = [(height, width)]
    while min(sizes[-1]) >= 2 * base:
        h, w = sizes[-1]
        sizes.append((h // 2, w // 2))
    return sizes


def scale_pyramid(level: Level, images: torch.Tensor, style_weights: torch.Tensor, base: int) -> torch.Tensor:
    """The pyramid's output for ``images`` ``[N,3,H,W]``; ``level`` runs once per octave, the
    finest first (PatchNCE training reads the encoder features of that first run)."""
    height, width = images.shape[-2:]
    sizes = octave_sizes(height, width, base)
    bands = []
    current = images
    for finer, coarser in zip(sizes, sizes[1:]):
        output = level(current, style_weights)
        bands.append(output - resize(resize(output, coarser), finer))
        current = resize(current, coarser)  # antialiased: the ½ image the runtime would feed
    composed = level(current, style_weights)
    for band in reversed(bands):
        composed = resize(composed, band.shape[-2:]) + band
    return composed.clamp(0.0, 1.0)
