"""Building blocks of the style generator.

Every convolution pads by reflection (Johnson et al. 2016, Ulyanov et al. 2016): zero padding
makes the network see a dark frame border and paint it, which shows as a halo on video.
Upsampling is nearest-neighbour followed by a convolution instead of a transposed convolution,
which avoids checkerboard artefacts (Odena et al. 2016, "Deconvolution and Checkerboard
Artifacts"; the same note stands in pytorch/examples' fast_neural_style).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConditionalInstanceNorm(nn.Module):
    """Instance norm whose affine (gamma, beta) is chosen per style (Dumoulin et al. 2017).

    A style bank holds one row of gamma and beta per style.  A mix of styles is a weight
    vector ``w`` (non-negative, summing to one), and the mixed affine is ``w @ gamma`` and
    ``w @ beta`` — linear in the per-style parameters, which is what makes per-frame mixing
    free: every other weight in the network is shared.
    """

    def __init__(self, channels: int, num_styles: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(num_styles, channels))  # [S,C]
        self.beta = nn.Parameter(torch.zeros(num_styles, channels))  # [S,C]

    def mixed_affine(self, style_weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (gamma, beta) for weights ``[N,S]`` as ``[N,C]`` each."""
        weights = style_weights.to(self.gamma.dtype)
        return weights @ self.gamma, weights @ self.beta

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        # x: [N,C,H,W], style_weights: [N,S]
        gamma, beta = self.mixed_affine(style_weights)
        n, c, h, w = x.shape
        # Fold the batch into channels so one fused instance_norm call applies a different
        # affine to every (sample, channel) pair: instance norm of [1,N*C,H,W] normalises the
        # same planes as of [N,C,H,W], and skips two extra full-size passes (mul, add).
        folded = F.instance_norm(
            x.reshape(1, n * c, h, w), weight=gamma.reshape(-1), bias=beta.reshape(-1), eps=self.eps
        )
        return folded.reshape(n, c, h, w)


class ConvNormAct(nn.Module):
    """Reflection pad → conv → conditional instance norm → ReLU (the activation is optional)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        num_styles: int,
        stride: int = 1,
        activation: bool = True,
    ) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride)
        self.norm = ConditionalInstanceNorm(out_channels, num_styles)
        self.activation = activation

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.conv(self.pad(x)), style_weights)
        return F.relu(y) if self.activation else y


class ResidualBlock(nn.Module):
    """Two 3×3 conv-norm layers with an identity skip (He et al. 2016, as used by Johnson)."""

    def __init__(self, channels: int, num_styles: int) -> None:
        super().__init__()
        self.first = ConvNormAct(channels, channels, 3, num_styles)
        self.second = ConvNormAct(channels, channels, 3, num_styles, activation=False)

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        return x + self.second(self.first(x, style_weights), style_weights)


class UpsampleConvNormAct(nn.Module):
    """Nearest-neighbour ×2 upsampling followed by conv-norm-ReLU (no transposed conv)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, num_styles: int) -> None:
        super().__init__()
        self.layer = ConvNormAct(in_channels, out_channels, kernel_size, num_styles)

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        return self.layer(F.interpolate(x, scale_factor=2.0, mode="nearest"), style_weights)
