"""Paintings as styles in the window: reading the pictures a user adds, and the saved ones.

Reading a picture's style (decoding it, running the style predictor) takes 50-300 ms, long enough
to stutter the live view, so :class:`PictureReader` reads and saves pictures in a thread of its
own.  One picture at a time: two pictures dropped together with the same file name then get two
names (``name``, ``name_2``), never one file written over the other.  Every any-style bank the
window loads gets the saved pictures as styles (:func:`with_saved_pictures`), which is how a
painting added once is there again after a restart.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from rtstyle.picture_styles import (
    SUFFIX, PictureStyle, extra_styles, list_picture_styles, name_from_path, picture_dir, read_picture_style,
    save_picture_style, unique_name,
)
from rtstyle.stylefile import StyleBank

log = logging.getLogger(__name__)

_JOIN_S = 10.0  # a few pictures still queued when the window closes, each read and saved


def saved_picture_names() -> set[str]:
    """Names of the picture styles saved in the style directory, readable or not (files are names)."""
    directory = picture_dir()
    return {path.name.removesuffix(SUFFIX) for path in directory.glob(f"*{SUFFIX}")} if directory.is_dir() else set()


def with_saved_pictures(bank: StyleBank) -> tuple[StyleBank, list[str]]:
    """Any-style ``bank`` with every saved picture style after its own, and a note per one left out."""
    pictures, broken = list_picture_styles()
    notes = [f"skipped a saved painting: {reason}" for _path, reason in broken]
    own = set(bank.style_names)
    usable = []
    for picture in pictures:
        if picture.name in own:
            notes.append(f"skipped the saved painting {picture.name!r}: {bank.name} has a style of that name")
        else:
            usable.append(picture)
    return (bank.with_extra_styles(*extra_styles(usable)) if usable else bank), notes


class PictureReader(threading.Thread):
    """Reads each submitted picture as a style and saves it under a free name; callbacks run here.

    ``on_read(style, notes)`` follows a saved picture (``notes``: what reads poorly, one line
    each), ``on_error(path, exc)`` a picture that could not be read or saved.
    """

    def __init__(self, on_read: Callable[[PictureStyle, list[str]], None],
                 on_error: Callable[[Path, BaseException], None]) -> None:
        super().__init__(name="rtstyle-picture", daemon=True)
        self._on_read = on_read
        self._on_error = on_error
        self._jobs: queue.SimpleQueue[tuple[Path, frozenset[str]] | None] = queue.SimpleQueue()

    def submit(self, path: Path, taken: frozenset[str]) -> None:
        """Read ``path`` after the pictures before it; its name avoids ``taken`` and every saved one."""
        self._jobs.put((path, taken))

    def run(self) -> None:
        while (job := self._jobs.get()) is not None:
            path, taken = job
            notes: list[str] = []
            try:
                name = unique_name(name_from_path(path), taken | saved_picture_names())
                style = read_picture_style(path, name=name, notes=notes)
                save_picture_style(style)
            except Exception as exc:  # noqa: BLE001 - shown in the window, which keeps running
                log.warning("adding the picture %s failed: %s", path, exc)
                self._on_error(path, exc)
                continue
            self._on_read(style, notes)

    def stop(self) -> None:
        """Finish the pictures already submitted (a user who added one expects it kept), then end."""
        self._jobs.put(None)
        if self.is_alive() and threading.current_thread() is not self:
            self.join(_JOIN_S)
