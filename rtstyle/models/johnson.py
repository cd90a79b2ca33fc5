"""Johnson et al. 2016's TransformerNet, re-implemented from the paper, as a speed anchor.

"Perceptual Losses for Real-Time Style Transfer and Super-Resolution" (ECCV 2016), supplementary
table: 9×9 conv (32) → two stride-2 3×3 convs (64, 128) → five residual blocks (128) → two
×2 upsampling stages (64, 32) → 9×9 conv (3), with instance norm (Ulyanov et al. 2016) in place
of batch norm as every later implementation does.  It is one style per network and exists here
only so benchmarks can report our presets next to the architecture everyone compares against
(random weights: speed does not depend on them).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d(kernel // 2), nn.Conv2d(in_channels, out_channels, kernel, stride))


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(channels, channels, 3), nn.InstanceNorm2d(channels, affine=True), nn.ReLU(),
            _conv(channels, channels, 3), nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _Upsample(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = _conv(in_channels, out_channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class TransformerNet(nn.Module):
    """x ``[N,3,H,W]`` (H, W multiples of 4) → stylized ``[N,3,H,W]``."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for in_c, out_c, kernel, stride in [(3, 32, 9, 1), (32, 64, 3, 2), (64, 128, 3, 2)]:
            layers += [_conv(in_c, out_c, kernel, stride), nn.InstanceNorm2d(out_c, affine=True), nn.ReLU()]
        layers += [_Residual(128) for _ in range(5)]
        for in_c, out_c in [(128, 64), (64, 32)]:
            layers += [_Upsample(in_c, out_c), nn.InstanceNorm2d(out_c, affine=True), nn.ReLU()]
        layers.append(_conv(32, 3, 9))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
