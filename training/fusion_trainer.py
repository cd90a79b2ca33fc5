"""Training the fusion network F: its own stage after the generator's, then joint fine-tuning.

Per step, a batch of frame pairs (:mod:`training.fusion_data`) is stylized the way the runtime
does it: the generator at a random working resolution (``fusion_scales``), one output per region
style, then two temporal steps of F through the runtime's own :func:`rtstyle.fusion_runtime.fusion_step`
— the first frame without a previous frame, the second with the first fused frame warped along the
flow and vetoed by the bank's rules — with region logits and targets made by the runtime's
:func:`rtstyle.regions.region_logits` and :func:`rtstyle.regions.blend_regions`.  F's objective is

    L_F = w_match·(E(O_1 − G_full(x_1))² + E(O_2 − G_full(x_2))²) + w_source·L_struct(O_2, x_2)
          + w_adv·L_adv(D(O_2)) + w_seam·L_seam              (adversarial: D judges fused frames)
    L_T = w_temporal·Σ v·(O_2 − warp(O_1))² / Σ v

In the F stage G is frozen and F minimises β·L_F + γ·L_T.  In the joint stage G and F are trained
together on the design's mix α·L_G + β·L_F + γ·L_T: G keeps its own objective (weighted α, on its
own batch), and the fusion terms reach G through both its outputs at the working resolution and
its full-resolution target.  After each update D learns from the fused frames as fakes.
"""

from __future__ import annotations

import numpy as np
import torch

from rtstyle.fusion_runtime import fusion_step, warp_with_flow
from rtstyle.models.fusion import FUSION_PRESETS, FusionNet, FusionOutput
from rtstyle.models.resample import resize
from rtstyle.regions import LAYOUTS, blend_regions, region_logits, soft_masks
from training import fusion_losses, losses
from training.augment import diff_augment
from training.data import ContentSampler
from training.fusion_data import FramePair, PairBatch, PairSampler
from training.trainer import Batch, Trainer

#: Seam band: pixels where some region's soft mask is strictly between these.
_BAND = (0.02, 0.98)
#: One frame as F sees it: the source ``[N,3,H,W]``, the generator's input ``[N,3,h,w]`` and its
#: outputs ``[N,K,3,h,w]``, one per region style.
FrameInputs = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def fuse_pair(
    fusion: FusionNet, first: FrameInputs, second: FrameInputs, flow: torch.Tensor, masks: torch.Tensor | None
) -> tuple[FusionOutput, FusionOutput]:
    """F over a frame pair exactly as the runtime runs it over two consecutive frames.

    The first frame is fused without a previous frame, the second with the first fused frame
    warped along ``flow`` (``[N,2,H,W]``, backward: second → first), through the runtime's own
    :func:`fusion_step`; the soft ``masks`` ``[N,K,H,W]`` (None: one style) become region logits
    with the bank's floor, as the runtime's :class:`rtstyle.regions.RegionMaskCache` makes them.
    """
    logits = None if masks is None else region_logits(masks, fusion.config.region_floor)
    (source, source_work, candidates), (next_source, next_work, next_candidates) = first, second
    out1, state = fusion_step(fusion, source, candidates, None, None, logits, source_work)
    out2, _ = fusion_step(fusion, next_source, next_candidates, state, flow, logits, next_work)
    return out1, out2


class FusionTrainer:
    """F, its optimizer and its update step, beside a :class:`Trainer` that owns G and D."""

    def __init__(self, trainer: Trainer, content_images: list[np.ndarray], pairs: list[FramePair]) -> None:
        self.trainer = trainer
        cfg, device = trainer.config, trainer.device
        self.fusion = FusionNet(FUSION_PRESETS[cfg.preset]).to(device)
        self.opt_f = torch.optim.Adam(self.fusion.parameters(), cfg.lr_f, betas=(cfg.beta1, cfg.beta2))
        seed = trainer._seed() + 2
        crops = ContentSampler(content_images, cfg.fusion_size, (cfg.content_scale_min, 1.0), seed)
        motion = (cfg.motion_translate, cfg.motion_rotate, cfg.motion_scale)
        self.sampler = PairSampler(crops, pairs, cfg.fusion_size, motion, seed + 1)
        self.rng = np.random.default_rng(seed + 2)

    def step(self, joint: bool) -> dict[str, float]:
        """One F update (stage ``fusion``) or one joint G+F update (stage ``joint``)."""
        trainer, cfg = self.trainer, self.trainer.config
        pairs = self.sampler.sample(cfg.fusion_batch, trainer.device)
        styles = torch.randint(0, trainer.num_styles, (pairs.first.shape[0], cfg.fusion_regions_max))
        regional = cfg.fusion_regions_max > 1 and self.rng.random() < cfg.fusion_region_prob
        mixes = [trainer.style_weights(styles[:, k]) for k in range(cfg.fusion_regions_max if regional else 1)]
        masks = self._random_masks(len(mixes), cfg.fusion_size) if regional else None
        scale = float(self.rng.choice(cfg.fusion_scales))
        work = max(trainer.generator.min_size, round(cfg.fusion_size * scale))
        self.opt_f.zero_grad(set_to_none=True)
        fused: list[torch.Tensor] = []  # the second frame's fused output, for D's update

        def fusion_terms() -> dict[str, tuple[float, torch.Tensor]]:
            terms, frame = self._terms(pairs, mixes, masks, work, joint, styles[:, 0])
            fused.append(frame.detach())
            return terms

        if joint:  # G's own step, with F's terms added to its objective
            scalars = trainer.train_step(extra=fusion_terms, own_weight=cfg.joint_alpha)
        else:
            terms = fusion_terms()
            total = sum(weight * value for weight, value in terms.values() if weight)
            total.backward()
            trainer.step += 1
            scalars = {f"f_{name}": value.item() for name, (_, value) in terms.items()}
        self.opt_f.step()
        self._discriminator_step(fused[0], styles[:, 0])
        scalars["f_scale"] = scale
        return scalars

    def _terms(
        self,
        pairs: PairBatch,
        mixes: list[torch.Tensor],
        masks: torch.Tensor | None,
        work: int,
        joint: bool,
        styles: torch.Tensor,
    ) -> tuple[dict[str, tuple[float, torch.Tensor]], torch.Tensor]:
        """Run G and F over the pair; return F's weighted terms and the second fused frame."""
        trainer, cfg = self.trainer, self.trainer.config
        generator = trainer.generator
        outputs, references, full_outputs = [], [], []
        for frame in (pairs.first, pairs.second):
            # The target: G at full resolution, regions blended by their masks.  In the joint stage
            # it is trained too, so G's looks at full and at low resolution move towards each other
            # (a style that changes with --scale is a style F can only partly restore).
            with torch.set_grad_enabled(joint):
                full = torch.stack([generator(frame, mix) for mix in mixes], 1)  # [N,K,3,H,W]
                small = resize(frame, (work, work))
                candidates = torch.stack([generator(small, mix) for mix in mixes], 1)
            full_outputs.append(full)
            references.append(full.detach())
            outputs.append((frame, small, candidates))
        out1, out2 = fuse_pair(self.fusion, outputs[0], outputs[1], pairs.flow, masks)
        targets = [blend_regions(full.unbind(1), masks) for full in full_outputs]
        fake = trainer.discriminator(diff_augment(self._crop_for_d(out2.frame), trainer.policy), styles)
        terms = {
            "match": (cfg.w_f_match * cfg.joint_beta,
                      fusion_losses.match_loss(out1.frame, targets[0]) + fusion_losses.match_loss(out2.frame, targets[1])),
            "source": (cfg.w_f_source * cfg.joint_beta, losses.structure_loss(out2.frame, pairs.second)),
            "adv": (cfg.w_f_adv * cfg.joint_beta, trainer._per_scale(losses.hinge_g_loss, fake.adversarial)),
            "temporal": (cfg.w_f_temporal * cfg.joint_gamma, fusion_losses.fusion_temporal_loss(
                out2.frame, warp_with_flow(out1.frame, pairs.flow), pairs.valid)),
        }
        if masks is not None:
            band = ((masks > _BAND[0]) & (masks < _BAND[1])).any(1, keepdim=True).float()
            terms["seam"] = (cfg.w_f_seam * cfg.joint_beta, fusion_losses.seam_loss(out2.frame, references[1], band))
        return terms, out2.frame

    def _random_masks(self, count: int, size: int) -> torch.Tensor:
        """Soft masks ``[N,K,H,W]`` of a random built-in layout with ``count`` regions."""
        names = [name for name, (regions, _) in LAYOUTS.items() if regions == count]
        name = names[int(self.rng.integers(len(names)))]
        labels = LAYOUTS[name][1](size, size)
        if self.rng.random() < 0.5:  # either orientation: the seam may run any way
            labels = labels.T.copy()
        masks = torch.from_numpy(soft_masks(labels, count))[None]
        return masks.expand(self.trainer.config.fusion_batch, -1, -1, -1).to(self.trainer.device)

    def _crop_for_d(self, image: torch.Tensor) -> torch.Tensor:
        """A random crop at the size D trained on, so fused and painted patches have one scale."""
        size, side = self.trainer.config.size, image.shape[-1]
        if side <= size:
            return image
        top, left = (int(v) for v in self.rng.integers(0, side - size + 1, 2))
        return image[..., top : top + size, left : left + size]

    def _discriminator_step(self, fused: torch.Tensor, styles: torch.Tensor) -> None:
        """D learns that fused frames are fakes too (so F cannot win by blurring or ghosting)."""
        trainer = self.trainer
        real = trainer.style_sampler.sample(styles.cpu()).to(trainer.device)
        batch = Batch(self._crop_for_d(fused.detach()), real, styles)
        trainer.discriminator_step(batch, batch.content)

    def state_dict(self) -> dict[str, object]:
        return {"fusion": self.fusion.state_dict(), "opt_f": self.opt_f.state_dict()}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.fusion.load_state_dict(state["fusion"])
        self.opt_f.load_state_dict(state["opt_f"])

