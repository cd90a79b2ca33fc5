"""Benchmark: capture→display latency and frame rate of the live window.

    python bench/bench_gui_latency.py                              # 640×360, fast preset, CPU, 20 s
    python bench/bench_gui_latency.py --seconds 5                  # quick check that it runs
    python bench/bench_gui_latency.py --size 1280x720 --preset quality --device cuda
    python bench/bench_gui_latency.py --backend torch              # one backend instead of auto

Runs the real window offscreen (``QT_QPA_PLATFORM=offscreen`` unless set) on a synthetic clip
played in a loop at camera rate, with a random-weight bank of the preset (speed does not depend
on the weights).  Latency is measured per displayed frame from the moment the capture thread
received it to the moment the GUI thread hands it to the view, the same figure the window's
readout shows.  The window opens at its default size (1320×800, a 980×748 view), so a source
bigger than the view is stylized at the size it is shown at, as for a user.  Warm-up frames
(the first ``--warmup`` seconds) are left out.  Prints one markdown row for bench/RESULTS.md.  Not a test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt6.QtCore import QEventLoop, QTimer
from PyQt6.QtWidgets import QApplication

from rtstyle.cli import scale_option  # first: it sets OpenMP's wait policy before torch loads, as the window's command does
from rtstyle.backends.registry import AUTO, backend_names
from rtstyle.benchmark import machine_description, random_bank
from rtstyle.models import PRESETS
from rtstyle.models.fusion import FUSION_PRESETS, FusionNet
from rtstyle.scale_control import AUTO_SCALE
from rtstyle.stylefile import save_style_bank
from rtstyle.video.sample import make_sample_clip
from rtstyle_gui.options import WindowOptions
from rtstyle_gui.settings import open_settings
from rtstyle_gui.stats import percentile
from rtstyle_gui.window import MainWindow


def measure(clip: Path, bank: Path, settings: Path, *, backend: str, device: str, seconds: float,
            warmup: float, scale: float | str, size: tuple[int, int], fps: float) -> dict[str, object]:
    """Run the window for ``warmup + seconds`` and summarise the stylized frames after warm-up."""
    options = WindowOptions(source=str(clip), model=str(bank), backend=backend, device=device, scale=scale)
    window = MainWindow(options, open_settings(settings))
    window.show()
    window.start()
    samples: list[tuple[float, float]] = []  # (latency, model time) per stylized frame
    measuring = False

    def on_frame(latency: float, infer: float, stylized: bool) -> None:
        if measuring and stylized:
            samples.append((latency, infer))

    window.frameShown.connect(on_frame)
    loop = QEventLoop()
    # Warm-up starts once the model is in use, so loading time never counts.
    window.pipeline.modelLoaded.connect(lambda *_: QTimer.singleShot(round(warmup * 1000), loop.quit))
    window.pipeline.modelFailed.connect(lambda _request, _exc: loop.quit())
    loop.exec()
    if window.pipeline.stylizer is None:
        window.close()
        raise SystemExit(f"the model did not load: {window.banner.message.text()}")
    engine = f"{window.stylizer.backend.describe()}" if window.stylizer else backend
    dropped_before = window.pipeline.dropped_frames
    measuring = True
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()
    measuring = False
    dropped = window.pipeline.dropped_frames - dropped_before
    control = window.stylizer.scale_control if window.stylizer else None
    fed = window.styling.frame_size  # (height, width): the frames fitted to the view, when bigger than it
    sizes = control.summary(*fed) if control else f"×{scale:g} (fixed)"
    if fed != tuple(size):
        sizes = f"fitted to the view at {fed[1]}x{fed[0]}; {sizes}"
    window.close()
    if len(samples) < 2:
        raise SystemExit("no stylized frames were shown; is the model far too slow for this size?")
    latencies = [s[0] for s in samples]
    return {
        "frames": len(samples),
        "fps": len(samples) / seconds,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "max": max(latencies),
        # Issue 17's "no frame older than two frame intervals on screen", counted frame by frame.
        "stale": sum(latency > 2.0 / fps for latency in latencies) / len(latencies),
        "model_p50": statistics.median(s[1] for s in samples),
        "dropped": dropped,
        "engine": engine,
        "sizes": sizes,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="640x360", help="source frame size WxH (default 640x360)")
    parser.add_argument("--fps", type=int, default=30, help="source (camera stand-in) frame rate (default 30)")
    parser.add_argument("--preset", default="fast", choices=list(PRESETS))
    parser.add_argument("--backend", default=AUTO, choices=backend_names(), help="default: auto, as the window")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto (default cpu)")
    parser.add_argument("--fusion", action="store_true", help="give the bank a fusion network F (on in the window)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time (default 20)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds left out after the model loads")
    parser.add_argument("--scale", type=scale_option, default=AUTO_SCALE,
                        help="working resolution: auto (the window's default) or a fraction")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="rtstyle-gui-bench-") as workdir:
        work = Path(workdir)
        clip = make_sample_clip(work / "camera.mp4", seconds=4.0, width=width, height=height, fps=args.fps,
                                audio=False)
        random = random_bank(args.preset)
        if args.fusion:
            random = random.with_fusion(FusionNet(FUSION_PRESETS[args.preset]))
        bank = save_style_bank(random, work / f"random-{args.preset}.safetensors")
        result = measure(clip, bank, work / "settings.ini", backend=args.backend, device=args.device,
                         seconds=args.seconds, warmup=args.warmup, scale=args.scale,
                         size=(height, width), fps=args.fps)
    del app
    print(f"# {dt.date.today()} — {machine_description()}")
    print(f"# command: python bench/bench_gui_latency.py {' '.join(sys.argv[1:])}".rstrip())
    print("| preset | F | source | backend | shown fps | latency p50 | latency p95 | latency max "
          "| older than 2 intervals | model p50 | dropped at capture | working sizes (frames) |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    print(f"| {args.preset} | {'yes' if args.fusion else 'no'} | {width}×{height} @ {args.fps} fps | {result['engine']} | {result['fps']:.1f} | "
          f"{result['p50'] * 1e3:.0f} ms | {result['p95'] * 1e3:.0f} ms | {result['max'] * 1e3:.0f} ms | "
          f"{result['stale']:.1%} | {result['model_p50'] * 1e3:.0f} ms | {result['dropped']:.0f} | {result['sizes']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
