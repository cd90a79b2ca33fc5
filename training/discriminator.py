"""Multi-scale PatchGAN discriminator with spectral norm and an auxiliary style classifier.

Why this shape:

- **Patches** (Isola et al. 2017): a painting is one image, so D judges local texture — brush
  strokes, palette, edges — over ~50 px windows rather than whole compositions it cannot learn
  from one example.
- **Multi-scale** (Wang et al. 2018, pix2pixHD): the same design on a 2× downsampled copy sees
  ~100 px windows, which is where swirls and large strokes live.
- **Spectral norm** on every conv (Miyato et al. 2018): keeps D Lipschitz, so it does not
  overpower a tiny generator in a few hundred steps on a single image.
- **One patch-logit channel per style** (the multi-task D of StarGAN v2, Choi et al. 2020): a
  bank's styles are judged separately, and a fake for style s is compared with paintings of s.
- **A classification head** (StarGAN, Choi et al. 2018) predicting which style a patch shows;
  its loss on G's outputs keeps the styles of a bank from blending into one texture.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

logger = logging.getLogger(__name__)


@dataclass
class DiscriminatorOutput:
    """What one call of :class:`MultiScaleDiscriminator` returns."""

    adversarial: list[torch.Tensor]  # per scale: [N,1,h,w] logits of the requested style
    style_logits: torch.Tensor  # [N,S] style classification logits (mean over scales)


def _sn_conv(in_channels: int, out_channels: int, kernel: int, stride: int) -> nn.Module:
    # padding 1 halves a side exactly for 4×4/stride 2 and keeps it for 3×3/stride 1.
    return spectral_norm(nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=1))


class PatchDiscriminator(nn.Module):
    """A PatchGAN: strided 4×4 convs then a 3×3 conv, with adversarial and style heads."""

    def __init__(self, num_styles: int, base_channels: int = 32, num_downsamples: int = 3) -> None:
        super().__init__()
        layers, channels = [], 3
        for i in range(num_downsamples):
            out = base_channels * 2 ** min(i, 3)
            layers.append(_sn_conv(channels, out, 4, 2))
            channels = out
        layers.append(_sn_conv(channels, channels, 3, 1))
        self.body = nn.ModuleList(layers)
        self.adversarial_head = _sn_conv(channels, num_styles, 3, 1)
        self.style_head = _sn_conv(channels, num_styles, 3, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # x: [N,3,H,W] in [0,1] → (adv [N,S,h,w], style logits [N,S])
        y = x * 2.0 - 1.0
        for layer in self.body:
            y = F.leaky_relu(layer(y), 0.2)
        return self.adversarial_head(y), self.style_head(y).mean(dim=(2, 3))


class MultiScaleDiscriminator(nn.Module):
    """``num_scales`` PatchGANs on the image, its ½ and ¼ downsampled copies, and so on."""

    def __init__(self, num_styles: int, base_channels: int = 32, num_downsamples: int = 3, num_scales: int = 2) -> None:
        super().__init__()
        if num_styles < 1 or num_scales < 1 or num_downsamples < 1:
            raise ValueError("num_styles, num_scales and num_downsamples must be at least 1")
        self.num_styles = num_styles
        self.scales = nn.ModuleList(
            PatchDiscriminator(num_styles, base_channels, num_downsamples) for _ in range(num_scales)
        )

    def forward(self, x: torch.Tensor, styles: torch.Tensor) -> DiscriminatorOutput:
        # x: [N,3,H,W] in [0,1]; styles: [N] int64 style index of each image
        adversarial, style_logits = [], []
        image = x
        for index, scale in enumerate(self.scales):
            if index:
                image = F.avg_pool2d(image, 2)
            adv, logits = scale(image)
            pick = styles.view(-1, 1, 1, 1).expand(-1, 1, *adv.shape[-2:])
            adversarial.append(adv.gather(1, pick))
            style_logits.append(logits)
        return DiscriminatorOutput(adversarial, torch.stack(style_logits).mean(dim=0))
