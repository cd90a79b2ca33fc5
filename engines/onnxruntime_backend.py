"""The ONNX Runtime backend: the exported graph on the CPU provider, or CUDA/TensorRT providers.

The graph comes from :func:`rtstyle_engines.onnx_export.cached_onnx` (exported on first use and
cached per bank), so any bank runs without a manual export.  The runtime finds this backend as
``onnx`` through the ``rtstyle.backends`` entry point.  On CPUs, ONNX
Runtime's fused convolution kernels and graph optimisations run the small presets several times
faster than eager torch.  Session options are set for a machine that also decodes and encodes
video: intra-op threads = the cores this process may use, no inter-op pool (the graph is a chain),
and threads that sleep instead of spinning between calls so decode and encode keep their cores.
On CUDA, inputs and outputs are bound to torch's device memory (I/O binding) on torch's stream,
so frames never leave the GPU.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rtstyle.backends.base import Backend, pad_to_minimum
from rtstyle.backends.registry import require_module
from rtstyle.errors import BackendUnavailableError
from rtstyle.stylefile import StyleBank
from rtstyle_engines.artifacts import IMAGE_INPUT, OUTPUT, cache_dir, style_input
from rtstyle_engines.onnx_export import cached_onnx

log = logging.getLogger(__name__)


class OnnxRuntimeBackend(Backend):
    """Runs the exported graph (float32) with ONNX Runtime."""

    label = "ONNX Runtime"

    def __init__(
        self,
        bank: StyleBank,
        device: torch.device,
        dtype: torch.dtype,
        *,
        model_path: Path | None = None,
        threads: int | None = None,
    ) -> None:
        super().__init__(bank, device, dtype)
        ort = require_module("onnxruntime", "onnx", "the onnx backend")
        if device.type not in {"cpu", "cuda"}:
            raise BackendUnavailableError(f"the onnx backend runs on cpu or cuda, not {device.type}")
        if device.type == "cpu" and dtype != torch.float32:
            raise BackendUnavailableError("the onnx backend runs float32 on the CPU; use --dtype float32")
        self.threads = threads or usable_cores()
        self.model_path, self.session = self._open_session(ort, model_path)
        self.min_size = int(self.session.get_modelmeta().custom_metadata_map.get("min_size", 1))
        self.providers = self.session.get_providers()
        log.info("onnxruntime %s session on %s", ort.__version__, self.providers)

    def _open_session(self, ort: Any, model_path: Path | None) -> tuple[Path, Any]:
        """A session on ``model_path``, or on the cached graph, which is rebuilt once if it is damaged."""
        path = model_path or cached_onnx(self.bank)
        try:
            return path, self._session(ort, path)
        except Exception as exc:  # noqa: BLE001 - ORT raises its own Fail/InvalidProtobuf/... types
            if model_path is not None:
                raise BackendUnavailableError(f"ONNX Runtime cannot load {model_path}: {exc}") from exc
            log.warning("the cached ONNX graph %s cannot be loaded (%s); rebuilding it", path, str(exc).splitlines()[0])
            path = cached_onnx(self.bank, rebuild=True)
            return path, self._session(ort, path)

    def _session(self, ort: Any, path: Path) -> Any:
        return ort.InferenceSession(str(path), _session_options(ort, self.threads), providers=self._providers(ort))

    def _providers(self, ort: Any) -> list[Any]:
        if self.device.type == "cpu":
            return ["CPUExecutionProvider"]
        available = ort.get_available_providers()
        if "CUDAExecutionProvider" not in available:
            raise BackendUnavailableError(
                "this onnxruntime has no CUDA provider; install the GPU build: pip install onnxruntime-gpu"
            )
        index = self.device.index if self.device.index is not None else torch.cuda.current_device()
        stream = torch.cuda.current_stream(index).cuda_stream
        # Our stream, so ORT's kernels are ordered after torch's preprocessing without a sync.
        cuda = {"device_id": index, "user_compute_stream": str(stream)}
        providers: list[Any] = [("CUDAExecutionProvider", cuda), "CPUExecutionProvider"]
        if "TensorrtExecutionProvider" in available:
            trt = {"device_id": index, "user_compute_stream": str(stream),
                   "trt_fp16_enable": self.dtype == torch.float16,
                   "trt_engine_cache_enable": True, "trt_timing_cache_enable": True,
                   "trt_engine_cache_path": str(cache_dir("onnxruntime-tensorrt"))}
            providers.insert(0, ("TensorrtExecutionProvider", trt))
        return providers

    def __call__(self, images: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        height, width = images.shape[-2:]
        padded = pad_to_minimum(images, self.min_size).float().contiguous()  # NCHW float32
        code = code.float().contiguous()
        if self.device.type == "cuda":
            result = self._run_bound(padded, code)
        else:
            feeds = {IMAGE_INPUT: padded.numpy(), style_input(self.bank.config): code.numpy()}
            result = torch.from_numpy(self.session.run([OUTPUT], feeds)[0])
        return result[..., :height, :width].to(images.dtype)

    def _run_bound(self, images: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        index = images.device.index or 0
        output = torch.empty_like(images)
        binding = self.session.io_binding()
        for name, tensor in ((IMAGE_INPUT, images), (style_input(self.bank.config), code), (OUTPUT, output)):
            bind = binding.bind_output if name == OUTPUT else binding.bind_input
            bind(name, "cuda", index, np.float32, tuple(tensor.shape), tensor.data_ptr())
        self.session.run_with_iobinding(binding)
        return output

    def describe(self) -> str:
        where = ", ".join(p.removesuffix("ExecutionProvider") for p in self.providers)
        threads = f", {self.threads} threads" if self.device.type == "cpu" else ""
        return f"onnxruntime ({where}{threads})"


def usable_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's core count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _session_options(ort: Any, threads: int) -> Any:
    """Options for a session that shares the machine with a decoder and an encoder.

    The memory pattern is off: with it, the first run at a new input shape plans one block for
    all of that run's tensors and allocates it *beside* the arena that run already grew, so a
    convert kept both — 175 MB more at 720p, 400 MB at 1080p, and again for every new frame size
    the live window sees.  The arena stays on: it reuses the same buffers from frame to frame
    (without it, per-op mallocs are slower and fragment the heap to a higher peak).
    """
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = True
    options.enable_mem_pattern = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options
