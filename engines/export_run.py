"""Handlers of ``rtstyle export onnx`` and ``rtstyle export tensorrt`` (parsers: ``command.py``)."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from rtstyle.backends.registry import require_module
from rtstyle.catalog import resolve_bank
from rtstyle.device import pick_device
from rtstyle.errors import BackendUnavailableError, InputError
from rtstyle.stylefile import load_style_bank
from rtstyle.video.atomic import check_destination
from rtstyle_engines.engine_cache import atomic_write
from rtstyle_engines.onnx_export import DEFAULT_OPSET, cached_onnx, export_onnx
from rtstyle_engines.parity import check_parity

DEFAULT_ENGINE_SIZE = (1920, 1080)


def run_export(args: argparse.Namespace) -> int:
    if args.target == "onnx":
        return _export_onnx(args)
    return _export_tensorrt(args)


def _export_onnx(args: argparse.Namespace) -> int:
    destination = Path(args.output)
    check_destination(destination, overwrite=args.overwrite)
    bank = load_style_bank(resolve_bank(args.bank))
    if args.opset in (None, DEFAULT_OPSET):
        atomic_write(destination, cached_onnx(bank).read_bytes())  # the runtime's export, if it made one
    else:
        export_onnx(bank, destination, opset=args.opset)
    if bank.config.style_dim:
        style = f"style_vector [N,{bank.config.style_dim}] (a style's vector, or a mix of them; {len(bank.styles)} stored in the bank)"
    else:
        style = f"style_weights [N,{bank.config.num_styles}] ({', '.join(bank.style_names)})"
    print(f"wrote {destination}: inputs image [N,3,H,W] float32 in [0,1] (H, W dynamic) and {style}; strength, colour keeping, "
          f"resizing{' and the fusion network F' if bank.has_fusion else ''} stay outside the graph "
          "(the runtime applies them)", file=sys.stderr)
    if args.no_check:
        return 0
    try:
        report = check_parity(destination, bank)
    except BackendUnavailableError as exc:
        print(f"parity not checked: {exc}", file=sys.stderr)
        return 0
    print(f"parity: {report.summary()}", file=sys.stderr)
    if not report.ok:
        raise BackendUnavailableError(f"the exported graph differs from torch: {report.summary()}")
    return 0


def _export_tensorrt(args: argparse.Namespace) -> int:
    from rtstyle_engines.tensorrt_engine import build_engines

    require_module("tensorrt", "tensorrt", "rtstyle export tensorrt")
    sizes = [parse_size(spec) for spec in args.size] or [DEFAULT_ENGINE_SIZE]
    if args.batch < 1:
        raise InputError("--batch must be at least 1")
    onnx_path = Path(args.onnx) if args.onnx else None
    if onnx_path is not None and not onnx_path.is_file():
        raise InputError(f"{onnx_path}: no such file")
    device = pick_device(args.device)
    if device.type != "cuda":
        raise BackendUnavailableError("TensorRT engines are built on an NVIDIA GPU: use --device cuda[:N]")
    output_dir = Path(args.output_dir) if args.output_dir else None
    if output_dir is not None and not output_dir.is_dir():
        raise InputError(f"{output_dir}: no such directory")
    bank = load_style_bank(resolve_bank(args.bank))
    built = build_engines(bank, sizes, batch=args.batch, precisions=args.precision or ["fp16", "fp32"],
                          device_index=device.index or 0, onnx_path=onnx_path)
    for engine in built:
        where = engine.path
        if output_dir is not None:
            where = output_dir / f"{bank.name}-{engine.precision}.engine"
            shutil.copyfile(engine.path, where)
            shutil.copyfile(engine.path.with_suffix(".json"), where.with_suffix(".json"))
        state = "built" if engine.built else "up to date in the cache"
        print(f"{engine.precision}: {where} ({state}; sizes {', '.join(f'{w}x{h}' for w, h in sizes)}, "
              f"batch 1-{args.batch})", file=sys.stderr)
    return 0


def parse_size(spec: str) -> tuple[int, int]:
    """``"1920x1080"`` → ``(1920, 1080)``."""
    try:
        width, height = (int(v) for v in spec.lower().split("x"))
    except ValueError:
        raise InputError(f"invalid size {spec!r}: expected WIDTHxHEIGHT, e.g. 1920x1080") from None
    if width < 1 or height < 1:
        raise InputError(f"invalid size {spec!r}: width and height must be positive")
    return width, height
