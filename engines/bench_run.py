"""Handler of ``rtstyle bench``: backends × presets × resolutions through :mod:`rtstyle.benchmark`.

Prints a markdown table headed by the date, the machine and the command, ready to paste into
bench/RESULTS.md.  ``--tiny`` runs the same code on a tiny network at 64×36 with a short budget
so CI checks the whole bench (every backend that works here, all three modes, the anchor) in
seconds; its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from rtstyle.backends.registry import BACKENDS
from rtstyle.benchmark import (
    RESOLUTIONS,
    TINY_PRESET,
    bench_convert,
    bench_models,
    machine_description,
    markdown_table,
    resolution_size,
)
from rtstyle.device import pick_device, pick_dtype
from rtstyle.errors import InputError
from rtstyle.models import PRESETS
from rtstyle.video.writer import EncodeOptions
from rtstyle_engines.peak import peak_flops

TINY_SIZE = "64x36"
TINY_BUDGET_S = 0.05
MODES = ("model", "stylize", "convert")


def run_bench(args: argparse.Namespace) -> int:
    device = pick_device(args.device)
    presets = [TINY_PRESET] if args.tiny else (args.presets or list(PRESETS))
    sizes = [TINY_SIZE] if args.tiny else (args.sizes or list(RESOLUTIONS))
    budget = TINY_BUDGET_S if args.tiny else args.budget
    modes = args.modes or list(MODES)
    # Every registered backend by default: one that cannot run here is skipped with its reason.
    backends = args.backends or list(BACKENDS)
    _check(presets, sizes, budget, args.batch)
    command = " ".join(sys.argv[1:]) if sys.argv[1:] and sys.argv[1] == "bench" else "bench"
    print(f"# {dt.date.today()} — {machine_description()}", flush=True)
    print(f"# command: rtstyle {command}", flush=True)
    common = {"device": str(device), "dtype": args.dtype, "batch": args.batch, "backends": backends}
    rows = bench_models(presets, sizes, budget_s=budget, with_anchor=not args.no_anchor,
                        modes=[m for m in modes if m != "convert"], **common)
    if "convert" in modes:
        rows += bench_convert(presets, sizes, budget_s=budget, options=EncodeOptions(preset=args.x264_preset),
                              model_rows=rows, with_baseline=True, **common)
    dtype = pick_dtype(args.dtype, device)
    peak = (args.peak_tflops * 1e12, "--peak-tflops") if args.peak_tflops else peak_flops(device, dtype)
    if peak is not None:
        print(f"# peak: {peak[0] / 1e12:.2f} TFLOP/s ({peak[1]})")
    print(markdown_table(rows, peak_flops=peak[0] if peak else None))
    return 0


def _check(presets: list[str], sizes: list[str], budget: float, batch: int) -> None:
    unknown = [p for p in presets if p not in PRESETS and p != TINY_PRESET]
    if unknown:
        raise InputError(f"unknown preset(s) {', '.join(unknown)}: choose from {', '.join(PRESETS)}")
    for size in sizes:
        try:
            width, height = resolution_size(size)
        except ValueError:
            raise InputError(f"invalid size {size!r}: use 360p, 720p, 1080p or WIDTHxHEIGHT") from None
        if width < 16 or height < 16:
            raise InputError(f"size {size} is too small: at least 16x16")
    if budget <= 0 or batch < 1:
        raise InputError("--budget must be positive and --batch at least 1")
