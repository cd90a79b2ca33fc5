"""Running F frame after frame: the previous fused frame, warped along the source's motion.

:class:`TemporalFusion` owns F's state — the previous frame's ``base`` and the previous source's
luminance, both at the output resolution — and, per frame, warps them along the backward flow
from :class:`rtstyle.motion.MotionTracker` (``grid_sample``, bilinear, edges clamped), measures
the flow's own error on the source, and runs F.  A frame with no motion (the first, a new size,
a scene cut, after :meth:`reset`) runs F without a previous frame.  Frames of a batch are fused
in order, because each uses the one before.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from rtstyle.models.fusion import FusionNet, FusionOutput, luma
from rtstyle.motion import Motion


class TemporalFusion:
    """F with its state, on one device and dtype."""

    def __init__(self, net: FusionNet, device: torch.device, dtype: torch.dtype) -> None:
        self.net = net.to(device, dtype).eval()
        self.device, self.dtype = device, dtype
        self._previous: torch.Tensor | None = None  # [1,4,H,W]: base (3) and source luma (1)
        self._identity_grid: torch.Tensor | None = None  # [1,2,H,W] pixel centres in [-1,1], per size

    def reset(self) -> None:
        """Drop the previous frame: the next frame is fused from its own candidates only."""
        self._previous = None

    @torch.inference_mode()
    def __call__(
        self,
        source: torch.Tensor,
        candidates: torch.Tensor,
        motion: Motion | None,
        region_logits: torch.Tensor | None = None,
        source_work: torch.Tensor | None = None,
    ) -> FusionOutput:
        """Fuse one frame: source ``[1,3,H,W]``, candidates ``[1,K,3,h,w]``, region logits ``[1,K,H,W]``,
        and optionally the generator's input ``[1,3,h,w]``."""
        source_luma = luma(source)
        previous = flow_error = None
        if motion is not None and self._previous is not None and self._previous.shape[-2:] == source.shape[-2:]:
            warped = self._warp(self._previous, motion.flow)
            previous = warped[:, :3]
            flow_error = (warped[:, 3:] - source_luma).abs()
        result = self.net(source, candidates, previous, flow_error, region_logits, source_work)
        self._previous = torch.cat([result.base, source_luma], 1)
        return result

    def _warp(self, image: torch.Tensor, flow: np.ndarray) -> torch.Tensor:
        small = torch.from_numpy(flow).to(self.device, torch.float32).permute(2, 0, 1)[None]  # [1,2,h,w]
        return warp_with_flow(image, small, self._grid(*image.shape[-2:]))

    def _grid(self, height: int, width: int) -> torch.Tensor:
        if self._identity_grid is None or self._identity_grid.shape[-2:] != (height, width):
            self._identity_grid = identity_grid(height, width, self.device)
        return self._identity_grid


def identity_grid(height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """``[1,2,H,W]`` pixel centres in grid_sample's [-1, 1] units (x, y): -1 is the left edge of pixel 0."""
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) * (2.0 / width) - 1.0
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) * (2.0 / height) - 1.0
    return torch.stack([xs.view(1, width).expand(height, width), ys.view(height, 1).expand(height, width)])[None]


def warp_with_flow(image: torch.Tensor, flow: torch.Tensor, grid: torch.Tensor | None = None) -> torch.Tensor:
    """Sample ``image`` ``[N,C,H,W]`` at ``p + flow(p)``; ``flow`` ``[N,2,h,w]`` is in pixels of its own grid.

    The flow may be smaller than the image (it is upsampled): a displacement of d pixels of an
    h×w flow is 2·d/w in grid_sample's [-1, 1] units, whatever the image size, so the flow is
    scaled on its own (cheap) grid before upsampling.  Bilinear, edges clamped; differentiable.
    """
    height, width = image.shape[-2:]
    small_h, small_w = flow.shape[-2:]
    scale = torch.tensor([2.0 / small_w, 2.0 / small_h], device=flow.device, dtype=torch.float32).view(1, 2, 1, 1)
    offsets = flow.float() * scale
    if (small_h, small_w) != (height, width):
        offsets = F.interpolate(offsets, size=(height, width), mode="bilinear", align_corners=False)
    base = grid if grid is not None else identity_grid(height, width, image.device)
    sampling = (base + offsets).permute(0, 2, 3, 1)  # [N,H,W,2]
    return F.grid_sample(image, sampling.to(image.dtype), mode="bilinear", padding_mode="border", align_corners=False)
