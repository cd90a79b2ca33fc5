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
    """Instance norm whose affine (gamma, beta) is a linear function of a style code.

    Two codes, one rule (affine = base + code @ table):

    * **One-hot styles** (Dumoulin et al. 2017; ``with_base=False``): the code is the style
      weight vector ``w`` ``[N,S]`` (non-negative, summing to one) and the tables hold one row of
      gamma and beta per style, so the mixed affine is ``w @ gamma`` and ``w @ beta``.
    * **Style vectors** (Ghiasi et al. 2017; ``with_base=True``): the code is a style vector
      ``[N,D]`` from the style predictor and the tables are a learned projection ``[D,C]`` plus a
      base affine ``[C]``, so any picture the predictor reads gives norm parameters.

    Either way the affine is linear in the code, which is what makes per-frame mixing free: every
    other weight in the network is shared.
    """

    def __init__(self, channels: int, code_dim: int, eps: float = 1e-5, with_base: bool = False) -> None:
        super().__init__()
        self.eps = eps
        if with_base:
            # Zero tables: the untrained network is plain instance norm whatever the code.
            self.gamma = nn.Parameter(torch.zeros(code_dim, channels))  # [D,C]
            self.beta = nn.Parameter(torch.zeros(code_dim, channels))  # [D,C]
            self.gamma_base = nn.Parameter(torch.ones(channels))  # [C]
            self.beta_base = nn.Parameter(torch.zeros(channels))  # [C]
        else:
            self.gamma = nn.Parameter(torch.ones(code_dim, channels))  # [S,C]
            self.beta = nn.Parameter(torch.zeros(code_dim, channels))  # [S,C]

    @property
    def with_base(self) -> bool:
        return hasattr(self, "gamma_base")

    def mixed_affine(self, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (gamma, beta) for codes ``[N,S]`` or ``[N,D]`` as ``[N,C]`` each."""
        code = code.to(self.gamma.dtype)
        gamma, beta = code @ self.gamma, code @ self.beta
        if self.with_base:
            gamma, beta = gamma + self.gamma_base, beta + self.beta_base
        return gamma, beta

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        # x: [N,C,H,W], code: [N,S] or [N,D]
        gamma, beta = self.mixed_affine(code)
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
        code_dim: int,
        stride: int = 1,
        activation: bool = True,
        with_base: bool = False,
    ) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride)
        self.norm = ConditionalInstanceNorm(out_channels, code_dim, with_base=with_base)
        self.activation = activation

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.conv(self.pad(x)), code)
        return F.relu(y) if self.activation else y


class ResidualBlock(nn.Module):
    """Two 3×3 conv-norm layers with an identity skip (He et al. 2016, as used by Johnson)."""

    def __init__(self, channels: int, code_dim: int, with_base: bool = False) -> None:
        super().__init__()
        self.first = ConvNormAct(channels, channels, 3, code_dim, with_base=with_base)
        self.second = ConvNormAct(channels, channels, 3, code_dim, activation=False, with_base=with_base)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return x + self.second(self.first(x, code), code)


class UpsampleConvNormAct(nn.Module):
    """Nearest-neighbour ×2 upsampling followed by conv-norm-ReLU (no transposed conv)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, code_dim: int, with_base: bool = False
    ) -> None:
        super().__init__()
        self.layer = ConvNormAct(in_channels, out_channels, kernel_size, code_dim, with_base=with_base)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return self.layer(F.interpolate(x, scale_factor=2.0, mode="nearest"), code)
