"""Benchmark: what the fusion network F costs next to the generator it accompanies.

    python bench/bench_fusion.py                      # fast and quality presets at 360p and 720p
    python bench/bench_fusion.py --sizes 360p --budget 1

Per preset and frame size: the generator at full resolution, F on its own (one style, with a
previous frame: the steady-state video case), F's FLOPs per pixel as a share of the generator's,
the whole per-frame path the window and `convert` add — motion tracking on the host, warping the
previous frame, F — as a share of the generator's time, and the generator at ½ resolution with
that path restoring the detail, against the generator at full resolution.  Random weights: cost does not depend
on them.  Not a test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import numpy as np
import torch

from rtstyle.benchmark import RESOLUTIONS, machine_description, median_seconds, random_bank
from rtstyle.models import PRESETS
from rtstyle.models.fusion import FUSION_PRESETS, FusionNet, resize
from rtstyle.fusion_runtime import TemporalFusion
from rtstyle.motion import MotionTracker


def bench_preset(preset: str, size: str, budget: float) -> str:
    width, height = RESOLUTIONS[size]
    generator = random_bank(preset).build_generator()
    fusion = FusionNet(FUSION_PRESETS[preset]).eval()
    source = torch.rand(1, 3, height, width)
    weights = torch.ones(1, 1)
    with torch.inference_mode():
        g_time = median_seconds(lambda: generator(source, weights), budget_s=budget)
        candidate = generator(source, weights)[:, None]
        runtime = TemporalFusion(fusion, torch.device("cpu"), torch.float32)
        tracker = MotionTracker()
        rng = np.random.default_rng(0)
        frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        tracker.track(frame)
        runtime(source, candidate, None)

        def steady_state_step() -> None:  # host flow + warp + F, as for every frame of a video
            runtime(source, candidate, tracker.track(frame))

        previous, error = torch.rand(1, 3, height, width), torch.rand(1, 1, height, width)
        f_time = median_seconds(lambda: fusion(source, candidate, previous, error), budget_s=budget)
        step_time = median_seconds(steady_state_step, budget_s=budget)
        half = resize(source, (height // 2, width // 2))
        g_half = median_seconds(lambda: generator(half, weights), budget_s=budget)
        candidate_half = generator(half, weights)[:, None]

        def half_resolution_step() -> None:  # G at ½, then flow + warp + F restoring the detail
            generator(half, weights)
            runtime(source, candidate_half, tracker.track(frame), source_work=half)

        half_time = median_seconds(half_resolution_step, budget_s=budget)
    flop_share = fusion.flops_per_pixel(1) / generator.flops_per_pixel()
    return (f"| {preset} | {size} | {g_time * 1e3:.1f} | {f_time * 1e3:.1f} | {step_time * 1e3:.1f} | "
            f"{fusion.flops_per_pixel(1):,.0f} | {flop_share:.1%} | {f_time / g_time:.1%} | {step_time / g_time:.1%} | "
            f"{g_half * 1e3:.1f} | {half_time * 1e3:.1f} | {half_time / g_time:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["360p", "720p"], choices=list(RESOLUTIONS))
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of timing per measurement")
    args = parser.parse_args()
    print(f"# {dt.date.today()} — {machine_description()}, torch threads {torch.get_num_threads()}")
    print(f"# command: python bench/bench_fusion.py {' '.join(sys.argv[1:])}".rstrip())
    print("| preset | size | G ms | F ms | flow + warp + F ms | F FLOP/px | F/G FLOPs | F/G time "
          "| (flow + warp + F)/G time | G at ½ ms | G at ½ + flow + warp + F ms | that / G time |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for preset in args.presets:
        for size in args.sizes:
            print(bench_preset(preset, size, args.budget), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
