"""Temporal warping error: how much a stylized video flickers (Lai et al. 2018).

Optical flow is computed on the *source* frames (OpenCV DIS), the previous stylized frame is
warped along it to the current one, and the error is the mean absolute difference over pixels the
flow can be trusted at.  Pixels that are occluded or disoccluded between the two frames are masked
out by the forward–backward consistency check (Sundaram et al. 2010): where following the flow
forward and then backward does not return to the start, the pixel has no counterpart.

A steady stylization scores near the source video's own warping error; flicker (textures that
change from frame to frame on static content) raises it.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from rtstyle.errors import InputError
from rtstyle.motion import MIN_FLOW_SIDE, warp_image


def _gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _flow(engine: cv2.DISOpticalFlow, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Flow ``[H,W,2]`` such that ``target(p) ≈ source(p + flow(p))``."""
    return engine.calc(_gray(target), _gray(source), None)


def consistency_mask(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """True where forward then backward flow returns within tolerance (no occlusion)."""
    backward_at_target = warp_image(backward, forward)
    round_trip = forward + backward_at_target
    magnitude = (forward**2).sum(-1) + (backward_at_target**2).sum(-1)
    error = (round_trip**2).sum(-1)
    return error <= 0.01 * magnitude + 0.5  # Sundaram et al.'s threshold


def warping_errors(sources: Iterable[np.ndarray], outputs: Iterable[np.ndarray]) -> list[float]:
    """Per frame pair: mean |O_t − warp(O_{t−1})| over consistent pixels, in [0,1] units.

    ``sources`` and ``outputs`` are matching sequences of uint8 RGB frames of one size.
    """
    engine = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    errors: list[float] = []
    previous_source = previous_output = None
    for source, output in zip(sources, outputs):
        if source.shape != output.shape:
            raise ValueError(f"source {source.shape} and output {output.shape} differ in size")
        if min(source.shape[:2]) < MIN_FLOW_SIDE:
            raise InputError(f"frames of {source.shape[1]}x{source.shape[0]} are too small for optical flow "
                             f"(at least {MIN_FLOW_SIDE} px a side)")
        if previous_source is not None:
            forward = _flow(engine, previous_source, source)  # current ← previous
            backward = _flow(engine, source, previous_source)
            mask = consistency_mask(forward, backward)
            warped = warp_image(previous_output, forward).astype(np.float32)
            difference = np.abs(output.astype(np.float32) - warped).mean(-1) / 255.0
            errors.append(float(difference[mask].mean()) if mask.any() else 0.0)
        previous_source, previous_output = source, output
    return errors


def warping_error(sources: Iterable[np.ndarray], outputs: Iterable[np.ndarray]) -> float:
    """Mean warping error of a clip (see :func:`warping_errors`); 0 for fewer than two frames."""
    errors = warping_errors(sources, outputs)
    return float(np.mean(errors)) if errors else 0.0
