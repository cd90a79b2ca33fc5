"""The stylizer's contract: uint8 frames in and out, strength, colour keeping, sizes, settings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from factories import tiny_bank
from rtstyle.color import rgb_to_ycbcr
from rtstyle.errors import InputError
from rtstyle.models.resample import resize
from rtstyle.stylizer import Stylizer, StylizerSettings, to_uint8_frames, working_size


@pytest.fixture(scope="module")
def stylizer() -> Stylizer:
    return Stylizer(tiny_bank(2), device="cpu")


def _frame(height: int = 40, width: int = 56, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    gradient = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    noise = rng.normal(0, 30, (height, width, 3))
    return np.clip(gradient * np.array([1.0, 0.5, 0.2]) + 40 + noise, 0, 255).astype(np.uint8)


def test_frames_keep_shape_and_dtype_single_and_batched(stylizer: Stylizer) -> None:
    single = _frame()
    out = stylizer(single)
    assert out.shape == single.shape and out.dtype == np.uint8
    batch = np.stack([_frame(seed=i) for i in range(3)])
    out_batch = stylizer(batch)
    assert out_batch.shape == batch.shape
    np.testing.assert_array_equal(out_batch[0], out)  # batching changes nothing per frame
    assert np.abs(out.astype(int) - single.astype(int)).mean() > 5  # it did stylize


@pytest.mark.parametrize("size", [(1, 1), (3, 5), (17, 33), (2, 91)])
def test_tiny_and_odd_sizes(stylizer: Stylizer, size: tuple[int, int]) -> None:
    frame = _frame(*size)
    assert stylizer(frame).shape == frame.shape


def test_strength_zero_returns_the_input_and_half_is_between(stylizer: Stylizer) -> None:
    frame = _frame()
    full = stylizer(frame).astype(np.int16)
    try:
        stylizer.update(strength=0.0)
        np.testing.assert_array_equal(stylizer(frame), frame)
        stylizer.update(strength=0.5)
        half = stylizer(frame).astype(np.int16)
    finally:
        stylizer.update(strength=1.0)
    expected = (full + frame.astype(np.int16)) / 2
    assert np.abs(half - expected).max() <= 1.0


def test_keep_colors_keeps_source_chroma_and_takes_stylized_luma(stylizer: Stylizer) -> None:
    frame = _frame()
    plain = stylizer(frame)
    try:
        stylizer.update(keep_colors=True)
        kept = stylizer(frame)
    finally:
        stylizer.update(keep_colors=False)

    def ycbcr(image: np.ndarray) -> torch.Tensor:
        return rgb_to_ycbcr(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255)[0]

    source, kept_ycc, plain_ycc = ycbcr(frame), ycbcr(kept), ycbcr(plain)
    # Chroma follows the source (up to uint8 rounding and clipping at the gamut edge) ...
    assert float((kept_ycc[1:] - source[1:]).abs().mean()) < 0.01
    assert float((plain_ycc[1:] - source[1:]).abs().mean()) > 0.02
    # ... and luma follows the stylized frame.
    assert float((kept_ycc[0] - plain_ycc[0]).abs().mean()) < 0.02


def test_mix_weights_change_the_output(stylizer: Stylizer) -> None:
    frame = _frame()
    outputs = []
    for weights in ([1.0, 0.0], [0.5, 0.5], [0.0, 1.0]):
        stylizer.update(style_weights=np.array(weights))
        outputs.append(stylizer(frame).astype(np.int16))
    stylizer.update(style_weights=np.array([1.0, 0.0]))
    assert np.abs(outputs[0] - outputs[2]).mean() > 3
    assert np.abs(outputs[1] - outputs[0]).mean() > 1 and np.abs(outputs[1] - outputs[2]).mean() > 1


def test_working_resolution_and_pixel_cap(stylizer: Stylizer) -> None:
    assert working_size(2160, 3840, 1.0, 1920 * 1080) == (1080, 1920)
    assert working_size(360, 640, 0.5, 10**9) == (180, 320)
    frame = _frame(360, 640)
    stylizer.update(scale=0.5)
    half = stylizer(frame)
    stylizer.update(scale=1.0, max_pixels=64 * 64)
    capped = stylizer(frame)
    stylizer.update(max_pixels=1920 * 1088)
    assert half.shape == capped.shape == frame.shape


def test_settings_are_validated() -> None:
    with pytest.raises(InputError):
        StylizerSettings(np.array([1.0, 0.0]), strength=1.5)
    with pytest.raises(InputError):
        StylizerSettings(np.array([1.0, 0.0]), scale=0.0)
    with pytest.raises(InputError):
        StylizerSettings(np.array([0.0, 0.0]))
    settings = StylizerSettings(np.array([3.0, 1.0]))
    np.testing.assert_allclose(settings.style_weights, [0.75, 0.25])


def test_wrong_number_of_weights_and_bad_frames_are_refused(stylizer: Stylizer) -> None:
    with pytest.raises(InputError, match="2 styles"):
        stylizer.update(style_weights=np.array([1.0, 0.0, 0.0]))
    with pytest.raises(InputError, match="uint8"):
        stylizer(np.zeros((8, 8, 3), dtype=np.float32))


def test_frames_back_to_uint8_are_clamped_rounded_and_leave_the_input_alone() -> None:
    images = torch.rand(2, 3, 9, 14, generator=torch.Generator().manual_seed(0)) * 1.4 - 0.2
    images[0, 0, 0, :4] = torch.tensor([0.5, 1.5, 2.5, 3.5]) / 255.0  # ties round to even, as torch does
    kept = images.clone()
    frames = to_uint8_frames(images)
    expected = images.clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1)
    assert frames.shape == (2, 9, 14, 3) and frames.dtype == torch.uint8
    assert torch.equal(frames, expected)
    assert torch.equal(images, kept)  # F's state may be the input: it must not change


def test_the_generator_input_is_the_antialiased_shrink_to_within_one_grey_level(stylizer: Stylizer) -> None:
    frames = torch.from_numpy(np.stack([_frame(90, 160, seed=i) for i in range(2)]))
    source = frames.permute(0, 3, 1, 2).contiguous().float().div(255.0)  # as the stylizer makes it
    for size in [(45, 80), (30, 53), (90, 160)]:
        model_input = stylizer._model_input(frames, source, size)
        assert model_input.shape == (2, 3, *size) and model_input.is_contiguous()
        assert (model_input - resize(source, size)).abs().max() <= 1.0 / 255.0


def test_bfloat16_on_cpu_is_close_to_float32() -> None:
    bank = tiny_bank(2)
    frame = _frame()
    reference = Stylizer(bank, device="cpu", dtype="float32")(frame).astype(np.int16)
    low = Stylizer(bank, device="cpu", dtype="bfloat16")(frame).astype(np.int16)
    assert np.abs(reference - low).mean() < 6


def test_missing_cuda_is_a_clear_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    from rtstyle.errors import BackendUnavailableError

    with pytest.raises(BackendUnavailableError, match="CUDA"):
        Stylizer(tiny_bank(2), device="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_cuda_half_precision_matches_cpu(dtype: str) -> None:
    bank = tiny_bank(2)
    frames = np.stack([_frame(seed=i) for i in range(4)])
    reference = Stylizer(bank, device="cpu")(frames).astype(np.int16)
    gpu = Stylizer(bank, device="cuda", dtype=dtype)
    assert gpu.memory_format == torch.channels_last
    assert np.abs(gpu(frames).astype(np.int16) - reference).mean() < 3


def test_a_scale_pyramid_bank_gives_its_generators_own_output_at_every_scale() -> None:
    """The stylizer composes the pyramid around the backend (which runs one level): same frame as
    the generator itself, and at ½ resolution the generator's own ½ output enlarged."""
    bank = tiny_bank(2, pyramid_base=8)
    stylizer = Stylizer(bank, device="cpu", dtype="float32")
    frame = np.random.default_rng(5).integers(0, 255, (64, 48, 3), dtype=np.uint8)
    generator = bank.build_generator().eval()
    source = torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255.0
    weights = torch.tensor([[1.0, 0.0]])
    with torch.no_grad():
        expected = generator(source, weights)
        assert (expected - generator.level(source, weights)).abs().mean() > 0.01  # the pyramid is not a no-op
        expected_half = resize(generator(resize(source, (32, 24)), weights), (64, 48))
    for scale, reference in ((1.0, expected), (0.5, expected_half)):
        stylizer.update(scale=scale)
        wanted = (reference[0].permute(1, 2, 0) * 255.0).round().numpy()
        # At ½ the generator's input is shrunk from the 8-bit frame: one more grey level of rounding.
        assert np.abs(stylizer(frame).astype(np.float32) - wanted).max() <= (1 if scale == 1.0 else 2)
