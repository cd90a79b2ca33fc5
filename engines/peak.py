"""Peak FLOP/s of the benchmark device, for the "% of peak" column of ``rtstyle bench``.

GPUs: dense (no sparsity) tensor-core figures from NVIDIA's datasheets for the data centre and
desktop parts we bench on; FP32 is the non-tensor-core rate (our FP32 path disables TF32).  CPUs
have no datasheet figure we can read, so the peak is estimated as cores × clock × FLOPs per cycle
from the vector extensions (two FMA pipes: 32 FP32 FLOP/cycle with AVX2 or AVX-512 on AMD Zen 4,
64 where AVX-512 has two full-width FMA units, see ``_fp32_flops_per_cycle``).  The clock is the
one /proc/cpuinfo reports, not the boost clock, so measured rates can come close to or pass the
estimate.  ``--peak-tflops`` overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

#: GPU name fragment → (FP16/BF16 dense tensor TFLOP/s, FP32 TFLOP/s); SXM parts.
GPU_PEAK_TFLOPS: dict[str, tuple[float, float]] = {
    "H200": (989.0, 67.0),
    "H100": (989.0, 67.0),
    "A100": (312.0, 19.5),
    "L40S": (362.0, 91.6),
    "L4": (121.0, 30.3),
    "RTX 4090": (165.2, 82.6),
}


def peak_flops(device: torch.device, dtype: torch.dtype) -> tuple[float, str] | None:
    """``(FLOP/s, where the figure comes from)``, or None when unknown."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for fragment, (half, single) in GPU_PEAK_TFLOPS.items():
            if fragment in name:
                low_precision = dtype in (torch.float16, torch.bfloat16)
                return (half if low_precision else single) * 1e12, f"{name} datasheet"
        return None
    if device.type == "cpu":
        return _cpu_estimate()
    return None


def _cpu_estimate() -> tuple[float, str] | None:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    flags, mhz, vendor = set(), 0.0, ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags" and not flags:
            flags = set(value.split())
        elif key.strip() == "cpu MHz" and not mhz:
            mhz = float(value)
        elif key.strip() == "vendor_id" and not vendor:
            vendor = value.strip()
    if not mhz or "fma" not in flags:
        return None
    per_cycle = _fp32_flops_per_cycle(flags, vendor)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores * mhz * 1e6 * per_cycle, f"estimate: {cores} cores × {mhz:.0f} MHz × {per_cycle} FLOP/cycle"


def _fp32_flops_per_cycle(flags: set[str], vendor: str) -> int:
    """FP32 FLOPs per cycle and core from two FMA pipes of the widest full-width vector unit.

    AVX-512 counts double only where the pipes are 512 bits wide: Intel server cores and AMD
    Zen 5 (told from Zen 4, whose AVX-512 is double-pumped 256-bit, by ``avx512_vp2intersect``).
    """
    full_width_512 = "avx512f" in flags and (vendor == "GenuineIntel" or "avx512_vp2intersect" in flags)
    return 64 if full_width_512 else 32  # 2 pipes × (16 or 8) FP32 lanes × 2 FLOPs per FMA
