"""The live pipeline: the stream core's newest-wins scheduler and the model loading, seen from the GUI.

Widgets never touch threads or models; they call this object and listen to its signals.  The
threads are the stream core's (:mod:`rtstyle.stream`: capture, inference, recording, virtual
camera) plus the window's own loaders (a model, pictures as styles); they report back by emitting
signals of this QObject, which lives in the GUI thread: Qt
queues a signal emitted from another thread into the receiver's event loop, so every slot runs in
the GUI thread.  Reports from a source or a model load that has since been replaced carry an old
generation number and are dropped, so a late error from a camera the user already switched away
from never shows up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal

from rtstyle.stream.capture import Captured, CaptureThread
from rtstyle.stream.live_sources import open_source
from rtstyle.stream.newest import InferenceWorker, Result, Stylize
from rtstyle.stream.recorder import Recorder
from rtstyle.stream.slot import LatestSlot
from rtstyle.stream.spec import SourceSpec
from rtstyle.stream.vcam import VirtualCamera
from rtstyle.stylizer import Stylizer
from rtstyle_gui.loader import ModelLoader, ModelRequest
from rtstyle_gui.pictures import PictureReader

log = logging.getLogger(__name__)

_LOADER_JOIN_S = 30.0
#: Recording rate when the source does not say (cameras often report 0).
DEFAULT_FPS = 30.0


class LivePipeline(QObject):
    """Owns the threads of the window; all public methods are called from the GUI thread."""

    frameReady = pyqtSignal()  # a result waits in take_result()
    sourceStarted = pyqtSignal(object)  # SourceSpec: its first frame arrived
    sourceFailed = pyqtSignal(object, object)  # SourceSpec, exception
    stylizeFailed = pyqtSignal(object)  # exception; the stylizer has been dropped
    modelProgress = pyqtSignal(int, str)  # percent, what is happening
    modelLoaded = pyqtSignal(object, object, object)  # ModelRequest, Stylizer (not yet in use), notes
    modelFailed = pyqtSignal(object, object)  # ModelRequest, exception
    recordingFinished = pyqtSignal(object, int)  # path, frames written
    recordingFailed = pyqtSignal(object, object)  # path, exception
    virtualCameraStarted = pyqtSignal(str)  # device name
    virtualCameraFailed = pyqtSignal(object)  # exception; the sink has stopped
    pictureRead = pyqtSignal(object, object)  # PictureStyle (saved in the style directory), notes
    pictureFailed = pyqtSignal(object, object)  # path, exception

    # Cross-thread reports tagged with the generation they belong to.
    _captureStarted = pyqtSignal(int)
    _captureFailed = pyqtSignal(int, object)
    _loadProgress = pyqtSignal(int, int, str)
    _loadDone = pyqtSignal(int, object, object, object)
    _loadFailed = pyqtSignal(int, object, object)
    _edited = pyqtSignal(object, object)  # the edit's on_done, its exception or None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._frames: LatestSlot[Captured] = LatestSlot()
        self._results: LatestSlot[Result] = LatestSlot()
        self._worker = InferenceWorker(self._frames, self._results, self.frameReady.emit, self.stylizeFailed.emit)
        self._capture: CaptureThread | None = None
        self._capture_generation = 0
        self._source: SourceSpec | None = None
        self._loaders: list[ModelLoader] = []
        self._load_generation = 0
        self._recorder: Recorder | None = None
        self._virtual_camera: VirtualCamera | None = None
        self._pictures: PictureReader | None = None
        self._captureStarted.connect(self._on_capture_started)
        self._captureFailed.connect(self._on_capture_failed)
        self._loadProgress.connect(self._on_load_progress)
        self._loadDone.connect(self._on_load_done)
        self._loadFailed.connect(self._on_load_failed)
        self._edited.connect(lambda on_done, error: on_done(error))
        self._worker.start()

    # -- source --------------------------------------------------------------------------------

    @property
    def source(self) -> SourceSpec | None:
        return self._source

    @property
    def nominal_fps(self) -> float:
        capture = self._capture
        return (capture.source.nominal_fps if capture else None) or DEFAULT_FPS

    def set_source(self, spec: SourceSpec) -> None:
        """Switch to ``spec``; it opens in the capture thread (failures arrive as sourceFailed)."""
        self.stop_source()
        self._source = spec
        generation = self._capture_generation
        self._capture = CaptureThread(
            open_source(spec), generation, self._frames,
            on_error=lambda exc: self._captureFailed.emit(generation, exc),
            on_first_frame=lambda: self._captureStarted.emit(generation),
        )
        self._capture.start()

    def stop_source(self) -> None:
        self._capture_generation += 1
        if self._capture is not None:
            self._capture.stop()
            self._capture = None
        self._frames.clear()
        self._results.clear()

    def _on_capture_started(self, generation: int) -> None:
        if generation == self._capture_generation and self._source is not None:
            self.sourceStarted.emit(self._source)

    def _on_capture_failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._capture_generation and self._source is not None:
            self.sourceFailed.emit(self._source, exc)

    # -- model ---------------------------------------------------------------------------------

    @property
    def stylizer(self) -> Stylize | None:
        return self._worker.stylizer

    def set_display_size(self, size: tuple[int, int] | None) -> None:
        """The (width, height) in screen pixels the stylized picture is shown at (see the worker)."""
        self._worker.set_display_size(size)

    def set_stylizer(self, stylizer: Stylize | None) -> None:
        """Stylize with ``stylizer`` from the next frame on (None: show the source)."""
        self._worker.set_stylizer(stylizer)

    def edit_stylizer(self, edit: Callable[[], None], on_done: Callable[[BaseException | None], None]) -> None:
        """Run ``edit`` in the inference thread between two frames, then ``on_done(error)`` here.

        For changes to a stylizer's model, such as styles added to it, that a frame in flight must
        not meet half-done: that thread never stylizes and edits at once.  The stylizer need not be
        the one in use.
        """

        def run() -> None:
            try:
                edit()
            except Exception as exc:  # noqa: BLE001 - reported to the window through on_done
                log.warning("changing the stylizer failed: %s", exc)
                self._edited.emit(on_done, exc)
            else:
                self._edited.emit(on_done, None)

        self._worker.between_frames(run)

    def load_model(self, request: ModelRequest) -> None:
        """Load in the background; only the latest request's outcome is reported."""
        self._load_generation += 1
        generation = self._load_generation
        loader = ModelLoader(
            request,
            on_progress=lambda percent, text: self._loadProgress.emit(generation, percent, text),
            on_done=lambda stylizer, notes: self._loadDone.emit(generation, request, stylizer, notes),
            on_error=lambda exc: self._loadFailed.emit(generation, request, exc),
        )
        self._loaders = [t for t in self._loaders if t.is_alive()] + [loader]
        loader.start()

    @property
    def loading(self) -> bool:
        return any(t.is_alive() for t in self._loaders)

    def _on_load_progress(self, generation: int, percent: int, text: str) -> None:
        if generation == self._load_generation:
            self.modelProgress.emit(percent, text)

    def _on_load_done(self, generation: int, request: ModelRequest, stylizer: Stylizer, notes: list[str]) -> None:
        if generation == self._load_generation:
            self.modelLoaded.emit(request, stylizer, notes)

    def _on_load_failed(self, generation: int, request: ModelRequest, exc: BaseException) -> None:
        if generation == self._load_generation:
            self.modelFailed.emit(request, exc)

    # -- pictures as styles ------------------------------------------------------------------

    def read_picture(self, path: Path, taken: frozenset[str]) -> None:
        """Read ``path`` as a style and save it, in the background, under a name not in ``taken``.

        ``pictureRead`` or ``pictureFailed`` follows; pictures are read in the order submitted.
        """
        if self._pictures is None:
            self._pictures = PictureReader(on_read=self.pictureRead.emit, on_error=self.pictureFailed.emit)
            self._pictures.start()
        self._pictures.submit(path, taken)

    # -- results and recording ---------------------------------------------------------------

    def take_result(self) -> Result | None:
        """The newest processed frame of the current source, if one is waiting."""
        result = self._results.take()
        # A frame that was mid-inference when the source changed must not reappear afterwards.
        return result if result is not None and result.source_id == self._capture_generation else None

    @property
    def dropped_frames(self) -> int:
        """Captured frames replaced by a newer one before inference took them (latest wins)."""
        return self._frames.dropped

    @property
    def recorder(self) -> Recorder | None:
        return self._recorder

    def start_recording(self, path: Path) -> Recorder:
        """Record the output from the next frame on; raises OutputError if ``path`` is unusable."""
        self.stop_recording()
        recorder = Recorder(
            path, fps=self.nominal_fps,
            on_done=self.recordingFinished.emit,
            on_error=lambda exc: self.recordingFailed.emit(path, exc),
        )
        recorder.start()
        self._recorder = recorder
        self._worker.add_sink(recorder)
        return recorder

    def stop_recording(self) -> None:
        """End the file; ``recordingFinished`` follows once it is complete on disk."""
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            self._worker.remove_sink(recorder)
            recorder.finish()

    @property
    def virtual_camera(self) -> VirtualCamera | None:
        return self._virtual_camera

    def start_virtual_camera(self) -> VirtualCamera:
        """Send the output to a virtual camera; raises BackendUnavailableError without pyvirtualcam."""
        self.stop_virtual_camera()
        camera = VirtualCamera(self.nominal_fps, on_started=self.virtualCameraStarted.emit,
                               on_error=self.virtualCameraFailed.emit)
        camera.start()
        self._virtual_camera = camera
        self._worker.add_sink(camera)
        return camera

    def stop_virtual_camera(self) -> None:
        camera, self._virtual_camera = self._virtual_camera, None
        if camera is not None:
            self._worker.remove_sink(camera)
            camera.stop()

    # -- shutdown ------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop every thread and wait for them; a recording in progress is completed first."""
        recorder = self._recorder
        self.stop_source()
        self.stop_recording()
        self.stop_virtual_camera()
        if self._pictures is not None:
            self._pictures.stop()
            self._pictures = None
        self._worker.stop()
        if recorder is not None:
            recorder.wait()
        self._load_generation += 1  # late load reports are now stale
        for loader in self._loaders:
            loader.join(_LOADER_JOIN_S)
        self._loaders = []

    def threads(self) -> list[threading.Thread]:
        """Threads of this pipeline still running (for tests and diagnostics)."""
        candidates = [self._worker, self._capture, self._recorder, self._virtual_camera, self._pictures, *self._loaders]
        return [t for t in candidates if t is not None and t.is_alive()]
