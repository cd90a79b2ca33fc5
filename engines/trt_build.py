"""Building TensorRT engines from the exported ONNX graph (TensorRT 10 API).

One engine per precision, with one optimization profile per requested frame size so each size
gets kernels tuned for it.  A timing cache (per TensorRT version and GPU) makes rebuilds for new
sizes take seconds instead of minutes.  In FP16/BF16 engines the instance-norm layers still
compute in FP32: their variance is a sum of squares over a whole frame, which overflows FP16's
range at 1080p (TensorRT warns about the same for LayerNorm), and they are a tiny share of the
FLOPs.  FP32 engines clear TF32 so that "fp32" means the precision the parity tests check.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rtstyle.backends.registry import require_module
from rtstyle.errors import BackendUnavailableError
from rtstyle_engines.artifacts import IMAGE_INPUT
from rtstyle_engines.engine_cache import ShapeProfile, atomic_write

log = logging.getLogger(__name__)

#: Scratch memory TensorRT may use while choosing kernels; the engine itself needs far less.
WORKSPACE_BYTES = 4 << 30


def make_logger(trt: Any) -> Any:
    """A TensorRT logger that forwards to :mod:`logging` instead of printing to stderr (builder and
    runtime, :mod:`rtstyle_engines.tensorrt_backend`, both log through it)."""

    class _Logger(trt.ILogger):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            trt.ILogger.__init__(self)

        def log(self, severity: Any, msg: str) -> None:
            level = {trt.ILogger.INTERNAL_ERROR: logging.ERROR, trt.ILogger.ERROR: logging.ERROR,
                     trt.ILogger.WARNING: logging.WARNING, trt.ILogger.INFO: logging.DEBUG}.get(severity, logging.DEBUG)
            logging.getLogger("tensorrt").log(level, "%s", msg)

    return _Logger()


def build_engine(
    onnx_path: Path,
    *,
    precision: str,
    profiles: Sequence[ShapeProfile],
    style_input: tuple[str, int],
    timing_cache: Path | None = None,
) -> bytes:
    """Parse ``onnx_path``, build a serialized engine for ``precision`` and ``profiles``.

    ``style_input`` is the graph's style-code input and its width (weights ``S`` or vector ``D``).
    """
    trt = require_module("tensorrt", "tensorrt", "building TensorRT engines")
    logger = make_logger(trt)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise BackendUnavailableError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    _set_precision(trt, network, config, precision)
    for shapes in profiles:
        profile = builder.create_optimization_profile()
        profile.set_shape(IMAGE_INPUT, *[(n, 3, h, w) for n, h, w in (shapes.min, shapes.opt, shapes.max)])
        code_name, code_dim = style_input
        profile.set_shape(code_name, *[(n, code_dim) for n, _, _ in (shapes.min, shapes.opt, shapes.max)])
        config.add_optimization_profile(profile)
    cache = config.create_timing_cache(timing_cache.read_bytes() if timing_cache and timing_cache.is_file() else b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise BackendUnavailableError(f"TensorRT failed to build a {precision} engine from {onnx_path} "
                                      "(run with --debug to see its log)")
    if timing_cache is not None:
        atomic_write(timing_cache, bytes(cache.serialize()))
    return bytes(serialized)


def _set_precision(trt: Any, network: Any, config: Any, precision: str) -> None:
    if precision == "fp32":
        config.clear_flag(trt.BuilderFlag.TF32)
        return
    config.set_flag(trt.BuilderFlag.FP16 if precision == "fp16" else trt.BuilderFlag.BF16)
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        if layer.type == trt.LayerType.NORMALIZATION:
            layer.__class__ = trt.INormalizationLayer  # the Python API's documented down-cast
            layer.compute_precision = trt.float32
