"""Test guards: laziness, bytes read, and the disk left unchanged."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask


class ComputeError(AssertionError):
    pass


def _refuse(dsk: Any, keys: Any, **kwargs: Any) -> Any:
    raise ComputeError("a lazy function computed something")


@contextlib.contextmanager
def raise_if_dask_computes() -> Iterator[None]:
    """Fail if anything inside the block runs a dask graph."""
    with dask.config.set(scheduler=_refuse):
        yield


def bytes_read() -> int:
    """Bytes this process has read through system calls (Linux ``rchar``)."""
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise RuntimeError("no rchar in /proc/self/io")


@contextlib.contextmanager
def count_bytes_read() -> Iterator[list[int]]:
    """``with count_bytes_read() as n: ...`` then ``n[0]`` is the bytes read."""
    box = [0]
    before = bytes_read()
    try:
        yield box
    finally:
        box[0] = bytes_read() - before


def tree_digest(root: Path) -> dict[str, str]:
    """Every path under ``root`` (or ``root`` itself, a file) with what it is: a
    hash of a file's bytes, a symlink's target, or ``dir``; equal digests
    before and after a command mean it changed nothing there."""
    out = {}
    paths = [root] if root.is_file() else sorted(root.rglob("*"))
    for p in paths:
        if p.is_symlink():
            out[str(p)] = "link:" + os.readlink(p)
        elif p.is_file():
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[str(p)] = "dir"
    return out
