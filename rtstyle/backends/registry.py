"""The one registry of backends: what ``--backend``, the window's picker and the benches offer.

The runtime's own torch backend is built in; every other backend is a plugin that a package adds
through the ``rtstyle.backends`` entry-point group (``rtstyle_engines`` adds ``onnx`` and
``tensorrt``, next to the builders of their graphs and engines) -- the mechanism
``rtstyle.commands`` uses for subcommands -- so the runtime never imports a plugin by name
(dependencies point one way, see docs/ARCHITECTURE.md).
Importing this module reads names only (no torch, no plugin code), so the command line lists the
backends without paying for torch; a backend's class is imported when one is first created, and
a backend whose library is missing stays listed and fails then with a
:class:`~rtstyle.errors.BackendUnavailableError` naming the extra to install.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import TYPE_CHECKING

from rtstyle.errors import BackendUnavailableError, InputError, RtStyleError
from rtstyle.interrupts import interrupts_held

if TYPE_CHECKING:
    import torch

    from rtstyle.backends.base import Backend
    from rtstyle.stylefile import StyleBank

log = logging.getLogger(__name__)

AUTO = "auto"
#: The runtime's own backend: always there, so every fallback (``auto``, the window's "Use
#: PyTorch") can end on it.
TORCH = "torch"
#: Entry-point group through which packages add backends: ``name = "module:BackendSubclass"``.
BACKEND_GROUP = "rtstyle.backends"
_BUILT_IN = EntryPoint(TORCH, "rtstyle.backends.torch_backend:TorchBackend", BACKEND_GROUP)

#: Backends to try for ``auto``, fastest first, per device type; names no package registered are
#: skipped.  CPU: ONNX Runtime ran the ``fast`` preset at 640×360 faster than eager torch on our
#: 2-core VMs (``rtstyle bench``), and much faster when decode and encode threads compete for the
#: cores (its threads sleep between calls; torch's OpenMP threads stall on each other).  CUDA: a
#: TensorRT engine, else torch in fp16 with channels_last and CUDA graphs; ONNX Runtime's CUDA
#: provider runs the fp32 graph and is used only when asked for (GPU orders are to be confirmed by
#: ``rtstyle bench`` on a GPU).
AUTO_ORDER: dict[str, tuple[str, ...]] = {
    "cpu": ("onnx", TORCH),
    "cuda": ("tensorrt", TORCH),
    "mps": (TORCH,),
}


def discover_backends(plugins: Iterable[EntryPoint]) -> dict[str, EntryPoint]:
    """The built-in backend, then every plugin whose name is free.  A clash is logged, not fatal:
    a broken third-party package must not take the runtime down."""
    found = {TORCH: _BUILT_IN}
    for plugin in plugins:
        if plugin.name in found or plugin.name == AUTO:
            log.warning("ignoring backend plugin %s = %s: the name is taken", plugin.name, plugin.value)
            continue
        found[plugin.name] = plugin
    return found


#: Every backend, by the name ``--backend`` takes, with where its class lives.
BACKENDS: dict[str, EntryPoint] = discover_backends(entry_points(group=BACKEND_GROUP))


def backend_names() -> list[str]:
    """What ``--backend`` accepts: ``auto`` and every registered backend."""
    return [AUTO, *BACKENDS]


def backend_class(name: str) -> type[Backend]:
    """The class registered as ``name``, imported on first use."""
    from rtstyle.backends.base import Backend  # torch is imported only once a backend is wanted

    if name not in BACKENDS:
        raise InputError(f"unknown backend {name!r}: use {', '.join(backend_names())}")
    entry = BACKENDS[name]
    try:
        cls = entry.load()
    except Exception as exc:  # noqa: BLE001 - a plugin's import can fail in any way; say which, never crash
        raise BackendUnavailableError(
            f"the {name} backend ({entry.value}) cannot be imported ({type(exc).__name__}: {exc}); reinstall rtstyle"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise BackendUnavailableError(f"the {name} backend ({entry.value}) is not a Backend")
    cls.name = name
    return cls


def backend_label(name: str) -> str:
    """What a window shows for backend ``name``: its class's label, or the name if it cannot load."""
    try:
        return backend_class(name).label or name
    except RtStyleError:
        return name


def require_module(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional library, or say which extra installs it (never an ImportError traceback).

    A stop signal waits for the import to finish: these are native libraries, and one landing
    while their C++ start-up calls back into Python aborts the process instead of stopping it.
    """
    try:
        with interrupts_held():
            return importlib.import_module(module)
    except ImportError as exc:
        raise BackendUnavailableError(
            f"{purpose} needs the {module} package, which is not installed ({exc}); "
            f"install it with: pip install 'rtstyle[{extra}]'"
        ) from None


def create_backend(name: str, bank: StyleBank, device: torch.device, dtype: torch.dtype) -> Backend:
    """Build backend ``name`` (or the fastest working one for ``auto``) for ``bank`` on ``device``."""
    if name == AUTO:
        return _create_auto(bank, device, dtype)
    backend = backend_class(name)(bank, device, dtype)
    log.info("backend %s", backend.describe())
    return backend


def _create_auto(bank: StyleBank, device: torch.device, dtype: torch.dtype) -> Backend:
    reasons = []
    for name in AUTO_ORDER.get(device.type, (TORCH,)):
        if name not in BACKENDS:
            reasons.append(f"{name}: not installed")
            continue
        try:
            backend = backend_class(name)(bank, device, dtype)
        except RtStyleError as exc:  # missing library, unsupported dtype, failed export/build
            reasons.append(f"{name}: {exc}")
            log.info("auto: skipping backend %s (%s)", name, exc)
            continue
        log.info("auto: picked backend %s%s", backend.describe(),
                 f" (skipped {'; '.join(reasons)})" if reasons else "")
        return backend
    raise BackendUnavailableError(f"no backend works on {device}: {'; '.join(reasons)}")
