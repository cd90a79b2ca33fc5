"""Inference backends for the generator (``--backend``): torch here, others from plugins.

The registry (:mod:`rtstyle.backends.registry`) is importable without torch, so the command line
can list the backends cheaply; the interface every backend implements is
:class:`rtstyle.backends.base.Backend`.
"""

from rtstyle.backends.registry import AUTO, AUTO_ORDER, BACKENDS, TORCH, backend_names, create_backend

__all__ = ["AUTO", "AUTO_ORDER", "BACKENDS", "TORCH", "backend_names", "create_backend"]
