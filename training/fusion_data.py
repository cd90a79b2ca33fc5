"""Frame pairs for training the fusion network F: synthetic motion and real consecutive frames.

Each pair is (first, second, flow, valid): ``second(p) ≈ first(p + flow(p))`` where ``valid``.

- Synthetic pairs warp a content crop by a random small affine motion (shift, roll, zoom), so
  the flow is exact and ``valid`` is the part of the frame the motion keeps in view.
- Real pairs are consecutive frames of the content videos; their flow is OpenCV DIS on the source
  frames and ``valid`` is the forward–backward consistency mask (occlusions left out), the same
  measurement ``rtstyle eval`` uses for the warping error.  They bring what synthetic motion
  lacks: independently moving objects, occlusions, motion blur and compression noise.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from rtstyle.fusion_runtime import identity_grid
from rtstyle.metrics.temporal import consistency_mask
from rtstyle.motion import MIN_FLOW_SIDE
from training.data import VIDEO_SUFFIXES, ContentSampler, expand_paths, limit_size
from training.losses import random_affine, warp

logger = logging.getLogger(__name__)


@dataclass
class FramePair:
    """A real pair of consecutive video frames with its backward flow and validity mask."""

    first: np.ndarray  # uint8 [H,W,3]
    second: np.ndarray  # uint8 [H,W,3]
    flow: np.ndarray  # float32 [H,W,2], pixels: second(p) ≈ first(p + flow(p))
    valid: np.ndarray  # bool [H,W]


@dataclass
class PairBatch:
    """A batch of pairs as tensors on the training device."""

    first: torch.Tensor  # [N,3,H,W] in [0,1]
    second: torch.Tensor  # [N,3,H,W]
    flow: torch.Tensor  # [N,2,H,W] pixels
    valid: torch.Tensor  # [N,1,H,W] 0/1


def read_video_pairs(path: Path, count: int, max_short_side: int) -> list[FramePair]:
    """Up to ``count`` consecutive-frame pairs spread evenly over a video, with DIS flow."""
    import av  # local: image-only training does not need it

    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        frames = [limit_size(f.to_ndarray(format="rgb24"), max_short_side) for f in container.decode(video=0)]
    if len(frames) < 2:
        raise ValueError("fewer than two frames")
    if min(frames[0].shape[:2]) < MIN_FLOW_SIDE:
        raise ValueError(f"frames smaller than {MIN_FLOW_SIDE} px: too small for optical flow")
    starts = np.unique(np.linspace(0, len(frames) - 2, min(count, len(frames) - 1)).round().astype(int))
    engine = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    pairs = []
    for start in starts:
        first, second = frames[start], frames[start + 1]
        grey_first, grey_second = (cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (first, second))
        backward = engine.calc(grey_second, grey_first, None)  # second(p) ≈ first(p + backward(p))
        forward = engine.calc(grey_first, grey_second, None)
        pairs.append(FramePair(first, second, backward, consistency_mask(backward, forward)))
    return pairs


def load_video_pairs(paths: Sequence[str | Path], pairs_per_video: int, max_short_side: int) -> list[FramePair]:
    """Pairs from every video among ``paths`` (folders expanded); unreadable videos are skipped."""
    pairs: list[FramePair] = []
    for path in expand_paths(paths):
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            continue
        try:
            pairs.extend(read_video_pairs(path, pairs_per_video, max_short_side))
        except Exception as exc:  # noqa: BLE001 - any decoder failure means "skip this file"
            logger.warning("skipping %s for fusion pairs: %s", path, str(exc).splitlines()[0] if str(exc) else exc)
    logger.info("fusion: %d real frame pairs", len(pairs))
    return pairs


class PairSampler:
    """Random crops of real pairs and synthetic-motion pairs, half and half when both exist."""

    def __init__(
        self,
        content: ContentSampler,
        pairs: Sequence[FramePair],
        size: int,
        motion: tuple[float, float, float],
        seed: int,
    ) -> None:
        self.content, self.pairs, self.size = content, list(pairs), size
        self.max_translate, self.max_rotate, self.max_scale = motion
        self.rng = np.random.default_rng(seed)
        self.pairs = [p for p in self.pairs if min(p.first.shape[:2]) >= size]

    def sample(self, count: int, device: torch.device) -> PairBatch:
        real = count // 2 if self.pairs else 0
        parts = [self._synthetic(count - real, device)]
        if real:
            parts.append(self._real(real, device))
        return PairBatch(*(torch.cat(tensors) for tensors in zip(*(vars(p).values() for p in parts), strict=True)))

    def _synthetic(self, count: int, device: torch.device) -> PairBatch:
        """A crop and the same crop moved by a random affine transform (exact flow)."""
        first = self.content.sample(count).to(device)  # the sampler crops at self.size
        theta = random_affine(
            count, max_translate=self.max_translate, max_rotate_deg=self.max_rotate, max_scale=self.max_scale,
            generator=torch.Generator().manual_seed(int(self.rng.integers(2**31))), device=device,
        )
        second, valid = warp(first, theta)
        grid = F.affine_grid(theta, list(first.shape), align_corners=False).permute(0, 3, 1, 2)  # [N,2,H,W]
        scale = torch.tensor([self.size / 2.0, self.size / 2.0], device=device).view(1, 2, 1, 1)
        flow = (grid - identity_grid(self.size, self.size, device)) * scale  # normalised → pixels
        return PairBatch(first, second, flow, valid)

    def _real(self, count: int, device: torch.device) -> PairBatch:
        crops = []
        for index in self.rng.integers(0, len(self.pairs), count):
            pair = self.pairs[int(index)]
            height, width = pair.first.shape[:2]
            top = int(self.rng.integers(0, height - self.size + 1))
            left = int(self.rng.integers(0, width - self.size + 1))
            window = (slice(top, top + self.size), slice(left, left + self.size))
            crops.append((pair.first[window], pair.second[window], pair.flow[window], pair.valid[window]))
        first, second, flow, valid = (np.stack(items) for items in zip(*crops, strict=True))
        # Pixels whose flow leads out of the crop have no counterpart in it.
        ys, xs = np.mgrid[0 : self.size, 0 : self.size].astype(np.float32)
        target_x, target_y = xs + flow[..., 0], ys + flow[..., 1]
        valid = valid & (target_x >= 0) & (target_x <= self.size - 1) & (target_y >= 0) & (target_y <= self.size - 1)
        to_image = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float().div(255.0).to(device)  # noqa: E731
        return PairBatch(
            to_image(first),
            to_image(second),
            torch.from_numpy(flow).permute(0, 3, 1, 2).to(device),
            torch.from_numpy(valid.astype(np.float32))[:, None].to(device),
        )
