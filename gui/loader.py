"""Loading a style bank and building its stylizer off the GUI thread, with progress.

Reading weights, moving them to a GPU and the first inference (which pays for kernel selection
and allocator growth) take from a fraction of a second to many seconds; done in the GUI thread
they would freeze the window.  The loader reports coarse stages through ``on_progress`` and
ends with exactly one of ``on_done(stylizer, notes)`` or ``on_error(exc)``; ``notes`` are lines
the user should read (saved paintings that were left out).  The warm-up runs at the size of
the frames being shown, so the first live frame does not stall and an out-of-memory at that size
is reported here, where the window can offer a lower resolution or the CPU.  An any-style bank
gets the saved paintings as styles here, before its stylizer is made, so that a mix saved with
them plays from the first frame.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rtstyle.backends.registry import TORCH
from rtstyle.errors import RtStyleError
from rtstyle.style_encoder import style_encoder
from rtstyle.stylefile import load_style_bank
from rtstyle.stylizer import Stylizer, StylizerSettings
from rtstyle_gui.pictures import with_saved_pictures

log = logging.getLogger(__name__)

#: Progress value for a stage of unknown length (the bar shows "busy").
BUSY = -1


@dataclass(frozen=True)
class ModelRequest:
    """What to load: a bank file, with which backend on which device, and the first settings."""

    bank: Path
    backend: str = TORCH  # a name from rtstyle.backends.registry.backend_names()
    device: str = "auto"
    dtype: str = "auto"
    settings: StylizerSettings | None = None
    warmup_size: tuple[int, int] = (360, 640)  # (height, width) of the frames being shown

    @property
    def label(self) -> str:
        return self.bank.stem


class ModelLoader(threading.Thread):
    """Loads one :class:`ModelRequest`; callbacks run in this thread."""

    def __init__(
        self,
        request: ModelRequest,
        on_progress: Callable[[int, str], None],
        on_done: Callable[[Stylizer, list[str]], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        super().__init__(name="rtstyle-load", daemon=True)
        self.request = request
        self._on_progress = on_progress
        self._on_done = on_done
        self._on_error = on_error

    def run(self) -> None:
        request = self.request
        try:
            self._on_progress(5, f"Reading {request.label}…")
            bank = load_style_bank(request.bank)
            notes: list[str] = []
            if bank.any_style:
                bank, notes = with_saved_pictures(bank)
            # May export an ONNX graph or build a TensorRT engine (cached): seconds to minutes.
            backend = "the fastest backend" if request.backend == "auto" else request.backend
            device = "the best device" if request.device == "auto" else request.device
            self._on_progress(BUSY, f"Preparing {backend} on {device}…")
            stylizer = Stylizer(bank, request.settings, device=request.device, dtype=request.dtype,
                                backend=request.backend)
            self._on_progress(70, f"Warming up on {stylizer.device}…")
            height, width = request.warmup_size
            stylizer(np.zeros((height, width, 3), np.uint8))
            if bank.any_style:
                _prepare_style_encoder()
        except Exception as exc:  # noqa: BLE001 - shown in the window, which keeps running
            log.warning("loading %s failed: %s", request.label, exc)
            self._on_error(exc)
            return
        self._on_progress(100, f"{bank.name} ready: {stylizer.backend.describe()}")
        self._on_done(stylizer, notes)


def _prepare_style_encoder() -> None:
    """Make the style predictor's session now, so that the first painting added reads in ~50 ms.

    Its first use costs 0.1-0.3 s more; paid here, it adds to a load the user already waits for.
    Without ONNX Runtime no picture can be read: adding one then says so, and the bank still runs.
    """
    try:
        style_encoder()
    except RtStyleError as exc:
        log.info("no style predictor for pictures: %s", exc)
