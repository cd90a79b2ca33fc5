"""CUDA graph replay for the torch backend: one captured graph per input shape.

A small generator launches dozens of kernels per frame; at 1080p on a large GPU each finishes in
microseconds, so Python and launch overhead, not arithmetic, set the frame rate.  Capturing the
forward pass once per shape and replaying it removes that overhead (PyTorch docs, "CUDA Graphs").
Video keeps one shape for its whole length, so a handful of graphs covers a session.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

log = logging.getLogger(__name__)

#: Graphs kept alive at once; each holds its own activation memory.  A new working resolution
#: (GUI scale slider) or a short last batch adds one; the least recently used is dropped.
MAX_GRAPHS = 4
#: Eager calls before capture: they let cuDNN pick its algorithms and the allocator grow, so
#: neither happens inside the capture (where it is not allowed).
_WARMUP_CALLS = 2

_Key = tuple[tuple[int, ...], tuple[int, ...], torch.dtype]


@dataclass
class _Captured:
    graph: torch.cuda.CUDAGraph
    images: torch.Tensor  # static input buffers: new frames are copied in before each replay
    weights: torch.Tensor
    output: torch.Tensor  # written by every replay


class CudaGraphRunner:
    """Calls ``module(images, weights)`` through captured CUDA graphs, capturing on first sight."""

    def __init__(self, module: nn.Module, max_graphs: int = MAX_GRAPHS) -> None:
        self.module = module
        self.max_graphs = max_graphs
        self._graphs: OrderedDict[_Key, _Captured] = OrderedDict()

    def __call__(self, images: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        key = (tuple(images.shape), tuple(weights.shape), images.dtype)
        captured = self._graphs.get(key)
        if captured is None:
            captured = self._capture(images, weights)
            self._graphs[key] = captured
            while len(self._graphs) > self.max_graphs:
                self._graphs.popitem(last=False)
        self._graphs.move_to_end(key)
        captured.images.copy_(images)
        captured.weights.copy_(weights)
        captured.graph.replay()
        # A copy, not the static buffer: the next replay overwrites it, and callers post-process
        # in place (clamp_) or keep the result while the next batch runs.
        return captured.output.clone()

    def _capture(self, images: torch.Tensor, weights: torch.Tensor) -> _Captured:
        static_images = images.clone()
        static_weights = weights.clone()
        side = torch.cuda.Stream(device=images.device)
        side.wait_stream(torch.cuda.current_stream(images.device))
        with torch.cuda.stream(side):
            for _ in range(_WARMUP_CALLS):
                self.module(static_images, static_weights)
        torch.cuda.current_stream(images.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # Each graph gets its own memory pool: graphs replayed in any order must not share
        # activation memory with another graph's output.
        with torch.cuda.graph(graph):
            output = self.module(static_images, static_weights)
        log.info("captured a CUDA graph for images %s", tuple(images.shape))
        return _Captured(graph, static_images, static_weights, output)
