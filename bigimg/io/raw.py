"""Raw binary files: a header-less C- or Fortran-ordered pixel array.

Pixels are read with positioned reads (``os.preadv``) of exactly the byte
runs a chunk covers, so slicing a window of a huge file reads only that
window. The graph holds a small picklable :class:`RawFile` description, never
a memory map, so it travels to distributed workers.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np

from bigimg.errors import CorruptDataError, MetadataError
from bigimg.io.chunking import choose_chunks
from bigimg.io.faults import region_text
from bigimg.io.registry import ImageInfo, register
from bigimg.io.selection import bounding_box

__all__ = ["RawFile", "open_raw_file"]

RAW_SUFFIXES = (".raw", ".bin", ".dat", ".img")


@dataclass(frozen=True)
class RawFile:
    """A lazily read array stored as contiguous bytes at ``offset`` in ``path``.

    Indexing with a tuple of slices / integers (what ``dask.array.from_array``
    does) reads only the bytes of that region.
    """

    path: str
    shape: tuple[int, ...]
    dtype: np.dtype  # dtype on disk, byte order included
    offset: int = 0
    order: str = "C"

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def native_dtype(self) -> np.dtype:
        return self.dtype.newbyteorder("=") if self.dtype.byteorder not in "=|" else self.dtype

    def __getitem__(self, key: Any) -> np.ndarray:
        """numpy indexing, reading only the bounding box of the selection."""
        bounds, relative = bounding_box(key, self.shape)
        return self.read_region(bounds)[relative]

    def read_region(self, bounds: list[tuple[int, int]]) -> np.ndarray:
        """Read the box ``[start, stop)`` per axis into a new native-order array.

        Raises :class:`~bigimg.errors.CorruptDataError` naming the file, the
        byte range and the array region if the bytes cannot be read (the file
        was truncated after it was opened, or an I/O error).
        """
        if self.order == "F":
            return self._read_c(bounds[::-1], self.shape[::-1], bounds).T
        return self._read_c(bounds, self.shape, bounds)

    def _read_c(
        self,
        bounds: list[tuple[int, int]],
        shape: tuple[int, ...],
        region: list[tuple[int, int]],
    ) -> np.ndarray:
        """Read a box of the C-ordered ``shape``; ``region`` is the box in the
        array's own axis order (for messages)."""
        out_shape = tuple(b - a for a, b in bounds)
        out = np.empty(out_shape, dtype=self.dtype)
        if out.size == 0:
            return out.astype(self.native_dtype, copy=False)
        # k: the last axis that is not read whole; runs are contiguous from there on
        k = len(shape) - 1
        while k > 0 and bounds[k] == (0, shape[k]):
            k -= 1
        item = self.dtype.itemsize
        strides = [math.prod(shape[i + 1 :]) * item for i in range(len(shape))]
        run_bytes = out_shape[k] * strides[k] if shape else item
        flat = out.reshape(-1, math.prod(out_shape[k:]) if shape else 1)
        buf = flat.view(np.uint8).reshape(len(flat), -1)
        outer = itertools.product(*(range(a, b) for a, b in bounds[:k]))
        first = self.offset + sum(a * s for (a, _), s in zip(bounds, strides))
        last = self.offset + sum((b - 1) * s for (_, b), s in zip(bounds, strides)) + item
        chunk = f"bytes {first}-{last - 1} (array region {region_text(region)})"
        with open(self.path, "rb", buffering=0) as f:
            fd = f.fileno()
            for row, idx in enumerate(outer):
                pos = self.offset + sum(i * s for i, s in zip(idx, strides))
                pos += bounds[k][0] * strides[k] if shape else 0
                try:
                    got = os.preadv(fd, [buf[row]], pos)
                except OSError as exc:
                    raise CorruptDataError(
                        f"{self.path!r}: cannot read {chunk}: {exc.strerror or exc}"
                    ) from exc
                if got != run_bytes:
                    size = os.fstat(fd).st_size
                    cause = EOFError(
                        f"read {got} of {run_bytes} bytes at byte {pos}; the file has {size} "
                        f"bytes, the array needs {self.offset + math.prod(shape) * item}"
                    )
                    raise CorruptDataError(
                        f"{self.path!r}: {chunk} cannot be read: the file was truncated or "
                        f"changed after it was opened ({cause})"
                    ) from cause
        return out.astype(self.native_dtype, copy=False)


def open_raw_file(raw: RawFile, chunks: object) -> da.Array:
    """Dask array over a :class:`RawFile` (shared by the raw and npy backends)."""
    chunks = choose_chunks(raw.shape, raw.dtype, chunks, storage_chunks=_storage_chunks(raw))
    name = f"bigimg-{Path(raw.path).name}-{da.core.tokenize(raw, os.stat(raw.path).st_mtime_ns)}"
    arr = da.from_array(
        raw, chunks=chunks, name=name, lock=False, asarray=False, inline_array=True
    )
    return arr.astype(raw.native_dtype, copy=False) if arr.dtype != raw.native_dtype else arr


def _storage_chunks(raw: RawFile) -> tuple[int, ...]:
    """Whole rows (C) or columns (F) are the natural contiguous unit."""
    if not raw.shape:
        return ()
    unit = [1] * raw.ndim
    if raw.order == "C":
        unit[-1] = raw.shape[-1]
    else:
        unit[0] = raw.shape[0]
    return tuple(unit)


def check_size(path: Path, expected: int, what: str, *, header: bool = False) -> None:
    """Raise ``ValueError`` unless ``path`` has exactly ``expected`` bytes.

    ``header``: the layout comes from the file's own header, not the user's
    options, so only the file can be wrong: a
    :class:`~bigimg.errors.MetadataError` (a ``ValueError``) is raised.
    """
    actual = os.path.getsize(path)
    if actual != expected:
        damage = "the file is truncated" if actual < expected else "the file has extra bytes"
        hint = damage if header else f"check dtype, shape and offset (or {damage})"
        raise (MetadataError if header else ValueError)(
            f"{str(path)!r} has {actual} bytes but {what} needs {expected} bytes: {hint}"
        )


class RawBackend:
    """Header-less binary files; ``dtype`` and ``shape`` are required."""

    name = "raw"

    def claims(self, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() in RAW_SUFFIXES

    def _describe(self, path: Path, options: dict[str, Any]) -> RawFile:
        unknown = set(options) - {"dtype", "shape", "offset", "order"}
        if unknown:
            raise TypeError(f"raw files take dtype, shape, offset, order; got {sorted(unknown)}")
        if "dtype" not in options or "shape" not in options:
            raise TypeError(
                "raw files need dtype= and shape= (e.g. dtype='<u2', shape=(512, 512))"
            )
        try:
            dtype = np.dtype(options["dtype"])
        except TypeError as exc:
            raise TypeError(f"dtype={options['dtype']!r} is not a numpy dtype") from exc
        if dtype.hasobject or dtype.itemsize == 0:
            raise TypeError(f"dtype={dtype} cannot be stored in a raw file")
        shape = options["shape"]
        shape = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
        if not all(isinstance(s, int | np.integer) and s >= 0 for s in shape):
            raise ValueError(f"shape={options['shape']!r} must be non-negative integers")
        shape = tuple(int(s) for s in shape)
        offset = options.get("offset", 0)
        if not isinstance(offset, int | np.integer) or offset < 0:
            raise ValueError(f"offset={offset!r} must be a non-negative integer")
        order = options.get("order", "C")
        if order not in ("C", "F"):
            raise ValueError(f"order={order!r} must be 'C' or 'F'")
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {str(path)!r}")
        expected = int(offset) + math.prod(shape) * dtype.itemsize
        check_size(
            path, expected, f"offset {offset} + shape {shape} x {dtype.itemsize}-byte {dtype}"
        )
        return RawFile(str(path), shape, dtype, int(offset), order)

    def open(self, path: Path, *, chunks: object = None, **options: Any) -> da.Array:
        return open_raw_file(self._describe(path, options), chunks)

    def info(self, path: Path, **options: Any) -> ImageInfo:
        raw = self._describe(path, options)
        return ImageInfo(
            str(path),
            "raw",
            raw.shape,
            raw.native_dtype,
            None,
            details={"byte order": raw.dtype.str, "offset": raw.offset, "order": raw.order},
        )


register(RawBackend())
