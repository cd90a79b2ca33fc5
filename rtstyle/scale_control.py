"""``--scale auto``: the working resolution moves along a ladder to hold a target frame rate.

A generator's time grows with the pixels it paints, so the one knob that buys frame rate without
changing the style is the working resolution (F restores the detail a lower one loses).  The
controller measures the stylizer's own time per frame and steps along :data:`SCALE_LADDER`:

- **down** when frame times, each and smoothed, have been over the frame budget for
  ``patience`` frames in a row (one slow frame -- a page fault, a garbage collection -- is not a
  trend): to
  the largest rung expected to fit, by the pixel ratio, so a slow start is fixed in one step;
- **up** one rung when the time *measured at that rung* (or, never measured, the current time
  scaled by the pixel ratio) fits within ``headroom`` of the budget, so it does not step up into
  a rung it would at once step down from;
- never two changes within ``hold`` frames, and a rung left for being too slow is not tried
  again for a back-off that doubles each time that happens (capped at ``max_backoff`` frames):
  a machine whose speed sits between two rungs settles instead of oscillating.

It knows nothing of tensors or threads: :class:`rtstyle.stylizer.Stylizer` owns one when its
settings ask for a target frame rate, feeds it each call's time and reads :attr:`scale`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

#: How ``--scale`` (and the window's Resolution menu) spells automatic working resolution.
AUTO_SCALE = "auto"
#: Working resolution as a fraction of the frame, best first.
SCALE_LADDER = (1.0, 0.75, 0.5, 0.375, 0.25)


@dataclass
class ScaleController:
    """Chooses a rung of ``ladder`` from measured seconds per frame to hold ``target_fps``."""

    target_fps: float
    ladder: tuple[float, ...] = SCALE_LADDER
    patience: int = 4  # frames over budget in a row before stepping down
    hold: int = 15  # frames after any change before the next one
    headroom: float = 0.8  # step up only into a rung expected to use at most this share of the budget
    smoothing: float = 0.3  # weight of the newest frame in the moving average
    max_backoff: int = 1200  # frames, at most, before a rung that was too slow is tried again
    rung: int = 0
    used: Counter[float] = field(default_factory=Counter, init=False)  # frames stylized at each scale
    # Measurement state, not settings:
    _average: dict[int, float] = field(default_factory=dict, init=False, repr=False)  # seconds per frame, by rung
    _over: int = field(default=0, init=False, repr=False)  # frames over budget in a row
    _since_change: int = field(default=0, init=False, repr=False)
    _blocked_until: dict[int, int] = field(default_factory=dict, init=False, repr=False)  # rung -> retry frame
    _backoff: dict[int, int] = field(default_factory=dict, init=False, repr=False)
    _frames: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.target_fps > 0:
            raise ValueError(f"target fps must be positive, got {self.target_fps}")
        if not self.ladder or list(self.ladder) != sorted(self.ladder, reverse=True):
            raise ValueError("the ladder must list scales from largest to smallest")
        self._since_change = self.hold  # the first step need not wait for a change that never was

    @property
    def scale(self) -> float:
        """The working scale for the next frame."""
        return self.ladder[self.rung]

    @property
    def budget_s(self) -> float:
        return 1.0 / self.target_fps

    def observe(self, seconds_per_frame: float, frames: int = 1) -> float:
        """Record ``frames`` frames stylized at :attr:`scale` taking ``seconds_per_frame`` each;
        returns the scale for the next frame."""
        self.used[self.scale] += frames
        self._frames += frames
        self._since_change += frames
        previous = self._average.get(self.rung)
        self._average[self.rung] = seconds_per_frame if previous is None else (
            (1 - self.smoothing) * previous + self.smoothing * seconds_per_frame)
        over = seconds_per_frame > self.budget_s and self._average[self.rung] > self.budget_s
        self._over = self._over + frames if over else 0
        if self._since_change >= self.hold:
            if self._over >= self.patience and self.rung + 1 < len(self.ladder):
                self._step_down()
            elif self.rung > 0 and self._may_try(self.rung - 1) and self._fits(self.rung - 1):
                self._move(self.rung - 1)
        return self.scale

    def _may_try(self, rung: int) -> bool:
        """Whether ``rung``'s back-off is over; its old time is then forgotten (the load may have gone)."""
        if rung not in self._blocked_until:
            return True
        if self._frames < self._blocked_until[rung]:
            return False
        del self._blocked_until[rung]
        self._average.pop(rung, None)
        return True

    def _expected(self, rung: int) -> float:
        """Seconds per frame at ``rung``: as measured there, else the current time scaled by pixels."""
        measured = self._average.get(rung)
        if measured is None:
            measured = self._average[self.rung] * (self.ladder[rung] / self.ladder[self.rung]) ** 2
        return measured

    def _fits(self, rung: int) -> bool:
        """Whether ``rung`` is expected to take at most ``headroom`` of the budget."""
        return self._expected(rung) <= self.headroom * self.budget_s

    def _step_down(self) -> None:
        """Leave the current rung for being too slow, for the largest lower one expected to fit;
        the rung left may be retried only after a back-off."""
        backoff = min(self.max_backoff, 2 * self._backoff.get(self.rung, self.hold))
        self._backoff[self.rung] = backoff
        self._blocked_until[self.rung] = self._frames + backoff
        lower = range(self.rung + 1, len(self.ladder))
        self._move(next((r for r in lower if self._expected(r) <= self.budget_s), lower[-1]))

    def _move(self, rung: int) -> None:
        self.rung = rung
        self._over = 0
        self._since_change = 0

    def summary(self, height: int, width: int) -> str:
        """``1280x720 for 120 frames, 960x540 for 200`` -- the working sizes used, for a report."""
        parts = []
        for scale in self.ladder:
            if self.used[scale]:
                parts.append(f"{round(width * scale)}x{round(height * scale)} for {self.used[scale]} frames")
        return ", ".join(parts)
