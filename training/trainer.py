"""The GAN training step of a style bank: one discriminator update, then one generator update.

Per step every image of the batch gets a random style of the bank.  The generator's objective is

    L_G = w_adv·L_hinge + w_cls·L_cls + w_nce·L_PatchNCE + w_struct·L_struct + w_swd·SW(patches)
          + w_temporal·L_temp + w_scale·L_scale [+ w_vgg_content·L_perc + w_vgg_style·L_Gram with VGG]
          + w_content·L_content + w_style·L_style + w_vector·L_vector + w_teacher·L_teacher   (feature network)

The feature-network terms (:mod:`training.perceptual`) read Magenta's style predictor; with it the
generator is conditioned on the predictor's style vectors (``style_dim``), and with teacher pairs
(:mod:`training.teacher`) each content crop comes with the teacher's painting of it.

and during the first ``warmup_steps`` it is ``w_rec·L1(G(x), x) + w_nce·L_PatchNCE + w_struct·L_struct`` so the GAN
starts from a generator that already reproduces its input.  Checkpoints and resume live in
:mod:`training.checkpoint`; the loop, reports and export in :mod:`training.loop`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from rtstyle.models.generator import StyleGenerator, preset_config
from rtstyle.models.style_predictor import STYLE_DIM, load_style_predictor
from training import losses
from training.augment import diff_augment, parse_policy
from training.config import TrainConfig
from training.data import ContentSampler, StyleSampler
from training.discriminator import MultiScaleDiscriminator
from training.distributed import DistInfo, average_gradients, broadcast_parameters
from training.features import PatchProjector, VGGFeatures, load_vgg
from training.patchnce import PatchSampleMLP, encoder_layers, layer_channels, patch_nce, tap_features
from training.perceptual import FeatureTerms
from training.teacher import TeacherPairs

logger = logging.getLogger(__name__)


#: Extra weighted terms for G's objective: name → (weight, value).
ExtraTerms = Callable[[], dict[str, tuple[float, torch.Tensor]]]


@dataclass
class Batch:
    """One step's inputs: content ``x`` [N,3,H,W], painting patches ``real``, style indices [N], and
    the teacher's painting of each content crop in its style (when the run has teacher pairs)."""

    content: torch.Tensor
    real: torch.Tensor
    styles: torch.Tensor
    teacher: torch.Tensor | None = None


class Trainer:
    """Networks, optimizers, fixed style targets and the update step."""

    def __init__(
        self,
        config: TrainConfig,
        paintings: list[np.ndarray],
        content_images: list[np.ndarray],
        device: torch.device,
        dist_info: DistInfo | None = None,
        teacher_pairs: TeacherPairs | None = None,
    ) -> None:
        self.config, self.device = config, device
        self.dist = dist_info or DistInfo()
        self.num_styles = len(paintings)
        self.step = 0
        torch.manual_seed(config.seed)
        self.features: FeatureTerms | None = None
        if config.feature_net == "magenta":
            self.features = FeatureTerms(load_style_predictor(), paintings, config.style_statistic, device, config.seed)
        self.teacher_pairs = teacher_pairs
        architecture = replace(
            preset_config(config.preset, self.num_styles),
            pyramid_base=config.pyramid_base,
            style_dim=STYLE_DIM if self.features is not None else 0,
        )
        self.generator = StyleGenerator(architecture).to(device)
        if self.features is not None:
            self.generator.style_vectors.copy_(self.features.style_vectors)
        self.discriminator = MultiScaleDiscriminator(
            self.num_styles, config.d_channels, config.d_downsamples, config.d_scales
        ).to(device)
        self.nce_modules = encoder_layers(self.generator, config.nce_layers)
        self.mlp = PatchSampleMLP(layer_channels(self.generator, config.nce_layers)).to(device)
        broadcast_parameters([self.generator, self.discriminator, self.mlp], self.dist)
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam([*self.generator.parameters(), *self.mlp.parameters()], config.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), config.lr_d, betas=betas)
        self.policy = parse_policy(config.diffaugment)
        self.projector = PatchProjector(config.swd_patch, 2 * config.swd_directions, config.swd_levels, config.seed).to(
            device
        )
        self.vgg: VGGFeatures | None = load_vgg(config.vgg_weights).to(device) if config.vgg_weights else None
        self._set_style_targets(paintings)
        self.content_sampler = ContentSampler(
            content_images, config.size, (config.content_scale_min, 1.0), self._seed()
        )
        self.style_sampler = StyleSampler(paintings, config.size, config.style_jitter, self._seed() + 1)

    def _seed(self) -> int:
        """Data seed: differs per rank (each sees other crops) and per resumed step."""
        return self.config.seed * 1_000_003 + self.step * 7919 + self.dist.rank

    def reseed_data(self) -> None:
        """After a resume: continue with fresh random crops instead of replaying step 0's."""
        self.content_sampler.rng = np.random.default_rng(self._seed())
        self.style_sampler.rng = np.random.default_rng(self._seed() + 1)

    @torch.no_grad()
    def _set_style_targets(self, paintings: list[np.ndarray]) -> None:
        """Per style: quantile tables of patch projections, and VGG Gram matrices if VGG is on."""
        self.swd_targets: list[list[torch.Tensor]] = []
        self.vgg_grams: list[list[torch.Tensor]] = []
        for painting in paintings:
            image = torch.from_numpy(painting).permute(2, 0, 1)[None].float().div(255).to(self.device)
            self.swd_targets.append(self.projector.target_quantiles(image))
            if self.vgg is not None:
                style_features, _ = self.vgg(image)
                self.vgg_grams.append([losses.gram_matrix(f) for f in style_features])

    def autocast(self):
        """bfloat16 autocast on CUDA (no loss scaling needed, unlike float16); nothing on CPU."""
        if self.device.type == "cuda" and self.config.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def sample_batch(self) -> Batch:
        styles = torch.randint(0, self.num_styles, (self.config.batch_size,))
        real = self.style_sampler.sample(styles).to(self.device)
        if self.teacher_pairs is not None:
            content, teacher = self.teacher_pairs.sample(styles, self.config.size)
            return Batch(content.to(self.device), real, styles.to(self.device), teacher.to(self.device))
        content = self.content_sampler.sample(self.config.batch_size)
        return Batch(content.to(self.device), real, styles.to(self.device))

    def style_weights(self, styles: torch.Tensor) -> torch.Tensor:
        return F.one_hot(styles, self.num_styles).float()  # [N,S]

    def train_step(
        self, batch: Batch | None = None, *, extra: ExtraTerms | None = None, own_weight: float = 1.0
    ) -> dict[str, float]:
        """One D update and one G update; returns the losses as floats.

        ``extra`` adds terms (weight, value) to G's objective, e.g. the fusion network's in joint
        training, and ``own_weight`` scales G's own terms (the α of α·L_G + β·L_F + γ·L_T).
        """
        batch = batch or self.sample_batch()
        warmup = self.step < self.config.warmup_steps and not self.config.init  # a bank already paints
        self._set_learning_rates()
        weights = self.style_weights(batch.styles)
        with torch.no_grad(), self.autocast():
            fake = self.generator(batch.content, weights)
        scalars = self.discriminator_step(batch, fake.float())
        scalars.update(self.generator_step(batch, weights, warmup, extra, own_weight))
        self.step += 1
        return scalars

    def lr_factor(self) -> float:
        """1 until ``lr_decay_start`` × steps, then linear to 0 at the last step (CycleGAN, CUT).

        Late GAN steps at full rate keep re-painting textures; decaying lets them settle, which
        shows as less speckle and steadier colours in the final samples.
        """
        if self.step >= self.config.steps:  # F and joint stages: small steps for G and D
            return self.config.joint_lr_scale
        start = self.config.lr_decay_start * self.config.steps
        if self.step < start:
            return 1.0
        return max(0.0, 1.0 - (self.step - start) / max(1.0, self.config.steps - start))

    def _set_learning_rates(self) -> None:
        factor = self.lr_factor()
        for optimizer, base in ((self.opt_g, self.config.lr_g), (self.opt_d, self.config.lr_d)):
            for group in optimizer.param_groups:
                group["lr"] = base * factor

    def discriminator_step(self, batch: Batch, fake: torch.Tensor) -> dict[str, float]:
        """L_D = hinge(D(aug(r)), D(aug(G(x)))) + w_cls·CE(D_cls(aug(r)), s)."""
        cfg = self.config
        self.opt_d.zero_grad(set_to_none=True)
        with self.autocast():
            real_out = self.discriminator(diff_augment(batch.real, self.policy), batch.styles)
            fake_out = self.discriminator(diff_augment(fake.detach(), self.policy), batch.styles)
            adv = self._per_scale(losses.hinge_d_loss, real_out.adversarial, fake_out.adversarial)
            cls = losses.style_classification_loss(real_out.style_logits.float(), batch.styles)
            total = cfg.w_adv * adv + cfg.w_cls * cls
        total.backward()
        average_gradients(self.discriminator.parameters(), self.dist)
        self.opt_d.step()
        accuracy = (real_out.style_logits.argmax(1) == batch.styles).float().mean()
        return {"d_adv": adv.item(), "d_cls": cls.item(), "d_style_acc": accuracy.item()}

    @staticmethod
    def _per_scale(loss, *per_scale_logits: list[torch.Tensor]) -> torch.Tensor:
        """Average a loss over the discriminator's scales (each scale one PatchGAN)."""
        values = [loss(*(logits.float() for logits in scale)) for scale in zip(*per_scale_logits, strict=True)]
        return torch.stack(values).mean()

    def generator_step(
        self,
        batch: Batch,
        weights: torch.Tensor,
        warmup: bool,
        extra: ExtraTerms | None = None,
        own_weight: float = 1.0,
    ) -> dict[str, float]:
        cfg = self.config
        self.opt_g.zero_grad(set_to_none=True)
        self.discriminator.requires_grad_(False)
        try:
            with self.autocast():
                terms, stylized = self._content_terms(batch, weights)
                if warmup:
                    terms["rec"] = (cfg.w_rec, losses.reconstruction_loss(stylized.float(), batch.content))
                else:
                    terms.update(self._style_terms(batch, weights, stylized))
                terms = {name: (own_weight * weight, value) for name, (weight, value) in terms.items()}
                if extra is not None:
                    terms.update({f"f_{name}": term for name, term in extra().items()})
            total = sum(weight * value for weight, value in terms.values() if weight)
            total.backward()
        finally:
            self.discriminator.requires_grad_(True)
        average_gradients([*self.generator.parameters(), *self.mlp.parameters()], self.dist)
        self.opt_g.step()
        scalars = {(name if name.startswith("f_") else f"g_{name}"): value.item() for name, (_, value) in terms.items()}
        scalars["g_total"] = float(total.item())
        return scalars

    def _content_terms(self, batch: Batch, weights: torch.Tensor) -> tuple[dict, torch.Tensor]:
        """G(x), PatchNCE between G's encodings of x and of G(x) (one tap, two forwards), structure."""
        cfg = self.config
        if not cfg.w_nce:  # PatchNCE off: one forward, no taps
            stylized = self.generator(batch.content, weights)
            return {"struct": (cfg.w_struct, losses.structure_loss(stylized.float(), batch.content))}, stylized
        with tap_features(self.nce_modules) as source_taps:
            stylized = self.generator(batch.content, weights)
        with tap_features(self.nce_modules) as stylized_taps:
            self.generator.level(stylized, weights)  # encoder features only: one level is enough
        # With a scale pyramid G runs once per octave, the finest first: its features are the first.
        source_taps = source_taps[: len(self.nce_modules)]
        nce = patch_nce(self.mlp, source_taps, stylized_taps, cfg.nce_patches, cfg.nce_temperature)
        structure = losses.structure_loss(stylized.float(), batch.content)
        return {"nce": (cfg.w_nce, nce), "struct": (cfg.w_struct, structure)}, stylized

    def _style_terms(
        self, batch: Batch, weights: torch.Tensor, stylized: torch.Tensor
    ) -> dict[str, tuple[float, torch.Tensor]]:
        cfg = self.config
        fake_out = self.discriminator(diff_augment(stylized, self.policy), batch.styles)
        terms = {
            "adv": (cfg.w_adv, self._per_scale(losses.hinge_g_loss, fake_out.adversarial)),
            "cls": (cfg.w_cls, losses.style_classification_loss(fake_out.style_logits.float(), batch.styles)),
        }
        if cfg.w_swd:
            terms["swd"] = (cfg.w_swd, self.style_swd(stylized, batch.styles))
        restyle = lambda image: self.generator(image, weights)  # noqa: E731
        if cfg.w_temporal:
            theta = losses.random_affine(
                stylized.shape[0],
                max_translate=cfg.motion_translate,
                max_rotate_deg=cfg.motion_rotate,
                max_scale=cfg.motion_scale,
                device=self.device,
            )
            terms["temporal"] = (
                cfg.w_temporal,
                losses.temporal_consistency_loss(restyle, batch.content, stylized, theta),
            )
        if cfg.w_scale:
            terms["scale"] = (cfg.w_scale, losses.scale_consistency_loss(restyle, batch.content, stylized))
        if self.vgg is not None:
            terms.update(self._vgg_terms(batch, stylized))
        if self.features is not None:
            weights_of = {"content": cfg.w_content, "style": cfg.w_style, "vector": cfg.w_vector, "teacher": cfg.w_teacher}
            found = self.features.terms(batch.content, stylized, batch.styles, batch.teacher)
            terms.update({name: (weights_of[name], value) for name, value in found.items()})
        return terms

    def style_swd(self, stylized: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        """Sliced Wasserstein loss against each image's own painting, on a random half of the directions."""
        directions, projections = self.projector.sampled(stylized.float(), self.config.swd_directions,
                                                         self.config.swd_points)
        targets = [
            torch.stack([self.swd_targets[int(s)][level][directions] for s in styles])
            for level in range(len(projections))
        ]
        return losses.sliced_wasserstein_loss(projections, targets)

    def _vgg_terms(self, batch: Batch, stylized: torch.Tensor) -> dict[str, tuple[float, torch.Tensor]]:
        cfg = self.config
        style_fake, content_fake = self.vgg(stylized.float())
        with torch.no_grad():
            _, content_real = self.vgg(batch.content)
        grams = [torch.cat([self.vgg_grams[int(s)][layer] for s in batch.styles]) for layer in range(len(style_fake))]
        return {
            "vgg_content": (cfg.w_vgg_content, losses.perceptual_loss(content_fake, content_real)),
            "vgg_style": (cfg.w_vgg_style, losses.gram_style_loss(style_fake, grams)),
        }

    @torch.no_grad()
    def stylize(self, content: torch.Tensor, style: int) -> torch.Tensor:
        """Eval-mode stylization of ``content`` [N,3,H,W] with one style (for sample sheets)."""
        styles = torch.full((content.shape[0],), style, device=self.device, dtype=torch.long)
        return self.generator(content.to(self.device), self.style_weights(styles)).float().cpu()
