"""Finding style banks: bundled with the package and in the user's style directory.

A bank is named by its file name without ``.safetensors``.  The user directory is searched first
so a user can replace a bundled bank by dropping a file of the same name there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import platformdirs

from rtstyle.errors import ModelFileError, StyleNotFoundError
from rtstyle.stylefile import STYLE_FILE_SUFFIX, read_bank_metadata

BUNDLED_DIR = Path(__file__).resolve().parent / "styles"
#: Overrides the per-user style directory (tests, portable installs).
STYLE_DIR_ENV = "RTSTYLE_STYLE_DIR"
#: The bank used when none is named, on every device: the one that ships with the package.
DEFAULT_BANK = "paintings-fast"
#: ``--model fast`` / ``--model quality`` name the bank trained at that generator preset.  Only
#: the fast one ships (it is what runs at camera rate on a CPU); a quality bank is one a user
#: trains and drops into the style directory under this name.
PRESET_BANKS = {"fast": DEFAULT_BANK, "quality": "paintings-quality"}
#: The bank used for pictures as styles when no ``--model`` is named: its generator paints any
#: style vector (``training/train_any_style.py``), and it holds the default bank's styles too.
ANY_STYLE_BANK = "paintings-any"


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


def resolve_bank(spec: str | None) -> Path:
    """Path of the bank named by ``spec``: a file path, a bank name, a preset, or None (default)."""
    if spec is None:
        return _installed(DEFAULT_BANK) or _incomplete_install()
    if spec in PRESET_BANKS:
        return _installed(PRESET_BANKS[spec]) or _missing_preset(spec)
    candidate = Path(spec).expanduser()
    looks_like_path = spec.endswith(STYLE_FILE_SUFFIX) or os.sep in spec or candidate.exists()
    if looks_like_path:
        if not candidate.exists():
            raise ModelFileError(f"{spec}: style file not found")
        return candidate
    found = _installed(spec)
    if found is not None:
        return found
    known = sorted({entry.name for entry in list_banks()})
    raise StyleNotFoundError(
        f"no style bank named {spec!r}; installed: {', '.join(known) or 'none'} (see 'rtstyle styles')"
    )


def _installed(name: str) -> Path | None:
    """The bank file called ``name`` in the user directory, else the bundled one, else None."""
    for _source, directory in _search_dirs():
        path = directory / f"{name}{STYLE_FILE_SUFFIX}"
        if path.is_file():
            return path
    return None


def _missing_preset(preset: str) -> NoReturn:
    name = PRESET_BANKS[preset]
    raise StyleNotFoundError(
        f"no {preset!r} bank is installed: rtstyle ships {DEFAULT_BANK!r} (--model fast); train one with "
        f"'python training/train.py --preset {preset} ...' and save it as {user_style_dir() / (name + STYLE_FILE_SUFFIX)}"
    )


def _incomplete_install() -> NoReturn:
    raise StyleNotFoundError(
        f"no bundled style bank found in {BUNDLED_DIR}; the installation is incomplete — reinstall rtstyle"
    )
