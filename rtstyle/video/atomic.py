"""Write an output file so that it appears complete or not at all.

Encoding a video takes minutes; if it fails or the user presses Ctrl-C, a half-written file with
the requested name would look like a result (and could replace a good file from an earlier run).
So everything is written to a hidden temporary file beside the destination -- the same directory
keeps the final rename atomic, the same suffix lets FFmpeg pick the container from the name -- and
renamed over the destination only once the writer has finished.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rtstyle.errors import OutputError
from rtstyle.interrupts import interrupts_held
from rtstyle.video.averror import reason

log = logging.getLogger(__name__)

_CREATE_ATTEMPTS = 100


@contextmanager
def atomic_output(
    dest: str | os.PathLike,
    *,
    overwrite: bool = False,
    inputs: Sequence[str | os.PathLike] = (),
) -> Iterator[Path]:
    """Yield a temporary path to write; move it onto ``dest`` when the block succeeds.

    Raises ``OutputError`` before anything is written if ``dest`` exists (unless ``overwrite``),
    is a directory, is one of ``inputs`` (even with ``overwrite``: the input is still being read),
    or lies in a directory that is missing or not writable.  If the block raises anything,
    KeyboardInterrupt included, the temporary file is removed and the exception propagates.
    """
    dest = Path(dest)
    check_destination(dest, overwrite=overwrite, inputs=inputs)
    tmp: Path | None = None
    try:
        with interrupts_held():  # a Ctrl-C just after the file exists must still find it to remove
            tmp = _create_temp(dest)
        yield tmp
        _commit(tmp, dest, overwrite)
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
    log.debug("wrote %s", dest)


def check_destination(
    dest: str | os.PathLike, *, overwrite: bool, inputs: Sequence[str | os.PathLike] = ()
) -> None:
    """Raise ``OutputError`` if ``dest`` may not be (over)written; see ``atomic_output``.

    Also usable on its own, to fail before slow preparation (loading a model) starts.
    """
    dest = Path(dest)
    for source in inputs:
        if _same_file(dest, Path(source)):
            raise OutputError(f"{dest}: is the input file; choose a different output name")
    if dest.is_dir():
        raise OutputError(f"{dest}: is a directory; give a file name for the output")
    parent = dest.parent
    if not parent.is_dir():
        raise OutputError(f"{dest}: directory {parent} does not exist")
    if dest.exists() and not overwrite:
        raise OutputError(f"{dest}: already exists (use --overwrite to replace it)")


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file, through symlinks, hard links and relative spellings."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        # One of them does not exist (yet): compare spellings after resolving what exists.
        return a.resolve() == b.resolve()


def _create_temp(dest: Path) -> Path:
    """Create an empty, hidden, uniquely named file beside ``dest`` with the same suffix.

    ``os.open`` with ``O_EXCL`` rather than ``tempfile.mkstemp`` so the file gets the usual
    permissions (``0o666`` minus umask) instead of ``0o600`` once it becomes the output.
    """
    for _ in range(_CREATE_ATTEMPTS):
        tmp = dest.with_name(f".{dest.stem}.rtstyle-{secrets.token_hex(4)}{dest.suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(
                f"{dest}: cannot write to directory {dest.parent} ({reason(exc)})"
            ) from exc
        os.close(fd)
        return tmp
    raise OutputError(f"{dest}: could not create a temporary file in {dest.parent}")


def _commit(tmp: Path, dest: Path, overwrite: bool) -> None:
    """Move the finished file into place without clobbering a file that appeared meanwhile."""
    try:
        if overwrite:
            os.replace(tmp, dest)
            return
        try:
            # link() fails if dest exists, closing the window between the check and the rename.
            os.link(tmp, dest)
        except FileExistsError:
            raise OutputError(f"{dest}: appeared while writing; not overwriting it") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
                raise
            # Filesystems without hard links (FAT, some network shares): plain rename.
            os.replace(tmp, dest)
            return
        tmp.unlink()
    except OSError as exc:
        raise OutputError(
            f"{dest}: cannot move the finished file into place ({reason(exc)})"
        ) from exc
