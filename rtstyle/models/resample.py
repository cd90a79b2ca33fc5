"""Resampling for the generator's working resolution, F and the veto: bilinear resize and block means.

F's full-resolution work is almost all resampling — enlarging its maps and the generator's output,
averaging frames down to its gate's grid — and torch's CPU kernels for these are slow for few
channels: ``upsample_bilinear2d`` costs ~0.14 ms per channel of a 640×360 output, ten times a
multiply-add over the same pixels.  When the factor is a whole number, bilinear enlargement is a
fixed pair of weights per output phase, so here it is written as one ``lerp`` per phase and axis
into a strided view of the output (3× faster, same values to float rounding), and block means as
sums of strided views (2× faster).  That path is taken on the CPU without autograd; training,
odd ratios and other devices take torch's kernels, which give the same numbers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of ``[N,C,H,W]``; antialiased when shrinking so the low band holds no
    aliasing (the stylizer uses it for the working resolution too, so F's band is exactly what the
    generator missed)."""
    height, width = images.shape[-2:]
    if (height, width) == tuple(size):
        return images
    if size[0] < height or size[1] < width:
        return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)
    if _fast_path(images) and size[0] % height == 0 and size[1] % width == 0:
        return _enlarge_axis(_enlarge_axis(images, size[1] // width, 3), size[0] // height, 2)
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False)


def block_mean(images: torch.Tensor, factor: int) -> torch.Tensor:
    """Means of ``factor``×``factor`` blocks of ``[N,C,H,W]``; a partial block at the bottom or
    right edge averages what it has (``avg_pool2d`` with ``ceil_mode``)."""
    height, width = images.shape[-2:]
    if factor == 1:
        return images
    if _fast_path(images) and height % factor == 0 and width % factor == 0:
        return _sum_blocks(_sum_blocks(images, factor, 2), factor, 3) * (1.0 / factor**2)
    return F.avg_pool2d(images, factor, ceil_mode=True)


def _fast_path(images: torch.Tensor) -> bool:
    """Phase-wise resampling pays on the CPU, where each torch op is a pass over memory; it writes
    into views with ``out=``, which autograd does not follow."""
    return images.device.type == "cpu" and not (torch.is_grad_enabled() and images.requires_grad)


def _enlarge_axis(images: torch.Tensor, factor: int, dim: int) -> torch.Tensor:
    """Bilinear enlargement by a whole ``factor`` along ``dim`` (align_corners=False, edges clamped).

    Output pixel ``factor·j + r`` samples the input at ``j + d_r``, ``d_r = (r + ½)/factor − ½``:
    a lerp between pixel ``j`` and its neighbour on the side of ``d_r`` with weight ``|d_r|``.
    """
    if factor == 1:
        return images
    count = images.shape[dim]
    shape = list(images.shape)
    out = images.new_empty(shape[: dim + 1] + [factor] + shape[dim + 1 :])
    for phase in range(factor):
        offset = (phase + 0.5) / factor - 0.5
        target = out.select(dim + 1, phase)
        if offset < 0:  # towards the previous pixel; the first one has none (clamped edge)
            torch.lerp(images.narrow(dim, 1, count - 1), images.narrow(dim, 0, count - 1), -offset,
                       out=target.narrow(dim, 1, count - 1))
            target.narrow(dim, 0, 1).copy_(images.narrow(dim, 0, 1))
        else:  # towards the next pixel; the last one has none
            torch.lerp(images.narrow(dim, 0, count - 1), images.narrow(dim, 1, count - 1), offset,
                       out=target.narrow(dim, 0, count - 1))
            target.narrow(dim, count - 1, 1).copy_(images.narrow(dim, count - 1, 1))
    shape[dim] *= factor
    return out.view(shape)


def _sum_blocks(images: torch.Tensor, factor: int, dim: int) -> torch.Tensor:
    """Sums of ``factor`` consecutive pixels along ``dim`` (whose length ``factor`` divides)."""
    phases = images.unflatten(dim, (images.shape[dim] // factor, factor))
    total = phases.select(dim + 1, 0).clone()
    for phase in range(1, factor):
        total += phases.select(dim + 1, phase)
    return total
