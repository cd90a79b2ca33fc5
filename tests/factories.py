"""Tiny style banks for tests: built from a config on CPU, with random (but non-trivial) weights."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from rtstyle.benchmark import TINY_CONFIG as BENCH_TINY_CONFIG
from rtstyle.models import GeneratorConfig, StyleGenerator
from rtstyle.models.blocks import ConditionalInstanceNorm
from rtstyle.models.fusion import FusionConfig, FusionNet
from rtstyle.stylefile import StyleBank, StyleInfo, save_style_bank

#: The smallest generator, as ``rtstyle bench --tiny`` builds it, with two styles.
TINY_CONFIG = replace(BENCH_TINY_CONFIG, num_styles=2)
TINY_STYLES = ["ink", "ember"]


def tiny_bank(num_styles: int = 2, seed: int = 0, pyramid_base: int = 0, style_dim: int = 0) -> StyleBank:
    """A bank whose styles visibly differ: random per-style norm affines (or, with ``style_dim``,
    random style vectors and projection tables)."""
    torch.manual_seed(seed)
    config = GeneratorConfig(
        **{**TINY_CONFIG.to_dict(), "num_styles": num_styles, "pyramid_base": pyramid_base, "style_dim": style_dim}
    )
    generator = StyleGenerator(config)
    with torch.no_grad():
        for module in generator.modules():
            if isinstance(module, ConditionalInstanceNorm):
                module.gamma.normal_(0.0 if style_dim else 1.0, 0.5)
                module.beta.normal_(0.0, 0.5)
        if style_dim:
            generator.style_vectors.normal_()
    names = (TINY_STYLES + [f"style{i}" for i in range(len(TINY_STYLES), num_styles)])[:num_styles]
    rng = np.random.default_rng(seed)
    thumbnails = {name: rng.integers(0, 255, (96, 96, 3), dtype=np.uint8) for name in names}
    styles = [StyleInfo(name, name.title(), f"{name}.jpg") for name in names]
    return StyleBank.from_generator(generator, styles, thumbnails=thumbnails, preset="tiny",
                                    training={"steps": 0, "note": "random weights for tests"})


def write_tiny_bank(path: Path, num_styles: int = 2, seed: int = 0) -> Path:
    return save_style_bank(tiny_bank(num_styles, seed), path)


#: A fusion network small enough for tests (the presets' structure at a fraction of the width).
TINY_FUSION = FusionConfig(hidden=4, scorer_hidden=4, gate_stride=4)


def tiny_fusion_bank(num_styles: int = 2, seed: int = 0) -> StyleBank:
    """:func:`tiny_bank` with a fusion network F (random weights)."""
    torch.manual_seed(seed + 1)
    return tiny_bank(num_styles, seed).with_fusion(FusionNet(TINY_FUSION))
