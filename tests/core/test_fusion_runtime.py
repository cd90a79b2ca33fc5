"""F frame after frame: its veto input (rtstyle.fusion_runtime.reuse_error), and the veto's and
the cap's values coming from the bank rather than the code."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from factories import tiny_fusion_bank
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from rtstyle.errors import ModelFileError
from rtstyle.fusion_runtime import TemporalFusion, coarse_luma, coarse_size, reuse_error
from rtstyle.models.fusion import FusionConfig, FusionNet
from rtstyle.motion import Motion
from rtstyle.stylefile import load_style_bank, save_style_bank

HEIGHT, WIDTH = 64, 96
CONFIG = FusionConfig()  # the rules of a bank that does not give its own
VETO_POOL, FLOW_ERROR_LIMIT = CONFIG.veto_pool, CONFIG.flow_error_limit


def _checkerboard(sign: float) -> torch.Tensor:
    """Grey 0.5 ± 0.2 in a one-pixel checkerboard: fine texture whose pixels all flip when ``sign`` does."""
    ys, xs = torch.meshgrid(torch.arange(HEIGHT), torch.arange(WIDTH), indexing="ij")
    pattern = ((ys + xs) % 2 * 2 - 1).float() * 0.2 * sign + 0.5
    return pattern.expand(1, 3, HEIGHT, WIDTH)


def _error(
    previous_source: torch.Tensor,
    source: torch.Tensor,
    previous: torch.Tensor,
    candidates: torch.Tensor,
    config: FusionConfig = CONFIG,
) -> torch.Tensor:
    coarse = coarse_size(HEIGHT, WIDTH, config)
    return reuse_error(previous, coarse_luma(previous_source, coarse), coarse_luma(source, coarse), candidates, config)


def test_texture_changing_in_place_is_not_an_error_but_a_new_object_is() -> None:
    """Every pixel of the fine texture changes by 0.4 (rippling water), yet on the coarse grid the
    scene is the same: F may keep steadying it.  A bright block that appears is vetoed."""
    frame = torch.rand(1, 3, HEIGHT, WIDTH)
    before, after = _checkerboard(1.0), _checkerboard(-1.0)
    assert (luma_change := (after - before).abs().mean()) > 5 * FLOW_ERROR_LIMIT, luma_change
    shimmer = _error(before, after, frame, frame[:, None])
    assert shimmer.shape == (1, 1, *coarse_size(HEIGHT, WIDTH, CONFIG))
    assert shimmer.max() < FLOW_ERROR_LIMIT / 4
    appeared = after.clone()
    appeared[..., 16:48, 32:64] = 1.0
    error = _error(before, appeared, frame, frame[:, None])  # cells of VETO_POOL px: the block is cells 2-5 × 4-7
    assert error[..., 3:5, 5:7].min() >= FLOW_ERROR_LIMIT
    assert error[..., :, :3].max() < FLOW_ERROR_LIMIT / 4  # resampling blurs the block by about one cell


def test_a_stylized_change_the_source_does_not_show_is_an_error() -> None:
    """A halo the generator painted around an object that has moved on: the source is unchanged
    there, the new output is not, so the previous frame must not be reused."""
    source = torch.rand(1, 3, HEIGHT, WIDTH)
    previous = torch.full((1, 3, HEIGHT, WIDTH), 0.2)
    new = previous.clone()
    new[..., :, WIDTH // 2 :] = 0.8  # the right half of the stylized frame changed
    error = _error(source, source, previous, new[:, None])
    seam = WIDTH // 2 // VETO_POOL  # the first cell of the right half
    assert error[..., :, seam + 1 :].min() >= FLOW_ERROR_LIMIT
    assert error[..., :, : seam - 1].max() < 1e-6


def test_the_previous_frame_may_match_any_regions_candidate() -> None:
    """With several region styles, the previous frame is right where it matches one of them."""
    source = torch.rand(1, 3, HEIGHT, WIDTH)
    left, right = torch.full((1, 3, HEIGHT, WIDTH), 0.1), torch.full((1, 3, HEIGHT, WIDTH), 0.9)
    previous = torch.cat([left[..., : WIDTH // 2], right[..., WIDTH // 2 :]], -1)  # each half in its region's style
    candidates = torch.stack([left, right], 1)[..., ::2, ::2]  # at the working resolution
    error = _error(source, source, previous, candidates)
    seam = slice(WIDTH // 2 // VETO_POOL - 2, WIDTH // 2 // VETO_POOL + 2)  # cells of the coarse grid
    interiors = torch.cat([error[..., : seam.start], error[..., seam.stop :]], -1)
    assert interiors.max() < 1e-6
    assert error[..., seam].max() < FLOW_ERROR_LIMIT / 2  # the coarse grid mixes both styles at the seam


def test_the_banks_veto_pool_and_style_change_limit_set_the_error() -> None:
    """The same stylized change is a full veto under a lower style-change limit, and the grid
    follows the bank's pool."""
    source = torch.rand(1, 3, HEIGHT, WIDTH)
    previous = torch.full((1, 3, HEIGHT, WIDTH), 0.2)
    new = torch.full((1, 1, 3, HEIGHT, WIDTH), 0.35)  # a change of 0.15: half the default limit
    default = _error(source, source, previous, new)
    strict = replace(CONFIG, style_change_limit=0.15)
    torch.testing.assert_close(default, torch.full_like(default, FLOW_ERROR_LIMIT / 2))
    vetoed = _error(source, source, previous, new, strict)
    torch.testing.assert_close(vetoed, torch.full_like(vetoed, FLOW_ERROR_LIMIT))
    finer = replace(CONFIG, veto_pool=4)
    assert _error(source, source, previous, new, finer).shape == (1, 1, HEIGHT // 4, WIDTH // 4)


def _run(net: FusionNet, frames: list[torch.Tensor], candidates: torch.Tensor) -> list[torch.Tensor]:
    """The previous frame's share for each frame of a still clip (zero flow), through the runtime."""
    runtime = TemporalFusion(net, torch.device("cpu"), torch.float32)
    still = Motion(np.zeros((HEIGHT // 4, WIDTH // 4, 2), np.float32), 0.0)
    return [runtime(frame, candidates, None if i == 0 else still).weights[:, -1] for i, frame in enumerate(frames)]


def _trusting(bank_path: Path) -> FusionNet:
    """The bank's F with a gate that keeps the previous frame as far as the rules allow."""
    net = load_style_bank(bank_path).build_fusion()
    with torch.no_grad():
        net.gate[-1].bias[0] = 1e4
    return net


def test_a_bank_saved_with_its_own_rules_runs_under_them(tmp_path: Path) -> None:
    """Rules saved with the weights come back from the file and change F's output: the same
    weights under a cap of 0.5 keep half of the previous frame where the default keeps 0.9."""
    bank = tiny_fusion_bank()
    rules = replace(bank.fusion_config, max_keep=0.5, flow_error_limit=0.2, veto_pool=4, style_change_limit=0.4,
                    region_floor=1e-4)
    own = save_style_bank(replace(bank, fusion_config=rules), tmp_path / "own.safetensors")
    default = save_style_bank(bank, tmp_path / "default.safetensors")
    assert load_style_bank(own).fusion_config == rules
    # A still frame and a flat candidate at full resolution: the fused frame is the candidate, the
    # warped one matches the next candidate, and nothing is vetoed.
    frames, candidates = [torch.rand(1, 3, HEIGHT, WIDTH)] * 2, torch.full((1, 1, 3, HEIGHT, WIDTH), 0.4)
    shares_own, shares_default = _run(_trusting(own), frames, candidates), _run(_trusting(default), frames, candidates)
    torch.testing.assert_close(shares_own[1], torch.full_like(shares_own[1], 0.5))
    torch.testing.assert_close(shares_default[1], torch.full_like(shares_default[1], CONFIG.max_keep))


def _with_fusion_json(path: Path, out: Path, fusion: dict[str, object]) -> Path:
    """A copy of the bank at ``path`` whose fusion config JSON is ``fusion``."""
    with safe_open(str(path), framework="pt") as handle:
        document = json.loads(handle.metadata()["rtstyle"])
    save_file(load_file(str(path)), str(out), metadata={"rtstyle": json.dumps({**document, "fusion": fusion})})
    return out


def test_a_bank_written_before_the_rules_were_saved_runs_under_todays_values(tmp_path: Path) -> None:
    """An older file's fusion JSON has only the architecture: it loads with the defaults and
    fuses exactly like the same bank written now.  A key this code does not know is refused."""
    path = save_style_bank(tiny_fusion_bank(), tmp_path / "new.safetensors")
    architecture = {"hidden": 4, "scorer_hidden": 4, "gate_stride": 4}
    old = _with_fusion_json(path, tmp_path / "old.safetensors", architecture)
    assert load_style_bank(old).fusion_config == load_style_bank(path).fusion_config == FusionConfig(**architecture)
    torch.manual_seed(1)
    frames = [torch.rand(1, 3, HEIGHT, WIDTH) for _ in range(2)]
    candidates = torch.rand(1, 1, 3, HEIGHT // 2, WIDTH // 2)
    for a, b in zip(_run(_trusting(old), frames, candidates), _run(_trusting(path), frames, candidates), strict=True):
        assert torch.equal(a, b)
    newer = _with_fusion_json(path, tmp_path / "newer.safetensors", {**architecture, "future_rule": 1.0})
    with pytest.raises(ModelFileError, match="unknown fusion config keys"):
        load_style_bank(newer)
