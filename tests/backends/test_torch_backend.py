"""The torch backend's GPU paths: CUDA graphs, channels_last, half precision, overlapped copies."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from factories import tiny_bank
from rtstyle.backends import create_backend
from rtstyle.backends.cuda_graphs import CudaGraphRunner
from rtstyle.backends.torch_backend import CUDA_GRAPHS_ENV, TorchBackend
from rtstyle.stylizer import OVERLAP_CHUNK, Stylizer

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _frames(count: int, height: int = 45, width: int = 70, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (count, height, width, 3), dtype=np.uint8)


def test_cpu_runs_eager_in_the_default_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CUDA_GRAPHS_ENV, "1")
    backend = create_backend("torch", tiny_bank(2), torch.device("cpu"), torch.float32)
    assert isinstance(backend, TorchBackend)
    assert not backend.cuda_graphs and backend.memory_format == torch.contiguous_format
    assert backend.describe().startswith(f"torch {torch.__version__} on cpu (float32")


@pytest.mark.gpu
@needs_cuda
def test_cuda_graph_replay_matches_eager_across_shapes() -> None:
    generator = tiny_bank(2).build_generator().cuda()
    runner = CudaGraphRunner(generator, max_graphs=2)
    with torch.inference_mode():
        for shape in [(2, 3, 40, 56), (1, 3, 33, 17), (2, 3, 40, 56), (3, 3, 20, 24)]:
            x = torch.rand(shape, device="cuda")
            w = torch.softmax(torch.rand(shape[0], 2, device="cuda"), dim=1)
            torch.testing.assert_close(runner(x, w), generator(x, w), atol=1e-5, rtol=0)
    assert len(runner._graphs) == 2  # least recently used graphs are dropped


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_cuda_stylizer_batches_overlap_and_match_cpu(dtype: str) -> None:
    bank = tiny_bank(2)
    frames = _frames(2 * OVERLAP_CHUNK + 1)  # three chunks, the last one short
    reference = Stylizer(bank, device="cpu")(frames).astype(np.int16)
    gpu = Stylizer(bank, device="cuda", dtype=dtype)
    assert gpu.backend.cuda_graphs and gpu.memory_format == torch.channels_last
    batched = gpu(frames)
    single = np.stack([gpu(frame) for frame in frames])
    np.testing.assert_array_equal(batched, single)  # chunking changes nothing per frame
    assert np.abs(batched.astype(np.int16) - reference).mean() < 3


@pytest.mark.gpu
@needs_cuda
def test_onnxruntime_cuda_provider_with_io_binding() -> None:
    ort = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("needs onnxruntime-gpu")
    bank = tiny_bank(2)
    frames = _frames(3)
    reference = Stylizer(bank, device="cpu")(frames).astype(np.int16)
    onnx = Stylizer(bank, device="cuda", dtype="float32", backend="onnx")
    assert "CUDA" in onnx.backend.describe()
    assert np.abs(onnx(frames).astype(np.int16) - reference).max() <= 1
