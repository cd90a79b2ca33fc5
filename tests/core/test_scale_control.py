"""``--scale auto``: the controller on synthetic slow and fast stylizers, and the stylizer around it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from factories import tiny_fusion_bank, write_tiny_bank
from rtstyle.cli import main
from rtstyle.errors import EXIT_USER_ERROR
from rtstyle.scale_control import SCALE_LADDER, ScaleController
from rtstyle.stylizer import Stylizer, StylizerSettings
from rtstyle.video.sample import make_sample_clip

FPS = 30.0
BUDGET = 1.0 / FPS


def run(controller: ScaleController, seconds_at_full: float, frames: int, fixed: float = 0.0) -> list[float]:
    """Feed ``frames`` frames of a stylizer costing ``fixed + seconds_at_full * scale**2``; the scales used."""
    scales = []
    for _ in range(frames):
        scales.append(controller.scale)
        controller.observe(fixed + seconds_at_full * controller.scale**2)
    return scales


def test_steps_down_under_load_to_the_largest_rung_that_holds_the_rate() -> None:
    controller = ScaleController(FPS)
    scales = run(controller, seconds_at_full=3.5 * BUDGET, frames=200)  # full resolution: 3.5x too slow
    assert scales[0] == 1.0
    assert scales[-1] == 0.5  # 0.5**2 * 3.5 = 0.875 of the budget; 0.75 would need 1.97
    assert len(set(scales[-150:])) == 1  # and stays there


def test_steps_back_up_when_the_load_goes() -> None:
    controller = ScaleController(FPS)
    run(controller, seconds_at_full=3.5 * BUDGET, frames=100)
    assert controller.scale == 0.5
    scales = run(controller, seconds_at_full=0.3 * BUDGET, frames=3000)  # another program closed
    assert scales[-1] == 1.0


def test_a_machine_busy_on_and_off_does_not_make_it_flap() -> None:
    """Load that comes and goes every 40 frames: the controller follows it less and less often."""
    controller = ScaleController(FPS)
    scales = []
    for frame in range(6000):
        busy = (frame // 40) % 2 == 0
        scales.append(controller.scale)
        controller.observe((3.5 if busy else 0.3) * BUDGET * controller.scale**2)
    changes = [i for i in range(1, len(scales)) if scales[i] != scales[i - 1]]
    assert all(b - a >= controller.hold for a, b in zip(changes, changes[1:]))  # never faster than its hold
    assert len(changes) < 40  # the load changed 150 times
    first, last = np.diff(changes[:6]).mean(), np.diff(changes[-6:]).mean()
    assert last > 2 * first  # the back-off grows: round trips get rarer


def test_one_slow_frame_is_not_a_trend() -> None:
    controller = ScaleController(FPS)
    for index in range(200):
        controller.observe(10 * BUDGET if index == 50 else 0.5 * BUDGET)
        assert controller.scale == 1.0


def test_reports_the_working_sizes_it_used() -> None:
    controller = ScaleController(FPS)
    run(controller, seconds_at_full=3.5 * BUDGET, frames=40)
    summary = controller.summary(720, 1280)
    assert summary.startswith("1280x720 for ") and "640x360 for " in summary
    assert sum(controller.used.values()) == 40 and set(controller.used) <= set(SCALE_LADDER)


def test_a_resolution_change_keeps_the_fusion_networks_state() -> None:
    frames = (np.random.default_rng(0).random((2, 48, 64, 3)) * 255).astype(np.uint8)
    frames[1] = np.roll(frames[0], 2, axis=1)  # the second frame follows the first
    carried = Stylizer(tiny_fusion_bank(), device="cpu")
    carried(frames[0])
    carried.update(scale=0.5)
    kept = carried(frames[1])
    fresh = Stylizer(tiny_fusion_bank(), StylizerSettings(np.eye(2, dtype=np.float32)[0], scale=0.5), device="cpu")
    alone = fresh(frames[1])  # the same frame at 1/2 with no previous frame
    assert np.abs(kept.astype(int) - alone.astype(int)).mean() > 0.5  # the previous frame was used


def test_the_stylizer_moves_its_scale_only_with_a_target_rate() -> None:
    frame = np.zeros((360, 640, 3), np.uint8)  # large enough that no frame takes under 1 ms
    bank = tiny_fusion_bank()
    impossible = Stylizer(bank, StylizerSettings(np.eye(2, dtype=np.float32)[0], target_fps=1000.0), device="cpu")
    for _ in range(12):
        impossible(frame)
    assert impossible.working_scale == SCALE_LADDER[-1]
    relaxed = Stylizer(bank, StylizerSettings(np.eye(2, dtype=np.float32)[0], target_fps=0.01), device="cpu")
    for _ in range(12):
        relaxed(frame)
    assert relaxed.working_scale == 1.0
    fixed = Stylizer(bank, StylizerSettings(np.eye(2, dtype=np.float32)[0], scale=0.5), device="cpu")
    fixed(frame)
    assert fixed.scale_control is None and fixed.working_scale == 0.5


def test_convert_with_scale_auto_keeps_every_frame_and_says_which_sizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 256x192: big enough that no machine paints a frame within the 1 ms that 1000 fps allows (at
    # 64x48 a fast moment did, and the controller rightly never stepped down).
    clip = make_sample_clip(tmp_path / "in.mp4", seconds=1.0, width=256, height=192, fps=24)
    bank = write_tiny_bank(tmp_path / "tiny.safetensors")
    out = tmp_path / "out.mp4"
    code = main(["convert", str(clip), str(out), "--model", str(bank), "--backend", "torch",
                 "--scale", "auto", "--target-fps", "1000"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "wrote" in err and "24 frames" in err
    # Where it settles depends on how fast this machine paints a 64x48 frame; that it starts at
    # full size, steps down, and accounts for every frame does not.
    report = re.search(r"working resolutions \(to hold 1000 fps\): (.*)", err)
    assert report is not None, err
    used = dict(re.findall(r"(\d+x\d+) for (\d+) frames?", report.group(1)))
    assert next(iter(used)) == "256x192" and len(used) >= 2
    assert set(used) <= {"256x192", "192x144", "128x96", "96x72", "64x48"}
    assert sum(int(count) for count in used.values()) == 24


@pytest.mark.parametrize("command", [["image", "a.png", "b.png", "--scale", "auto"],
                                     ["convert", "a.mp4", "b.mp4", "--target-fps", "30"]])
def test_scale_auto_mistakes_are_one_line(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(command) == EXIT_USER_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err) and ("scale" in err[-1] or "target-fps" in err[-1])
