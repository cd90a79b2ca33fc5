"""The fusion network F: what its weights and detail term must do, and its cost."""

from __future__ import annotations

import pytest
import torch

from rtstyle.models import PRESETS, StyleGenerator
from rtstyle.models.fusion import FUSION_PRESETS, FusionConfig, FusionNet
from rtstyle.models.resample import resize

HEIGHT, WIDTH = 48, 64
#: The rules a bank gets when its file does not give them.
DEFAULTS = FusionConfig()
MAX_KEEP, FLOW_ERROR_LIMIT = DEFAULTS.max_keep, DEFAULTS.flow_error_limit


def _quiet_net(**rules: float) -> FusionNet:
    """F whose own scores are all zero and whose detail gains are zero (no residual)."""
    net = FusionNet(FusionConfig(hidden=4, scorer_hidden=4, gate_stride=4, **rules)).eval()
    with torch.no_grad():
        for module in (net.gate[-1], net.scorer[-1]):
            module.weight.zero_()
            module.bias.zero_()
    return net


@pytest.mark.parametrize("chosen", [0, 1, 2])
def test_one_hot_weights_and_zero_residual_reproduce_the_chosen_input(chosen: int) -> None:
    torch.manual_seed(chosen)
    source = torch.rand(1, 3, HEIGHT, WIDTH)
    candidates = torch.rand(1, 3, 3, HEIGHT // 2, WIDTH // 2)  # three styles at half resolution
    one_hot = torch.full((1, 3, HEIGHT, WIDTH), -1e4)
    one_hot[:, chosen] = 0.0
    with torch.no_grad():
        out = _quiet_net()(source, candidates, region_logits=one_hot)
    expected = resize(candidates[:, chosen], (HEIGHT, WIDTH))
    torch.testing.assert_close(out.frame, expected)  # so the residual is zero too
    assert torch.all(out.weights[:, chosen] == 1) and torch.all(out.weights[:, -1] == 0)


def test_the_previous_frame_takes_at_most_its_capped_share() -> None:
    """Even when F trusts the previous frame fully, each frame refreshes 1 − MAX_KEEP of every pixel."""
    net = _quiet_net()
    with torch.no_grad():
        net.gate[-1].bias[0] = 1e4  # the previous frame's logit
    previous = torch.rand(1, 3, HEIGHT, WIDTH)
    candidate = torch.rand(1, 1, 3, HEIGHT, WIDTH)
    with torch.no_grad():
        out = net(torch.rand(1, 3, HEIGHT, WIDTH), candidate, previous, torch.zeros(1, 1, HEIGHT, WIDTH))
    torch.testing.assert_close(out.frame, MAX_KEEP * previous + (1 - MAX_KEEP) * candidate[:, 0])
    torch.testing.assert_close(out.weights[:, -1], torch.full((1, HEIGHT, WIDTH), MAX_KEEP))


@pytest.mark.parametrize("max_keep", [0.5, 0.0])
def test_a_lower_cap_keeps_less_of_the_previous_frame(max_keep: float) -> None:
    """The cap is the bank's: the same weights under a cap of 0.5 keep half of the previous frame
    where the default keeps 0.9, and a cap of 0 turns the previous frame off."""
    nets = [_quiet_net(), _quiet_net(max_keep=max_keep)]
    for net in nets:
        net.load_state_dict(nets[0].state_dict())
        with torch.no_grad():
            net.gate[-1].bias[0] = 1e4
    torch.manual_seed(1)
    source, previous = torch.rand(1, 3, HEIGHT, WIDTH), torch.rand(1, 3, HEIGHT, WIDTH)
    candidate = torch.rand(1, 1, 3, HEIGHT, WIDTH)
    with torch.no_grad():
        default, capped = (net(source, candidate, previous, torch.zeros(1, 1, HEIGHT, WIDTH)) for net in nets)
    torch.testing.assert_close(default.keep, torch.full_like(default.keep, MAX_KEEP))
    torch.testing.assert_close(capped.keep, torch.full_like(capped.keep, max_keep))
    torch.testing.assert_close(capped.frame, max_keep * previous + (1 - max_keep) * candidate[:, 0])


def test_a_lower_flow_error_limit_vetoes_sooner() -> None:
    """An error half the default limit keeps a quarter of the cap by default, and nothing once it
    is the bank's limit."""
    error = torch.full((1, 1, HEIGHT // 8, WIDTH // 8), FLOW_ERROR_LIMIT / 2)
    source, previous = torch.rand(1, 3, HEIGHT, WIDTH), torch.rand(1, 3, HEIGHT, WIDTH)
    inputs = (source, torch.rand(1, 1, 3, HEIGHT, WIDTH), previous, error)
    shares = []
    for limit in (FLOW_ERROR_LIMIT, FLOW_ERROR_LIMIT / 2):
        net = _quiet_net(flow_error_limit=limit)
        with torch.no_grad():
            net.gate[-1].bias[0] = 1e4
            shares.append(net(*inputs).keep)
    torch.testing.assert_close(shares[0], torch.full_like(shares[0], MAX_KEEP / 4))
    assert torch.all(shares[1] == 0)


def test_flow_error_vetoes_the_previous_frame_where_the_flow_fails() -> None:
    """However much the gate trusts the previous frame, pixels the flow cannot explain take none of it."""
    net = _quiet_net()
    with torch.no_grad():
        net.gate[-1].bias[0] = 1e4  # a gate that would keep the previous frame everywhere
    error = torch.zeros(1, 1, HEIGHT // 8, WIDTH // 8)  # as the runtime measures it: on a coarse grid
    error[..., :, WIDTH // 16 :] = FLOW_ERROR_LIMIT  # the right half moved in a way the flow cannot explain
    error[..., :, WIDTH // 32 : WIDTH // 16] = FLOW_ERROR_LIMIT / 2  # a middle band: partly
    with torch.no_grad():
        out = net(torch.rand(1, 3, HEIGHT, WIDTH), torch.rand(1, 1, 3, HEIGHT, WIDTH),
                  torch.rand(1, 3, HEIGHT, WIDTH), error)
    previous_weight = out.weights[0, -1]
    margin = 8  # the share is a smooth map: it changes over a cell of the coarse grid
    left, middle = previous_weight[:, : WIDTH // 4 - margin], previous_weight[:, WIDTH // 4 + margin : WIDTH // 2 - margin]
    torch.testing.assert_close(left, torch.full_like(left, MAX_KEEP))
    torch.testing.assert_close(middle, torch.full_like(middle, MAX_KEEP / 4))
    assert torch.all(previous_weight[:, WIDTH // 2 + margin :] == 0)
    assert previous_weight.max() <= MAX_KEEP + 1e-6


def test_what_is_kept_of_the_previous_frame_keeps_its_detail() -> None:
    """The restored band is blended like the rest: a pixel kept from the previous frame gets only
    the fresh share of the new band, so detail that shimmers in the source is steadied too."""
    net = FusionNet(FusionConfig(hidden=4, scorer_hidden=4, gate_stride=4)).eval()  # initial F: h = 1, g = 0
    with torch.no_grad():
        net.gate[-1].bias[0] = 1e4  # keep the previous frame as far as the cap allows
    source, previous = torch.rand(1, 3, HEIGHT, WIDTH), torch.rand(1, 3, HEIGHT, WIDTH)
    source_work = resize(source, (HEIGHT // 2, WIDTH // 2))
    candidate = torch.rand(1, 1, 3, HEIGHT // 2, WIDTH // 2)
    with torch.no_grad():
        out = net(source, candidate, previous, torch.zeros(1, 1, HEIGHT, WIDTH), source_work=source_work)
    band = source - resize(source_work, (HEIGHT, WIDTH))
    fresh = resize(candidate[:, 0], (HEIGHT, WIDTH)) + band
    torch.testing.assert_close(out.frame, MAX_KEEP * previous + (1 - MAX_KEEP) * fresh)


def test_initial_detail_term_restores_exactly_the_band_the_working_resolution_lost() -> None:
    """With its initial weights F adds S − up(down(S)): fed the downscaled source, it returns the source."""
    net = FusionNet().eval()
    source = torch.rand(1, 3, HEIGHT, WIDTH)
    small = resize(source, (HEIGHT // 2, WIDTH // 2))
    with torch.no_grad():
        out = net(source, small[:, None])
    torch.testing.assert_close(out.frame, source, atol=1e-5, rtol=0)
    candidate = torch.rand(1, 1, 3, HEIGHT, WIDTH)
    with torch.no_grad():  # at full resolution there is no band to restore: the candidate as it is
        assert torch.equal(net(source, candidate).frame, candidate[:, 0])


def test_any_number_of_candidates_and_batch() -> None:
    net = FusionNet().eval()
    with torch.no_grad():
        out = net(torch.rand(2, 3, 40, 56), torch.rand(2, 4, 3, 20, 28))
    assert out.frame.shape == (2, 3, 40, 56) and out.weights.shape == (2, 5, 40, 56)
    torch.testing.assert_close(out.weights.sum(1), torch.ones(2, 40, 56))


@pytest.mark.parametrize(("size", "work"), [((45, 71), (23, 36)), ((62, 90), (25, 36)), ((7, 9), (4, 5))])
def test_sizes_that_no_block_or_whole_factor_fits(size: tuple[int, int], work: tuple[int, int]) -> None:
    """Odd frames and working resolutions take the general resampling path (no whole factor, gate
    grids that no block size gives): F still fuses them, at the source's size, weights summing to 1."""
    net = FusionNet().eval()
    source, previous = torch.rand(1, 3, *size), torch.rand(1, 3, *size)
    with torch.inference_mode():
        out = net(source, torch.rand(1, 2, 3, *work), previous, torch.zeros(1, 1, 3, 4))
    assert out.frame.shape == (1, 3, *size) and torch.isfinite(out.frame).all()
    torch.testing.assert_close(out.weights.sum(1), torch.ones(1, *size))
    assert out.weights[:, -1].max() <= MAX_KEEP + 1e-6


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_fusion_costs_at_most_15_percent_of_its_generator(preset: str) -> None:
    generator = StyleGenerator(PRESETS[preset])
    fusion = FusionNet(FUSION_PRESETS[preset])
    assert fusion.flops_per_pixel(1) <= 0.15 * generator.flops_per_pixel()


def test_config_round_trips_and_rejects_unknown_keys() -> None:
    config = FusionConfig(hidden=6, scorer_hidden=5, gate_stride=2, max_keep=0.6, flow_error_limit=0.05,
                          veto_pool=4, style_change_limit=0.2, region_floor=1e-4)
    assert FusionConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown"):
        FusionConfig.from_dict({**config.to_dict(), "extra": 1})
    with pytest.raises(ValueError):
        FusionConfig(gate_stride=3)


def test_a_config_written_before_the_rules_were_fields_gets_todays_values() -> None:
    """Banks trained before the rules were saved ran under these values: they must keep them."""
    old = FusionConfig.from_dict({"hidden": 12, "scorer_hidden": 8, "gate_stride": 4})
    assert (old.max_keep, old.flow_error_limit, old.veto_pool, old.style_change_limit, old.region_floor) == (
        0.9, 0.08, 8, 0.3, 1e-6)
    assert FUSION_PRESETS["fast"] == old and FUSION_PRESETS["quality"].max_keep == 0.9


@pytest.mark.parametrize(
    ("rule", "value"),
    [("max_keep", 1.0), ("max_keep", -0.1), ("flow_error_limit", 0.0), ("style_change_limit", 1.5),
     ("region_floor", 0.0), ("region_floor", 1.0), ("max_keep", float("nan")), ("flow_error_limit", "0.08"),
     ("max_keep", True), ("veto_pool", 0), ("veto_pool", 8.0)],
)
def test_rules_out_of_range_are_refused(rule: str, value: object) -> None:
    with pytest.raises(ValueError, match=rule):
        FusionConfig(**{rule: value})


def test_integer_rules_read_from_json_become_floats() -> None:
    """JSON may spell 1.0 as 1; the config holds (and writes back) the float."""
    config = FusionConfig.from_dict({"flow_error_limit": 1, "max_keep": 0})
    assert type(config.flow_error_limit) is float and type(config.max_keep) is float
    assert config == FusionConfig(flow_error_limit=1.0, max_keep=0.0)
