"""Colour helpers: luminance, and luminance-only style transfer ("keep original colours").

Gatys et al. 2016 ("Preserving Color in Neural Artistic Style Transfer") keep the source's colours
by transferring only luminance: take Y from the stylized image and Cb/Cr from the source.  We use
full-range BT.601 YCbCr, the space JPEG uses, because it is cheap and exactly invertible.
"""

from __future__ import annotations

import torch

#: ITU-R BT.601 luma weights (R, G, B): the one definition of "luminance" everywhere — F's flow
#: error and veto, the structure loss, the SSIM metric and the Y of YCbCr below.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)
# BT.601 full-range RGB → YCbCr (rows: Y, Cb, Cr); offsets of ±0.5 are left out because they
# cancel in the round trip below.
_RGB_TO_YCBCR = torch.tensor([LUMA_WEIGHTS, (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312)])
_YCBCR_TO_RGB = torch.linalg.inv(_RGB_TO_YCBCR)


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """``[N,3,H,W]`` → ``[N,1,H,W]`` BT.601 luminance (any dtype; differentiable)."""
    r, g, b = rgb.unbind(1)
    weight_r, weight_g, weight_b = LUMA_WEIGHTS
    return (r * weight_r).add_(g, alpha=weight_g).add_(b, alpha=weight_b).unsqueeze(1)  # 3 passes, not 5


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
