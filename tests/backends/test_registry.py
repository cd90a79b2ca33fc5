"""Backend selection: the one registry, ``auto``, and clear messages when a library is missing."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
import torch

from factories import tiny_bank, write_tiny_bank
from rtstyle.backends import AUTO_ORDER, BACKENDS, backend_names, create_backend
from rtstyle.backends.base import Backend
from rtstyle.backends.registry import BACKEND_GROUP, backend_class, backend_label, discover_backends
from rtstyle.cli import build_parser, main
from rtstyle.errors import EXIT_UNAVAILABLE, BackendUnavailableError, InputError
from rtstyle.stylizer import Stylizer
from rtstyle.video.images import write_image

CPU = torch.device("cpu")
HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime", "onnxscript"))


def test_registry_holds_every_backend_and_auto_orders_name_real_ones() -> None:
    assert set(BACKENDS) == {"torch", "onnx", "tensorrt"}  # torch built in, the others from rtstyle_engines
    assert backend_names()[0] == "auto" and set(backend_names()[1:]) == set(BACKENDS)
    assert all(name in BACKENDS for order in AUTO_ORDER.values() for name in order)
    assert all(backend_class(name).name == name and issubclass(backend_class(name), Backend) for name in BACKENDS)
    assert [backend_label(name) for name in BACKENDS] == ["PyTorch", "ONNX Runtime", "TensorRT"]


def test_plugins_come_from_the_entry_point_group_and_cannot_take_a_name(caplog: pytest.LogCaptureFixture) -> None:
    plugins = [EntryPoint("torch", "evil:Backend", BACKEND_GROUP), EntryPoint("auto", "evil:Backend", BACKEND_GROUP),
               EntryPoint("fast", "somewhere:FastBackend", BACKEND_GROUP)]
    with caplog.at_level(logging.WARNING, logger="rtstyle.backends.registry"):
        found = discover_backends(plugins)
    assert list(found) == ["torch", "fast"] and found["torch"].value == "rtstyle.backends.torch_backend:TorchBackend"
    assert caplog.text.count("the name is taken") == 2


def test_runtime_never_imports_a_plugin_and_lists_backends_without_torch() -> None:
    """The command line's choices come from the registry, which reads entry-point names only."""
    code = ("import sys; from rtstyle.backends.registry import backend_names; names = backend_names(); "
            "print(names, sorted(m for m in sys.modules if m.startswith(('torch', 'rtstyle_engines'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"{backend_names()} []"


def test_cli_backend_choices_are_the_registry_names() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for command in ("convert", "image", "eval"):
        (option,) = [a for a in commands[command]._actions if "--backend" in a.option_strings]
        assert list(option.choices) == backend_names() and option.default == "auto"


def test_a_plugin_that_cannot_be_imported_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "broken", EntryPoint("broken", "no_such_module:Backend", BACKEND_GROUP))
    with pytest.raises(BackendUnavailableError, match=r"the broken backend \(no_such_module:Backend\) cannot be imported"):
        create_backend("broken", tiny_bank(2), CPU, torch.float32)
    assert backend_label("broken") == "broken"
    monkeypatch.setitem(BACKENDS, "notabackend", EntryPoint("notabackend", "rtstyle.errors:InputError", BACKEND_GROUP))
    with pytest.raises(BackendUnavailableError, match="is not a Backend"):
        create_backend("notabackend", tiny_bank(2), CPU, torch.float32)


def test_auto_skips_names_no_package_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(AUTO_ORDER, "cpu", ("gone", "torch"))
    assert create_backend("auto", tiny_bank(2), CPU, torch.float32).name == "torch"


def test_unknown_backend_is_a_user_error() -> None:
    with pytest.raises(InputError, match="unknown backend 'cudnn'"):
        create_backend("cudnn", tiny_bank(2), CPU, torch.float32)


def test_missing_onnxruntime_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with pytest.raises(BackendUnavailableError, match=r"pip install 'rtstyle\[onnx\]'"):
        create_backend("onnx", tiny_bank(2), CPU, torch.float32)


def test_missing_tensorrt_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(BackendUnavailableError, match=r"pip install 'rtstyle\[tensorrt\]'"):
        create_backend("tensorrt", tiny_bank(2), CPU, torch.float32)


def test_tensorrt_needs_cuda_and_onnx_on_cpu_needs_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", type(sys)("tensorrt"))  # importable, but no GPU here
    with pytest.raises(BackendUnavailableError, match="CUDA"):
        create_backend("tensorrt", tiny_bank(2), CPU, torch.float32)
    if HAS_ONNX:
        with pytest.raises(BackendUnavailableError, match="float32"):
            create_backend("onnx", tiny_bank(2), CPU, torch.bfloat16)


def test_auto_falls_back_to_torch_and_says_why(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with caplog.at_level(logging.INFO, logger="rtstyle.backends.registry"):
        backend = create_backend("auto", tiny_bank(2), CPU, torch.float32)
    assert backend.name == "torch"
    assert "picked backend torch" in caplog.text and "rtstyle[onnx]" in caplog.text


@pytest.mark.skipif(not HAS_ONNX, reason="needs rtstyle[onnx]")
def test_auto_prefers_onnx_runtime_on_cpu() -> None:
    assert create_backend("auto", tiny_bank(2), CPU, torch.float32).name == "onnx"


def test_auto_fails_clearly_when_nothing_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(AUTO_ORDER, "cpu", ("tensorrt",))
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(BackendUnavailableError, match="no backend works on cpu: tensorrt: .*rtstyle\\[tensorrt\\]"):
        create_backend("auto", tiny_bank(2), CPU, torch.float32)


def test_stylizer_accepts_a_ready_backend() -> None:
    bank = tiny_bank(2)
    backend = create_backend("torch", bank, CPU, torch.float32)
    stylizer = Stylizer(bank, device="cpu", backend=backend)
    assert stylizer.backend is backend and isinstance(stylizer.backend, Backend)
    assert stylizer.generator is backend.generator


@pytest.mark.parametrize(("backend", "missing", "extra"), [("onnx", "onnxruntime", "onnx"),
                                                            ("tensorrt", "tensorrt", "tensorrt")])
def test_cli_missing_library_is_one_line_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    backend: str, missing: str, extra: str,
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)
    bank = write_tiny_bank(tmp_path / "tiny.safetensors")
    source = write_image(tmp_path / "in.png", torch.zeros(8, 8, 3, dtype=torch.uint8).numpy())
    code = main(["image", str(source), str(tmp_path / "out.png"), "--model", str(bank), "--backend", backend])
    err = capsys.readouterr().err
    assert code == EXIT_UNAVAILABLE
    assert err.strip().splitlines()[-1].startswith("rtstyle: error:") and f"rtstyle[{extra}]" in err
    assert "Traceback" not in err and not (tmp_path / "out.png").exists()
