"""Parity of an exported graph against the torch generator, run with ONNX Runtime on the CPU.

An export is only useful if it computes the same function: the check runs several batch sizes,
odd and even frame sizes (so the stride padding and the crop are exercised) and random style
mixes, and reports the largest absolute difference (images are in [0, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rtstyle.backends.registry import require_module
from rtstyle.stylefile import StyleBank
from rtstyle_engines.artifacts import IMAGE_INPUT, OUTPUT, style_input

#: Largest acceptable |torch - ONNX Runtime| in float32 (images in [0, 1]).
TOLERANCE = 1e-3


@dataclass(frozen=True)
class ParityCase:
    shape: tuple[int, int, int]  # (N, H, W)
    max_abs_error: float


@dataclass(frozen=True)
class ParityReport:
    cases: tuple[ParityCase, ...]

    @property
    def max_abs_error(self) -> float:
        return max(case.max_abs_error for case in self.cases)

    @property
    def ok(self) -> bool:
        return self.max_abs_error <= TOLERANCE

    def summary(self) -> str:
        sizes = ", ".join(f"{n}x{h}x{w}" for n, h, w in (c.shape for c in self.cases))
        return f"max |torch - onnxruntime| = {self.max_abs_error:.1e} over N×H×W {sizes} (tolerance {TOLERANCE:g})"


def parity_shapes(min_size: int, stride: int) -> list[tuple[int, int, int]]:
    """Batch sizes 1-3; the minimum size, odd sizes off the stride grid, and a landscape frame."""
    m, s = min_size, stride
    return [(1, m, m), (2, m + 1, 2 * m + 3), (1, 3 * m - 1, m + s + 1), (3, m + 2 * s, 2 * m + s - 1)]


def check_parity(onnx_path: Path, bank: StyleBank, shapes: list[tuple[int, int, int]] | None = None,
                 seed: int = 0) -> ParityReport:
    """Run ``onnx_path`` and the bank's torch generator (one level: the graph holds no scale pyramid)
    on the same random inputs and compare."""
    ort = require_module("onnxruntime", "onnx", "the parity check")
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    generator = bank.build_generator()
    shapes = shapes or parity_shapes(generator.min_size, generator.config.stride)
    rng = np.random.default_rng(seed)
    cases = []
    for batch, height, width in shapes:
        images = rng.random((batch, 3, height, width), dtype=np.float32)
        weights = rng.dirichlet(np.ones(bank.config.num_styles), size=batch).astype(np.float32)
        with torch.inference_mode():
            code = generator.style_code(torch.from_numpy(weights))
            expected = generator.paint(torch.from_numpy(images), code).numpy()
        actual = session.run([OUTPUT], {IMAGE_INPUT: images, style_input(bank.config): code.numpy()})[0]
        if actual.shape != expected.shape:
            raise RuntimeError(f"exported graph returned {actual.shape} for input {images.shape}")
        cases.append(ParityCase((batch, height, width), float(np.abs(actual - expected).max())))
    return ParityReport(tuple(cases))
