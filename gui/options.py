"""What ``rtstyle gui`` was asked for on the command line.

Every field is optional: ``None`` means "what the user chose last time" (the saved settings),
so command-line options override the settings only when they are actually given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rtstyle.scale_control import AUTO_SCALE

#: A working resolution choice: auto (:data:`AUTO_SCALE`), or a fixed fraction of the frame size.
Scale = float | Literal["auto"]


@dataclass(frozen=True)
class WindowOptions:
    source: str | None = None  # camera:N or a video file path
    model: str | None = None  # bank name, preset or .safetensors path (as --model)
    styles: tuple[str, ...] = ()  # NAME[=WEIGHT] specs (as --style)
    strength: float | None = None
    keep_colors: bool | None = None
    scale: Scale | None = None
    backend: str | None = None  # a name from rtstyle.backends.registry.backend_names()
    device: str | None = None
    dtype: str = "auto"
    settings_path: Path | None = None  # INI file instead of the per-user settings
    fullscreen: bool = False
    screenshot: Path | None = None  # grab the window to this PNG once frames show, then quit
