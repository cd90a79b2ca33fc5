"""What the fusion network F buys, measured: detail at a lower working resolution, and flicker.

- **Detail**: per style, luma SSIM between the generator at full resolution and (a) the generator
  at ``scale`` simply upsampled, (b) the generator at ``scale`` + F; with the time per frame of
  each way.  F should bring (b) close to the full-resolution output at a fraction of its time.
  Measured on the photos (each alone) and on every clip (played in order, F's state carried from
  frame to frame as in ``convert``, so what F keeps from earlier frames counts too).
- **Flicker**: per clip and style, the temporal warping error (:mod:`rtstyle.metrics.temporal`)
  of per-frame generator output and of generator + F, and their ratio.
- **Sheet**: consecutive frames of a clip — source, per-frame generator, generator + F, and F's
  fusion weights (which input each pixel came from: the style's output, or the previous frame).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from rtstyle.contact_sheet import grid, labelled
from rtstyle.evaluation import select_style, stylize_each_alone
from rtstyle.metrics.ssim import ssim_luminance
from rtstyle.metrics.temporal import warping_error
from rtstyle.stylizer import Stylizer

#: Weight-map colours of the candidates (styles or regions), in order; the previous frame is white.
PALETTE = np.array([[230, 60, 40], [40, 110, 230], [40, 170, 70], [240, 190, 30]], np.float32)


@dataclass
class DetailScores:
    source: str  # "photos", or the clip's file name
    style: str
    scale: float
    ssim_upsampled: float  # G at scale, upsampled, vs G at full resolution
    ssim_fused: float  # G at scale + F vs G at full resolution
    ms_full: float  # per frame: G at full resolution
    ms_fused: float  # per frame: G at scale + F


@dataclass
class FlickerScores:
    clip: str
    style: str
    source: float  # the clip's own warping error (the floor)
    generator: float  # per-frame generator output
    fused: float  # generator + F

    @property
    def ratio(self) -> float:
        return self.fused / self.generator if self.generator > 0 else float("nan")


@dataclass
class FusionReport:
    bank: str
    scale: float
    detail: list[DetailScores] = field(default_factory=list)
    flicker: list[FlickerScores] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"## Fusion network F of `{self.bank}`", "",
                 f"Detail: the generator at {self.scale:g}× resolution, luma SSIM against the generator at full "
                 "resolution, and time per frame on this machine.", "",
                 "| on | style | SSIM upsampled | SSIM with F ↑ | ms full res | ms at scale + F |",
                 "|---|---|---:|---:|---:|---:|"]
        lines += [f"| {d.source} | {d.style} | {d.ssim_upsampled:.3f} | {d.ssim_fused:.3f} | {d.ms_full:.1f} "
                  f"| {d.ms_fused:.1f} |" for d in self.detail]
        lines += ["", "Flicker: temporal warping error (lower is steadier) of per-frame generator output and of "
                  "generator + F; F's target is a ratio ≤ 0.5.", "",
                  "| clip | style | source (floor) | generator | with F | ratio |", "|---|---|---:|---:|---:|---:|"]
        lines += [f"| {f.clip} | {f.style} | {f.source:.4f} | {f.generator:.4f} | {f.fused:.4f} | {f.ratio:.2f} |"
                  for f in self.flicker]
        return "\n".join(lines) + "\n"


def _timed(stylizer: Stylizer, images: Sequence[np.ndarray], independent: bool) -> tuple[list[np.ndarray], float]:
    """Stylize the images (``independent``: unrelated images, F's state dropped between them), with
    the mean ms per image."""
    started = time.perf_counter()
    outputs = stylize_each_alone(stylizer, images) if independent else [stylizer(image) for image in images]
    return outputs, (time.perf_counter() - started) * 1000.0 / max(1, len(images))


def detail_scores(stylizer: Stylizer, images: Sequence[np.ndarray], scale: float,
                  source: str = "photos", sequence: bool = False) -> list[DetailScores]:
    """Per style: how close the generator at ``scale`` (+ F) comes to the generator at full resolution
    on ``images`` — unrelated photos, or (``sequence``) a clip's frames in order with F's state kept."""
    independent = not sequence
    scores = []
    for index, name in enumerate(stylizer.style_names):
        select_style(stylizer, index, scale=1.0, fusion=False)
        stylizer(images[0])  # warm-up: first-call allocations are not the model's cost
        full, ms_full = _timed(stylizer, images, independent)
        select_style(stylizer, index, scale=scale, fusion=False)
        upsampled, _ = _timed(stylizer, images, independent)
        select_style(stylizer, index, scale=scale, fusion=True)
        stylizer(images[0])
        stylizer.reset()  # the warm-up frame must not become a clip's previous frame
        fused, ms_fused = _timed(stylizer, images, independent)
        scores.append(DetailScores(
            source, name, scale,
            float(np.mean([ssim_luminance(u, f) for u, f in zip(upsampled, full, strict=True)])),
            float(np.mean([ssim_luminance(g, f) for g, f in zip(fused, full, strict=True)])),
            ms_full, ms_fused,
        ))
    return scores


def flicker_scores(stylizer: Stylizer, clip: str, frames: Sequence[np.ndarray], scale: float) -> list[FlickerScores]:
    """Per style: warping error of per-frame G (full resolution) and of G at ``scale`` + F on ``frames``."""
    source = warping_error(frames, frames)
    scores = []
    for index, name in enumerate(stylizer.style_names):
        select_style(stylizer, index, scale=1.0, fusion=False)
        generator, _ = _timed(stylizer, frames, independent=False)
        select_style(stylizer, index, scale=scale, fusion=True)
        fused, _ = _timed(stylizer, frames, independent=False)
        scores.append(FlickerScores(clip, name, source, warping_error(frames, generator), warping_error(frames, fused)))
    return scores


def weight_map(weights: np.ndarray) -> np.ndarray:
    """F's weights ``[K+1,H,W]`` as colours: candidate k in ``PALETTE[k]``, the previous frame white."""
    count = weights.shape[0] - 1
    colours = np.concatenate([PALETTE[np.arange(count) % len(PALETTE)], np.full((1, 3), 255, np.float32)])
    return np.einsum("khw,kc->hwc", weights, colours).clip(0, 255).astype(np.uint8)


def fusion_sheet(stylizer: Stylizer, frames: Sequence[np.ndarray], style: int, scale: float, width: int = 320) -> np.ndarray:
    """Rows of consecutive frames: source | per-frame G | G at ``scale`` + F | F's weights."""
    select_style(stylizer, style, scale=1.0, fusion=False)
    generator = [stylizer(f) for f in frames]
    select_style(stylizer, style, scale=scale, fusion=True)
    rows = []
    for index, (frame, plain) in enumerate(zip(frames, generator, strict=True)):
        fused = stylizer(frame)
        assert stylizer.last_fusion is not None
        weights = weight_map(stylizer.last_fusion.weights[0].float().cpu().numpy())
        captions = [f"frame {index}", "generator per frame", f"G at {scale:g}x + F", "F weights (white: previous)"]
        rows.append([labelled(_fit(image, width), text) for image, text in zip((frame, plain, fused, weights), captions, strict=True)])
    return grid(rows)


def _fit(image: np.ndarray, width: int) -> np.ndarray:
    height = max(1, round(image.shape[0] * width / image.shape[1]))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
