"""Stress check: stop signals at random moments of `rtstyle convert`, counting every unclean end.

    python bench/stress_signals.py                          # 100 runs of each moment, SIGTERM
    python bench/stress_signals.py --runs 300 --moment conversion
    python bench/stress_signals.py --signal INT --moment start-up

Each run starts a conversion of a 10 s synthetic clip with a tiny random bank (torch backend, so
every run pays torch's start-up) and sends one signal:

- ``start-up``: at a random moment in the first ``--start-up-s`` seconds (interpreter, imports,
  model load);
- ``conversion``: at a random moment in the 30 ms after the hidden temporary output appears.

A clean end is exit status 128 + signal (or death by the signal itself, before the handlers are
installed), the one line ``rtstyle: error: interrupted; nothing was written`` or nothing on
standard error, and no file left in the output folder.  Everything else is counted and described:
a hang (no exit within ``--hang-s``), a crash (an abort, "terminate called"), a traceback, a
leftover file.  Such failures are races that land once in tens or hundreds of runs, which is why
this is a stress run and not a test: the suite's signal tests (tests/core/test_interrupts.py) pin
each fixed race deterministically.  Not run in CI: 100 runs take about 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rtstyle.benchmark import TINY_PRESET, machine_description, random_bank
from rtstyle.stylefile import save_style_bank
from rtstyle.video.sample import make_sample_clip

MOMENTS = ("start-up", "conversion")
CLEAN_MESSAGE = "rtstyle: error: interrupted; nothing was written"
#: How long after the temporary output appears a ``conversion`` signal may land.
CONVERSION_WINDOW_S = 0.03


def one_run(bank: Path, clip: Path, out_dir: Path, moment: str, signum: int, start_up_s: float,
            hang_s: float) -> str | None:
    """Convert, signal, and describe what was unclean about the end (None: a clean end)."""
    command = [sys.executable, "-m", "rtstyle.cli", "convert", str(clip), str(out_dir / "out.mp4"),
               "--model", str(bank), "--backend", "torch", "--quiet"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    if moment == "start-up":
        delay = random.uniform(0.0, start_up_s)
        time.sleep(delay)
    else:
        while not any(out_dir.iterdir()) and process.poll() is None:
            time.sleep(0.0005)
        delay = random.uniform(0.0, CONVERSION_WINDOW_S)
        time.sleep(delay)
    process.send_signal(signum)
    try:
        _, err = process.communicate(timeout=hang_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return f"hang ({delay * 1000:.0f} ms)"
    problems = []
    if process.returncode not in (128 + signum, -signum):
        problems.append(f"exit {process.returncode}")
    lines = err.strip().splitlines()
    if lines and lines != [CLEAN_MESSAGE]:
        problems.append(f"stderr {lines[0][:100]!r}")
    if left := [p.name for p in out_dir.iterdir()]:
        problems.append(f"left {left}")
    return f"{', '.join(problems)} ({delay * 1000:.0f} ms)" if problems else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100, help="runs per moment")
    parser.add_argument("--moment", choices=MOMENTS, action="append", help="default: both")
    parser.add_argument("--signal", default="TERM", choices=["INT", "TERM", "HUP"])
    parser.add_argument("--start-up-s", type=float, default=2.0, help="start-up signals land in this many seconds")
    parser.add_argument("--hang-s", type=float, default=60.0, help="no exit this long after the signal is a hang")
    args = parser.parse_args()
    signum = getattr(signal, f"SIG{args.signal}")
    with tempfile.TemporaryDirectory(prefix="rtstyle-stress-") as workdir:
        work = Path(workdir)
        bank = save_style_bank(random_bank(TINY_PRESET), work / "tiny.safetensors")
        clip = make_sample_clip(work / "clip.mp4", seconds=10, width=160, height=120, fps=24)
        print(f"# {dt.date.today()} — {machine_description()}")
        for moment in args.moment or MOMENTS:
            failures = []
            for run in range(args.runs):
                out_dir = work / f"out-{moment}-{run}"
                out_dir.mkdir()
                if (problem := one_run(bank, clip, out_dir, moment, signum, args.start_up_s, args.hang_s)) is not None:
                    failures.append(problem)
                    print(f"  {moment} run {run}: {problem}", flush=True)
                shutil.rmtree(out_dir)
            print(f"SIG{args.signal} at {moment}: {len(failures)} unclean of {args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
