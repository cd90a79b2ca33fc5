"""Data loading converts odd images, samples video frames, and skips (and counts) bad files."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch

from rtstyle.errors import InputError
from tests.training.synthetic import photo, write_rgb
from rtstyle.video.images import read_image
from training.data import ContentSampler, StyleSampler, load_content, load_style


def _write_video(path: Path, frames: int = 20) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(frames):
            image = np.full((48, 64, 3), index * 10, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def test_odd_formats_become_uint8_rgb(tmp_path: Path) -> None:
    gray16 = tmp_path / "gray16.png"
    cv2.imwrite(str(gray16), np.full((20, 30), 65535, np.uint16))
    rgba = tmp_path / "rgba.png"
    bgra = np.zeros((20, 30, 4), np.uint8)
    bgra[:, :15] = (255, 0, 0, 255)  # opaque blue on the left, transparent on the right
    cv2.imwrite(str(rgba), bgra)
    for path in (gray16, rgba):
        image = read_image(path)
        assert image.dtype == np.uint8 and image.shape == (20, 30, 3)
    assert read_image(gray16).min() == 255
    image = read_image(rgba)
    assert tuple(image[0, 0]) == (0, 0, 255) and tuple(image[0, -1]) == (255, 255, 255)  # alpha over white


def test_cmyk_jpeg_is_converted(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image", reason="Pillow writes the CMYK JPEG fixture")
    path = tmp_path / "cmyk.jpg"
    pil.fromarray(photo(0)).convert("CMYK").save(path)
    assert read_image(path).shape == (72, 88, 3)


def test_bad_files_are_skipped_and_counted(tmp_path: Path) -> None:
    for index in range(3):
        write_rgb(tmp_path / f"good{index}.png", photo(index))
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "fake.mp4").write_bytes(b"not a video")
    write_rgb(tmp_path / "tiny.png", photo(9, 6, 6))
    (tmp_path / "notes.txt").write_text("ignored: not an image suffix")
    images, report = load_content([tmp_path], frames_per_video=4, max_short_side=64, min_side=16)
    assert len(images) == report.images - 1 == 3  # the tiny image decodes but is too small
    assert sorted(Path(p).name for p, _ in report.skipped) == ["corrupt.jpg", "empty.png", "fake.mp4", "tiny.png"]
    assert all(min(image.shape[:2]) <= 64 for image in images)


def test_nothing_usable_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "corrupt.png").write_bytes(b"nope")
    with pytest.raises(InputError, match="no usable content"):
        load_content([tmp_path], frames_per_video=4, max_short_side=64, min_side=16)
    with pytest.raises(InputError, match="no such file"):
        load_content([tmp_path / "missing"], frames_per_video=4, max_short_side=64, min_side=16)


def test_video_frames_are_sampled_evenly(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "clip.mp4", frames=20)
    images, report = load_content([video], frames_per_video=5, max_short_side=64, min_side=16)
    assert report.video_frames == len(images) == 5
    brightness = [int(image.mean()) for image in images]
    assert brightness == sorted(brightness) and brightness[-1] - brightness[0] > 100


def test_samplers_give_batches_in_range(tmp_path: Path) -> None:
    content = ContentSampler([photo(0), photo(1, 50, 120)], size=32, scale=(0.2, 1.0), seed=0)
    batch = content.sample(6)
    assert batch.shape == (6, 3, 32, 32) and batch.dtype == torch.float32
    assert 0.0 <= batch.min() and batch.max() <= 1.0
    painting = load_style(write_rgb(tmp_path / "p.png", photo(3, 200, 300)), short_side=64)
    assert min(painting.shape[:2]) == 64
    patches = StyleSampler([painting], size=32, jitter=0.2, seed=0).sample(torch.zeros(3, dtype=torch.long))
    assert patches.shape == (3, 3, 32, 32)
    with pytest.raises(InputError, match="smaller than the crop"):
        StyleSampler([painting], size=60, jitter=0.2, seed=0)
