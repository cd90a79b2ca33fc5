"""What a user names as a video source, parsed once for ``convert``, ``gui --source`` and the settings.

Four kinds, told apart by spelling so that no guessing at run time is needed: ``camera:N`` (or a
bare ``N``) is an OpenCV camera, ``-`` is standard input (a pipe or a redirected file), anything
FFmpeg opens by protocol (``rtsp://``, ``http(s)://``, ``udp://``, ``tcp://``, ...) is a network
stream, and the rest is a file path.  ``str()`` gives the spelling back, which is what the window
stores in its settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rtstyle.errors import InputError
from rtstyle.video.reader import is_url

CAMERA_PREFIX = "camera:"
#: How standard input and standard output are named on the command line, as ffmpeg does.
STANDARD_STREAM = "-"


@dataclass(frozen=True)
class SourceSpec:
    """Exactly one of: a camera index, a file path, a URL, or standard input."""

    camera: int | None = None
    path: Path | None = None
    url: str | None = None
    stdin: bool = False

    @classmethod
    def parse(cls, text: str) -> SourceSpec:
        """Read a ``--source``/``IN`` spelling (see the module docstring)."""
        text = text.strip()
        if not text:
            raise InputError("empty source: use camera:N, a video file, a URL or - for standard input")
        if text == STANDARD_STREAM:
            return cls(stdin=True)
        if is_url(text):
            return cls(url=text)
        number = text[len(CAMERA_PREFIX):] if text.lower().startswith(CAMERA_PREFIX) else text
        if number.isdigit():
            return cls(camera=int(number))
        if text.lower().startswith(CAMERA_PREFIX):
            raise InputError(f"invalid source {text!r}: expected camera:N with N a number")
        # Absolute, so the saved setting still finds the file when started from elsewhere.
        return cls(path=Path(text).expanduser().absolute())

    @property
    def is_camera(self) -> bool:
        return self.camera is not None

    @property
    def is_live(self) -> bool:
        """Cameras and network streams run in real time and may drop; files and pipes end."""
        return self.camera is not None or self.url is not None

    @property
    def label(self) -> str:
        """What the source picker and messages show."""
        if self.camera is not None:
            return f"Camera {self.camera}"
        if self.path is not None:
            return self.path.name
        return self.url if self.url is not None else "standard input"

    def __str__(self) -> str:
        if self.camera is not None:
            return f"{CAMERA_PREFIX}{self.camera}"
        if self.path is not None:
            return str(self.path)
        return self.url if self.url is not None else STANDARD_STREAM
