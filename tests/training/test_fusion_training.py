"""Training the fusion network F: its losses, which network each stage updates, and the style file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rtstyle.fusion_runtime import TemporalFusion
from rtstyle.models.fusion import FusionConfig, FusionNet
from rtstyle.models.resample import resize
from rtstyle.motion import Motion
from rtstyle.regions import RegionMaskCache, Regions, region_labels, soft_masks
from rtstyle.stylefile import load_style_bank
from rtstyle.stylizer import Stylizer
from rtstyle.video.sample import make_sample_clip
from tests.training.test_train_cli import TINY
from tests.training.test_train_step import make_trainer, tiny_config
from training import fusion_losses
from training.checkpoint import CHECKPOINT_NAME
from training.data import load_content
from training.fusion_data import load_video_pairs
from training.fusion_trainer import FusionTrainer, fuse_pair
from training.train import main

FUSION = dict(fusion_size=32, fusion_batch=2, fusion_scales=[0.5], video_pairs=3, fusion_region_prob=0.5)


def test_fusion_losses_vanish_where_they_should_and_only_there() -> None:
    image = torch.rand(2, 3, 24, 24)
    assert fusion_losses.match_loss(image, image) == 0
    valid = torch.ones(2, 1, 24, 24)
    assert fusion_losses.fusion_temporal_loss(image, image, valid) == 0
    shifted = image.roll(1, -1)
    assert fusion_losses.fusion_temporal_loss(shifted, image, valid) > 0
    assert fusion_losses.fusion_temporal_loss(shifted, image, torch.zeros_like(valid)) == 0  # all occluded
    references = torch.stack([image, image.flip(-1)], 1)  # [N,K,3,H,W]
    band = torch.ones(2, 1, 24, 24)
    assert fusion_losses.seam_loss(image, references, band) == 0  # no edge stronger than an input's
    hard_seam = torch.cat([torch.zeros(2, 3, 24, 12), torch.ones(2, 3, 24, 12)], -1)
    smooth = torch.full((2, 2, 3, 24, 24), 0.5)
    assert fusion_losses.seam_loss(hard_seam, smooth, band) > 0


def test_training_fuses_a_pair_exactly_as_the_runtime_fuses_two_frames() -> None:
    """Train/serve parity: the trainer's pair of F steps (region logits, warp, veto, F) gives the
    runtime's frames under a bank's own rules — bit for bit without autograd; with it, within 2e-4
    (the runtime's OpenCV resampling and warp, whose positions are exact to 1/32 pixel, are only
    taken without autograd)."""
    torch.manual_seed(0)
    height, width = 32, 48
    net = FusionNet(FusionConfig(hidden=4, scorer_hidden=4, gate_stride=4, max_keep=0.7, flow_error_limit=0.3,
                                 veto_pool=4, style_change_limit=0.5, region_floor=1e-3))
    sources = [torch.rand(1, 3, height, width) for _ in range(2)]
    smalls = [resize(source, (height // 2, width // 2)) for source in sources]
    candidates = [torch.rand(1, 2, 3, height // 2, width // 2) for _ in range(2)]
    flow = torch.randn(1, 2, height, width)  # pixels, backward
    regions = Regions("left-right", tuple(np.eye(2, dtype=np.float32)))
    masks = torch.from_numpy(soft_masks(region_labels(regions.layout, height, width, 2), 2))[None]
    pair = (sources[0], smalls[0], candidates[0]), (sources[1], smalls[1], candidates[1])
    with torch.no_grad():
        trained = fuse_pair(net, *pair, flow, masks)
    with_grad = fuse_pair(net, *pair, flow, masks)

    runtime = TemporalFusion(net, torch.device("cpu"), torch.float32)
    logits = RegionMaskCache(torch.device("cpu"), torch.float32).logits(regions, height, width, net.config.region_floor)
    motion = Motion(flow[0].permute(1, 2, 0).numpy(), 0.0)
    served = [runtime(sources[0], candidates[0], None, logits, smalls[0]),
              runtime(sources[1], candidates[1], motion, logits, smalls[1])]
    for train, serve in zip(trained, served, strict=True):
        assert torch.equal(train.frame, serve.frame) and torch.equal(train.candidate_weights, serve.candidate_weights)
    assert trained[0].keep is None and torch.equal(trained[1].keep, served[1].keep)
    assert 0 < trained[1].keep.max() <= 0.7  # the second frame did reuse the first, under the bank's cap
    for train, serve in zip(with_grad, served, strict=True):
        torch.testing.assert_close(train.frame, serve.frame, atol=2e-4, rtol=0)


def _fusion_trainer(dataset: dict[str, Path], **overrides: object) -> FusionTrainer:
    clip = make_sample_clip(dataset["root"] / "clip.mp4", seconds=0.5, width=64, height=48, fps=12)
    config = tiny_config(dataset, content=[str(dataset["content"]), str(clip)], **FUSION, **overrides)
    trainer = make_trainer(config)
    content, _ = load_content(config.content, frames_per_video=4, max_short_side=64, min_side=16)
    pairs = load_video_pairs(config.content, config.video_pairs, 64)
    assert len(pairs) == 3 and pairs[0].flow.shape == (48, 64, 2)
    trainer.step = config.steps  # past the generator's stage
    return FusionTrainer(trainer, content, pairs)


def test_fusion_stage_trains_f_and_d_but_leaves_g_alone(dataset: dict[str, Path]) -> None:
    fusion = _fusion_trainer(dataset)
    generator_before = [p.detach().clone() for p in fusion.trainer.generator.parameters()]
    fusion_before = [p.detach().clone() for p in fusion.fusion.parameters()]
    d_before = [p.detach().clone() for p in fusion.trainer.discriminator.parameters()]
    scalars = fusion.step(joint=False)
    assert {"f_match", "f_source", "f_adv", "f_temporal"} <= set(scalars)
    assert all(torch.equal(a, b) for a, b in zip(generator_before, fusion.trainer.generator.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(fusion_before, fusion.fusion.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(d_before, fusion.trainer.discriminator.parameters()))


def test_joint_stage_trains_g_and_f_together(dataset: dict[str, Path]) -> None:
    fusion = _fusion_trainer(dataset)
    generator_before = [p.detach().clone() for p in fusion.trainer.generator.parameters()]
    fusion_before = [p.detach().clone() for p in fusion.fusion.parameters()]
    step = fusion.trainer.step
    scalars = fusion.step(joint=True)
    assert "g_adv" in scalars and "f_temporal" in scalars  # G's own objective and F's, in one update
    assert fusion.trainer.step == step + 1
    assert not all(torch.equal(a, b) for a, b in zip(generator_before, fusion.trainer.generator.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(fusion_before, fusion.fusion.parameters()))


def test_train_py_writes_a_bank_with_f_and_resume_keeps_it(dataset: dict[str, Path]) -> None:
    clip = make_sample_clip(dataset["root"] / "clip.mp4", seconds=0.5, width=64, height=48, fps=12)
    out, runs = dataset["root"] / "fused.safetensors", dataset["root"] / "runs"
    args = ["--style", str(dataset["stripes"]), str(dataset["dots"]), "--content", str(dataset["content"]), str(clip),
            "--out", str(out), "--run-dir", str(runs), "--steps", "2", "--fusion-steps", "2", "--joint-steps", "1",
            "--fusion-size", "32", "--fusion-batch", "2", "--video-pairs", "2", *TINY]
    assert main(args) == 0
    bank = load_style_bank(out)
    assert bank.has_fusion and bank.training["steps"] == 5
    (run_dir,) = runs.iterdir()
    state = torch.load(run_dir / CHECKPOINT_NAME, weights_only=True)
    assert "fusion" in state and "opt_f" in state
    assert main(["--resume", str(run_dir), "--fusion-steps", "3"]) == 0
    state = torch.load(run_dir / CHECKPOINT_NAME, weights_only=True)
    assert state["step"] == 6
    assert max(float(s["step"]) for s in state["opt_f"]["state"].values()) == 4.0  # F kept its optimizer
    stylizer = Stylizer(load_style_bank(out), device="cpu", dtype="float32", backend="torch")
    frame = (torch.rand(40, 56, 3) * 255).to(torch.uint8).numpy()
    assert stylizer.uses_fusion() and stylizer(frame).shape == (40, 56, 3)


@pytest.mark.parametrize("value", [[0.0], [1.5]])
def test_bad_fusion_scales_are_rejected(dataset: dict[str, Path], value: list[float]) -> None:
    with pytest.raises(ValueError, match="fusion_scales"):
        tiny_config(dataset, fusion_scales=value).validate()


def test_list_options_parse_to_their_element_type() -> None:
    from training.train import build_parser

    args = build_parser().parse_args(["--fusion-scales", "0.5", "0.25", "--nce-layers", "stem"])
    assert args.fusion_scales == [0.5, 0.25] and args.nce_layers == ["stem"]
