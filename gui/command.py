"""``rtstyle gui``: the subcommand that opens the live window (an ``rtstyle.commands`` plugin).

This module is imported whenever ``rtstyle`` builds its parser, so it imports only argparse-level
code; Qt, torch and the window are imported by the handler.  Options mirror ``convert``'s style
options, but default to "not given" so the settings saved from the last run apply unless the
command line says otherwise.  What can be checked without opening a window (the source spec, the
bank, the style names, the device) is checked first, so a typo fails in milliseconds with the
same one-line errors and exit codes as the other commands.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from rtstyle.backends.registry import AUTO, backend_names
from rtstyle_gui.options import AUTO_SCALE, Scale

Handler = Callable[[argparse.Namespace], int]

#: Debian packages PyQt6's wheels need beyond a minimal system (found with ldd on its plugins).
QT_SYSTEM_PACKAGES = "libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 fonts-dejavu-core"

EXAMPLES = """\
examples:
  rtstyle gui                                  camera 0 (or what was used last time)
  rtstyle gui --source clip.mp4                a video file, played in a loop
  rtstyle gui --source rtsp://192.168.1.20:554/stream     an IP camera
  rtstyle gui --source camera:1 --style starry_night=0.7 --style great_wave=0.3
  rtstyle gui --source clip.mp4 --screenshot window.png     grab the window and quit
"""


def add_command(subparsers: argparse._SubParsersAction) -> Handler:
    """Register ``gui`` on the ``rtstyle`` parser; returns its handler."""
    parser = subparsers.add_parser(
        "gui", help="open the live stylization window (camera, network stream or looping video file)",
        description="Live stylization window: webcam, network stream or a looping video file in, stylized frames "
                    "on screen.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--source", metavar="camera:N|PATH|URL", help="camera index, video file (played in a loop) "
                        "or network stream (rtsp://, http(s)://, udp://, ...; reconnected when it drops) (default: "
                        "last used, else camera:0)")
    style = parser.add_argument_group("style (default: as last time)")
    style.add_argument("--model", metavar="BANK", help="style bank: fast, quality, a bank name, or a .safetensors path")
    style.add_argument("--style", metavar="NAME[=WEIGHT]", action="append", default=[],
                       help="style to apply; repeat to mix (weights are normalised)")
    style.add_argument("--strength", type=float, metavar="S", help="0 = original, 1 = fully stylized")
    style.add_argument("--keep-colors", action=argparse.BooleanOptionalAction, default=None,
                       help="keep the source colours (luminance-only transfer)")
    style.add_argument("--scale", metavar="auto|F",
                       help="working resolution: auto (the default) moves it to keep up with the source's frame "
                            "rate; F fixes it at this fraction of the frame size")
    style.add_argument("--backend", help=f"{', '.join(backend_names())} ({AUTO}: the fastest that works here)")
    style.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    style.add_argument("--dtype", default="auto", help="auto, float32, float16 or bfloat16 (default: float16 on CUDA)")
    window = parser.add_argument_group("window")
    window.add_argument("--fullscreen", action="store_true", help="start in fullscreen (Esc leaves it)")
    window.add_argument("--settings", type=Path, metavar="PATH",
                        help="keep settings in this INI file instead of the per-user settings "
                             "(also: $RTSTYLE_GUI_SETTINGS)")
    window.add_argument("--screenshot", type=Path, metavar="PNG",
                        help="grab the window to PNG once video shows, then quit (works without a display)")
    return run_gui


def run_gui(args: argparse.Namespace) -> int:
    """Check the options, then open the window; PyQt6 is needed only from here on."""
    from rtstyle.errors import BackendUnavailableError
    from rtstyle.interrupts import interrupts_held

    _check_options(args)
    headless = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if headless and args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    elif headless and not os.environ.get("QT_QPA_PLATFORM"):
        # Qt would abort the process ("could not connect to display") instead of raising.
        raise BackendUnavailableError("no display to open the window on (DISPLAY is not set); "
                                      "use --screenshot PNG, or QT_QPA_PLATFORM=offscreen")
    try:
        with interrupts_held():  # a native start-up: see rtstyle.backends.registry.require_module
            import PyQt6.QtWidgets  # noqa: F401 - only to find out whether the window can open
    except ModuleNotFoundError as exc:
        raise BackendUnavailableError("the window needs PyQt6: pip install 'rtstyle[gui]'") from exc
    except ImportError as exc:  # installed, but a system library of Qt's is missing
        raise BackendUnavailableError(f"PyQt6 cannot load ({exc}); on Debian/Ubuntu install Qt's system "
                                      f"libraries: apt-get install {QT_SYSTEM_PACKAGES}") from exc
    with interrupts_held():
        from rtstyle_gui.app import run_window
    from rtstyle_gui.options import WindowOptions

    return run_window(WindowOptions(
        source=args.source, model=args.model, styles=tuple(args.style), strength=args.strength,
        keep_colors=args.keep_colors, scale=parse_scale(args.scale), backend=args.backend, device=args.device,
        dtype=args.dtype, settings_path=args.settings, fullscreen=args.fullscreen, screenshot=args.screenshot,
    ))


def _check_options(args: argparse.Namespace) -> None:
    """Fail before any window opens on what the command line alone gets wrong."""
    from rtstyle.catalog import ANY_STYLE_BANK, resolve_bank
    from rtstyle.commands import check_style_options
    from rtstyle.device import pick_device, pick_dtype
    from rtstyle.errors import InputError
    from rtstyle.mixing import mix_from_specs
    from rtstyle.picture_styles import saved_names_in
    from rtstyle.stylefile import read_bank_metadata
    from rtstyle.stream.spec import SourceSpec
    from rtstyle.video.atomic import check_destination

    parse_scale(args.scale)
    check_style_options(argparse.Namespace(**{**vars(args), "scale": None}))  # checked above: it may be auto
    if args.source is not None:
        spec = SourceSpec.parse(args.source)
        if spec.path is not None and not spec.path.is_file():
            raise InputError(f"{spec.path}: no such file")
        if spec.stdin:
            raise InputError("the window cannot read standard input: use camera:N, a video file or a URL")
    if args.backend is not None and args.backend not in backend_names():
        raise InputError(f"unknown backend {args.backend!r}: use {', '.join(backend_names())}")
    device = pick_device(args.device or "auto")
    pick_dtype(args.dtype, device)
    if args.model is not None or args.style:
        pictures = saved_names_in(args.style)  # saved paintings: the window paints them with the any-style bank
        bank = resolve_bank(args.model if args.model is not None or not pictures else ANY_STYLE_BANK)
        names = [str(s.get("name")) for s in read_bank_metadata(bank)["styles"] if isinstance(s, dict)]
        mix_from_specs(args.style, names + pictures)
    if args.screenshot is not None:
        check_destination(args.screenshot, overwrite=True)


def parse_scale(text: str | None) -> Scale | None:
    """``--scale``: None when not given (the saved choice applies), ``auto``, or a fraction in range.

    Parsed here rather than by argparse so that a bad value is the same one-line InputError
    (exit 2) as the other option checks, not a usage dump.
    """
    from rtstyle.errors import InputError
    from rtstyle.stylizer import check_controls

    if text is None:
        return None
    if text.strip().lower() == AUTO_SCALE:
        return AUTO_SCALE
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"--scale must be auto or a number, got {text!r}") from None
    check_controls(scale=value, prefix="--")
    return value
