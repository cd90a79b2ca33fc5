"""Still images in and out, in the same ``uint8 [H, W, 3]`` RGB form as video frames.

OpenCV does the codec work, but files are read and written as bytes by Python (``imdecode`` /
``imencode``) because OpenCV's own file functions cannot open non-ASCII paths on Windows.
:func:`open_image` also reports what the RGB form leaves out (transparency, 16-bit samples, the
other frames of an animation), so ``rtstyle image`` can keep the alpha channel where the output
format holds one and say in one line what it could not keep.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rtstyle.errors import InputError, OutputError
from rtstyle.video.atomic import atomic_output, check_destination
from rtstyle.video.averror import reason

log = logging.getLogger(__name__)

#: Suffixes treated as still images (the formats every OpenCV build can read and write).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
#: Output types that hold an alpha channel.
ALPHA_SUFFIXES = frozenset({".png", ".tif", ".tiff", ".webp"})


@dataclass(frozen=True)
class ImageFile:
    """A decoded still: ``rgb`` (transparency composited onto white) plus what RGB leaves out."""

    rgb: np.ndarray  # uint8 [H, W, 3]
    alpha: np.ndarray | None  # uint8 [H, W] when the file has an alpha channel
    bits: int  # bits per sample in the file (8, 16 or 32 for float)
    frames: int  # pictures in the file: more than 1 for an animated GIF/WebP/multi-page TIFF


def is_image_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a still image, judged by its suffix (the file need not exist)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Load an image as upright ``uint8 [H, W, 3]`` RGB (see :func:`open_image`)."""
    return open_image(path).rgb


def open_image(path: str | os.PathLike) -> ImageFile:
    """Decode an image file; the first picture of an animation.

    Grayscale is expanded to three channels, 16-bit and floating-point samples are scaled to
    8 bits, and EXIF orientation is applied.  Transparency is composited onto white for ``rgb``
    (the colour stored under fully transparent pixels is arbitrary, often black, so dropping alpha
    would show junk, while white matches how viewers present such images) and kept in ``alpha``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an image")
    try:
        data = np.frombuffer(path.read_bytes(), np.uint8)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({reason(exc)})") from exc
    # IMREAD_UNCHANGED is the only mode that keeps alpha, but it also ignores EXIF orientation;
    # images without alpha are therefore decoded again in a mode that applies it.
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise InputError(f"{path}: not an image OpenCV can read")
    bits = {np.dtype(np.uint16): 16, np.dtype(np.float32): 32, np.dtype(np.float64): 64}.get(image.dtype, 8)
    frames = _picture_count(path)
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = _to_uint8(image[:, :, 3], path)
        opaque = bool(alpha.min() == 255)  # e.g. GIFs decode with an alpha channel they do not use
        return ImageFile(_composite_on_white(image), None if opaque else alpha, bits, frames)
    image = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    rgb = _to_uint8(image, path)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    else:
        rgb = rgb[:, :, 2::-1]
    return ImageFile(np.ascontiguousarray(rgb), None, bits, frames)


def _picture_count(path: Path) -> int:
    """Pictures in an animated or multi-page file (1 when OpenCV cannot tell)."""
    try:
        return max(1, int(cv2.imcount(str(path))))
    except cv2.error:
        return 1


def check_image_destination(path: str | os.PathLike, *, overwrite: bool, inputs: list[Path]) -> None:
    """Raise ``OutputError`` now if ``path`` is not an image type this build can write, or is
    not writable (see :func:`rtstyle.video.atomic.check_destination`)."""
    path = Path(path)
    _encode(path, np.zeros((2, 2, 3), np.uint8))
    check_destination(path, overwrite=overwrite, inputs=inputs)


def write_image(
    path: str | os.PathLike, rgb: np.ndarray, *, overwrite: bool = False, alpha: np.ndarray | None = None
) -> Path:
    """Save ``uint8 [H, W, 3]`` RGB to ``path`` (format from the suffix), atomically.

    ``alpha`` (``uint8 [H, W]``) is stored as the fourth channel; the suffix must be one of
    :data:`ALPHA_SUFFIXES`.
    """
    path = Path(path)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected a uint8 [H, W, 3] array, got {rgb.dtype} {rgb.shape}")
    bgr = rgb[:, :, ::-1]
    if alpha is not None:
        if alpha.shape != rgb.shape[:2] or alpha.dtype != np.uint8:
            raise ValueError(f"alpha must be uint8 {rgb.shape[:2]}, got {alpha.dtype} {alpha.shape}")
        if path.suffix.lower() not in ALPHA_SUFFIXES:
            raise ValueError(f"{path.suffix} holds no alpha channel")
        bgr = np.dstack([bgr, alpha])
    encoded = _encode(path, np.ascontiguousarray(bgr))
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(encoded)
    return path


def _encode(path: Path, bgr: np.ndarray) -> bytes:
    """``bgr`` (or BGRA) encoded as ``path``'s suffix says, or ``OutputError``."""
    if not is_image_path(path):
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise OutputError(f"{path}: unsupported image type (use one of {suffixes})")
    try:
        ok, encoded = cv2.imencode(path.suffix.lower(), bgr)
    except cv2.error as exc:
        raise OutputError(f"{path}: OpenCV cannot encode this image type ({exc.err})") from exc
    if not ok:
        raise OutputError(f"{path}: OpenCV cannot encode this image type")
    return encoded.tobytes()


def _to_uint8(image: np.ndarray, path: Path) -> np.ndarray:
    """Scale 8/16-bit integer or [0, 1] float samples to ``uint8``."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        # x * 255 / 65535 == x / 257, rounded.
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if image.dtype in (np.float32, np.float64):
        return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise InputError(f"{path}: unsupported sample type {image.dtype}")


def _composite_on_white(bgra: np.ndarray) -> np.ndarray:
    """Flatten a BGRA image of any bit depth onto a white background, as RGB ``uint8``."""
    full = 65535.0 if bgra.dtype == np.uint16 else 255.0 if bgra.dtype == np.uint8 else 1.0
    pixels = bgra.astype(np.float32) / full
    alpha = np.clip(pixels[:, :, 3:4], 0.0, 1.0)
    rgb = pixels[:, :, 2::-1] * alpha + (1.0 - alpha)
    return np.ascontiguousarray((np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
