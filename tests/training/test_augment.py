"""DiffAugment keeps shapes, passes gradients through to its input, and rejects unknown parts."""

from __future__ import annotations

import pytest
import torch

from training.augment import AUGMENTATIONS, diff_augment, parse_policy


@pytest.mark.parametrize("name", sorted(AUGMENTATIONS))
def test_each_augmentation_is_differentiable_and_keeps_shape(name: str) -> None:
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    y = diff_augment(x, [name], torch.Generator().manual_seed(0))
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_policy_parsing() -> None:
    assert parse_policy("color, translation,cutout") == ["color", "translation", "cutout"]
    assert parse_policy("none") == parse_policy("") == []
    with pytest.raises(ValueError, match="unknown DiffAugment"):
        parse_policy("color,blur")


def test_translation_moves_content_and_cutout_blanks_a_square() -> None:
    x = torch.ones(8, 3, 16, 16)
    cut = diff_augment(x, ["cutout"], torch.Generator().manual_seed(1))
    assert bool((cut.eq(0).flatten(1).sum(1) == 3 * 8 * 8).all())  # half the side → a quarter of the pixels
    moved = diff_augment(x, ["translation"], torch.Generator().manual_seed(2))
    assert moved.min() == 0 and moved.max() == 1  # zeros came in from the border
