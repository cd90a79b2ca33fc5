"""Properties the generator must have whatever its weights: sizes, borders, mixing, cost."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from rtstyle.models import PRESETS, GeneratorConfig, StyleGenerator, preset_config
from factories import TINY_CONFIG
from rtstyle.models.blocks import ConditionalInstanceNorm

PRESETS_FAST_BUDGET = 10e3  # FLOP per output pixel (issue: roughly <= 10 k for 30 fps at 360p on 2 cores)
TINY = TINY_CONFIG


def randomized(config: GeneratorConfig, seed: int = 0) -> StyleGenerator:
    """A generator whose norm affines are random too (defaults are gamma=1, beta=0)."""
    torch.manual_seed(seed)
    generator = StyleGenerator(config).eval()
    with torch.no_grad():
        for module in generator.modules():
            if isinstance(module, ConditionalInstanceNorm):
                module.gamma.normal_(1.0, 0.3)
                module.beta.normal_(0.0, 0.3)
    return generator.requires_grad_(False)


@pytest.mark.parametrize("size", [(1, 1), (3, 5), (17, 33), (64, 48), (101, 7)])
@pytest.mark.parametrize("preset", ["fast", "quality"])
def test_any_size_returns_same_size_in_range(size: tuple[int, int], preset: str) -> None:
    generator = randomized(preset_config(preset, 2))
    x = torch.rand(2, 3, *size)
    y = generator(x, torch.tensor([[1.0, 0.0], [0.3, 0.7]]))
    assert y.shape == x.shape
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


def test_constant_image_gives_constant_output_no_border_artifacts() -> None:
    # Reflection padding sees only the image itself, so a flat frame stays flat up to the edges;
    # zero padding would darken or brighten a border band.
    generator = randomized(TINY)
    x = torch.full((1, 3, 37, 53), 0.4)
    y = generator(x, torch.tensor([[0.5, 0.5]]))
    assert float((y - y.mean(dim=(2, 3), keepdim=True)).abs().max()) < 1e-4


def test_no_transposed_convolutions_and_reflection_padding_everywhere() -> None:
    generator = StyleGenerator(PRESETS["quality"])
    modules = list(generator.modules())
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in modules)
    convs = [m for m in modules if isinstance(m, nn.Conv2d)]
    assert all(c.padding == (0, 0) for c in convs)  # padding is done by ReflectionPad2d layers
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in modules) == len(convs)


def test_mixing_is_linear_in_gamma_and_beta() -> None:
    two_styles = randomized(TINY, seed=1)
    alpha = 0.3
    one_style = StyleGenerator(GeneratorConfig(**{**TINY.to_dict(), "num_styles": 1})).eval()
    state = two_styles.state_dict()
    mixed = {}
    for key, value in state.items():
        if key.endswith((".gamma", ".beta")):
            mixed[key] = (alpha * value[0] + (1 - alpha) * value[1])[None]
        else:
            mixed[key] = value
    one_style.load_state_dict(mixed)
    x = torch.rand(1, 3, 24, 24)
    expected = one_style(x, torch.ones(1, 1))
    actual = two_styles(x, torch.tensor([[alpha, 1 - alpha]]))
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)


def test_one_hot_weights_select_a_style_and_styles_differ() -> None:
    generator = randomized(TINY, seed=2)
    x = torch.rand(1, 3, 32, 32)
    first = generator(x, torch.tensor([[1.0, 0.0]]))
    second = generator(x, torch.tensor([[0.0, 1.0]]))
    assert float((first - second).abs().mean()) > 1e-3


def test_per_sample_weights_in_one_batch_match_separate_calls() -> None:
    generator = randomized(TINY, seed=3)
    x = torch.rand(2, 3, 20, 28)
    weights = torch.tensor([[1.0, 0.0], [0.2, 0.8]])
    together = generator(x, weights)
    apart = torch.cat([generator(x[i : i + 1], weights[i : i + 1]) for i in range(2)])
    torch.testing.assert_close(together, apart, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("preset", ["fast", "quality"])
def test_flop_formula_matches_torch_flop_counter(preset: str) -> None:
    generator = StyleGenerator(preset_config(preset, 1))
    height, width = 64, 96
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        generator(torch.rand(1, 3, height, width), torch.ones(1, 1))
    conv_flops = sum(v for op, v in counter.get_flop_counts()["Global"].items() if "convolution" in str(op))
    assert conv_flops / (height * width) == pytest.approx(generator.flops_per_pixel(), rel=0.02)


def test_presets_cost_what_the_design_says() -> None:
    # Johnson et al.'s TransformerNet: ~308 kFLOP per pixel (638 GFLOP at 1080p).
    assert StyleGenerator(PRESETS["quality"]).flops_per_pixel() == pytest.approx(308e3, rel=0.02)
    assert StyleGenerator(PRESETS["fast"]).flops_per_pixel() < PRESETS_FAST_BUDGET


def test_config_round_trip_and_rejects_unknown_keys() -> None:
    config = preset_config("fast", 3)
    assert GeneratorConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown generator config keys"):
        GeneratorConfig.from_dict({**config.to_dict(), "evil": 1})
    with pytest.raises(ValueError):
        GeneratorConfig(channels=(8, 0))


VECTOR = GeneratorConfig(num_styles=3, channels=(4, 8), num_residual_blocks=1, outer_kernel=3, style_dim=5)


def _vector_generator(seed: int = 0) -> StyleGenerator:
    torch.manual_seed(seed)
    generator = StyleGenerator(VECTOR).eval()
    with torch.no_grad():
        generator.style_vectors.normal_()
        for module in generator.modules():
            if isinstance(module, ConditionalInstanceNorm):
                module.gamma.normal_(0.0, 0.3)
                module.beta.normal_(0.0, 0.3)
    return generator.requires_grad_(False)


def test_untrained_vector_generator_ignores_the_style() -> None:
    # Zero projection tables: every style vector gives plain instance norm.
    generator = StyleGenerator(VECTOR).eval()
    with torch.no_grad():
        generator.style_vectors.normal_()
    x = torch.rand(1, 3, 24, 24)
    a = generator(x, torch.tensor([[1.0, 0.0, 0.0]]))
    b = generator(x, torch.tensor([[0.0, 0.0, 1.0]]))
    assert torch.allclose(a, b)


def test_vector_styles_are_stored_vectors_and_mix_as_vectors() -> None:
    generator = _vector_generator()
    x = torch.rand(2, 3, 24, 32)
    weights = torch.tensor([[0.25, 0.75, 0.0], [0.0, 0.0, 1.0]])
    mixed_vectors = weights @ generator.style_vectors
    assert torch.allclose(generator(x, weights), generator.paint(x, mixed_vectors), atol=1e-6)
    assert generator.state_dict()["style_vectors"].shape == (3, 5)
    # Different stored vectors paint differently once the projection is trained.
    one = generator(x[:1], torch.tensor([[1.0, 0.0, 0.0]]))
    two = generator(x[:1], torch.tensor([[0.0, 1.0, 0.0]]))
    assert float((one - two).abs().mean()) > 1e-3


def test_vector_norm_affine_is_linear_in_the_code() -> None:
    norm = ConditionalInstanceNorm(6, 4, with_base=True)
    with torch.no_grad():
        norm.gamma.normal_()
        norm.beta.normal_()
    a, b = torch.randn(1, 4), torch.randn(1, 4)
    gamma_mid, beta_mid = norm.mixed_affine(0.3 * a + 0.7 * b)
    (ga, ba), (gb, bb) = norm.mixed_affine(a), norm.mixed_affine(b)
    assert torch.allclose(gamma_mid, 0.3 * ga + 0.7 * gb, atol=1e-6)
    assert torch.allclose(beta_mid, 0.3 * ba + 0.7 * bb, atol=1e-6)
