"""Reporting damaged files and failed writes with the file and the chunk.

Shared by the format backends and the job runner: how an array region is
written in messages, how an ``OSError`` of a write becomes a
:class:`~bigimg.errors.WriteError` that keeps its ``errno``, and the check
that a directory can be written before any work starts, and finding the
chunk of a failed read.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from errno import EFBIG, ENOSPC
from pathlib import Path
from typing import TypeVar

from bigimg.errors import WriteError

__all__ = [
    "check_writable",
    "first_failing",
    "region_text",
    "unwritable",
    "writable_ancestor",
    "write_error",
]

T = TypeVar("T")

#: Free bytes below which a short write is put down to a full disk.
_NEARLY_FULL = 64 * 1024


def region_text(bounds: Sequence[tuple[int, int]]) -> str:
    """``[(0, 10), (20, 30)]`` -> ``'[0:10, 20:30]'``: an array region in messages."""
    return "[" + ", ".join(f"{a}:{b}" for a, b in bounds) + "]"


def write_error(message: str, cause: OSError, where: Path | str | None = None) -> WriteError:
    """A :class:`WriteError` saying ``message`` and why (``cause``), same ``errno``.

    ``where``: the file (or a directory) written to. A cause without an
    ``errno`` (a short write, as Python's buffered files report it) is
    explained from there: a full disk (``ENOSPC``) or a file at the process's
    file size limit (``EFBIG``) is said so. Raise the result ``from cause``.
    """
    reason = cause.strerror or str(cause) or type(cause).__name__
    code = cause.errno
    if code is None and where is not None:
        explained = _short_write(Path(where))
        if explained is not None:
            code, why = explained
            reason = f"{reason} ({why})"
    error = WriteError(f"{message}: {reason}")
    error.errno = code
    return error


def _short_write(where: Path) -> tuple[int, str] | None:
    """Why a write to ``where`` came up short, if the file system tells."""
    with contextlib.suppress(OSError):
        st = os.statvfs(writable_ancestor(where))
        free = st.f_bavail * st.f_frsize
        if free < _NEARLY_FULL:
            return ENOSPC, f"no space left on the device: {free} bytes free"
    with contextlib.suppress(OSError, ImportError, ValueError):
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY and where.is_file():
            if where.stat().st_size + _NEARLY_FULL >= limit:
                return EFBIG, f"the file size limit of this process is {limit} bytes"
    return None


def first_failing(pieces: Iterable[T], read: Callable[[T], object]) -> tuple[T, Exception] | None:
    """The first of ``pieces`` whose ``read`` fails on its own, with its
    exception (None if every one reads): which chunk of a failed read is bad."""
    for piece in pieces:
        try:
            read(piece)
        except MemoryError:
            raise
        except Exception as exc:
            return piece, exc
    return None


def writable_ancestor(path: Path) -> Path:
    """The directory a write to ``path`` (not existing yet, or existing) first
    touches: the nearest existing directory among ``path`` and its parents."""
    path = Path(os.path.abspath(path))
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            return candidate
    return Path(path.anchor)


def check_writable(directory: Path) -> None:
    """Raise :class:`WriteError` naming ``directory`` unless a file can be
    created in it (or, if it does not exist yet, in its nearest existing parent).

    The check creates and removes a small probe file: permission bits, access
    lists, read-only mounts and the superuser's exemptions are all judged by the
    file system itself, as the real write will be.
    """
    where = writable_ancestor(directory)
    try:
        fd, probe = tempfile.mkstemp(prefix=".bigimg-probe-", dir=where)
    except OSError as exc:
        what = "directory" if where == Path(os.path.abspath(directory)) else "parent directory"
        raise write_error(
            f"cannot write to {what} {str(where)!r} (nothing was computed)", exc
        ) from exc
    os.close(fd)
    os.unlink(probe)


def unwritable(directories: Iterable[Path]) -> dict[Path, str]:
    """``{directory: reason}`` for each of ``directories`` that cannot be
    written (see :func:`check_writable`); each file system place is tried once."""
    tried: dict[Path, str] = {}
    out = {}
    for directory in directories:
        where = writable_ancestor(directory)
        if where not in tried:
            try:
                check_writable(where)
                tried[where] = ""
            except WriteError as exc:
                tried[where] = str(exc)
        if tried[where]:
            out[directory] = tried[where]
    return out
