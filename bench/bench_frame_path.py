"""Benchmark: the stylizer's time per frame with and without F at each working resolution.

    python bench/bench_frame_path.py                                  # default bank, 360p and 720p, ladder 1, ½, ¼
    python bench/bench_frame_path.py --sizes 720p --scales 0.25 --budget 10
    python bench/bench_frame_path.py --profile 720p:0.25               # torch's operator table for one case

What the live window spends per frame outside capture and display: colour conversion, the
generator, optical flow, F and the conversion back, on a moving synthetic scene (so F reuses a
warped previous frame, as on video).  The frame time with F on and off at each scale is timed in
alternating rounds (:func:`rtstyle.benchmark.interleaved_medians`), so a CPU that drifts in speed
moves both together; F's share is (with F − without) / with F.  ``--profile`` prints torch's
operator table for one size and scale instead (ONNX Runtime and OpenCV calls do not appear in it).
Not a test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import sys
from collections.abc import Callable

import rtstyle.cli  # noqa: F401 - first: it sets OpenMP's wait policy before torch loads, as for every command
import cv2
import numpy as np
import torch

from rtstyle.backends.registry import AUTO, backend_names
from rtstyle.benchmark import RESOLUTIONS, interleaved_medians, machine_description
from rtstyle.catalog import resolve_bank
from rtstyle.stylefile import load_style_bank
from rtstyle.stylizer import Stylizer, StylizerSettings

#: Frames of the moving scene; the stylizers cycle through them (a jump back is a small cut).
SCENE_FRAMES = 48
#: Pixels the scene moves per frame, right and down.
SCENE_STEP = 2


def moving_scene(width: int, height: int) -> list[np.ndarray]:
    """Smooth random texture panning diagonally: something the flow follows and F reuses."""
    margin = SCENE_FRAMES * SCENE_STEP
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, ((height + margin) // 8, (width + margin) // 8, 3), dtype=np.uint8)
    texture = cv2.resize(texture, (width + margin, height + margin), interpolation=cv2.INTER_CUBIC)
    return [np.ascontiguousarray(texture[i * SCENE_STEP : i * SCENE_STEP + height, i * SCENE_STEP : i * SCENE_STEP + width])
            for i in range(SCENE_FRAMES)]


def frame_caller(stylizer: Stylizer, frames: list[np.ndarray]) -> Callable[[], np.ndarray]:
    """A call that stylizes the next frame of ``frames`` (round and round)."""
    scene = itertools.cycle(frames)
    return lambda: stylizer(next(scene))


def make_stylizer(bank_path: str, backend: str, scale: float, fusion: bool) -> Stylizer:
    bank = load_style_bank(bank_path)
    weights = np.eye(bank.config.num_styles, dtype=np.float32)[0]
    return Stylizer(bank, StylizerSettings(weights, scale=scale, fusion=fusion), device="cpu", dtype="float32",
                    backend=backend)


def bench(bank_path: str, backend: str, sizes: list[str], scales: list[float], budget: float) -> list[str]:
    rows = []
    for size in sizes:
        frames = moving_scene(*RESOLUTIONS[size])
        for scale in scales:
            calls = {fusion: frame_caller(make_stylizer(bank_path, backend, scale, fusion), frames)
                     for fusion in (False, True)}
            times = interleaved_medians(calls, budget_s=budget)
            plain, fused = times[False] * 1000, times[True] * 1000
            rows.append(f"| {size} | {scale:g} | {plain:.1f} ms | {fused:.1f} ms | {100 * (fused - plain) / fused:.0f} % |")
            print(rows[-1], flush=True)
    return rows


def profile(bank_path: str, backend: str, case: str) -> None:
    size, scale = case.split(":")
    stylizer = make_stylizer(bank_path, backend, float(scale), True)
    call = frame_caller(stylizer, moving_scene(*RESOLUTIONS[size]))
    for _ in range(4):
        call()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as run:
        for _ in range(16):
            call()
    print(f"16 frames at {size}, scale {scale}:")
    print(run.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", default=None, help="style bank (default: the bundled default)")
    parser.add_argument("--backend", default=AUTO, choices=backend_names())
    parser.add_argument("--sizes", nargs="+", default=["360p", "720p"], choices=list(RESOLUTIONS))
    parser.add_argument("--scales", nargs="+", type=float, default=[1.0, 0.5, 0.25])
    parser.add_argument("--budget", type=float, default=6.0, help="seconds per configuration (default 6)")
    parser.add_argument("--profile", metavar="SIZE:SCALE", help="print torch's operator table for one case")
    args = parser.parse_args()
    bank_path = str(resolve_bank(args.bank))
    if args.profile:
        profile(bank_path, args.backend, args.profile)
        return 0
    print(f"# {dt.date.today()} — {machine_description(torch.device('cpu'))}")
    print(f"# command: python {' '.join(sys.argv)}")
    print("| frame | scale | without F | with F | F's share |")
    print("|---|---:|---:|---:|---:|")
    bench(bank_path, args.backend, args.sizes, args.scales, args.budget)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
