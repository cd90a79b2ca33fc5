"""The generator registry: a new architecture is one class and one registration, and every part
of the runtime that runs generators (bank files, backends, the stylizer, ONNX export) takes it."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from factories import write_tiny_bank
from rtstyle.backends import create_backend
from rtstyle.cli import main
from rtstyle.errors import EXIT_USER_ERROR, ModelFileError
from rtstyle.models import GENERATORS, Generator, StyleGenerator, architecture, register_generator
from rtstyle.models.registry import DEFAULT_ARCHITECTURE
from rtstyle.stylefile import StyleBank, StyleInfo, load_style_bank, read_bank_metadata, save_style_bank
from rtstyle.stylizer import Stylizer
from rtstyle.video.images import write_image

TOY = "ToyTint"
HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime", "onnxscript"))


@dataclass(frozen=True)
class ToyConfig:
    """A per-style colour tint after one 3x3 convolution: the least a generator can be."""

    num_styles: int = 2
    hidden: int = 4
    style_dim: int = 0
    pyramid_base: int = 0

    @property
    def code_dim(self) -> int:
        return self.num_styles

    @property
    def stride(self) -> int:
        return 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToyConfig:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        return cls(**data)


class ToyTint(Generator):
    def __init__(self, config: ToyConfig) -> None:
        super().__init__()
        self.config = config
        self.conv = nn.Sequential(nn.Conv2d(3, config.hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(config.hidden, 3, 1))
        self.tint = nn.Parameter(torch.randn(config.num_styles, 3))

    @property
    def min_size(self) -> int:
        return 2

    def style_code(self, style_weights: torch.Tensor) -> torch.Tensor:
        return style_weights

    def paint(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(x * 2.0 - 1.0) + (code @ self.tint)[:, :, None, None])

    def flops_per_pixel(self) -> float:
        return 2.0 * (3 * self.config.hidden * 9 + self.config.hidden * 3)


@pytest.fixture
def toy() -> Iterator[type[ToyTint]]:
    """:class:`ToyTint` registered for one test (the registry is left as it was)."""
    register_generator(TOY, config=ToyConfig, limits={"num_styles": (1, 8), "hidden": (1, 16), "style_dim": (0, 0),
                                                      "pyramid_base": (0, 0)})(ToyTint)
    try:
        yield ToyTint
    finally:
        del GENERATORS[TOY]


def _toy_bank() -> StyleBank:
    torch.manual_seed(0)
    return StyleBank.from_generator(ToyTint(ToyConfig()), [StyleInfo("warm", "Warm"), StyleInfo("cold", "Cold")])


def test_the_default_generator_is_registered_with_bounds_for_every_field() -> None:
    arch = architecture(DEFAULT_ARCHITECTURE)
    assert arch.module is StyleGenerator and StyleGenerator.architecture == DEFAULT_ARCHITECTURE
    assert set(arch.limits) == {f.name for f in fields(arch.config)}


def test_a_toy_generator_round_trips_through_a_bank_file(toy: type[ToyTint], tmp_path: Path) -> None:
    bank = _toy_bank()
    assert bank.architecture == TOY
    path = save_style_bank(bank, tmp_path / "toy.safetensors")
    assert read_bank_metadata(path)["architecture"] == TOY
    loaded = load_style_bank(path)
    assert loaded.architecture == TOY and loaded.config == ToyConfig()
    generator = loaded.build_generator()
    assert isinstance(generator, ToyTint)
    x, w = torch.rand(1, 3, 5, 7), torch.tensor([[0.25, 0.75]])
    with torch.inference_mode():
        torch.testing.assert_close(generator(x, w), bank.build_generator()(x, w))


def test_a_toy_generator_runs_through_the_torch_backend_and_the_stylizer(toy: type[ToyTint]) -> None:
    bank = _toy_bank()
    backend = create_backend("torch", bank, torch.device("cpu"), torch.float32)
    assert isinstance(backend.generator, ToyTint)
    frames = np.random.default_rng(0).integers(0, 255, (2, 9, 11, 3), dtype=np.uint8)
    stylizer = Stylizer(bank, device="cpu", backend=backend)
    warm = stylizer(frames)
    stylizer.update(style_weights=np.array([0.0, 1.0]))
    assert warm.shape == frames.shape and np.abs(warm.astype(int) - stylizer(frames).astype(int)).mean() > 1


@pytest.mark.skipif(not HAS_ONNX, reason="needs rtstyle[onnx] (onnx, onnxruntime, onnxscript)")
def test_a_toy_generator_exports_to_onnx_and_runs_in_onnx_runtime(toy: type[ToyTint]) -> None:
    from rtstyle_engines.onnx_export import cached_onnx
    from rtstyle_engines.parity import check_parity

    bank = _toy_bank()
    report = check_parity(cached_onnx(bank), bank)
    assert report.ok, report.summary()
    frames = np.random.default_rng(1).integers(0, 255, (1, 6, 10, 3), dtype=np.uint8)
    reference, onnx = (Stylizer(bank, device="cpu", backend=name) for name in ("torch", "onnx"))
    assert np.abs(onnx(frames).astype(int) - reference(frames).astype(int)).max() <= 1


def _edit_metadata(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    document = read_bank_metadata(path)
    change(document)
    save_file(load_file(str(path)), str(path), metadata={"rtstyle": json.dumps(document)})


def test_a_toy_bank_is_refused_where_its_architecture_is_not_registered(
    toy: type[ToyTint], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_style_bank(_toy_bank(), tmp_path / "toy.safetensors")
    monkeypatch.delitem(GENERATORS, TOY)
    with pytest.raises(ModelFileError, match=f"unknown architecture '{TOY}'; this rtstyle knows StyleGenerator$"):
        load_style_bank(path)


def test_unknown_architecture_in_a_bank_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_tiny_bank(tmp_path / "bank.safetensors")
    _edit_metadata(path, lambda document: document.update(architecture="os.system"))
    source = write_image(tmp_path / "in.png", np.zeros((8, 8, 3), np.uint8))
    code = main(["image", str(source), str(tmp_path / "out.png"), "--model", str(path)])
    err = capsys.readouterr().err
    assert code == EXIT_USER_ERROR
    assert err.count("\n") == 1 and "unknown architecture 'os.system'; this rtstyle knows StyleGenerator" in err


def test_a_bank_without_an_architecture_holds_the_default_generator(tmp_path: Path) -> None:
    """Files written before the choice existed: the bundled banks and every trained one."""
    path = write_tiny_bank(tmp_path / "bank.safetensors")
    _edit_metadata(path, lambda document: document.pop("architecture"))
    bank = load_style_bank(path)
    assert bank.architecture == DEFAULT_ARCHITECTURE and isinstance(bank.build_generator(), StyleGenerator)


def test_registration_refuses_duplicates_unbounded_fields_and_non_generators(toy: type[ToyTint]) -> None:
    with pytest.raises(ValueError, match="registered twice"):
        register_generator(TOY, config=ToyConfig, limits={})(ToyTint)
    with pytest.raises(ValueError, match=r"config fields \['hidden', 'pyramid_base', 'style_dim'\] have no file bounds"):
        register_generator("Unbounded", config=ToyConfig, limits={"num_styles": (1, 8)})(ToyTint)
    with pytest.raises(TypeError, match="is not a Generator"):
        register_generator("Plain", config=ToyConfig, limits={})(nn.Conv2d)  # type: ignore[type-var]
    assert "Unbounded" not in GENERATORS and "Plain" not in GENERATORS
