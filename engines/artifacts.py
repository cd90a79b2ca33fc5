"""Compiled artefacts (ONNX graphs, TensorRT engines): their tensor names and where they are cached.

The builders (:mod:`rtstyle_engines.onnx_export`, :mod:`rtstyle_engines.tensorrt_engine`) and the
backends that run what they build (:mod:`rtstyle_engines.onnxruntime_backend`,
:mod:`rtstyle_engines.tensorrt_backend`) share these names.  Builders cache what they make under
:func:`cache_dir`, keyed by a hash of the bank's contents, so ``--backend onnx`` works on any bank
without a manual export step and the second run starts at once.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import platformdirs

from rtstyle.models.registry import GeneratorSpec
from rtstyle.stylefile import StyleBank

#: Names of the exported graph's image input (``[N,3,H,W]`` in [0,1]) and output (``[N,3,H,W]``),
#: shared by every builder and backend.
IMAGE_INPUT, OUTPUT = "image", "stylized"
#: The graph's style input, the generator's style code (:meth:`Generator.style_code`): the
#: mix weights ``[N,S]`` of a one-hot bank, or the style vector ``[N,D]`` of a style-vector bank,
#: whose stored styles then stay outside the graph, so a picture added as a style needs no export.
WEIGHTS_INPUT, VECTOR_INPUT = "style_weights", "style_vector"
#: Overrides the cache directory (tests, read-only homes, shared build machines).
CACHE_DIR_ENV = "RTSTYLE_CACHE_DIR"


def style_input(config: GeneratorSpec) -> str:
    """Name of the graph's style input for a generator of ``config`` (see :data:`VECTOR_INPUT`)."""
    return VECTOR_INPUT if config.style_dim else WEIGHTS_INPUT


def cache_dir(kind: str) -> Path:
    """Directory holding cached artefacts of ``kind`` (``onnx``, ``tensorrt``), created on demand."""
    override = os.environ.get(CACHE_DIR_ENV)
    root = Path(override) if override else platformdirs.user_cache_path("rtstyle")
    path = root / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def bank_fingerprint(bank: StyleBank) -> str:
    """SHA-256 of what the exported graph computes: its architecture, config and every weight in it.

    Hashing contents rather than the file means a bank built in memory (benchmarks, tests) has a
    key too, and renaming or re-saving a file with the same weights reuses its artefacts.  A
    style-vector bank's stored vectors are left out: the graph takes the vector as an input.
    """
    config = bank.config.to_dict()
    if bank.config.style_dim:
        config.pop("num_styles")
    digest = hashlib.sha256(json.dumps([bank.architecture, config], sort_keys=True).encode())
    for name in sorted(bank.state_dict):
        if bank.config.style_dim and name == "style_vectors":
            continue
        tensor = bank.state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()

