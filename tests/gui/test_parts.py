"""The window's Qt-free parts: the latest-wins slot, the meter, sources, the camera, faults."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

import rtstyle.video.camera as camera_module
from gui_fakes import FakeCapture
from rtstyle.errors import InputError, ModelFileError
from rtstyle.stream.capture import Captured
from rtstyle_gui.faults import Remedy, model_fault, source_fault, stylize_fault
from rtstyle.stream.slot import LatestSlot
from rtstyle.stream.live_sources import CameraSource, LoopingFileSource, open_source
from rtstyle.stream.spec import SourceSpec
from rtstyle_gui.stats import FrameMeter, percentile, resolution_text
from rtstyle.stream.newest import InferenceWorker, Result, shrink_to_fit


def test_slot_keeps_only_the_latest_item_and_counts_drops() -> None:
    slot: LatestSlot[int] = LatestSlot()
    assert slot.put(1) is False
    assert slot.put(2) is True and slot.put(3) is True
    assert slot.take() == 3
    assert slot.take(timeout=0.01) is None
    assert slot.dropped == 2


def test_slot_take_wakes_up_when_an_item_arrives() -> None:
    slot: LatestSlot[str] = LatestSlot()
    threading.Timer(0.05, slot.put, args=("frame",)).start()
    assert slot.take(timeout=10) == "frame"


def test_meter_reports_recent_rate_and_percentiles() -> None:
    meter = FrameMeter(window_s=1.0)
    for i in range(21):  # 20 fps for one second, latency 10..30 ms
        meter.add(i * 0.05, 0.010 + i * 0.001, 0.005)
    figures = meter.readout(now=1.0)
    assert figures.fps == pytest.approx(20.0)
    assert figures.latency_p50 == pytest.approx(0.020)
    assert figures.infer_p50 == pytest.approx(0.005)
    assert meter.readout(now=5.0).latency_p50 is None  # nothing shown lately: no stale figures


def test_resolution_text_names_the_working_size_and_auto() -> None:
    assert resolution_text((720, 1280), (540, 960), auto=True) == "1280×720 → 960×540 (auto)"
    assert resolution_text((720, 1280), (720, 1280), auto=True) == "1280×720 (auto)"
    assert resolution_text((720, 1280), (360, 640), auto=False) == "1280×720 → 640×360"
    assert resolution_text((720, 1280), None, auto=False) == "1280×720"  # unstylized: no working size


def test_percentile_matches_numpy() -> None:
    values = list(np.random.default_rng(0).random(37))
    for q in (5, 50, 95):
        assert percentile(values, q) == pytest.approx(np.percentile(values, q))


def test_source_spec_parsing(tmp_path: Path) -> None:
    assert SourceSpec.parse("camera:2") == SourceSpec(camera=2)
    assert SourceSpec.parse("1").camera == 1
    spec = SourceSpec.parse(str(tmp_path / "clip.mp4"))
    assert spec.path == tmp_path / "clip.mp4" and not spec.is_camera
    assert SourceSpec.parse(str(spec)) == spec
    assert str(SourceSpec(camera=0)) == "camera:0"
    with pytest.raises(InputError):
        SourceSpec.parse("camera:front")
    assert isinstance(open_source(SourceSpec(camera=0)), CameraSource)
    assert isinstance(open_source(spec), LoopingFileSource)


def test_looping_file_source_loops_at_the_clip_rate(make_clip) -> None:
    clip = make_clip("loop.mp4", seconds=0.25, fps=24, audio=False)  # 6 frames
    source = LoopingFileSource(clip)
    stop = threading.Event()
    frames = []
    segments = []
    started = None
    for rgb in source.frames(stop):
        started = started or time.perf_counter()
        frames.append(rgb)
        segments.append(source.segment)
        if len(frames) == 13:  # two full passes and the start of a third
            break
    elapsed = time.perf_counter() - started
    assert source.nominal_fps == pytest.approx(24)
    assert np.array_equal(frames[0], frames[6]) and np.array_equal(frames[6], frames[12])
    assert segments == [0] * 6 + [1] * 6 + [2]  # each pass is a new segment: frames jump back
    assert elapsed >= 12 / 24 * 0.9  # paced, not decoded as fast as possible


def test_camera_frames_are_rgb_and_an_unplugged_camera_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCapture(frames=3)
    monkeypatch.setattr(camera_module, "open_capture", lambda index: fake)
    source = CameraSource(0)
    frames = []
    with pytest.raises(InputError, match="camera 0 stopped delivering frames"):
        for rgb in source.frames(threading.Event()):
            frames.append(rgb)
    assert len(frames) == 3 and frames[0].shape == (48, 64, 3)
    assert frames[0][0, 0].tolist() == [0, 0, 200]  # BGR turned into RGB
    assert source.nominal_fps == 30.0
    assert fake.released


def test_missing_camera_raises_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCapture(opened=False)
    monkeypatch.setattr(camera_module, "open_capture", lambda index: fake)
    with pytest.raises(InputError, match="camera 3: not found"):
        camera_module.Camera(3)
    assert fake.released


def test_faults_offer_ways_on() -> None:
    assert Remedy.NEXT_CAMERA in source_fault(True, InputError("x")).remedies
    assert Remedy.OPEN_FILE in source_fault(False, InputError("x")).remedies
    memory = stylize_fault(True, RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"))
    assert "ran out of memory" in memory.message
    assert memory.remedies == (Remedy.LOWER_RESOLUTION, Remedy.USE_CPU)
    bad_file = model_fault(False, "torch", ModelFileError("bank.safetensors: not a valid safetensors style file"))
    assert bad_file.message.startswith("Style bank: bank.safetensors") and Remedy.OPEN_BANK in bad_file.remedies
    assert "ZeroDivisionError" in stylize_fault(False, ZeroDivisionError("boom")).message  # a bug says so


class _RecordingStylizer:
    """Inverts frames and logs ``frame`` and ``reset`` calls with the thread that made them."""

    def __init__(self, name: str, log: list[tuple[str, str, str]], fail: bool = False) -> None:
        self.name, self.log, self.fail = name, log, fail

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        self.log.append((self.name, "frame", threading.current_thread().name))
        if self.fail:
            raise RuntimeError("driver error")
        return 255 - rgb

    def reset(self) -> None:
        self.log.append((self.name, "reset", threading.current_thread().name))


def test_worker_resets_the_stylizer_whenever_a_frame_does_not_follow_the_last_one() -> None:
    frames: LatestSlot[Captured] = LatestSlot()
    results: LatestSlot[Result] = LatestSlot()
    errors: list[BaseException] = []
    worker = InferenceWorker(frames, results, notify=lambda: None, on_error=errors.append)
    log: list[tuple[str, str, str]] = []
    first, second = _RecordingStylizer("first", log), _RecordingStylizer("second", log)
    rgb = np.zeros((4, 4, 3), np.uint8)

    def process(source_id: int, segment: int) -> list[str]:
        """Feed one frame and wait for it; the calls it made, as ``name:call``."""
        seen = len(log)
        frames.put(Captured(rgb, time.perf_counter(), source_id, segment))
        assert results.take(timeout=10) is not None
        assert {thread for _, _, thread in log[seen:]} <= {"rtstyle-infer"}
        return [f"{name}:{call}" for name, call, _ in log[seen:]]

    worker.set_stylizer(first)
    worker.start()
    try:
        assert process(0, 0) == ["first:reset", "first:frame"]  # the first frame follows nothing
        assert process(0, 0) == ["first:frame"]
        assert process(0, 1) == ["first:reset", "first:frame"]  # the file looped
        assert process(1, 1) == ["first:reset", "first:frame"]  # another source
        worker.set_stylizer(second)
        assert process(1, 1) == ["second:reset", "second:frame"]  # a new model starts afresh
        second.fail = True
        assert process(1, 1) == ["second:frame"] and len(errors) == 1  # dropped after the failure
        assert process(1, 1) == []  # the original shown meanwhile
        second.fail = False
        worker.set_stylizer(second)
        assert process(1, 1) == ["second:reset", "second:frame"]  # frames went by without it
    finally:
        worker.stop()


def test_worker_runs_edits_between_frames_never_during_one() -> None:
    frames: LatestSlot[Captured] = LatestSlot()
    results: LatestSlot[Result] = LatestSlot()
    worker = InferenceWorker(frames, results, notify=lambda: None, on_error=lambda exc: None)
    log: list[str] = []
    in_frame, finish_frame, edited = threading.Event(), threading.Event(), threading.Event()

    class SlowStylizer:
        def __call__(self, rgb: np.ndarray) -> np.ndarray:
            log.append("frame")
            in_frame.set()
            finish_frame.wait(10)
            log.append("frame done")
            return rgb

        def reset(self) -> None:
            pass

    def edit() -> None:
        log.append(f"edit in {threading.current_thread().name}")
        edited.set()

    worker.set_stylizer(SlowStylizer())
    worker.start()
    try:
        frames.put(Captured(np.zeros((4, 4, 3), np.uint8), time.perf_counter(), 0, 0))
        assert in_frame.wait(10)
        worker.between_frames(edit)
        assert not edited.wait(0.3)  # well past the poll interval: the frame in flight comes first
        finish_frame.set()
        assert edited.wait(10)
        assert log == ["frame", "frame done", "edit in rtstyle-infer"]
        edited.clear()
        worker.between_frames(edit)  # no frames coming: it runs all the same
        assert edited.wait(10)
    finally:
        worker.stop()


def test_shrink_to_fit_keeps_the_aspect_and_never_enlarges() -> None:
    frame = np.random.default_rng(0).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    assert shrink_to_fit(frame, (980, 748)).shape == (551, 980, 3)  # width-bound
    assert shrink_to_fit(frame, (1600, 450)).shape == (450, 800, 3)  # height-bound
    assert shrink_to_fit(frame, (1280, 720)) is frame and shrink_to_fit(frame, (4000, 3000)) is frame
    assert shrink_to_fit(frame, None) is frame
    flat = np.full((720, 1280, 3), 77, np.uint8)
    assert (shrink_to_fit(flat, (320, 180)) == 77).all() and (shrink_to_fit(flat, (980, 551)) == 77).all()
    # Smaller than half, every source pixel counts: 4×4 blocks of noise average out (std ~74/4),
    # where sampling a few of them would keep half the noise's spread (~74/2).
    assert shrink_to_fit(frame, (320, 180)).std() < 25
    # A mild shrink stays close to the area average, noise included.
    fitted = shrink_to_fit(frame, (980, 551)).astype(np.float32)
    assert fitted.std() < frame.std() and abs(fitted.mean() - frame.mean()) < 1.0


def test_worker_stylizes_at_the_display_size_but_sinks_get_the_full_frame() -> None:
    """A frame bigger than the view is fitted to it before stylizing; while a recorder or virtual
    camera takes the output, the stylizer gets the source's full size."""
    frames: LatestSlot[Captured] = LatestSlot()
    results: LatestSlot[Result] = LatestSlot()
    worker = InferenceWorker(frames, results, notify=lambda: None, on_error=lambda exc: None)
    sizes: list[tuple[int, int]] = []

    class SizeStylizer:
        def __call__(self, rgb: np.ndarray) -> np.ndarray:
            sizes.append(rgb.shape[:2])
            return rgb

        def reset(self) -> None:
            pass

    class Sink:
        def __init__(self) -> None:
            self.shapes: list[tuple[int, ...]] = []

        def submit(self, rgb: np.ndarray, captured_at: float) -> None:
            self.shapes.append(rgb.shape)

    def process() -> Result:
        frames.put(Captured(np.zeros((360, 640, 3), np.uint8), time.perf_counter(), 0, 0))
        result = results.take(timeout=10)
        assert result is not None
        return result

    worker.set_stylizer(SizeStylizer())
    worker.start()
    try:
        assert process().output.shape == (360, 640, 3)  # no display size yet: the frame as it is
        worker.set_display_size((320, 240))
        result = process()
        assert sizes[-1] == (180, 320) and result.output.shape == (180, 320, 3)
        assert result.original.shape == (360, 640, 3)  # the source is shown as it came
        sink = Sink()
        worker.add_sink(sink)
        process()
        assert sizes[-1] == (360, 640) and sink.shapes == [(360, 640, 3)]  # a recording keeps the full size
        worker.remove_sink(sink)
        process()
        assert sizes[-1] == (180, 320)
    finally:
        worker.stop()
