"""Regional styles: layouts, mask files, and each region keeping its style."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from factories import tiny_bank, tiny_fusion_bank
from rtstyle.errors import InputError
from rtstyle.regions import (
    LAYOUTS, RegionMaskCache, Regions, blend_regions, region_labels, region_logits, soft_masks,
)
from rtstyle.stylizer import Stylizer

HEIGHT, WIDTH = 96, 128


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layouts_cover_the_frame_with_their_regions(layout: str) -> None:
    count = LAYOUTS[layout][0]
    labels = region_labels(layout, HEIGHT, WIDTH, count)
    assert labels.shape == (HEIGHT, WIDTH)
    assert sorted(np.unique(labels)) == list(range(count))


def test_left_right_and_centre_surround_put_regions_where_named() -> None:
    left_right = region_labels("left-right", HEIGHT, WIDTH, 2)
    assert np.all(left_right[:, : WIDTH // 2] == 0) and np.all(left_right[:, WIDTH // 2 :] == 1)
    centre = region_labels("center-surround", HEIGHT, WIDTH, 2)  # American spelling accepted
    assert centre[HEIGHT // 2, WIDTH // 2] == 0 and centre[0, 0] == 1


def test_mask_image_grey_bands_pick_regions(tmp_path: Path) -> None:
    mask = np.zeros((30, 90), np.uint8)
    mask[:, 30:60], mask[:, 60:] = 128, 255
    path = tmp_path / "mask.png"
    cv2.imwrite(str(path), mask)
    labels = region_labels(str(path), 30, 90, 3)
    assert np.all(labels[:, :30] == 0) and np.all(labels[:, 30:60] == 1) and np.all(labels[:, 60:] == 2)


def test_soft_masks_sum_to_one_and_are_one_hot_away_from_seams() -> None:
    masks = soft_masks(region_labels("left-right", HEIGHT, WIDTH, 2), 2)
    np.testing.assert_allclose(masks.sum(0), 1.0, atol=1e-6)
    assert masks[0, :, :20].min() > 0.999 and masks[1, :, -20:].min() > 0.999
    seam = masks[0, :, WIDTH // 2 - 1 : WIDTH // 2 + 1]
    assert 0.2 < seam.mean() < 0.8  # blended at the seam


def test_region_logits_follow_the_banks_floor_and_blending_weights_by_the_masks() -> None:
    """What F adds to its scores is log(mask) floored at the bank's value, recomputed when the
    floor changes; without F the regions' images are weighted by the same masks."""
    regions = Regions("left-right", (np.array([1.0, 0.0]), np.array([0.0, 1.0])))
    cache = RegionMaskCache(torch.device("cpu"), torch.float32)
    masks = cache.masks(regions, HEIGHT, WIDTH)
    for floor in (1e-6, 1e-2):
        logits = cache.logits(regions, HEIGHT, WIDTH, floor)
        assert logits.min().item() == pytest.approx(np.log(floor))
        torch.testing.assert_close(logits, region_logits(masks, floor))
    images = [torch.full((1, 3, HEIGHT, WIDTH), 0.2), torch.full((1, 3, HEIGHT, WIDTH), 0.8)]
    expected = (0.2 * masks[:, :1] + 0.8 * masks[:, 1:]).expand(1, 3, -1, -1)
    torch.testing.assert_close(blend_regions(images, masks), expected)
    assert blend_regions(images, None) is images[0]


def test_bad_layouts_and_counts_are_input_errors() -> None:
    one, two = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    with pytest.raises(InputError, match="regions"):
        Regions("quadrants", (one, two))
    with pytest.raises(InputError, match="at least two"):
        Regions("mask.png", (one,))
    from rtstyle.regions import check_layout

    with pytest.raises(InputError, match="unknown region layout"):
        check_layout("diagonal")


@pytest.mark.parametrize("make_bank", [tiny_bank, tiny_fusion_bank], ids=["plain", "fusion"])
def test_each_region_interior_holds_its_style(make_bank) -> None:
    rng = np.random.default_rng(0)
    frame = cv2.resize(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), (WIDTH, HEIGHT))
    ink, ember = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    plain = Stylizer(tiny_bank(), device="cpu", dtype="float32", backend="torch")
    alone = {}
    for name, weights in (("ink", ink), ("ember", ember)):
        plain.update(style_weights=weights)
        alone[name] = plain(frame).astype(int)
    regional = Stylizer(make_bank(), device="cpu", dtype="float32", backend="torch")
    regional.update(regions=Regions("left-right", (ink, ember)))
    out = regional(frame).astype(int)
    margin = 16  # the feathered seam is a few pixels wide
    # F may add a little (its detail term is zero at full resolution; its blend is what varies)
    tolerance = 0 if make_bank is tiny_bank else 2
    assert np.abs(out[:, : WIDTH // 2 - margin] - alone["ink"][:, : WIDTH // 2 - margin]).max() <= tolerance
    assert np.abs(out[:, WIDTH // 2 + margin :] - alone["ember"][:, WIDTH // 2 + margin :]).max() <= tolerance
    assert np.abs(alone["ink"] - alone["ember"]).mean() > 10  # the two styles do differ
