"""ONNX export: parity with torch on many shapes and mixes, dynamic axes, TensorRT-friendly norms."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from factories import TINY_CONFIG, tiny_bank
from rtstyle.models import StyleGenerator
from rtstyle.stylefile import StyleBank, StyleInfo
from rtstyle_engines.artifacts import bank_fingerprint
from rtstyle_engines.graph import ExportGraph
from rtstyle_engines.onnx_export import cached_onnx
from rtstyle_engines.parity import TOLERANCE, check_parity, parity_shapes

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


def _strided_stem_bank() -> StyleBank:
    """The ``fast`` preset's topology in miniature: stride-2 stem, bilinear upsample, skip concat."""
    torch.manual_seed(3)
    config = replace(TINY_CONFIG, num_styles=3, stem_stride=2)
    generator = StyleGenerator(config)
    with torch.no_grad():
        for name, parameter in generator.named_parameters():
            if name.endswith(("gamma", "beta")):
                parameter.normal_(0.5, 0.5)
    return StyleBank.from_generator(generator, [StyleInfo(f"s{i}", f"S{i}") for i in range(3)])


@pytest.fixture(scope="module", params=["plain", "strided_stem", "style_vectors"])
def exported(request: pytest.FixtureRequest) -> tuple[StyleBank, Path]:
    banks = {"plain": lambda: tiny_bank(2), "strided_stem": _strided_stem_bank, "style_vectors": lambda: tiny_bank(3, style_dim=6)}
    bank = banks[request.param]()
    return bank, cached_onnx(bank)


def test_parity_with_torch_on_odd_sizes_batches_and_mixes(exported: tuple[StyleBank, Path]) -> None:
    bank, path = exported
    generator = bank.build_generator()
    shapes = parity_shapes(generator.min_size, generator.config.stride)
    assert any(h % generator.config.stride and w % 2 for _, h, w in shapes)  # the pad and crop are exercised
    report = check_parity(path, bank, shapes + [(2, 61, 23), (1, 100, 37)], seed=1)
    assert report.ok, report.summary()
    assert report.max_abs_error < TOLERANCE / 100  # float32 rounding, not an approximation


def test_style_code_is_a_graph_input(exported: tuple[StyleBank, Path]) -> None:
    """Weights for a one-hot bank; for a style-vector bank the vector itself, so any vector runs."""
    bank, path = exported
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    image = np.random.default_rng(0).random((1, 3, 40, 44), dtype=np.float32)
    generator = bank.build_generator()
    name = "style_vector" if bank.config.style_dim else "style_weights"
    codes = [generator.style_code(torch.from_numpy(w)[None]).numpy() for w in np.eye(bank.config.num_styles, dtype=np.float32)[:2]]
    if bank.config.style_dim:
        codes.append(np.random.default_rng(1).normal(size=(1, bank.config.style_dim)).astype(np.float32))  # stored nowhere
    outputs = [session.run(None, {"image": image, name: code})[0] for code in codes]
    assert np.abs(outputs[0] - outputs[1]).mean() > 0.01
    expected = generator.paint(torch.from_numpy(image), torch.from_numpy(codes[-1])).detach().numpy()
    assert np.abs(outputs[-1] - expected).max() < TOLERANCE


def test_a_style_vector_bank_exports_once_whatever_its_stored_styles() -> None:
    """Adding a picture as a style changes the stored vectors only: the cached graph is reused."""
    bank = tiny_bank(2, style_dim=6)
    grown = replace(bank, styles=[*bank.styles, StyleInfo("picture", "Picture")],
                    state_dict={**bank.state_dict, "style_vectors": torch.randn(3, 6)},
                    config=replace(bank.config, num_styles=3))
    assert cached_onnx(bank) == cached_onnx(grown)


def test_axes_are_dynamic_and_metadata_describes_the_graph(exported: tuple[StyleBank, Path]) -> None:
    bank, path = exported
    model = onnx.load(str(path))
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    assert isinstance(dims["image"][0], str) and dims["image"][1] == 3
    assert all(isinstance(d, str) for d in (dims["image"][2], dims["image"][3]))
    code = "style_vector" if bank.config.style_dim else "style_weights"
    assert dims[code][1] == bank.config.code_dim
    meta = {p.key: p.value for p in model.metadata_props}
    generator = bank.build_generator()
    assert int(meta["min_size"]) == generator.min_size and int(meta["stride"]) == generator.config.stride
    assert json.loads(meta["style_names"]) == ([] if bank.config.style_dim else bank.style_names)
    assert "strength" in meta["outside_graph"]


def test_instance_norm_has_constant_affine_of_static_width(exported: tuple[StyleBank, Path]) -> None:
    """TensorRT's parser needs InstanceNormalization scale/bias as initializers (see graph.py)."""
    _, path = exported
    graph = onnx.load(str(path)).graph
    constants = {i.name: onnx.numpy_helper.to_array(i) for i in graph.initializer}
    constants.update({n.output[0]: onnx.numpy_helper.to_array(n.attribute[0].t)
                      for n in graph.node if n.op_type == "Constant" and n.attribute and n.attribute[0].t.dims})
    norms = [n for n in graph.node if n.op_type == "InstanceNormalization"]
    assert norms
    for node in norms:
        scale, bias = constants[node.input[1]], constants[node.input[2]]
        np.testing.assert_array_equal(scale, np.ones_like(scale))
        np.testing.assert_array_equal(bias, np.zeros_like(bias))


def test_export_graph_equals_the_generator_in_torch() -> None:
    bank = _strided_stem_bank()
    generator = bank.build_generator()
    graph = ExportGraph(generator)
    x, w = torch.rand(2, 3, 19, 27), torch.softmax(torch.randn(2, 3), dim=1)
    with torch.inference_mode():
        torch.testing.assert_close(graph(x, w), generator(x, w), atol=1e-5, rtol=0)


def test_cached_export_is_reused(exported: tuple[StyleBank, Path]) -> None:
    bank, path = exported
    before = path.stat().st_mtime_ns
    assert cached_onnx(bank) == path and path.stat().st_mtime_ns == before


def test_fingerprint_follows_weights_and_architecture() -> None:
    bank = tiny_bank(2)
    assert bank_fingerprint(tiny_bank(2)) == bank_fingerprint(bank)
    changed = tiny_bank(2)
    name = next(iter(changed.state_dict))
    changed.state_dict[name] = changed.state_dict[name].clone()
    changed.state_dict[name].view(-1)[0] += 1e-3
    assert bank_fingerprint(changed) != bank_fingerprint(bank)
    assert bank_fingerprint(tiny_bank(3)) != bank_fingerprint(bank)
    assert bank_fingerprint(replace(bank, architecture="Other")) != bank_fingerprint(bank)  # same weights, other code
