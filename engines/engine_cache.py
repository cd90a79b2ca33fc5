"""The TensorRT engine cache: what an engine was built from, and finding one that fits.

A serialized engine is only valid for the exact graph, TensorRT version and GPU model it was
built on, at the precision and shape ranges (optimization profiles) it was built for.
:class:`EngineKey` holds all of these; its digest names the cached file, and a JSON sidecar
beside it records the key and the engine's own hash.  A lookup loads an engine only if the
sidecar's key equals the wanted key and the file's hash matches, so a stale or half-written
engine is rebuilt, never loaded (TensorRT may crash or silently misbehave on a foreign engine).
This module is pure Python: the key logic is tested without TensorRT or a GPU.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Bumped when the way engines are built changes (flags, layer precisions), so old ones rebuild.
ENGINE_FORMAT = 1
PRECISIONS = ("fp32", "fp16", "bf16")

Shape = tuple[int, int, int]  # (batch, height, width) of the ``image`` input


@dataclass(frozen=True)
class ShapeProfile:
    """One optimization profile: the smallest, the tuned-for and the largest ``(N, H, W)``."""

    min: Shape
    opt: Shape
    max: Shape

    def __post_init__(self) -> None:
        for name in ("min", "opt", "max"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        if any(v < 1 for v in self.min) or not all(a <= b <= c for a, b, c in zip(self.min, self.opt, self.max)):
            raise ValueError(f"invalid profile: need 1 <= min <= opt <= max, got {self.min} {self.opt} {self.max}")

    def covers(self, shape: Shape) -> bool:
        return all(lo <= s <= hi for lo, s, hi in zip(self.min, shape, self.max))

    @classmethod
    def up_to(cls, shape: Shape, min_size: int) -> ShapeProfile:
        """Tuned for ``shape``; also runs anything smaller (a short last batch, a smaller frame)."""
        batch, height, width = shape
        return cls((1, min(min_size, height), min(min_size, width)), shape, shape)


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine depends on; equal keys mean an engine can be reused."""

    onnx_sha256: str
    tensorrt_version: str
    gpu_name: str
    precision: str
    profiles: tuple[ShapeProfile, ...]

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not self.profiles:
            raise ValueError("an engine needs at least one optimization profile")

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["profiles"] = [{k: list(v) for k, v in asdict(p).items()} for p in self.profiles]
        record["format"] = ENGINE_FORMAT
        return record

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()

    def environment(self) -> tuple[str, str, str, str]:
        """The part that must match exactly for any reuse: graph, TensorRT, GPU, precision."""
        return self.onnx_sha256, self.tensorrt_version, self.gpu_name, self.precision


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class EngineCache:
    """Engines in one directory: ``<digest>.engine`` plus ``<digest>.json`` (key + engine hash)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def paths(self, key: EngineKey) -> tuple[Path, Path]:
        stem = key.digest()[:32]
        return self.directory / f"{stem}.engine", self.directory / f"{stem}.json"

    def lookup(self, key: EngineKey) -> Path | None:
        """The engine built for exactly ``key``, or None (and a stale one is removed)."""
        engine, sidecar = self.paths(key)
        return engine if self._valid(engine, sidecar, key.to_json()) else None

    def find_covering(self, key: EngineKey, shape: Shape) -> tuple[Path, int] | None:
        """A cached engine for ``key``'s environment with a profile covering ``shape``, and that
        profile's index — so engines built ahead by ``rtstyle export tensorrt`` are reused."""
        covering = [i for i, profile in enumerate(key.profiles) if profile.covers(shape)]
        exact = self.lookup(key) if covering else None
        if exact is not None:
            return exact, covering[0]
        for sidecar in sorted(self.directory.glob("*.json")):
            record = _read_record(sidecar)
            candidate = _key_from_json(record.get("key")) if record else None
            if candidate is None or candidate.environment() != key.environment():
                continue
            engine = sidecar.with_suffix(".engine")
            for index, profile in enumerate(candidate.profiles):
                if profile.covers(shape) and self._valid(engine, sidecar, candidate.to_json()):
                    return engine, index
        return None

    def store(self, key: EngineKey, engine_bytes: bytes) -> Path:
        """Write the engine, then its sidecar (a crash in between leaves no valid entry)."""
        engine, sidecar = self.paths(key)
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write(engine, engine_bytes)
        record = {"key": key.to_json(), "engine_sha256": hashlib.sha256(engine_bytes).hexdigest()}
        atomic_write(sidecar, json.dumps(record, indent=1, sort_keys=True).encode())
        return engine

    def _valid(self, engine: Path, sidecar: Path, wanted: dict[str, Any]) -> bool:
        if not engine.is_file() or not sidecar.is_file():
            return False
        record = _read_record(sidecar)
        if record and record.get("key") == wanted and record.get("engine_sha256") == file_sha256(engine):
            return True
        log.warning("discarding stale or damaged TensorRT engine %s; it will be rebuilt", engine)
        for path in (engine, sidecar):
            path.unlink(missing_ok=True)
        return False


def _read_record(sidecar: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _key_from_json(data: Any) -> EngineKey | None:
    if not isinstance(data, dict) or data.get("format") != ENGINE_FORMAT:
        return None
    try:
        profiles = tuple(ShapeProfile(p["min"], p["opt"], p["max"]) for p in data["profiles"])
        return EngineKey(data["onnx_sha256"], data["tensorrt_version"], data["gpu_name"], data["precision"], profiles)
    except (KeyError, TypeError, ValueError):
        return None


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename: readers never see half a file.

    ``os.open`` with mode 0o666 (minus the umask), not ``mkstemp``'s 0o600, so an exported file
    gets the permissions any new file of the user gets.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
