"""The ONNX Runtime backend through the stylizer: same frames as torch, for every control."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from factories import tiny_bank
from rtstyle.console import NOTICE_LOGGER
from rtstyle.stylizer import Stylizer

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


@pytest.fixture(scope="module")
def pair() -> tuple[Stylizer, Stylizer]:
    bank = tiny_bank(2)
    return Stylizer(bank, device="cpu", backend="torch"), Stylizer(bank, device="cpu", backend="onnx")


def _frames(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, shape, dtype=np.uint8)


@pytest.mark.parametrize("shape", [(40, 56, 3), (1, 1, 3), (3, 5, 3), (17, 33, 3), (3, 29, 61, 3)])
def test_matches_torch_on_any_size_and_batch(pair: tuple[Stylizer, Stylizer], shape: tuple[int, ...]) -> None:
    reference, onnx = pair
    frames = _frames(*shape)
    out = onnx(frames)
    assert out.shape == frames.shape and out.dtype == np.uint8
    # float32 results agree to ~1e-6; uint8 rounding can differ by one level at a .5 boundary.
    assert np.abs(out.astype(np.int16) - reference(frames).astype(np.int16)).max() <= 1


@pytest.mark.parametrize("changes", [{"style_weights": np.array([0.3, 0.7])}, {"strength": 0.4},
                                     {"keep_colors": True}, {"scale": 0.5}])
def test_live_controls_apply_the_same_way(pair: tuple[Stylizer, Stylizer], changes: dict) -> None:
    frames = _frames(2, 48, 64, 3, seed=1)
    outputs = []
    for stylizer in pair:
        default = stylizer.settings
        stylizer.update(**changes)
        try:
            outputs.append(stylizer(frames).astype(np.int16))
        finally:
            stylizer.settings = default
    assert np.abs(outputs[0] - outputs[1]).max() <= 1
    assert np.abs(outputs[1] - pair[1](frames).astype(np.int16)).mean() > 0.5  # the control did something


def test_describes_provider_and_threads(pair: tuple[Stylizer, Stylizer]) -> None:
    description = pair[1].backend.describe()
    assert description.startswith("onnxruntime (CPU") and "threads" in description


def test_a_scale_pyramid_bank_runs_its_octaves_through_the_exported_graph() -> None:
    """The graph is one level; the stylizer runs it per octave, so ONNX Runtime matches torch."""
    bank = tiny_bank(2, pyramid_base=8)
    frames = _frames(2, 70, 50, 3, seed=2)
    reference = Stylizer(bank, device="cpu", backend="torch")(frames)
    onnx = Stylizer(bank, device="cpu", backend="onnx")(frames)
    assert np.abs(onnx.astype(np.int16) - reference.astype(np.int16)).max() <= 1


def test_a_damaged_cached_graph_is_rebuilt_once_with_a_warning(
    tmp_path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("RTSTYLE_CACHE_DIR", str(tmp_path))
    bank = tiny_bank(2, seed=5)
    with caplog.at_level(logging.INFO, logger=NOTICE_LOGGER):
        first = Stylizer(bank, device="cpu", backend="onnx")
    assert "exporting unsaved to ONNX (first use of this bank here" in caplog.text  # the wait is explained
    frames = _frames(1, 24, 32, 3, seed=3)
    expected = first(frames)
    graph = first.backend.model_path
    for damage in (b"", b"\x08\x07 not a graph"):
        graph.write_bytes(damage)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            again = Stylizer(bank, device="cpu", backend="onnx")
        assert f"the cached ONNX graph {graph} cannot be loaded" in caplog.text
        assert again.backend.model_path == graph and graph.stat().st_size > 1000
        np.testing.assert_array_equal(again(frames), expected)


def test_the_session_reuses_its_arena_without_a_memory_pattern(pair: tuple[Stylizer, Stylizer]) -> None:
    """A memory pattern allocates a planned block per input shape beside the arena (+400 MB at 1080p)."""
    options = pair[1].backend.session.get_session_options()
    assert options.enable_cpu_mem_arena
    assert not options.enable_mem_pattern
