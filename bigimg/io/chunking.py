"""Default chunking of opened images: the storage's own chunks, grouped."""

from __future__ import annotations

import math
from collections.abc import Sequence

import dask.array as da
import numpy as np

__all__ = ["MAX_CHUNKS", "TARGET_CHUNK_BYTES", "check_openable", "choose_chunks"]

#: Default size of one dask chunk when a source is opened: tens of MiB, the
#: range where per-task overhead is negligible and a 2-core machine still has
#: many chunks in flight well inside its memory.
TARGET_CHUNK_BYTES = 32 * 2**20
#: Most default chunks an opened image may need (512 TiB): dask's bookkeeping
#: of more takes minutes and gigabytes before anything is read, and a shape
#: that large in a file's metadata is most likely damage (a digit too many).
MAX_CHUNKS = 2**24
#: Storage chunks per axis given to dask as the grouping hint; more are
#: grouped first (dask spells the hint out chunk by chunk).
_MAX_HINT = 2**16


def choose_chunks(
    shape: Sequence[int],
    dtype: np.dtype,
    chunks: object = None,
    *,
    storage_chunks: Sequence[int] | None = None,
    target_bytes: int = TARGET_CHUNK_BYTES,
) -> tuple[tuple[int, ...], ...]:
    """Normalise user ``chunks`` or pick defaults grouped from ``storage_chunks``.

    With ``chunks=None`` the result is made of whole storage chunks (when the
    storage has chunks) grouped up to about ``target_bytes`` per chunk, so a
    dask task never reads a storage chunk only in part.
    """
    shape = tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    if chunks is None:
        chunks = "auto"
        previous = None
        if storage_chunks is not None:
            previous = tuple(_hint(int(c), s) for c, s in zip(storage_chunks, shape))
        try:
            return da.core.normalize_chunks(
                chunks,
                shape,
                limit=target_bytes,
                dtype=dtype,
                previous_chunks=previous,
            )
        except ValueError:  # object dtypes or zero-size shapes
            return da.core.normalize_chunks(tuple(max(1, s) for s in shape), shape, dtype=dtype)
    try:
        return da.core.normalize_chunks(chunks, shape, limit=target_bytes, dtype=dtype)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"chunks={chunks!r} does not fit an image of shape {shape}: {exc}"
        ) from exc


def _hint(chunk: int, size: int) -> int:
    """The storage chunk ``chunk`` of an axis of ``size``, as dask's grouping hint:
    a multiple of it, so that the axis has at most :data:`_MAX_HINT` of them."""
    chunk = max(1, chunk)
    groups = max(1, -(-size // (chunk * _MAX_HINT)))
    return max(1, min(chunk * groups, size))


def check_openable(shape: Sequence[int], dtype: np.dtype, where: str) -> None:
    """Raise :class:`~bigimg.errors.MetadataError` naming ``where`` (the file
    whose metadata gives ``shape``) if the image needs more than
    :data:`MAX_CHUNKS` chunks of :data:`TARGET_CHUNK_BYTES`."""
    from bigimg.errors import MetadataError

    nbytes = math.prod(int(s) for s in shape) * np.dtype(dtype).itemsize
    needed = -(-nbytes // TARGET_CHUNK_BYTES)
    if needed > MAX_CHUNKS:
        raise MetadataError(
            f"{where!r}: shape {tuple(int(s) for s in shape)} of {np.dtype(dtype)} "
            f"({nbytes} bytes) is too large to open: it needs {needed} chunks of "
            f"{TARGET_CHUNK_BYTES} bytes, more than {MAX_CHUNKS}; the metadata is most "
            "likely damaged"
        )
