"""Benchmark: peak resident memory of ``rtstyle convert``, and a soak of the live window.

    python bench/bench_memory.py                                 # 720p and 1080p converts, then the soak
    python bench/bench_memory.py --sizes 720p --soak-frames 0    # one convert, no soak
    python bench/bench_memory.py --clip in.mp4 --soak-frames 0   # a file of your own
    python bench/bench_memory.py --sizes --soak-frames 2000      # a short soak only

Convert: a synthetic clip per size (``make_sample_clip``, AAC audio, ``--seconds`` long) goes
through ``rtstyle convert IN OUT`` with the default bank, backend and encoder settings, in a
subprocess, as a user runs it.  Its peak is the kernel's (``ru_maxrss`` from ``wait4``, which
misses nothing between samples) next to the largest sum of the RSS of it and its children,
sampled from /proc every 20 ms; the fps is the one convert prints.

Soak: the real window offscreen (``QT_QPA_PLATFORM=offscreen`` unless set), default bank and
backend, on a small synthetic clip played in a loop faster than it is stylized, until
``--soak-frames`` stylized frames have been shown.  Resident memory is read every
``--soak-every`` frames; growth is the largest reading after ``--soak-warmup`` frames less the
reading at that point (caches, ONNX Runtime's arena and the allocator settle during warm-up).
Linux only (/proc).  Not a test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from rtstyle.benchmark import RESOLUTIONS, machine_description
from rtstyle.video.sample import make_sample_clip

_SAMPLE_S = 0.02
_FPS_LINE = re.compile(r"wrote .*: (\d+) frames in ([\d.]+) s \(([\d.]+) fps\)")


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of one process in MiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_rss_mb(pid: int) -> float:
    """RSS of ``pid`` and all its descendants, in MiB."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        total += rss_mb(current)
        try:
            with open(f"/proc/{current}/task/{current}/children") as children:
                pending += [int(child) for child in children.read().split()]
        except OSError:
            pass
    return total


@dataclass(frozen=True)
class ConvertPeak:
    label: str
    frames: int
    fps: float
    kernel_peak_mb: float  # ru_maxrss of the convert process
    sampled_peak_mb: float  # largest sampled RSS of it plus its children
    seconds: float


def measure_convert(label: str, clip: Path, out: Path) -> ConvertPeak:
    """Run ``rtstyle convert clip out`` in a subprocess and follow its memory until it exits."""
    command = [sys.executable, "-m", "rtstyle.cli", "convert", str(clip), str(out), "--overwrite"]
    log = out.with_suffix(".log")
    started = time.perf_counter()
    with log.open("w") as stderr:  # a file, not a pipe: the progress bar must never block it
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        sampled = 0.0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            sampled = max(sampled, tree_rss_mb(process.pid))
            time.sleep(_SAMPLE_S)
    process.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text()
    if process.returncode != 0:
        raise SystemExit(f"convert failed ({process.returncode}):\n{text[-2000:]}")
    match = _FPS_LINE.search(text)
    if match is None:
        raise SystemExit(f"convert printed no summary line:\n{text[-2000:]}")
    return ConvertPeak(label, int(match[1]), float(match[3]), usage.ru_maxrss / 1024, sampled,
                       time.perf_counter() - started)


def soak(frames: int, warmup: int, every: int, width: int, height: int, fps: int,
         work: Path) -> tuple[list[tuple[int, float, float]], str]:
    """Show ``frames`` stylized frames in the offscreen window; (frame, seconds, RSS MiB) readings."""
    from PyQt6.QtCore import QEventLoop
    from PyQt6.QtWidgets import QApplication

    from rtstyle_gui.options import WindowOptions
    from rtstyle_gui.settings import open_settings
    from rtstyle_gui.window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    clip = make_sample_clip(work / "camera.mp4", seconds=4.0, width=width, height=height, fps=fps, audio=False)
    window = MainWindow(WindowOptions(source=str(clip)), open_settings(work / "settings.ini"))
    readings: list[tuple[int, float, float]] = []
    shown = 0
    started = time.perf_counter()
    loop = QEventLoop()

    def on_frame(_latency: float, _infer: float, stylized: bool) -> None:
        nonlocal shown
        if not stylized:
            return
        shown += 1
        if shown == warmup or (shown > warmup and shown % every == 0) or shown == frames:
            readings.append((shown, time.perf_counter() - started, rss_mb()))
            shown_at, seconds, rss = readings[-1]
            print(f"| {shown_at} | {seconds:.0f} | {rss:.0f} MiB | {rss - readings[0][2]:+.0f} MiB |", flush=True)
        if shown >= frames:
            loop.quit()

    window.frameShown.connect(on_frame)
    window.pipeline.modelFailed.connect(lambda _request, _exc: loop.quit())
    print(f"\nsoak: {frames} stylized frames of {width}×{height} from a {fps} fps loop", flush=True)
    print("| frames shown | seconds | RSS | since warm-up |")
    print("|---:|---:|---:|---:|", flush=True)
    window.show()
    window.start()
    loop.exec()
    engine = window.stylizer.backend.describe() if window.stylizer else "no model"
    window.close()
    del app
    if shown < frames:
        raise SystemExit(f"the soak stopped after {shown} frames: {window.banner.message.text()}")
    return readings, engine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="*", default=["720p", "1080p"], choices=list(RESOLUTIONS),
                        help="synthetic clips to convert (default 720p 1080p; none: skip)")
    parser.add_argument("--clip", type=Path, action="append", default=[], help="also convert this file")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of the synthetic clips (default 4)")
    parser.add_argument("--soak-frames", type=int, default=10_000, help="stylized frames of the soak (0: none)")
    parser.add_argument("--soak-warmup", type=int, default=500, help="frames before the reference reading")
    parser.add_argument("--soak-every", type=int, default=1000, help="frames between readings")
    parser.add_argument("--soak-size", default="320x180", help="soak frame size WxH (default 320x180)")
    parser.add_argument("--soak-fps", type=int, default=120, help="soak source rate, above what is stylized")
    args = parser.parse_args()
    if args.soak_frames and not 0 < args.soak_warmup < args.soak_frames:
        parser.error("--soak-warmup must be between 0 and --soak-frames")

    print(f"# {dt.date.today()} — {machine_description()}", flush=True)
    print(f"# command: python bench/bench_memory.py {' '.join(sys.argv[1:])}".rstrip(), flush=True)
    with tempfile.TemporaryDirectory(prefix="rtstyle-memory-bench-") as workdir:
        work = Path(workdir)
        jobs = []
        for size in args.sizes:
            width, height = RESOLUTIONS[size]
            clip = make_sample_clip(work / f"{size}.mp4", seconds=args.seconds, width=width, height=height)
            jobs.append((f"{width}×{height}, {args.seconds:g} s synthetic", clip))
        jobs += [(str(clip), clip) for clip in args.clip]
        if jobs:
            print("| clip | frames | convert fps | peak RSS (kernel) | peak RSS (sampled, with children) | wall |")
            print("|---|---:|---:|---:|---:|---:|")
        for label, clip in jobs:
            peak = measure_convert(label, clip, work / "out.mp4")
            print(f"| {peak.label} | {peak.frames} | {peak.fps:.1f} | {peak.kernel_peak_mb:.0f} MiB | "
                  f"{peak.sampled_peak_mb:.0f} MiB | {peak.seconds:.0f} s |", flush=True)
        if args.soak_frames:
            width, height = (int(v) for v in args.soak_size.lower().split("x"))
            readings, engine = soak(args.soak_frames, args.soak_warmup, args.soak_every, width, height,
                                    args.soak_fps, work)
            growth = max(rss for _, _, rss in readings) - readings[0][2]
            print(f"\n{engine}; {readings[-1][1]:.0f} s from window start to the last frame; growth after "
                  f"{args.soak_warmup} frames of warm-up: {growth:+.0f} MiB (largest reading less the first)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
