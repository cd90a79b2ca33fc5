"""The TensorRT backend: runs engines built by ``engines/`` on torch's CUDA tensors and stream.

Written against the TensorRT 10 API (named I/O tensors, ``set_tensor_address``,
``execute_async_v3``).  Inputs and outputs are torch CUDA tensors whose device pointers are
handed to the execution context, and the engine is enqueued on torch's current stream, so frames
already on the GPU never visit the host and nothing synchronises inside the loop; pycuda is not
needed.  An engine covers a range of shapes (its optimization profile); the first frame of a new
size asks :func:`rtstyle_engines.tensorrt_engine.engine_for` for an engine covering it, which
comes from the engine cache when one was built before.  The runtime finds this backend as
``tensorrt`` through the ``rtstyle.backends`` entry point.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from rtstyle.backends.base import Backend, pad_to_minimum
from rtstyle.backends.registry import require_module
from rtstyle.errors import BackendUnavailableError, InputError
from rtstyle.stylefile import StyleBank
from rtstyle_engines.artifacts import IMAGE_INPUT, OUTPUT, style_input
from rtstyle_engines.tensorrt_engine import engine_for
from rtstyle_engines.trt_build import make_logger

log = logging.getLogger(__name__)

#: Engine precision for each stylizer dtype (the engine's I/O stays float32 either way).
PRECISIONS: dict[torch.dtype, str] = {torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}


class TensorRTBackend(Backend):
    """Executes a serialized TensorRT engine; builds (or fetches from cache) one per frame size."""

    label = "TensorRT"

    def __init__(
        self, bank: StyleBank, device: torch.device, dtype: torch.dtype, *, engine_path: Path | None = None
    ) -> None:
        super().__init__(bank, device, dtype)
        self.trt = require_module("tensorrt", "tensorrt", "the tensorrt backend")
        if device.type != "cuda":
            raise BackendUnavailableError("the tensorrt backend needs a CUDA GPU; use --backend torch or onnx")
        self.precision = PRECISIONS[dtype]
        self.device_index = device.index if device.index is not None else torch.cuda.current_device()
        self.min_size = self.generator.min_size
        self._runtime = self.trt.Runtime(make_logger(self.trt))
        self._fixed_engine = engine_path is not None
        self._engine: Any = None
        self._context: Any = None
        self._profile = 0
        self.engine_path: Path | None = None
        if engine_path is not None:
            self._load(engine_path)

    def __call__(self, images: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        height, width = images.shape[-2:]
        padded = pad_to_minimum(images, self.min_size).float().contiguous()  # NCHW float32
        code = code.float().contiguous()
        shape = tuple(padded.shape)
        profile = self._profile_for(shape)
        if profile is None:
            if self._fixed_engine:
                raise InputError(f"the TensorRT engine {self.engine_path} does not cover input shape {shape}")
            self._load_built(shape)
            profile = self._profile_for(shape)
            if profile is None:
                raise BackendUnavailableError(f"the TensorRT builder returned an engine that does not cover {shape}")
        if profile != self._profile:
            stream = torch.cuda.current_stream(images.device)
            self._context.set_optimization_profile_async(profile, stream.cuda_stream)
            self._profile = profile
        return self._execute(padded, code)[..., :height, :width].to(images.dtype)

    def _execute(self, images: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        context, code_input = self._context, style_input(self.bank.config)
        context.set_input_shape(IMAGE_INPUT, tuple(images.shape))
        context.set_input_shape(code_input, tuple(code.shape))
        output = torch.empty(tuple(context.get_tensor_shape(OUTPUT)), dtype=torch.float32, device=images.device)
        for name, tensor in ((IMAGE_INPUT, images), (code_input, code), (OUTPUT, output)):
            context.set_tensor_address(name, tensor.data_ptr())
        # Same stream as torch's pre/post-processing: ordered without a host sync, and the caching
        # allocator will not hand these buffers to anything else before the engine is done.
        stream = torch.cuda.current_stream(images.device)
        if not context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError("TensorRT execute_async_v3 failed (see the tensorrt log above)")
        return output

    def _profile_for(self, shape: tuple[int, ...]) -> int | None:
        """Index of the engine's first optimization profile that accepts ``shape``, if any."""
        if self._engine is None:
            return None
        for index in range(self._engine.num_optimization_profiles):
            low, _opt, high = self._engine.get_tensor_profile_shape(IMAGE_INPUT, index)
            if all(lo <= s <= hi for lo, s, hi in zip(low, shape, high)):
                return index
        return None

    def _load_built(self, shape: tuple[int, ...]) -> None:
        """Load the builder's engine for ``shape``; one that fails to load is rebuilt once."""
        def build(rebuild: bool) -> Path:
            return engine_for(self.bank, batch=shape[0], height=shape[2], width=shape[3],
                              precision=self.precision, device_index=self.device_index, rebuild=rebuild)

        path = build(False)
        try:
            self._load(path)
        except BackendUnavailableError as exc:
            log.warning("the cached TensorRT engine %s cannot be loaded (%s); rebuilding it", path, exc)
            self._load(build(True))

    def _load(self, path: Path) -> None:
        with torch.cuda.device(self.device_index):
            engine = self._runtime.deserialize_cuda_engine(Path(path).read_bytes())
            if engine is None:
                raise BackendUnavailableError(f"TensorRT could not load engine {path} (built by another version?)")
            for name in (IMAGE_INPUT, style_input(self.bank.config), OUTPUT):
                if engine.get_tensor_dtype(name) != self.trt.DataType.FLOAT:
                    raise BackendUnavailableError(f"engine {path}: tensor {name} is not float32")
            self._context = engine.create_execution_context()  # starts on profile 0
        self._engine, self.engine_path, self._profile = engine, Path(path), 0
        log.info("loaded TensorRT engine %s", path)

    def describe(self) -> str:
        return f"tensorrt {self.trt.__version__} on {torch.cuda.get_device_name(self.device_index)} ({self.precision})"
