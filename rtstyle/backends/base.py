"""The backend interface: what every engine that runs the generator provides to the stylizer.

A backend runs one level of the generator on tensors that are already on the stylizer's device;
the stylizer keeps pre- and post-processing (uint8 conversion, working-resolution resize, keep
colours, strength) in torch around it, so every backend gets exactly the same frames and only
the network itself changes engine.  Backends are found by name in
:data:`rtstyle.backends.registry.BACKENDS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch
import torch.nn.functional as F

from rtstyle.models import Generator
from rtstyle.stylefile import StyleBank


class Backend(ABC):
    """Runs G(x, c): ``images`` ``[N,3,H,W]`` in [0,1] and the style code ``[N,K]`` on the device.

    The code is :meth:`Generator.style_code` of the mix: the weights ``[N,S]`` themselves for a
    one-hot bank, the mixed style vector ``[N,D]`` for a style-vector bank (so any picture's
    vector runs, stored or not).  It runs one level of G (:meth:`Generator.paint`): the whole
    generator, unless the bank has a scale pyramid, which the stylizer composes around the
    backend, one call per octave.

    ``name`` is the registry's (set when the registry loads the class); ``label`` is what a
    window shows.  ``generator`` is the bank's :class:`Generator` (on the device for the torch
    backend, on the CPU otherwise) so callers can ask it for its style code, minimum size and
    cost; ``memory_format`` is the layout the backend wants its input in (the stylizer prepares
    frames in it, saving a conversion).
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""

    def __init__(self, bank: StyleBank, device: torch.device, dtype: torch.dtype) -> None:
        self.bank = bank
        self.device = device
        self.dtype = dtype
        self.generator: Generator = bank.build_generator()
        self.memory_format = torch.contiguous_format

    @abstractmethod
    def __call__(self, images: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """Stylize ``images`` ``[N,3,H,W]``; returns ``[N,3,H,W]`` in ``images``' dtype and device."""

    def describe(self) -> str:
        """One line for logs and the CLI: the engine and how it runs."""
        return self.name


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
