"""``rtstyle`` command line: argument parsing, dispatch, and turning errors into one line.

Library code raises :class:`rtstyle.errors.RtStyleError` for anything a user can cause; this is
the only place that prints it, with a distinct exit code for user errors (2), missing
backends (3), internal errors (70) and stop signals (128 + the signal: 130 for Ctrl-C, 143 for
SIGTERM, 129 for SIGHUP; see :mod:`rtstyle.interrupts`).  ``--debug``, accepted before or after
the subcommand, shows tracebacks.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

# OpenMP threads that sleep between torch's operators instead of spinning on their cores, unless
# the user chose (``OMP_WAIT_POLICY``).  It only counts before torch is first imported, so this
# module imports nothing that imports torch (a test checks).  A live frame shares two cores between
# capture, decode, ONNX Runtime, OpenCV, torch and the display, and spinning threads hold the cores
# the others need: on a loaded 2-core CPU a 980×551 frame with F took 147-169 ms spinning, 59-61 ms
# sleeping (bench/RESULTS.md, 2026-12-08).  Training keeps torch's default: it has one pool of
# threads, and sleeping cost it a third of its speed.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from rtstyle import __version__  # noqa: E402 - after the policy above, like every import below
from rtstyle.backends.registry import AUTO, backend_names  # noqa: E402
from rtstyle.console import configure_console  # noqa: E402
from rtstyle.errors import EXIT_INTERNAL_ERROR, EXIT_UNAVAILABLE, RtStyleError  # noqa: E402
from rtstyle.interrupts import (  # noqa: E402
    install_interrupt_handlers,
    interrupt_behind,
    interrupt_exit_code,
    interrupts_held,
)
from rtstyle.scale_control import AUTO_SCALE  # noqa: E402

EXAMPLES = """\
examples:
  rtstyle sample clip.mp4                          make a 5 s test clip (with audio)
  rtstyle convert clip.mp4 out.mp4                 stylize with the default style
  rtstyle convert in.mov out.mp4 --style starry_night=0.7 --style great_wave=0.3
  rtstyle convert in.mp4 out.mp4 --strength 0.6 --keep-colors --scale 0.5 --crf 20
  rtstyle convert camera:0 webcam.mp4 --duration 10                 a stylized recording of the webcam
  rtstyle convert - out.mp4 < in.mkv      rtstyle convert in.mp4 - --format matroska | ffplay -
  rtstyle image photo.jpg photo_styled.png --style scream
  rtstyle styles                                   list installed style banks and styles
  rtstyle image photo.jpg out.png --style-image my_painting.jpg      any picture as a style
  rtstyle styles add my_painting.jpg --name mine   keep it: then --style mine, and in the window
  rtstyle eval fast --content photos/ --video clip.mp4 --style-dir paintings/ --out report/
"""


def scale_option(text: str) -> float | str:
    """``--scale``: a number, or ``auto`` (the working resolution follows the frame rate)."""
    if text.strip().lower() == AUTO_SCALE:
        return AUTO_SCALE
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or {AUTO_SCALE}, got {text!r}") from None


def _add_style_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("style")
    group.add_argument("--model", metavar="BANK", help="style bank: a bank name (see 'rtstyle styles'), a .safetensors path, or fast/quality "
                       "for the bank of that preset (default: the bundled paintings-fast)")
    group.add_argument("--style", metavar="NAME[=WEIGHT]", action="append", default=[],
                       help="style to apply; repeat to mix (weights are normalised; default: the bank's first style)")
    group.add_argument("--style-image", metavar="PICTURE[=WEIGHT]", action="append", default=[],
                       help="any painting or picture as a style, no training; repeat or add --style to mix "
                            "(uses the any-style bank paintings-any unless --model names one)")
    group.add_argument("--strength", type=float, default=1.0, metavar="S",
                       help="0 = original, 1 = fully stylized (default 1)")
    group.add_argument("--keep-colors", action="store_true", help="keep the source colours (luminance-only transfer)")
    group.add_argument("--scale", type=scale_option, default=1.0, metavar="F|auto",
                       help="working resolution as a fraction of the input size (default 1; 0.5 is ~4x faster); "
                            "auto (convert) moves it to hold --target-fps")
    group.add_argument("--max-pixels", type=int, default=None, metavar="N",
                       help="cap on the working resolution in pixels (default 1920x1088); larger frames are "
                            "stylized at the cap and upsampled")
    group.add_argument("--no-fusion", action="store_true",
                       help="do not run the bank's fusion network F (detail, steadiness, seams); for comparison")
    group.add_argument("--regions", metavar="LAYOUT|MASK",
                       help="a style per region: left-right, top-bottom, centre-surround, thirds, quadrants, or a grey mask image (dark = first "
                            "region); give the styles with --region-style")
    group.add_argument("--region-style", metavar="NAME[=W][,NAME=W...]", action="append", default=[],
                       help="style (or mix) of the next region, in region order; repeat once per region")
    group.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    group.add_argument("--dtype", default="auto", help="auto, float32, float16 or bfloat16 (default: float16 on CUDA)")
    group.add_argument("--backend", default=AUTO, choices=backend_names(),
                       help="inference engine: auto picks the fastest that works here (onnx on CPU, tensorrt "
                            "then torch on CUDA) and says which (default auto)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtstyle",
        description="Real-time video stylization with GAN-trained multi-style networks.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rtstyle {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    convert = commands.add_parser("convert", help="stylize a video file (audio kept)", epilog=EXAMPLES,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    convert.add_argument("input", metavar="IN", help="a video file FFmpeg reads, - for standard input, a URL "
                         "(rtsp://, http(s)://, udp://, tcp://, ...) or camera:N")
    convert.add_argument("output", metavar="OUT", help="destination (.mp4, .mkv, .mov, ...), written only when "
                         "complete; - for standard output (with --format)")
    _add_style_options(convert)
    encode = convert.add_argument_group("encoding")
    encode.add_argument("--codec", metavar="NAME",
                        help="video encoder, e.g. libx264, libx265, libvpx-vp9, libsvtav1 (default: H.264 where the "
                             "container holds it, else the container's own: VP9 for .webm)")
    encode.add_argument("--crf", type=int, metavar="N",
                        help="constant quality, lower is better (default: 18 for x264, 20 for x265, 31 for VP9, 35 "
                             "for SVT-AV1; range 0-51 for x264/x265, 0-63 for VP9/AV1)")
    encode.add_argument("--preset", metavar="P",
                        help="encoder speed preset: ultrafast ... medium ... veryslow for x264/x265 (default medium), "
                             "0-13 for SVT-AV1 (default 8)")
    encode.add_argument("--batch", type=int, default=None, metavar="N",
                        help="frames per inference batch (default 1 on CPU, 8 on GPU)")
    encode.add_argument("--format", metavar="NAME",
                        help="container, as ffmpeg's -f (matroska, mpegts, nut, mp4, ...; default: from OUT's "
                             "suffix); needed for OUT -")
    convert.add_argument("--target-fps", type=float, metavar="FPS",
                         help="with --scale auto: the frame rate to hold (default: the input's)")
    convert.add_argument("--duration", type=float, metavar="SECONDS",
                         help="stop after this much of the input (needed for a camera)")
    convert.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    convert.add_argument("--quiet", action="store_true", help="no progress bar")

    image = commands.add_parser("image", help="stylize a still image")
    image.add_argument("input", metavar="IN")
    image.add_argument("output", metavar="OUT", help="destination image (.png, .jpg, .webp, ...)")
    _add_style_options(image)
    image.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    image.add_argument("--quiet", action="store_true", help="print nothing but errors")

    styles = commands.add_parser("styles", help="list style banks and picture styles; add or remove a picture style")
    picture = styles.add_subparsers(dest="styles_command", metavar="ACTION")
    add = picture.add_parser("add", help="keep a painting or picture as a named style (for --style and the window)")
    add.add_argument("picture", metavar="PICTURE", help="image file (PNG, JPEG, WebP, TIFF, BMP)")
    add.add_argument("--name", help="the name for --style (default: from the file name)")
    add.add_argument("--title", help="the title shown in the window (default: from the file name)")
    add.add_argument("--overwrite", action="store_true", help="replace a picture style of that name")
    remove = picture.add_parser("remove", help="forget a picture style added with 'styles add'")
    remove.add_argument("name", metavar="NAME")

    evaluate = commands.add_parser("eval", help="score a style bank: SSIM, SWD, flicker, FID/KID; report + sheet")
    evaluate.add_argument("model", metavar="BANK", help="bank name, preset (fast/quality) or .safetensors path")
    evaluate.add_argument("--content", nargs="+", required=True, metavar="PATH",
                          help="content images or folders of them")
    evaluate.add_argument("--video", nargs="+", metavar="CLIP",
                          help="clip(s) for the temporal warping error (flicker); the first is used per style, "
                               "all of them for the fusion network's section")
    evaluate.add_argument("--fusion-scale", type=float, default=0.5, metavar="F",
                          help="working resolution for the fusion network's detail and flicker section (default 0.5)")
    evaluate.add_argument("--style-dir", metavar="DIR",
                          help="folder with the paintings (matched by the file names recorded in the bank) for SWD/FID")
    evaluate.add_argument("--out", required=True, metavar="DIR", help="report folder (report.md, sheet.png)")
    evaluate.add_argument("--max-frames", type=int, default=48, help="frames of the clip to use (default 48)")
    evaluate.add_argument("--max-side", type=int, default=512,
                          help="content images are shrunk to this longest side first (default 512)")
    evaluate.add_argument("--inception-weights", metavar="PATH",
                          help="Inception-v3 weights for FID/KID/IS (default: torch hub cache, if present)")
    evaluate.add_argument("--device", default="auto")
    evaluate.add_argument("--dtype", default="auto")
    evaluate.add_argument("--backend", default=AUTO, choices=backend_names())

    sample = commands.add_parser("sample", help="write a synthetic test clip with audio")
    sample.add_argument("output", metavar="OUT")
    sample.add_argument("--seconds", type=float, default=5.0, help="duration (default 5)")
    sample.add_argument("--size", default="640x360", metavar="WxH", help="frame size (default 640x360)")
    sample.add_argument("--fps", type=int, default=24, help="frame rate (default 24)")
    sample.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    return parser


#: Entry-point group through which the window (gui/) and engines (engines/) add subcommands, so
#: the runtime never imports them.  Each entry point is a function ``add(subparsers) -> handler``;
#: it must import only argparse-level code (heavy imports belong inside the handler).
PLUGIN_GROUP = "rtstyle.commands"

Handler = Callable[[argparse.Namespace], int]


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def _add_plugin_commands(parser: argparse.ArgumentParser) -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    for entry_point in entry_points(group=PLUGIN_GROUP):
        try:
            handlers[entry_point.name] = entry_point.load()(_subparsers(parser))
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the CLI down
            if interrupt_behind(exc) is not None:  # a stop signal that Python wrapped: not the plugin's fault
                raise
            logging.getLogger(__name__).warning("command %r unavailable: %s", entry_point.name, exc)
    return handlers


def _accept_debug_everywhere(parser: argparse.ArgumentParser) -> None:
    """``--debug`` after the subcommand too, as the error messages suggest ("rerun with --debug").

    ``SUPPRESS`` as the subcommands' default, so an absent ``--debug`` there does not reset one
    given before the subcommand.
    """
    for subparser in _subparsers(parser).choices.values():
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                               help="show tracebacks and debug logging")


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, reporting unknown options with the subcommand's usage rather than the top level's."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        _subparsers(parser).choices[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    install_interrupt_handlers()
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)  # before parsing: the parse itself may fail
    try:
        parser = build_parser()
        plugin_handlers = _add_plugin_commands(parser)
        _accept_debug_everywhere(parser)
        args = _parse(parser, argv)
        debug = args.debug
        configure_console(debug=debug, quiet=getattr(args, "quiet", False))
        # Imported late: `--help` should not pay for torch.  Held: a signal landing while torch's
        # C++ start-up calls back into Python aborts the process ("terminate called", SIGABRT).
        with interrupts_held():
            from rtstyle import commands

        handlers: dict[str, Handler] = {"convert": commands.run_convert, "image": commands.run_image,
                                        "styles": commands.run_styles, "sample": commands.run_sample,
                                        "eval": commands.run_eval}
        handlers.update(plugin_handlers)
        return handlers[args.command](args)
    except RtStyleError as exc:
        _fail(str(exc), debug)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP (rtstyle.interrupts)
        return _interrupted(exc, debug)
    except MemoryError:
        _fail("out of memory: try --scale 0.5, a smaller --max-pixels or --batch 1", debug)
        return EXIT_UNAVAILABLE
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a bare traceback
        if (interrupt := interrupt_behind(exc)) is not None:  # a signal wrapped by Python on its way up
            return _interrupted(interrupt, debug)
        if type(exc).__name__ == "OutOfMemoryError":  # torch.OutOfMemoryError (CUDA)
            _fail("GPU out of memory: try --scale 0.5, --batch 1 or --device cpu", debug)
            return EXIT_UNAVAILABLE
        _fail(f"internal error ({type(exc).__name__}: {exc}); please report it, rerun with --debug for details",
              debug)
        return EXIT_INTERNAL_ERROR


def _interrupted(exc: KeyboardInterrupt, debug: bool) -> int:
    _fail("interrupted; nothing was written", debug)
    return interrupt_exit_code(exc)


def _fail(message: str, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    lines = message.strip().splitlines()
    print(f"rtstyle: error: {lines[0] if lines else 'unknown error'}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
