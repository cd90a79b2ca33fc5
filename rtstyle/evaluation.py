"""Evaluate a style bank: per style, how well content survives, how close the texture is to the
painting, how much video flickers, and (with Inception weights) FID/KID/IS.

The report (markdown + PNG contact sheet) is what the model card quotes and what a reviewer looks
at before a bank ships.  Metric definitions live in :mod:`rtstyle.metrics`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from rtstyle.contact_sheet import center_square, grid, labelled
from rtstyle.errors import BackendUnavailableError, InputError
from rtstyle.metrics.distribution import frechet_distance, inception_score, kernel_inception_distance
from rtstyle.metrics.inception import load_inception
from rtstyle.metrics.ssim import ssim_luminance
from rtstyle.metrics.swd import sliced_wasserstein
from rtstyle.metrics.temporal import warping_error
from rtstyle.stylizer import Stylizer
from rtstyle.video.images import is_image_path, read_image
from rtstyle.video.reader import VideoReader

log = logging.getLogger(__name__)
SHEET_TILE = 192


@dataclass
class StyleScores:
    name: str
    ssim: float  # mean luminance SSIM, stylized vs content (higher = content more readable)
    swd: float | None  # sliced Wasserstein distance to the painting (lower = closer texture)
    warping_error: float | None  # flicker on the clip (lower = steadier)
    fid: float | None = None
    kid: float | None = None
    inception_score: float | None = None


@dataclass
class EvalReport:
    bank: str
    content: list[str]
    video: str | None
    source_warping_error: float | None  # the clip's own warping error: the floor for a stylization
    scores: list[StyleScores] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # metrics not computed, with the reason

    def markdown(self) -> str:
        lines = [f"# Evaluation of `{self.bank}`", "",
                 f"Content: {len(self.content)} image(s); video: {self.video or 'none'}", ""]
        if self.source_warping_error is not None:
            lines += [f"Warping error of the source clip itself (floor): {self.source_warping_error:.4f}", ""]
        lines += ["| style | SSIM (luma) ↑ | SWD to painting ↓ | warping error ↓ | FID ↓ | KID ×1e3 ↓ | IS |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for s in self.scores:
            lines.append(f"| {s.name} | {s.ssim:.3f} | {_fmt(s.swd, '.3f')} | {_fmt(s.warping_error, '.4f')} | "
                         f"{_fmt(s.fid, '.1f')} | {_fmt(None if s.kid is None else s.kid * 1e3, '.2f')} | "
                         f"{_fmt(s.inception_score, '.2f')} |")
        lines += [""] + [f"- skipped: {reason}" for reason in self.skipped]
        return "\n".join(lines) + "\n"


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def collect_images(paths: Sequence[str | Path]) -> list[Path]:
    """Image files named directly or found (non-recursively) in the given folders, sorted."""
    found: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir():
            found += sorted(p for p in entry.iterdir() if is_image_path(p))
        elif entry.is_file():
            found.append(entry)
        else:
            raise InputError(f"{entry}: no such file or folder")
    if not found:
        raise InputError("no content images found")
    return found


def shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    """Evaluation runs at screen sizes; a 1721-pixel photo would only cost time."""
    scale = max_side / max(image.shape[:2])
    if scale >= 1:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def select_style(stylizer: Stylizer, index: int, **changes: object) -> None:
    """Style ``index`` alone (plus any other setting ``changes``), with F's state dropped."""
    weights = np.zeros(len(stylizer.style_names), np.float32)
    weights[index] = 1.0
    stylizer.update(style_weights=weights, **changes)
    stylizer.reset()


def stylize_each_alone(stylizer: Stylizer, images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Stylize unrelated images: no image may reuse the previous one through F's state."""
    outputs = []
    for image in images:
        stylizer.reset()
        outputs.append(stylizer(image))
    return outputs


def evaluate(
    stylizer: Stylizer,
    content: Sequence[Path],
    *,
    paintings: dict[str, np.ndarray] | None = None,
    video: Path | None = None,
    max_frames: int = 48,
    max_side: int = 512,
    inception_weights: str | None = None,
) -> tuple[EvalReport, np.ndarray]:
    """Score every style of ``stylizer``'s bank; returns the report and the contact sheet."""
    paintings = paintings or {}
    images = [shrink(read_image(p), max_side) for p in content]
    frames = [f.rgb for f in islice(VideoReader(video).frames(), max_frames)] if video else []
    report = EvalReport(stylizer.bank.name, [p.name for p in content], video.name if video else None,
                        warping_error(frames, frames) if frames else None)
    inception = _try_inception(inception_weights, stylizer, report)
    sheet_rows = [[labelled(np.full((SHEET_TILE, SHEET_TILE, 3), 255, np.uint8), "content")]]
    stylized_per_style: list[list[np.ndarray]] = []
    for index, name in enumerate(stylizer.style_names):
        select_style(stylizer, index)
        outputs = stylize_each_alone(stylizer, images)
        stylized_per_style.append(outputs)
        painting = paintings.get(name)
        reference = painting if painting is not None else stylizer.bank.thumbnails.get(name)
        header = center_square(reference, SHEET_TILE) if reference is not None else np.zeros((SHEET_TILE, SHEET_TILE, 3), np.uint8)
        sheet_rows[0].append(labelled(header, name))
        scores = StyleScores(
            name,
            ssim=float(np.mean([ssim_luminance(o, i) for o, i in zip(outputs, images)])),
            swd=float(np.mean([sliced_wasserstein(o, painting) for o in outputs])) if painting is not None else None,
            warping_error=warping_error(frames, [stylizer(f) for f in frames]) if frames else None,
        )
        if inception is not None and painting is not None:
            _inception_scores(inception, outputs, painting, scores)
        report.scores.append(scores)
    if not paintings:
        report.skipped.append("SWD and FID/KID: no paintings given (--style-dir)")
    for row, image in enumerate(images):
        # Empty captions keep every cell as tall as the labelled header cells.
        cells = [image] + [outputs[row] for outputs in stylized_per_style]
        sheet_rows.append([labelled(center_square(cell, SHEET_TILE), "") for cell in cells])
    return report, grid(sheet_rows)


def _try_inception(weights: str | None, stylizer: Stylizer, report: EvalReport):
    try:
        return load_inception(weights, stylizer.device)
    except BackendUnavailableError as exc:
        report.skipped.append(f"FID/KID/IS: {exc}")
        return None


def _inception_scores(inception, outputs: list[np.ndarray], painting: np.ndarray, scores: StyleScores) -> None:
    rng = np.random.default_rng(0)
    crop = min(painting.shape[:2]) // 2
    crops = []
    for _ in range(max(len(outputs), 32)):
        y = rng.integers(0, painting.shape[0] - crop + 1)
        x = rng.integers(0, painting.shape[1] - crop + 1)
        crops.append(np.ascontiguousarray(painting[y : y + crop, x : x + crop]))
    fake, probabilities = inception(outputs)
    real, _ = inception(crops)
    scores.fid = frechet_distance(fake, real)
    scores.kid = kernel_inception_distance(fake, real, subset_size=min(len(fake), len(real), 100))[0]
    scores.inception_score = inception_score(probabilities)
