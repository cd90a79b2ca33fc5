"""Stop signals: SIGTERM and SIGHUP end a conversion like Ctrl-C, at any moment, without a trace."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from factories import write_tiny_bank
from rtstyle.interrupts import Interrupted, install_interrupt_handlers, interrupt_exit_code, interrupts_held
from rtstyle.stream import ordered
from rtstyle.video import atomic
from rtstyle.video.sample import make_sample_clip

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_a_signal_raises_once_and_later_ones_cannot_interrupt_the_clean_up(restored_handlers: None) -> None:
    install_interrupt_handlers()
    with pytest.raises(Interrupted) as caught:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler runs at the next bytecode; this is never reached in full
    assert caught.value.signum == signal.SIGTERM and interrupt_exit_code(caught.value) == 143
    os.kill(os.getpid(), signal.SIGHUP)  # during "clean-up": noted, not raised
    assert interrupt_exit_code(KeyboardInterrupt()) == 130


def _signal_self_and_linger(signum: int = signal.SIGTERM) -> None:
    """Send ``signum`` to this process and give Python many chances to run its handler."""
    os.kill(os.getpid(), signum)
    time.sleep(0.05)


def test_a_signal_inside_a_held_stretch_is_raised_when_the_outermost_one_ends(restored_handlers: None) -> None:
    install_interrupt_handlers()
    reached = []
    with pytest.raises(Interrupted) as caught:
        with interrupts_held():
            with interrupts_held():
                _signal_self_and_linger()
                reached.append("inner")
            reached.append("outer")
    assert reached == ["inner", "outer"] and caught.value.signum == signal.SIGTERM


def test_a_held_signal_wins_over_the_blocks_own_error(restored_handlers: None) -> None:
    install_interrupt_handlers()
    with pytest.raises(Interrupted) as caught:
        with interrupts_held():
            _signal_self_and_linger(signal.SIGHUP)
            raise ValueError("the block failed too")
    assert caught.value.signum == signal.SIGHUP and isinstance(caught.value.__context__, ValueError)


def test_holding_does_nothing_without_rtstyles_handlers(restored_handlers: None) -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    reached = []
    with pytest.raises(KeyboardInterrupt) as caught, interrupts_held():
        _signal_self_and_linger(signal.SIGINT)
        reached.append("after")
    assert reached == [] and not isinstance(caught.value, Interrupted)


class _SignallingQueue(queue.Queue):
    """A queue whose hand-offs are where the signal lands, as it can with the queue's lock taken."""

    def _put(self, item: object) -> None:  # runs inside put(), with the queue's lock held
        _signal_self_and_linger()
        super()._put(item)


def test_a_signal_during_a_queue_hand_off_lands_after_it(restored_handlers: None) -> None:
    """Raised inside ``put`` it would leave the queue's lock taken and the other stage waiting on
    it forever (a conversion that hangs after Ctrl-C); held, the hand-off completes first."""
    install_interrupt_handlers()
    hand_off: queue.Queue[str] = _SignallingQueue(1)
    with pytest.raises(Interrupted):
        ordered._Flow().put(hand_off, "chunk")
    assert hand_off.get_nowait() == "chunk"
    assert hand_off.mutex.acquire(blocking=False)


def test_a_signal_just_after_the_temporary_file_appears_still_removes_it(
    restored_handlers: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_interrupt_handlers()
    real_close = os.close

    def close_then_signal(fd: int) -> None:  # the file exists; its clean-up is not armed yet
        real_close(fd)
        _signal_self_and_linger()

    monkeypatch.setattr(atomic.os, "close", close_then_signal)
    with pytest.raises(Interrupted), atomic.atomic_output(tmp_path / "out.mp4"):
        pytest.fail("the block must not start once the signal has come")
    assert list(tmp_path.iterdir()) == []


class _SignalOnImport:
    """An import hook that makes the start of importing ``name`` the moment the signal lands."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname == self.name:
            _signal_self_and_linger()
        return None  # the usual finders import it


def test_a_signal_while_the_command_line_imports_torch_waits_for_the_import(
    restored_handlers: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Raised inside torch's start-up, where C++ calls back into Python, it aborts the process
    ("terminate called after throwing an instance of 'pybind11::error_already_set'", SIGABRT)."""
    import rtstyle
    from rtstyle import cli

    monkeypatch.delitem(sys.modules, "rtstyle.commands", raising=False)  # restored, with the package's attribute,
    monkeypatch.delattr(rtstyle, "commands", raising=False)  # after the test: other tests hold the original
    monkeypatch.setattr(sys, "meta_path", [_SignalOnImport("rtstyle.commands"), *sys.meta_path])
    assert cli.main(["styles"]) == 128 + signal.SIGTERM
    assert "rtstyle.commands" in sys.modules  # the import ran to its end, then the signal was raised
    assert capsys.readouterr().err.strip().splitlines() == ["rtstyle: error: interrupted; nothing was written"]


def test_a_signal_while_a_plugin_command_loads_is_not_taken_for_a_broken_plugin(
    restored_handlers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtstyle import cli

    class Plugin:
        name = "export"

        def load(self) -> object:
            try:
                raise Interrupted(signal.SIGTERM)
            except Interrupted as exc:  # wrapped on its way up, as Python 3.11 can
                raise RuntimeError("Error calling __set_name__") from exc

    monkeypatch.setattr(cli, "entry_points", lambda group: [Plugin()])
    assert cli.main(["styles"]) == 128 + signal.SIGTERM


def test_a_signal_while_an_optional_library_imports_waits_for_the_import(
    restored_handlers: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from rtstyle.backends.registry import require_module

    (tmp_path / "native_library.py").write_text(
        "import os, signal, time\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "time.sleep(0.05)\n"
        "STARTED_UP = True\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "native_library", raising=False)
    install_interrupt_handlers()
    with pytest.raises(Interrupted):
        require_module("native_library", "extra", "the test")
    assert sys.modules["native_library"].STARTED_UP


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny bank and a clip long enough (10 s) to be mid-conversion when the signal comes."""
    folder = tmp_path_factory.mktemp("inputs")
    bank = write_tiny_bank(folder / "tiny.safetensors")
    return bank, make_sample_clip(folder / "clip.mp4", seconds=10, width=160, height=120, fps=24)


def _convert(inputs: tuple[Path, Path], out_dir: Path) -> subprocess.Popen[str]:
    bank, clip = inputs
    command = [sys.executable, "-m", "rtstyle.cli", "convert", str(clip), str(out_dir / "out.mp4"),
               "--model", str(bank), "--backend", "torch", "--quiet"]
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])  # SIGINT: test_cli's Ctrl-C test
def test_a_signal_mid_conversion_removes_the_temporary_file(
    inputs: tuple[Path, Path], tmp_path: Path, signum: int
) -> None:
    process = _convert(inputs, tmp_path)
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(".out.rtstyle-") for p in tmp_path.iterdir()):
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the conversion never started writing"
        time.sleep(0.02)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, err
    assert err.strip().splitlines() == ["rtstyle: error: interrupted; nothing was written"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("delay_s", [0.1, 1.0])
def test_a_signal_during_start_up_prints_no_traceback(
    inputs: tuple[Path, Path], tmp_path: Path, delay_s: float
) -> None:
    """Whenever it lands (interpreter start, imports, model load), the exit is clean."""
    process = _convert(inputs, tmp_path)
    time.sleep(delay_s)  # where in the start-up the signal lands; every moment must pass
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert "Traceback" not in err
    # Before the handlers are installed (interpreter start-up) SIGTERM's default action applies.
    assert process.returncode in (143, -signal.SIGTERM), err
    assert list(tmp_path.iterdir()) == []


def test_a_signal_that_python_wraps_on_its_way_up_is_still_an_interrupt(monkeypatch, capsys) -> None:
    """Python 3.11 turns an exception from ``__set_name__`` (a signal landing while torch defines a
    dataclass at import: seen in CI) into a ``RuntimeError`` raised from it; that is still SIGTERM."""
    from rtstyle import cli, commands

    def wrapped_signal(_args: object) -> int:
        try:
            raise Interrupted(signal.SIGTERM)
        except Interrupted as exc:  # as type_new_set_names does: RuntimeError from the original
            raise RuntimeError("Error calling __set_name__ on 'Field' instance 'placeholder_nodes'") from exc

    monkeypatch.setattr(commands, "run_sample", wrapped_signal)
    assert cli.main(["sample", "x.mp4"]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == "rtstyle: error: interrupted; nothing was written"
