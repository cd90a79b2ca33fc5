"""Still images in and out, in the same ``uint8 [H, W, 3]`` RGB form as video frames.

OpenCV does the codec work, but files are read and written as bytes by Python (``imdecode`` /
``imencode``) because OpenCV's own file functions cannot open non-ASCII paths on Windows.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np

from rtstyle.errors import InputError, OutputError
from rtstyle.video.atomic import atomic_output
from rtstyle.video.averror import reason

log = logging.getLogger(__name__)

#: Suffixes treated as still images (the formats every OpenCV build can read and write).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})


def is_image_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a still image, judged by its suffix (the file need not exist)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Load an image as upright ``uint8 [H, W, 3]`` RGB.

    Grayscale is expanded to three channels, 16-bit and floating-point samples are scaled to
    8 bits, and EXIF orientation is applied.  Transparency is composited onto white: the colour
    stored under fully transparent pixels is arbitrary (often black), so dropping alpha would
    show junk, while white matches how viewers and browsers present such images.
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
    if image.ndim == 3 and image.shape[2] == 4:
        return _composite_on_white(image)
    image = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    rgb = _to_uint8(image, path)
    if rgb.ndim == 2:
        return np.ascontiguousarray(np.repeat(rgb[:, :, None], 3, axis=2))
    return np.ascontiguousarray(rgb[:, :, 2::-1])


def write_image(path: str | os.PathLike, rgb: np.ndarray, *, overwrite: bool = False) -> Path:
    """Save ``uint8 [H, W, 3]`` RGB to ``path`` (format from the suffix), atomically."""
    path = Path(path)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected a uint8 [H, W, 3] array, got {rgb.dtype} {rgb.shape}")
    if not is_image_path(path):
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise OutputError(f"{path}: unsupported image type (use one of {suffixes})")
    try:
        ok, encoded = cv2.imencode(path.suffix.lower(), np.ascontiguousarray(rgb[:, :, ::-1]))
    except cv2.error as exc:
        raise OutputError(f"{path}: OpenCV cannot encode this image type ({exc.err})") from exc
    if not ok:
        raise OutputError(f"{path}: OpenCV cannot encode this image type")
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(encoded.tobytes())
    return path


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
