"""Implementations of the ``rtstyle`` subcommands (argument parsing lives in :mod:`rtstyle.cli`).

Each handler checks what is cheap to check (input exists, destination writable, style names)
before loading a model or decoding a frame, so mistakes fail in milliseconds.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from itertools import islice
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rtstyle.catalog import ANY_STYLE_BANK, list_banks, resolve_bank
from rtstyle.console import notice
from rtstyle.device import pick_device
from rtstyle.errors import InputError
from rtstyle.fusion_eval import FusionReport, detail_scores, flicker_scores, fusion_sheet
from rtstyle.mixing import mix_from_specs
from rtstyle.regions import Regions, check_layout, region_count
from rtstyle.scale_control import AUTO_SCALE
from rtstyle.picture_styles import (check_name, list_picture_styles, name_from_path, picture_dir, read_picture_style,
                                    remove_picture_style, save_picture_style)
from rtstyle.stream.ordered import convert_stream
from rtstyle.stream.sinks import open_video_sink
from rtstyle.stream.sources import Source, open_source
from rtstyle.stream.spec import STANDARD_STREAM, SourceSpec
from rtstyle.style_choice import choose_styles
from rtstyle.stylefile import load_style_bank
from rtstyle.stylizer import DEFAULT_MAX_PIXELS, Stylizer, StylizerSettings, check_controls
from rtstyle.evaluation import collect_images, evaluate, shrink
from rtstyle.stylefile import StyleBank
from rtstyle.video.atomic import atomic_output, check_destination
from rtstyle.video.images import (ALPHA_SUFFIXES, ImageFile, check_image_destination, is_image_path, open_image,
                                  read_image, write_image)
from rtstyle.video.reader import VideoReader
from rtstyle.video.sample import make_sample_clip
from rtstyle.video.writer import EncodeOptions, check_encodable


def check_style_options(args: argparse.Namespace) -> None:
    """The style options that need no model, checked before one loads (absent ones are skipped)."""
    scale = getattr(args, "scale", None)
    target_fps = getattr(args, "target_fps", None)
    if target_fps is not None and scale != AUTO_SCALE:
        raise InputError("--target-fps goes with --scale auto")
    check_controls(strength=getattr(args, "strength", None), scale=None if scale == AUTO_SCALE else scale,
                   max_pixels=getattr(args, "max_pixels", None), target_fps=target_fps, prefix="--")
    batch = getattr(args, "batch", None)
    if batch is not None and batch < 1:
        raise InputError(f"--batch must be at least 1, got {batch}")
    if getattr(args, "regions", None) is not None:
        check_layout(args.regions)


def build_stylizer(args: argparse.Namespace, source_fps: float | None = None) -> Stylizer:
    """Load the bank named by ``--model`` (or the one pictures need) and apply the style options.

    ``--scale auto`` holds ``--target-fps``, else ``source_fps`` (the input's own rate), else 30.
    """
    device = pick_device(args.device)
    choice = choose_styles(args.model, args.style, args.style_image, args.region_style)
    for line in choice.notes:
        notice(line)
    bank = choice.bank
    settings = StylizerSettings(
        mix_from_specs(choice.style_specs, bank.style_names),
        strength=args.strength,
        keep_colors=args.keep_colors,
        scale=1.0 if args.scale == AUTO_SCALE else args.scale,
        target_fps=(getattr(args, "target_fps", None) or source_fps or 30.0) if args.scale == AUTO_SCALE else None,
        max_pixels=DEFAULT_MAX_PIXELS if args.max_pixels is None else args.max_pixels,
        fusion=not args.no_fusion,
        regions=regions_from_args(args.regions, choice.region_specs, bank.style_names),
    )
    stylizer = Stylizer(bank, settings, device=device, dtype=args.dtype, backend=args.backend)
    notice("backend: %s", stylizer.backend.describe())
    return stylizer


def regions_from_args(layout: str | None, specs: Sequence[str], style_names: Sequence[str]) -> Regions | None:
    """``--regions LAYOUT --region-style A --region-style B,C=0.5 ...`` → :class:`Regions` (or None)."""
    if layout is None:
        if specs:
            raise InputError("--region-style needs --regions LAYOUT")
        return None
    check_layout(layout)
    count = region_count(layout) or len(specs)
    if len(specs) != count:
        raise InputError(f"--regions {layout} needs {count} --region-style options (one per region), got {len(specs)}")
    return Regions(layout, tuple(mix_from_specs(spec.split(","), style_names) for spec in specs))


def _require_input(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a file")


def run_convert(args: argparse.Namespace) -> int:
    """``rtstyle convert``: every check that takes milliseconds first, then the model, then the frames."""
    spec = SourceSpec.parse(args.input)
    check_style_options(args)
    _check_stream_options(args, spec)
    if spec.path is not None:
        _require_input(spec.path)
    inputs = [spec.path] if spec.path is not None else []
    to_stdout = args.output == STANDARD_STREAM
    if not to_stdout:
        check_destination(Path(args.output), overwrite=args.overwrite, inputs=inputs)
    options = EncodeOptions(codec=args.codec, crf=args.crf, preset=args.preset)
    check_encodable(None if to_stdout else Path(args.output), options, args.format)
    with open_source(spec) as source:  # a readable video with a first frame, or InputError now
        stylizer = build_stylizer(args, float(source.average_rate) if source.average_rate else None)
        batch = args.batch or (8 if stylizer.device.type == "cuda" else 1)
        label = "stdout" if to_stdout else Path(args.output).name
        with open_video_sink(args.output, time_base=source.time_base, rate=source.average_rate,
                             audio_streams=source.audio_streams, options=options, format=args.format,
                             overwrite=args.overwrite, inputs=inputs) as sink, \
                tqdm(total=_expected_frames(source, args.duration), unit="frame", dynamic_ncols=True,
                     disable=args.quiet, desc=label, file=sys.stderr) as bar:
            stats = convert_stream(source, sink, stylizer, batch_size=batch, duration=args.duration,
                                   live=spec.is_live, on_progress=lambda done: bar.update(done - bar.n))
    if not args.quiet:
        print(f"wrote {'standard output' if to_stdout else args.output}: {stats.frames} frames in "
              f"{stats.seconds:.1f} s ({stats.fps:.1f} fps), style {_describe_mix(stylizer)} on {stylizer.device}",
              file=sys.stderr)
        if stylizer.scale_control is not None:
            print(f"working resolutions (to hold {stylizer.scale_control.target_fps:g} fps): "
                  f"{stylizer.scale_control.summary(source.height, source.width)}", file=sys.stderr)
    return 0


def _check_stream_options(args: argparse.Namespace, spec: SourceSpec) -> None:
    """What ``convert``'s source, ``--duration`` and ``--format`` need of each other."""
    if args.duration is not None and not args.duration > 0:
        raise InputError(f"--duration must be a positive number of seconds, got {args.duration}")
    if spec.camera is not None and args.duration is None:
        raise InputError(f"{spec}: a camera has no end; say how long to record with --duration SECONDS")
    if args.output == STANDARD_STREAM:
        if args.format is None:
            raise InputError("- writes the video to standard output: name its container with --format "
                             "(matroska, mpegts or nut stream well)")
        if sys.stdout.isatty():
            raise InputError("- writes video to standard output, which is a terminal; pipe it (| ffplay -) or "
                             "redirect it (> out.mkv)")


def _expected_frames(source: Source, duration: float | None) -> int | None:
    """Frames the progress bar expects: the source's count, cut to ``duration`` (None: unknown)."""
    if duration is None:
        return source.frame_count
    within = round(duration * source.average_rate) if source.average_rate else None
    return min(source.frame_count, within) if source.frame_count and within else within


def run_image(args: argparse.Namespace) -> int:
    """``rtstyle image``: transparency kept where the output type holds it; what is lost is said."""
    source, destination = Path(args.input), Path(args.output)
    if args.scale == AUTO_SCALE:
        raise InputError("--scale auto follows a frame rate; for a still image give a number")
    check_style_options(args)
    _require_input(source)
    check_image_destination(destination, overwrite=args.overwrite, inputs=[source])
    picture = open_image(source)
    keeps_alpha = destination.suffix.lower() in ALPHA_SUFFIXES
    for line in _image_losses(source, destination, picture, keeps_alpha):
        notice(line)
    stylizer = build_stylizer(args)
    write_image(destination, stylizer(picture.rgb), overwrite=args.overwrite,
                alpha=picture.alpha if keeps_alpha else None)
    if not args.quiet:
        print(f"wrote {destination} ({picture.rgb.shape[1]}x{picture.rgb.shape[0]}), style {_describe_mix(stylizer)}",
              file=sys.stderr)
    return 0


def _image_losses(source: Path, destination: Path, picture: ImageFile, keeps_alpha: bool) -> list[str]:
    """One line for each thing of ``source`` the written image will not have."""
    lines = []
    if picture.alpha is not None and not keeps_alpha:
        lines.append(f"{source.name} is transparent and {destination.suffix} holds no transparency: transparent parts "
                     "become white (write .png, .webp or .tiff to keep it)")
    if picture.bits > 8:
        lines.append(f"{source.name} has {picture.bits}-bit samples; {destination.name} has 8-bit ones")
    if picture.frames > 1:
        lines.append(f"{source.name} holds {picture.frames} pictures; this is the first "
                     f"('rtstyle convert {source.name} out.mp4' stylizes an animation as a clip)")
    return lines


def run_styles(args: argparse.Namespace) -> int:
    """``rtstyle styles``: banks and saved picture styles; ``styles add`` / ``styles remove``."""
    if args.styles_command == "add":
        return _add_picture_style(args)
    if args.styles_command == "remove":
        print(f"removed {remove_picture_style(args.name)}", file=sys.stderr)
        return 0
    banks = list_banks()
    pictures, broken = list_picture_styles()
    if not banks and not pictures:
        print("no style banks installed")
        return 0
    for entry in banks:
        if entry.error:
            print(f"{entry.name}  [{entry.source}]  UNREADABLE: {entry.error}")
            continue
        preset = f", {entry.preset} preset" if entry.preset else ""
        print(f"{entry.name}  [{entry.source}{preset}]  {entry.path}")
        for style in entry.styles:
            print(f"    {style}")
    if pictures or broken:
        print(f"pictures  [user, painted by {ANY_STYLE_BANK}]  {picture_dir()}")
        for picture in pictures:
            print(f"    {picture.name}  ({picture.title}, from {picture.source})")
        for path, error in broken:
            print(f"    UNREADABLE {path.name}: {error}")
    return 0


def _add_picture_style(args: argparse.Namespace) -> int:
    source = Path(args.picture)
    _require_input(source)
    name = check_name(args.name) if args.name else name_from_path(source)
    taken = {style for entry in list_banks() if not entry.error for style in entry.styles}
    if name in taken:
        raise InputError(f"{name!r} is already a style of an installed bank; choose another --name")
    notes: list[str] = []
    style = read_picture_style(source, name=name, title=args.title, notes=notes)
    for line in notes:
        notice(line)
    path = save_picture_style(style, overwrite=args.overwrite)
    print(f"added {style.name!r} ({style.title}) to {path}; use it with --style {style.name}", file=sys.stderr)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    content = collect_images(args.content)
    videos = [Path(v) for v in args.video or []]
    for video in videos:
        _require_input(video)
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a folder")
    device = pick_device(args.device)
    bank = load_style_bank(resolve_bank(args.model))
    stylizer = Stylizer(bank, device=device, dtype=args.dtype, backend=args.backend)
    paintings = _find_paintings(bank, Path(args.style_dir)) if args.style_dir else {}
    report, sheet = evaluate(stylizer, content, paintings=paintings, video=videos[0] if videos else None,
                             max_frames=args.max_frames, max_side=args.max_side,
                             inception_weights=args.inception_weights)
    text = report.markdown()
    images = {"sheet.png": sheet}
    if bank.has_fusion:
        fusion_report, images["fusion_sheet.png"] = _evaluate_fusion(stylizer, content, videos, args)
        text += "\n" + fusion_report.markdown()
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_output(out_dir / "report.md", overwrite=True) as temporary:
        temporary.write_text(text)
    for name, image in images.items():
        write_image(out_dir / name, image, overwrite=True)
    print(text)
    print(f"wrote {out_dir / 'report.md'} and {', '.join(str(out_dir / n) for n in images)}", file=sys.stderr)
    return 0


def _evaluate_fusion(
    stylizer: Stylizer, content: Sequence[Path], videos: Sequence[Path], args: argparse.Namespace
) -> tuple[FusionReport, np.ndarray]:
    """The fusion section: detail at ``--fusion-scale`` on the images and on every clip, flicker on
    every clip, a sheet."""
    images = [shrink(read_image(p), args.max_side) for p in content]
    report = FusionReport(stylizer.bank.name, args.fusion_scale, detail_scores(stylizer, images, args.fusion_scale))
    sheet_frames: list[np.ndarray] = []
    for video in videos:
        frames = [f.rgb for f in islice(VideoReader(video).frames(), args.max_frames)]
        report.detail += detail_scores(stylizer, frames, args.fusion_scale, source=video.name, sequence=True)
        report.flicker += flicker_scores(stylizer, video.name, frames, args.fusion_scale)
        sheet_frames = sheet_frames or frames[len(frames) // 2 : len(frames) // 2 + 4]
    sheet_frames = sheet_frames or images[:2]
    return report, fusion_sheet(stylizer, sheet_frames, 0, args.fusion_scale)


def _find_paintings(bank: StyleBank, style_dir: Path) -> dict[str, np.ndarray]:
    """Paintings by style: the file recorded as the style's source, else one named like the style."""
    if not style_dir.is_dir():
        raise InputError(f"{style_dir}: not a folder")
    found = {}
    for style in bank.styles:
        candidates = [style_dir / style.source] if style.source else []
        candidates += sorted(p for p in style_dir.iterdir() if p.stem.startswith(style.name) and is_image_path(p))
        match = next((p for p in candidates if p.is_file()), None)
        if match is not None:
            found[style.name] = read_image(match)
    return found


def run_sample(args: argparse.Namespace) -> int:
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise InputError(f"invalid --size {args.size!r}: expected WIDTHxHEIGHT, e.g. 640x360") from None
    if width < 16 or height < 16 or args.seconds <= 0 or args.fps <= 0:
        raise InputError("--size must be at least 16x16, --seconds and --fps positive")
    destination = Path(args.output)
    make_sample_clip(destination, seconds=args.seconds, width=width, height=height, fps=args.fps,
                     overwrite=args.overwrite)
    print(f"wrote {destination}: {args.seconds:g} s, {width}x{height} at {args.fps} fps, with audio", file=sys.stderr)
    return 0


def _describe_mix(stylizer: Stylizer) -> str:
    """``starry_night=0.70 + scream=0.30``, or per region ``left-right: starry_night | scream``."""
    regions = stylizer.settings.regions
    if regions is not None:
        return f"{regions.layout}: " + " | ".join(_mix_text(stylizer, w) for w in regions.style_weights)
    return _mix_text(stylizer, stylizer.settings.style_weights)


def _mix_text(stylizer: Stylizer, weights: np.ndarray) -> str:
    parts = [f"{name}={w:.2f}" if len(weights) > 1 and w < 1 else name
             for name, w in zip(stylizer.style_names, weights) if w > 0]
    return " + ".join(parts)
