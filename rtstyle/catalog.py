"""Finding style banks: bundled with the package and in the user's style directory.

A bank is named by its file name without ``.safetensors``.  The user directory is searched first
so a user can replace a bundled bank by dropping a file of the same name there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from rtstyle.errors import ModelFileError, StyleNotFoundError
from rtstyle.stylefile import STYLE_FILE_SUFFIX, read_bank_metadata

BUNDLED_DIR = Path(__file__).resolve().parent / "styles"
#: Overrides the per-user style directory (tests, portable installs).
STYLE_DIR_ENV = "RTSTYLE_STYLE_DIR"
#: Bundled bank used for each model preset when the user names none.
DEFAULT_BANKS = {"fast": "paintings-fast", "quality": "paintings-quality"}


@dataclass(frozen=True)
class BankEntry:
    """What ``rtstyle styles`` shows for one bank file; ``error`` is set for unreadable files."""

    name: str
    path: Path
    source: str  # "user" or "bundled"
    preset: str = ""
    styles: tuple[str, ...] = ()
    error: str | None = None


def user_style_dir() -> Path:
    override = os.environ.get(STYLE_DIR_ENV)
    return Path(override) if override else platformdirs.user_data_path("rtstyle") / "styles"


def _search_dirs() -> list[tuple[str, Path]]:
    return [("user", user_style_dir()), ("bundled", BUNDLED_DIR)]


def list_banks() -> list[BankEntry]:
    """Every bank file found, user ones first; broken files are listed with their error."""
    entries = []
    for source, directory in _search_dirs():
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob(f"*{STYLE_FILE_SUFFIX}")):
            name = path.name.removesuffix(STYLE_FILE_SUFFIX)
            try:
                document = read_bank_metadata(path)
            except ModelFileError as exc:
                entries.append(BankEntry(name, path, source, error=str(exc)))
                continue
            styles = tuple(str(s.get("name", "?")) for s in document["styles"] if isinstance(s, dict))
            entries.append(BankEntry(name, path, source, str(document.get("preset", "")), styles))
    return entries


def default_preset(device_type: str) -> str:
    """Real time first: the small network on CPUs, the Johnson-sized one on GPUs."""
    return "quality" if device_type == "cuda" else "fast"


def resolve_bank(spec: str | None, device_type: str = "cpu") -> Path:
    """Path of the bank named by ``spec``: a file path, a bank name, a preset, or None (default)."""
    if spec is None or spec in DEFAULT_BANKS:
        return _default_bank_path(spec or default_preset(device_type))
    candidate = Path(spec).expanduser()
    looks_like_path = spec.endswith(STYLE_FILE_SUFFIX) or os.sep in spec or candidate.exists()
    if looks_like_path:
        if not candidate.exists():
            raise ModelFileError(f"{spec}: style file not found")
        return candidate
    for _source, directory in _search_dirs():
        path = directory / f"{spec}{STYLE_FILE_SUFFIX}"
        if path.is_file():
            return path
    known = sorted({entry.name for entry in list_banks()})
    raise StyleNotFoundError(
        f"no style bank named {spec!r}; installed: {', '.join(known) or 'none'} (see 'rtstyle styles')"
    )


def _default_bank_path(preset: str) -> Path:
    for candidate_preset in (preset, *[p for p in DEFAULT_BANKS if p != preset]):
        name = DEFAULT_BANKS[candidate_preset]
        for _source, directory in _search_dirs():
            path = directory / f"{name}{STYLE_FILE_SUFFIX}"
            if path.is_file():
                return path
    raise StyleNotFoundError(
        f"no bundled style bank found in {BUNDLED_DIR}; the installation is incomplete — reinstall rtstyle"
    )
