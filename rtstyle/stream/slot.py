"""A depth-1 mailbox between threads where the latest item wins.

Live video must never queue: if inference is slower than the camera, a queue of frames would
make the picture lag further behind reality with every second.  A slot holds at most one item;
``put`` replaces an untaken item (counted as dropped), so whoever takes always gets the newest
frame and latency stays bounded by one frame interval plus the processing time.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Thread-safe single-item mailbox; ``put`` never blocks, ``take`` waits with a timeout."""

    def __init__(self) -> None:
        self._item: T | None = None
        self._ready = threading.Condition()
        self.dropped = 0  # items replaced before anyone took them

    def put(self, item: T) -> bool:
        """Store ``item``; returns True if it replaced one nobody had taken yet."""
        with self._ready:
            replaced = self._item is not None
            if replaced:
                self.dropped += 1
            self._item = item
            self._ready.notify()
            return replaced

    def take(self, timeout: float | None = None) -> T | None:
        """Remove and return the item, waiting up to ``timeout`` seconds; None if none came."""
        with self._ready:
            if self._item is None and timeout:
                self._ready.wait(timeout)
            item, self._item = self._item, None
            return item

    def clear(self) -> None:
        """Discard any waiting item (e.g. a frame of a source that was just switched off)."""
        with self._ready:
            self._item = None
