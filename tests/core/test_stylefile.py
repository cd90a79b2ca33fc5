"""Style files: round trip, and a clear ModelFileError for every kind of bad file."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from factories import tiny_bank, write_tiny_bank
from rtstyle.errors import ModelFileError
from rtstyle.stylefile import FORMAT_VERSION, load_style_bank, read_bank_metadata, save_style_bank


def _raw_metadata(path: Path) -> str:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return handle.metadata()["rtstyle"]


def _rewrite(path: Path, *, document: dict | None = None, tensors: dict | None = None) -> None:
    """Save a modified copy of a valid bank (metadata and/or tensors replaced)."""
    from safetensors.torch import load_file

    original_tensors = load_file(str(path))
    metadata = {"rtstyle": json.dumps(document if document is not None else json.loads(_raw_metadata(path)))}
    save_file(tensors if tensors is not None else original_tensors, str(path), metadata=metadata)


def test_round_trip_keeps_weights_names_thumbnails_and_provenance(tmp_path: Path) -> None:
    bank = tiny_bank(3, seed=5)
    path = save_style_bank(bank, tmp_path / "mine.safetensors")
    loaded = load_style_bank(path)
    assert loaded.style_names == bank.style_names
    assert loaded.config == bank.config
    assert loaded.preset == "tiny" and loaded.training["steps"] == 0
    assert loaded.name == "mine"
    for key, value in bank.state_dict.items():
        torch.testing.assert_close(loaded.state_dict[key], value)
    for name, thumb in bank.thumbnails.items():
        np.testing.assert_array_equal(loaded.thumbnails[name], thumb)
    x = torch.rand(1, 3, 16, 16)
    w = torch.tensor([[0.2, 0.3, 0.5]])
    torch.testing.assert_close(loaded.build_generator()(x, w), bank.build_generator()(x, w))


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    write_tiny_bank(tmp_path / "a.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["a.safetensors"]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        load_style_bank(tmp_path / "nope.safetensors")
    with pytest.raises(ModelFileError, match="not a file"):
        load_style_bank(tmp_path)


def test_random_bytes_and_pickles_are_rejected_without_unpickling(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ModelFileError, match="not a valid safetensors"):
        load_style_bank(garbage)
    pickled = tmp_path / "pickled.safetensors"
    torch.save({"generator.stem.conv.weight": torch.zeros(3)}, pickled)
    with pytest.raises(ModelFileError, match="is a zip of pickles .*never unpickles"):
        load_style_bank(pickled)


def test_hostile_header_length_is_rejected(tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.safetensors"
    hostile.write_bytes(struct.pack("<Q", 2**62) + b"{}")
    with pytest.raises(ModelFileError):
        load_style_bank(hostile)


def test_plain_safetensors_without_metadata(tmp_path: Path) -> None:
    path = tmp_path / "plain.safetensors"
    save_file({"x": torch.zeros(2)}, str(path))
    with pytest.raises(ModelFileError, match="no rtstyle metadata"):
        load_style_bank(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format_version=FORMAT_VERSION + 1), "newer than this rtstyle"),
        (lambda d: d.update(format_version="one"), "format_version"),
        (lambda d: d.update(format="something-else"), "does not describe"),
        (lambda d: d.update(architecture="os.system"), "unknown architecture"),
        (lambda d: d["generator"].update(channels=[4, 16]), "shape"),
        (lambda d: d["generator"].update(evil=1), "invalid generator config"),
        (lambda d: d["styles"].pop(), "style slots"),
        (lambda d: d["styles"][1].update(name=d["styles"][0]["name"]), "not unique"),
        (lambda d: d["styles"][0].update(name="../../etc/passwd"), "invalid style name"),
        (lambda d: d["styles"][0].update(thumbnail="thumbnails.9"), "thumbnail"),
    ],
)
def test_inconsistent_metadata_is_explained(tmp_path: Path, change, message: str) -> None:
    path = write_tiny_bank(tmp_path / "bank.safetensors")
    document = json.loads(_raw_metadata(path))
    change(document)
    _rewrite(path, document=document)
    with pytest.raises(ModelFileError, match=message):
        load_style_bank(path)


def test_metadata_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    save_file({"x": torch.zeros(1)}, str(path), metadata={"rtstyle": "{not json"})
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_style_bank(path)


def test_tensor_problems_are_explained(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    path = write_tiny_bank(tmp_path / "bank.safetensors")
    tensors = load_file(str(path))
    key = "generator.stem.conv.weight"

    missing = dict(tensors)
    del missing[key]
    _rewrite(path, tensors=missing)
    with pytest.raises(ModelFileError, match="missing 1 tensor"):
        load_style_bank(path)

    poisoned = dict(tensors)
    poisoned[key] = torch.full_like(tensors[key], float("nan"))
    _rewrite(path, tensors=poisoned)
    with pytest.raises(ModelFileError, match="NaN"):
        load_style_bank(path)

    wrong_dtype = dict(tensors)
    wrong_dtype[key] = tensors[key].to(torch.int32)
    _rewrite(path, tensors=wrong_dtype)
    with pytest.raises(ModelFileError, match="dtype I32; style bank weights must be float32"):
        load_style_bank(path)

    extra = dict(tensors)
    extra["generator.backdoor.weight"] = torch.zeros(1)
    _rewrite(path, tensors=extra)
    with pytest.raises(ModelFileError, match="unexpected 1 tensor"):
        load_style_bank(path)


def test_metadata_alone_can_be_read_cheaply(tmp_path: Path) -> None:
    path = write_tiny_bank(tmp_path / "bank.safetensors", num_styles=3)
    document = read_bank_metadata(path)
    assert [s["name"] for s in document["styles"]] == ["ink", "ember", "style2"]
    assert document["generator"]["num_styles"] == 3


def test_saved_banks_are_readable_by_others_per_umask(tmp_path: Path) -> None:
    import os

    previous = os.umask(0o022)
    try:
        path = write_tiny_bank(tmp_path / "shared.safetensors")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o644


def test_fusion_network_round_trips_and_stays_optional(tmp_path: Path) -> None:
    from factories import tiny_fusion_bank

    bank = tiny_fusion_bank()
    path = save_style_bank(bank, tmp_path / "fused.safetensors")
    loaded = load_style_bank(path)
    assert loaded.has_fusion and loaded.fusion_config == bank.fusion_config
    for key, tensor in bank.fusion_state.items():
        torch.testing.assert_close(loaded.fusion_state[key], tensor)
    assert "fusion" in json.loads(_raw_metadata(path))
    plain = load_style_bank(save_style_bank(loaded.with_fusion(None), tmp_path / "plain.safetensors"))
    assert not plain.has_fusion and "fusion" not in json.loads(_raw_metadata(plain.path))


def test_fusion_problems_are_explained(tmp_path: Path) -> None:
    from factories import tiny_fusion_bank
    from safetensors.torch import load_file

    path = save_style_bank(tiny_fusion_bank(), tmp_path / "fused.safetensors")
    tensors = load_file(str(path))
    document = json.loads(_raw_metadata(path))

    broken = tmp_path / "missing.safetensors"
    broken.write_bytes(path.read_bytes())
    _rewrite(broken, tensors={k: v for k, v in tensors.items() if k != "fusion.scorer.3.bias"})
    with pytest.raises(ModelFileError, match="fusion network weights do not match"):
        load_style_bank(broken)

    _rewrite(broken, tensors=tensors, document={**document, "fusion": {"hidden": -1}})
    with pytest.raises(ModelFileError, match="invalid fusion config"):
        load_style_bank(broken)

    _rewrite(broken, tensors=tensors, document={k: v for k, v in document.items() if k != "fusion"})
    with pytest.raises(ModelFileError, match="no 'fusion' config"):
        load_style_bank(broken)
