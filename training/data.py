"""Training data: content photos and video frames, painting patches; bad files skipped and counted.

Everything is decoded once at start-up and kept in memory (downscaled): style training sets are
hundreds to a few thousand images, decoding each file once is how unreadable files are found and
counted *before* step 0, and per-step sampling is then a crop and a resize (~1 ms) that needs no
loader processes competing with training for a 2-core CPU.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from rtstyle.errors import InputError
from rtstyle.video.images import read_image
from rtstyle.video.reader import VideoReader

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg"})


@dataclass
class DataReport:
    """What was loaded and what was skipped (with why), for the log and the model card."""

    images: int = 0
    video_frames: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def skip(self, path: Path, reason: str) -> None:
        logger.warning("skipping %s: %s", path, reason)
        self.skipped.append((str(path), reason))


def read_video_frames(path: Path, count: int) -> list[np.ndarray]:
    """Up to ``count`` upright RGB frames spread evenly over a video (the runtime's reader)."""
    with VideoReader(path) as reader:
        total = reader.frame_count or 0
        step = max(1, total // count) if total else 1
        frames = [frame.rgb for index, frame in enumerate(reader.frames()) if index % step == 0]
    if len(frames) > count:  # the frame count was an estimate: thin out evenly afterwards
        keep = np.linspace(0, len(frames) - 1, count).round().astype(int)
        frames = [frames[i] for i in keep]
    return frames


def limit_size(image: np.ndarray, max_short_side: int) -> np.ndarray:
    """Downscale (never upscale) so the shorter side is at most ``max_short_side``."""
    height, width = image.shape[:2]
    scale = max_short_side / min(height, width)
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders expanded (recursively, sorted) to their image and video files."""
    result = []
    for entry in map(Path, paths):
        if entry.is_dir():
            found = [
                p
                for p in sorted(entry.rglob("*"))
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
            ]
            if not found:
                raise InputError(f"{entry}: folder has no image or video files")
            result.extend(found)
        elif entry.is_file():
            result.append(entry)
        else:
            raise InputError(f"{entry}: no such file or folder")
    return result


def load_content(
    paths: Sequence[str | Path], *, frames_per_video: int, max_short_side: int, min_side: int
) -> tuple[list[np.ndarray], DataReport]:
    """Decode all content images and sampled video frames; skip and count what cannot be used."""
    report, images = DataReport(), []
    for path in expand_paths(paths):
        try:
            if path.suffix.lower() in VIDEO_SUFFIXES:
                decoded = read_video_frames(path, frames_per_video)
                report.video_frames += len(decoded)
            else:
                decoded = [read_image(path)]
                report.images += 1
        except Exception as exc:  # noqa: BLE001 - any decoder failure means "skip this file"
            report.skip(path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            continue
        for image in decoded:
            if min(image.shape[:2]) < min_side:
                report.skip(path, f"smaller than {min_side} px")
                continue
            images.append(limit_size(image, max_short_side))
    if not images:
        raise InputError("no usable content images or video frames (see the warnings above)")
    logger.info(
        "content: %d images, %d video frames, %d skipped", report.images, report.video_frames, len(report.skipped)
    )
    return images, report


def load_style(path: str | Path, short_side: int) -> np.ndarray:
    """Read a painting at the scale its strokes should have in outputs (shorter side = ``short_side``)."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"style image not found: {file}")
    image = read_image(file)
    height, width = image.shape[:2]
    scale = short_side / min(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def to_tensor(batch: Sequence[np.ndarray]) -> torch.Tensor:
    """uint8 ``[H,W,3]`` crops → float ``[N,3,H,W]`` in [0,1]."""
    stacked = np.stack(batch).astype(np.float32) / 255.0
    return torch.from_numpy(stacked).permute(0, 3, 1, 2).contiguous()


class ContentSampler:
    """Random resized crops (area fraction ``scale``, aspect 3:4–4:3) with horizontal flips."""

    def __init__(self, images: Sequence[np.ndarray], size: int, scale: tuple[float, float], seed: int) -> None:
        self.images, self.size, self.scale = list(images), size, scale
        self.rng = np.random.default_rng(seed)

    def crop(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        area = height * width * self.rng.uniform(*self.scale)
        aspect = np.exp(self.rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        ch = int(min(height, max(8, round(np.sqrt(area / aspect)))))
        cw = int(min(width, max(8, round(np.sqrt(area * aspect)))))
        top = int(self.rng.integers(0, height - ch + 1))
        left = int(self.rng.integers(0, width - cw + 1))
        patch = image[top : top + ch, left : left + cw]
        interpolation = cv2.INTER_AREA if ch > self.size else cv2.INTER_LINEAR
        patch = cv2.resize(patch, (self.size, self.size), interpolation=interpolation)
        return patch[:, ::-1] if self.rng.random() < 0.5 else patch

    def sample(self, count: int) -> torch.Tensor:
        """A batch ``[count,3,size,size]`` in [0,1]."""
        picks = self.rng.integers(0, len(self.images), count)
        return to_tensor([self.crop(self.images[i]) for i in picks])


class StyleSampler:
    """Random patches of the paintings, scale-jittered ±``jitter`` around the painting's set scale."""

    def __init__(self, paintings: Sequence[np.ndarray], size: int, jitter: float, seed: int) -> None:
        too_small = [i for i, p in enumerate(paintings) if min(p.shape[:2]) < size * (1 + jitter)]
        if too_small:
            raise InputError(f"style image(s) {too_small} are smaller than the crop size; raise --style-size")
        self.paintings, self.size, self.jitter = list(paintings), size, jitter
        self.rng = np.random.default_rng(seed)

    def patch(self, style: int) -> np.ndarray:
        painting = self.paintings[style]
        height, width = painting.shape[:2]
        side = int(round(self.size * self.rng.uniform(1 - self.jitter, 1 + self.jitter)))
        top = int(self.rng.integers(0, height - side + 1))
        left = int(self.rng.integers(0, width - side + 1))
        patch = cv2.resize(
            painting[top : top + side, left : left + side], (self.size, self.size), interpolation=cv2.INTER_AREA
        )
        return patch[:, ::-1] if self.rng.random() < 0.5 else patch

    def sample(self, styles: torch.Tensor) -> torch.Tensor:
        """One patch per entry of ``styles`` ``[N]`` (style indices) → ``[N,3,size,size]``."""
        return to_tensor([self.patch(int(s)) for s in styles])
