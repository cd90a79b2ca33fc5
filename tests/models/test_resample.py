"""The fast resampling F runs on the CPU (OpenCV planes, strided sums) gives torch's own bilinear and block-mean values."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rtstyle.models.resample import block_mean, resize


@pytest.mark.parametrize(
    ("shape", "size"),
    [
        ((1, 3, 45, 80), (90, 160)),  # 2×, the generator at ½
        ((2, 5, 23, 40), (92, 160)),  # 4×, F's gate grid to the frame
        ((1, 2, 7, 5), (14, 15)),  # different factors per axis
        ((1, 1, 1, 1), (3, 4)),  # a single pixel: every output copies it
        ((1, 4, 6, 9), (6, 36)),  # one axis unchanged
        ((1, 3, 30, 40), (45, 70)),  # ratios that are not whole numbers
        ((1, 3, 180, 320), (720, 1280)),  # F at 720p after the generator at ¼
    ],
)
def test_enlargement_matches_torch_bilinear(shape: tuple[int, ...], size: tuple[int, int]) -> None:
    images = torch.rand(*shape, generator=torch.Generator().manual_seed(0))
    expected = F.interpolate(images, size=size, mode="bilinear", align_corners=False)
    with torch.inference_mode():
        torch.testing.assert_close(resize(images, size), expected, atol=1e-5, rtol=0)


def test_non_contiguous_and_double_inputs_match_torch() -> None:
    images = torch.rand(1, 6, 20, 30, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        strided = resize(images[:, ::2], (40, 90))
        double = resize(images.double(), (40, 90))
    expected = F.interpolate(images, size=(40, 90), mode="bilinear", align_corners=False)
    torch.testing.assert_close(strided, expected[:, ::2], atol=1e-5, rtol=0)
    torch.testing.assert_close(double, expected.double(), atol=1e-5, rtol=0)


def test_shrinking_matches_torch_antialiased() -> None:
    images = torch.rand(1, 3, 30, 40, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        small = resize(images, (15, 20))
    torch.testing.assert_close(small, F.interpolate(images, size=(15, 20), mode="bilinear", antialias=True))


def test_enlargement_keeps_gradients_for_training() -> None:
    images = torch.rand(1, 3, 8, 10, generator=torch.Generator().manual_seed(2), requires_grad=True)
    weights = torch.rand(1, 3, 16, 20, generator=torch.Generator().manual_seed(3))
    (resize(images, (16, 20)) * weights).sum().backward()
    assert images.grad is not None
    reference = images.detach().clone().requires_grad_(True)
    (F.interpolate(reference, size=(16, 20), mode="bilinear", align_corners=False) * weights).sum().backward()
    torch.testing.assert_close(images.grad, reference.grad)


@pytest.mark.parametrize(("height", "width", "factor"), [(360, 640, 4), (16, 24, 8), (10, 13, 4), (7, 7, 2), (5, 6, 1),
                          (551, 980, 4), (551, 980, 8),
                          (12, 9, 8), (3, 17, 4), (2, 2, 4)])
def test_block_mean_matches_average_pooling(height: int, width: int, factor: int) -> None:
    images = torch.rand(2, 3, height, width, generator=torch.Generator().manual_seed(4))
    with torch.inference_mode():
        means = block_mean(images, factor)
    torch.testing.assert_close(means, F.avg_pool2d(images, factor, ceil_mode=True) if factor > 1 else images)
