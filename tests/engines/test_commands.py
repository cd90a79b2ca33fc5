"""``rtstyle export`` and ``rtstyle bench`` from the command line."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from factories import write_tiny_bank
from rtstyle.cli import main
from rtstyle.errors import EXIT_UNAVAILABLE, EXIT_USER_ERROR

HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime", "onnxscript"))
needs_onnx = pytest.mark.skipif(not HAS_ONNX, reason="needs rtstyle[onnx] (onnx, onnxruntime, onnxscript)")


@needs_onnx
def test_export_onnx_writes_a_checked_graph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bank = write_tiny_bank(tmp_path / "tiny.safetensors")
    out = tmp_path / "tiny.onnx"
    assert main(["export", "onnx", str(bank), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert out.is_file() and "style_weights [N,2] (ink, ember)" in err
    error = float(re.search(r"max \|torch - onnxruntime\| = (\S+)", err).group(1))
    assert error < 1e-3
    assert main(["export", "onnx", str(bank), "-o", str(out)]) == EXIT_USER_ERROR  # exists, no --overwrite
    assert "already exists" in capsys.readouterr().err


def test_export_tensorrt_without_tensorrt_names_the_extra(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("tensorrt is installed here")
    bank = write_tiny_bank(tmp_path / "tiny.safetensors")
    assert main(["export", "tensorrt", str(bank)]) == EXIT_UNAVAILABLE
    err = capsys.readouterr().err
    assert "pip install 'rtstyle[tensorrt]'" in err and "Traceback" not in err


def test_bench_tiny_times_every_backend_mode_and_the_anchor(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--tiny", "--device", "cpu", "--peak-tflops", "0.1"]) == 0
    out = capsys.readouterr().out
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    header, body = [c.strip() for c in rows[0]], [[c.strip() for c in row] for row in rows[1:]]
    assert header[:4] == ["backend", "model", "resolution", "mode"] and "% peak" in header
    backends = {"torch", "onnx"} if HAS_ONNX else {"torch"}
    for backend in backends:
        assert {row[3] for row in body if row[0] == backend and row[1] == "tiny"} == {"model", "stylize", "convert"}
    assert any(row[1] == "johnson2016" for row in body) and any(row[1] == "decode+encode" for row in body)
    fps = header.index("fps")
    assert all(float(row[fps]) > 0 for row in body)
    assert "# command: rtstyle" in out


def test_bench_rejects_unknown_presets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--presets", "huge", "--device", "cpu"]) == EXIT_USER_ERROR
    assert "unknown preset" in capsys.readouterr().err
