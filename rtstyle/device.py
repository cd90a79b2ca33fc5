"""Choosing the torch device and dtype for inference."""

from __future__ import annotations

import torch

from rtstyle.errors import BackendUnavailableError, InputError

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def pick_device(requested: str | None = "auto") -> torch.device:
    """Resolve ``auto`` to the best device present; refuse a device this machine lacks."""
    name = (requested or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown device {requested!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise BackendUnavailableError("CUDA was requested but torch sees no CUDA GPU; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise BackendUnavailableError(
                f"{name} requested but only {torch.cuda.device_count()} CUDA device(s) are present"
            )
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise BackendUnavailableError("MPS was requested but is not available on this machine")
    elif device.type not in {"cpu", "cuda", "mps"}:
        raise InputError(f"unsupported device {requested!r}: use auto, cpu, cuda, cuda:N or mps")
    return device


def pick_dtype(requested: str | None, device: torch.device) -> torch.dtype:
    """``auto`` is float16 on CUDA (tensor cores) and float32 elsewhere (CPU half is slow)."""
    name = (requested or "auto").lower()
    if name == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if name not in DTYPES:
        raise InputError(f"unknown dtype {requested!r}: use auto, {', '.join(DTYPES)}")
    return DTYPES[name]
