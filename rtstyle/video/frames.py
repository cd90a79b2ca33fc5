"""The frame record that travels between the reader, the stylizer and the writer.

A frame is plain numpy data plus its timestamp, so that code downstream of the reader (models,
batching, the GUI) never needs to know about PyAV.  The timestamp is kept in the source stream's
own units rather than as a float so the writer can reproduce variable-frame-rate timing exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One decoded picture, upright, as ``uint8 [H, W, 3]`` RGB.

    ``pts`` counts ``time_base`` units of the stream the frame came from; both are ``None`` for
    sources without timestamps (raw elementary streams, cameras), in which case the writer
    spaces frames evenly at the nominal rate.
    """

    rgb: np.ndarray
    pts: int | None
    time_base: Fraction | None

    def __post_init__(self) -> None:
        # Checked here, once, because every consumer (torch.from_numpy, PyAV's from_ndarray,
        # Qt images) silently misbehaves or copies on a wrong dtype or a strided view.
        rgb = self.rgb
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8:
            raise ValueError(f"Frame.rgb must be a uint8 numpy array, got {_describe(rgb)}")
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1:
            raise ValueError(f"Frame.rgb must have shape [H, W, 3], got {rgb.shape}")
        if not rgb.flags.c_contiguous:
            raise ValueError("Frame.rgb must be C-contiguous (use np.ascontiguousarray)")

    @property
    def time(self) -> float | None:
        """Presentation time in seconds, or ``None`` when the source has no timestamps."""
        if self.pts is None or self.time_base is None:
            return None
        return float(self.pts * self.time_base)


def _describe(value: object) -> str:
    """Name the type (and dtype) of a rejected value for an error message."""
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype}"
    return type(value).__name__
