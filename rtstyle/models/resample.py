"""Resampling for the generator's working resolution, F and the veto: bilinear resize and block means.

F's full-resolution work is almost all resampling — enlarging its maps and the generator's output,
averaging frames down to its gate's grid — and torch's CPU kernels for these are slow for few
channels: ``upsample_bilinear2d`` costs ~0.14 ms per channel of a 640×360 output, ten times a
multiply-add over the same pixels.  So on the CPU without autograd, enlargement goes through
OpenCV's ``resize`` plane by plane: the same half-pixel-centre bilinear as torch's
``align_corners=False`` to float rounding, for any ratio, and at 720p 2–3.5× faster than the
phase-wise ``lerp`` of whole factors it replaces and ~2.8× faster than torch's kernel.  Block
means are OpenCV's area resampling at a whole factor, one pass per plane: with torch's threads
sleeping between operations (as the ``rtstyle`` command has them), the sums of 2·(factor − 1)
strided views they replace woke those threads for every sum, 3× slower at a factor of 8.
Training, other dtypes and other devices take torch's kernels.
"""

from __future__ import annotations

import cv2
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
    if _fast_path(images) and images.dtype == torch.float32:
        return _enlarge_planes(images, size)
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False)


def block_mean(images: torch.Tensor, factor: int) -> torch.Tensor:
    """Means of ``factor``×``factor`` blocks of ``[N,C,H,W]``; a partial block at the bottom or
    right edge averages what it has (``avg_pool2d`` with ``ceil_mode``)."""
    height, width = images.shape[-2:]
    if factor == 1:
        return images
    whole_h, whole_w = height // factor, width // factor  # the whole blocks
    if not _fast_path(images) or images.dtype != torch.float32 or whole_h == 0 or whole_w == 0:
        return F.avg_pool2d(images, factor, ceil_mode=True)
    means = _area_planes(images[..., : whole_h * factor, : whole_w * factor], (whole_h, whole_w))
    if (whole_h * factor, whole_w * factor) == (height, width):
        return means
    # A frame whose size the factor does not divide (980×551 at 4): the whole blocks as above,
    # the thin partial strips at the right and bottom by avg_pool2d, which is slow only on big inputs.
    out = images.new_empty(*images.shape[:-2], -(-height // factor), -(-width // factor))
    out[..., :whole_h, :whole_w] = means
    if whole_w * factor < width:
        out[..., :, whole_w:] = F.avg_pool2d(images[..., whole_w * factor :], factor, ceil_mode=True)
    if whole_h * factor < height:
        out[..., whole_h:, :whole_w] = F.avg_pool2d(images[..., whole_h * factor :, : whole_w * factor], factor,
                                                    ceil_mode=True)
    return out


def _fast_path(images: torch.Tensor) -> bool:
    """The fast paths pay on the CPU, where each torch op is a pass over memory; they write into
    arrays and views that autograd does not follow."""
    return images.device.type == "cpu" and not (torch.is_grad_enabled() and images.requires_grad)


def _enlarge_planes(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear enlargement of float32 ``[N,C,H,W]`` with OpenCV, one plane at a time, written in place."""
    planes = images.contiguous().flatten(0, 1)
    out = images.new_empty(*images.shape[:2], *size)
    for plane, target in zip(planes.numpy(), out.flatten(0, 1).numpy(), strict=True):
        cv2.resize(plane, (size[1], size[0]), dst=target, interpolation=cv2.INTER_LINEAR)
    return out


def _area_planes(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Block means of float32 ``[N,C,H,W]`` (its size a whole multiple of ``size``) with OpenCV's
    area resampling, one plane at a time: exact block means for a whole factor, in one pass."""
    out = images.new_empty(*images.shape[:2], *size)
    for plane, target in zip(images.flatten(0, 1).numpy(), out.flatten(0, 1).numpy(), strict=True):
        cv2.resize(plane, (size[1], size[0]), dst=target, interpolation=cv2.INTER_AREA)
    return out
