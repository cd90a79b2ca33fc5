"""Large freed blocks go back to the system instead of staying in the C heap."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import numpy as np
import pytest

from rtstyle.memory import MMAP_THRESHOLD, release_large_blocks

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _mapped_bytes() -> int:
    """Bytes glibc holds in blocks mapped on their own (``hblkhd``)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("needs glibc 2.33 or later (mallinfo2)")
    libc.mallinfo2.restype = _MallInfo2
    return int(libc.mallinfo2().hblkhd)


def test_frame_sized_blocks_stay_mapped_after_one_was_freed() -> None:
    """Left alone, glibc would raise its threshold to 8 MB when the first block is freed and carve
    the second from the heap; with the threshold fixed, both are mapped and unmapped on their own."""
    assert release_large_blocks()
    size = 8 * 2**20
    assert size > MMAP_THRESHOLD
    first = np.ones(size, np.uint8)
    del first  # freeing a mapped block is what moves glibc's dynamic threshold
    before = _mapped_bytes()
    second = np.ones(size, np.uint8)
    assert _mapped_bytes() - before >= size
    del second
    assert _mapped_bytes() - before < size  # and given back
