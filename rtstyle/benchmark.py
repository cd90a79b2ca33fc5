"""Speed measurements: model-only, stylize (uint8 in/out) and end-to-end file conversion.

Used by ``bench/bench_speed.py``.  Every configuration is timed in the same process, next to
Johnson et al.'s TransformerNet, so ratios between rows are meaningful even on a noisy machine.
Times are medians over repeated calls after a warm-up (first calls pay for allocator growth and
oneDNN kernel selection).
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from rtstyle.models import StyleGenerator, preset_config
from rtstyle.models.johnson import TransformerNet
from rtstyle.pipeline import convert_video
from rtstyle.stylefile import StyleBank, StyleInfo
from rtstyle.stylizer import Stylizer, StylizerSettings
from rtstyle.video.sample import make_sample_clip
from rtstyle.video.writer import EncodeOptions

ANCHOR = "johnson2016"
RESOLUTIONS = {"360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080)}


@dataclass(frozen=True)
class BenchRow:
    model: str  # preset name or ANCHOR
    resolution: str
    mode: str  # "model", "stylize" or "convert"
    seconds_per_frame: float
    flops_per_pixel: float

    @property
    def fps(self) -> float:
        return 1.0 / self.seconds_per_frame

    def gflops_per_second(self, width: int, height: int) -> float:
        return self.flops_per_pixel * width * height * self.fps / 1e9


def median_seconds(call: Callable[[], object], *, budget_s: float, warmup: int = 1, min_calls: int = 3) -> float:
    """Median wall time of ``call`` over as many calls as fit in ``budget_s`` (at least ``min_calls``)."""
    for _ in range(warmup):
        call()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < min_calls or time.perf_counter() - started < budget_s:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - started > 4 * budget_s and len(times) >= 1:
            break  # a very slow configuration: one or two calls say enough
    return statistics.median(times)


def flops_per_pixel(model: Callable[[torch.Tensor], torch.Tensor]) -> float:
    """Convolution FLOPs per output pixel, counted by torch on a 64×64 input."""
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(torch.rand(1, 3, 64, 64))
    return sum(counter.get_flop_counts()["Global"].values()) / (64 * 64)


def random_bank(preset: str, num_styles: int = 1) -> StyleBank:
    """A bank of random weights: speed does not depend on the values."""
    torch.manual_seed(0)
    generator = StyleGenerator(preset_config(preset, num_styles))
    styles = [StyleInfo(f"random{i}", f"Random {i}") for i in range(num_styles)]
    return StyleBank.from_generator(generator, styles, preset=preset)


def bench_models(
    presets: Sequence[str], resolutions: Sequence[str], *, budget_s: float, with_anchor: bool = True
) -> list[BenchRow]:
    """Model-only (float tensors) and stylize (uint8 frames) timings on the CPU."""
    rows = []
    anchor = TransformerNet().eval() if with_anchor else None
    for resolution in resolutions:
        width, height = RESOLUTIONS[resolution]
        x = torch.rand(1, 3, height, width)
        frame = (np.random.default_rng(0).random((height, width, 3)) * 255).astype(np.uint8)
        for preset in presets:
            stylizer = Stylizer(random_bank(preset), device="cpu")
            generator, weights = stylizer.generator, torch.ones(1, 1)
            cost = generator.flops_per_pixel()
            with torch.inference_mode():
                model_s = median_seconds(lambda: generator(x, weights), budget_s=budget_s)
            rows.append(BenchRow(preset, resolution, "model", model_s, cost))
            rows.append(BenchRow(preset, resolution, "stylize", median_seconds(lambda: stylizer(frame), budget_s=budget_s), cost))
        if anchor is not None:
            with torch.inference_mode():
                anchor_s = median_seconds(lambda: anchor(x), budget_s=budget_s)
            rows.append(BenchRow(ANCHOR, resolution, "model", anchor_s, flops_per_pixel(anchor)))
    return rows


def bench_convert(
    presets: Sequence[str], resolutions: Sequence[str], *, budget_s: float, options: EncodeOptions,
    model_rows: Sequence[BenchRow] = (),
) -> list[BenchRow]:
    """End-to-end ``convert`` (decode → stylize → encode, audio copied) on synthetic clips.

    The clip length is chosen from the model timing so each configuration runs ~``budget_s``.
    """
    rows = []
    expected = {(r.model, r.resolution): r.seconds_per_frame for r in model_rows if r.mode == "stylize"}
    with tempfile.TemporaryDirectory(prefix="rtstyle-bench-") as workdir:
        for resolution in resolutions:
            width, height = RESOLUTIONS[resolution]
            for preset in presets:
                per_frame = expected.get((preset, resolution), 0.05)
                frames = int(min(240, max(8, budget_s / per_frame)))
                clip = Path(workdir, f"{resolution}-{frames}.mp4")
                if not clip.exists():
                    make_sample_clip(clip, seconds=frames / 24, width=width, height=height, fps=24)
                stylizer = Stylizer(random_bank(preset), device="cpu")
                output = Path(workdir, f"out-{preset}-{resolution}.mp4")
                stats = convert_video(clip, output, stylizer, options=options, overwrite=True)
                rows.append(BenchRow(preset, resolution, "convert", stats.seconds / stats.frames,
                                     stylizer.generator.flops_per_pixel()))
    return rows


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return (f"{cpu}, {torch.get_num_threads()} torch threads, Python {platform.python_version()}, "
            f"torch {torch.__version__}{gpu}")


def markdown_table(rows: Sequence[BenchRow]) -> str:
    """One row per measurement with fps, ms/frame, achieved GFLOP/s and speed-up over the anchor."""
    anchor = {r.resolution: r.seconds_per_frame for r in rows if r.model == ANCHOR}
    lines = ["| model | resolution | mode | fps | ms/frame | kFLOP/px | GFLOP/s | × anchor (model) |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        width, height = RESOLUTIONS[r.resolution]
        ratio = anchor.get(r.resolution)
        speedup = f"{ratio / r.seconds_per_frame:.1f}" if ratio and r.mode == "model" else ""
        lines.append(f"| {r.model} | {r.resolution} ({width}×{height}) | {r.mode} | {r.fps:.2f} | "
                     f"{r.seconds_per_frame * 1e3:.1f} | {r.flops_per_pixel / 1e3:.1f} | "
                     f"{r.gflops_per_second(width, height):.1f} | {speedup} |")
    return "\n".join(lines)
