"""Hostile style files: whatever the bytes, loading ends quickly in a bank or a ModelFileError.

A real tiny bank (with F and thumbnails) is damaged in every way a download, a disk or a person can
damage it: random bytes, truncation, bit flips, edited header JSON (sizes, dtypes, shapes, types,
nesting), pickles.  Any other exception, or a load that takes seconds (a network sized by the file
being built), fails the test.  Seeds are fixed, so a failure reproduces.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import random
import struct
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file

from factories import tiny_fusion_bank
from rtstyle import stylefile
from rtstyle.errors import ModelFileError
from rtstyle.models.fusion import FUSION_PRESETS, FusionConfig
from rtstyle.models.generator import PRESETS
from rtstyle.models.registry import DEFAULT_ARCHITECTURE, GENERATORS
from rtstyle.stylefile import load_style_bank, read_bank_metadata, save_style_bank

#: Longest any one load may take: a bound on hanging, not a speed test (each takes milliseconds).
HANG_LIMIT_S = 2.0
#: Values a hostile editor puts anywhere in the JSON.
HOSTILE_VALUES: list[Any] = [
    10**9, 10**18, 2**63, -1, -(10**9), 0, 1.5, 3.0, float("inf"), True, None, "3", "", [], [10**9], {}, {"a": 1},
    [[[[[]]]]], "x" * 10_000,
]


@pytest.fixture(scope="module")
def bank_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return save_style_bank(tiny_fusion_bank(), tmp_path_factory.mktemp("bank") / "bank.safetensors").read_bytes()


def _outcome(path: Path) -> str:
    """Load ``path`` both ways; each must end in ModelFileError or success, within the limit."""
    results = []
    for read in (read_bank_metadata, load_style_bank):
        started = time.perf_counter()
        try:
            read(path)
            results.append("ok")
        except ModelFileError as exc:
            message = str(exc)
            assert "\n" not in message and message.startswith(str(path)), message
            results.append("refused")
        elapsed = time.perf_counter() - started
        assert elapsed < HANG_LIMIT_S, f"{read.__name__} took {elapsed:.1f} s"
    return results[-1]


def _split(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The header JSON and the tensor bytes of a safetensors file."""
    size = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def _join(header: dict[str, Any], body: bytes) -> bytes:
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + body


def _with_document(data: bytes, edit: Any) -> bytes:
    """``data`` with its rtstyle metadata document passed through ``edit`` (which changes it in place)."""
    header, body = _split(data)
    document = json.loads(header["__metadata__"]["rtstyle"])
    edit(document)
    header["__metadata__"]["rtstyle"] = json.dumps(document)
    return _join(header, body)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON document (keys of objects, indices of lists)."""
    found = [prefix]
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        found += _paths(child, (*prefix, key))
    return found


def _replace_at(node: Any, where: tuple, value: Any) -> Any:
    if not where:
        return value
    node[where[0]] = _replace_at(node[where[0]], where[1:], value)
    return node


def test_random_bytes(tmp_path: Path) -> None:
    rng = random.Random(1)
    path = tmp_path / "random.safetensors"
    for index in range(150):
        blob = rng.randbytes(rng.randrange(0, 3000))
        if index % 2:  # a header length that fits, so safetensors reads on into the garbage
            blob = struct.pack("<Q", rng.randrange(0, len(blob) + 1)) + blob
        path.write_bytes(blob)
        assert _outcome(path) == "refused"


def test_truncations_are_refused(tmp_path: Path, bank_bytes: bytes) -> None:
    header_end = 8 + struct.unpack("<Q", bank_bytes[:8])[0]
    offsets = sorted({*range(0, 24), *range(24, header_end + 16, 37), *range(header_end, len(bank_bytes), 997)})
    path = tmp_path / "cut.safetensors"
    for offset in offsets:
        path.write_bytes(bank_bytes[:offset])
        assert _outcome(path) == "refused", offset
    path.write_bytes(bank_bytes)
    assert _outcome(path) == "ok"


@pytest.mark.parametrize("region", ["header", "body"])
def test_bit_flips(tmp_path: Path, bank_bytes: bytes, region: str) -> None:
    rng = random.Random(2 if region == "header" else 3)
    header_end = 8 + struct.unpack("<Q", bank_bytes[:8])[0]
    low, high = (0, header_end) if region == "header" else (header_end, len(bank_bytes))
    path = tmp_path / "flipped.safetensors"
    outcomes = set()
    for _ in range(200):
        damaged = bytearray(bank_bytes)
        for _ in range(rng.randint(1, 3)):
            damaged[rng.randrange(low, high)] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(damaged))
        outcomes.add(_outcome(path))
    # Header flips mostly break the JSON, yet some land in free text; body flips give other weights.
    assert outcomes == ({"ok", "refused"} if region == "header" else {"ok"})


def test_non_finite_weights_anywhere_are_refused(tmp_path: Path, bank_bytes: bytes) -> None:
    rng = random.Random(6)
    header, body = _split(bank_bytes)
    weights = [entry for key, entry in header.items() if key.startswith(("generator.", "fusion."))]
    path = tmp_path / "poisoned.safetensors"
    for _ in range(40):
        begin, end = rng.choice(weights)["data_offsets"]
        at = begin + 4 * rng.randrange((end - begin) // 4)
        value = struct.pack("<f", rng.choice([float("nan"), float("inf"), -float("inf")]))
        path.write_bytes(_join(header, body[:at] + value + body[at + 4 :]))
        assert _outcome(path) == "refused"


def test_random_edits_of_the_metadata_document(tmp_path: Path, bank_bytes: bytes) -> None:
    rng = random.Random(4)
    header, _ = _split(bank_bytes)
    places = _paths(json.loads(header["__metadata__"]["rtstyle"]))
    path = tmp_path / "edited.safetensors"
    for _ in range(250):
        where, value = rng.choice(places), copy.deepcopy(rng.choice(HOSTILE_VALUES))
        path.write_bytes(_with_document(bank_bytes, lambda document: _replace_at(document, where, value)))
        _outcome(path)


def test_random_edits_of_the_tensor_index(tmp_path: Path, bank_bytes: bytes) -> None:
    rng = random.Random(5)
    header, body = _split(bank_bytes)
    keys = [key for key in header if key != "__metadata__"]
    choices = {
        "dtype": ["F64", "F16", "BF16", "I32", "BOOL", "Q99", 7],
        "shape": [[], [0], [-1], [2**62, 2**62], [10**9], [3, 3], "3", None],
        "data_offsets": [[0, 0], [0, 2**63], [100, 0], [-4, 4], [0, len(body) + 8], [1.5, 2], None],
    }
    path = tmp_path / "index.safetensors"
    for _ in range(150):
        edited = copy.deepcopy(header)
        field = rng.choice(list(choices))
        edited[rng.choice(keys)][field] = rng.choice(choices[field])
        path.write_bytes(_join(edited, body))
        assert _outcome(path) == "refused"


@pytest.mark.parametrize(
    ("section", "key", "value", "allowed"),
    [
        ("generator", "num_residual_blocks", 1_000_000_000, "0 to 64"),
        ("generator", "num_residual_blocks", -3, "0 to 64"),
        ("generator", "num_residual_blocks", 2.5, "0 to 64"),
        ("generator", "channels", [4, 1_000_000], "1 to 1024"),
        ("generator", "channels", [4, "8"], "1 to 1024"),
        ("generator", "outer_kernel", 10**9 + 1, "1 to 15"),
        ("generator", "style_dim", 10**9, "0 to 1024"),
        ("generator", "num_styles", 10**9, "1 to 256"),
        ("generator", "stem_stride", True, "1 to 2"),
        ("generator", "pyramid_base", 10**18, "0 to 4096"),
        ("fusion", "hidden", 10**9, "1 to 1024"),
        ("fusion", "scorer_hidden", "8", "1 to 1024"),
        ("fusion", "gate_stride", 4.0, "1 to 8"),
        ("fusion", "veto_pool", 10**9, "1 to 64"),
    ],
)
def test_sizes_beyond_bounds_are_refused_before_any_network_is_built(
    tmp_path: Path, bank_bytes: bytes, monkeypatch: pytest.MonkeyPatch, section: str, key: str, value: Any, allowed: str
) -> None:
    def never(config: Any) -> None:
        raise AssertionError("a network was built from an unchecked config")

    monkeypatch.setitem(GENERATORS, DEFAULT_ARCHITECTURE, replace(GENERATORS[DEFAULT_ARCHITECTURE], module=never))
    monkeypatch.setattr(stylefile, "FusionNet", never)
    path = tmp_path / "huge.safetensors"
    path.write_bytes(_with_document(bank_bytes, lambda document: document[section].update({key: value})))
    shown = json.dumps(value[-1] if isinstance(value, list) else value)
    with pytest.raises(ModelFileError, match=f"invalid {section} config: {key} = {shown} is not an integer from {allowed}"):
        load_style_bank(path)


@pytest.mark.parametrize(("key", "value"), [("max_keep", "0.9"), ("flow_error_limit", None), ("region_floor", 0),
                                            ("style_change_limit", 1e308 * 10)])
def test_fusion_rules_that_are_not_fractions_are_refused(
    tmp_path: Path, bank_bytes: bytes, key: str, value: Any
) -> None:
    """F's rules are not sizes, so the config checks them: strings, nulls, 0 and infinity
    (JSON's ``Infinity``) are refused with the rule's name."""
    path = tmp_path / "rules.safetensors"
    path.write_bytes(_with_document(bank_bytes, lambda document: document["fusion"].update({key: value})))
    with pytest.raises(ModelFileError, match=f"invalid fusion config: {key} must be"):
        load_style_bank(path)


def test_channel_lists_are_bounded(tmp_path: Path, bank_bytes: bytes) -> None:
    path = tmp_path / "deep.safetensors"
    for channels in ([4] * 9, [], 8, {"a": 4}):
        path.write_bytes(_with_document(bank_bytes, lambda document: document["generator"].update(channels=channels)))
        with pytest.raises(ModelFileError, match="channels must be a list of 1 to 8 integers"):
            load_style_bank(path)


def test_limits_cover_every_config_field_and_admit_the_presets() -> None:
    arch = GENERATORS[DEFAULT_ARCHITECTURE]
    assert set(arch.limits) == {f.name for f in fields(arch.config)}  # register_generator insists on it
    assert set(stylefile._FUSION_LIMITS) == {f.name for f in fields(FusionConfig) if f.type == "int"}
    for preset in PRESETS.values():
        stylefile._parse_config(Path("preset"), "generator", arch.config, preset.to_dict(), arch.limits, arch.max_items)
    for fusion in FUSION_PRESETS.values():
        stylefile._parse_config(Path("preset"), "fusion", FusionConfig, fusion.to_dict(), stylefile._FUSION_LIMITS)


def test_largest_allowed_architecture_is_checked_without_allocating(tmp_path: Path, bank_bytes: bytes) -> None:
    """At the bounds the expected shapes (about 1.6 G parameters) come from the meta device: the
    file is refused for its tensors in well under a second, with no memory to speak of."""
    largest = {"num_styles": 2, "channels": [1024] * 8, "num_residual_blocks": 64, "outer_kernel": 15,
               "stem_stride": 2, "pyramid_base": 4096, "style_dim": 1024}
    path = tmp_path / "largest.safetensors"
    path.write_bytes(_with_document(bank_bytes, lambda document: document.update(generator=largest)))
    started = time.perf_counter()
    with pytest.raises(ModelFileError, match="do not match the declared architecture"):
        load_style_bank(path)
    assert time.perf_counter() - started < HANG_LIMIT_S


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16, torch.int32])
def test_weights_must_be_float32(tmp_path: Path, bank_bytes: bytes, dtype: torch.dtype) -> None:
    source = tmp_path / "bank.safetensors"
    source.write_bytes(bank_bytes)
    header, _ = _split(bank_bytes)
    tensors = load_file(str(source))
    key = "fusion.gate.1.weight" if dtype == torch.float64 else "generator.stem.conv.weight"
    tensors[key] = tensors[key].to(dtype)
    save_file(tensors, str(source), metadata=header["__metadata__"])
    with pytest.raises(ModelFileError, match=r"dtype \w+; style bank weights must be float32"):
        load_style_bank(source)


def test_thumbnails_must_be_uint8_images(tmp_path: Path, bank_bytes: bytes) -> None:
    source = tmp_path / "bank.safetensors"
    source.write_bytes(bank_bytes)
    header, _ = _split(bank_bytes)
    for image in (torch.zeros(96, 96, 3), torch.zeros(96, 96, 4, dtype=torch.uint8), torch.zeros(0, 5, 3, dtype=torch.uint8)):
        tensors = {**load_file(str(source)), "thumbnails.0": image}
        save_file(tensors, str(source), metadata=header["__metadata__"])
        with pytest.raises(ModelFileError, match=r"thumbnails must be uint8 \(U8\) \[h,w,3\] of 1 to 512 px"):
            load_style_bank(source)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(training={"x": "[" * 100_000}), None),  # a string: harmless
        (lambda d: d.update(preset=[[[]]]), None),  # ignored, as a training that is not an object
        (lambda d: d["styles"][0].update(title=[[[]]] * 3), "'title' and 'source' must be strings"),
        (lambda d: d["styles"][0].update(source={"a": 1}), "'title' and 'source' must be strings"),
        (lambda d: d["styles"][0].update(thumbnail=["thumbnails.0"]), "thumbnail .* is missing"),
        (lambda d: d.update(format_version=True), "format_version"),
        (lambda d: d.update(fusion=[12, 8, 4]), "'fusion' must be a config object"),
    ],
)
def test_wrong_types_in_the_document(tmp_path: Path, bank_bytes: bytes, edit: Any, message: str | None) -> None:
    path = tmp_path / "types.safetensors"
    path.write_bytes(_with_document(bank_bytes, edit))
    if message is None:
        assert load_style_bank(path).preset in ("tiny", "")
    else:
        with pytest.raises(ModelFileError, match=message):
            load_style_bank(path)


@pytest.mark.parametrize(
    "document",
    ["[" * 100_000 + "]" * 100_000, '{"format": ' + "[" * 5_000 + "]" * 5_000 + "}", '{"n": ' + "9" * 5_000 + "}"],
    ids=["nesting", "nested-field", "5000-digit-integer"],
)
def test_metadata_json_that_python_cannot_hold(tmp_path: Path, document: str) -> None:
    path = tmp_path / "deep.safetensors"
    save_file({"x": torch.zeros(1)}, str(path), metadata={"rtstyle": document})
    for read in (read_bank_metadata, load_style_bank):
        with pytest.raises(ModelFileError, match="style metadata is not valid JSON"):
            read(path)


class _Trap:
    """Unpickling this makes a directory: proof that the loader unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.mkdir, (str(self.marker),)


@pytest.mark.parametrize("kind", ["zip", "legacy", *(f"protocol{p}" for p in range(2, 6))])
@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_pickles_are_refused_by_name_and_never_unpickled(tmp_path: Path, kind: str, suffix: str) -> None:
    marker, path = tmp_path / "unpickled", tmp_path / f"checkpoint{suffix}"
    payload = {"generator.stem.conv.weight": torch.zeros(3), "trap": _Trap(marker)}
    if kind == "zip":
        torch.save(payload, path)
    elif kind == "legacy":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=int(kind.removeprefix("protocol"))))
    for read in (read_bank_metadata, load_style_bank):
        with pytest.raises(ModelFileError, match="PyTorch checkpoint.*not a valid safetensors style bank; rtstyle never unpickles"):
            read(path)
    assert not marker.exists()
