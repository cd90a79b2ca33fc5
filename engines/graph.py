"""The generator as it is exported: same function, written for symbolic shapes and for TensorRT.

Two things in the runtime generator are right for eager torch but wrong in an exported graph:

* Conditional instance norm folds the batch into channels (``[1, N*C, H, W]``) to apply one
  affine per (sample, channel) in a single fused call.  Exported, that is an
  ``InstanceNormalization`` node whose channel count depends on the batch and whose scale and
  bias are computed tensors; TensorRT's ONNX parser wants them as initializers of a fixed
  channel count (onnx/onnx-tensorrt#374, NVIDIA/TensorRT#1183 and #3165 are the long history of
  this op's converters).  :class:`ExportInstanceNorm` normalises ``[N, C, H, W]`` with a unit
  affine (static C, constant scale and bias — TensorRT's native normalization layer) and applies
  the mixed per-sample affine as a broadcast multiply-add.  The result is the same function.
* The generator pads the frame to its stride with sizes computed by Python arithmetic.
  :class:`ExportGraph` pads first with sizes computed from the symbolic input shape
  (``(-h) mod stride``), so the exporter records a ``Pad`` whose amounts follow the input and the
  generator's own padding sees a multiple of the stride and does nothing; the crop back to the
  input size is a ``Slice`` on the symbolic size.  Frames below ``min_size`` are padded by the
  runtime before the graph (the graph declares ``min_size`` in its metadata).

The graph is one level of the generator: a bank with a scale pyramid (``pyramid_base``) runs it
once per octave, and the runtime composes the octaves around whichever backend runs it, because
how many octaves there are depends on the frame size, which a graph with dynamic height and width
cannot branch on.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from rtstyle.models import Generator
from rtstyle.models.blocks import ConditionalInstanceNorm


class ExportInstanceNorm(ConditionalInstanceNorm):
    """Conditional instance norm as unit-affine ``InstanceNormalization`` + per-sample affine."""

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        # x: [N,C,H,W], code: [N,S] style weights or [N,D] style vectors
        gamma, beta = self.mixed_affine(code)  # [N,C] each
        normalized = F.instance_norm(x, eps=self.eps)
        return normalized * gamma[:, :, None, None] + beta[:, :, None, None]


class ExportGraph(nn.Module):
    """``(image [N,3,H,W] in [0,1], code [N,K]) -> stylized [N,3,H,W]``, export-ready.

    ``code`` is the generator's style code: the weights ``[N,S]`` of a one-hot bank, the style
    vector ``[N,D]`` of a style-vector bank (see :data:`rtstyle_engines.artifacts.VECTOR_INPUT`).
    """

    def __init__(self, generator: Generator) -> None:
        super().__init__()
        self.generator = _with_export_norms(generator)
        self.stride = generator.config.stride
        self.min_size = generator.min_size

    def forward(self, image: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[-2], image.shape[-1]
        padded = F.pad(image, (0, (-width) % self.stride, 0, (-height) % self.stride), mode="replicate")
        return self.generator.paint(padded, code)[..., :height, :width]


def _with_export_norms(generator: Generator) -> Generator:
    """A float32 CPU copy of ``generator`` whose norms are :class:`ExportInstanceNorm` (an
    architecture without conditional instance norm is copied as it is)."""
    exported = copy.deepcopy(generator).float().cpu().eval()
    targets = [(parent, name, child) for parent in exported.modules() for name, child in parent.named_children()
               if type(child) is ConditionalInstanceNorm]
    for parent, name, child in targets:
        code_dim, channels = child.gamma.shape
        replacement = ExportInstanceNorm(channels, code_dim, eps=child.eps, with_base=child.with_base)
        replacement.load_state_dict(child.state_dict())
        setattr(parent, name, replacement)
    return exported
