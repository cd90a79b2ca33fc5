"""Regional styles: which style goes where, from a built-in layout or a mask image.

A layout divides the frame into K regions, each stylized with its own style (or mix).  The
regions become soft masks — one-hot label maps blurred across the seams by a Gaussian whose
width is a fraction of the frame — and then either logits for the fusion network F
(:func:`region_logits`: inside a region the chosen style holds, at a seam F decides) or, without
F, blend weights directly (:func:`blend_regions`).  Training uses both functions too: its region
logits and its full-resolution targets are made the way the runtime makes them.

A mask image is read as grey levels split into K equal bands: with two styles, dark pixels take
the first style and bright pixels the second; with three, black / mid-grey / white; and so on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch

from rtstyle.errors import InputError
from rtstyle.mixing import normalize_weights
from rtstyle.video.images import read_image

#: Seam blur: Gaussian sigma as a fraction of the frame's shorter side.
FEATHER = 0.02


def _left_right(height: int, width: int) -> np.ndarray:
    labels = np.zeros((height, width), np.int64)
    labels[:, width // 2 :] = 1
    return labels


def _top_bottom(height: int, width: int) -> np.ndarray:
    labels = np.zeros((height, width), np.int64)
    labels[height // 2 :] = 1
    return labels


def _centre_surround(height: int, width: int) -> np.ndarray:
    """Region 0: a centred ellipse spanning 70 % of each axis; region 1: the rest of the frame."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    inside = ((xs + 0.5 - width / 2) / (0.35 * width)) ** 2 + ((ys + 0.5 - height / 2) / (0.35 * height)) ** 2 <= 1
    return np.where(inside, 0, 1).astype(np.int64)


def _quadrants(height: int, width: int) -> np.ndarray:
    labels = _left_right(height, width)
    labels[height // 2 :] += 2
    return labels


def _vertical_thirds(height: int, width: int) -> np.ndarray:
    return np.minimum(np.arange(width) * 3 // max(1, width), 2)[None].repeat(height, 0).astype(np.int64)


#: Built-in layouts: name → (number of regions, label map builder).  Regions are numbered in
#: reading order (left before right, top before bottom); centre-surround's centre is region 0.
LAYOUTS: dict[str, tuple[int, Callable[[int, int], np.ndarray]]] = {
    "left-right": (2, _left_right),
    "top-bottom": (2, _top_bottom),
    "centre-surround": (2, _centre_surround),
    "thirds": (3, _vertical_thirds),
    "quadrants": (4, _quadrants),
}
_ALIASES = {"center-surround": "centre-surround"}


@dataclass(frozen=True)
class Regions:
    """A layout (built-in name or mask image path) and one style weight vector ``[S]`` per region."""

    layout: str
    style_weights: tuple[np.ndarray, ...] = field(compare=False)

    def __post_init__(self) -> None:
        layout = _ALIASES.get(self.layout, self.layout)
        object.__setattr__(self, "layout", layout)
        object.__setattr__(self, "style_weights", tuple(normalize_weights(w) for w in self.style_weights))
        expected = region_count(layout)
        if expected is not None and expected != len(self.style_weights):
            raise InputError(f"layout {layout!r} has {expected} regions but {len(self.style_weights)} styles were given")
        if len(self.style_weights) < 2:
            raise InputError("regional styles need at least two regions")

    @property
    def count(self) -> int:
        return len(self.style_weights)


def region_count(layout: str) -> int | None:
    """Regions of a built-in layout, or None for a mask image (any count)."""
    layout = _ALIASES.get(layout, layout)
    return LAYOUTS[layout][0] if layout in LAYOUTS else None


def check_layout(layout: str) -> None:
    """Raise :class:`InputError` unless ``layout`` is a built-in name or an existing file."""
    layout = _ALIASES.get(layout, layout)
    if layout not in LAYOUTS and not Path(layout).is_file():
        raise InputError(
            f"unknown region layout {layout!r}: use {', '.join(LAYOUTS)} or a mask image file"
        )


def region_labels(layout: str, height: int, width: int, count: int) -> np.ndarray:
    """``int64 [H,W]`` region index per pixel for a built-in layout or a mask image."""
    layout = _ALIASES.get(layout, layout)
    if layout in LAYOUTS:
        return LAYOUTS[layout][1](height, width)
    check_layout(layout)
    grey = _mask_grey(os.path.abspath(layout), os.path.getmtime(layout))
    resized = cv2.resize(grey, (width, height), interpolation=cv2.INTER_NEAREST)
    return np.minimum(resized.astype(np.int64) * count // 256, count - 1)


@lru_cache(maxsize=4)
def _mask_grey(path: str, modified: float) -> np.ndarray:
    """The mask file as grey levels (cached per path and modification time)."""
    del modified  # part of the cache key only: an edited mask is read again
    return cv2.cvtColor(read_image(path), cv2.COLOR_RGB2GRAY)


def soft_masks(labels: np.ndarray, count: int, feather: float = FEATHER) -> np.ndarray:
    """``float32 [K,H,W]`` masks summing to one: one-hot labels blurred across the seams."""
    height, width = labels.shape
    sigma = max(0.5, feather * min(height, width))
    masks = np.stack([(labels == k).astype(np.float32) for k in range(count)])
    blurred = np.stack([cv2.GaussianBlur(m, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE) for m in masks])
    return blurred / np.maximum(blurred.sum(0, keepdims=True), 1e-12)


def region_logits(masks: torch.Tensor, floor: float) -> torch.Tensor:
    """Soft masks ``[N,K,H,W]`` → F's region logits ``log(max(mask, floor))``.

    ``floor`` is the bank's (``FusionConfig.region_floor``): it sets how far below its own style
    every other style sits inside a region, which F's scores were trained against.
    """
    return masks.clamp_min(floor).log()


def blend_regions(images: Sequence[torch.Tensor], masks: torch.Tensor | None) -> torch.Tensor:
    """Each region's image ``[N,3,H,W]`` weighted by its soft mask ``[N,K,H,W]``, summed (the
    first image as it is without masks): regions without F, and F's training target."""
    if masks is None:
        return images[0]
    blended = masks[:, :1] * images[0]
    for k in range(1, len(images)):
        blended = blended + masks[:, k : k + 1] * images[k]
    return blended


class RegionMaskCache:
    """Soft masks and F's region logits for the current frame size and layout, as torch tensors
    on one device; each is made only when asked for (F needs only the logits, blending only the
    masks), from float32 masks, and kept until the layout, the size or the floor changes."""

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        self.device, self.dtype = device, dtype
        self._masks_key: tuple | None = None
        self._logits_key: tuple | None = None
        self._masks = self._logits = torch.empty(0)

    def masks(self, regions: Regions, height: int, width: int) -> torch.Tensor:
        """``[1,K,H,W]`` soft masks for ``regions`` at this size."""
        key = (regions.layout, regions.count, height, width)
        if key != self._masks_key:
            self._masks = self._soft(regions, height, width).to(self.device, self.dtype)
            self._masks_key = key
        return self._masks

    def logits(self, regions: Regions, height: int, width: int, floor: float) -> torch.Tensor:
        """``[1,K,H,W]`` :func:`region_logits` with the bank's ``floor``, the term F adds to its candidates' logits."""
        key = (regions.layout, regions.count, height, width, floor)
        if key != self._logits_key:
            self._logits = region_logits(self._soft(regions, height, width), floor).to(self.device, self.dtype)
            self._logits_key = key
        return self._logits

    @staticmethod
    def _soft(regions: Regions, height: int, width: int) -> torch.Tensor:
        """``float32 [1,K,H,W]`` soft masks on the CPU."""
        labels = region_labels(regions.layout, height, width, regions.count)
        return torch.from_numpy(soft_masks(labels, regions.count))[None]
