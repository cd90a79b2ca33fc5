"""Scale pyramid: G at ½ resolution is exactly G at full resolution less its finest octave."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from factories import TINY_CONFIG
from rtstyle.models import GeneratorConfig, StyleGenerator
from rtstyle.models.pyramid import octave_sizes, scale_pyramid
from rtstyle.models.resample import resize

WEIGHTS = torch.ones(1, 1)


def _textured_level(images: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
    """A stand-in network with pixel-sized texture: a fixed sharpening filter, squashed into (0.4, 0.6)
    so no composition reaches the final clamp."""
    kernel = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]).expand(3, 1, 3, 3)
    sharpened = torch.nn.functional.conv2d(images, kernel, padding=1, groups=3)
    return 0.5 + 0.1 * torch.tanh(sharpened - 0.5) * torch.cos(images * 7.0)


def test_octave_sizes_halve_until_the_shorter_side_is_below_twice_the_base() -> None:
    assert octave_sizes(512, 341, 64) == [(512, 341), (256, 170), (128, 85)]
    assert octave_sizes(100, 500, 64) == [(100, 500)]  # too small for a second octave
    assert octave_sizes(128, 128, 64) == [(128, 128), (64, 64)]


def test_half_resolution_output_is_the_full_output_less_its_finest_octave() -> None:
    image = torch.rand(1, 3, 96, 80, generator=torch.Generator().manual_seed(0))
    half = resize(image, (48, 40))
    full_out = scale_pyramid(_textured_level, image, WEIGHTS, base=12)
    half_out = scale_pyramid(_textured_level, half, WEIGHTS, base=12)
    finest = _textured_level(image, WEIGHTS)
    finest_octave = finest - resize(resize(finest, (48, 40)), (96, 80))
    assert finest_octave.abs().mean() > 0.01  # the identity below is not trivially 0 = 0
    assert torch.allclose(full_out - resize(half_out, (96, 80)), finest_octave, atol=1e-5)


def test_levels_run_finest_first_at_the_octave_sizes() -> None:
    seen = []

    def recording(images: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(images.shape[-2:]))
        return _textured_level(images, style_weights)

    scale_pyramid(recording, torch.rand(1, 3, 200, 150), WEIGHTS, base=32)
    assert seen == octave_sizes(200, 150, 32) == [(200, 150), (100, 75), (50, 37)]


def test_a_flat_painting_stays_flat_at_every_size() -> None:
    def flat(images: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        return torch.full_like(images, 0.3)

    out = scale_pyramid(flat, torch.rand(1, 3, 130, 70), WEIGHTS, base=16)
    assert out.shape == (1, 3, 130, 70) and torch.allclose(out, torch.full_like(out, 0.3), atol=1e-6)


def test_generator_with_a_pyramid_composes_its_own_level() -> None:
    torch.manual_seed(0)
    config = replace(TINY_CONFIG, stem_stride=2, pyramid_base=16)
    generator = StyleGenerator(config).eval()
    image, weights = torch.rand(1, 3, 70, 90), torch.tensor([[0.3, 0.7]])
    with torch.no_grad():
        expected = scale_pyramid(generator.level, image, weights, base=16)
        assert torch.equal(generator(image, weights), expected)
        assert (generator(image, weights) - generator.level(image, weights)).abs().mean() > 1e-3
    plain = StyleGenerator(GeneratorConfig(**{**config.to_dict(), "pyramid_base": 0}))
    assert generator.flops_per_pixel() == pytest.approx(plain.flops_per_pixel() * 4 / 3)
    assert GeneratorConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="pyramid_base"):
        GeneratorConfig(pyramid_base=-1)
