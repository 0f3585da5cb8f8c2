"""Zarr chunks read and written with errors that name the store and the chunk key.

:class:`ZarrSource` is what the dask graph of an opened Zarr array holds: it
reads a region like ``zarr.Array`` does, but

* with ``missing="error"`` it first checks that every storage chunk (shard,
  for sharded arrays) the region covers exists — one existence check per
  storage chunk, never a listing of the store — and raises
  :class:`~bigimg.errors.MissingChunkError` naming the chunk key otherwise
  (with ``missing="fill"`` an absent chunk reads as the fill value, the Zarr
  rule);
* a chunk that does not decode raises :class:`~bigimg.errors.CorruptDataError`
  naming the failing chunk's key (found by reading the covered chunks one by
  one), with the codec's error chained.

:class:`ZarrTarget` is the target ``dask.array.store`` and the job runner
write into: an ``OSError`` of a chunk write (full disk, read-only file system)
becomes a :class:`~bigimg.errors.WriteError` naming the store and the chunk.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import zarr

from bigimg.errors import CorruptDataError, MissingChunkError
from bigimg.io.faults import first_failing, region_text, write_error
from bigimg.io.selection import bounding_box

__all__ = ["MISSING_CHUNKS", "ZarrSource", "ZarrTarget", "chunk_keys"]

#: Accepted values of ``missing_chunks=`` (``None``: decided by the store's marker).
MISSING_CHUNKS = ("error", "fill")


def _grid(array: zarr.Array) -> tuple[int, ...]:
    """The shape of one stored object: the shard if sharded, else the chunk."""
    shards = getattr(array, "shards", None)
    return tuple(shards) if shards else tuple(array.chunks)


def chunk_keys(
    array: zarr.Array, bounds: list[tuple[int, int]]
) -> list[tuple[str, list[tuple[int, int]]]]:
    """``(key, region)`` of each stored chunk (shard) the region ``bounds``
    touches; keys relative to the array's own directory (``'c/1/2'``, ``'1.2'``)."""
    grid, shape = _grid(array), array.shape
    ranges = [range(a // c, -(-b // c)) for (a, b), c in zip(bounds, grid)]
    out = []
    for coords in itertools.product(*ranges):
        region = [(i * c, min((i + 1) * c, n)) for i, c, n in zip(coords, grid, shape)]
        out.append((array.metadata.encode_chunk_key(coords), region))
    return out


def _location(array: zarr.Array) -> str:
    """Where the array's chunks live: its directory for local stores."""
    root = getattr(array.store, "root", None)
    path = array.store_path.path
    if root is None:
        return f"{array.store}/{path}" if path else str(array.store)
    return os.path.join(os.fspath(root), path) if path else os.fspath(root)


class _ArrayLike:
    """``shape``, ``dtype`` and ``ndim`` of the wrapped Zarr array, for dask."""

    array: zarr.Array

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.array.dtype)

    @property
    def ndim(self) -> int:
        return len(self.array.shape)


@dataclass(frozen=True)
class ZarrSource(_ArrayLike):
    """A Zarr array read region by region, naming the chunk of any failure.

    Parameters
    ----------
    array : zarr.Array
    missing : {'error', 'fill'}
        What an absent stored chunk means: an error, or the fill value.
    why : str
        Why ``missing`` is what it is, said when a chunk is missing.
    """

    array: zarr.Array
    missing: str
    why: str = ""

    @property
    def path(self) -> str:
        """The array's directory (store root, plus the component in a group)."""
        return _location(self.array)

    def __getitem__(self, key: Any) -> np.ndarray:
        bounds, relative = bounding_box(key, self.shape)
        if any(a == b for a, b in bounds):
            return np.empty(tuple(b - a for a, b in bounds), self.dtype)[relative]
        if self.missing == "error":
            self._check_present(bounds)
        try:
            box = self.array[tuple(slice(a, b) for a, b in bounds)]
        except MemoryError:
            raise
        except Exception as exc:
            error, cause = self._damaged(bounds, exc)
            raise error from cause
        return np.asarray(box)[relative]

    def _check_present(self, bounds: list[tuple[int, int]]) -> None:
        root = getattr(self.array.store, "root", None)
        base = self.path
        for key, region in chunk_keys(self.array, bounds):
            if root is not None:
                present = os.path.exists(os.path.join(base, key))
            else:  # not a local directory store: ask the store itself
                from zarr.core.sync import sync

                prefix = self.array.store_path.path
                present = sync(self.array.store.exists(f"{prefix}/{key}" if prefix else key))
            if not present:
                raise MissingChunkError(
                    f"{base!r}: chunk {key!r} (array region {region_text(region)}) is "
                    f"missing; {self.why}"
                )

    def _damaged(
        self, bounds: list[tuple[int, int]], exc: Exception
    ) -> tuple[CorruptDataError, Exception]:
        """The error naming the first stored chunk of ``bounds`` that fails on
        its own, and that chunk's exception (the cause)."""
        keys = chunk_keys(self.array, bounds)
        failing: tuple[str, list[tuple[int, int]]] | None
        if len(keys) == 1:
            failing, cause = keys[0], exc
        else:
            found = first_failing(keys, lambda k: self.array[tuple(slice(*b) for b in k[1])])
            failing, cause = found or (None, exc)
        reason = f"{type(cause).__name__}: {cause}"
        if failing is None:
            error = CorruptDataError(
                f"{self.path!r}: the chunks of array region {region_text(bounds)} cannot be "
                f"read ({reason})"
            )
            return error, cause
        key, region = failing
        error = CorruptDataError(
            f"{self.path!r}: chunk {key!r} (array region {region_text(region)}) cannot be "
            f"read: the chunk file is damaged or unreadable ({reason})"
        )
        return error, cause


@dataclass(frozen=True)
class ZarrTarget(_ArrayLike):
    """A Zarr array written region by region (``target[region] = block``),
    naming the store and the chunk of a failed write."""

    array: zarr.Array

    def __setitem__(self, key: Any, value: Any) -> None:
        try:
            self.array[key] = value
        except OSError as exc:
            bounds, _ = bounding_box(key, self.shape)
            keys = [k for k, _ in chunk_keys(self.array, bounds)]
            chunk = repr(keys[0]) if len(keys) == 1 else f"{keys[0]!r} to {keys[-1]!r}"
            raise write_error(
                f"cannot write chunk {chunk} (array region {region_text(bounds)}) of "
                f"{_location(self.array)!r}",
                exc,
                _location(self.array),
            ) from exc
