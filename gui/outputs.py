"""Where snapshots and recordings go, and the file dialogs that pick inputs.

Snapshots and recordings are named by the time they were taken and never replace an existing
file, so pressing the snapshot key twice in one second keeps both.  Without a chosen folder they
go to the platform's Pictures and Videos folders, where users look for them first.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QStandardPaths
from PyQt6.QtWidgets import QFileDialog, QWidget

from rtstyle.catalog import user_style_dir
from rtstyle.errors import OutputError
from rtstyle.video.images import IMAGE_SUFFIXES, write_image

log = logging.getLogger(__name__)

VIDEO_FILTER = "Videos (*.mp4 *.mkv *.mov *.webm *.avi *.m4v);;All files (*)"
BANK_FILTER = "Style banks (*.safetensors)"
IMAGE_FILTER = f"Images ({' '.join(f'*{suffix}' for suffix in sorted(IMAGE_SUFFIXES))});;All files (*)"


class OutputFiles:
    """Names and writes output files in ``folder`` (None: Pictures / Videos)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder

    def snapshot_path(self) -> Path:
        return self._unique(self._directory(QStandardPaths.StandardLocation.PicturesLocation), ".png")

    def recording_path(self) -> Path:
        return self._unique(self._directory(QStandardPaths.StandardLocation.MoviesLocation), ".mp4")

    def save_snapshot(self, rgb: np.ndarray) -> Path:
        """Write ``uint8 [H,W,3]`` RGB as a new PNG; raises OutputError if that is impossible."""
        return write_image(self.snapshot_path(), rgb)

    def _directory(self, location: QStandardPaths.StandardLocation) -> Path:
        folder = self.folder or Path(QStandardPaths.writableLocation(location) or Path.home())
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{folder}: cannot create the output folder ({exc.strerror})") from exc
        return folder

    @staticmethod
    def _unique(folder: Path, suffix: str) -> Path:
        stem = f"rtstyle-{datetime.now():%Y%m%d-%H%M%S}"
        path = folder / f"{stem}{suffix}"
        number = 2
        while path.exists():
            path = folder / f"{stem}-{number}{suffix}"
            number += 1
        return path

    # -- dialogs -------------------------------------------------------------------------------

    def choose_folder(self, parent: QWidget) -> None:
        start = str(self.folder or Path.home())
        chosen = QFileDialog.getExistingDirectory(parent, "Save snapshots and recordings in", start)
        if chosen:
            self.folder = Path(chosen)

    @staticmethod
    def ask_video_file(parent: QWidget) -> Path | None:
        chosen, _ = QFileDialog.getOpenFileName(parent, "Play a video file in a loop", str(Path.home()), VIDEO_FILTER)
        return Path(chosen) if chosen else None

    @staticmethod
    def ask_bank_file(parent: QWidget) -> Path | None:
        chosen, _ = QFileDialog.getOpenFileName(parent, "Open a style bank", str(user_style_dir()), BANK_FILTER)
        return Path(chosen) if chosen else None

    @staticmethod
    def ask_mask_image(parent: QWidget) -> Path | None:
        chosen, _ = QFileDialog.getOpenFileName(parent, "Regions from a grey mask (dark = first region)",
                                                str(Path.home()), IMAGE_FILTER)
        return Path(chosen) if chosen else None

    @staticmethod
    def ask_pictures(parent: QWidget) -> list[Path]:
        """Pictures to paint like (several at once: a user adding paintings often has a folder of them)."""
        chosen, _ = QFileDialog.getOpenFileNames(parent, "Add paintings as styles", str(Path.home()), IMAGE_FILTER)
        return [Path(path) for path in chosen]
