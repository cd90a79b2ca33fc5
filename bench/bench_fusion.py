"""Benchmark: what the fusion network F costs next to the generator it accompanies.

    python bench/bench_fusion.py                      # fast and quality presets at 360p and 720p
    python bench/bench_fusion.py --sizes 360p --budget 1

Per preset and frame size, all timed in alternating rounds (so a CPU that drifts in speed moves
them together): the generator at full resolution; F on its own with a previous frame (the steady
state of a video), once after the generator at full resolution and once after the generator at
½ (restoring the detail, F's main use); the whole per-frame path the window and `convert` add —
motion tracking on the host, warping the previous frame, the veto's error, F — after the
generator at ½; and that against the generator at full resolution.  F's FLOPs per pixel are
counted, not timed.  Random weights: cost does not depend on them.  Not a test: numbers depend
on the machine and its load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import rtstyle.cli  # noqa: F401 - first: it sets OpenMP's wait policy before torch loads, as for every command
import numpy as np
import torch

from rtstyle.benchmark import RESOLUTIONS, interleaved_medians, machine_description, random_bank
from rtstyle.fusion_runtime import TemporalFusion, coarse_size
from rtstyle.models import PRESETS
from rtstyle.models.fusion import FUSION_PRESETS, FusionNet
from rtstyle.models.resample import resize
from rtstyle.motion import MotionTracker


def bench_preset(preset: str, size: str, budget: float) -> str:
    width, height = RESOLUTIONS[size]
    generator = random_bank(preset).build_generator()
    fusion = FusionNet(FUSION_PRESETS[preset]).eval()
    source = torch.rand(1, 3, height, width)
    half = resize(source, (height // 2, width // 2))
    weights = torch.ones(1, 1)
    previous = torch.rand(1, 3, height, width)
    error = 0.1 * torch.rand(1, 1, *coarse_size(height, width, fusion.config))
    with torch.inference_mode():
        candidate, candidate_half = generator(source, weights)[:, None], generator(half, weights)[:, None]
        runtime = TemporalFusion(fusion, torch.device("cpu"), torch.float32)
        tracker = MotionTracker()
        frame = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
        tracker.track(frame)
        runtime(source, candidate_half, None, source_work=half)

        def half_resolution_step() -> None:  # G at ½, then flow + warp + veto + F restoring the detail
            generator(half, weights)
            runtime(source, candidate_half, tracker.track(frame), source_work=half)

        times = interleaved_medians({
            "G": lambda: generator(source, weights),
            "F": lambda: fusion(source, candidate, previous, error),
            "F at ½": lambda: fusion(source, candidate_half, previous, error, source_work=half),
            "G at ½": lambda: generator(half, weights),
            "G at ½ + path": half_resolution_step,
        }, budget_s=budget * 5)
    g, f, f_half, g_half, step = (times[k] for k in ("G", "F", "F at ½", "G at ½", "G at ½ + path"))
    flop_share = fusion.flops_per_pixel(1) / generator.flops_per_pixel()
    return (f"| {preset} | {size} | {g * 1e3:.1f} | {fusion.flops_per_pixel(1):,.0f} | {flop_share:.1%} | "
            f"{f * 1e3:.1f} | {f / g:.1%} | {f_half * 1e3:.1f} | {f_half / g:.1%} | {(step - g_half) * 1e3:.1f} | "
            f"{(step - g_half) / g:.1%} | {g_half * 1e3:.1f} | {step * 1e3:.1f} | {step / g:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["360p", "720p"], choices=list(RESOLUTIONS))
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of timing per measurement")
    args = parser.parse_args()
    print(f"# {dt.date.today()} — {machine_description()}, torch threads {torch.get_num_threads()}")
    print(f"# command: python bench/bench_fusion.py {' '.join(sys.argv[1:])}".rstrip())
    print("| preset | size | G ms | F FLOP/px | F/G FLOPs | F ms (G at full) | F/G time | F ms (G at ½) | that/G time "
          "| flow + warp + veto + F ms (G at ½) | that/G time | G at ½ ms | G at ½ + all that ms | that/G time |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for preset in args.presets:
        for size in args.sizes:
            print(bench_preset(preset, size, args.budget), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
