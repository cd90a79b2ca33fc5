"""The main window: the live view, the toolbar, the side panel, and what happens between them.

The window wires widgets to the pipeline and reports what happens: frames go to the view and the
readout; faults from any thread arrive as signals and become a banner with ways on, so the window
never goes down with a camera, a file or a model.  Model and look controls are bound to the
stylizer by :class:`~rtstyle_gui.styling.StyleController`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PyQt6.QtCore import QSettings, QTimer, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QStatusBar, QVBoxLayout, QWidget

from rtstyle.errors import InputError, RtStyleError
from rtstyle.stylizer import Stylizer, working_size
from rtstyle_gui.banner import FaultBanner
from rtstyle_gui.faults import Fault, Remedy, recording_fault, source_fault
from rtstyle_gui.options import WindowOptions
from rtstyle_gui.outputs import OutputFiles
from rtstyle_gui.panel import ControlPanel
from rtstyle_gui.pipeline import LivePipeline
from rtstyle_gui.settings import load_state, save_state
from rtstyle.stream.spec import SourceSpec
from rtstyle_gui.stats import FrameMeter, resolution_text
from rtstyle_gui.styling import StyleController
from rtstyle_gui.toolbar import MainToolBar
from rtstyle_gui.view import VideoView

log = logging.getLogger(__name__)

_READOUT_MS = 250


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1e3:.0f} ms"


class MainWindow(QMainWindow):
    """The live stylization window.  Call :meth:`start` once shown."""

    frameShown = pyqtSignal(float, float, bool)  # capture→display latency s, model time s, stylized

    def __init__(self, options: WindowOptions, store: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.options = options
        self._store = store
        self._saved = load_state(store)
        self.pipeline = LivePipeline(self)
        self.meter = FrameMeter()
        self.outputs = OutputFiles(Path(self._saved.output_dir) if self._saved.output_dir else None)
        self.frames_shown = 0
        self._stylizing = False  # whether the latest frame shown was stylized (it has a working size)
        self._source_size = (360, 640)  # (height, width) of the latest source frame
        self._record_started = 0.0
        self._build()
        self.styling = StyleController(self.panel, self.pipeline, self._saved, options, self)
        self._connect()
        self.toolbar.side_by_side.setChecked(self._saved.side_by_side)
        if self._saved.geometry is None or not self.restoreGeometry(self._saved.geometry):
            self.resize(1320, 800)

    @property
    def stylizer(self) -> Stylizer | None:
        """The loaded model, also while a fault has taken it out of the pipeline."""
        return self.styling.stylizer

    def load_bank(self, path: Path) -> None:
        """Load another style bank in the background; the current one runs until it is ready."""
        self.styling.load_bank(path)

    # -- construction ----------------------------------------------------------------------------

    def _build(self) -> None:
        self.setWindowTitle("rtstyle — live")
        self.toolbar = MainToolBar(self)
        self.addToolBar(self.toolbar)
        self.addActions(self.toolbar.actions())  # shortcuts keep working while it is hidden
        self.banner = FaultBanner()
        self.view = VideoView()
        self.panel = ControlPanel()
        video = QVBoxLayout()
        video.setContentsMargins(0, 0, 0, 0)
        video.setSpacing(0)
        video.addWidget(self.banner)
        video.addWidget(self.view, 1)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addLayout(video, 1)
        row.addWidget(self.panel)
        self.setCentralWidget(central)
        self._status = QStatusBar()
        self.setStatusBar(self._status)
        self.readout = QLabel("—")
        self.readout.setObjectName("readout")
        self._status.addPermanentWidget(self.readout)
        self._readout_timer = QTimer(self)
        self._readout_timer.setInterval(_READOUT_MS)
        self._readout_timer.timeout.connect(self._update_readout)
        self._readout_timer.start()

    def _connect(self) -> None:
        pipeline, toolbar, panel = self.pipeline, self.toolbar, self.panel
        pipeline.frameReady.connect(self._on_frame_ready)
        pipeline.sourceStarted.connect(lambda spec: self._status.showMessage(f"{spec.label}: live", 4000))
        pipeline.sourceFailed.connect(self._on_source_failed)
        pipeline.recordingFinished.connect(self._on_recording_finished)
        pipeline.recordingFailed.connect(lambda _path, exc: self._recording_ended(recording_fault(exc)))
        toolbar.sourceChosen.connect(self.set_source)
        toolbar.openFileRequested.connect(self._open_video_file)
        toolbar.snapshot.triggered.connect(self.snapshot)
        toolbar.record.toggled.connect(self._on_record_toggled)
        toolbar.virtual_camera.toggled.connect(self._on_virtual_camera_toggled)
        pipeline.virtualCameraStarted.connect(
            lambda device: self._status.showMessage(f"Virtual camera: sending to {device}", 6000))
        pipeline.virtualCameraFailed.connect(
            lambda exc: self._virtual_camera_ended(Fault(f"Virtual camera: {exc}", ())))
        toolbar.side_by_side.toggled.connect(self.view.set_side_by_side)
        toolbar.fullscreen.toggled.connect(self.set_fullscreen)
        toolbar.folder.triggered.connect(lambda: self.outputs.choose_folder(self))
        panel.open_bank.clicked.connect(self.styling.open_bank_file)
        panel.scale.activated.connect(lambda _index: self._resume_stylizing())
        self.styling.fault.connect(self._show_fault)
        self.styling.status.connect(lambda text: self._status.showMessage(text, 5000))
        self.styling.bankChanged.connect(self._update_title)
        self.banner.remedyChosen.connect(self._apply_remedy)
        QShortcut(QKeySequence("Esc"), self, lambda: toolbar.fullscreen.setChecked(False))

    def start(self) -> None:
        """Open the source and load the model chosen by the options, else the saved ones."""
        try:
            spec = SourceSpec.parse(self.options.source or self._saved.source or "camera:0")
        except InputError:
            spec = SourceSpec(camera=0)
        self.set_source(spec)
        self.styling.start()
        if self.options.fullscreen:
            self.toolbar.fullscreen.setChecked(True)

    # -- source ----------------------------------------------------------------------------------

    def set_source(self, spec: SourceSpec) -> None:
        """Switch the live view to ``spec`` (a failure shows in the banner, not as an exception)."""
        if self.pipeline.recorder is not None:
            self.toolbar.record.setChecked(False)  # a recording keeps one source and one size
        self.banner.hide()
        self.toolbar.show_source(spec)
        self.view.clear(f"Opening {spec.label}…")
        self.meter.reset()
        self.pipeline.set_source(spec)
        self._update_title()

    def _open_video_file(self) -> None:
        path = self.outputs.ask_video_file(self)
        if path is not None:
            self.set_source(SourceSpec(path=path))
        elif self.pipeline.source is not None:
            self.toolbar.show_source(self.pipeline.source)

    def _on_source_failed(self, spec: SourceSpec, exc: BaseException) -> None:
        self.view.clear(f"{spec.label}: no picture")
        self._show_fault(source_fault(spec.is_camera, exc))

    def _resume_stylizing(self) -> None:
        """A resolution change: after a fault it gives the model another go, so the banner goes."""
        if self.styling.resume():
            self.banner.hide()

    # -- faults ----------------------------------------------------------------------------------

    def _show_fault(self, fault: Fault) -> None:
        log.info("fault shown: %s", fault.message)
        self.banner.show_fault(fault)
        self._status.showMessage(fault.message, 10000)

    def _apply_remedy(self, remedy: Remedy) -> None:
        source = self.pipeline.source
        if remedy is Remedy.RETRY_SOURCE and source is not None:
            self.set_source(source)
        elif remedy is Remedy.NEXT_CAMERA:
            current = source.camera if source is not None and source.camera is not None else -1
            self.set_source(SourceSpec(camera=current + 1))
        elif remedy is Remedy.OPEN_FILE:
            self._open_video_file()
        elif remedy is Remedy.LOWER_RESOLUTION:
            self.styling.lower_resolution()
        elif remedy is Remedy.USE_CPU:
            self.styling.use_cpu()
        elif remedy is Remedy.USE_TORCH:
            self.styling.use_torch()
        elif remedy is Remedy.OPEN_BANK:
            self.styling.open_bank_file()

    # -- frames and readout ----------------------------------------------------------------------

    def _on_frame_ready(self) -> None:
        result = self.pipeline.take_result()
        if result is None:
            return
        self.view.show_frames(result.original, result.output)
        self.pipeline.set_display_size(self.view.output_size())  # follows resizes and side by side
        now = time.perf_counter()
        latency = now - result.captured_at
        self.meter.add(now, latency, result.infer_s)
        self.frames_shown += 1
        self._source_size = result.original.shape[:2]
        self.styling.frame_size = result.output.shape[:2]  # what the stylizer is given (warm-ups too)
        self._stylizing = result.stylized
        self.frameShown.emit(latency, result.infer_s, result.stylized)

    def _update_readout(self) -> None:
        figures = self.meter.readout(time.perf_counter())
        if figures.latency_p50 is None:
            text = "no frames"
        else:
            text = (f"{figures.fps:4.1f} fps · latency {_ms(figures.latency_p50)} (p95 {_ms(figures.latency_p95)})"
                    f" · model {_ms(figures.infer_p50)} · {self._resolution()}")
        if self.pipeline.virtual_camera is not None:
            text += " · → virtual camera"
        if self.pipeline.recorder is not None:
            text += f" · ● REC {time.perf_counter() - self._record_started:.0f} s"
        self.readout.setText(text)

    def _resolution(self) -> str:
        """The source's size and, while the model runs, the size it works at (auto moves it; a
        frame bigger than the view is first fitted to it)."""
        stylizer = self.stylizer
        if stylizer is None or not self._stylizing:
            return resolution_text(self._source_size, None, auto=False)
        working = working_size(*self.styling.frame_size, stylizer.working_scale, stylizer.settings.max_pixels)
        return resolution_text(self._source_size, working, auto=stylizer.scale_control is not None)

    def _update_title(self) -> None:
        bank = self.styling.bank_path
        parts = [p for p in (bank.stem if bank else None,
                             self.pipeline.source.label if self.pipeline.source else None) if p]
        self.setWindowTitle(" · ".join(["rtstyle — live", *parts]))

    # -- snapshot, recording, view ---------------------------------------------------------------

    def snapshot(self) -> Path | None:
        """Save the frame on screen as PNG; returns its path (None if nothing to save)."""
        frame = self.view.output
        if frame is None:
            self._status.showMessage("Nothing to save yet", 4000)
            return None
        try:
            path = self.outputs.save_snapshot(frame)
        except RtStyleError as exc:
            self._show_fault(Fault(f"Snapshot: {exc}", ()))
            return None
        self._status.showMessage(f"Saved snapshot {path}", 6000)
        return path

    def _on_record_toggled(self, on: bool) -> None:
        if not on:
            self.pipeline.stop_recording()
            return
        try:
            recorder = self.pipeline.start_recording(self.outputs.recording_path())
        except RtStyleError as exc:
            self._recording_ended(recording_fault(exc))
            return
        self._record_started = time.perf_counter()
        self._status.showMessage(f"Recording to {recorder.path}")

    def _on_recording_finished(self, path: Path, frames: int) -> None:
        self._status.showMessage(f"Saved recording {path} ({frames} frames)", 8000)

    def _recording_ended(self, fault: Fault) -> None:
        self.toolbar.record.blockSignals(True)
        self.toolbar.record.setChecked(False)
        self.toolbar.record.blockSignals(False)
        self.pipeline.stop_recording()
        self._show_fault(fault)

    def _on_virtual_camera_toggled(self, on: bool) -> None:
        if not on:
            self.pipeline.stop_virtual_camera()
            return
        try:
            self.pipeline.start_virtual_camera()
        except RtStyleError as exc:
            self._virtual_camera_ended(Fault(f"Virtual camera: {exc}", ()))

    def _virtual_camera_ended(self, fault: Fault) -> None:
        self.toolbar.virtual_camera.blockSignals(True)
        self.toolbar.virtual_camera.setChecked(False)
        self.toolbar.virtual_camera.blockSignals(False)
        self.pipeline.stop_virtual_camera()
        self._show_fault(fault)

    def set_fullscreen(self, on: bool) -> None:
        """Video only, on the whole screen; Esc or the shortcut brings the controls back."""
        for widget in (self.panel, self.toolbar, self._status):
            widget.setVisible(not on)
        if on:
            self.showFullScreen()
        else:
            self.showNormal()

    # -- closing ---------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent | None) -> None:
        self._readout_timer.stop()
        self._save_settings()
        self.pipeline.shutdown()
        super().closeEvent(event)

    def _save_settings(self) -> None:
        state = self._saved
        self.styling.save_into(state)
        state.source = str(self.pipeline.source) if self.pipeline.source else state.source
        state.side_by_side = self.toolbar.side_by_side.isChecked()
        state.output_dir = str(self.outputs.folder) if self.outputs.folder else None
        if not self.isFullScreen():
            state.geometry = self.saveGeometry()
        save_state(self._store, state)
