"""Synthetic images for the training tests, written with numpy + cv2 (no data files needed)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def stripes(size: int = 96, period: int = 8, color: tuple[int, int, int] = (220, 40, 30)) -> np.ndarray:
    """A 'painting' of diagonal stripes in one colour on white (RGB uint8)."""
    yy, xx = np.mgrid[:size, :size]
    on = ((xx + yy) // (period // 2)) % 2 == 0
    image = np.full((size, size, 3), 255, np.uint8)
    image[on] = color
    return image


def dots(size: int = 96, spacing: int = 10, color: tuple[int, int, int] = (30, 60, 220)) -> np.ndarray:
    """A 'painting' of round dots on a dark ground (RGB uint8)."""
    image = np.full((size, size, 3), 20, np.uint8)
    for y in range(spacing // 2, size, spacing):
        for x in range(spacing // 2, size, spacing):
            cv2.circle(image, (x, y), spacing // 3, color, -1)
    return image


def photo(seed: int, height: int = 72, width: int = 88) -> np.ndarray:
    """A 'photo': smooth colour gradient with a few random shapes (RGB uint8)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width] / max(height, width)
    base = np.stack([xx, yy, 1 - xx], axis=2) * rng.uniform(120, 255, 3)
    image = base.astype(np.uint8)
    for _ in range(3):
        center = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.circle(image, center, int(rng.integers(5, 20)), color, -1)
    return image


def write_rgb(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path
