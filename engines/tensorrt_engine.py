"""TensorRT engines for a bank, through the engine cache: what ``export tensorrt`` and the runtime use.

:func:`engine_for` is what the TensorRT backend (:mod:`rtstyle_engines.tensorrt_backend`) asks for
an engine: it returns a cached engine whose profile covers the frame shape
(one built ahead by ``rtstyle export tensorrt`` counts) or builds and caches one tuned for that
shape.  :func:`build_engines` builds one engine per precision with a profile per requested size.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from rtstyle.backends.registry import require_module
from rtstyle.console import notice
from rtstyle.errors import BackendUnavailableError
from rtstyle.stylefile import StyleBank
from rtstyle_engines.artifacts import cache_dir, style_input
from rtstyle_engines.engine_cache import EngineCache, EngineKey, Shape, ShapeProfile, file_sha256
from rtstyle_engines.onnx_export import cached_onnx
from rtstyle_engines.trt_build import build_engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuiltEngine:
    precision: str
    path: Path
    built: bool  # False when the cache already held it


def engine_for(
    bank: StyleBank, *, batch: int, height: int, width: int, precision: str, device_index: int, rebuild: bool = False
) -> Path:
    """An engine for ``bank`` that runs ``[batch,3,height,width]`` frames (cached or built now).

    ``rebuild`` builds afresh even when the cache has one: the caller could not load it.
    """
    shape: Shape = (batch, height, width)
    onnx_path = cached_onnx(bank)
    key = _key(onnx_path, precision, (ShapeProfile.up_to(shape, bank.build_generator().min_size),), device_index)
    cache = EngineCache(cache_dir("tensorrt"))
    found = None if rebuild else cache.find_covering(key, shape)
    if found is not None:
        return found[0]
    return _build(cache, key, onnx_path, bank, device_index)


def build_engines(
    bank: StyleBank, sizes: Sequence[tuple[int, int]], *, batch: int, precisions: Sequence[str],
    device_index: int = 0, onnx_path: Path | None = None,
) -> list[BuiltEngine]:
    """One engine per precision with one profile per ``(width, height)`` in ``sizes``."""
    onnx_path = onnx_path or cached_onnx(bank)
    minimum = bank.build_generator().min_size  # the runtime pads smaller frames up to this
    profiles = tuple(ShapeProfile((1, h, w), (batch, h, w), (batch, h, w))
                     for w, h in ((max(w, minimum), max(h, minimum)) for w, h in sizes))
    cache = EngineCache(cache_dir("tensorrt"))
    results = []
    for precision in precisions:
        key = _key(onnx_path, precision, profiles, device_index)
        existing = cache.lookup(key)
        path = existing or _build(cache, key, onnx_path, bank, device_index)
        results.append(BuiltEngine(precision, path, existing is None))
    return results


def _key(onnx_path: Path, precision: str, profiles: tuple[ShapeProfile, ...], device_index: int) -> EngineKey:
    trt = require_module("tensorrt", "tensorrt", "TensorRT engines")
    if not torch.cuda.is_available():
        raise BackendUnavailableError("TensorRT engines are built on a CUDA GPU, and torch sees none")
    gpu = torch.cuda.get_device_name(device_index)
    return EngineKey(file_sha256(onnx_path), trt.__version__, gpu, precision, profiles)


def _build(cache: EngineCache, key: EngineKey, onnx_path: Path, bank: StyleBank, device_index: int) -> Path:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{key.tensorrt_version}-{key.gpu_name}").strip("-")
    timing_cache = cache.directory / f"timing-{slug}.cache"
    notice("building a %s TensorRT engine for %s on %s (first use of these sizes; cached for next time): "
           "this can take a few minutes", key.precision, ", ".join(f"{p.opt[2]}x{p.opt[1]}" for p in key.profiles),
           key.gpu_name)
    with torch.cuda.device(device_index):
        data = build_engine(onnx_path, precision=key.precision, profiles=key.profiles,
                            style_input=(style_input(bank.config), bank.config.code_dim), timing_cache=timing_cache)
    path = cache.store(key, data)
    log.info("cached %s TensorRT engine %s", key.precision, path)
    return path
