"""A training step updates the right network with the right losses, and resume restores it all."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from training.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from training.config import TrainConfig
from training.data import load_content, load_style
from training.trainer import Trainer


def tiny_config(dataset: dict[str, Path], **overrides: object) -> TrainConfig:
    """Settings small enough for a CPU test: 32 px crops, narrow D, few NCE patches and SWD levels."""
    values = dict(
        style=[str(dataset["stripes"]), str(dataset["dots"])],
        content=[str(dataset["content"])],
        out=str(dataset["root"] / "bank.safetensors"),
        size=32,
        style_size=48,
        batch_size=2,
        steps=4,
        warmup_steps=1,
        d_channels=8,
        w_nce=1.0,
        nce_patches=16,
        swd_levels=2,
        swd_directions=8,
        swd_points=256,
        sample_size=32,
        log_every=1,
        sample_every=2,
        checkpoint_every=2,
    )
    values.update(overrides)
    return TrainConfig(**values)


def make_trainer(config: TrainConfig) -> Trainer:
    paintings = [load_style(p, config.style_size) for p in config.style]
    content, _ = load_content(config.content, frames_per_video=4, max_short_side=64, min_side=16)
    return Trainer(config, paintings, content, torch.device("cpu"))


def _has_grad(module: torch.nn.Module) -> bool:
    return any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in module.parameters())


def test_discriminator_step_leaves_the_generator_untouched(dataset: dict[str, Path]) -> None:
    trainer = make_trainer(tiny_config(dataset))
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    batch = trainer.sample_batch()
    with torch.no_grad():
        fake = trainer.generator(batch.content, trainer.style_weights(batch.styles))
    scalars = trainer.discriminator_step(batch, fake)
    assert _has_grad(trainer.discriminator)
    assert not _has_grad(trainer.generator) and not _has_grad(trainer.mlp)
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters(), strict=True))
    assert {"d_adv", "d_cls", "d_style_acc"} <= set(scalars)


@pytest.mark.parametrize("pyramid_base", [0, 8])
@pytest.mark.parametrize("warmup", [True, False])
def test_generator_step_reaches_generator_and_nce_heads_only(dataset: dict[str, Path], warmup: bool,
                                                             pyramid_base: int) -> None:
    trainer = make_trainer(tiny_config(dataset, w_scale=1.0, pyramid_base=pyramid_base))
    assert trainer.generator.config.pyramid_base == pyramid_base
    batch = trainer.sample_batch()
    with torch.no_grad():
        fake = trainer.generator(batch.content, trainer.style_weights(batch.styles))
    trainer.discriminator_step(batch, fake)
    trainer.opt_d.zero_grad(set_to_none=True)
    d_before = [p.detach().clone() for p in trainer.discriminator.parameters()]
    scalars = trainer.generator_step(batch, trainer.style_weights(batch.styles), warmup)
    assert _has_grad(trainer.generator) and _has_grad(trainer.mlp)
    assert all(p.grad is None for p in trainer.discriminator.parameters())
    assert all(torch.equal(a, b) for a, b in zip(d_before, trainer.discriminator.parameters(), strict=True))
    expected = (
        {"g_nce", "g_struct", "g_rec"}
        if warmup
        else {"g_nce", "g_struct", "g_adv", "g_cls", "g_swd", "g_temporal", "g_scale"}
    )
    assert expected <= set(scalars) and ("g_adv" in scalars) is not warmup
    assert all(torch.isfinite(torch.tensor(v)) for v in scalars.values())


def test_resume_restores_step_weights_and_optimizer_state(dataset: dict[str, Path], tmp_path: Path) -> None:
    config = tiny_config(dataset)
    trainer = make_trainer(config)
    for _ in range(3):
        trainer.train_step()
    save_checkpoint(trainer, tmp_path / CHECKPOINT_NAME, {"history": [{"step": 3.0, "g_nce": 1.0}], "wall_time_s": 5.0})
    resumed = make_trainer(config)
    extra = load_checkpoint(resumed, tmp_path / CHECKPOINT_NAME)
    assert resumed.step == 3 and extra["wall_time_s"] == 5.0 and extra["history"][0]["g_nce"] == 1.0
    for name in ("generator", "discriminator", "mlp"):
        original, restored = getattr(trainer, name).state_dict(), getattr(resumed, name).state_dict()
        assert all(torch.equal(original[k], restored[k]) for k in original)
    for name in ("opt_g", "opt_d"):
        original, restored = getattr(trainer, name).state_dict()["state"], getattr(resumed, name).state_dict()["state"]
        assert original.keys() == restored.keys()
        for key in original:
            assert float(restored[key]["step"]) == 3.0
            assert torch.equal(original[key]["exp_avg"], restored[key]["exp_avg"])
            assert torch.equal(original[key]["exp_avg_sq"], restored[key]["exp_avg_sq"])
    resumed.train_step()
    assert resumed.step == 4


def test_checkpoint_that_does_not_fit_is_an_input_error(dataset: dict[str, Path], tmp_path: Path) -> None:
    from rtstyle.errors import InputError

    path = tmp_path / CHECKPOINT_NAME
    save_checkpoint(make_trainer(tiny_config(dataset)), path, {})
    with pytest.raises(InputError, match="does not match"):
        load_checkpoint(make_trainer(tiny_config(dataset, d_channels=16)), path)
    path.write_bytes(b"garbage")
    with pytest.raises(InputError, match="unreadable"):
        load_checkpoint(make_trainer(tiny_config(dataset)), path)
