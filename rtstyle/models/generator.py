"""Multi-style feed-forward generator G (the style bank's network).

Encoder (stem + strided convs) → residual blocks → decoder (nearest upsample + conv) → RGB head,
with conditional instance norm after every conv so one network holds many styles.  The
architecture follows Johnson et al. 2016 ("Perceptual Losses for Real-Time Style Transfer") with
Dumoulin et al. 2017's conditional instance norm; the ``fast`` preset shrinks channels and blocks
so the network runs at camera rate on a laptop CPU.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from rtstyle.models.blocks import ConvNormAct, ResidualBlock, UpsampleConvNormAct
from rtstyle.models.registry import DEFAULT_ARCHITECTURE, Generator, register_generator


@dataclass(frozen=True)
class GeneratorConfig:
    """Constructor arguments of :class:`StyleGenerator`; saved verbatim in style files.

    ``channels[i]`` is the width at scale ``1/(stem_stride * 2**i)``; the encoder halves the
    resolution ``len(channels) - 1`` times after the stem.  ``stem_stride=2`` runs the whole
    network at half resolution and upsamples once just before the RGB head: on CPUs the cost of
    a small network is dominated by its full-resolution layers (memory traffic, not FLOPs).
    ``pyramid_base > 0`` runs the network at every octave of the image down to a shorter side
    below ``2 * pyramid_base`` and composes the outputs as a Laplacian pyramid
    (:mod:`rtstyle.models.pyramid`), so the output at ½ resolution is the full-resolution output
    less its finest octave; 0 runs it once.
    ``style_dim > 0`` conditions the norms on a style vector of that size (Ghiasi et al. 2017:
    the style predictor's output, :mod:`rtstyle.models.style_predictor`) instead of one affine
    row per style: each style is then a stored vector (``style_vectors`` ``[S,D]``), a mix is the
    weighted mean of the vectors, and any picture the predictor reads is a style too.  0 keeps
    one-hot conditional instance norm (Dumoulin et al. 2017).
    """

    num_styles: int = 1
    channels: tuple[int, ...] = (32, 64, 128)
    num_residual_blocks: int = 5
    outer_kernel: int = 9
    stem_stride: int = 1
    pyramid_base: int = 0
    style_dim: int = 0

    def __post_init__(self) -> None:
        # JSON gives lists; keep a tuple so configs compare equal and stay hashable.
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if self.num_styles < 1:
            raise ValueError("num_styles must be at least 1")
        if len(self.channels) < 1 or any(c < 1 for c in self.channels):
            raise ValueError(f"channels must be positive integers, got {self.channels}")
        if self.outer_kernel < 1 or self.outer_kernel % 2 == 0:
            raise ValueError("outer_kernel must be an odd positive integer")
        if self.num_residual_blocks < 0:
            raise ValueError("num_residual_blocks must be >= 0")
        if self.stem_stride not in (1, 2):
            raise ValueError("stem_stride must be 1 or 2")
        if self.pyramid_base < 0:
            raise ValueError("pyramid_base must be >= 0 (0: no scale pyramid)")
        if self.style_dim < 0:
            raise ValueError("style_dim must be >= 0 (0: one-hot styles)")

    @property
    def code_dim(self) -> int:
        """Width of the code every norm reads: the style vector's, or one slot per style."""
        return self.style_dim or self.num_styles

    @property
    def stride(self) -> int:
        return self.stem_stride * 2 ** (len(self.channels) - 1)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeneratorConfig:
        """Build from JSON; unknown keys are an error so a newer file is not half-read."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown generator config keys: {sorted(unknown)}")
        return cls(**data)


#: Named architectures.  ``quality`` has the capacity of Johnson et al.'s TransformerNet;
#: ``fast`` is sized for >= 30 fps at 640×360 on a 2-core CPU (see bench/RESULTS.md).
PRESETS: dict[str, GeneratorConfig] = {
    "quality": GeneratorConfig(channels=(32, 64, 128), num_residual_blocks=5, outer_kernel=9),
    "fast": GeneratorConfig(channels=(12, 24, 48), num_residual_blocks=3, outer_kernel=3, stem_stride=2),
}


def preset_config(name: str, num_styles: int) -> GeneratorConfig:
    """The preset architecture ``name`` sized for ``num_styles`` styles."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    base = PRESETS[name]
    return GeneratorConfig(**{**base.to_dict(), "num_styles": num_styles})


@register_generator(
    DEFAULT_ARCHITECTURE,
    config=GeneratorConfig,
    # Far beyond any trained bank (the presets: at most 128 channels, 5 blocks, kernel 9; style
    # vectors of 100), yet small enough that the expected tensor shapes of a file are worked out
    # in milliseconds: a hostile size is refused before anything is built from it.
    limits={"num_styles": (1, 256), "channels": (1, 1024), "num_residual_blocks": (0, 64), "outer_kernel": (1, 15),
            "stem_stride": (1, 2), "pyramid_base": (0, 4096), "style_dim": (0, 1024)},
    max_items={"channels": 8},  # the encoder downsamples 2**7 = 128 times at most
)
class StyleGenerator(Generator):
    """G(x, w): stylize images ``x`` ``[N,3,H,W]`` in ``[0,1]`` with style weights ``w`` ``[N,S]``.

    Any spatial size works: the input is padded (replicate) up to a multiple of the stride and
    to a minimum size so every reflection pad inside has room, and the output is cropped back.
    """

    config: GeneratorConfig

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        d, widths, vec = config.code_dim, config.channels, config.style_dim > 0
        self.stem = ConvNormAct(3, widths[0], config.outer_kernel, d, stride=config.stem_stride, with_base=vec)
        self.down = nn.ModuleList(
            ConvNormAct(widths[i], widths[i + 1], 3, d, stride=2, with_base=vec) for i in range(len(widths) - 1)
        )
        self.residual = nn.ModuleList(
            ResidualBlock(widths[-1], d, with_base=vec) for _ in range(config.num_residual_blocks)
        )
        self.up = nn.ModuleList(
            UpsampleConvNormAct(widths[i + 1], widths[i], 3, d, with_base=vec) for i in reversed(range(len(widths) - 1))
        )
        if vec:
            # The bank's styles as predictor vectors [S,D]; set when training starts, saved with the weights.
            self.register_buffer("style_vectors", torch.zeros(config.num_styles, config.style_dim))
        # With a strided stem the head also sees the full-resolution input, so edges stay as
        # sharp as the source instead of as soft as the half-resolution features.
        head_inputs = widths[0] + (3 if config.stem_stride > 1 else 0)
        self.head = nn.Sequential(
            nn.ReflectionPad2d(config.outer_kernel // 2),
            nn.Conv2d(head_inputs, 3, config.outer_kernel),
        )

    @property
    def min_size(self) -> int:
        # The deepest feature map must stay wider than the 3×3 reflection pad (1 pixel).
        return max(4 * self.config.stride, self.config.outer_kernel + 1)

    def style_code(self, style_weights: torch.Tensor) -> torch.Tensor:
        """What the norms read for weights ``[N,S]``: the mixed style vector ``[N,D]``, or the weights."""
        if self.config.style_dim:
            return style_weights.to(self.style_vectors.dtype) @ self.style_vectors
        return style_weights

    def paint(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """One level for a style code (``[N,D]`` style vector or ``[N,S]`` weights, see :meth:`style_code`)."""
        height, width = x.shape[-2:]
        centred = self._pad_to_stride(x) * 2.0 - 1.0
        y = self.stem(centred, code)
        for layer in self.down:
            y = layer(y, code)
        for block in self.residual:
            y = block(y, code)
        for layer in self.up:
            y = layer(y, code)
        if self.config.stem_stride > 1:
            # Bilinear, not nearest: nothing after this point could smooth out 2×2 blocks.
            y = F.interpolate(y, size=centred.shape[-2:], mode="bilinear", align_corners=False)
            y = torch.cat([y, centred], dim=1)
        y = torch.sigmoid(self.head(y))
        return y[..., :height, :width]

    def _pad_to_stride(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        stride, minimum = self.config.stride, self.min_size
        target_h = max(minimum, math.ceil(height / stride) * stride)
        target_w = max(minimum, math.ceil(width / stride) * stride)
        if (target_h, target_w) == (height, width):
            return x
        # Replicate, not reflect: reflection needs the pad to be smaller than the image, which a
        # 1×1 or 3×5 input is not.
        return F.pad(x, (0, target_w - width, 0, target_h - height), mode="replicate")

    def flops_per_pixel(self) -> float:
        """Multiply-adds ×2 per output pixel (convolutions only), for the benchmark tables; with a
        scale pyramid, its bound of 4/3 of one level (the octaves below add ¼ + 1/16 + …)."""
        cfg = self.config
        widths, k = cfg.channels, cfg.outer_kernel
        inner = 2.0 * 3 * widths[0] * k * k  # stem, per pixel of its output
        for i in range(len(widths) - 1):
            inner += 2.0 * widths[i] * widths[i + 1] * 9 / 4 ** (i + 1)  # strided conv output
            inner += 2.0 * widths[i + 1] * widths[i] * 9 / 4**i  # upsample conv output
        inner += cfg.num_residual_blocks * 2 * (2.0 * widths[-1] ** 2 * 9) / 4 ** (len(widths) - 1)
        head_inputs = widths[0] + (3 if cfg.stem_stride > 1 else 0)
        head = 2.0 * head_inputs * 3 * k * k  # always at full resolution
        one_level = inner / cfg.stem_stride**2 + head
        return one_level * 4.0 / 3.0 if cfg.pyramid_base else one_level
