"""Fixed (never trained) feature extractors for style statistics: random patch projections, or VGG.

**Patch projections.**  The distribution of a painting's pixel patches over the bands of a
Laplacian pyramid describes its palette and strokes well enough for single-image synthesis
(Elnekave & Weiss 2022, "Generating natural images with direct patch distribution matching"), and the sliced Wasserstein distance compares such
distributions through random 1-D projections (Rabin et al. 2011; Heitz et al. 2021).
:class:`PatchProjector` holds the fixed random directions.  It gives G a steady style target from
step 0, which the adversarial loss alone cannot give in an hour of CPU; next to the pretrained
feature network's terms it is what carries the strokes' fine texture.  (We tried Gram matrices of
small random conv nets first: with the few filters a CPU affords they matched colours but
produced noise instead of strokes.)

**VGG** (Simonyan & Zisserman 2015) is used when the user has torchvision's weight file: the
classic perceptual content and Gram style losses of Johnson et al. 2016.  The network is built
here with torchvision's layer indices, so its ``vgg16-397923af.pth``/``vgg19-dcbb9e9d.pth`` state
dict loads without importing torchvision (which does not work with every torch build).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from rtstyle.errors import InputError

logger = logging.getLogger(__name__)

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


#: Binomial 5-tap kernel of a Gaussian pyramid (Burt & Adelson 1983, as OpenCV's ``pyrDown``).
_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def laplacian_bands(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels of ``[N,C,H,W]``, finest first: ``levels - 1`` Laplacian bands, then the
    coarsest Gaussian level.  Bands stop early where an image gets smaller than 5 px."""
    kernel = (_BINOMIAL[:, None] * _BINOMIAL[None, :]).to(x)[None, None].expand(x.shape[1], 1, 5, 5)
    bands = []
    for _ in range(levels - 1):
        if min(x.shape[-2:]) < 5:
            break
        smaller = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=x.shape[1])[..., ::2, ::2]
        bands.append(x - F.interpolate(smaller, size=x.shape[-2:], mode="bilinear", align_corners=False))
        x = smaller
    bands.append(x)
    return bands


class PatchProjector(nn.Module):
    """Fixed random 1-D projections of ``k``×``k`` RGB patches of each band of a Laplacian pyramid.

    Each direction is a unit vector in patch space, applied as a convolution, so projecting every
    patch of a band is one conv.  Sorting the projections of an image gives the 1-D distributions
    whose distances make up the sliced Wasserstein loss.

    Band-pass, not a Gaussian pyramid: a brush stroke is fine-scale structure, and in raw pixel
    patches the slowly varying colour dominates every projection, so matching them matched the
    palette and left strokes as a faint regular weave.  Measured on the bundled Starry Night
    (G fine-tuned 120 steps with the feature terms but no teacher, texture distance to the
    painting on ``shared/data/content``): 0.172 → 0.109 with band-pass patches added, → 0.191
    with the Gaussian pyramid's alone; with the teacher term, band-pass patches at weight 5 gave
    0.136 (the peer: 0.150; bench/RESULTS.md, fourth session).
    """

    def __init__(self, patch_size: int = 7, num_directions: int = 128, levels: int = 3, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        directions = torch.randn(num_directions, 3 * patch_size * patch_size, generator=generator)
        directions = directions / directions.norm(dim=1, keepdim=True)
        self.register_buffer("weight", directions.view(num_directions, 3, patch_size, patch_size))
        self.levels = levels

    @property
    def num_directions(self) -> int:
        return int(self.weight.shape[0])

    def forward(self, x: torch.Tensor, directions: torch.Tensor | None = None) -> list[torch.Tensor]:
        """``[N,3,H,W]`` in [0,1] → per band ``[N,K,P]`` projections (K chosen directions, P patches)."""
        weight = self.weight if directions is None else self.weight[directions]
        side = weight.shape[-1]
        return [
            F.conv2d(band, weight.to(band.dtype)).flatten(2)
            for band in laplacian_bands(x, self.levels)
            if min(band.shape[-2:]) >= side
        ]

    def sampled(self, x: torch.Tensor, directions: int, points: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Projections of ``x`` on ``directions`` random directions, ``points`` random patches per
        band; returns (the directions chosen, per band ``[N,K,≤points]``).  A random subset of the
        patches estimates the same 1-D distributions: sorting all of them was a third of a CPU step."""
        chosen = torch.randperm(self.num_directions, device=self.weight.device)[:directions]
        projections = [
            p[..., torch.randperm(p.shape[-1], device=p.device)[:points]] if p.shape[-1] > points else p
            for p in self(x, chosen)
        ]
        return chosen, projections

    @torch.no_grad()
    def target_quantiles(self, image: torch.Tensor, num_quantiles: int = 2048) -> list[torch.Tensor]:
        """Sorted projections of a painting ``[1,3,H,W]``, kept at ``num_quantiles`` evenly spaced ranks.

        A painting has ~10⁵ patches per level; its quantile table is all SWD needs and is small
        enough to keep for every style of a bank.  Returns per level ``[K,Q]``.
        """
        tables = []
        for projection in self(image):
            ordered = projection[0].sort(dim=1).values  # [K,P]
            ranks = torch.linspace(0, ordered.shape[1] - 1, num_quantiles, device=ordered.device).round().long()
            tables.append(ordered[:, ranks].contiguous())
        return tables


#: torchvision's ``features`` layout: ints are conv widths, "M" a 2×2 max pool.
_VGG_LAYOUTS: dict[str, list[int | str]] = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
#: Indices (into ``features``) of the ReLU outputs used: Johnson et al. 2016 for VGG-16
#: (style relu1_2..relu4_3, content relu2_2); Gatys et al. 2016 for VGG-19 (relu1_1..relu4_1, relu4_2).
_VGG_TAPS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "vgg16": ((3, 8, 15, 22), (8,)),
    "vgg19": ((1, 6, 11, 20), (22,)),
}
_VGG_URLS = {
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
}


class VGGFeatures(nn.Module):
    """VGG's convolutional trunk, frozen, returning (style features, content features)."""

    def __init__(self, arch: str = "vgg16") -> None:
        super().__init__()
        if arch not in _VGG_LAYOUTS:
            raise ValueError(f"unknown VGG {arch!r}; choose from {sorted(_VGG_LAYOUTS)}")
        self.arch = arch
        layers: list[nn.Module] = []
        channels = 3
        for item in _VGG_LAYOUTS[arch]:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU(inplace=False)]
                channels = int(item)
        style_taps, content_taps = _VGG_TAPS[arch]
        self.style_taps, self.content_taps = set(style_taps), set(content_taps)
        self.features = nn.Sequential(*layers[: max(style_taps + content_taps) + 1])
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        # x: [N,3,H,W] in [0,1]
        y = (x - self.mean) / self.std
        style, content = [], []
        for index, layer in enumerate(self.features):
            y = layer(y)
            if index in self.style_taps:
                style.append(y)
            if index in self.content_taps:
                content.append(y)
        return style, content


def _arch_of(state: dict[str, torch.Tensor]) -> str:
    """Tell VGG-16 from VGG-19 by the number of conv weights in ``features``."""
    convs = sum(1 for k, v in state.items() if k.startswith("features.") and k.endswith(".weight") and v.ndim == 4)
    for arch, layout in _VGG_LAYOUTS.items():
        if convs == sum(1 for item in layout if item != "M"):
            return arch
    raise InputError(f"VGG weights have {convs} conv layers; expected VGG-16 (13) or VGG-19 (16)")


def load_vgg(spec: str, arch: str = "vgg16") -> VGGFeatures:
    """Build frozen VGG features from ``spec``: a state-dict file path, or ``download``.

    ``download`` goes through torch.hub's standard cache (``$TORCH_HOME/hub/checkpoints``), so a
    file torchvision already fetched is reused and nothing is fetched twice.  Files are read with
    ``weights_only=True``: a weight file is data, never code.
    """
    if spec == "download":
        state = torch.hub.load_state_dict_from_url(
            _VGG_URLS[arch], map_location="cpu", weights_only=True, progress=False
        )
    else:
        path = Path(spec)
        if not path.is_file():
            raise InputError(f"VGG weights not found: {path}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad user file
            raise InputError(f"{path}: not a readable PyTorch state dict ({type(exc).__name__})") from None
    if not isinstance(state, dict):
        raise InputError(f"{spec}: expected a state dict of tensors")
    model = VGGFeatures(_arch_of(state))
    wanted = model.state_dict()
    missing = [k for k in wanted if k not in state]
    if missing:
        raise InputError(f"{spec}: VGG weights lack {missing[:3]}")
    try:
        model.load_state_dict({k: state[k] for k in wanted})
    except RuntimeError as exc:
        raise InputError(f"{spec}: VGG weights do not fit ({str(exc).splitlines()[0]})") from None
    logger.info("loaded %s weights from %s", model.arch, spec)
    return model.eval()
