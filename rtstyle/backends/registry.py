"""The backend interface, the registry of backends, and ``auto`` selection.

A backend runs the generator G(x, w) on tensors that are already on the stylizer's device; the
stylizer keeps pre- and post-processing (uint8 conversion, working-resolution resize, keep
colours, strength) in torch around it, so every backend gets exactly the same frames and only
the network itself changes engine.  Backends register themselves with :func:`register_backend`
(an explicit dict, never a name looked up in a file), and :func:`create_backend` builds one by
name, or picks the fastest that works for ``auto``.
"""

from __future__ import annotations

import importlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import ModuleType
from typing import TypeVar

import torch
import torch.nn.functional as F

from rtstyle.errors import BackendUnavailableError, InputError, RtStyleError
from rtstyle.models import StyleGenerator
from rtstyle.stylefile import StyleBank

log = logging.getLogger(__name__)

AUTO = "auto"

#: Backends to try for ``auto``, fastest first, per device type.  CPU: ONNX Runtime ran the
#: ``fast`` preset at 640×360 faster than eager torch on our 2-core VMs (``rtstyle bench``), and
#: much faster when decode and encode threads compete for the cores (its threads sleep between
#: calls; torch's OpenMP threads stall on each other).  CUDA: a TensorRT engine, else torch in
#: fp16 with channels_last and CUDA graphs; ONNX Runtime's CUDA provider runs the fp32 graph and
#: is used only when asked for (GPU orders are to be confirmed by ``rtstyle bench`` on a GPU).
AUTO_ORDER: dict[str, tuple[str, ...]] = {
    "cpu": ("onnx", "torch"),
    "cuda": ("tensorrt", "torch"),
    "mps": ("torch",),
}


class Backend(ABC):
    """Runs G(x, c): ``images`` ``[N,3,H,W]`` in [0,1] and the style code ``[N,K]`` on the device.

    The code is :meth:`StyleGenerator.style_code` of the mix: the weights ``[N,S]`` themselves for
    a one-hot bank, the mixed style vector ``[N,D]`` for a style-vector bank (so any picture's
    vector runs, stored or not).  It runs one level of G (:meth:`StyleGenerator.paint`): the
    whole generator, unless the bank has a scale pyramid, which the stylizer composes around the
    backend, one call per octave.

    ``name`` is set by :func:`register_backend`.  ``generator`` is the torch module (on the
    device for the torch backend, on the CPU otherwise) so callers can ask it for its stride,
    minimum size and cost; ``memory_format`` is the layout the backend wants its input in (the
    stylizer prepares frames in it, saving a conversion).
    """

    name: str = ""

    def __init__(self, bank: StyleBank, device: torch.device, dtype: torch.dtype) -> None:
        self.bank = bank
        self.device = device
        self.dtype = dtype
        self.generator: StyleGenerator = bank.build_generator()
        self.memory_format = torch.contiguous_format

    @abstractmethod
    def __call__(self, images: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """Stylize ``images`` ``[N,3,H,W]``; returns ``[N,3,H,W]`` in ``images``' dtype and device."""

    def describe(self) -> str:
        """One line for logs and the CLI: the engine and how it runs."""
        return self.name


_B = TypeVar("_B", bound=type[Backend])

#: Every backend, by the name ``--backend`` takes.  Filled by :func:`register_backend`.
BACKENDS: dict[str, type[Backend]] = {}


def register_backend(name: str) -> Callable[[_B], _B]:
    """Class decorator: make a :class:`Backend` subclass available as ``name``."""

    def register(cls: _B) -> _B:
        if name in BACKENDS:
            raise ValueError(f"backend {name!r} registered twice")
        cls.name = name
        BACKENDS[name] = cls
        return cls

    return register


def backend_names() -> list[str]:
    """What ``--backend`` accepts: ``auto`` and every registered backend."""
    return [AUTO, *BACKENDS]


def require_module(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional library, or say which extra installs it (never an ImportError traceback)."""
    try:
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
    if name not in BACKENDS:
        raise InputError(f"unknown backend {name!r}: use {', '.join(backend_names())}")
    backend = BACKENDS[name](bank, device, dtype)
    log.info("backend %s", backend.describe())
    return backend


def _create_auto(bank: StyleBank, device: torch.device, dtype: torch.dtype) -> Backend:
    reasons = []
    for name in AUTO_ORDER.get(device.type, ("torch",)):
        try:
            backend = BACKENDS[name](bank, device, dtype)
        except RtStyleError as exc:  # missing library, unsupported dtype, failed export/build
            reasons.append(f"{name}: {exc}")
            log.info("auto: skipping backend %s (%s)", name, exc)
            continue
        log.info("auto: picked backend %s%s", backend.describe(),
                 f" (skipped {'; '.join(reasons)})" if reasons else "")
        return backend
    raise BackendUnavailableError(f"no backend works on {device}: {'; '.join(reasons)}")


def pad_to_minimum(images: torch.Tensor, minimum: int) -> torch.Tensor:
    """Replicate-pad ``images`` ``[N,3,H,W]`` right and bottom up to ``minimum`` pixels per side.

    Exported graphs and engines declare ``minimum`` as their smallest height and width (the
    deepest feature map must outgrow its reflection pad).  Padding here the way the generator
    does (replicate, bottom and right) and cropping afterwards gives the torch result exactly.
    """
    height, width = images.shape[-2:]
    if height >= minimum and width >= minimum:
        return images
    return F.pad(images, (0, max(0, minimum - width), 0, max(0, minimum - height)), mode="replicate")
