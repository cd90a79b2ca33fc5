"""Speed measurements: model-only, stylize (uint8 in/out) and end-to-end file conversion.

Used by ``bench/bench_speed.py`` and ``rtstyle bench``.  Every configuration is timed in the same
process, next to Johnson et al.'s TransformerNet, so ratios between rows are meaningful even on a
noisy machine.  Times are medians over repeated calls after a warm-up (first calls pay for
allocator growth, oneDNN kernel selection, CUDA graph capture and engine builds).  Rows carry the
backend (a name from :data:`rtstyle.backends.registry.BACKENDS`) they ran on; a backend that cannot run here is skipped with a
warning rather than failing the whole table.
"""

from __future__ import annotations

import logging
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from rtstyle.device import pick_device, pick_dtype
from rtstyle.errors import BackendUnavailableError
from rtstyle.models import GeneratorConfig, StyleGenerator, preset_config
from rtstyle.models.johnson import TransformerNet
from rtstyle.stream.ordered import convert_video
from rtstyle.stylefile import StyleBank, StyleInfo
from rtstyle.stylizer import Stylizer, StylizerSettings
from rtstyle.video.sample import make_sample_clip
from rtstyle.video.writer import EncodeOptions

log = logging.getLogger(__name__)

ANCHOR = "johnson2016"
#: The ``convert`` row with the network switched off (strength 0): decode + encode alone, the
#: ceiling an end-to-end conversion can reach.
BASELINE = "decode+encode"
RESOLUTIONS = {"360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080)}
#: ``rtstyle bench --tiny``: a network small enough that the whole bench runs in seconds (CI).
TINY_PRESET = "tiny"
TINY_CONFIG = GeneratorConfig(channels=(4, 8), num_residual_blocks=1, outer_kernel=3)


@dataclass(frozen=True)
class BenchRow:
    model: str  # preset name or ANCHOR
    resolution: str
    mode: str  # "model", "stylize" or "convert"
    seconds_per_frame: float
    flops_per_pixel: float
    backend: str = "torch"

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


def interleaved_medians(calls: dict[str, Callable[[], object]], *, budget_s: float, rounds: int = 15) -> dict[str, float]:
    """Median wall time per call of each of ``calls``, measured in alternating rounds.

    A shared or throttled CPU drifts in speed over seconds; timing the calls one after another
    in every round exposes them all to the same drift, so their ratios hold even when the
    absolute numbers move.  Each round gives each call about ``budget_s / rounds`` seconds.
    """
    for call in calls.values():
        call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            started, count = time.perf_counter(), 0
            while count == 0 or time.perf_counter() - started < budget_s / rounds:
                call()
                count += 1
            samples[name].append((time.perf_counter() - started) / count)
    return {name: statistics.median(times) for name, times in samples.items()}


def flops_per_pixel(model: Callable[[torch.Tensor], torch.Tensor]) -> float:
    """Convolution FLOPs per output pixel, counted by torch on a 64×64 input."""
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(torch.rand(1, 3, 64, 64))
    return sum(counter.get_flop_counts()["Global"].values()) / (64 * 64)


def resolution_size(name: str) -> tuple[int, int]:
    """``(width, height)`` of ``360p``/``720p``/``1080p`` or of a ``WxH`` spelling."""
    if name in RESOLUTIONS:
        return RESOLUTIONS[name]
    width, height = (int(v) for v in name.lower().split("x"))
    return width, height


def bench_config(preset: str, num_styles: int = 1) -> GeneratorConfig:
    """A preset's architecture, or the tiny one of ``rtstyle bench --tiny``."""
    if preset == TINY_PRESET:
        return GeneratorConfig(**{**TINY_CONFIG.to_dict(), "num_styles": num_styles})
    return preset_config(preset, num_styles)


def random_bank(preset: str, num_styles: int = 1) -> StyleBank:
    """A bank of random weights: speed does not depend on the values."""
    torch.manual_seed(0)
    generator = StyleGenerator(bench_config(preset, num_styles))
    styles = [StyleInfo(f"random{i}", f"Random {i}") for i in range(num_styles)]
    return StyleBank.from_generator(generator, styles, preset=preset)


def bench_models(
    presets: Sequence[str], resolutions: Sequence[str], *, budget_s: float, with_anchor: bool = True,
    backends: Sequence[str] = ("torch",), device: str = "cpu", dtype: str = "auto", batch: int = 1,
    modes: Sequence[str] = ("model", "stylize"),
) -> list[BenchRow]:
    """Model-only (float tensors on the device) and stylize (uint8 frames) timings per backend."""
    rows = []
    torch_device = pick_device(device)
    torch_dtype = pick_dtype(dtype, torch_device)
    for resolution in resolutions:
        width, height = resolution_size(resolution)
        x = torch.rand(batch, 3, height, width, device=torch_device, dtype=torch_dtype)
        frames = (np.random.default_rng(0).random((batch, height, width, 3)) * 255).astype(np.uint8)
        for preset, backend, bank, stylizer in _configurations(presets, backends, torch_device, dtype):
            cost = stylizer.generator.flops_per_pixel()
            x_in = x.contiguous(memory_format=stylizer.memory_format)
            styles = bank.config.num_styles
            code = stylizer.generator.style_code(
                torch.full((batch, styles), 1.0 / styles, device=torch_device, dtype=torch_dtype))
            if "model" in modes:
                seconds = _median_synced(lambda: stylizer.generate(x_in, code), torch_device, budget_s)
                rows.append(BenchRow(preset, resolution, "model", seconds / batch, cost, backend))
            if "stylize" in modes:
                seconds = median_seconds(lambda: stylizer(frames), budget_s=budget_s)
                rows.append(BenchRow(preset, resolution, "stylize", seconds / batch, cost, backend))
        if with_anchor:
            rows.append(_bench_anchor(x, resolution, budget_s, batch))
    return rows


def _bench_anchor(x: torch.Tensor, resolution: str, budget_s: float, batch: int) -> BenchRow:
    """Johnson et al.'s TransformerNet in eager torch, on the same device, dtype and layout."""
    anchor = TransformerNet().eval()
    cost = flops_per_pixel(anchor)
    layout = torch.channels_last if x.is_cuda else torch.contiguous_format
    anchor = anchor.to(x.device, x.dtype, memory_format=layout)
    height, width = x.shape[-2] // 4 * 4, x.shape[-1] // 4 * 4  # TransformerNet needs multiples of 4
    x = x[..., :height, :width].contiguous(memory_format=layout)
    seconds = _median_synced(lambda: anchor(x), x.device, budget_s)
    return BenchRow(ANCHOR, resolution, "model", seconds / batch, cost)


def _median_synced(call: Callable[[], object], device: torch.device, budget_s: float) -> float:
    """Median time of ``call`` under inference mode, waiting for the GPU to finish each call."""

    def run() -> None:
        call()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    with torch.inference_mode():
        return median_seconds(run, budget_s=budget_s)


def _configurations(
    presets: Sequence[str], backends: Sequence[str], device: torch.device, dtype: str
) -> Iterator[tuple[str, str, StyleBank, Stylizer]]:
    """Every (preset, backend) a bench row is measured for, with its random bank and stylizer;
    a backend that cannot run here is skipped with a warning."""
    for preset in presets:
        bank = random_bank(preset)
        for backend in backends:
            try:
                stylizer = Stylizer(bank, device=device, dtype=dtype, backend=backend)
            except BackendUnavailableError as exc:
                log.warning("skipping backend %s for %s: %s", backend, preset, exc)
                continue
            yield preset, backend, bank, stylizer


def bench_convert(
    presets: Sequence[str], resolutions: Sequence[str], *, budget_s: float, options: EncodeOptions,
    model_rows: Sequence[BenchRow] = (), backends: Sequence[str] = ("torch",), device: str = "cpu",
    dtype: str = "auto", batch: int = 1, with_baseline: bool = False,
) -> list[BenchRow]:
    """End-to-end ``convert`` (decode → stylize → encode, audio copied) on synthetic clips.

    The clip length is chosen from the stylize timing so each configuration runs ~``budget_s``.
    ``with_baseline`` adds a :data:`BASELINE` row per resolution: the same clip converted with
    strength 0, which skips the network.
    """
    rows = []
    expected = {(r.model, r.resolution, r.backend): r.seconds_per_frame for r in model_rows if r.mode == "stylize"}
    torch_device = pick_device(device)
    with tempfile.TemporaryDirectory(prefix="rtstyle-bench-") as workdir:
        for resolution in resolutions:
            for preset, backend, _, stylizer in _configurations(presets, backends, torch_device, dtype):
                per_frame = expected.get((preset, resolution, backend), 0.05)
                clip = _sample_clip(Path(workdir), resolution, int(min(240, max(8, budget_s / per_frame))))
                output = Path(workdir, f"out-{preset}-{resolution}-{backend}.mp4")
                stats = convert_video(clip, output, stylizer, options=options, batch_size=batch, overwrite=True)
                rows.append(BenchRow(preset, resolution, "convert", stats.seconds / stats.frames,
                                     stylizer.generator.flops_per_pixel(), backend))
            if with_baseline:
                rows.append(_bench_baseline(Path(workdir), resolution, torch_device, options, batch))
    return rows


def _bench_baseline(workdir: Path, resolution: str, device: torch.device, options: EncodeOptions,
                    batch: int) -> BenchRow:
    """Convert the longest clip made for ``resolution`` with strength 0 (no network)."""
    lengths = [int(p.stem.rsplit("-", 1)[1]) for p in workdir.glob(f"{resolution}-*.mp4")]
    clip = _sample_clip(workdir, resolution, max(lengths, default=48))
    bank = random_bank(TINY_PRESET)
    passthrough = Stylizer(bank, StylizerSettings(np.ones(1, dtype=np.float32), strength=0.0), device=device)
    stats = convert_video(clip, workdir / f"out-baseline-{resolution}.mp4", passthrough, options=options,
                          batch_size=batch, overwrite=True)
    return BenchRow(BASELINE, resolution, "convert", stats.seconds / stats.frames, 0.0, "-")


def _sample_clip(workdir: Path, resolution: str, frames: int) -> Path:
    """A synthetic clip of ``frames`` frames at 24 fps (made once per length)."""
    clip = workdir / f"{resolution}-{frames}.mp4"
    if not clip.exists():
        width, height = resolution_size(resolution)
        make_sample_clip(clip, seconds=frames / 24, width=width, height=height, fps=24)
    return clip


def machine_description(device: torch.device | None = None) -> str:
    """One line naming what a measurement or a training run ran on: CPU model and cores, torch
    threads, Python, torch and the GPU (``device``'s, else the first one when CUDA is present)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    on_gpu = device.type == "cuda" if device is not None else torch.cuda.is_available()
    gpu = f", GPU {torch.cuda.get_device_name(device)}" if on_gpu else ""
    return (f"{cpu} ({os.cpu_count()} cores), {torch.get_num_threads()} torch threads, Python "
            f"{platform.python_version()}, torch {torch.__version__}{gpu}")


def markdown_table(rows: Sequence[BenchRow], peak_flops: float | None = None) -> str:
    """One row per measurement: fps, ms/frame, achieved GFLOP/s, % of ``peak_flops`` (FLOP/s,
    when known) and speed-up over the anchor's model-only time at the same resolution."""
    anchor = {r.resolution: r.seconds_per_frame for r in rows if r.model == ANCHOR}
    lines = ["| backend | model | resolution | mode | fps | ms/frame | kFLOP/px | GFLOP/s | % peak | × anchor (model) |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        width, height = resolution_size(r.resolution)
        ratio = anchor.get(r.resolution)
        speedup = f"{ratio / r.seconds_per_frame:.1f}" if ratio and r.mode in {"model", "stylize"} else ""
        achieved = r.gflops_per_second(width, height)
        peak = f"{100 * achieved * 1e9 / peak_flops:.1f}" if peak_flops else ""
        size = f"{r.resolution} ({width}×{height})" if r.resolution in RESOLUTIONS else f"{width}×{height}"
        lines.append(f"| {r.backend} | {r.model} | {size} | {r.mode} | {r.fps:.2f} | "
                     f"{r.seconds_per_frame * 1e3:.1f} | {r.flops_per_pixel / 1e3:.1f} | "
                     f"{achieved:.1f} | {peak} | {speedup} |")
    return "\n".join(lines)
