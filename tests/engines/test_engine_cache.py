"""The TensorRT engine cache key and lookup (pure Python: runs without TensorRT or a GPU)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from rtstyle_engines.engine_cache import EngineCache, EngineKey, ShapeProfile

PROFILE = ShapeProfile((1, 32, 32), (4, 1080, 1920), (4, 1080, 1920))
KEY = EngineKey("ab" * 32, "10.7.0", "NVIDIA H200", "fp16", (PROFILE,))


@pytest.mark.parametrize(
    "change",
    [
        {"onnx_sha256": "cd" * 32},
        {"tensorrt_version": "10.8.0"},
        {"gpu_name": "NVIDIA H100 80GB HBM3"},
        {"precision": "fp32"},
        {"profiles": (ShapeProfile((1, 32, 32), (4, 720, 1280), (4, 720, 1280)),)},
        {"profiles": (ShapeProfile((1, 32, 32), (2, 1080, 1920), (4, 1080, 1920)),)},
        {"profiles": (PROFILE, ShapeProfile((1, 720, 1280), (1, 720, 1280), (1, 720, 1280)))},
    ],
)
def test_key_changes_when_any_part_changes(change: dict) -> None:
    assert dataclasses.replace(KEY, **change).digest() != KEY.digest()


def test_key_is_stable_and_validated() -> None:
    assert EngineKey(**{f.name: getattr(KEY, f.name) for f in dataclasses.fields(KEY)}).digest() == KEY.digest()
    with pytest.raises(ValueError, match="precision"):
        dataclasses.replace(KEY, precision="int4")
    with pytest.raises(ValueError, match="profile"):
        dataclasses.replace(KEY, profiles=())
    with pytest.raises(ValueError, match="min <= opt <= max"):
        ShapeProfile((1, 64, 64), (1, 32, 32), (1, 64, 64))


def test_profile_covers_and_up_to() -> None:
    profile = ShapeProfile.up_to((4, 360, 640), min_size=32)
    assert profile.covers((4, 360, 640)) and profile.covers((1, 32, 100))
    assert not profile.covers((5, 360, 640)) and not profile.covers((1, 361, 640))


def test_store_then_lookup_round_trips(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path)
    path = cache.store(KEY, b"engine-bytes")
    assert cache.lookup(KEY) == path and path.read_bytes() == b"engine-bytes"
    assert cache.lookup(dataclasses.replace(KEY, tensorrt_version="10.8.0")) is None
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_stale_or_damaged_engine_is_discarded_never_loaded(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path)
    engine, sidecar = cache.paths(KEY)
    cache.store(KEY, b"engine-bytes")
    engine.write_bytes(b"half-written")  # e.g. a crash, or a copy from elsewhere
    assert cache.lookup(KEY) is None
    assert not engine.exists() and not sidecar.exists()

    cache.store(KEY, b"engine-bytes")
    record = json.loads(sidecar.read_text())
    record["key"]["tensorrt_version"] = "9.0.0"  # a sidecar that describes another build
    sidecar.write_text(json.dumps(record))
    assert cache.lookup(KEY) is None and not engine.exists()


def test_find_covering_reuses_an_engine_built_ahead(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path)
    ahead = dataclasses.replace(KEY, profiles=(
        ShapeProfile((1, 720, 1280), (4, 720, 1280), (4, 720, 1280)),
        ShapeProfile((1, 1080, 1920), (4, 1080, 1920), (4, 1080, 1920)),
    ))
    built = cache.store(ahead, b"prebuilt")
    wanted = dataclasses.replace(KEY, profiles=(ShapeProfile.up_to((2, 1080, 1920), 32),))
    assert cache.find_covering(wanted, (2, 1080, 1920)) == (built, 1)
    assert cache.find_covering(wanted, (8, 1080, 1920)) is None  # batch beyond every profile
    other_gpu = dataclasses.replace(wanted, gpu_name="NVIDIA L4")
    assert cache.find_covering(other_gpu, (2, 1080, 1920)) is None
