"""What a run shows while and after it trains: TensorBoard scalars, loss curves, sample sheets.

Sample sheets are the real progress measure of style training — loss values of a GAN do not say
whether the paintings are recognisable — so they are PNGs one can open anywhere: a header row of
the paintings, then one row per fixed content image: the photo and its stylization in every style.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from rtstyle.contact_sheet import center_square, labelled

logger = logging.getLogger(__name__)


class Reporter:
    """Collects scalars into a history and writes them to TensorBoard (when installed)."""

    def __init__(self, run_dir: Path, history: list[dict[str, float]] | None = None) -> None:
        self.run_dir = run_dir
        self.history: list[dict[str, float]] = list(history or [])
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is an optional extra (pip install tensorboard)
            logger.warning("tensorboard is not installed: no TensorBoard logs (pip install tensorboard)")
            self.writer = None
        else:
            self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def log(self, step: int, scalars: dict[str, float]) -> None:
        self.history.append({"step": float(step), **scalars})
        if self.writer is not None:
            for name, value in scalars.items():
                self.writer.add_scalar(name.replace("_", "/", 1), value, step)

    def recent_mean(self, count: int = 10) -> dict[str, float]:
        """Mean of each scalar over the last ``count`` logs (a steadier summary than the last step)."""
        rows = self.history[-count:]
        keys = sorted({k for row in rows for k in row if k != "step"})
        return {k: float(np.mean([row[k] for row in rows if k in row])) for k in keys}

    def save_loss_curves(self, path: Path) -> None:
        """One small plot per scalar against step (moving average over 10 logs)."""
        if not self.history:
            return
        import matplotlib

        matplotlib.use("Agg")  # no display on training machines
        import matplotlib.pyplot as plt

        keys = sorted({k for row in self.history for k in row if k != "step"})
        columns = 4
        rows = (len(keys) + columns - 1) // columns
        figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 2.6 * rows), squeeze=False)
        for axis, key in zip(axes.flat, keys, strict=False):  # the grid may have spare axes
            points = [(row["step"], row[key]) for row in self.history if key in row]
            steps, values = np.array(points).T
            window = min(10, len(values))
            smooth = np.convolve(values, np.ones(window) / window, mode="valid")
            axis.plot(steps, values, color="0.8", linewidth=0.8)
            axis.plot(steps[window - 1 :], smooth, linewidth=1.2)
            axis.set_title(key, fontsize=9)
            axis.tick_params(labelsize=7)
        for axis in list(axes.flat)[len(keys) :]:
            axis.axis("off")
        figure.tight_layout()
        figure.savefig(path, dpi=90)
        plt.close(figure)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def sample_sheet(
    contents: Sequence[np.ndarray],
    paintings: Sequence[np.ndarray],
    style_names: Sequence[str],
    stylize: Callable[[torch.Tensor, int], torch.Tensor],
    size: int,
) -> np.ndarray:
    """Grid ``(1 + contents) × (1 + styles)`` as uint8 RGB: paintings on top, photos on the left."""
    blank = np.full((size, size, 3), 255, np.uint8)
    header = [labelled(blank, "content")] + [
        labelled(center_square(p, size), n) for p, n in zip(paintings, style_names, strict=True)
    ]
    rows = [np.concatenate(header, axis=1)]
    tiles = [center_square(c, size) for c in contents]
    batch = torch.from_numpy(np.stack(tiles)).permute(0, 3, 1, 2).float().div(255)
    outputs = [stylize(batch, index) for index in range(len(paintings))]  # each [N,3,size,size]
    for row, tile in enumerate(tiles):
        cells = [tile] + [
            (out[row].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for out in outputs
        ]
        rows.append(np.concatenate(cells, axis=1))
    return np.concatenate(rows, axis=0)


def write_png(path: Path, rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write {path}")
