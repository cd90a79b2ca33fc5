"""Frame rate and capture→display latency over a sliding window of recent frames, and the resolution readout.

The readout must describe *now*: an average since start would hide a stall or a recovery, so only
frames shown within the last ``window_s`` seconds count.  Percentiles rather than the mean,
because one slow frame (a garbage-collection pause, a style change) should not move p50.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Readout:
    """What the status bar shows; latencies in seconds, ``None`` before enough frames."""

    fps: float
    latency_p50: float | None
    latency_p95: float | None
    infer_p50: float | None


class FrameMeter:
    """Records (display time, latency, inference time) per shown frame; all times in seconds."""

    def __init__(self, window_s: float = 2.0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, float, float]] = deque()

    def add(self, shown_at: float, latency: float, infer: float) -> None:
        self._samples.append((shown_at, latency, infer))
        self._forget_before(shown_at - self.window_s)

    def reset(self) -> None:
        self._samples.clear()

    def readout(self, now: float) -> Readout:
        """Figures over the frames shown in the ``window_s`` seconds before ``now``."""
        self._forget_before(now - self.window_s)
        samples = list(self._samples)
        if len(samples) < 2:
            return Readout(0.0, None, None, None)
        span = samples[-1][0] - samples[0][0]
        fps = (len(samples) - 1) / span if span > 0 else 0.0
        latencies = [s[1] for s in samples]
        return Readout(fps, percentile(latencies, 50), percentile(latencies, 95),
                       percentile([s[2] for s in samples], 50))

    def _forget_before(self, cutoff: float) -> None:
        while self._samples and self._samples[0][0] < cutoff:
            self._samples.popleft()


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation, as numpy's default."""
    if not values:
        raise ValueError("percentile of no values")
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    if q <= 0:
        return min(values)
    if q >= 100:
        return max(values)
    return cuts[round(q) - 1]


def resolution_text(frame: tuple[int, int], working: tuple[int, int] | None, auto: bool) -> str:
    """``1280×720``, ``1280×720 → 640×360``, ``… (auto)``: the frame, and what the model ran at.

    ``frame`` and ``working`` are (height, width); ``working`` is None while frames go unstylized.
    On auto the working size changes under the user's feet, so the readout says it was auto's pick.
    """
    height, width = frame
    text = f"{width}×{height}"
    if working is not None and working != frame:
        text += f" → {working[1]}×{working[0]}"
    return f"{text} (auto)" if working is not None and auto else text
