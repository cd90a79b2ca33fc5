"""The torch backend: the generator itself, eager, with the GPU fast paths switched on.

On CUDA it runs in the stylizer's dtype (float16 by default: tensor cores) with channels_last
memory (what cuDNN's fastest NHWC convolution kernels want), and replays captured CUDA graphs
so launch overhead does not cap the frame rate.  ``torch.compile`` is an option for when a
compiler toolchain is present; it is off by default because its first call compiles for tens
of seconds, which a live window cannot hide.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import torch

from rtstyle.backends.cuda_graphs import MAX_GRAPHS, CudaGraphRunner
from rtstyle.backends.base import Backend
from rtstyle.stylefile import StyleBank

log = logging.getLogger(__name__)

#: ``RTSTYLE_TORCH_COMPILE=1`` compiles the generator with ``torch.compile`` (any device).
COMPILE_ENV = "RTSTYLE_TORCH_COMPILE"
#: ``RTSTYLE_CUDA_GRAPHS=0`` turns CUDA graph replay off (debugging, profilers).
CUDA_GRAPHS_ENV = "RTSTYLE_CUDA_GRAPHS"
#: Octaves a scale pyramid runs for the largest frames it meets (8K with a base of 32 is 7).
PYRAMID_OCTAVES = 8


class TorchBackend(Backend):
    """Eager PyTorch; on CUDA with channels_last, the stylizer's dtype and CUDA graphs.

    Built in: the registry names it ``torch`` without a plugin (:data:`rtstyle.backends.registry.TORCH`).
    """

    label = "PyTorch"

    def __init__(
        self,
        bank: StyleBank,
        device: torch.device,
        dtype: torch.dtype,
        *,
        cuda_graphs: bool | None = None,
        compile: bool | None = None,
    ) -> None:
        super().__init__(bank, device, dtype)
        on_cuda = device.type == "cuda"
        self.memory_format = torch.channels_last if on_cuda else torch.contiguous_format
        self.generator = self.generator.to(device, dtype, memory_format=self.memory_format)
        if on_cuda:
            # Video keeps one frame size for minutes: let cuDNN time its algorithms once per shape.
            torch.backends.cudnn.benchmark = True
        self.compiled = _env_flag(COMPILE_ENV, False) if compile is None else compile
        use_graphs = on_cuda and (_env_flag(CUDA_GRAPHS_ENV, True) if cuda_graphs is None else cuda_graphs)
        model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = self.generator.paint
        if self.compiled:
            # dynamic=False: one specialised kernel set per frame size, as with CUDA graphs.
            model = torch.compile(self.generator.paint, dynamic=False)
        self.cuda_graphs = use_graphs
        # A scale pyramid calls the level once per octave, each its own shape (and graph).
        graphs = MAX_GRAPHS * PYRAMID_OCTAVES if bank.config.pyramid_base else MAX_GRAPHS
        self._run = CudaGraphRunner(model, graphs) if use_graphs else model

    def __call__(self, images: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return self._run(images.to(self.dtype), code.to(self.dtype))

    def describe(self) -> str:
        extras = [str(self.dtype).removeprefix("torch.")]
        if self.memory_format == torch.channels_last:
            extras.append("channels_last")
        if self.cuda_graphs:
            extras.append("CUDA graphs")
        if self.compiled:
            extras.append("torch.compile")
        return f"torch {torch.__version__} on {self.device} ({', '.join(extras)})"


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() not in {"0", "false", "no", "off"}
