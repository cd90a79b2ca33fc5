"""Fusion network F: per-pixel fusion weights over the inputs plus a residual detail term.

F takes the full-resolution source frame S, K generator outputs C_k at the working resolution
(one per region style, or one for a mix) and the previous fused frame P̃ warped along the optical
flow, and returns

    new   = Σ_k a_k · up(C_k) + D(S) − up(D(S↓))     a = softmax over the K candidates' logits
    frame = (1 − κ) · new + κ · P̃                     κ = max_keep·σ(ℓ_prev − logsumexp(ℓ))·trust

    D(x)  = g ⊙ luma(x) + h · x                       g: 3 gains per pixel, h: 1 gain per pixel

where S↓ is the source as the generator saw it.  D(S) − up(D(S↓)) is the detail term: the band
of source frequencies the working resolution removed — zero when the generator ran at full
resolution — its luminance recoloured by ``g`` and its colour kept by ``h``.  Because the gains
are smooth, ``up(C_k − D(S↓))`` is computed at the working resolution and enlarged once, as in
the fast guided filter (Wu et al. 2018, "Fast End-to-End Trainable Guided Filter"): at full
resolution F only enlarges, multiplies and adds.

The weights ``a`` say which input each pixel came from (shown by ``rtstyle eval``'s fusion
sheet); user-given region masks add ``log(mask)`` to the candidates' logits
(:func:`rtstyle.regions.region_logits`) so each region keeps its style while F decides the
seams.  What F keeps of the previous frame keeps its detail too, so the restored band is
steadied like the rest (a band added fresh to every frame would carry the source's own
shimmer — rippling water — straight into the output).  The previous frame's share is damped by
the warped frame's error (``flow_error``, measured by the runtime:
:func:`rtstyle.fusion_runtime.reuse_error`) — ``trust = max(0, 1 − flow_error/flow_error_limit)²``
— so pixels the flow cannot explain (occlusions, fast motion, disocclusions behind a moving
object) take the new frame and leave no trails, as in Lai et al. 2018 ("Learning Blind Video
Temporal Consistency").  The cap ``max_keep``, the limit ``flow_error_limit`` and the other fixed
rules F was trained under are :class:`FusionConfig` fields, saved with the weights.

All convolutions run at 1/``gate_stride`` of the output size; only resampling and per-pixel
arithmetic run at full resolution, which keeps F under 15 % of its generator's cost.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from rtstyle.color import luma
from rtstyle.models.resample import block_mean, resize

#: Channels the gate network predicts: the previous frame's logit, the 3 luminance-detail gains
#: g and the colour-detail gain h.
_GATE_OUTPUTS = 1 + 3 + 1
#: FusionConfig's rules, all fractions of 0-1 quantities: whether 0 and whether 1 are allowed.
#: A cap of 0 turns the previous frame off (allowed); a cap of 1 would let a pixel freeze for
#: good; a limit of 0 would divide by zero; a floor must be above 0 for its log and below 1.
_FRACTIONS: dict[str, tuple[bool, bool]] = {
    "max_keep": (True, False),
    "flow_error_limit": (False, True),
    "style_change_limit": (False, True),
    "region_floor": (False, False),
}


@dataclass(frozen=True)
class FusionConfig:
    """F's architecture and the fixed rules around its learned maps; saved verbatim in style files.

    The rules (the veto, the cap, the region floor) are not learned, but F was trained under them:
    its gate learned how much to trust the previous frame *given* that cap and veto, and its
    scores how far to push *given* that floor.  So they travel with the weights, and a bank keeps
    behaving as it was trained whatever this code's defaults become.  A bank written before they
    were fields lacks them and gets these defaults, which are the values it was trained with.
    """

    hidden: int = 12  # width of the gate network
    scorer_hidden: int = 8  # width of the per-candidate scorer
    gate_stride: int = 4  # the convolutions run at 1/gate_stride of the output resolution
    #: Largest share of a pixel F may take from the previous frame: every frame refreshes at
    #: least 1 − max_keep of each pixel, so nothing the flow got wrong can persist for long.
    max_keep: float = 0.9
    #: Error of the warped previous frame (in luma, 0-1; F's ``flow_error`` input) at and above
    #: which a pixel takes nothing from the previous frame, whatever the gate says: the flow is
    #: wrong there, and reusing the previous frame would drag a trail behind moving objects.
    #: Below it the share fades in quadratically.
    flow_error_limit: float = 0.08
    #: The veto compares the warped previous frame with the new one on a grid this many times
    #: coarser than the output.  Texture that changes in place — rippling water, leaves, grain —
    #: averages out there, so F keeps steadying it; something that moved or appeared does not.
    veto_pool: int = 8
    #: Mean RGB difference (0-1), on that grid, between the warped previous frame and the
    #: generator's new output at which the previous frame is dropped.  The source alone misses
    #: this case: the generator paints a halo of strokes around an object, and when the object
    #: moves on, the halo's pixels show the same background in both source frames — so the halo
    #: would linger as a trail.
    style_change_limit: float = 0.3
    #: Floor of the region masks before their log becomes F's region logits
    #: (:func:`rtstyle.regions.region_logits`): far from a seam every style but the region's own
    #: gets log(1e-6) ≈ −13.8, which F's own scores (a few units) can never override.
    region_floor: float = 1e-6

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.scorer_hidden < 1:
            raise ValueError("hidden widths must be positive")
        if self.gate_stride not in (1, 2, 4, 8):
            raise ValueError("gate_stride must be 1, 2, 4 or 8")
        if type(self.veto_pool) is not int or self.veto_pool < 1:
            raise ValueError(f"veto_pool must be a positive integer, got {self.veto_pool!r}")
        for name, (zero_allowed, one_allowed) in _FRACTIONS.items():
            value = getattr(self, name)
            if type(value) not in (int, float) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
            if not 0.0 <= value <= 1.0 or (value == 0.0 and not zero_allowed) or (value == 1.0 and not one_allowed):
                interval = f"{'[' if zero_allowed else '('}0, 1{']' if one_allowed else ')'}"
                raise ValueError(f"{name} must be in {interval}, got {value}")
            object.__setattr__(self, name, float(value))  # a JSON 1 reads back as 1.0, as it is written again

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
    """What F returns; every map is at the output resolution.

    The weight map is assembled only when asked for (the fusion sheet, the tests): video needs
    just the frame, and building the map is two more passes over full-resolution tensors.
    """

    frame: torch.Tensor  # [N,3,H,W] the fused frame (not clamped)
    candidate_weights: torch.Tensor  # [N,K,H,W] the softmax over the candidates (all ones for one)
    keep: torch.Tensor | None  # [N,1,H,W] the previous frame's share; None without a previous frame

    @property
    def weights(self) -> torch.Tensor:
        """``[N,K+1,H,W]`` fusion weights, summing to 1; the last channel is the previous frame's."""
        if self.keep is None:
            return torch.cat([self.candidate_weights, torch.zeros_like(self.candidate_weights[:, :1])], 1)
        return torch.cat([self.candidate_weights * (1.0 - self.keep), self.keep], 1)


def _apply_gains(images: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
    """D(x) = g ⊙ luma(x) + h · x: the detail operator, gains ``[N,4,H,W]`` (g: 3, h: 1) per pixel."""
    return torch.addcmul(gains[:, :3] * luma(images), gains[:, 3:4], images)


def _channels_last(images: torch.Tensor) -> torch.Tensor:
    """oneDNN runs F's small convolutions 2–5× faster on channels-last tensors (measured on the gate and scorer)."""
    return images.contiguous(memory_format=torch.channels_last)


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
        resolution; previous: [N,3,H,W] the previous ``frame`` warped to this one, or None
        (first frame, scene cut); flow_error: [N,1,h',w'] at any resolution, how wrong that
        warped frame is in luma units (:func:`rtstyle.fusion_runtime.reuse_error`);
        region_logits: [N,K,H,W] added to the candidates' logits (log of the region masks);
        source_work: [N,3,h,w] the source as the generator saw it, when the caller has it (else
        it is resized here again).
        """
        count, num_candidates = candidates.shape[:2]
        height, width = source.shape[-2:]
        work_size = (int(candidates.shape[-2]), int(candidates.shape[-1]))
        full_work = work_size == (height, width)
        gate_size = self.gate_size(height, width)
        flat = candidates.flatten(0, 1)  # [N·K,3,h,w]
        if source_work is None or tuple(source_work.shape[-2:]) != work_size:
            source_work = resize(source, work_size)
        source_low, candidates_low = self._to_gate(source_work, gate_size), self._to_gate(flat, gate_size)
        if previous is None:
            previous_low = torch.zeros_like(source_low)
            error_low = torch.zeros_like(source_low[:, :1])
        else:
            if flow_error is None:
                raise ValueError("flow_error is required with previous")
            previous_low, error_low = self._to_gate(previous, gate_size), resize(flow_error, gate_size)
        mean_low = candidates_low.unflatten(0, (count, num_candidates)).mean(1)
        flag = torch.full_like(error_low, float(previous is not None))
        gate = self.gate(_channels_last(torch.cat([source_low, mean_low, previous_low, error_low, flag], 1)))
        repeated_source = source_low.repeat_interleave(num_candidates, 0)
        scores = self.scorer(_channels_last(torch.cat([candidates_low, repeated_source], 1)))
        scores = scores.reshape(count, num_candidates, *gate_size)
        low_maps = [scores] if num_candidates > 1 else []  # the maps the full-resolution blend needs
        if previous is not None:
            # keep = the previous frame's share, at most max_keep: every frame refreshes at least
            # (1 − max_keep) of each pixel, so nothing the flow got wrong can persist for long;
            # and nothing where the flow error reaches flow_error_limit (a fixed veto: the learned
            # gate cannot override it).  Smooth maps, so computed on the gate's grid.
            logits_low = scores if region_logits is None else scores + resize(region_logits, gate_size)
            reference = torch.logsumexp(logits_low, 1, keepdim=True) if num_candidates > 1 else logits_low
            trust = (1.0 - error_low / self.config.flow_error_limit).clamp(min=0.0).square()
            low_maps.append(self.config.max_keep * torch.sigmoid(gate[:, :1] - reference) * trust)
        gains_low = gate[:, 1:]  # g (3) and h (1)
        if not full_work:
            low_maps.append(gains_low)
            # C_k − D(S↓) at the working resolution; enlarged below with the candidates themselves.
            gains_work = resize(gains_low, work_size)
            flat = flat - _apply_gains(source_work, gains_work).repeat_interleave(num_candidates, 0)
        maps = resize(torch.cat(low_maps, 1), (height, width)) if low_maps else source[:, :0]
        upsampled = resize(flat, (height, width)).view(count, num_candidates, 3, height, width)  # no-op at full size
        if num_candidates > 1:
            logits = maps[:, :num_candidates] if region_logits is None else maps[:, :num_candidates] + region_logits
            weights = torch.softmax(logits, 1)  # [N,K,H,W]
            new = weights[:, :1] * upsampled[:, 0]  # Σ_k a_k·C_k accumulated: no [N,K,3,H,W] product
            for k in range(1, num_candidates):
                new.addcmul_(weights[:, k : k + 1], upsampled[:, k])
            maps = maps[:, num_candidates:]
        else:
            weights, new = source.new_ones(()).expand(count, 1, height, width), upsampled[:, 0]
        # The full-resolution arithmetic runs in place where ``new`` is this call's own tensor (not
        # the caller's candidate, passed through at full size): a fresh frame-sized result per step
        # made this tail 4× slower at 720p.  addcmul_ keeps what its gradient needs (the gains and
        # the images); lerp's gradient needs ``new`` as it was, so it is in place only without autograd.
        owned = num_candidates > 1 or not full_work
        if not full_work:
            gains = maps[:, -4:]
            new.addcmul_(gains[:, :3], luma(source)).addcmul_(gains[:, 3:4], source)  # + D(S)
        if previous is None:
            return FusionOutput(new, weights, None)
        keep = maps[:, :1]
        in_place = owned and not torch.is_grad_enabled()
        return FusionOutput(new.lerp_(previous, keep) if in_place else torch.lerp(new, previous, keep), weights, keep)

    def gate_size(self, height: int, width: int) -> tuple[int, int]:
        """The gate's grid for an output of ``height`` × ``width``: 1/gate_stride of it, rounded up,
        and at least 2×2 (the reflection padding needs a neighbour on each side)."""
        stride = self.config.gate_stride
        return max(2, math.ceil(height / stride)), max(2, math.ceil(width / stride))

    @staticmethod
    def _to_gate(images: torch.Tensor, gate_size: tuple[int, int]) -> torch.Tensor:
        """Maps at the output or working resolution → the gate's grid, by means of square blocks
        (a partial block at the edge averages what it has): the gate only needs means, and block
        means are cheaper than an antialiased resize.  Where no block size gives the grid (tiny
        frames, a working resolution that is not a whole multiple of it), an antialiased resize."""
        height, width = images.shape[-2:]
        factor = math.ceil(height / gate_size[0])
        if (math.ceil(height / factor), math.ceil(width / factor)) == gate_size:
            return block_mean(images, factor)
        return resize(images, gate_size)

    def flops_per_pixel(self, num_candidates: int = 1) -> float:
        """FLOPs per output pixel (the worst case: a previous frame and a band to restore).

        Convolutions at the gate resolution, plus full-resolution work: averaging the source, the
        candidates and the previous frame down to the gate's grid (1 FLOP per value), bilinear
        enlargement at 8 FLOPs per channel (4 multiply-adds) of the K candidates, of the maps
        (K scores when K > 1, the previous frame's share, 4 detail gains) and of the source's low
        band, then the softmax, the blend and the detail term.
        """
        cfg = self.config
        gate_inputs, hidden, scorer = 11, cfg.hidden, cfg.scorer_hidden
        gate = 2.0 * 9 * (gate_inputs * hidden + hidden * hidden) + 2.0 * hidden * _GATE_OUTPUTS
        score = num_candidates * (2.0 * 9 * 6 * scorer + 2.0 * scorer)
        low = (gate + score) / cfg.gate_stride**2
        k = num_candidates
        pooling = 3.0 + 3.0 * k + 3.0
        resampling = 8.0 * (3 * k + (k if k > 1 else 0) + 1 + 4) + 8.0 * 3
        arithmetic = 5.0 * k + 6.0 * (k + 1) + 30.0
        return low + pooling + resampling + arithmetic
