"""Binding the model and look controls to the stylizer: banks, backend, device, mix, regions, look.

The panel's widgets hold the user's choices; every change becomes one new immutable
:class:`rtstyle.stylizer.StylizerSettings` swapped into the stylizer, which the inference thread
picks up on its next frame.  Loading goes through the pipeline's background loader; until a new
model is ready the current one keeps running, and a model that fails to load or to run is
reported as a :class:`Fault` for the window's banner.

Paintings added with "Add painting…" or dropped on the styles are read and saved in the background
(:mod:`rtstyle_gui.pictures`) and become styles of the running any-style model between two frames;
when the bank in use paints only its own styles, the any-style bank is loaded instead, with every
saved painting.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from rtstyle.backends.registry import TORCH
from rtstyle.catalog import ANY_STYLE_BANK, list_banks, resolve_bank
from rtstyle.errors import ModelFileError, RtStyleError, StyleNotFoundError
from rtstyle.mixing import mix_from_specs
from rtstyle.picture_styles import PictureStyle, saved_names_in
from rtstyle.stylefile import StyleBank, read_bank_metadata
from rtstyle.stylizer import Stylizer, StylizerSettings
from rtstyle.video.images import IMAGE_SUFFIXES, is_image_path, read_image
from rtstyle_gui.devices import available_backends, available_devices, device_type
from rtstyle_gui.faults import Fault, Remedy, model_fault, picture_fault, stylize_fault
from rtstyle_gui.gallery import StyleCardInfo
from rtstyle_gui.loader import ModelRequest
from rtstyle_gui.options import AUTO_SCALE, WindowOptions
from rtstyle_gui.outputs import OutputFiles
from rtstyle_gui.panel import SCALES, ControlPanel, select_data
from rtstyle_gui.pictures import extra_styles
from rtstyle_gui.pipeline import LivePipeline
from rtstyle_gui.settings import SavedState

log = logging.getLogger(__name__)

#: The highest rate auto aims at: a camera may report any number, the stylizer takes up to 1000.
MAX_TARGET_FPS = 1000.0


class StyleController(QObject):
    """Owns which bank is loaded and keeps the stylizer's settings equal to the controls."""

    fault = pyqtSignal(object)  # Fault
    status = pyqtSignal(str)  # a message for the status bar
    bankChanged = pyqtSignal()  # a new bank is in use

    def __init__(self, panel: ControlPanel, pipeline: LivePipeline, saved: SavedState, options: WindowOptions,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.panel = panel
        self.pipeline = pipeline
        self._saved = saved
        self._options = options
        self._stylizer: Stylizer | None = None
        self._bank_path: Path | None = None  # the bank in use
        self._requested_bank: Path | None = None  # the bank last asked for (it may have failed)
        self._opened_banks: list[Path] = []
        self._style_specs = options.styles  # applied to the first bank that loads
        self.frame_size = (360, 640)  # (height, width) of the frames shown: the warm-up size
        self._adding = 0  # paintings being added to a stylizer in the inference thread
        self._new_picture: tuple[PictureStyle, list[str]] | None = None  # to paint with once its bank loads
        pipeline.modelProgress.connect(self._on_progress)
        pipeline.modelLoaded.connect(self._on_loaded)
        pipeline.modelFailed.connect(self._on_failed)
        pipeline.stylizeFailed.connect(self._on_stylize_failed)
        pipeline.pictureRead.connect(self._on_picture_read)
        pipeline.pictureFailed.connect(lambda _path, exc: self.fault.emit(picture_fault(exc)))
        pipeline.sourceStarted.connect(lambda _spec: self.push_settings())  # auto: hold the new source's rate
        panel.bank.activated.connect(lambda index: self.load_bank(Path(panel.bank.itemData(index))))
        panel.backend.activated.connect(lambda _index: self.reload())
        panel.device.activated.connect(lambda _index: self.reload())
        panel.gallery.mixChanged.connect(self.push_settings)
        panel.strength.valueChanged.connect(self.push_settings)
        panel.keep_colors.toggled.connect(self.push_settings)
        panel.fusion.toggled.connect(self.push_settings)
        panel.regions.changed.connect(self.push_settings)
        panel.regions.maskRequested.connect(self.choose_mask)
        panel.add_painting.clicked.connect(self.choose_pictures)
        panel.styles_box.filesDropped.connect(self.add_pictures)
        self._restore_controls()

    @property
    def stylizer(self) -> Stylizer | None:
        """The loaded model, also while a fault has taken it out of the pipeline."""
        return self._stylizer

    @property
    def bank_path(self) -> Path | None:
        return self._bank_path

    def _restore_controls(self) -> None:
        options, saved, panel = self._options, self._saved, self.panel
        strength = options.strength if options.strength is not None else saved.strength
        panel.strength.setValue(round(100 * strength))
        panel.strength_value.setText(f"{panel.strength.value()}%")
        panel.keep_colors.setChecked(options.keep_colors if options.keep_colors is not None else saved.keep_colors)
        panel.fusion.setChecked(saved.fusion)
        panel.regions.set_layout(saved.region_layout, saved.region_styles)
        panel.set_scale(options.scale if options.scale is not None else saved.scale)
        panel.fill(panel.backend, available_backends(), options.backend or saved.backend)
        panel.fill(panel.device, available_devices(), options.device or saved.device)

    def start(self) -> None:
        """Load the bank named on the command line, else last time's, else the default one."""
        self.panel.set_banks(list_banks(), self._opened_banks)
        saved = Path(self._saved.bank) if self._saved.bank else None
        try:
            model = self._options.model
            if model is None and not self._style_specs and saved is not None and saved.is_file():
                bank = saved
            else:
                # --style naming a saved painting: the any-style bank paints it (with every saved one).
                if model is None and saved_names_in(self._style_specs):
                    model = ANY_STYLE_BANK
                bank = resolve_bank(model)
        except RtStyleError as exc:
            self.fault.emit(Fault(f"No style bank to load: {exc}", (Remedy.OPEN_BANK,)))
            return
        self.load_bank(bank)

    # -- loading ---------------------------------------------------------------------------------

    def load_bank(self, path: Path) -> None:
        """Load ``path`` in the background with the chosen backend; the current model keeps running."""
        request = ModelRequest(path, backend=self.panel.backend.currentData() or "auto",
                               device=self.panel.device.currentData() or "auto", dtype=self._options.dtype,
                               warmup_size=self.frame_size)
        self._requested_bank = path
        self.panel.show_progress(0, f"Loading {path.stem}…")
        self.pipeline.load_model(request)

    def reload(self) -> None:
        """Load the bank last asked for again (new backend or device, or after a failure)."""
        if self._requested_bank is not None:
            self.load_bank(self._requested_bank)

    def open_bank_file(self) -> None:
        path = OutputFiles.ask_bank_file(self.panel)
        if path is not None:
            self._opened_banks.append(path)
            self.panel.set_banks(list_banks(), self._opened_banks)
            self.load_bank(path)

    def _on_progress(self, percent: int, text: str) -> None:
        self.panel.show_progress(percent, text)
        self.status.emit(text)

    def _on_loaded(self, request: ModelRequest, stylizer: Stylizer, notes: list[str]) -> None:
        if self._bank_path is not None:
            self._saved.mixes[self._bank_path.stem] = self.panel.gallery.values()
        values = self.panel.gallery.values() if request.bank == self._bank_path else self._initial_mix(stylizer)
        new, self._new_picture = self._new_picture, None
        if new is not None and new[0].name in stylizer.style_names:  # loaded to paint a picture just added
            values = {new[0].name: 100}
            notes = [f"painting with {new[0].title}", *new[1], *notes]
            self.panel.reveal_style(new[0].name)
        self._stylizer, self._bank_path = stylizer, request.bank
        bank = stylizer.bank
        self._show_styles(bank, values)
        self.panel.set_fusion_available(bank.has_fusion)
        self.push_settings()
        self.pipeline.set_stylizer(stylizer)
        self.panel.progress.hide()
        if not select_data(self.panel.bank, str(request.bank)):
            self._opened_banks.append(request.bank)
            self.panel.set_banks(list_banks(), self._opened_banks)
            select_data(self.panel.bank, str(request.bank))
        self.status.emit(" · ".join([f"{bank.name}: {len(bank.styles)} styles", stylizer.backend.describe(), *notes]))
        self.bankChanged.emit()

    def _show_styles(self, bank: StyleBank, values: Mapping[str, int]) -> None:
        """A card (and a region choice) for each style of ``bank``, the sliders at ``values``."""
        cards = [StyleCardInfo(s.name, s.title, bank.thumbnails.get(s.name)) for s in bank.styles]
        self.panel.gallery.set_styles(cards, values)
        self.panel.regions.set_styles([(s.name, s.title) for s in bank.styles])

    def _initial_mix(self, stylizer: Stylizer) -> dict[str, int]:
        """Slider values for a newly loaded bank: ``--style`` once, else last time's, else style 1."""
        names = stylizer.style_names
        specs, self._style_specs = self._style_specs, ()
        if specs:
            try:
                weights = mix_from_specs(specs, names)
                return {name: round(100 * w / weights.max()) for name, w in zip(names, weights, strict=True)}
            except RtStyleError as exc:
                self.fault.emit(Fault(f"Styles: {exc}", ()))
        saved = self._saved.mixes.get(stylizer.bank.name, {})
        return saved if any(saved.get(name) for name in names) else {names[0]: 100}

    def _on_failed(self, request: ModelRequest, exc: BaseException) -> None:
        self.panel.progress.hide()
        self._new_picture = None
        if isinstance(exc, ModelFileError):  # the file is bad: a later device change reloads the working bank
            self._requested_bank = self._bank_path
        if self._bank_path is None or not select_data(self.panel.bank, str(self._bank_path)):
            self.panel.bank.setCurrentIndex(-1)
        self.fault.emit(model_fault(device_type(request.device) != "cpu", request.backend, exc))

    # -- live settings -----------------------------------------------------------------------

    def push_settings(self) -> None:
        """Hand the controls to the stylizer as one new settings object (applies next frame)."""
        stylizer = self._stylizer
        if stylizer is None or self._adding:  # the cards and the model differ by a style until it is added
            return
        weights = self.panel.gallery.weights()
        strength = self.panel.strength.value() / 100.0
        regions = self.panel.regions.regions()
        if not any(weights):  # every slider down: an empty mix...
            weights = [1.0] * len(weights)
            if regions is None:  # ...and nothing else styles the frame, so show the original
                strength = 0.0
        scale = self.panel.scale_choice()
        # Auto: the stylizer moves the resolution to hold the source's rate (known once it has started).
        target_fps = min(self.pipeline.nominal_fps, MAX_TARGET_FPS) if scale == AUTO_SCALE else None
        stylizer.settings = StylizerSettings(
            np.asarray(weights, dtype=np.float32), strength=strength,
            keep_colors=self.panel.keep_colors.isChecked(), scale=1.0 if scale == AUTO_SCALE else scale,
            max_pixels=stylizer.settings.max_pixels, fusion=self.panel.fusion.isChecked(), regions=regions,
            target_fps=target_fps,
        )

    def choose_mask(self) -> None:
        """Ask for a grey mask image and lay the regions out by it; an unreadable file is a fault.

        The image is read here once so that a bad file is reported now, as such, rather than by
        the inference thread as a failure to stylize.
        """
        path = OutputFiles.ask_mask_image(self.panel)
        if path is None:
            return
        try:
            read_image(path)
        except RtStyleError as exc:
            self.fault.emit(Fault(f"Mask image: {exc}", ()))
            return
        self.panel.regions.set_layout(str(path))

    def resume(self) -> bool:
        """Apply the controls and, after a fault, give the model another go; True if it resumed."""
        self.push_settings()
        if self.pipeline.stylizer is None and self._stylizer is not None:
            self.pipeline.set_stylizer(self._stylizer)
            return True
        return False

    def _on_stylize_failed(self, exc: BaseException) -> None:
        on_gpu = self._stylizer is not None and device_type(str(self._stylizer.device)) != "cpu"
        self.fault.emit(stylize_fault(on_gpu, exc))

    # -- paintings as styles ------------------------------------------------------------------

    def choose_pictures(self) -> None:
        """The "Add painting…" button: ask for pictures and add each one as a style."""
        paths = OutputFiles.ask_pictures(self.panel)
        if paths:
            self.add_pictures(paths)

    def add_pictures(self, paths: Sequence[Path]) -> None:
        """Read each picture in ``paths`` as a style in the background, save it, and paint with it.

        Files that are no pictures are named in the status line.  The picture's name avoids the
        styles of the bank that will paint it: the one in use if it paints any style, else the
        any-style bank, which then loads (an error now if it is not installed, before any work).
        """
        pictures = [path for path in paths if is_image_path(path)]
        others = [path.name for path in paths if not is_image_path(path)]
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        refused = f"Not a picture: {', '.join(others)} (add {suffixes} files)" if others else ""
        if not pictures:
            self.status.emit(refused or "Only picture files on this computer can be added")
            return
        try:
            taken = self._painting_style_names()
        except RtStyleError as exc:
            self.fault.emit(picture_fault(exc))
            return
        for path in pictures:
            self.pipeline.read_picture(path, taken)
        reading = f"Reading {', '.join(path.name for path in pictures)}…"
        self.status.emit(f"{reading} · {refused}" if refused else reading)

    def _painting_style_names(self) -> frozenset[str]:
        """The styles of the bank that will paint a new picture (its name must be none of them)."""
        stylizer = self._stylizer
        if stylizer is not None and stylizer.bank.any_style:
            return frozenset(stylizer.style_names)
        document = read_bank_metadata(self._any_style_bank())
        return frozenset(str(style.get("name")) for style in document["styles"] if isinstance(style, dict))

    def _any_style_bank(self) -> Path:
        """The bank that paints pictures when the one in use cannot; StyleNotFoundError if none is installed."""
        try:
            return resolve_bank(ANY_STYLE_BANK)
        except StyleNotFoundError:
            own = f"{self._stylizer.bank.name} paints only its own styles and " if self._stylizer is not None else ""
            raise StyleNotFoundError(f"painting a picture needs an any-style bank: {own}{ANY_STYLE_BANK} is not "
                                     "installed (see 'rtstyle styles')") from None

    def _on_picture_read(self, picture: PictureStyle, notes: list[str]) -> None:
        """A picture is saved as a style: add it to the running any-style model, else load one with it."""
        stylizer = self._stylizer
        if stylizer is not None and stylizer.bank.any_style:
            infos, vectors, thumbnails = extra_styles([picture])

            def add() -> None:  # in the inference thread, between two frames
                stylizer.add_styles(infos, vectors, thumbnails)
                # Alone from the very next frame, rather than one frame later when the cards are up.
                stylizer.update(style_weights=np.eye(len(stylizer.style_names), dtype=np.float32)[-1])

            self._adding += 1
            self.pipeline.edit_stylizer(add, lambda error: self._on_picture_added(stylizer, picture, notes, error))
            return
        try:
            bank = self._any_style_bank()
        except StyleNotFoundError as exc:
            self.fault.emit(picture_fault(exc))
            return
        self._new_picture = (picture, notes)
        self.load_bank(bank)

    def _on_picture_added(self, stylizer: Stylizer, picture: PictureStyle, notes: list[str],
                          error: BaseException | None) -> None:
        self._adding -= 1
        if error is not None:
            self.fault.emit(picture_fault(error))
        elif stylizer is self._stylizer:  # still in use: no other bank was loaded meanwhile
            self._show_styles(stylizer.bank, {picture.name: 100})  # what a user who adds a painting wants to see
            self.panel.reveal_style(picture.name)
            self.status.emit(" · ".join([f"Painting with {picture.title} ({picture.source})", *notes]))
        self.push_settings()  # the controls as they are now, changes held back meanwhile included

    # -- remedies --------------------------------------------------------------------------------

    def lower_resolution(self) -> None:
        """A fixed resolution below the one that failed: on auto, below the scale the stylizer had reached."""
        choice = self.panel.scale_choice()
        if choice == AUTO_SCALE:
            current = self._stylizer.working_scale if self._stylizer is not None else 1.0
        else:
            current = choice
        lower = [value for value, _label in SCALES if value < current]
        self.panel.set_scale(lower[0] if lower else current / 2)
        self.resume()

    def use_cpu(self) -> None:
        select_data(self.panel.device, "cpu")
        self.reload()

    def use_torch(self) -> None:
        select_data(self.panel.backend, TORCH)
        self.reload()

    def save_into(self, state: SavedState) -> None:
        if self._bank_path is not None:
            state.bank = str(self._bank_path)
            state.mixes[self._bank_path.stem] = self.panel.gallery.values()
        state.backend = self.panel.backend.currentData() or "auto"
        state.device = self.panel.device.currentData() or "auto"
        state.strength = self.panel.strength.value() / 100.0
        state.keep_colors = self.panel.keep_colors.isChecked()
        state.scale = self.panel.scale_choice()
        state.fusion = self.panel.fusion.isChecked()
        state.region_layout = self.panel.regions.layout_name()
        state.region_styles = self.panel.regions.style_names()
