"""Fixtures for the training tests: tiny synthetic photos and paintings written with numpy + cv2.

``training/`` is an in-repo tool, not an installed package, so the repository root is put on
``sys.path`` here (as ``training/train.py`` does for itself).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.training.synthetic import dots, photo, stripes, write_rgb  # noqa: E402


@pytest.fixture(autouse=True)
def single_thread():
    """One torch thread per test: these tensors are tiny, and on a busy 2-core machine (a training
    run beside the tests) OpenMP threads spinning against each other made steps 20× slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def dataset(tmp_path: Path) -> dict[str, Path]:
    """content/ with 5 photos and one corrupt file; two paintings (stripes, dots)."""
    content = tmp_path / "content"
    content.mkdir()
    for index in range(5):
        write_rgb(content / f"photo{index}.png", photo(index))
    (content / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    styles = tmp_path / "styles"
    styles.mkdir()
    return {
        "content": content,
        "stripes": write_rgb(styles / "stripes.png", stripes()),
        "dots": write_rgb(styles / "dots.png", dots()),
        "root": tmp_path,
    }
