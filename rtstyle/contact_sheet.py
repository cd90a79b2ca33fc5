"""Contact sheets: grids of labelled square tiles, for evaluation reports and training samples."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

LABEL_HEIGHT = 18


def center_square(image: np.ndarray, size: int) -> np.ndarray:
    """Centre crop to a square and resize to ``size`` (uint8 RGB)."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = np.ascontiguousarray(image[top : top + side, left : left + side])
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR)


def labelled(tile: np.ndarray, text: str) -> np.ndarray:
    """``tile`` with a white caption bar above it (text cut to fit)."""
    bar = np.full((LABEL_HEIGHT, tile.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text[: max(1, tile.shape[1] // 7)], (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                cv2.LINE_AA)
    return np.concatenate([bar, tile])


def grid(rows: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
    """Stack rows of equally tall tiles; rows must have equal total width."""
    return np.concatenate([np.concatenate(list(row), axis=1) for row in rows], axis=0)
