"""Benchmark: stylize-only and end-to-end convert fps for the presets, next to the Johnson anchor.

    python bench/bench_speed.py                       # full run (~5 min on a 2-core CPU)
    python bench/bench_speed.py --sizes 360p --budget 1 --no-convert   # quick look

Prints a markdown table to paste into bench/RESULTS.md together with the command and machine.
Not a test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import rtstyle.cli  # noqa: F401 - first: it sets OpenMP's wait policy before torch loads, as for every command
from rtstyle.benchmark import RESOLUTIONS, bench_convert, bench_models, machine_description, markdown_table
from rtstyle.models import PRESETS
from rtstyle.video.writer import EncodeOptions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=list(RESOLUTIONS), choices=list(RESOLUTIONS))
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    parser.add_argument("--budget", type=float, default=3.0, help="seconds of timing per configuration")
    parser.add_argument("--no-anchor", action="store_true", help="skip the Johnson et al. 2016 TransformerNet")
    parser.add_argument("--no-convert", action="store_true", help="skip end-to-end file conversion")
    parser.add_argument("--x264-preset", default="medium", help="encoder preset for the convert rows")
    args = parser.parse_args()

    print(f"# {dt.date.today()} — {machine_description()}", flush=True)
    print(f"# command: python bench/bench_speed.py {' '.join(sys.argv[1:])}".rstrip(), flush=True)
    rows = bench_models(args.presets, args.sizes, budget_s=args.budget, with_anchor=not args.no_anchor)
    if not args.no_convert:
        options = EncodeOptions(preset=args.x264_preset)
        rows += bench_convert(args.presets, args.sizes, budget_s=args.budget, options=options, model_rows=rows)
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
