"""Fixed feature extractors: random patch projections, and VGG loaded from a torchvision-style file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from rtstyle.errors import InputError
from training import losses
from training.features import _VGG_LAYOUTS, PatchProjector, laplacian_bands, load_vgg


def _torchvision_like_vgg16(path: Path) -> Path:
    """A state dict with torchvision's VGG-16 key names and shapes (random fp16 values)."""
    state, channels, index = {}, 3, 0
    for item in _VGG_LAYOUTS["vgg16"]:
        if item == "M":
            index += 1
            continue
        state[f"features.{index}.weight"] = torch.randn(int(item), channels, 3, 3, dtype=torch.float16) * 0.05
        state[f"features.{index}.bias"] = torch.zeros(int(item), dtype=torch.float16)
        channels, index = int(item), index + 2
    state["classifier.6.bias"] = torch.zeros(10)
    torch.save(state, path)
    return path


def test_vgg_loads_from_a_state_dict_file_without_torchvision(tmp_path: Path) -> None:
    vgg = load_vgg(str(_torchvision_like_vgg16(tmp_path / "vgg16.pth")))
    assert vgg.arch == "vgg16"
    assert all(not p.requires_grad for p in vgg.parameters())
    style, content = vgg(torch.rand(1, 3, 32, 32))
    assert [f.shape[1] for f in style] == [64, 128, 256, 512]
    assert [f.shape[1] for f in content] == [128]


def test_bad_vgg_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_vgg(str(tmp_path / "missing.pth"))
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a readable"):
        load_vgg(str(junk))
    wrong = tmp_path / "wrong.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, wrong)
    with pytest.raises(InputError, match="conv layers"):
        load_vgg(str(wrong))


def test_patch_projector_uses_unit_directions_and_stops_at_small_levels() -> None:
    projector = PatchProjector(patch_size=5, num_directions=8, levels=4, seed=3)
    norms = projector.weight.flatten(1).norm(dim=1)
    assert torch.allclose(norms, torch.ones(8))
    projections = projector(torch.rand(2, 3, 24, 24), torch.tensor([0, 5]))
    # Levels of 24, 12 and 6 px hold 5×5 patches; the 3 px level does not and is left out.
    assert [tuple(p.shape) for p in projections] == [(2, 2, 20 * 20), (2, 2, 8 * 8), (2, 2, 2 * 2)]
    tables = projector.target_quantiles(torch.rand(1, 3, 64, 64), num_quantiles=100)
    assert tables[0].shape == (8, 100) and bool((tables[0].diff(dim=1) >= 0).all())
    assert torch.equal(PatchProjector(5, 8, 4, seed=3).weight, projector.weight)  # seeded: reproducible


def test_laplacian_bands_add_back_up_to_the_image() -> None:
    x = torch.rand(2, 3, 40, 36)
    bands = laplacian_bands(x, levels=3)
    assert [tuple(b.shape[-2:]) for b in bands] == [(40, 36), (20, 18), (10, 9)]
    rebuilt = bands[-1]
    for band in reversed(bands[:-1]):  # each band is what the blurred half-size level lacks
        rebuilt = band + F.interpolate(rebuilt, size=band.shape[-2:], mode="bilinear", align_corners=False)
    assert torch.allclose(rebuilt, x, atol=1e-5)
    assert abs(bands[0].mean().item()) < 0.02  # band-pass: no colour left in the fine band


def test_band_pass_patches_tell_a_painting_from_its_smoothed_copy() -> None:
    # Fine strokes on a colour gradient; the smoothed copy keeps the gradient (the palette) only.
    gradient = torch.linspace(0, 1, 64).view(1, 1, 1, 64).expand(1, 3, 64, 64)
    strokes = (torch.rand(1, 1, 64, 64) > 0.5).float().expand(1, 3, 64, 64)
    painting = 0.7 * gradient + 0.3 * strokes
    smoothed = F.avg_pool2d(F.pad(painting, (3, 3, 3, 3), mode="reflect"), 7, stride=1)
    projector = PatchProjector(patch_size=5, num_directions=32, levels=3, seed=1)
    tables = projector.target_quantiles(painting, num_quantiles=512)
    itself = losses.sliced_wasserstein_loss(projector(painting), tables).item()
    fine_only = losses.sliced_wasserstein_loss(projector(smoothed)[:1], tables[:1]).item()
    assert itself < 0.01
    assert fine_only > 0.5  # the fine band alone sees the strokes are gone
