"""The generator interface and the registry of generator architectures a style bank may name.

A bank's JSON names its architecture (``"architecture": "StyleGenerator"``); the loader looks that
name up in :data:`GENERATORS`, an explicit dict filled by :func:`register_generator`, and nothing
else: a name from a file never reaches an import or an attribute lookup, and an unknown one is a
one-line error.  Each entry pairs the config class (the JSON's ``generator`` object) with the
module class, and bounds every config field, so a hostile file is refused before anything is
built from its sizes.

Backends, exported graphs and the stylizer depend on :class:`Generator` alone, so a new generator
is one module holding a ``@register_generator`` class plus the line importing it in
``rtstyle/models/__init__.py``; the bank loader, the backends and the exporters take it as is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, ClassVar, Protocol, TypeVar

import torch
from torch import nn

from rtstyle.models.pyramid import scale_pyramid

#: What a bank without an ``architecture`` entry holds: every bank written before there was a choice.
DEFAULT_ARCHITECTURE = "StyleGenerator"


class GeneratorSpec(Protocol):
    """What the runtime reads of an architecture's config (a frozen dataclass of integers).

    ``num_styles``: the bank's style slots.  ``style_dim``: the width of a style vector, or 0 for
    one-hot styles; a style-vector generator keeps its styles as a ``style_vectors`` buffer
    ``[S,D]`` and its graph takes the vector.  ``code_dim``: the width of :meth:`Generator.style_code`.
    ``stride``: input sizes the network needs a multiple of.  ``pyramid_base``: 0, or the base of a
    scale pyramid the stylizer composes around one level (:mod:`rtstyle.models.pyramid`).
    """

    @property
    def num_styles(self) -> int: ...

    @property
    def style_dim(self) -> int: ...

    @property
    def code_dim(self) -> int: ...

    @property
    def stride(self) -> int: ...

    @property
    def pyramid_base(self) -> int: ...

    def to_dict(self) -> dict[str, Any]:
        """The JSON object saved in a bank, which ``from_dict`` of the same class reads back."""
        ...


class Generator(nn.Module, ABC):
    """G(x, w): images ``[N,3,H,W]`` in [0,1] and style weights ``[N,S]`` -> images in [0,1].

    Backends run one level, :meth:`paint`, on the style code (what ONNX and TensorRT graphs take
    as input, so mixes and new style vectors need no new graph); the stylizer turns a mix into a
    code with :meth:`style_code` and composes a scale pyramid around the backend when the config
    asks for one.  Any spatial size must work: :meth:`paint` pads and crops as it needs, and never
    needs more than :attr:`min_size` pixels per side.
    """

    #: The name banks store for this class; set by :func:`register_generator`.
    architecture: ClassVar[str] = ""
    config: GeneratorSpec

    @property
    @abstractmethod
    def min_size(self) -> int:
        """Smallest height and width :meth:`paint` runs at; exported graphs declare it."""

    @abstractmethod
    def style_code(self, style_weights: torch.Tensor) -> torch.Tensor:
        """The code ``[N,config.code_dim]`` the network reads for the mix ``style_weights`` ``[N,S]``."""

    @abstractmethod
    def paint(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """One level at the input's own resolution: what backends and exported graphs run."""

    @abstractmethod
    def flops_per_pixel(self) -> float:
        """FLOPs per output pixel of :meth:`forward` (the benchmark tables' cost column)."""

    def level(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        """:meth:`paint` for a mix: the network once, one octave of a scale pyramid."""
        return self.paint(x, self.style_code(style_weights))

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        """The whole generator: one level, or every octave of its scale pyramid composed."""
        if self.config.pyramid_base:
            return scale_pyramid(self.level, x, style_weights, self.config.pyramid_base)
        return self.level(x, style_weights)


@dataclass(frozen=True)
class Architecture:
    """One registered generator: its config class, its module class and its file bounds.

    ``limits`` gives the least and most a bank may declare for each config field (each entry, for
    the fields in ``max_items``, which are lists of at most that many integers).
    """

    name: str
    config: type  # a frozen dataclass following GeneratorSpec, with a ``from_dict`` classmethod
    module: type[Generator]
    limits: Mapping[str, tuple[int, int]]
    max_items: Mapping[str, int]


#: Every architecture a bank may name, by that name.  Filled by :func:`register_generator`.
GENERATORS: dict[str, Architecture] = {}

_G = TypeVar("_G", bound=type[Generator])


def register_generator(
    name: str, *, config: type, limits: Mapping[str, tuple[int, int]], max_items: Mapping[str, int] | None = None
) -> Callable[[_G], _G]:
    """Class decorator: make a :class:`Generator` subclass loadable from banks naming ``name``.

    Every field of ``config`` must have bounds in ``limits``: an unbounded size in a file could
    make the loader build a network of any size before it can check the file's tensors.
    """

    def register(cls: _G) -> _G:
        if name in GENERATORS:
            raise ValueError(f"generator architecture {name!r} registered twice")
        if not (isinstance(cls, type) and issubclass(cls, Generator)):
            raise TypeError(f"{cls!r} is not a Generator")
        if not is_dataclass(config) or not hasattr(config, "from_dict"):
            raise TypeError(f"the config of {name!r} must be a dataclass with from_dict")
        unbounded = sorted({f.name for f in fields(config)} - set(limits))
        if unbounded:
            raise ValueError(f"generator architecture {name!r}: config fields {unbounded} have no file bounds")
        cls.architecture = name
        GENERATORS[name] = Architecture(name, config, cls, dict(limits), dict(max_items or {}))
        return cls

    return register


def architecture(name: object) -> Architecture:
    """The architecture registered as ``name``; ValueError naming the known ones otherwise."""
    if not isinstance(name, str) or name not in GENERATORS:
        raise ValueError(f"unknown architecture {name!r:.60}; this rtstyle knows {', '.join(sorted(GENERATORS))}")
    return GENERATORS[name]
