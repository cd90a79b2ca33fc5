"""TensorRT engines: build from the exported graph, run through the runtime backend, match torch.

These need the ``tensorrt`` package and a CUDA GPU; elsewhere they skip with the reason.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from factories import tiny_bank
from rtstyle.stylizer import Stylizer

pytestmark = [
    pytest.mark.tensorrt,
    pytest.mark.gpu,
    pytest.mark.skipif(importlib.util.find_spec("tensorrt") is None, reason="needs the tensorrt package"),
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def _frames(count: int, height: int, width: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (count, height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize(("dtype", "tolerance"), [("float32", 1.0), ("float16", 3.0)])
def test_tensorrt_backend_matches_torch(dtype: str, tolerance: float) -> None:
    bank = tiny_bank(2)
    frames = _frames(3, 37, 53)  # odd sizes: the engine pads to the stride and crops
    reference = Stylizer(bank, device="cpu")(frames).astype(np.int16)
    engine = Stylizer(bank, device="cuda", dtype=dtype, backend="tensorrt")
    assert engine.backend.precision == {"float32": "fp32", "float16": "fp16"}[dtype]
    assert np.abs(engine(frames).astype(np.int16) - reference).max() <= tolerance


def test_engines_are_cached_and_reused_across_shapes() -> None:
    bank = tiny_bank(2)
    stylizer = Stylizer(bank, device="cuda", dtype="float16", backend="tensorrt")
    stylizer(_frames(2, 48, 64))
    first = stylizer.backend.engine_path
    stylizer(_frames(1, 40, 60))  # smaller: covered by the first engine's profile
    assert stylizer.backend.engine_path == first
    again = Stylizer(bank, device="cuda", dtype="float16", backend="tensorrt")
    again(_frames(2, 48, 64))
    assert again.backend.engine_path == first  # from the cache, not rebuilt


def test_export_command_builds_fp16_and_fp32(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from factories import write_tiny_bank
    from rtstyle.cli import main

    bank = write_tiny_bank(tmp_path / "tiny.safetensors")
    out = tmp_path / "engines"
    out.mkdir()
    assert main(["export", "tensorrt", str(bank), "--size", "64x48", "--batch", "2", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.engine")) == ["tiny-fp16.engine", "tiny-fp32.engine"]
