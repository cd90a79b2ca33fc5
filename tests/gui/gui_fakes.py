"""Test doubles shared by the window tests (kept out of conftest so tests can import them)."""

from __future__ import annotations

import threading
import types

import numpy as np

#: The window's own threads (see gui/capture.py, worker.py, recorder.py, loader.py, vcam.py, pictures.py).
GUI_THREADS = {"rtstyle-capture", "rtstyle-infer", "rtstyle-record", "rtstyle-load", "rtstyle-vcam", "rtstyle-picture"}
#: Small frames and a high rate: frames flow fast even when the tiny model shares two busy cores.
CLIP_SIZE, CLIP_FPS = (64, 48), 24


def gui_threads() -> list[str]:
    """Names of the window's threads still running."""
    return [t.name for t in threading.enumerate() if t.name in GUI_THREADS]


class FakeCapture:
    """Stands in for ``cv2.VideoCapture``: ``frames`` good reads of a blue 48×64 frame, then failures."""

    def __init__(self, opened: bool = True, frames: int = 1000) -> None:
        self.opened, self.frames_left, self.released = opened, frames, False

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.frames_left <= 0:
            return False, None
        self.frames_left -= 1
        bgr = np.zeros((48, 64, 3), np.uint8)
        bgr[..., 0] = 200  # blue, in OpenCV's BGR order
        bgr[8:40, 16:48, 1] = 120
        return True, bgr

    def get(self, prop: int) -> float:
        return 30.0

    def release(self) -> None:
        self.released = True


class FrameLog:
    """Everything a window showed: (latency s, stylized, original, output) per frame."""

    def __init__(self, window) -> None:
        self.window = window
        self.items: list[tuple[float, bool, np.ndarray, np.ndarray]] = []
        window.frameShown.connect(self._on_frame)

    def _on_frame(self, latency: float, _infer: float, stylized: bool) -> None:
        view = self.window.view
        self.items.append((latency, stylized, view.original, view.output))

    def stylized(self, since: int = 0) -> int:
        return sum(1 for item in self.items[since:] if item[1])

    def plain(self, since: int = 0) -> int:
        return sum(1 for item in self.items[since:] if not item[1])


def fake_pyvirtualcam(error: Exception | None = None) -> types.ModuleType:
    """A stand-in ``pyvirtualcam`` module; its cameras keep what they were sent in ``.cameras``."""
    module = types.ModuleType("pyvirtualcam")
    module.cameras = []
    module.PixelFormat = types.SimpleNamespace(RGB="RGB")

    class Camera:
        def __init__(self, width: int, height: int, fps: float, *, fmt: str) -> None:
            if error is not None:
                raise error
            self.width, self.height, self.fps, self.fmt = width, height, fps, fmt
            self.device, self.frames, self.closed = "/dev/video9", [], False
            module.cameras.append(self)

        def send(self, frame: np.ndarray) -> None:
            assert frame.shape == (self.height, self.width, 3) and frame.dtype == np.uint8
            self.frames.append(frame)

        def close(self) -> None:
            self.closed = True

    module.Camera = Camera
    return module
