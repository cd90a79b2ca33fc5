"""Running F frame after frame: the previous fused frame, warped along the source's motion.

:class:`TemporalFusion` owns F's state — the previous fused frame at the output resolution and
the previous source's luminance on a coarse grid — and, per frame, warps them along the backward
flow from :class:`rtstyle.motion.MotionTracker` (``grid_sample``, bilinear, edges clamped),
measures how wrong the warped frame is (:func:`reuse_error`, the input of F's veto), and runs F.
A frame with no motion (the first, a new size, a scene cut, after :meth:`reset`) runs F without a
previous frame.  Frames of a batch are fused in order, because each uses the one before.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from rtstyle.models.fusion import FLOW_ERROR_LIMIT, FusionNet, FusionOutput, luma
from rtstyle.models.resample import block_mean, resize
from rtstyle.motion import Motion

#: The veto compares the warped previous frame with the new one on a grid this many times coarser
#: than the output.  Texture that changes in place — rippling water, leaves, grain — averages out
#: there, so F keeps steadying it; something that moved or appeared does not average out.
VETO_POOL = 8
#: Mean RGB difference (0-1), on that grid, between the warped previous frame and the generator's
#: new output at which the previous frame is dropped.  The source alone misses this case: the
#: generator paints a halo of strokes around an object, and when the object moves on, the halo's
#: pixels show the same background in both source frames — so the halo would linger as a trail.
STYLE_CHANGE_LIMIT = 0.3


class TemporalFusion:
    """F with its state, on one device and dtype."""

    def __init__(self, net: FusionNet, device: torch.device, dtype: torch.dtype) -> None:
        self.net = net.to(device, dtype).eval()
        self.device, self.dtype = device, dtype
        self._previous: torch.Tensor | None = None  # [1,3,H,W] the previous fused frame
        self._previous_luma: torch.Tensor | None = None  # [1,1,h,w] its source's luma on the coarse grid

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
        height, width = source.shape[-2:]
        source_luma = coarse_luma(source if source_work is None else source_work, coarse_size(height, width))
        previous = flow_error = None
        if motion is not None and self._previous is not None and self._previous.shape[-2:] == source.shape[-2:]:
            flow = torch.from_numpy(motion.flow).to(self.device, torch.float32).permute(2, 0, 1)[None]  # [1,2,h,w]
            previous = warp_with_flow(self._previous, flow)
            assert self._previous_luma is not None
            previous_luma = warp_with_flow(self._previous_luma, flow)
            flow_error = reuse_error(previous, previous_luma, source_luma, candidates)
        result = self.net(source, candidates, previous, flow_error, region_logits, source_work)
        self._previous, self._previous_luma = result.frame, source_luma
        return result


def coarse_size(height: int, width: int) -> tuple[int, int]:
    """The veto's grid for an output of ``height`` × ``width``: ``VETO_POOL`` times coarser, at least 1×1."""
    return max(1, math.ceil(height / VETO_POOL)), max(1, math.ceil(width / VETO_POOL))


def coarse_luma(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``[N,3,h,w]`` at any resolution → its luminance ``[N,1,*size]`` on the veto's coarse grid."""
    return luma(resize(image, size))


def reuse_error(
    previous: torch.Tensor, previous_luma: torch.Tensor, source_luma: torch.Tensor, candidates: torch.Tensor
) -> torch.Tensor:
    """How wrong the warped previous frame is: F's ``flow_error`` input ``[N,1,h,w]``, on the coarse grid.

    previous: ``[N,3,H,W]`` the previous fused frame warped to this one; previous_luma and
    source_luma: ``[N,1,h,w]`` the two sources' luminance on the coarse grid (the first warped);
    candidates: ``[N,K,3,h',w']`` the generator's outputs for this frame.  The larger of two
    errors on the coarse grid, scaled to F's ``FLOW_ERROR_LIMIT``: the source's luminance change,
    and the change of the stylized frame against the candidate it is closest to (any region's
    style may hold at a pixel).  Not differentiated: the veto is fixed, not learned.
    """
    with torch.no_grad():
        coarse = tuple(previous_luma.shape[-2:])
        count, num_candidates = candidates.shape[:2]
        new = resize(candidates.flatten(0, 1), coarse).unflatten(0, (count, num_candidates))
        previous_coarse = block_mean(previous, VETO_POOL)  # the grid coarse_size() gives
        style_change = (new - previous_coarse[:, None]).abs().mean(2).amin(1, keepdim=True)
        return torch.maximum((previous_luma - source_luma).abs(), style_change * (FLOW_ERROR_LIMIT / STYLE_CHANGE_LIMIT))


def pixel_centres(size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """``[size]`` centres of the pixels of one axis in grid_sample's [-1, 1] units: -1 is the edge of pixel 0."""
    return (torch.arange(size, device=device, dtype=torch.float32) + 0.5) * (2.0 / size) - 1.0


def identity_grid(height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """``[1,2,H,W]`` pixel centres in grid_sample's [-1, 1] units (x, y)."""
    xs, ys = pixel_centres(width, device), pixel_centres(height, device)
    return torch.stack([xs.view(1, width).expand(height, width), ys.view(height, 1).expand(height, width)])[None]


def warp_with_flow(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``image`` ``[N,C,H,W]`` at ``p + flow(p)``; ``flow`` ``[N,2,h,w]`` is in pixels of its own grid.

    The flow may be smaller than the image (it is upsampled): a displacement of d pixels of an
    h×w flow is 2·d/w in grid_sample's [-1, 1] units, whatever the image size, so the flow is
    scaled on its own (cheap) grid before upsampling.  The pixel centres are added to the offsets
    in place, one row and one column of them, so warping a frame needs a single full-resolution
    ``[N,2,H,W]`` buffer (no identity grid kept, none added out of place: 33 MB less at 1080p).
    Bilinear, edges clamped; differentiable.
    """
    height, width = image.shape[-2:]
    small_h, small_w = flow.shape[-2:]
    scale = torch.tensor([2.0 / small_w, 2.0 / small_h], device=flow.device, dtype=torch.float32).view(1, 2, 1, 1)
    offsets = flow.float() * scale
    if small_h <= height and small_w <= width:
        offsets = resize(offsets, (height, width))
    else:  # the veto's coarse grid: the flow sampled at its cells' centres, not averaged
        offsets = F.interpolate(offsets, size=(height, width), mode="bilinear", align_corners=False)
    offsets[:, 0] += pixel_centres(width, offsets.device)  # x: the same for every row
    offsets[:, 1] += pixel_centres(height, offsets.device).view(height, 1)  # y: the same for every column
    sampling = offsets.permute(0, 2, 3, 1)  # [N,H,W,2]
    return F.grid_sample(image, sampling.to(image.dtype), mode="bilinear", padding_mode="border", align_corners=False)
