"""Inference backends for the generator: torch, ONNX Runtime, TensorRT (``--backend``).

Importing this package registers all three; none imports its optional library (onnxruntime,
tensorrt) until a backend is created, so a missing library is a clear
:class:`~rtstyle.errors.BackendUnavailableError` naming the extra to install, at creation time.
"""

from rtstyle.backends import onnxruntime_backend, tensorrt_backend, torch_backend  # noqa: F401  (register)
from rtstyle.backends.registry import AUTO, AUTO_ORDER, BACKENDS, Backend, backend_names, create_backend

__all__ = ["AUTO", "AUTO_ORDER", "BACKENDS", "Backend", "backend_names", "create_backend"]
