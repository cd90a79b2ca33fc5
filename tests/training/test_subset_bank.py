"""Dropping styles from a bank leaves the kept styles' outputs unchanged."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from factories import TINY_CONFIG
from rtstyle.errors import InputError
from rtstyle.models import StyleGenerator
from rtstyle.models.blocks import ConditionalInstanceNorm
from rtstyle.stylefile import StyleBank, StyleInfo, load_style_bank, save_style_bank
from training.subset_bank import main, subset_bank


def _bank(tmp_path: Path, style_dim: int = 0) -> Path:
    torch.manual_seed(0)
    config = replace(TINY_CONFIG, num_styles=3, style_dim=style_dim)
    generator = StyleGenerator(config)
    with torch.no_grad():
        for module in generator.modules():
            if isinstance(module, ConditionalInstanceNorm):
                module.gamma.normal_(0.0 if style_dim else 1.0, 0.5)
                module.beta.normal_(0.0, 0.5)
        if style_dim:
            generator.style_vectors.normal_()
    names = ["a", "b", "c"]
    thumbs = {n: np.full((96, 96, 3), i * 80, np.uint8) for i, n in enumerate(names)}
    bank = StyleBank.from_generator(
        generator, [StyleInfo(n, n.upper()) for n in names], thumbnails=thumbs, preset="fast"
    )
    return save_style_bank(bank, tmp_path / "abc.safetensors")


@pytest.mark.parametrize("style_dim", [0, 3], ids=["one-hot", "style-vectors"])
def test_kept_styles_render_identically(tmp_path: Path, style_dim: int) -> None:
    source = load_style_bank(_bank(tmp_path, style_dim))
    assert main([str(source.path), str(tmp_path / "ca.safetensors"), "--styles", "c", "a"]) == 0
    subset = load_style_bank(tmp_path / "ca.safetensors")
    assert subset.style_names == ["c", "a"] and subset.config.num_styles == 2
    assert subset.training["subset"]["kept"] == ["c", "a"]
    assert int(subset.thumbnails["c"][0, 0, 0]) == 160
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        full, small = source.build_generator(), subset.build_generator()
        assert torch.allclose(full(x, torch.tensor([[0.0, 0.0, 1.0]])), small(x, torch.tensor([[1.0, 0.0]])), atol=1e-6)
        assert torch.allclose(full(x, torch.tensor([[1.0, 0.0, 0.0]])), small(x, torch.tensor([[0.0, 1.0]])), atol=1e-6)


def test_unknown_or_repeated_styles_are_refused(tmp_path: Path) -> None:
    bank = load_style_bank(_bank(tmp_path))
    with pytest.raises(InputError, match="unknown style"):
        subset_bank(bank, ["a", "zzz"])
    with pytest.raises(InputError, match="twice"):
        subset_bank(bank, ["a", "a"])


def test_a_subset_keeps_the_fusion_network(tmp_path: Path) -> None:
    from tests.factories import tiny_fusion_bank

    bank = tiny_fusion_bank(num_styles=3)
    subset = subset_bank(bank, ["style2", "ink"])
    assert subset.fusion_config == bank.fusion_config
    saved = load_style_bank(save_style_bank(subset, tmp_path / "sub.safetensors"))
    assert saved.has_fusion
    for key, tensor in bank.fusion_state.items():
        assert torch.equal(saved.fusion_state[key], tensor)
