"""Frame: the record passed between stages validates itself once."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from rtstyle.video.frames import Frame


def test_time_in_seconds():
    rgb = np.zeros((2, 3, 3), np.uint8)
    assert Frame(rgb, 3003, Fraction(1, 30000)).time == pytest.approx(0.1001)
    assert Frame(rgb, None, None).time is None


@pytest.mark.parametrize(
    "rgb",
    [
        np.zeros((2, 3, 3), np.float32),
        np.zeros((2, 3), np.uint8),
        np.zeros((2, 3, 4), np.uint8),
        np.zeros((4, 6, 3), np.uint8)[::2, ::2],
        [[0, 0, 0]],
    ],
)
def test_bad_pixels_are_refused(rgb):
    with pytest.raises(ValueError, match="Frame.rgb"):
        Frame(rgb, 0, Fraction(1, 25))
