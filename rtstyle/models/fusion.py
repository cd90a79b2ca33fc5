"""Fusion network F: per-pixel fusion weights over the inputs plus a residual detail term.

F takes the full-resolution source frame, K generator outputs at the working resolution (one per
region style, or one for a mix) and the previous fused frame warped along the optical flow, and
returns

    base  = (1 − κ)·Σ_k a_k · up(C_k) + κ · P̃         a = softmax over the K candidates' logits,
                                                      κ = 0.9·σ(ℓ_prev − logsumexp(ℓ)) per pixel
    B     = S − up(down(S))                           the source band the working resolution lost
    frame = base + g(x) ⊙ luma(B) + h(x) · B          g: 3 gains per pixel, h: 1 gain per pixel

The weights ``a`` say which input each pixel came from (shown by ``rtstyle eval``'s fusion
sheet); user-given region masks add ``log(mask)`` to the candidates' logits so each region keeps
its style while F decides the seams.  The detail term puts back exactly the band of source
frequencies that the working resolution removed — it is zero when the generator ran at full
resolution — its luminance recoloured by ``g`` and its colour kept by ``h``, in the spirit of deep guided filtering
(Wu et al. 2018, "Fast End-to-End Trainable Guided Filter").  The previous frame's weight is
damped by the flow's own error on the source (``|warp(S_{t−1}) − S_t|`` at full resolution) and
cut off where it exceeds ``FLOW_ERROR_LIMIT``, so pixels the flow cannot explain (occlusions, fast
motion, disocclusions behind a moving object) take the new frame and leave no trails,
as in Lai et al. 2018 ("Learning Blind Video Temporal Consistency").

All convolutions run at 1/``gate_stride`` of the output size; only resampling and per-pixel
arithmetic run at full resolution, which keeps F under 15 % of its generator's cost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

#: Largest share of a pixel F may take from the previous frame (see FusionNet.forward).
MAX_KEEP = 0.9
#: Flow error (``|warp(S_{t−1}) − S_t|`` in luma, 0-1) at and above which a pixel takes nothing
#: from the previous frame, whatever the gate says: the flow is wrong there, and reusing the
#: previous frame would drag a trail behind moving objects.  Below it the share fades in
#: quadratically.
FLOW_ERROR_LIMIT = 0.08
#: ITU-R BT.601 luma weights, for the flow-error input.
_LUMA = (0.299, 0.587, 0.114)
#: Channels the gate network predicts: the previous frame's logit, the 3 luminance-detail gains
#: g and the colour-detail gain h.
_GATE_OUTPUTS = 1 + 3 + 1


@dataclass(frozen=True)
class FusionConfig:
    """Constructor arguments of :class:`FusionNet`; saved verbatim in style files."""

    hidden: int = 12  # width of the gate network
    scorer_hidden: int = 8  # width of the per-candidate scorer
    gate_stride: int = 4  # the convolutions run at 1/gate_stride of the output resolution

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.scorer_hidden < 1:
            raise ValueError("hidden widths must be positive")
        if self.gate_stride not in (1, 2, 4, 8):
            raise ValueError("gate_stride must be 1, 2, 4 or 8")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FusionConfig:
        """Build from JSON; unknown keys are an error so a newer file is not half-read."""
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown fusion config keys: {sorted(unknown)}")
        return cls(**data)


#: F sized for each generator preset (≤ 15 % of that generator's FLOPs per output pixel).
FUSION_PRESETS: dict[str, FusionConfig] = {
    "fast": FusionConfig(hidden=12, scorer_hidden=8, gate_stride=4),
    "quality": FusionConfig(hidden=32, scorer_hidden=16, gate_stride=2),
}


@dataclass
class FusionOutput:
    """What F returns; every map is at the output resolution."""

    frame: torch.Tensor  # [N,3,H,W] the fused frame (not clamped)
    base: torch.Tensor  # [N,3,H,W] the weighted blend before the detail term: the next frame's P
    weights: torch.Tensor  # [N,K+1,H,W] fusion weights; the last channel is the previous frame's
    detail: torch.Tensor  # [N,3,H,W] the residual detail term


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """``[N,3,H,W]`` → ``[N,1,H,W]`` BT.601 luminance."""
    r, g, b = rgb.unbind(1)
    return (_LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b).unsqueeze(1)


def resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize; antialiased when shrinking so the low band holds no aliasing (the stylizer
    uses it for the working resolution too, so F's band is exactly what the generator missed)."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    shrinking = size[0] < images.shape[-2] or size[1] < images.shape[-1]
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=shrinking)


class FusionNet(nn.Module):
    """F(source, candidates, previous, flow_error, region_logits) → :class:`FusionOutput`."""

    def __init__(self, config: FusionConfig | None = None) -> None:
        super().__init__()
        self.config = config or FusionConfig()
        hidden, scorer = self.config.hidden, self.config.scorer_hidden
        # Gate inputs: source, candidate mean, previous (zeros when none), flow error, has-previous.
        self.gate = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(3 + 3 + 3 + 1 + 1, hidden, 3),
            nn.LeakyReLU(0.2),
            nn.ReflectionPad2d(1),
            nn.Conv2d(hidden, hidden, 3),
            nn.LeakyReLU(0.2),
            nn.Conv2d(hidden, _GATE_OUTPUTS, 1),
        )
        # One scorer shared by all candidates, so F takes any number of them.
        self.scorer = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(3 + 3, scorer, 3),
            nn.LeakyReLU(0.2),
            nn.Conv2d(scorer, 1, 1),
        )
        self._init_identity_detail()

    def _init_identity_detail(self) -> None:
        """Start as 'copy the missing source band as is' and 'trust the previous frame half-way'."""
        last = self.gate[-1]
        nn.init.zeros_(last.weight)
        with torch.no_grad():
            last.bias.zero_()
            last.bias[4] = 1.0  # h = 1, g = 0: the band itself

    def forward(
        self,
        source: torch.Tensor,
        candidates: torch.Tensor,
        previous: torch.Tensor | None = None,
        flow_error: torch.Tensor | None = None,
        region_logits: torch.Tensor | None = None,
        source_work: torch.Tensor | None = None,
    ) -> FusionOutput:
        """Fuse one step.

        source: [N,3,H,W] in [0,1]; candidates: [N,K,3,h,w] generator outputs at the working
        resolution; previous: [N,3,H,W] the previous ``base`` warped to this frame, or None
        (first frame, scene cut); flow_error: [N,1,H,W] ``|luma(warp(S_{t−1})) − luma(S_t)|``;
        region_logits: [N,K,H,W] added to the candidates' logits (log of the region masks);
        source_work: [N,3,h,w] the source as the generator saw it, when the caller has it (else
        it is resized here again).
        """
        count, num_candidates = candidates.shape[:2]
        height, width = source.shape[-2:]
        work_size = (int(candidates.shape[-2]), int(candidates.shape[-1]))
        # At least 2×2: the gate's reflection padding needs a neighbour on each side (tiny frames).
        gate_size = (max(2, height // self.config.gate_stride), max(2, width // self.config.gate_stride))
        flat = candidates.flatten(0, 1)  # [N·K,3,h,w]
        if source_work is None or tuple(source_work.shape[-2:]) != work_size:
            source_work = resize(source, work_size)
        source_low = resize(source_work, gate_size)
        candidates_low = resize(flat, gate_size)  # [N·K,3,g,g']
        if previous is None:
            previous_low = torch.zeros_like(source_low)
            error_low = torch.zeros_like(source_low[:, :1])
        else:
            if flow_error is None:
                raise ValueError("flow_error is required with previous")
            previous_low, error_low = resize(previous, gate_size), resize(flow_error, gate_size)
        mean_low = candidates_low.unflatten(0, (count, num_candidates)).mean(1)
        flag = torch.full_like(error_low, float(previous is not None))
        gate = self.gate(torch.cat([source_low, mean_low, previous_low, error_low, flag], 1))
        repeated_source = source_low.repeat_interleave(num_candidates, 0)
        scores = self.scorer(torch.cat([candidates_low, repeated_source], 1)).view(count, num_candidates, *gate_size)
        # One upsampling call for every low-resolution map: candidates' scores, then the gate.
        # One upsampling call for the low-resolution maps the frame needs: the candidates' scores,
        # the previous frame's logit, and the detail gains only when there is a band to restore.
        needs_detail = work_size != (height, width)
        low_maps = torch.cat([scores, gate if needs_detail else gate[:, :1]], 1)
        maps = resize(low_maps, (height, width))
        logits, previous_logit = maps[:, :num_candidates], maps[:, num_candidates : num_candidates + 1]
        if region_logits is not None:
            logits = logits + region_logits
        upsampled = resize(flat, (height, width)).view(count, num_candidates, 3, height, width)  # no-op at full size
        weights = torch.softmax(logits, 1) if num_candidates > 1 else torch.ones_like(logits)  # [N,K,H,W]
        if previous is not None:
            # keep = the previous frame's share, at most MAX_KEEP: every frame refreshes at least
            # (1 − MAX_KEEP) of each pixel, so nothing the flow got wrong can persist for long.
            # and nothing where the flow error reaches FLOW_ERROR_LIMIT (a fixed veto at full
            # resolution: the learned gate, at 1/gate_stride, cannot be trusted to draw it sharply).
            reference = torch.logsumexp(logits, 1, keepdim=True) if num_candidates > 1 else logits
            trust = (1.0 - flow_error / FLOW_ERROR_LIMIT).clamp_(min=0.0).square()
            keep = MAX_KEEP * torch.sigmoid(previous_logit - reference) * trust
            weights = torch.cat([weights * (1.0 - keep), keep], 1)  # [N,K+1,H,W]
            base = keep * previous
        else:
            weights = torch.cat([weights, torch.zeros_like(weights[:, :1])], 1)
            base = torch.zeros_like(source)
        for k in range(num_candidates):
            base = base.addcmul(weights[:, k : k + 1], upsampled[:, k])
        if not needs_detail:  # the generator ran at full resolution: no band is missing
            return FusionOutput(base, base, weights, torch.zeros_like(source))
        detail = self._detail(source, source_work, maps[:, num_candidates + 1 :])
        return FusionOutput(base + detail, base, weights, detail)

    @staticmethod
    def _detail(source: torch.Tensor, source_work: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
        """g ⊙ luma(B) + h · B for the band B = S − up(down(S)) the working resolution removed."""
        height, width = source.shape[-2:]
        band = source - resize(source_work, (height, width))  # [N,3,H,W]
        return torch.addcmul(gains[:, :3] * luma(band), gains[:, 3:4], band)

    def flops_per_pixel(self, num_candidates: int = 1) -> float:
        """FLOPs per output pixel: convolutions at the gate resolution plus full-resolution arithmetic.

        Full-resolution terms count a bilinear tap as 8 FLOPs per channel (4 multiply-adds):
        upsampling K candidates and K+5 score/gate maps, the detail band (down and up), the
        softmax, the blend and the detail gains.
        """
        cfg = self.config
        gate_inputs, hidden, scorer = 11, cfg.hidden, cfg.scorer_hidden
        gate = 2.0 * 9 * (gate_inputs * hidden + hidden * hidden) + 2.0 * hidden * _GATE_OUTPUTS
        score = num_candidates * (2.0 * 9 * 6 * scorer + 2.0 * scorer)
        low = (gate + score) / cfg.gate_stride**2
        k = num_candidates
        resampling = 8.0 * (3 * k + k + _GATE_OUTPUTS) + 8.0 * 3 * 2
        arithmetic = 5.0 * (k + 1) + 6.0 * (k + 1) + 5.0 + 6.0 + 3.0 + 4.0
        return low + resampling + arithmetic
