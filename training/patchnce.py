"""PatchNCE content preservation on the generator's own encoder (CUT, Park et al. 2020).

No pretrained network is needed: the generator's encoder embeds both the content image and its
stylization, and a small MLP per layer projects sampled locations into a space where each output
patch must pick out its own input patch among the other patches of the image.  The encoder is the
one of the style bank itself, taken with forward hooks so the runtime model stays unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from rtstyle.models.generator import StyleGenerator
from training.losses import patch_nce_loss

logger = logging.getLogger(__name__)


def encoder_layers(generator: StyleGenerator, names: Sequence[str]) -> list[nn.Module]:
    """Resolve layer names such as ``stem``, ``down.1``, ``residual.0`` to the generator's modules."""
    modules = dict(generator.named_modules())
    missing = [name for name in names if name not in modules]
    if missing:
        raise ValueError(f"unknown generator layer(s) {missing}; e.g. stem, down.0, residual.0")
    return [modules[name] for name in names]


def layer_channels(generator: StyleGenerator, names: Sequence[str]) -> list[int]:
    """Output channels of the named encoder layers (what each MLP head takes in)."""
    widths = generator.config.channels
    result = []
    for name in names:
        if name == "stem":
            result.append(widths[0])
        elif name.startswith("down."):
            result.append(widths[int(name.split(".")[1]) + 1])
        elif name.startswith("residual."):
            result.append(widths[-1])
        else:
            raise ValueError(f"PatchNCE layer {name!r} is not an encoder layer (stem, down.i, residual.i)")
    return result


@contextmanager
def tap_features(modules: Sequence[nn.Module]) -> Iterator[list[torch.Tensor]]:
    """Record the outputs of ``modules`` during forward passes inside the ``with`` block.

    Outputs append in call order, so one forward of G yields ``len(modules)`` tensors.
    """
    captured: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda _m, _i, out: captured.append(out)) for m in modules]
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()


class PatchSampleMLP(nn.Module):
    """Per-layer two-layer MLP that embeds sampled feature locations (CUT's ``PatchSampleF``)."""

    def __init__(self, in_channels: Sequence[int], embed_dim: int = 128) -> None:
        super().__init__()
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(c, embed_dim), nn.ReLU(inplace=True), nn.Linear(embed_dim, embed_dim))
            for c in in_channels
        )

    def forward(
        self, features: Sequence[torch.Tensor], num_patches: int, indices: Sequence[torch.Tensor] | None = None
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Embed ``num_patches`` locations per layer; reuse ``indices`` to sample the same spots.

        features[l]: [N,C,H,W] → embeddings [N,P,D] (L2-normalised) and the flat indices [P].
        """
        embeddings, chosen = [], []
        for layer, (head, feat) in enumerate(zip(self.heads, features, strict=True)):
            n, c, h, w = feat.shape
            flat = feat.flatten(2).transpose(1, 2)  # [N,HW,C]
            if indices is None:
                count = min(num_patches, h * w)
                index = torch.randperm(h * w, device=feat.device)[:count]
            else:
                index = indices[layer]
            picked = head(flat[:, index].float())  # [N,P,D]
            embeddings.append(F.normalize(picked, dim=-1))
            chosen.append(index)
        return embeddings, chosen


def patch_nce(
    mlp: PatchSampleMLP,
    source_features: Sequence[torch.Tensor],
    output_features: Sequence[torch.Tensor],
    num_patches: int,
    temperature: float,
) -> torch.Tensor:
    """Mean PatchNCE loss over layers: output patches are queries, source patches the keys."""
    keys, indices = mlp(source_features, num_patches)
    queries, _ = mlp(output_features, num_patches, indices)
    losses = [patch_nce_loss(q, k, temperature) for q, k in zip(queries, keys, strict=True)]
    return torch.stack(losses).mean()
