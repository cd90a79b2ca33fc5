"""The stylizer: uint8 RGB frames in, stylized uint8 RGB frames out.

It is the only part of the runtime that knows about tensors, devices and dtypes.  Live controls
(style mix, strength, keep colours, working resolution) live in an immutable
:class:`StylizerSettings`; swapping the whole object is atomic, so a GUI thread can change them
while a worker thread stylizes, and the change applies on the next frame.

The generator runs through a backend (:mod:`rtstyle.backends`: torch, ONNX Runtime, TensorRT),
which knows it only through the :class:`~rtstyle.models.registry.Generator` interface;
pre- and post-processing stay here (torch, with OpenCV for the uint8 ends on the CPU), so every
backend shares them.  When the style bank carries a fusion network F
(:mod:`rtstyle.models.fusion`), F runs here in torch after the
generator — once per frame, in order, because each frame reuses the previous one — fusing the
generator output(s) at the working resolution with the full-resolution source and the previous
frame; it also puts each style of a regional layout (:mod:`rtstyle.regions`) in its region.
Without F, regions are blended by their feathered masks.  On CUDA a
batch moves through pinned host memory in chunks on two copy streams: the upload of chunk k+1 and
the download of chunk k-1 overlap the computation of chunk k.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace
from functools import partial

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from rtstyle.backends.base import Backend
from rtstyle.backends.registry import create_backend
from rtstyle.color import keep_colors
from rtstyle.device import pick_device, pick_dtype
from rtstyle.errors import InputError
from rtstyle.fusion_runtime import TemporalFusion
from rtstyle.models.fusion import FusionOutput
from rtstyle.models.pyramid import Level, scale_pyramid
from rtstyle.models.resample import resize
from rtstyle.mixing import normalize_weights
from rtstyle.motion import Motion, MotionTracker
from rtstyle.regions import RegionMaskCache, Regions, blend_regions
from rtstyle.scale_control import ScaleController
from rtstyle.stylefile import StyleBank, StyleInfo

log = logging.getLogger(__name__)

#: Frames per chunk for copy/compute overlap on CUDA: a batch of 8 (file conversion) runs as two
#: chunks, a single live frame as one.
OVERLAP_CHUNK = 4
#: Largest working resolution by default (pixels of a 1920×1088 frame).  Bigger frames are
#: stylized at this size and upsampled: memory stays bounded, and brush strokes keep the scale
#: they were trained at instead of shrinking to specks on 4K.  Raise it with ``max_pixels``.
DEFAULT_MAX_PIXELS = 1920 * 1088
#: Smallest working-resolution cap: an 8x8 picture, below which no network output means anything.
MIN_PIXELS = 64


@dataclass(frozen=True)
class StylizerSettings:
    """Per-frame controls.  ``style_weights`` is ``[S]``, non-negative, summing to one."""

    style_weights: np.ndarray
    strength: float = 1.0  # 0 = the source, 1 = fully stylized (linear blend)
    keep_colors: bool = False  # luminance-only transfer
    scale: float = 1.0  # working resolution as a fraction of the frame size
    max_pixels: int = DEFAULT_MAX_PIXELS
    fusion: bool = True  # run the bank's fusion network F, when it has one
    regions: Regions | None = None  # a style per region instead of one mix for the whole frame
    #: Frames per second to hold by moving the working resolution (``--scale auto``); None: ``scale``.
    target_fps: float | None = None

    def __post_init__(self) -> None:
        check_controls(strength=self.strength, scale=self.scale, max_pixels=self.max_pixels,
                       target_fps=self.target_fps)
        object.__setattr__(self, "style_weights", normalize_weights(self.style_weights))


def check_controls(
    *, strength: float | None = None, scale: float | None = None, max_pixels: int | None = None,
    target_fps: float | None = None, prefix: str = "",
) -> None:
    """The controls' ranges (``None``: not given); ``prefix`` names them as options (``--``)."""
    if target_fps is not None and not 0.0 < target_fps <= 1000.0:
        name = "target-fps" if prefix else "target_fps"
        raise InputError(f"{prefix}{name} must be a frame rate above 0, got {target_fps}")
    if strength is not None and not 0.0 <= strength <= 1.0:
        raise InputError(f"{prefix}strength must be between 0 and 1, got {strength}")
    if scale is not None and not 0.0 < scale <= 4.0:
        raise InputError(f"{prefix}scale must be in (0, 4], got {scale}")
    if max_pixels is not None and max_pixels < MIN_PIXELS:
        name = "max-pixels" if prefix else "max_pixels"
        raise InputError(f"{prefix}{name} must be at least {MIN_PIXELS}, got {max_pixels}")


def to_uint8_frames(images: torch.Tensor) -> torch.Tensor:
    """``[N,3,H,W]`` in [0,1] → uint8 ``[N,H,W,3]``, clamped and rounded; ``images`` is left as it is
    (it may be F's state).  On the CPU OpenCV scales, rounds, saturates and interleaves in two passes
    (1.7× faster than torch's five at 720p, the same bytes)."""
    if images.device.type != "cpu" or images.dtype != torch.float32:
        return images.clamp(0.0, 1.0).mul_(255.0).round_().to(torch.uint8).permute(0, 2, 3, 1).contiguous()
    out = np.empty((images.shape[0], *images.shape[2:], 3), np.uint8)
    for image, target in zip(images.contiguous().numpy(), out, strict=True):
        # max(x, 0) first: convertScaleAbs rounds and saturates |255·x|, which would fold negatives up.
        cv2.merge([cv2.convertScaleAbs(cv2.max(plane, 0.0), alpha=255.0) for plane in image], dst=target)
    return torch.from_numpy(out)


def working_size(height: int, width: int, scale: float, max_pixels: int) -> tuple[int, int]:
    """Size the generator runs at: ``scale`` × the frame, shrunk further to fit ``max_pixels``."""
    factor = scale
    if height * width * factor * factor > max_pixels:
        factor = math.sqrt(max_pixels / (height * width))
    return max(1, round(height * factor)), max(1, round(width * factor))


class Stylizer:
    """Runs a style bank's generator on frames, on CPU or GPU, with live settings.

    ``backend`` is a name from :func:`rtstyle.backends.backend_names` (``auto`` picks the fastest
    that works here) or a ready :class:`~rtstyle.backends.Backend`.
    """

    def __init__(
        self,
        bank: StyleBank,
        settings: StylizerSettings | None = None,
        *,
        device: str | torch.device | None = "auto",
        dtype: str | None = "auto",
        backend: str | Backend = "torch",
    ) -> None:
        self.bank = bank
        self.device = device if isinstance(device, torch.device) else pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        self.backend = backend if isinstance(backend, Backend) else create_backend(backend, bank, self.device, self.dtype)
        base = bank.config.pyramid_base
        # Backends run one level of G; a scale pyramid runs it once per octave around them.
        self.generate: Level = partial(scale_pyramid, self.backend, base=base) if base else self.backend
        self.memory_format = self.backend.memory_format
        self.generator = self.backend.generator
        if self.device.type == "cuda":
            self._upload = torch.cuda.Stream(self.device)
            self._download = torch.cuda.Stream(self.device)
        self.fusion = TemporalFusion(bank.build_fusion(), self.device, self.dtype) if bank.has_fusion else None
        self.motion = MotionTracker()
        self._region_masks = RegionMaskCache(self.device, self.dtype)
        self.last_fusion: FusionOutput | None = None  # F's output for the latest frame (weights for views)
        self.scale_control: ScaleController | None = None  # set while the settings ask for a target_fps
        self.working_scale = 1.0  # the scale the latest frame was stylized at
        first_style = np.eye(bank.config.num_styles, dtype=np.float32)[0]
        self._settings = settings or StylizerSettings(first_style)
        self._check_settings(self._settings)
        log.info("stylizer on %s (%s), bank %s, backend %s", self.device, self.dtype, bank.name,
                 self.backend.describe())

    @property
    def style_names(self) -> list[str]:
        return self.bank.style_names

    @property
    def settings(self) -> StylizerSettings:
        return self._settings

    @settings.setter
    def settings(self, value: StylizerSettings) -> None:
        self._check_settings(value)
        self._settings = value

    def update(self, **changes: object) -> StylizerSettings:
        """Replace some settings (validated); returns the new settings."""
        self.settings = replace(self._settings, **changes)
        return self._settings

    def add_styles(self, styles: list[StyleInfo], vectors: np.ndarray, thumbnails: dict[str, np.ndarray] | None = None
                   ) -> None:
        """Add styles given by their style vectors ``[P,D]`` (pictures, for an any-style bank).

        Live at once: every backend takes the style code, so no graph is rebuilt, and mixes in
        use keep their weights (the new styles start at zero).
        """
        try:
            bank = self.bank.with_extra_styles(styles, vectors, thumbnails)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        held = next(self.generator.parameters())
        self.generator.style_vectors = bank.state_dict["style_vectors"].to(held.device, held.dtype)
        self.bank = self.backend.bank = bank
        padding = np.zeros(len(styles), np.float32)
        regions = self._settings.regions
        self._settings = replace(
            self._settings,
            style_weights=np.concatenate([self._settings.style_weights, padding]),
            regions=None if regions is None else replace(
                regions, style_weights=tuple(np.concatenate([w, padding]) for w in regions.style_weights)),
        )

    def uses_fusion(self, settings: StylizerSettings | None = None) -> bool:
        """Whether frames go through F: the bank has one and the settings do not turn it off."""
        return self.fusion is not None and (settings or self._settings).fusion

    def reset(self) -> None:
        """Forget the previous frame (a seek or a new source); F starts afresh on the next frame."""
        self.motion.reset()
        if self.fusion is not None:
            self.fusion.reset()

    def _check_settings(self, settings: StylizerSettings) -> None:
        vectors = [settings.style_weights, *(settings.regions.style_weights if settings.regions else ())]
        for weights in vectors:
            if weights.shape != (self.bank.config.num_styles,):
                raise InputError(
                    f"style weights have {weights.shape[0]} entries; the bank has {self.bank.config.num_styles} styles"
                )

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Stylize ``uint8 [H,W,3]`` or ``[N,H,W,3]`` RGB; returns the same shape and dtype."""
        single = frames.ndim == 3
        batch = frames[None] if single else frames
        if batch.ndim != 4 or batch.shape[-1] != 3 or batch.dtype != np.uint8:
            raise InputError(f"expected uint8 RGB frames [N,H,W,3], got {batch.dtype} {batch.shape}")
        settings = self._settings  # one read: the whole batch uses one consistent set of controls
        if settings.strength == 0.0 or batch.shape[0] == 0:
            self.reset()  # the next stylized frame must not reuse one from before the pause
            result = batch.copy()
        else:
            result = self._stylize(batch, settings)
        return result[0] if single else result

    def _stylize(self, batch: np.ndarray, settings: StylizerSettings) -> np.ndarray:
        """One batch at the settings' scale, or at the scale controller's (timed for it)."""
        control = self._scale_control(settings.target_fps)
        if control is None:
            self.working_scale = settings.scale
            return self._stylize_at(batch, settings)
        self.working_scale = control.scale
        started = time.perf_counter()
        result = self._stylize_at(batch, replace(settings, scale=control.scale))
        control.observe((time.perf_counter() - started) / len(batch), len(batch))
        return result

    def _scale_control(self, target_fps: float | None) -> ScaleController | None:
        """The controller for ``target_fps`` (kept while the target stays, so it keeps its measurements)."""
        if target_fps is None:
            self.scale_control = None
        elif self.scale_control is None or self.scale_control.target_fps != target_fps:
            self.scale_control = ScaleController(target_fps)
        return self.scale_control

    @torch.inference_mode()
    def _stylize_at(self, batch: np.ndarray, settings: StylizerSettings) -> np.ndarray:
        host = torch.from_numpy(np.ascontiguousarray(batch))
        if self.uses_fusion(settings):
            motions: list[Motion | None] = [self.motion.track(frame) for frame in batch]
        else:
            self.reset()  # turning F back on later must not pick up a stale frame
            motions = [None] * len(batch)
        if self.device.type == "cuda":
            return self._stylize_cuda(host, settings, motions)
        return self._process(host.to(self.device), settings, motions).cpu().numpy()

    def _stylize_cuda(self, host: torch.Tensor, settings: StylizerSettings, motions: list[Motion | None]) -> np.ndarray:
        """Chunked upload → process → download with the copies on their own streams.

        Pinned (page-locked) host memory makes the copies asynchronous DMA; torch's caching host
        allocator recycles it, and the returned array keeps its block alive until it is freed.
        """
        pinned_in = host.pin_memory()
        pinned_out = torch.empty(host.shape, dtype=torch.uint8, pin_memory=True)
        compute = torch.cuda.current_stream(self.device)
        for start in range(0, host.shape[0], OVERLAP_CHUNK):
            part = slice(start, start + OVERLAP_CHUNK)
            with torch.cuda.stream(self._upload):
                frames = pinned_in[part].to(self.device, non_blocking=True)
            compute.wait_stream(self._upload)
            frames.record_stream(compute)  # made on the upload stream, used on this one
            result = self._process(frames, settings, motions[part])
            self._download.wait_stream(compute)
            with torch.cuda.stream(self._download):
                pinned_out[part].copy_(result, non_blocking=True)
            result.record_stream(self._download)
        self._download.synchronize()
        return pinned_out.numpy()

    def _process(self, frames: torch.Tensor, settings: StylizerSettings, motions: list[Motion | None]) -> torch.Tensor:
        """uint8 ``[N,H,W,3]`` on the device → stylized uint8 ``[N,H,W,3]`` on the device."""
        count, height, width = frames.shape[:3]
        # Reorder the bytes before widening them: the copy is then uint8, not a second float frame.
        source = frames.permute(0, 3, 1, 2).contiguous(memory_format=self.memory_format)
        source = source.to(self.dtype).div_(255.0)  # [N,3,H,W] in [0,1]
        work_h, work_w = working_size(height, width, settings.scale, settings.max_pixels)
        model_input = self._model_input(frames, source, (work_h, work_w))
        regions = settings.regions
        mixes = regions.style_weights if regions is not None else (settings.style_weights,)
        candidates = [  # one generator output per region (or one for the mix), each [N,3,h,w]
            self.generate(model_input, self._style_code(mix).expand(count, -1)) for mix in mixes
        ]
        if self.uses_fusion(settings):
            # One candidate needs no stacked copy: a frame-sized buffer less while F runs.
            stacked = candidates[0][:, None] if len(candidates) == 1 else torch.stack(candidates, 1)
            stylized = self._fuse(source, model_input, stacked, motions, regions)
        else:
            stylized = self._blend(candidates, regions, height, width)
        if settings.keep_colors:
            stylized = keep_colors(stylized, source)
        if settings.strength < 1.0:
            stylized = torch.lerp(source, stylized, settings.strength)
        return to_uint8_frames(stylized)

    def _model_input(self, frames: torch.Tensor, source: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The generator's input at ``size``: the source, antialiased when shrinking, as is when equal.

        On the CPU a shrink reads the uint8 frames (torch's SIMD uint8 kernel, 2.4× faster than
        the float one at 720p → ¼); the picture differs from the float shrink by under one grey
        level, the rounding every 8-bit image already has.
        """
        height, width = frames.shape[1:3]
        if self.device.type == "cpu" and size[0] <= height and size[1] <= width and size != (height, width):
            shrunk = F.interpolate(frames.permute(0, 3, 1, 2), size=size, mode="bilinear", antialias=True,
                                   align_corners=False)
            return shrunk.contiguous(memory_format=self.memory_format).to(self.dtype).div_(255.0)
        return resize(source, size)

    def _style_code(self, mix: np.ndarray) -> torch.Tensor:
        """The generator's style code ``[1,K]`` for the mix ``[S]`` (what the backends take)."""
        # On the generator's own device and dtype (the CPU for ONNX Runtime and TensorRT, where
        # it is only this small matrix product), then to where the backend runs.
        held = next(self.generator.parameters())
        code = self.generator.style_code(torch.from_numpy(mix)[None].to(held.device, held.dtype))
        return code.to(self.device, self.dtype)

    def _fuse(
        self,
        source: torch.Tensor,
        model_input: torch.Tensor,
        candidates: torch.Tensor,
        motions: list[Motion | None],
        regions: Regions | None,
    ) -> torch.Tensor:
        """F over the batch, frame by frame in order: candidates ``[N,K,3,h,w]`` → ``[N,3,H,W]``."""
        assert self.fusion is not None
        height, width = source.shape[-2:]
        floor = self.fusion.net.config.region_floor
        logits = None if regions is None else self._region_masks.logits(regions, height, width, floor)
        fused = []
        for i in range(source.shape[0]):
            self.last_fusion = self.fusion(source[i : i + 1], candidates[i : i + 1], motions[i], logits, model_input[i : i + 1])
            fused.append(self.last_fusion.frame)
        return fused[0] if len(fused) == 1 else torch.cat(fused)  # a live frame: no copy

    def _blend(self, candidates: list[torch.Tensor], regions: Regions | None, height: int, width: int) -> torch.Tensor:
        """Without F: upsample the generator output(s) and blend regions by their feathered masks."""
        full = [resize(c, (height, width)) for c in candidates]
        masks = None if regions is None else self._region_masks.masks(regions, height, width)  # [1,K,H,W]
        return blend_regions(full, masks)
