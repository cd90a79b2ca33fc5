"""atomic_output: the destination appears complete or not at all, and is never the input."""

from __future__ import annotations

import os
import stat

import pytest

from rtstyle.errors import OutputError
from rtstyle.video import atomic
from rtstyle.video.atomic import atomic_output


def test_success_moves_the_file_into_place(tmp_path):
    dest = tmp_path / "result.mp4"
    with atomic_output(dest) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".mp4"
        assert tmp.name.startswith(".result.rtstyle-")
        assert not dest.exists()
        tmp.write_bytes(b"done")
    assert dest.read_bytes() == b"done"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.mp4"]
    # Normal permissions (umask applied), not mkstemp's private 0o600.
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failure_removes_the_temporary_file(tmp_path, error):
    dest = tmp_path / "result.mp4"
    with pytest.raises(type(error)):
        with atomic_output(dest) as tmp:
            tmp.write_bytes(b"half")
            raise error
    assert list(tmp_path.iterdir()) == []


def test_existing_destination(tmp_path):
    dest = tmp_path / "result.mp4"
    dest.write_bytes(b"old")
    with pytest.raises(OutputError, match="already exists"):
        with atomic_output(dest):
            pytest.fail("must not be entered")
    with atomic_output(dest, overwrite=True) as tmp:
        tmp.write_bytes(b"new")
    assert dest.read_bytes() == b"new"


def test_destination_created_meanwhile_is_not_clobbered(tmp_path):
    dest = tmp_path / "result.mp4"
    with pytest.raises(OutputError, match="appeared while writing"):
        with atomic_output(dest) as tmp:
            tmp.write_bytes(b"ours")
            dest.write_bytes(b"theirs")
    assert dest.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["result.mp4"]


def test_destination_that_is_an_input(tmp_path):
    source = tmp_path / "in.mp4"
    source.write_bytes(b"video")
    link = tmp_path / "link.mp4"
    link.symlink_to(source)
    for dest in (source, tmp_path / "sub" / ".." / "in.mp4", link):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(OutputError, match="is the input file"):
            with atomic_output(dest, overwrite=True, inputs=[source]):
                pytest.fail("must not be entered")
    assert source.read_bytes() == b"video"


def test_bad_directories(tmp_path):
    with pytest.raises(OutputError, match="is a directory"):
        with atomic_output(tmp_path, overwrite=True):
            pass
    with pytest.raises(OutputError, match="does not exist"):
        with atomic_output(tmp_path / "nope" / "out.mp4"):
            pass


def test_unwritable_directory(read_only_dir):
    with pytest.raises(OutputError, match="cannot write to directory .*Permission denied"):
        with atomic_output(read_only_dir / "out.mp4"):
            pass


def test_refused_file_creation_is_an_output_error(tmp_path, monkeypatch):
    """Same path as an unwritable directory, reproducible even when tests run as root."""

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic.os, "open", refuse)
    with pytest.raises(OutputError, match=r"cannot write to directory .* \(Permission denied\)"):
        with atomic_output(tmp_path / "out.mp4"):
            pass
