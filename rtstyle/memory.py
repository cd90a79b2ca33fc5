"""Keep frame-sized buffers from pinning memory in the C heap after they are freed.

glibc's ``malloc`` maps a large block on its own and unmaps it on ``free`` -- but each time such a
block is freed it raises its threshold for "large" to that block's size, up to 32 MiB.  After the
first few frames every frame-sized buffer (a 1080p float frame is 25 MB; torch tensors, x264's
pictures, decoded frames, ONNX Runtime's outputs) is carved out of the heap instead, by the
decode, stylize and encode threads each in its own arena, and the holes they leave are rarely
given back: a 1080p convert held ~200 MB more than it was using.  Fixing the threshold turns the
adjustment off, so those buffers keep going straight back to the system.  Arenas that reuse
their memory on purpose (ONNX Runtime's, torch's CUDA caching allocator) are not affected.

The price is a page fault per 4 KiB of every such buffer each time one is made: torch on the CPU
makes several frame-sized temporaries per frame, and at 720p the stylizer with F took 125 ms a
frame with the threshold fixed against 60 ms without.  So only ``convert`` (which keeps every
frame and is bounded by the generator at full resolution: 1.3 against 1.5 fps at 1080p) fixes
it, and the live window, whose frame rate is the product, keeps glibc's default.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

#: ``mallopt`` parameter number of ``M_MMAP_THRESHOLD`` in glibc's ``<malloc.h>``.
_M_MMAP_THRESHOLD = -3
#: Blocks at least this large are mapped on their own.  Far above what the interpreter and small
#: tensors churn through (those stay in the fast heap), below any frame-sized buffer (a 320×180
#: float frame is 0.7 MB, a 640×360 one 2.8 MB).
MMAP_THRESHOLD = 1 << 20

_applied: bool | None = None


def release_large_blocks() -> bool:
    """Make glibc map blocks of ``MMAP_THRESHOLD`` bytes or more on their own, for the whole process.

    Idempotent and cheap; returns whether the setting is in force (False where the C library is
    not glibc, e.g. macOS or musl, whose allocators do not have this behaviour to turn off).
    """
    global _applied
    if _applied is None:
        _applied = _set_mmap_threshold(MMAP_THRESHOLD)
        log.debug("malloc mmap threshold fixed at %d bytes: %s", MMAP_THRESHOLD, _applied)
    return _applied


def _set_mmap_threshold(size: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries without mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, size))
