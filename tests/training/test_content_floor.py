"""The content floor: a style that loses the photo gets its stored vector refined, and nothing else moves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rtstyle.stylefile import load_style_bank
from tests.training.test_train_cli import TINY
from tests.training.test_train_step import make_trainer, tiny_config
from training.content_floor import _measurement_set, hold_content_floor, style_ssim
from training.data import load_content
from training.train import main


def _photos(dataset: dict[str, Path]) -> list[np.ndarray]:
    content, _ = load_content([str(dataset["content"])], frames_per_video=4, max_short_side=64, min_side=16)
    return content


def test_a_style_below_the_floor_is_refined_and_nothing_else_changes(dataset: dict[str, Path]) -> None:
    trainer = make_trainer(tiny_config(dataset, w_teacher=0.0))
    generator = trainer.generator
    photos = _photos(dataset)
    measured = _measurement_set(photos, trainer.device)
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in generator.parameters():  # a trained G reads its vectors; a fresh one ignores them
            parameter.add_(torch.randn_like(parameter) * 0.2)
        generator.style_vectors[1] *= 12.0  # the two styles now keep the photo to different degrees
    kept = {name: value.clone() for name, value in generator.state_dict().items()}
    scores = [style_ssim(trainer, index, measured) for index in range(2)]
    low, high = int(np.argmin(scores)), int(np.argmax(scores))
    assert scores[high] - scores[low] > 0.05, scores
    floor = (scores[0] + scores[1]) / 2  # one style holds it as it is, the other does not

    results = hold_content_floor(trainer, photos, ["stripes", "dots"], floor)

    assert [r.style for r in results] == ["stripes", "dots"]
    assert results[high].rounds == 0 and results[high].ssim_after == results[high].ssim_before
    assert results[high].ssim_before == pytest.approx(scores[high])
    assert results[low].rounds >= 1 and results[low].ssim_before == pytest.approx(scores[low])
    assert results[low].ssim_after > results[low].ssim_before + 0.02
    assert results[low].ssim_after == pytest.approx(style_ssim(trainer, low, measured))
    after = generator.state_dict()
    assert not torch.equal(after["style_vectors"][low], kept["style_vectors"][low])
    assert torch.equal(after["style_vectors"][high], kept["style_vectors"][high])
    assert all(torch.equal(after[name], kept[name]) for name in kept if name != "style_vectors")  # G frozen
    assert all(p.requires_grad for p in generator.parameters())  # and trainable again afterwards


def test_a_bank_without_style_vectors_is_left_as_it_is(dataset: dict[str, Path]) -> None:
    trainer = make_trainer(tiny_config(dataset, feature_net="none", w_teacher=0.0))
    kept = {name: value.clone() for name, value in trainer.generator.state_dict().items()}
    assert hold_content_floor(trainer, _photos(dataset), ["stripes", "dots"], 0.99) == []
    assert all(torch.equal(trainer.generator.state_dict()[name], kept[name]) for name in kept)


def test_init_with_no_steps_applies_the_floor_and_keeps_the_banks_f(dataset: dict[str, Path]) -> None:
    root = dataset["root"]
    paintings = [str(dataset["stripes"]), str(dataset["dots"])]
    common = ["--style", *paintings, "--content", str(dataset["content"]), "--run-dir", str(root / "runs"), *TINY,
              "--w-teacher", "0", "--fusion-size", "32", "--video-pairs", "1"]
    first = root / "first.safetensors"
    assert main([*common, "--out", str(first), "--steps", "2", "--fusion-steps", "1", "--content-floor", "0"]) == 0
    trained = load_style_bank(first)
    assert trained.has_fusion and trained.training["content_floor"] == []  # 0: off

    again = root / "again.safetensors"
    assert main([*common, "--out", str(again), "--init", str(first), "--steps", "0", "--content-floor", "0.99"]) == 0
    refined = load_style_bank(again)
    floor = refined.training["content_floor"]
    assert [entry["style"] for entry in floor] == ["stripes", "dots"] and all(e["rounds"] >= 1 for e in floor)
    for index, entry in enumerate(floor):  # a vector moved exactly where a round gained (a loss is undone)
        moved = not torch.equal(refined.state_dict["style_vectors"][index], trained.state_dict["style_vectors"][index])
        assert moved == (entry["ssim_after"] > entry["ssim_before"]) and entry["ssim_after"] >= entry["ssim_before"]
    assert all(torch.equal(refined.state_dict[k], v) for k, v in trained.state_dict.items() if k != "style_vectors")
    assert refined.has_fusion and all(torch.equal(refined.fusion_state[k], v) for k, v in trained.fusion_state.items())


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--steps", "0"], "steps must be at least 1 (0 only with --init)"),
     (["--content-floor", "1.5"], "content_floor must be in [0, 1) (0: off)")],
)
def test_settings_out_of_range_are_one_line(dataset: dict[str, Path], args: list[str], message: str, capsys) -> None:
    common = ["--style", str(dataset["stripes"]), "--content", str(dataset["content"]),
              "--out", str(dataset["root"] / "x.safetensors"), "--run-dir", str(dataset["root"] / "runs")]
    assert main([*common, *args]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"error: {message}"
