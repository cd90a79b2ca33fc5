"""Still images: every common variant comes back as upright uint8 RGB."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest

from rtstyle.errors import InputError, OutputError
from rtstyle.video.images import is_image_path, read_image, write_image


def _encode(path, array: np.ndarray) -> None:
    ok, data = cv2.imencode(path.suffix, array)
    assert ok
    path.write_bytes(data.tobytes())


def test_round_trip_keeps_rgb_order(tmp_path):
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[..., 0] = 200  # red
    path = write_image(tmp_path / "red.png", rgb)
    back = read_image(path)
    assert back.dtype == np.uint8 and back.flags.c_contiguous
    assert np.array_equal(back, rgb)


def test_non_ascii_path(tmp_path):
    rgb = np.full((3, 3, 3), 77, np.uint8)
    path = write_image(tmp_path / "ünïcødé 画像.png", rgb)
    assert np.array_equal(read_image(path), rgb)


def test_grayscale_and_16_bit(tmp_path):
    gray = tmp_path / "gray.png"
    _encode(gray, np.full((2, 3), 90, np.uint8))
    assert np.array_equal(read_image(gray), np.full((2, 3, 3), 90, np.uint8))
    deep = tmp_path / "deep.png"
    _encode(deep, np.full((2, 3, 3), 65535, np.uint16))
    assert np.array_equal(read_image(deep), np.full((2, 3, 3), 255, np.uint8))
    _encode(deep, np.full((2, 3), 257 * 100, np.uint16))
    assert np.array_equal(read_image(deep), np.full((2, 3, 3), 100, np.uint8))


def test_alpha_is_composited_on_white(tmp_path):
    bgra = np.zeros((1, 3, 4), np.uint8)
    bgra[0, 0] = (0, 0, 255, 255)  # opaque red
    bgra[0, 1] = (0, 0, 0, 0)  # fully transparent black -> white
    bgra[0, 2] = (0, 0, 0, 128)  # half-transparent black -> mid grey
    path = tmp_path / "alpha.png"
    _encode(path, bgra)
    rgb = read_image(path)
    assert rgb.shape == (1, 3, 3)
    assert tuple(rgb[0, 0]) == (255, 0, 0)
    assert tuple(rgb[0, 1]) == (255, 255, 255)
    assert all(abs(int(v) - 127) <= 1 for v in rgb[0, 2])


@pytest.mark.skipif(not hasattr(cv2, "imencodeWithMetadata"), reason="OpenCV cannot write EXIF")
def test_exif_orientation_is_applied(tmp_path):
    # Minimal little-endian TIFF block with Orientation = 6 ("rotate 90° clockwise to view").
    exif = b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0)
    exif += struct.pack("<I", 0)
    bgr = np.zeros((20, 40, 3), np.uint8)
    ok, data = cv2.imencodeWithMetadata(
        ".jpg", bgr, [cv2.IMAGE_METADATA_EXIF], [np.frombuffer(exif, np.uint8)]
    )
    assert ok
    path = tmp_path / "phone.jpg"
    path.write_bytes(data.tobytes())
    assert read_image(path).shape == (40, 20, 3)


def test_unreadable_images(tmp_path):
    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    for name, message in [
        ("missing.png", "no such file"),
        ("text.png", "not an image OpenCV can read"),
        ("empty.png", "not an image OpenCV can read"),
    ]:
        with pytest.raises(InputError, match=message):
            read_image(tmp_path / name)
    with pytest.raises(InputError, match="is a directory"):
        read_image(tmp_path)


def test_write_refusals(tmp_path):
    rgb = np.zeros((2, 2, 3), np.uint8)
    path = write_image(tmp_path / "a.jpg", rgb)
    with pytest.raises(OutputError, match="already exists"):
        write_image(path, rgb)
    write_image(path, rgb, overwrite=True)
    with pytest.raises(OutputError, match="unsupported image type"):
        write_image(tmp_path / "a.gifx", rgb)
    with pytest.raises(ValueError, match="uint8"):
        write_image(tmp_path / "b.png", rgb.astype(np.float32))


def test_is_image_path():
    assert is_image_path("photo.JPG") and is_image_path("a/b/c.webp")
    assert not is_image_path("clip.mp4") and not is_image_path("noext")
