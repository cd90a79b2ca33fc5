"""How long a painting dropped onto the window's gallery takes to be live in the view.

From the drop to the first frame shown with the new style in the stylizer's mix: reading the
picture (the style predictor), saving it, adding it to the running stylizer between two frames,
and that frame's inference.  Measured on the bundled any-style bank (the window already on it)
and from the default bank (the drop switches the window to the any-style bank: a model load).

    python bench/bench_add_painting.py --painting ../shared/data/styles/the_scream_munch_1893.jpg
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt6.QtCore import QEventLoop, QMimeData, QPointF, Qt, QTimer, QUrl
from PyQt6.QtGui import QDragEnterEvent, QDropEvent
from PyQt6.QtWidgets import QApplication

import rtstyle.cli  # noqa: F401 - first: it sets OpenMP's wait policy before torch loads, as for every command
from rtstyle.benchmark import machine_description
from rtstyle.catalog import ANY_STYLE_BANK, DEFAULT_BANK
from rtstyle.picture_styles import name_from_path
from rtstyle.video.sample import make_sample_clip
from rtstyle_gui.options import WindowOptions
from rtstyle_gui.settings import open_settings
from rtstyle_gui.window import MainWindow

TIMEOUT_S = 60.0


def _drop(window: MainWindow, painting: Path) -> None:
    """Drop ``painting`` onto the gallery, as a file manager does."""
    gallery = window.panel.gallery
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(painting))])
    point, action = gallery.rect().center(), Qt.DropAction.CopyAction
    buttons, keys = Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(gallery, QDragEnterEvent(point, action, mime, buttons, keys))
    QApplication.sendEvent(gallery, QDropEvent(QPointF(point), action, mime, buttons, keys))


def seconds_to_live(clip: Path, model: str, painting: Path, workdir: Path, warmup: float) -> float:
    """Open the window on ``model``, drop ``painting`` after ``warmup`` s, time until it is shown."""
    window = MainWindow(WindowOptions(source=str(clip), model=model), open_settings(workdir / "settings.ini"))
    window.show()
    window.start()
    loop = QEventLoop()
    window.pipeline.modelLoaded.connect(lambda *_: QTimer.singleShot(round(warmup * 1000), loop.quit))
    loop.exec()
    name = name_from_path(painting)
    dropped_at: list[float] = []
    live_at: list[float] = []

    def on_frame(_latency: float, _infer: float, stylized: bool) -> None:
        stylizer = window.stylizer
        if not dropped_at or live_at or not stylized or stylizer is None:
            return
        added = [n for n in stylizer.style_names if n.startswith(name)]  # the window may suffix the name
        if added and stylizer.settings.style_weights[stylizer.style_names.index(added[-1])] > 0:
            live_at.append(time.perf_counter())
            loop.quit()

    window.frameShown.connect(on_frame)
    dropped_at.append(time.perf_counter())
    _drop(window, painting)
    QTimer.singleShot(round(TIMEOUT_S * 1000), loop.quit)
    loop.exec()
    window.close()
    if not live_at:
        raise SystemExit(f"{painting.name} was not live within {TIMEOUT_S:.0f} s")
    return live_at[0] - dropped_at[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--painting", type=Path, required=True, help="the picture to drop")
    parser.add_argument("--size", default="640x360", help="source frame size WxH (default 640x360)")
    parser.add_argument("--runs", type=int, default=3, help="drops per starting bank (default 3)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of video before the drop")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    rows = []
    with tempfile.TemporaryDirectory(prefix="rtstyle-add-painting-") as directory:
        work = Path(directory)
        clip = make_sample_clip(work / "camera.mp4", seconds=4.0, width=width, height=height, fps=30, audio=False)
        for model in (ANY_STYLE_BANK, DEFAULT_BANK):
            times = []
            for run in range(args.runs):
                run_dir = work / f"{model}-{run}"
                run_dir.mkdir()
                os.environ["RTSTYLE_STYLE_DIR"] = str(run_dir / "styles")  # a fresh user style directory
                times.append(seconds_to_live(clip, model, args.painting, run_dir, args.warmup))
            rows.append((model, times))
    del app
    print(f"# {dt.date.today()} — {machine_description()}")
    print(f"# command: python bench/bench_add_painting.py {' '.join(sys.argv[1:])}")
    print("| window on | source | drop → live, each run | median |")
    print("|---|---|---|---:|")
    for model, times in rows:
        each = ", ".join(f"{t:.2f} s" for t in times)
        print(f"| {model} | {width}×{height} @ 30 fps | {each} | {statistics.median(times):.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
