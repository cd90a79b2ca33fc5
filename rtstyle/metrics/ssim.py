"""Structural similarity of luminance (Wang et al. 2004), for "is the content still readable".

Computed on the Y channel only: stylization is supposed to change colours and texture, and the
question SSIM answers here is whether edges and shapes of the content survive.
"""

from __future__ import annotations

import cv2
import numpy as np

from rtstyle.color import LUMA_WEIGHTS

_C1 = (0.01 * 1.0) ** 2
_C2 = (0.03 * 1.0) ** 2


def luminance(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB ``[H,W,3]`` → float32 BT.601 luma in [0,1]."""
    return (rgb.astype(np.float32) / 255.0) @ np.array(LUMA_WEIGHTS, dtype=np.float32)


def ssim_luminance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM between the luma of two uint8 RGB images of the same size.

    SSIM(x, y) = (2 μx μy + C1)(2 σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)), with local
    statistics under an 11×11 Gaussian window (σ = 1.5), averaged over the image.
    """
    if a.shape != b.shape:
        raise ValueError(f"images differ in size: {a.shape} vs {b.shape}")
    x, y = luminance(a), luminance(b)

    def blur(image: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(image, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + _C1) * (2 * cov + _C2)
    denominator = (mu_x**2 + mu_y**2 + _C1) * (var_x + var_y + _C2)
    return float(np.mean(numerator / denominator))
