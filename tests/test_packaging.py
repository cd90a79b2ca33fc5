"""The installed layout: every package folder is listed, gui/ and engines/ are namespaced."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALLED_AS = {"rtstyle": "rtstyle", "gui": "rtstyle_gui", "engines": "rtstyle_engines"}


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_installed_under_its_namespace() -> None:
    setuptools = _config()["tool"]["setuptools"]
    found = set()
    for folder, name in INSTALLED_AS.items():
        assert setuptools["package-dir"][name] == folder
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *relative)))
    assert found == set(setuptools["packages"]), "list new package folders in pyproject.toml"
    assert not (ROOT / "training" / "__init__.py").exists() or "training" not in setuptools["packages"]


def test_console_script_and_extras() -> None:
    project = _config()["project"]
    assert project["scripts"]["rtstyle"] == "rtstyle.cli:main"
    assert {"gui", "onnx", "train", "tensorrt", "dev"} <= set(project["optional-dependencies"])
    required = " ".join(project["dependencies"])
    assert "tensorrt" not in required and "pycuda" not in required  # optional extras only
