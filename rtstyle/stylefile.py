"""Style bank files: safetensors weights + JSON metadata, in one file.

A style bank is one generator that holds several styles (conditional instance norm), optionally
with its fusion network F.  The file is a plain safetensors file: tensors ``generator.*`` are the
generator's weights, ``fusion.*`` F's (when the bank has one), ``thumbnails.<i>`` are small uint8
previews, and the header's ``__metadata__["rtstyle"]`` is a JSON document with the format version,
the architecture configs (``generator``, and ``fusion`` when present), the style names and the
training provenance.  Files without F stay valid: F is optional at every step.

Loading never executes anything from the file (safetensors holds raw arrays only, and the JSON
picks an architecture from a fixed registry) and checks every tensor against the architecture the
JSON declares, so a truncated, hand-edited or hostile file fails with a message saying what is
wrong instead of producing garbage or a traceback.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from rtstyle.errors import ModelFileError
from rtstyle.models.fusion import FusionConfig, FusionNet
from rtstyle.models.generator import GeneratorConfig, StyleGenerator

FORMAT_NAME = "rtstyle-style-bank"
FORMAT_VERSION = 1
METADATA_KEY = "rtstyle"
STYLE_FILE_SUFFIX = ".safetensors"
THUMBNAIL_SIZE = 96
_GENERATOR_PREFIX = "generator."
_FUSION_PREFIX = "fusion."
_THUMBNAIL_PREFIX = "thumbnails."
_MAX_STYLES = 256
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class StyleInfo:
    """One style of a bank: a short ``name`` used on the command line, a human ``title``."""

    name: str
    title: str
    source: str = ""  # where the style came from, e.g. the painting's file name


@dataclass
class StyleBank:
    """A loaded (or about to be saved) style bank."""

    config: GeneratorConfig
    styles: list[StyleInfo]
    state_dict: dict[str, torch.Tensor]
    thumbnails: dict[str, np.ndarray] = field(default_factory=dict)  # style name → uint8 [h,w,3]
    preset: str = ""
    training: dict[str, Any] = field(default_factory=dict)  # provenance: command, data, steps, metrics
    path: Path | None = None
    fusion_config: FusionConfig | None = None  # the bank's fusion network F, when it has one
    fusion_state: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def has_fusion(self) -> bool:
        return self.fusion_config is not None

    @property
    def style_names(self) -> list[str]:
        return [style.name for style in self.styles]

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(STYLE_FILE_SUFFIX) if self.path else "unsaved"

    def build_generator(self) -> StyleGenerator:
        """Instantiate the generator with this bank's weights, in eval mode, on the CPU."""
        generator = StyleGenerator(self.config)
        generator.load_state_dict(self.state_dict, strict=True)
        return generator.eval()

    def build_fusion(self) -> FusionNet:
        """Instantiate F with this bank's weights, in eval mode, on the CPU (the bank must have F)."""
        if self.fusion_config is None:
            raise ValueError(f"style bank {self.name} has no fusion network")
        fusion = FusionNet(self.fusion_config)
        fusion.load_state_dict(self.fusion_state, strict=True)
        return fusion.eval()

    def with_fusion(self, fusion: FusionNet | None) -> StyleBank:
        """This bank with ``fusion``'s weights as its F (or without F for None)."""
        if fusion is None:
            return replace(self, fusion_config=None, fusion_state={})
        return replace(self, fusion_config=fusion.config, fusion_state=_cpu_state(fusion))

    @classmethod
    def from_generator(
        cls,
        generator: StyleGenerator,
        styles: list[StyleInfo],
        *,
        thumbnails: dict[str, np.ndarray] | None = None,
        preset: str = "",
        training: dict[str, Any] | None = None,
    ) -> StyleBank:
        return cls(generator.config, list(styles), _cpu_state(generator), dict(thumbnails or {}), preset, dict(training or {}))


def _cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in module.state_dict().items()}


def make_thumbnail(rgb: np.ndarray, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """Centre-crop to a square and resize to ``size``×``size`` (uint8 RGB) for style galleries."""
    import cv2  # local: only writers of style files need it

    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = np.ascontiguousarray(rgb[top : top + side, left : left + side])
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)


def save_style_bank(bank: StyleBank, path: str | os.PathLike) -> Path:
    """Write ``bank`` to ``path`` atomically (temporary file beside it, then rename)."""
    destination = Path(path)
    _validate_styles(bank.styles, bank.config.num_styles)
    tensors = {_GENERATOR_PREFIX + k: v.detach().to("cpu").contiguous() for k, v in bank.state_dict.items()}
    if bank.fusion_config is not None:
        tensors.update({_FUSION_PREFIX + k: v.detach().to("cpu").contiguous() for k, v in bank.fusion_state.items()})
    style_entries = []
    for index, style in enumerate(bank.styles):
        entry: dict[str, Any] = {"name": style.name, "title": style.title, "source": style.source}
        thumbnail = bank.thumbnails.get(style.name)
        if thumbnail is not None:
            key = f"{_THUMBNAIL_PREFIX}{index}"
            tensors[key] = torch.from_numpy(np.ascontiguousarray(thumbnail, dtype=np.uint8))
            entry["thumbnail"] = key
        style_entries.append(entry)
    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "architecture": "StyleGenerator",
        "generator": bank.config.to_dict(),
        "preset": bank.preset,
        "styles": style_entries,
        "training": bank.training,
    }
    if bank.fusion_config is not None:
        document["fusion"] = bank.fusion_config.to_dict()
    metadata = {METADATA_KEY: json.dumps(document, sort_keys=True)}
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent)
    os.close(handle)
    try:
        save_file(tensors, temporary, metadata=metadata)
        # mkstemp makes the file 0600; a style file is meant to be shared, so honour the umask.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    bank.path = destination
    return destination


def read_bank_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check only the JSON header (cheap: no tensor is loaded)."""
    file = Path(path)
    with _open_safetensors(file) as handle:
        return _parse_metadata(file, handle.metadata())


def load_style_bank(path: str | os.PathLike) -> StyleBank:
    """Load and validate a style bank; raises :class:`ModelFileError` explaining any problem."""
    file = Path(path)
    with _open_safetensors(file) as handle:
        document = _parse_metadata(file, handle.metadata())
        try:
            config = GeneratorConfig.from_dict(document["generator"])
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"{file}: invalid generator config: {exc}") from None
        styles = _parse_styles(file, document["styles"], config.num_styles)
        fusion_config = _parse_fusion_config(file, document.get("fusion"))
        keys = set(handle.keys())
        state = _tensors_with_prefix(handle, keys, _GENERATOR_PREFIX)
        fusion_state = _tensors_with_prefix(handle, keys, _FUSION_PREFIX)
        thumbnails = _read_thumbnails(file, handle, document["styles"], keys)
    _check_weights(file, "generator", StyleGenerator, config, state)
    if fusion_config is not None:
        _check_weights(file, "fusion network", FusionNet, fusion_config, fusion_state)
    elif fusion_state:
        raise ModelFileError(f"{file}: has fusion tensors but no 'fusion' config")
    return StyleBank(
        config=config,
        styles=styles,
        state_dict={k: v.to(torch.float32) for k, v in state.items()},
        thumbnails=thumbnails,
        preset=str(document.get("preset", "")),
        training=document.get("training") if isinstance(document.get("training"), dict) else {},
        path=file,
        fusion_config=fusion_config,
        fusion_state={k: v.to(torch.float32) for k, v in fusion_state.items()},
    )


def _tensors_with_prefix(handle: Any, keys: set[str], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: handle.get_tensor(k) for k in keys if k.startswith(prefix)}


def _parse_fusion_config(path: Path, data: Any) -> FusionConfig | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ModelFileError(f"{path}: 'fusion' must be a config object")
    try:
        return FusionConfig.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: invalid fusion config: {exc}") from None


class _open_safetensors:
    """``safe_open`` that turns every way of failing into a one-line ModelFileError."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._context: Any = None

    def __enter__(self) -> Any:
        if not self.path.exists():
            raise ModelFileError(f"{self.path}: style file not found")
        if not self.path.is_file():
            raise ModelFileError(f"{self.path}: not a file")
        try:
            self._context = safe_open(str(self.path), framework="pt", device="cpu")
            return self._context.__enter__()
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelFileError(f"{self.path}: not a valid safetensors style file ({detail})") from None

    def __exit__(self, *exc_info: object) -> None:
        self._context.__exit__(*exc_info)


def _parse_metadata(path: Path, metadata: dict[str, str] | None) -> dict[str, Any]:
    if not metadata or METADATA_KEY not in metadata:
        raise ModelFileError(f"{path}: safetensors file has no rtstyle metadata (not a style bank)")
    try:
        document = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: style metadata is not valid JSON ({exc.msg})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path}: metadata does not describe an {FORMAT_NAME}")
    version = document.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: missing or invalid format_version")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: style file format {version} is newer than this rtstyle understands "
            f"({FORMAT_VERSION}); upgrade rtstyle"
        )
    if document.get("architecture") != "StyleGenerator":
        raise ModelFileError(f"{path}: unknown architecture {document.get('architecture')!r}")
    if not isinstance(document.get("generator"), dict) or not isinstance(document.get("styles"), list):
        raise ModelFileError(f"{path}: metadata lacks 'generator' config or 'styles' list")
    return document


def _parse_styles(path: Path, entries: list[Any], num_styles: int) -> list[StyleInfo]:
    styles = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ModelFileError(f"{path}: each style entry needs a 'name' string")
        name = entry["name"]
        styles.append(StyleInfo(name, str(entry.get("title") or name), str(entry.get("source") or "")))
    try:
        _validate_styles(styles, num_styles)
    except ValueError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    return styles


def _validate_styles(styles: list[StyleInfo], num_styles: int) -> None:
    if len(styles) != num_styles:
        raise ValueError(f"generator has {num_styles} style slots but {len(styles)} styles are named")
    if num_styles > _MAX_STYLES:
        raise ValueError(f"too many styles ({num_styles} > {_MAX_STYLES})")
    names = [style.name for style in styles]
    bad = [n for n in names if not _NAME_PATTERN.match(n)]
    if bad:
        raise ValueError(f"invalid style name(s) {bad}: use letters, digits, '_', '-', '.'")
    if len(set(names)) != len(names):
        raise ValueError(f"style names are not unique: {names}")


def _read_thumbnails(path: Path, handle: Any, entries: list[dict], keys: set[str]) -> dict[str, np.ndarray]:
    thumbnails = {}
    for entry in entries:
        key = entry.get("thumbnail")
        if key is None:
            continue
        if key not in keys or not str(key).startswith(_THUMBNAIL_PREFIX):
            raise ModelFileError(f"{path}: thumbnail {key!r} of style {entry['name']!r} is missing")
        image = handle.get_tensor(key)
        if image.dtype != torch.uint8 or image.ndim != 3 or image.shape[2] != 3 or max(image.shape[:2]) > 512:
            raise ModelFileError(f"{path}: thumbnail {key!r} must be uint8 [h,w,3] at most 512 px")
        thumbnails[entry["name"]] = image.numpy()
    return thumbnails


def _check_weights(
    path: Path, label: str, architecture: Callable[[Any], torch.nn.Module], config: Any, state: dict[str, torch.Tensor]
) -> None:
    """Compare the file's tensors with the declared architecture, name by name and shape by shape."""
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in architecture(config).state_dict().items()}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s) e.g. {missing[:3]}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} tensor(s) e.g. {unexpected[:3]}")
        raise ModelFileError(f"{path}: {label} weights do not match the declared architecture: {'; '.join(parts)}")
    for key, shape in expected.items():
        tensor = state[key]
        if tuple(tensor.shape) != shape:
            raise ModelFileError(f"{path}: tensor {key!r} has shape {tuple(tensor.shape)}, expected {shape}")
        if not tensor.is_floating_point():
            raise ModelFileError(f"{path}: tensor {key!r} has dtype {tensor.dtype}, expected floating point")
        if not bool(torch.isfinite(tensor).all()):
            raise ModelFileError(f"{path}: tensor {key!r} contains NaN or infinite values")


__all__ = [
    "FORMAT_VERSION",
    "STYLE_FILE_SUFFIX",
    "StyleBank",
    "StyleInfo",
    "load_style_bank",
    "make_thumbnail",
    "read_bank_metadata",
    "save_style_bank",
]
