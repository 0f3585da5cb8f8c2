"""NumPy ``.npy`` files, read like raw files after their header."""

from __future__ import annotations

import tokenize
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np

from bigimg.errors import MetadataError
from bigimg.io.raw import RawFile, check_size, open_raw_file
from bigimg.io.registry import ImageInfo, register

__all__ = ["read_header"]

#: What numpy's header parser raises on a damaged header: a bad magic or
#: dictionary (ValueError, SyntaxError), text cut short (TokenError), a value
#: of the wrong kind (TypeError), absurd nesting (RecursionError).
_HEADER_ERRORS = (ValueError, SyntaxError, TypeError, tokenize.TokenError, RecursionError)


def read_header(path: Path) -> RawFile:
    """Parse the ``.npy`` header into a :class:`RawFile` (no pixel is read)."""
    with open(path, "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            reader = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = reader(f, max_header_size=2**20)
        except _HEADER_ERRORS as exc:
            raise MetadataError(
                f"{str(path)!r} is not a valid .npy file: its header is damaged "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        offset = f.tell()
    if any(n < 0 for n in shape):
        raise MetadataError(
            f"{str(path)!r} is not a valid .npy file: its header gives the negative "
            f"shape {tuple(shape)}"
        )
    if dtype.hasobject:
        raise TypeError(f"{str(path)!r} holds Python objects; bigimg reads numeric .npy only")
    raw = RawFile(str(path), tuple(shape), dtype, offset, "F" if fortran else "C")
    needed = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    check_size(path, needed, f"its header (shape {tuple(shape)}, {dtype})", header=True)
    return raw


class NpyBackend:
    name = "npy"

    def claims(self, path: Path) -> bool:
        if not path.is_file():
            return False
        with open(path, "rb") as f:
            return f.read(6) == b"\x93NUMPY"

    def open(self, path: Path, *, chunks: object = None, **options: Any) -> da.Array:
        _no_options(options)
        return open_raw_file(read_header(path), chunks)

    def info(self, path: Path, **options: Any) -> ImageInfo:
        _no_options(options)
        raw = read_header(path)
        return ImageInfo(
            str(path),
            "npy",
            raw.shape,
            raw.native_dtype,
            None,
            details={"order": raw.order, "byte order": raw.dtype.str},
        )


def _no_options(options: dict[str, Any]) -> None:
    if options:
        raise TypeError(
            f".npy files take no options besides chunks (their header says the rest); "
            f"got {sorted(options)}"
        )


register(NpyBackend())
