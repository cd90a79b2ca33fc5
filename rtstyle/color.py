"""Colour helpers: luminance-only style transfer ("keep original colours").

Gatys et al. 2016 ("Preserving Color in Neural Artistic Style Transfer") keep the source's colours
by transferring only luminance: take Y from the stylized image and Cb/Cr from the source.  We use
full-range BT.601 YCbCr, the space JPEG uses, because it is cheap and exactly invertible.
"""

from __future__ import annotations

import torch

# BT.601 full-range RGB → YCbCr (rows: Y, Cb, Cr); offsets of ±0.5 are left out because they
# cancel in the round trip below.
_RGB_TO_YCBCR = torch.tensor(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
)
_YCBCR_TO_RGB = torch.linalg.inv(_RGB_TO_YCBCR)


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """``[N,3,H,W]`` RGB → ``[N,3,H,W]`` (Y, Cb, Cr) with Cb/Cr centred on 0."""
    matrix = _RGB_TO_YCBCR.to(rgb.device, rgb.dtype)
    return torch.einsum("oc,nchw->nohw", matrix, rgb)


def ycbcr_to_rgb(ycbcr: torch.Tensor) -> torch.Tensor:
    matrix = _YCBCR_TO_RGB.to(ycbcr.device, ycbcr.dtype)
    return torch.einsum("oc,nchw->nohw", matrix, ycbcr)


def keep_colors(stylized: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """Luminance of ``stylized`` with the chroma of ``source`` (both ``[N,3,H,W]`` in [0,1])."""
    luma = rgb_to_ycbcr(stylized)[:, :1]
    chroma = rgb_to_ycbcr(source)[:, 1:]
    return ycbcr_to_rgb(torch.cat([luma, chroma], dim=1)).clamp_(0.0, 1.0)
