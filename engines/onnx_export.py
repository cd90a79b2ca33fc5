"""ONNX export of a style bank: dynamic batch, height and width; the style mix is an input.

The graph is ``stylized = G(image, code)``: ``image`` ``[N,3,H,W]`` float32 in [0,1] with H, W >=
``min_size`` (metadata), the style code -- ``style_weights`` ``[N,S]`` (non-negative, summing to
1) for a one-hot bank, ``style_vector`` ``[N,D]`` (the mixed style vector) for a style-vector bank
-- and ``stylized`` ``[N,3,H,W]`` in [0,1].  Mixing styles, and for a style-vector bank adding a
picture as a style, therefore need no re-export.  Strength,
colour keeping and the working-resolution resize are *not* in the graph: the runtime applies them
in torch around every backend, so all backends share one implementation of them.

Export uses torch's dynamo exporter (``torch.export`` + onnxscript), which records the symbolic
shape arithmetic of the stride padding and the crop; the TorchScript exporter would bake the
example's sizes into ``Pad`` as constants.  :func:`cached_onnx` is what the ONNX Runtime backend
(:mod:`rtstyle_engines.onnxruntime_backend`) and the TensorRT builder start from.  Any registered
generator exports: the graph needs only the :class:`~rtstyle.models.registry.Generator` interface.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch

from rtstyle import __version__
from rtstyle.backends.registry import require_module
from rtstyle.console import notice
from rtstyle.errors import BackendUnavailableError
from rtstyle.stylefile import StyleBank
from rtstyle_engines.artifacts import IMAGE_INPUT, OUTPUT, bank_fingerprint, cache_dir, style_input
from rtstyle_engines.engine_cache import atomic_write
from rtstyle_engines.graph import ExportGraph

log = logging.getLogger(__name__)

#: Opset 18: InstanceNormalization, Resize and Pad as TensorRT 10's parser and ONNX Runtime
#: >= 1.14 both implement them.
DEFAULT_OPSET = 18
#: Bumped whenever the exported graph changes for the same bank (cache keys include it).
EXPORT_VERSION = 1
METADATA_FORMAT = "rtstyle-onnx"


def export_onnx(bank: StyleBank, destination: Path, *, opset: int = DEFAULT_OPSET) -> Path:
    """Export ``bank``'s generator to ``destination`` (written atomically); returns the path."""
    onnx = require_module("onnx", "onnx", "ONNX export")
    require_module("onnxscript", "onnx", "ONNX export")  # torch's dynamo exporter needs it
    graph = ExportGraph(bank.build_generator())
    stride, min_size = graph.stride, graph.min_size
    # An example that is not a multiple of the stride and has a batch > 1, so no size is
    # specialised to the example (torch.export treats sizes 0 and 1 as constants).
    image = torch.rand(2, 3, min_size + stride + 1, min_size + 2 * stride + 3)
    code = torch.full((2, bank.config.code_dim), 1.0 / bank.config.code_dim)
    batch = torch.export.Dim("batch", min=1)
    height = torch.export.Dim("height", min=min_size)
    width = torch.export.Dim("width", min=min_size)
    with _quiet_exporter():
        program = torch.onnx.export(
            graph, (image, code), dynamo=True, opset_version=opset, verbose=False,
            input_names=[IMAGE_INPUT, style_input(bank.config)], output_names=[OUTPUT],
            dynamic_shapes={"image": {0: batch, 2: height, 3: width}, "code": {0: batch}},
        )
    model = program.model_proto
    metadata = {
        "format": METADATA_FORMAT, "export_version": str(EXPORT_VERSION), "rtstyle_version": __version__,
        "bank_sha256": bank_fingerprint(bank), "style_names": json.dumps(_graph_style_names(bank)),
        "stride": str(stride), "min_size": str(min_size),
        "outside_graph": "strength, keep_colors, working-resolution resize, the scale pyramid and the fusion network F "
                         "are applied by the runtime",
    }
    onnx.helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(destination, model.SerializeToString())
    log.info("exported %s to %s (opset %d)", bank.name, destination, opset)
    return destination


def cached_onnx(bank: StyleBank, *, rebuild: bool = False) -> Path:
    """The bank's exported graph from the cache, exporting it on first use.

    ``rebuild`` replaces a cached graph the caller could not load (a truncated or damaged file
    would otherwise fail every later run the same way).
    """
    # Style names are in the graph's metadata, so they are part of the key with the weights.
    key = hashlib.sha256(
        f"{bank_fingerprint(bank)}:{_graph_style_names(bank)}:{EXPORT_VERSION}:{DEFAULT_OPSET}:{torch.__version__}".encode()
    ).hexdigest()[:32]
    path = cache_dir("onnx") / f"{key}.onnx"
    if path.is_file() and not rebuild:
        return path
    notice("exporting %s to ONNX (first use of this bank here; about 10 s, cached in %s)", bank.name, path.parent)
    try:
        return export_onnx(bank, path)
    except BackendUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - the exporter's failures are many; auto falls back on this
        raise BackendUnavailableError(f"ONNX export of {bank.name} failed: {type(exc).__name__}: {exc}") from exc


def _graph_style_names(bank: StyleBank) -> list[str]:
    """The styles the graph's weights input indexes; none for a style-vector bank, whose graph
    takes the vector (so its styles, pictures included, come and go without a new export)."""
    return [] if bank.config.style_dim else bank.style_names


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's progress warnings (they are about its internals, not the user's bank)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
