"""The content floor: every style of a bank keeps the photo readable.

Some paintings take any photo far from itself whatever the recipe's shared weights are: a grid of
flat colour (the bundled Mondrian) paints its lines over faces, and its content SSIM stayed at 0.36
through three releases while the other six styles kept 0.58-0.68.  Raising the content weight for
the whole bank would weaken the six to help the one; a per-style weight would be a knob.  So the
run measures each style once its generator stage is over, and a style below the floor
(``--content-floor``, 0.42 by default) gets its *stored style vector* refined, the generator frozen: Adam on that style's 100 numbers
alone, against

    L(v) = w_swd·SW(band-pass patches of G(x, v), the painting) + λ·L_struct(G(x, v), x)

(the run's own texture term, :meth:`training.trainer.Trainer.style_swd`, and SSIM's structure term,
:func:`training.losses.structure_loss`), with λ doubled each round until the style's SSIM holds
the floor.  Only that vector moves, so the other styles and F are untouched, and the texture term
keeps the strokes: on Mondrian one round (150 steps, 36 s on a 2-core CPU) took content SSIM on
the evaluation photos from 0.364 to 0.416 while texture distance went from 0.112 to 0.121 (the
peer's: 0.152).  Moving the vector in a straight line towards the photos' own mean style vector
(Ghiasi et al. 2017's strength control) was measured too and gave up texture three times as fast:
SSIM 0.409 cost 0.157.  Banks conditioned on one-hot styles (no feature network) have no vector to
refine; they are reported and left as they are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from rtstyle.evaluation import shrink
from rtstyle.metrics.ssim import ssim_luminance
from rtstyle.models.pyramid import scale_pyramid
from rtstyle.stylizer import to_uint8_frames
from training.data import ContentSampler, to_tensor
from training.losses import structure_loss
from training.trainer import Trainer

logger = logging.getLogger(__name__)

#: Photos the floor is measured on (spread evenly over the run's content), and their longer side.
MEASURE_PHOTOS = 24
MEASURE_SIDE = 384
#: Refinement: λ of the first round, rounds at most (λ doubles each), steps per round and Adam's
#: rate.  Each step paints a batch of the run's own crops (``--batch-size``, ``--size``,
#: ``--content-scale-min``: :class:`training.data.ContentSampler`, as the generator stage).
FIRST_STRUCTURE_WEIGHT = 10.0
MAX_ROUNDS = 4
ROUND_STEPS = 150
LEARNING_RATE = 0.02
#: A round that raises the SSIM by less than this ends the refinement: the vector cannot carry the
#: style further (as in a generator that has not learnt to read its vectors yet).
MIN_GAIN = 0.005


@dataclass(frozen=True)
class FloorResult:
    """What the floor did to one style (recorded in the bank's provenance)."""

    style: str
    ssim_before: float
    ssim_after: float
    rounds: int  # 0: the style held the floor as trained

    def to_dict(self) -> dict[str, float | int | str]:
        return {"style": self.style, "ssim_before": round(self.ssim_before, 4),
                "ssim_after": round(self.ssim_after, 4), "rounds": self.rounds}


def hold_content_floor(trainer: Trainer, photos: list[np.ndarray], names: list[str], floor: float,
                       seed: int = 0) -> list[FloorResult]:
    """Measure every style on ``photos`` (uint8 RGB) and refine the vectors of those below ``floor``
    (mean luma SSIM of G(x) against x; ``--content-floor``).

    Changes ``trainer.generator.style_vectors`` in place; returns one result per style (empty for
    a one-hot bank).
    """
    if not trainer.generator.config.style_dim:
        logger.info("content floor: the bank has no style vectors to refine (one-hot styles); not applied")
        return []
    measured = _measurement_set(photos, trainer.device)
    results = []
    for index, name in enumerate(names):
        before = style_ssim(trainer, index, measured)
        after, rounds = before, 0
        vectors = trainer.generator.style_vectors
        while after < floor and rounds < MAX_ROUNDS:
            kept = vectors[index].clone()
            _refine_vector(trainer, index, photos, FIRST_STRUCTURE_WEIGHT * 2**rounds, seed + rounds)
            previous, after, rounds = after, style_ssim(trainer, index, measured), rounds + 1
            if after < previous:  # a round that lost ground is undone
                with torch.no_grad():
                    vectors[index] = kept
                after = previous
            if after < previous + MIN_GAIN:
                break
        if rounds:
            logger.info("content floor: %s SSIM %.3f -> %.3f (%d round(s))", name, before, after, rounds)
        if after < floor:
            logger.warning("content floor: %s still at SSIM %.3f after %d round(s)", name, after, rounds)
        results.append(FloorResult(name, before, after, rounds))
    return results


def _measurement_set(photos: list[np.ndarray], device: torch.device) -> list[torch.Tensor]:
    """:data:`MEASURE_PHOTOS` photos spread over ``photos``, at :data:`MEASURE_SIDE`, as ``[1,3,H,W]``."""
    picks = np.linspace(0, len(photos) - 1, min(MEASURE_PHOTOS, len(photos))).round().astype(int)
    return [to_tensor([shrink(photos[i], MEASURE_SIDE)]).to(device) for i in dict.fromkeys(picks)]


@torch.no_grad()
def style_ssim(trainer: Trainer, index: int, photos: list[torch.Tensor]) -> float:
    """Mean luma SSIM of G(x) against x over ``photos`` ``[1,3,H,W]`` for style ``index`` (as uint8, as shown)."""
    scores = []
    for photo in photos:
        painted = trainer.stylize(photo, index)
        scores.append(ssim_luminance(to_uint8_frames(painted)[0].numpy(), to_uint8_frames(photo.cpu())[0].numpy()))
    return float(np.mean(scores))


def _refine_vector(trainer: Trainer, index: int, photos: list[np.ndarray], structure_weight: float, seed: int) -> None:
    """One round: :data:`ROUND_STEPS` Adam steps on style ``index``'s vector alone (G frozen)."""
    generator, config = trainer.generator, trainer.config
    vectors = generator.style_vectors
    offset = torch.zeros_like(vectors[index], requires_grad=True)
    optimizer = torch.optim.Adam([offset], lr=LEARNING_RATE)
    crops = ContentSampler(photos, config.size, (config.content_scale_min, 1.0), seed)
    batch = config.batch_size
    styles = torch.full((batch,), index, dtype=torch.long, device=trainer.device)
    weights = trainer.style_weights(styles)
    frozen = [p for p in generator.parameters() if p.requires_grad]
    for parameter in frozen:
        parameter.requires_grad_(False)
    try:
        with torch.enable_grad():
            for _ in range(ROUND_STEPS):
                content = crops.sample(batch).to(trainer.device)
                code = (vectors[index] + offset).expand(batch, -1)  # [N,D]: the style's vector, refined
                painted = _paint(generator, content, code, weights)
                loss = config.w_swd * trainer.style_swd(painted, styles) + structure_weight * structure_loss(painted, content)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    finally:
        for parameter in frozen:
            parameter.requires_grad_(True)
    with torch.no_grad():
        vectors[index] += offset


def _paint(generator: torch.nn.Module, content: torch.Tensor, code: torch.Tensor, weights: torch.Tensor
           ) -> torch.Tensor:
    """G(x) for a style code, through the scale pyramid when the bank has one (as ``generator(x, w)``)."""
    base = generator.config.pyramid_base
    if not base:
        return generator.paint(content, code)
    return scale_pyramid(lambda images, _weights: generator.paint(images, code), content, weights, base)
