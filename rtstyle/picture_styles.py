"""Pictures as styles: a user's painting read into a style vector, kept in the style directory.

A picture style is what an any-style bank needs to paint a picture: its style vector (from
:mod:`rtstyle.style_encoder`), a thumbnail for galleries, a name and a title.  ``rtstyle styles
add`` and the window's "Add painting..." save one as a small safetensors file in
``<style dir>/pictures/`` (no pickles, like banks), where ``rtstyle styles``, ``--style NAME``
and the window find it again.  A picture given directly (``--style-image``) is read the same way
and not saved.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from rtstyle.catalog import user_style_dir
from rtstyle.errors import InputError, ModelFileError
from rtstyle.models.style_predictor import STYLE_DIM
from rtstyle.stylefile import THUMBNAIL_SIZE, StyleInfo, make_thumbnail
from rtstyle.style_encoder import check_picture, style_encoder
from rtstyle.video.atomic import atomic_output
from rtstyle.video.images import read_image

FORMAT_NAME = "rtstyle-picture-style"
FORMAT_VERSION = 1
PICTURE_DIR_NAME = "pictures"
SUFFIX = ".safetensors"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_MAX_FILE_BYTES = 4_000_000  # a vector and a 96-px thumbnail are ~30 kB
_MAX_BASE = 60  # style names are at most 64 characters: room for "_99"


@dataclass(frozen=True)
class PictureStyle:
    """A picture read as a style."""

    name: str
    title: str
    vector: np.ndarray  # float32 [100]
    thumbnail: np.ndarray  # uint8 [h,w,3]
    source: str = ""  # the picture's file name
    sha256: str = ""  # of the picture file


def picture_dir() -> Path:
    return user_style_dir() / PICTURE_DIR_NAME


def name_from_path(path: Path) -> str:
    """A command-line name from a file name: ``My Painting (1).jpg`` → ``my_painting_1``."""
    name = re.sub(r"[^a-z0-9]+", "_", path.stem.lower()).strip("_")[:64]
    return name or "picture"


def unique_name(base: str, taken: Collection[str]) -> str:
    """``base``, else ``base_2``, ``base_3``...: the first name that no style in ``taken`` has."""
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base[:_MAX_BASE]}_{number}"
    return candidate


def extra_styles(pictures: Sequence[PictureStyle]) -> tuple[list[StyleInfo], np.ndarray, dict[str, np.ndarray]]:
    """``pictures`` as what :meth:`StyleBank.with_extra_styles` and ``Stylizer.add_styles`` take."""
    infos = [StyleInfo(p.name, p.title, p.source) for p in pictures]
    return infos, np.stack([p.vector for p in pictures]), {p.name: p.thumbnail for p in pictures}


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InputError(f"invalid style name {name!r}: use letters, digits, '_', '-' or '.', up to 64 characters")
    return name


def read_picture_style(path: str | os.PathLike, *, name: str | None = None, title: str | None = None,
                       notes: list[str] | None = None) -> PictureStyle:
    """Read the picture at ``path`` as a style; what reads poorly is appended to ``notes``."""
    path = Path(path)
    picture = read_image(path)
    found = check_picture(picture, path.name)
    if notes is not None:
        notes.extend(found)
    name = check_name(name or name_from_path(path))
    return PictureStyle(name, title or path.stem.replace("_", " "), style_encoder().vector(picture),
                        make_thumbnail(picture), path.name, hashlib.sha256(path.read_bytes()).hexdigest())


def save_picture_style(style: PictureStyle, *, overwrite: bool = False) -> Path:
    """Write ``style`` into :func:`picture_dir` (atomically); refuses to replace one unless asked."""
    destination = picture_dir() / f"{check_name(style.name)}{SUFFIX}"
    destination.parent.mkdir(parents=True, exist_ok=True)
    document = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "name": style.name, "title": style.title,
                "source": style.source, "sha256": style.sha256}
    tensors = {"vector": torch.from_numpy(np.ascontiguousarray(style.vector, np.float32)),
               "thumbnail": torch.from_numpy(np.ascontiguousarray(style.thumbnail, np.uint8))}
    if destination.exists() and not overwrite:
        raise InputError(f"a picture style named {style.name!r} exists ({destination}); choose another --name "
                         "or remove it with 'rtstyle styles remove'")
    with atomic_output(destination, overwrite=overwrite) as temporary:
        save_file(tensors, str(temporary), metadata={FORMAT_NAME: json.dumps(document)})
    return destination


def load_picture_style(path: str | os.PathLike) -> PictureStyle:
    """Load and check a saved picture style; anything malformed is a :class:`ModelFileError`."""
    path = Path(path)
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise ModelFileError(f"{path}: too large for a picture style")
        with safe_open(str(path), framework="pt") as handle:
            document = json.loads((handle.metadata() or {}).get(FORMAT_NAME, "null"))
            if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
                raise ModelFileError(f"{path}: not an rtstyle picture style")
            if document.get("format_version") != FORMAT_VERSION:
                raise ModelFileError(f"{path}: picture style version {document.get('format_version')!r} is not "
                                     f"{FORMAT_VERSION}; upgrade rtstyle")
            vector, thumbnail = handle.get_tensor("vector"), handle.get_tensor("thumbnail")
    except (OSError, SafetensorError, ValueError, KeyError, RecursionError) as exc:
        raise ModelFileError(f"{path}: unreadable picture style ({exc})") from None
    if vector.dtype != torch.float32 or tuple(vector.shape) != (STYLE_DIM,) or not torch.isfinite(vector).all():
        raise ModelFileError(f"{path}: the style vector must be {STYLE_DIM} finite float32 values")
    if thumbnail.dtype != torch.uint8 or thumbnail.ndim != 3 or thumbnail.shape[2] != 3 or max(thumbnail.shape) > 4 * THUMBNAIL_SIZE:
        raise ModelFileError(f"{path}: the thumbnail must be a small uint8 RGB image")
    fields = [document.get(k, "") for k in ("name", "title", "source", "sha256")]
    if not all(isinstance(f, str) for f in fields) or not _NAME.match(fields[0]):
        raise ModelFileError(f"{path}: name, title, source and sha256 must be strings (and the name a style name)")
    return PictureStyle(fields[0], fields[1], vector.numpy(), thumbnail.numpy(), fields[2], fields[3])


def list_picture_styles() -> tuple[list[PictureStyle], list[tuple[Path, str]]]:
    """Saved picture styles by name, and the files that could not be read (with why)."""
    found, broken = [], []
    directory = picture_dir()
    for path in sorted(directory.glob(f"*{SUFFIX}")) if directory.is_dir() else []:
        try:
            found.append(load_picture_style(path))
        except ModelFileError as exc:
            broken.append((path, str(exc)))
    return found, broken


def find_picture_style(name: str) -> PictureStyle | None:
    path = picture_dir() / f"{name}{SUFFIX}"
    return load_picture_style(path) if _NAME.match(name) and path.is_file() else None


def saved_names_in(specs: Sequence[str]) -> list[str]:
    """The names in ``NAME[=W]`` specs that are saved picture styles (they need an any-style bank)."""
    names = [spec.partition("=")[0].strip() for spec in specs]
    return [name for name in names if _NAME.match(name) and (picture_dir() / f"{name}{SUFFIX}").is_file()]


def remove_picture_style(name: str) -> Path:
    path = picture_dir() / f"{check_name(name)}{SUFFIX}"
    if not path.is_file():
        raise InputError(f"no saved picture style named {name!r} (see 'rtstyle styles')")
    path.unlink()
    return path
