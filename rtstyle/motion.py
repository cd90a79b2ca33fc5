"""Motion between consecutive source frames: optical flow for F's previous frame, and scene cuts.

The fusion network F steadies video by reusing its previous frame warped along the motion of the
*source*.  This tracker computes that motion on the host with OpenCV's DIS optical flow
(Kroeger et al. 2016) on small grey copies of the frames — a few milliseconds per frame on one
CPU core — and decides when there is nothing to reuse: the first frame, a change of frame size,
or a scene cut, detected as a frame the flow cannot explain (most pixels still differ after
warping the previous frame onto it).  Seeks call :meth:`MotionTracker.reset`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Longer side of the grey frames the flow is computed on.  Flow is smooth, and F only uses it
#: for the low-frequency base of the previous frame; 320 px keeps DIS at ~1-3 ms per frame.
FLOW_SIDE = 320
#: Frames with a side shorter than this get no flow; each such frame is fused on its own.  OpenCV
#: 5.0's DIS crashes the process (segmentation fault) on some images under 32 px high, e.g. 20×300.
MIN_FLOW_SIDE = 32
#: A pixel "still differs" when its grey level is off by more than this after warping (0-255).
CUT_PIXEL_THRESHOLD = 24
#: A frame is a scene cut when more than this fraction of its pixels still differ.
CUT_FRACTION = 0.5


@dataclass(frozen=True)
class Motion:
    """Backward flow of one frame: ``flow[y, x]`` is where pixel (x, y) was in the previous frame.

    ``flow`` is ``float32 [h,w,2]`` at the tracker's small size, in pixels of that size; the
    fusion runtime resizes it to the frame.  ``cut_fraction`` is the share of pixels the flow
    could not explain (for logs and tests).
    """

    flow: np.ndarray
    cut_fraction: float


class MotionTracker:
    """Feed source frames in order; each call returns the motion from the previous one, or None."""

    def __init__(self, flow_side: int = FLOW_SIDE, cut_fraction: float = CUT_FRACTION) -> None:
        self.flow_side = flow_side
        self.cut_fraction = cut_fraction
        self._engine = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._previous: np.ndarray | None = None  # grey uint8 [h,w] of the previous frame
        self._frame_shape: tuple[int, ...] | None = None
        self.cuts = 0  # scene cuts seen since construction (for logs and tests)

    def reset(self) -> None:
        """Forget the previous frame (a seek, a new source): the next frame starts afresh."""
        self._previous = None
        self._frame_shape = None

    def track(self, frame: np.ndarray) -> Motion | None:
        """Motion from the previous frame to ``frame`` (uint8 ``[H,W,3]`` RGB), or None to start afresh."""
        if min(frame.shape[:2]) < MIN_FLOW_SIDE:
            self.reset()
            return None
        grey = self._small_grey(frame)
        previous, shape = self._previous, self._frame_shape
        self._previous, self._frame_shape = grey, frame.shape
        if previous is None or shape != frame.shape:
            return None
        flow = self._engine.calc(grey, previous, None)  # grey(p) ≈ previous(p + flow(p))
        unexplained = float(np.mean(np.abs(warp_image(previous, flow).astype(np.int16) - grey) > CUT_PIXEL_THRESHOLD))
        if unexplained > self.cut_fraction:
            self.cuts += 1
            return None
        return Motion(flow, unexplained)

    def _small_grey(self, frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        factor = min(1.0, self.flow_side / max(height, width))
        size = (max(MIN_FLOW_SIDE, round(width * factor)), max(MIN_FLOW_SIDE, round(height * factor)))
        # Grey first, then shrink: both are linear, and the shrink then reads one channel, not three
        # (half the time at 980×551; within one grey level of the other order).
        grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
        return cv2.resize(grey, size, interpolation=cv2.INTER_AREA) if size != (width, height) else grey


def warp_image(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` at ``p + flow(p)`` (bilinear, edges replicated)."""
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(image, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
