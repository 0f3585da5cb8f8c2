"""Every path bigimg writes: resolved once, checked before any work, claimed
atomically when it is created.

All writers go through here: :func:`bigimg.save` (Zarr, OME-Zarr, TIFF),
``bigimg convert``, tables, pictures and a job's outputs and work directory.
The rule (README, "Guarantees"):

* A target is :func:`resolve`-d first: ``~`` expanded, made absolute,
  normalised and its symlinks resolved, so ``o1/../victim.zarr``, a symlink
  and an absolute path to one store are one target, whether or not ``o1``
  exists yet.
* Before any work, an existing target is refused unless the caller was asked
  to replace it (:func:`refuse_existing`); even then only what bigimg can
  replace is removed (:func:`clear`): a Zarr store, an empty directory, a
  file. A directory that is not a Zarr store is never deleted.
* At the moment of creation the target is claimed atomically, never adopted:
  a store is a new directory (:func:`claim_directory`), a file is renamed
  into place from its ``.partial`` without replacing anything
  (:func:`publish`). A target that appeared since the check is refused with
  :class:`~bigimg.errors.TargetExistsError`.
* Who created a target is known by its identity, not its name: a file's
  device, inode, size and modification time (a rename keeps them; the file is
  whole before it is published), a store's device and inode and the random
  claim its writer puts in the store's ``bigimg`` marker (inode numbers are
  reused at once after a delete). A job records the identity of what it
  claims *before* the claim takes effect (:func:`recording`), so what it
  created survives a kill as the job's, and anything else at that path, even
  a new store of the same name, is not (:func:`is_same`).
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import ctypes.util
import errno
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bigimg.errors import TargetExistsError
from bigimg.io.zarr_marker import claim_of, is_zarr

__all__ = [
    "Identity",
    "claim_directory",
    "clear",
    "exists",
    "identity",
    "is_same",
    "publish",
    "recording",
    "refuse_existing",
    "resolve",
]

#: what a target is, whatever its name (JSON-able): see :func:`identity`
Identity = dict[str, Any]

_RECORDER: contextvars.ContextVar[Callable[[Path, Identity], None] | None] = (
    contextvars.ContextVar("bigimg_target_recorder", default=None)
)


def resolve(path: Any) -> Path:
    """``path`` as bigimg writes it: ``~`` expanded, absolute, normalised, with
    every symlink among its existing parts resolved.

    Examples
    --------
    >>> import os, tempfile
    >>> base = tempfile.mkdtemp()
    >>> resolve(os.path.join(base, "missing", "..", "v.zarr")) == resolve(base) / "v.zarr"
    True
    """
    try:
        text = os.fspath(path)
    except TypeError:
        raise TypeError(f"a target must be a path, not {type(path).__name__}") from None
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text or "\0" in text:
        raise ValueError(f"{text!r} is not a valid path")
    return Path(os.path.realpath(os.path.expanduser(text)))


def exists(path: Path) -> bool:
    """Something (a file, a directory, a dangling symlink) is at ``path``."""
    return os.path.lexists(path)


def identity(path: Path, claim: str | None = None) -> Identity | None:
    """What is at ``path`` (not following a symlink): device and inode, and a
    file's size and modification time, or a directory's ``claim``."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    out: Identity = {"inode": [st.st_dev, st.st_ino]}
    if os.path.isdir(path) and not os.path.islink(path):
        out["claim"] = claim
    else:
        out.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
    return out


def is_same(path: Path, recorded: Any) -> bool:
    """What is at ``path`` now is what ``recorded`` (an :func:`identity`) was.

    A store is the same if its inode is and its ``bigimg`` marker holds the
    recorded claim, or, left empty by a writer killed right after claiming
    it, if it is still empty.
    """
    now = identity(path)
    if not isinstance(recorded, dict) or now is None or now["inode"] != recorded.get("inode"):
        return False
    if "claim" not in now:
        return all(now[k] == recorded.get(k) for k in ("size", "mtime_ns"))
    if "claim" not in recorded:
        return False
    mark = claim_of(path)
    return mark == recorded["claim"] or (mark is None and not any(path.iterdir()))


def refuse_existing(path: Path, *, overwrite: bool, what: str = "") -> None:
    """Raise :class:`TargetExistsError` if ``path`` exists and may not be replaced:
    always without ``overwrite``, and with it when bigimg would not delete it."""
    if not exists(path):
        return
    name = f"{what} {str(path)!r}" if what else repr(str(path))
    if not overwrite:
        raise TargetExistsError(
            f"{name.strip()} already exists; pass overwrite=True (or --overwrite) to replace it"
        )
    reason = _unremovable(path)
    if reason:
        raise TargetExistsError(f"{name.strip()} {reason}; bigimg will not delete it")


def _unremovable(path: Path) -> str:
    if os.path.isdir(path) and not os.path.islink(path):
        if not (is_zarr(path) or not any(path.iterdir())):
            return "is a directory that is not a Zarr store"
    return ""


def clear(path: Path) -> None:
    """Remove what is at ``path`` so it can be written again (a Zarr store, an
    empty directory, a file or a symlink); refuse anything else."""
    if not exists(path):
        return
    refuse_existing(path, overwrite=True)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


@contextlib.contextmanager
def recording(record: Callable[[Path, Identity], None]) -> Iterator[None]:
    """Within this block, every claim calls ``record(path, identity)`` just
    before the new target appears at ``path`` (a job's ownership journal)."""
    token = _RECORDER.set(record)
    try:
        yield
    finally:
        _RECORDER.reset(token)


def _record(path: Path, ident: Identity | None) -> None:
    record = _RECORDER.get()
    if record is not None and ident is not None:
        record(path, ident)


def _appeared(path: Path) -> TargetExistsError:
    return TargetExistsError(
        f"{str(path)!r} appeared while bigimg was preparing to write it; it was left "
        "untouched and nothing was written there (pass overwrite=True, or --overwrite, "
        "to replace it)"
    )


def claim_directory(path: Path) -> str:
    """Create ``path`` as a new, empty directory of this writer's, atomically:
    :class:`TargetExistsError` if anything is there (nothing is adopted).

    The directory is made under a temporary name beside ``path``, its identity
    recorded (:func:`recording`), then renamed into place without replacing
    anything, so a kill at any moment leaves either no target or one that is
    known to be this writer's.

    Returns
    -------
    str
        The claim: a random token the writer stores in the store's marker
        (``{"bigimg": {"claim": ...}}``), which tells this store from a later
        one at the same path.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    claim = uuid.uuid4().hex
    temporary = path.with_name(f".{path.name}.bigimg-{claim[:12]}")
    os.mkdir(temporary)
    try:
        _record(path, identity(temporary, claim))
        _rename_no_replace(temporary, path, claim)
    except BaseException:
        with contextlib.suppress(OSError):
            os.rmdir(temporary)
        raise
    return claim


def publish(partial: Path, path: Path, *, replace: bool = False) -> Path:
    """Move the finished file ``partial`` to ``path``: without replacing anything
    (:class:`TargetExistsError` if ``path`` appeared meanwhile; ``partial`` is
    then removed), or, with ``replace`` (the caller was asked to overwrite),
    replacing a file there in one step. The identity is recorded first
    (:func:`recording`)."""
    try:
        _record(path, identity(partial))
        if replace and not (os.path.isdir(path) and not os.path.islink(path)):
            os.replace(partial, path)
        else:
            _rename_no_replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise
    return path


def _rename_no_replace(source: Path, target: Path, claim: str | None = None) -> None:
    """``rename(source, target)`` that fails if ``target`` exists, atomically."""
    result = _renameat2(source, target)
    if result == 0:
        return
    if result in (errno.EEXIST, errno.ENOTEMPTY):
        raise _appeared(target)
    if result is not None and result not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        raise OSError(result, os.strerror(result), str(target))
    # no renameat2 here (or not on this file system)
    if os.path.isdir(source):
        try:
            os.mkdir(target)  # exclusive: the claim
        except FileExistsError:
            raise _appeared(target) from None
        os.rmdir(source)  # the claim is the new directory itself, recorded anew
        _record(target, identity(target, claim))
        return
    try:
        os.link(source, target)  # a hard link never replaces
    except FileExistsError:
        raise _appeared(target) from None
    os.unlink(source)


def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name, use_errno=True)
        function = lib.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    function.argtypes.append(ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _libc()
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1


def _renameat2(source: Path, target: Path) -> int | None:
    """0 on success, else the errno; None where renameat2 is not available."""
    if _RENAMEAT2 is None:
        return None
    code = _RENAMEAT2(
        _AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE
    )
    return 0 if code == 0 else ctypes.get_errno()
