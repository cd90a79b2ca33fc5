"""The installed layout (every package folder listed, gui/ and engines/ namespaced, imports
pointing one way) and the README's fresh-machine commands, which CI must run as written."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
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


def _imported_modules(folder: str) -> set[str]:
    """Every module the Python files under ``folder`` import, wherever in the file."""
    found = set()
    for source in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
    return found


def test_imports_point_one_way_and_plugins_reach_the_runtime_through_entry_points() -> None:
    """engines -> rtstyle and gui -> rtstyle, never back: the runtime finds the engines' backends
    and both packages' subcommands by entry point, not by importing them."""
    def reaches(folder: str, package: str) -> bool:
        return any(name == package or name.startswith(f"{package}.") for name in _imported_modules(folder))

    assert not reaches("rtstyle", "rtstyle_engines") and not reaches("rtstyle", "rtstyle_gui")
    assert not reaches("engines", "rtstyle_gui") and not reaches("gui", "rtstyle_engines")
    groups = _config()["project"]["entry-points"]
    assert set(groups) == {"rtstyle.commands", "rtstyle.backends"}
    assert all(target.startswith("rtstyle_engines.") for target in groups["rtstyle.backends"].values())


def test_console_script_and_extras() -> None:
    project = _config()["project"]
    assert project["scripts"]["rtstyle"] == "rtstyle.cli:main"
    assert {"gui", "onnx", "train", "tensorrt", "dev"} <= set(project["optional-dependencies"])
    required = " ".join(project["dependencies"])
    assert "tensorrt" not in required and "pycuda" not in required  # optional extras only


def _readme_commands() -> list[str]:
    """The commands of the README's first two ``bash`` blocks: install + demo, then the tests."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)[:2]
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readme_commands_as_written() -> None:
    install, tests = _readme_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci_lines.count(install) == 2, "CI runs README command 1 twice (it must be repeatable)"
    assert tests in ci_lines
    assert "--overwrite" in install.split("rtstyle sample", 1)[1], "the demo refuses to overwrite otherwise"


def _wait_policy_after(code: str, environment: dict[str, str]) -> list[str]:
    """``OMP_WAIT_POLICY`` and whether torch is loaded, as a fresh interpreter sees them after ``code``."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | environment
    script = f"{code}\nimport os, sys\nprint(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)"
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout.split()


def test_the_command_line_sets_a_passive_openmp_wait_policy_before_torch_loads() -> None:
    # torch's OpenMP reads the policy once, when torch is first imported: the command line's module
    # must set it without bringing torch in; the runtime library and training leave it alone.
    assert _wait_policy_after("import rtstyle.cli", {}) == ["PASSIVE", "False"]
    assert _wait_policy_after("import rtstyle.cli", {"OMP_WAIT_POLICY": "ACTIVE"}) == ["ACTIVE", "False"]
    assert _wait_policy_after("import rtstyle.stylizer", {}) == ["None", "True"]
