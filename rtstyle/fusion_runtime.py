"""Running F frame after frame: the previous fused frame, warped along the source's motion.

:func:`fusion_step` is one temporal step of F, the same in the runtime and in training
(``training/fusion_trainer.py`` calls it on its frame pairs): it warps the previous step's
:class:`FusionState` — the fused frame at the output resolution and its source's luminance on
the veto's coarse grid — along the backward flow (``grid_sample``, bilinear, edges clamped),
measures how wrong the warped frame is (:func:`reuse_error`, the input of F's veto), and runs F.
:class:`TemporalFusion` holds that state between frames and takes the flow from
:class:`rtstyle.motion.MotionTracker`.  A frame with no motion (the first, a new size, a scene
cut, after :meth:`TemporalFusion.reset`) runs F without a previous frame.  Frames of a batch are
fused in order, because each uses the one before.  The veto's constants are the bank's
(:class:`rtstyle.models.fusion.FusionConfig`), not this module's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from rtstyle.color import luma
from rtstyle.models.fusion import FusionConfig, FusionNet, FusionOutput
from rtstyle.models.resample import block_mean, resize
from rtstyle.motion import Motion


@dataclass(frozen=True)
class FusionState:
    """What the next step of F reuses: this step's fused frame and its source's coarse luminance."""

    frame: torch.Tensor  # [N,3,H,W] the fused frame
    luma: torch.Tensor  # [N,1,h,w] its source's luma on the veto's coarse grid (coarse_size)


def fusion_step(
    net: FusionNet,
    source: torch.Tensor,
    candidates: torch.Tensor,
    state: FusionState | None = None,
    flow: torch.Tensor | None = None,
    region_logits: torch.Tensor | None = None,
    source_work: torch.Tensor | None = None,
) -> tuple[FusionOutput, FusionState]:
    """One temporal step of F: returns its output and the state the next step reuses.

    source: ``[N,3,H,W]``; candidates: ``[N,K,3,h,w]``; state: the previous step's, or None to
    fuse without a previous frame; flow: with a state, ``[N,2,h',w']`` backward flow from this
    frame to the state's, in pixels of its own grid; region_logits: ``[N,K,H,W]``
    (:func:`rtstyle.regions.region_logits`); source_work: the generator's input ``[N,3,h,w]``,
    whose luma the veto compares (the source at full resolution otherwise).  Differentiable
    through F and the warp; the veto's error is not (:func:`reuse_error`).
    """
    config = net.config
    height, width = source.shape[-2:]
    source_luma = coarse_luma(source if source_work is None else source_work, coarse_size(height, width, config))
    previous = flow_error = None
    if state is not None:
        if flow is None:
            raise ValueError("a previous state needs the flow to warp it")
        previous = warp_with_flow(state.frame, flow)
        previous_luma = warp_with_flow(state.luma, flow)
        flow_error = reuse_error(previous, previous_luma, source_luma, candidates, config)
    result = net(source, candidates, previous, flow_error, region_logits, source_work)
    return result, FusionState(result.frame, source_luma)


class TemporalFusion:
    """F with its state, on one device and dtype."""

    def __init__(self, net: FusionNet, device: torch.device, dtype: torch.dtype) -> None:
        self.net = net.to(device, dtype).eval()
        self.device, self.dtype = device, dtype
        self._state: FusionState | None = None  # the previous frame's

    def reset(self) -> None:
        """Drop the previous frame: the next frame is fused from its own candidates only."""
        self._state = None

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
        state, flow = self._state, None
        if motion is None or state is None or state.frame.shape[-2:] != source.shape[-2:]:
            state = None  # no motion to follow, nothing to follow it from, or a new frame size
        else:
            flow = torch.from_numpy(motion.flow).to(self.device, torch.float32).permute(2, 0, 1)[None]  # [1,2,h,w]
        result, self._state = fusion_step(self.net, source, candidates, state, flow, region_logits, source_work)
        return result


def coarse_size(height: int, width: int, config: FusionConfig) -> tuple[int, int]:
    """The veto's grid for an output of ``height`` × ``width``: ``config.veto_pool`` times coarser, at least 1×1."""
    pool = config.veto_pool
    return max(1, math.ceil(height / pool)), max(1, math.ceil(width / pool))


def coarse_luma(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``[N,3,h,w]`` at any resolution → its luminance ``[N,1,*size]`` on the veto's coarse grid.

    Luma first: both are linear, so this is the luma of the shrunk image (to float rounding) at a
    third of the shrinking."""
    return resize(luma(image), size)


def reuse_error(
    previous: torch.Tensor,
    previous_luma: torch.Tensor,
    source_luma: torch.Tensor,
    candidates: torch.Tensor,
    config: FusionConfig,
) -> torch.Tensor:
    """How wrong the warped previous frame is: F's ``flow_error`` input ``[N,1,h,w]``, on the coarse grid.

    previous: ``[N,3,H,W]`` the previous fused frame warped to this one; previous_luma and
    source_luma: ``[N,1,h,w]`` the two sources' luminance on the coarse grid (the first warped);
    candidates: ``[N,K,3,h',w']`` the generator's outputs for this frame; config: the bank's F,
    whose ``veto_pool`` made the grid.  The larger of two errors on the coarse grid, scaled to
    ``config.flow_error_limit``: the source's luminance change, and the change of the stylized
    frame against the candidate it is closest to (any region's style may hold at a pixel), which
    reaches the limit at ``config.style_change_limit``.  Not differentiated: the veto is fixed,
    not learned.
    """
    with torch.no_grad():
        coarse = tuple(previous_luma.shape[-2:])
        count, num_candidates = candidates.shape[:2]
        new = resize(candidates.flatten(0, 1), coarse).unflatten(0, (count, num_candidates))
        previous_coarse = block_mean(previous, config.veto_pool)  # the grid coarse_size() gives
        style_change = (new - previous_coarse[:, None]).abs().mean(2).amin(1, keepdim=True)
        scale = config.flow_error_limit / config.style_change_limit
        return torch.maximum((previous_luma - source_luma).abs(), style_change * scale)


def pixel_centres(size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """``[size]`` centres of the pixels of one axis in grid_sample's [-1, 1] units: -1 is the edge of pixel 0."""
    return (torch.arange(size, device=device, dtype=torch.float32) + 0.5) * (2.0 / size) - 1.0


def identity_grid(height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """``[1,2,H,W]`` pixel centres in grid_sample's [-1, 1] units (x, y)."""
    xs, ys = pixel_centres(width, device), pixel_centres(height, device)
    return torch.stack([xs.view(1, width).expand(height, width), ys.view(height, 1).expand(height, width)])[None]


def warp_with_flow(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``image`` ``[N,C,H,W]`` at ``p + flow(p)``; ``flow`` ``[N,2,h,w]`` is in pixels of its own grid.

    The flow may be smaller than the image (it is enlarged) or larger (the veto's coarse grid: it
    is sampled at the cells' centres, not averaged).  Bilinear, edges clamped.  On the CPU without
    autograd this is OpenCV's ``remap`` plane by plane (1.4× faster than ``grid_sample`` at 720p;
    positions to 1/32 pixel, values within 2e-4 of it); otherwise ``grid_sample``, differentiable.
    """
    if image.device.type == "cpu" and image.dtype == torch.float32 and not torch.is_grad_enabled():
        return _remap(image, flow)
    height, width = image.shape[-2:]
    small_h, small_w = flow.shape[-2:]
    # A displacement of d pixels of an h×w flow is 2·d/w in grid_sample's [-1, 1] units, whatever
    # the image size, so the flow is scaled on its own (cheap) grid before it is resized; the pixel
    # centres are then added in place, one row and one column of them, so warping needs a single
    # full-resolution [N,2,H,W] buffer.
    scale = torch.tensor([2.0 / small_w, 2.0 / small_h], device=flow.device, dtype=torch.float32).view(1, 2, 1, 1)
    offsets = _resize_flow(flow.float() * scale, height, width)
    offsets[:, 0] += pixel_centres(width, offsets.device)  # x: the same for every row
    offsets[:, 1] += pixel_centres(height, offsets.device).view(height, 1)  # y: the same for every column
    sampling = offsets.permute(0, 2, 3, 1)  # [N,H,W,2]
    return F.grid_sample(image, sampling.to(image.dtype), mode="bilinear", padding_mode="border", align_corners=False)


def _resize_flow(flow: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The flow on the image's grid: enlarged bilinearly, or sampled bilinearly at a coarser grid's cells."""
    if flow.shape[-2] <= height and flow.shape[-1] <= width:
        return resize(flow, (height, width))
    return F.interpolate(flow, size=(height, width), mode="bilinear", align_corners=False)


def _remap(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """:func:`warp_with_flow` with OpenCV: absolute sampling positions per pixel, then ``remap``."""
    height, width = image.shape[-2:]
    small_h, small_w = flow.shape[-2:]
    # Flow pixels → image pixels on the flow's own (small) grid, a new tensor the positions are built in.
    to_image = torch.tensor([width / small_w, height / small_h], dtype=torch.float32).view(1, 2, 1, 1)
    positions = _resize_flow(flow.float() * to_image, height, width).contiguous().numpy()  # [N,2,H,W]
    columns = np.arange(width, dtype=np.float32)
    rows = np.arange(height, dtype=np.float32)[:, None]
    out = torch.empty_like(image, memory_format=torch.contiguous_format)
    planes = image.contiguous().numpy()
    for n in range(image.shape[0]):
        map_x, map_y = positions[n]
        map_x += columns  # + the pixel's own position
        map_y += rows
        for plane, target in zip(planes[n], out[n].numpy(), strict=True):
            cv2.remap(plane, map_x, map_y, cv2.INTER_LINEAR, dst=target, borderMode=cv2.BORDER_REPLICATE)
    return out
