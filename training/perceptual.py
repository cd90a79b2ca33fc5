"""G's objective terms that read the pretrained feature network (Magenta's style predictor).

Pixel losses and a discriminator on one painting learn its palette, not its strokes; a network
that has seen many paintings knows what a stroke is.  With the predictor
(:mod:`rtstyle.models.style_predictor`, a MobileNet-v2 distilled from Inception-v3) as φ:

    L_content = Σ_l∈C ‖φ_l(y) − φ_l(x)‖² / (C H W)                   (Johnson et al. 2016)
    L_style   = Σ_l∈S stat(φ_l(y)) vs stat(φ_l(painting))           (Gram: Gatys et al. 2016;
                                                                     mean/std: Huang & Belongie 2017)
    L_vector  = ‖P(y) − P(painting)‖² / D                            (P: the predictor's style vector)
    L_teacher = ‖y − t‖₁ + Σ_l∈T ‖φ_l(y) − φ_l(t)‖² / (C H W)        (t: the teacher's painting of x)

``y = G(x, s)``.  The teacher term is the paired loss (pix2pix-style) to Magenta's stylization of
the same crop (:mod:`training.teacher`); the feature half keeps strokes that pixel L1 alone
averages into blur.  Targets for the paintings are computed once.

Every step the images enter φ at a random offset (the same for a pair): φ's strided convolutions
sample a fixed grid, and a loss read on one grid can be met by a texture locked to it; a first
run at a fixed offset painted a fine regular weave over faces (random shifts against such
aliasing are common in feature-visualisation work).
"""

from __future__ import annotations

import numpy as np
import torch

from rtstyle.models.style_predictor import FEATURE_TAPS, MIN_SIDE, StylePredictor, predictor_input
from training import losses

CONTENT_TAPS = ("stride8",)
MAX_SHIFT = 16  # up to φ's stride at the deepest style tap
STYLE_TAPS = ("stride2", "stride4", "stride8", "stride16")
TEACHER_TAPS = ("stride4", "stride8")
STYLE_STATISTICS = ("gram", "meanstd")


def _mean_std(features: torch.Tensor) -> torch.Tensor:
    """Per-channel mean and standard deviation ``[N,2C]`` of ``[N,C,H,W]``."""
    flat = features.float().flatten(2)
    return torch.cat([flat.mean(2), flat.std(2)], dim=1)


class PredictorTerms:
    """The terms above for one batch, given each image's target style vector (and statistics).

    Used as they are by the any-style distillation (:mod:`training.any_style`), where every
    sample has its own style vector; :class:`FeatureTerms` adds a bank's fixed painting targets.
    """

    def __init__(self, predictor: StylePredictor, device: torch.device, seed: int = 0) -> None:
        self.predictor = predictor.to(device)
        self.taps = tuple(dict.fromkeys(STYLE_TAPS + CONTENT_TAPS + TEACHER_TAPS))
        self.rng = np.random.default_rng(seed)

    def paired_terms(
        self,
        content: torch.Tensor,
        stylized: torch.Tensor,
        vectors: torch.Tensor,
        teacher: torch.Tensor | None,
        style_targets: list[torch.Tensor] | None = None,
        statistic: str = "gram",
    ) -> dict[str, torch.Tensor]:
        """Unweighted content, vector, and (when given) style and teacher losses for ``[N,3,H,W]``.

        ``vectors`` ``[N,D]`` are the style vectors G painted with; ``style_targets`` one
        ``[N,...]`` statistic per layer of :data:`STYLE_TAPS`.
        """
        limit = max(1, min(MAX_SHIFT, min(stylized.shape[-2:]) - MIN_SIDE + 1))  # φ needs MIN_SIDE
        top, left = (int(v) for v in self.rng.integers(0, limit, 2))
        shift = lambda image: image[..., top:, left:]  # noqa: E731 - one offset for the whole batch
        vector, tapped = self.predictor.run(shift(stylized).float(), tuple(FEATURE_TAPS[t] for t in self.taps))
        fake = dict(zip(self.taps, tapped, strict=True))
        with torch.no_grad():
            real = dict(zip(self.taps, self.predictor.features(shift(content), self.taps), strict=True))
        result = {
            "content": losses.perceptual_loss([fake[t] for t in CONTENT_TAPS], [real[t] for t in CONTENT_TAPS]),
            "vector": (vector - vectors).pow(2).mean(),
        }
        if style_targets is not None:
            style_fake = [fake[t] for t in STYLE_TAPS]
            if statistic == "gram":
                result["style"] = losses.gram_style_loss(style_fake, style_targets)
            else:
                result["style"] = sum(
                    ((_mean_std(f) - t) ** 2).mean() for f, t in zip(style_fake, style_targets, strict=True)
                )
        if teacher is not None:
            with torch.no_grad():
                target = dict(zip(TEACHER_TAPS, self.predictor.features(shift(teacher), TEACHER_TAPS), strict=True))
            feature_term = losses.perceptual_loss([fake[t] for t in TEACHER_TAPS], [target[t] for t in TEACHER_TAPS])
            result["teacher"] = (stylized.float() - teacher).abs().mean() + feature_term
        return result


class FeatureTerms(PredictorTerms):
    """Style targets of the bank's paintings and the terms above for one training batch."""

    def __init__(
        self, predictor: StylePredictor, paintings: list[np.ndarray], statistic: str, device: torch.device, seed: int = 0
    ) -> None:
        if statistic not in STYLE_STATISTICS:
            raise ValueError(f"unknown style statistic {statistic!r}; choose from {STYLE_STATISTICS}")
        super().__init__(predictor, device, seed)
        self.statistic = statistic
        targets, vectors = [], []
        with torch.no_grad():
            for painting in paintings:
                image = torch.from_numpy(painting).permute(2, 0, 1)[None].float().div(255).to(device)
                features = dict(zip(self.taps, self.predictor.features(image, self.taps), strict=True))
                targets.append([self._statistic(features[t]) for t in STYLE_TAPS])
                vectors.append(self.predictor(predictor_input(painting).to(device))[0])
        self.style_targets = targets  # per style, per layer: [1,C,C] or [1,2C]
        self.style_vectors = torch.stack(vectors)  # [S,D]: what G is conditioned on

    def _statistic(self, features: torch.Tensor) -> torch.Tensor:
        return losses.gram_matrix(features) if self.statistic == "gram" else _mean_std(features)

    def terms(
        self, content: torch.Tensor, stylized: torch.Tensor, styles: torch.Tensor, teacher: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        """Unweighted content, style, vector and (with targets) teacher losses for a batch ``[N,3,H,W]``."""
        per_layer = [torch.cat([self.style_targets[int(s)][layer] for s in styles]) for layer in range(len(STYLE_TAPS))]
        return self.paired_terms(content, stylized, self.style_vectors[styles], teacher, per_layer, self.statistic)
