"""The stylizer: uint8 RGB frames in, stylized uint8 RGB frames out.

It is the only part of the runtime that knows about tensors, devices and dtypes.  Live controls
(style mix, strength, keep colours, working resolution) live in an immutable
:class:`StylizerSettings`; swapping the whole object is atomic, so a GUI thread can change them
while a worker thread stylizes, and the change applies on the next frame.

The network itself runs through a backend (:mod:`rtstyle.backends`: torch, ONNX Runtime,
TensorRT); pre- and post-processing stay here in torch, so every backend shares them.  On CUDA a
batch moves through pinned host memory in chunks on two copy streams: the upload of chunk k+1 and
the download of chunk k-1 overlap the computation of chunk k.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from rtstyle.backends import Backend, create_backend
from rtstyle.color import keep_colors
from rtstyle.device import pick_device, pick_dtype
from rtstyle.errors import InputError
from rtstyle.mixing import normalize_weights
from rtstyle.stylefile import StyleBank

log = logging.getLogger(__name__)

#: Frames per chunk for copy/compute overlap on CUDA: a batch of 8 (file conversion) runs as two
#: chunks, a single live frame as one.
OVERLAP_CHUNK = 4
#: Largest working resolution by default (pixels of a 1920×1088 frame).  Bigger frames are
#: stylized at this size and upsampled: memory stays bounded, and brush strokes keep the scale
#: they were trained at instead of shrinking to specks on 4K.  Raise it with ``max_pixels``.
DEFAULT_MAX_PIXELS = 1920 * 1088


@dataclass(frozen=True)
class StylizerSettings:
    """Per-frame controls.  ``style_weights`` is ``[S]``, non-negative, summing to one."""

    style_weights: np.ndarray
    strength: float = 1.0  # 0 = the source, 1 = fully stylized (linear blend)
    keep_colors: bool = False  # luminance-only transfer
    scale: float = 1.0  # working resolution as a fraction of the frame size
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise InputError(f"strength must be between 0 and 1, got {self.strength}")
        if not 0.0 < self.scale <= 4.0:
            raise InputError(f"scale must be in (0, 4], got {self.scale}")
        if self.max_pixels < 64:
            raise InputError(f"max_pixels must be at least 64, got {self.max_pixels}")
        object.__setattr__(self, "style_weights", normalize_weights(self.style_weights))


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
        self.memory_format = self.backend.memory_format
        self.generator = self.backend.generator
        if self.device.type == "cuda":
            self._upload = torch.cuda.Stream(self.device)
            self._download = torch.cuda.Stream(self.device)
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

    def _check_settings(self, settings: StylizerSettings) -> None:
        if settings.style_weights.shape != (self.bank.config.num_styles,):
            raise InputError(
                f"style weights have {settings.style_weights.shape[0]} entries; "
                f"the bank has {self.bank.config.num_styles} styles"
            )

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Stylize ``uint8 [H,W,3]`` or ``[N,H,W,3]`` RGB; returns the same shape and dtype."""
        single = frames.ndim == 3
        batch = frames[None] if single else frames
        if batch.ndim != 4 or batch.shape[-1] != 3 or batch.dtype != np.uint8:
            raise InputError(f"expected uint8 RGB frames [N,H,W,3], got {batch.dtype} {batch.shape}")
        settings = self._settings  # one read: the whole batch uses one consistent set of controls
        if settings.strength == 0.0 or batch.shape[0] == 0:
            result = batch.copy()
        else:
            result = self._stylize(batch, settings)
        return result[0] if single else result

    @torch.inference_mode()
    def _stylize(self, batch: np.ndarray, settings: StylizerSettings) -> np.ndarray:
        host = torch.from_numpy(np.ascontiguousarray(batch))
        if self.device.type == "cuda":
            return self._stylize_cuda(host, settings)
        return self._process(host.to(self.device), settings).cpu().numpy()

    def _stylize_cuda(self, host: torch.Tensor, settings: StylizerSettings) -> np.ndarray:
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
            result = self._process(frames, settings)
            self._download.wait_stream(compute)
            with torch.cuda.stream(self._download):
                pinned_out[part].copy_(result, non_blocking=True)
            result.record_stream(self._download)
        self._download.synchronize()
        return pinned_out.numpy()

    def _process(self, frames: torch.Tensor, settings: StylizerSettings) -> torch.Tensor:
        """uint8 ``[N,H,W,3]`` on the device → stylized uint8 ``[N,H,W,3]`` on the device."""
        count, height, width = frames.shape[:3]
        source = frames.permute(0, 3, 1, 2).to(self.dtype).div_(255.0)
        source = source.contiguous(memory_format=self.memory_format)  # [N,3,H,W] in [0,1]
        work_h, work_w = working_size(height, width, settings.scale, settings.max_pixels)
        resized = (work_h, work_w) != (height, width)
        model_input = _resize(source, work_h, work_w) if resized else source
        weights = torch.from_numpy(settings.style_weights).to(self.device, self.dtype).expand(count, -1)
        stylized = self.backend(model_input, weights)
        if resized:
            stylized = _resize(stylized, height, width)
        if settings.keep_colors:
            stylized = keep_colors(stylized, source)
        if settings.strength < 1.0:
            stylized = torch.lerp(source, stylized, settings.strength)
        out = stylized.clamp_(0.0, 1.0).mul_(255.0).round_().to(torch.uint8).permute(0, 2, 3, 1)
        return out.contiguous()


def _resize(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    # Antialias when shrinking so fine source texture does not alias into the generator input.
    shrinking = height < images.shape[-2] or width < images.shape[-1]
    return F.interpolate(images, size=(height, width), mode="bilinear", align_corners=False, antialias=shrinking)
