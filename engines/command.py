"""``rtstyle export`` and ``rtstyle bench``: subcommands the engines contribute (``rtstyle.commands``).

Imported whenever ``rtstyle`` builds its parser, so only argparse-level code lives here; torch,
onnx and tensorrt are imported by the handlers in :mod:`rtstyle_engines.export_run` and
:mod:`rtstyle_engines.bench_run`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from rtstyle.backends.registry import BACKENDS

Handler = Callable[[argparse.Namespace], int]

EXPORT_EXAMPLES = """\
examples:
  rtstyle export onnx fast -o fast.onnx                 the bundled fast bank, parity-checked
  rtstyle export onnx my_styles.safetensors -o my.onnx --no-check
  rtstyle export tensorrt quality --size 1920x1080 --size 1280x720 --precision fp16
"""

BENCH_EXAMPLES = """\
examples:
  rtstyle bench --tiny                                  seconds: checks that every backend runs
  rtstyle bench --presets fast --sizes 360p --modes stylize
  rtstyle bench --device cuda --backends torch tensorrt --presets quality --sizes 1080p
"""


def add_export_command(subparsers: argparse._SubParsersAction) -> Handler:
    """Register ``export onnx`` and ``export tensorrt``; returns the handler."""
    parser = subparsers.add_parser("export", help="export a style bank to ONNX or TensorRT engines",
                                   epilog=EXPORT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    onnx = targets.add_parser("onnx", help="ONNX graph with dynamic batch/height/width and the style mix as an input")
    onnx.add_argument("bank", metavar="STYLEFILE", help="a .safetensors bank, a bank name, or fast/quality")
    onnx.add_argument("-o", "--output", required=True, metavar="OUT.onnx", help="destination file")
    onnx.add_argument("--opset", type=int, default=None, help="ONNX opset (default 18)")
    onnx.add_argument("--no-check", action="store_true", help="skip the ONNX Runtime parity check against torch")
    onnx.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")

    trt = targets.add_parser("tensorrt", help="TensorRT engines (needs an NVIDIA GPU and rtstyle[tensorrt])")
    trt.add_argument("bank", metavar="STYLEFILE", help="a .safetensors bank, a bank name, or fast/quality")
    trt.add_argument("--onnx", metavar="PATH", help="build from this exported graph (default: export the bank)")
    trt.add_argument("--size", action="append", default=[], metavar="WxH",
                     help="frame size to optimise for; repeat for several (default 1920x1080)")
    trt.add_argument("--batch", type=int, default=4, metavar="N", help="largest batch per call (default 4)")
    trt.add_argument("--precision", action="append", choices=["fp16", "fp32", "bf16"], default=[],
                     help="engine precision; repeat for several (default: fp16 and fp32)")
    trt.add_argument("--device", default="cuda", help="CUDA device to build for (default cuda)")
    trt.add_argument("-o", "--output-dir", metavar="DIR",
                     help="also copy the engines here (they are always kept in the engine cache)")
    return _lazy("rtstyle_engines.export_run", "run_export")


def add_bench_command(subparsers: argparse._SubParsersAction) -> Handler:
    """Register ``bench``; returns the handler."""
    parser = subparsers.add_parser("bench", help="speed of backends × presets × resolutions, next to Johnson 2016",
                                   epilog=BENCH_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=None, choices=list(BACKENDS), metavar="NAME",
                        help=f"backends to time: {', '.join(BACKENDS)} (default: every one that works on the device)")
    parser.add_argument("--presets", nargs="+", default=None, metavar="PRESET", help="default: fast quality")
    parser.add_argument("--sizes", nargs="+", default=None, metavar="SIZE",
                        help="360p, 720p, 1080p or WxH (default: 360p 720p 1080p)")
    parser.add_argument("--modes", nargs="+", choices=["model", "stylize", "convert"], default=None,
                        help="model = tensors on the device, stylize = uint8 frames through the stylizer, "
                             "convert = decode+stylize+encode a file (default: all three)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default auto)")
    parser.add_argument("--dtype", default="auto", help="auto, float32, float16, bfloat16 (default: float16 on CUDA)")
    parser.add_argument("--budget", type=float, default=3.0, metavar="S", help="seconds of timing per row (default 3)")
    parser.add_argument("--batch", type=int, default=1, metavar="N", help="frames per call (default 1)")
    parser.add_argument("--no-anchor", action="store_true", help="skip the Johnson et al. 2016 TransformerNet")
    parser.add_argument("--x264-preset", default="medium", metavar="P",
                        help="encoder preset of the convert rows and their decode+encode baseline (default medium)")
    parser.add_argument("--peak-tflops", type=float, default=None, metavar="T",
                        help="the device's peak TFLOP/s for the %%-of-peak column (default: known GPUs, "
                             "an estimate from the CPU's vector width and clock)")
    parser.add_argument("--tiny", action="store_true",
                        help="a tiny network at 64x36 with a short budget: checks the whole bench in seconds (CI)")
    return _lazy("rtstyle_engines.bench_run", "run_bench")


def _lazy(module: str, function: str) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        import importlib

        return int(getattr(importlib.import_module(module), function)(args))

    return handler
