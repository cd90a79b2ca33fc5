"""Style bank files: safetensors weights + JSON metadata, in one file.

A style bank is one generator that holds several styles (conditional instance norm), optionally
with its fusion network F.  The file is a plain safetensors file: tensors ``generator.*`` are the
generator's weights, ``fusion.*`` F's (when the bank has one), ``thumbnails.<i>`` are small uint8
previews, and the header's ``__metadata__["rtstyle"]`` is a JSON document with the format version,
the architecture configs (``generator``, and ``fusion`` when present), the style names and the
training provenance.  Files without F stay valid: F is optional at every step.

Loading never executes anything from the file (safetensors holds raw arrays only, the JSON's
``architecture`` is only looked up in the explicit registry :data:`rtstyle.models.registry.GENERATORS`
-- absent, it means :data:`~rtstyle.models.registry.DEFAULT_ARCHITECTURE` -- and a pickle is named
and refused) and checks every tensor against the architecture the JSON declares, so a truncated,
hand-edited or hostile file fails with a message saying what is wrong instead of producing garbage
or a traceback.  Every size the JSON declares is bounded (by the architecture's registered
limits) before anything is derived from it, and the expected names, shapes and dtypes (float32
weights, uint8 thumbnails) are compared with the header, the architecture built on the meta
device, before a tensor is read: a hostile file costs milliseconds, not memory.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from rtstyle.errors import ModelFileError
from rtstyle.models.fusion import FusionConfig, FusionNet
from rtstyle.models.registry import DEFAULT_ARCHITECTURE, Generator, GeneratorSpec, architecture

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
#: The dtypes (safetensors' names) of weights and thumbnails: what ``save_style_bank`` writes.
#: Weights of another dtype would otherwise be converted silently (float64 rounded, half precision
#: missing what training learnt), so a file holding them was not written by rtstyle.
_WEIGHT_DTYPE = "F32"
_THUMBNAIL_DTYPE = "U8"
_MAX_THUMBNAIL_SIDE = 512
#: The least and most each field of F's config may declare, as each generator architecture
#: declares its own (:func:`rtstyle.models.registry.register_generator`): a hostile size is refused
#: before anything is built or allocated from it.  F's rules' fractions are not sizes, and
#: FusionConfig checks them; beyond a ``veto_pool`` of 64 px the veto's grid would be too coarse
#: to see a moving object at all.
_FUSION_LIMITS: dict[str, tuple[int, int]] = {
    "hidden": (1, 1024),
    "scorer_hidden": (1, 1024),
    "gate_stride": (1, 8),
    "veto_pool": (1, 64),
}


@dataclass(frozen=True)
class StyleInfo:
    """One style of a bank: a short ``name`` used on the command line, a human ``title``."""

    name: str
    title: str
    source: str = ""  # where the style came from, e.g. the painting's file name


@dataclass
class StyleBank:
    """A loaded (or about to be saved) style bank."""

    config: GeneratorSpec  # of the architecture named by ``architecture``
    styles: list[StyleInfo]
    state_dict: dict[str, torch.Tensor]
    thumbnails: dict[str, np.ndarray] = field(default_factory=dict)  # style name → uint8 [h,w,3]
    preset: str = ""
    training: dict[str, Any] = field(default_factory=dict)  # provenance: command, data, steps, metrics
    path: Path | None = None
    fusion_config: FusionConfig | None = None  # the bank's fusion network F, when it has one
    fusion_state: dict[str, torch.Tensor] = field(default_factory=dict)
    #: The generator was trained over the style predictor's whole space (``training/any_style.py``),
    #: so any picture's style vector paints, not only the stored ones.
    any_style: bool = False
    #: The generator's registered name (:data:`rtstyle.models.registry.GENERATORS`).
    architecture: str = DEFAULT_ARCHITECTURE

    @property
    def has_fusion(self) -> bool:
        return self.fusion_config is not None

    @property
    def style_names(self) -> list[str]:
        return [style.name for style in self.styles]

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(STYLE_FILE_SUFFIX) if self.path else "unsaved"

    def build_generator(self) -> Generator:
        """Instantiate the generator with this bank's weights, in eval mode, on the CPU."""
        generator = architecture(self.architecture).module(self.config)
        generator.load_state_dict(self.state_dict, strict=True)
        return generator.eval()

    def build_fusion(self) -> FusionNet:
        """Instantiate F with this bank's weights, in eval mode, on the CPU (the bank must have F)."""
        if self.fusion_config is None:
            raise ValueError(f"style bank {self.name} has no fusion network")
        fusion = FusionNet(self.fusion_config)
        fusion.load_state_dict(self.fusion_state, strict=True)
        return fusion.eval()

    def with_extra_styles(
        self, styles: list[StyleInfo], vectors: np.ndarray, thumbnails: dict[str, np.ndarray] | None = None
    ) -> StyleBank:
        """This any-style bank with ``styles`` (style vectors ``[P,D]``) added after its own."""
        if not self.any_style:
            raise ValueError(f"style bank {self.name} paints only its own styles (not an any-style bank)")
        names = [s.name for s in self.styles]
        for style in styles:
            if style.name in names:
                raise ValueError(f"two styles are named {style.name!r}")
            names.append(style.name)
        stored = self.state_dict["style_vectors"]
        added = torch.as_tensor(np.asarray(vectors, np.float32)).reshape(len(styles), stored.shape[1])
        state = {**self.state_dict, "style_vectors": torch.cat([stored, added])}
        config = replace(self.config, num_styles=len(names))
        return replace(self, config=config, styles=[*self.styles, *styles], state_dict=state,
                       thumbnails={**self.thumbnails, **(thumbnails or {})})

    def with_fusion(self, fusion: FusionNet | None) -> StyleBank:
        """This bank with ``fusion``'s weights as its F (or without F for None)."""
        if fusion is None:
            return replace(self, fusion_config=None, fusion_state={})
        return replace(self, fusion_config=fusion.config, fusion_state=_cpu_float32(fusion.state_dict()))

    @classmethod
    def from_generator(
        cls,
        generator: Generator,
        styles: list[StyleInfo],
        *,
        thumbnails: dict[str, np.ndarray] | None = None,
        preset: str = "",
        training: dict[str, Any] | None = None,
    ) -> StyleBank:
        name = architecture(type(generator).architecture).name  # a registered class, or saving would fail
        state = _cpu_float32(generator.state_dict())
        return cls(generator.config, list(styles), state, dict(thumbnails or {}), preset, dict(training or {}),
                   architecture=name)


def _cpu_float32(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weights as banks hold and files store them (the loader accepts float32 only)."""
    return {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in state.items()}


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
    tensors = {_GENERATOR_PREFIX + k: v for k, v in _cpu_float32(bank.state_dict).items()}
    if bank.fusion_config is not None:
        tensors.update({_FUSION_PREFIX + k: v for k, v in _cpu_float32(bank.fusion_state).items()})
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
        "architecture": bank.architecture,
        "generator": bank.config.to_dict(),
        "preset": bank.preset,
        "styles": style_entries,
        "training": bank.training,
    }
    if bank.fusion_config is not None:
        document["fusion"] = bank.fusion_config.to_dict()
    if bank.any_style:
        document["any_style"] = True
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
            arch = architecture(document.get("architecture", DEFAULT_ARCHITECTURE))
        except ValueError as exc:
            raise ModelFileError(f"{file}: {exc}") from None
        config = _parse_config(file, "generator", arch.config, document["generator"], arch.limits, arch.max_items)
        styles = _parse_styles(file, document["styles"], config.num_styles)
        fusion = document.get("fusion")
        fusion_config = None if fusion is None else _parse_config(file, "fusion", FusionConfig, fusion, _FUSION_LIMITS)
        # Names, shapes and dtypes come from the header: no tensor is read until all of them match.
        layout = _header_layout(handle)
        generator_layout, fusion_layout = _with_prefix(layout, _GENERATOR_PREFIX), _with_prefix(layout, _FUSION_PREFIX)
        _check_layout(file, "generator", arch.module, config, generator_layout)
        if fusion_config is not None:
            _check_layout(file, "fusion network", FusionNet, fusion_config, fusion_layout)
        elif fusion_layout:
            raise ModelFileError(f"{file}: has fusion tensors but no 'fusion' config")
        thumbnail_keys = _thumbnail_keys(file, document["styles"], layout)
        state = _read_weights(file, handle, _GENERATOR_PREFIX, generator_layout)
        fusion_state = _read_weights(file, handle, _FUSION_PREFIX, fusion_layout)
        thumbnails = {name: handle.get_tensor(key).numpy() for name, key in thumbnail_keys.items()}
    any_style = document.get("any_style", False)
    if type(any_style) is not bool or (any_style and not config.style_dim):
        raise ModelFileError(f"{file}: 'any_style' must be true or false, and true only for a style-vector generator")
    preset, training = document.get("preset"), document.get("training")
    return StyleBank(
        config=config,
        styles=styles,
        state_dict=state,
        thumbnails=thumbnails,
        preset=preset if isinstance(preset, str) else "",
        training=training if isinstance(training, dict) else {},
        path=file,
        fusion_config=fusion_config,
        fusion_state=fusion_state,
        any_style=any_style,
        architecture=arch.name,
    )


def _header_layout(handle: Any) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Each tensor's dtype (safetensors' name, e.g. ``F32``) and shape, from the header alone."""
    slices = {key: handle.get_slice(key) for key in handle.keys()}
    return {key: (piece.get_dtype(), tuple(piece.get_shape())) for key, piece in slices.items()}


def _with_prefix(mapping: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The entries under ``prefix``, named without it (as the module's ``state_dict`` names them)."""
    return {k[len(prefix) :]: v for k, v in mapping.items() if k.startswith(prefix)}


def _parse_config(
    path: Path, label: str, cls: Any, data: Any, limits: Mapping[str, tuple[int, int]],
    max_items: Mapping[str, int] | None = None,
) -> Any:
    """``cls.from_dict(data)`` once every field is an integer within ``limits`` (the fields of
    ``max_items``: a list of at most that many): the config's own checks are about meaning, and a
    size must be bounded before anything is built from it."""
    if not isinstance(data, dict):
        raise ModelFileError(f"{path}: {label!r} must be a config object")
    lists = max_items or {}
    for key, value in data.items():
        if key not in limits:
            continue  # from_dict names unknown keys
        if key in lists:
            if not isinstance(value, list) or not 1 <= len(value) <= lists[key]:
                raise ModelFileError(
                    f"{path}: invalid {label} config: {key} must be a list of 1 to {lists[key]} integers"
                )
            for item in value:
                _check_field(path, label, key, item, limits[key])
        else:
            _check_field(path, label, key, value, limits[key])
    try:
        return cls.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: invalid {label} config: {exc}") from None


def _check_field(path: Path, label: str, key: str, value: Any, limits: tuple[int, int]) -> None:
    """One size from the file: a JSON integer (not a bool, float or string) within ``limits``."""
    low, high = limits
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return
    shown = f"a {type(value).__name__}" if isinstance(value, (list, dict)) else json.dumps(value)
    raise ModelFileError(f"{path}: invalid {label} config: {key} = {shown:.40} is not an integer from {low} to {high}")


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
            kind = _checkpoint_kind(self.path)
            if kind:
                raise ModelFileError(
                    f"{self.path}: this is {kind}, not a valid safetensors style bank; rtstyle never unpickles files "
                    f"(a training run's checkpoint.pt becomes a bank with: python training/train.py --resume RUN)"
                ) from None
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelFileError(f"{self.path}: not a valid safetensors style file ({detail})") from None

    def __exit__(self, *exc_info: object) -> None:
        self._context.__exit__(*exc_info)


def _checkpoint_kind(path: Path) -> str | None:
    """Name a file safetensors refused when it is a PyTorch checkpoint, the usual wrong file: a
    pickle (protocol 2-5, legacy ``torch.save``) or a zip of pickles (``torch.save`` since 1.6)."""
    try:
        with path.open("rb") as stream:
            head = stream.read(4)
    except OSError:
        return None
    if head.startswith(b"PK\x03\x04"):
        return "a zip of pickles (PyTorch checkpoint)"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "a pickle (PyTorch checkpoint)"
    return None


def _parse_metadata(path: Path, metadata: dict[str, str] | None) -> dict[str, Any]:
    if not metadata or METADATA_KEY not in metadata:
        raise ModelFileError(f"{path}: safetensors file has no rtstyle metadata (not a style bank)")
    try:
        document = json.loads(metadata[METADATA_KEY])
    except (ValueError, RecursionError) as exc:  # also integers over 4300 digits, nesting past the stack
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc).split(":")[0]
        raise ModelFileError(f"{path}: style metadata is not valid JSON ({detail})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path}: metadata does not describe an {FORMAT_NAME}")
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: missing or invalid format_version")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: style file format {version} is newer than this rtstyle understands "
            f"({FORMAT_VERSION}); upgrade rtstyle"
        )
    if not isinstance(document.get("generator"), dict) or not isinstance(document.get("styles"), list):
        raise ModelFileError(f"{path}: metadata lacks 'generator' config or 'styles' list")
    return document


def _parse_styles(path: Path, entries: list[Any], num_styles: int) -> list[StyleInfo]:
    styles = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ModelFileError(f"{path}: each style entry needs a 'name' string")
        name, title, source = entry["name"], entry.get("title") or entry["name"], entry.get("source") or ""
        if not isinstance(title, str) or not isinstance(source, str):
            raise ModelFileError(f"{path}: style {name!r:.70}: 'title' and 'source' must be strings")
        styles.append(StyleInfo(name, title, source))
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


def _thumbnail_keys(path: Path, entries: list[dict], layout: dict[str, tuple[str, tuple[int, ...]]]) -> dict[str, str]:
    """Style name → tensor name of each thumbnail the styles refer to, checked in the header."""
    keys = {}
    for entry in entries:
        key = entry.get("thumbnail")
        if key is None:
            continue
        if not isinstance(key, str) or key not in layout or not key.startswith(_THUMBNAIL_PREFIX):
            raise ModelFileError(f"{path}: thumbnail {key!r:.60} of style {entry['name']!r} is missing")
        dtype, shape = layout[key]
        sides_ok = len(shape) == 3 and shape[2] == 3 and all(1 <= n <= _MAX_THUMBNAIL_SIDE for n in shape[:2])
        if dtype != _THUMBNAIL_DTYPE or not sides_ok:
            raise ModelFileError(
                f"{path}: thumbnail {key!r} is {dtype} {list(shape)}; "
                f"thumbnails must be uint8 (U8) [h,w,3] of 1 to {_MAX_THUMBNAIL_SIDE} px"
            )
        keys[entry["name"]] = key
    return keys


def _check_layout(
    path: Path,
    label: str,
    build: Callable[[Any], torch.nn.Module],
    config: Any,
    layout: dict[str, tuple[str, tuple[int, ...]]],
) -> None:
    """Compare the header's tensors with the declared architecture, name by name, shape by shape
    and dtype by dtype; the architecture is built on the meta device, so nothing is allocated."""
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in build(config).state_dict().items()}
    missing = sorted(set(expected) - set(layout))
    unexpected = sorted(set(layout) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s) e.g. {missing[:3]}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} tensor(s) e.g. {unexpected[:3]}")
        raise ModelFileError(f"{path}: {label} weights do not match the declared architecture: {'; '.join(parts)}")
    for key, shape in expected.items():
        dtype, actual = layout[key]
        if actual != shape:
            raise ModelFileError(f"{path}: tensor {key!r} has shape {actual}, expected {shape}")
        if dtype != _WEIGHT_DTYPE:
            raise ModelFileError(f"{path}: tensor {key!r} has dtype {dtype}; style bank weights must be float32 (F32)")


def _read_weights(path: Path, handle: Any, prefix: str, layout: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Read the tensors :func:`_check_layout` approved, refusing NaN and infinities."""
    state = {key: handle.get_tensor(prefix + key) for key in layout}
    for key, tensor in state.items():
        if not bool(torch.isfinite(tensor).all()):
            raise ModelFileError(f"{path}: tensor {key!r} contains NaN or infinite values")
    return state


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
