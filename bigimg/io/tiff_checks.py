"""Checking a TIFF file's structure against the file, from its tags alone.

What the tags of a damaged TIFF make tifffile raise becomes a
:class:`~bigimg.errors.MetadataError` naming the file and the page
(:func:`parsing`); tiles or strips, and links to next pages, that lie past the
end of the file are a :class:`~bigimg.errors.CorruptDataError` saying the
file is truncated (:func:`lost_pages`, :func:`check_segments`).
"""

from __future__ import annotations

import contextlib
import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from bigimg.errors import BigimgError, CorruptDataError, MetadataError

__all__ = ["TAG_ERRORS", "check_segments", "lost_pages", "parsing"]

#: What tifffile raises, besides its TiffFileError, on tags it cannot make sense
#: of (a zero width, counts that do not match, offsets past the end, pages
#: that do not fit their keyframe).
TAG_ERRORS = (
    tifffile.TiffFileError,
    struct.error,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    AttributeError,
    ZeroDivisionError,
    OverflowError,
    AssertionError,
    RuntimeError,
    NotImplementedError,
    EOFError,
)


@contextlib.contextmanager
def parsing(
    path: Path, where: str = "", error: type[BigimgError] = MetadataError
) -> Iterator[None]:
    """Raise what tifffile raises on damaged tags or IFDs as ``error`` naming
    the file (and ``where``, the page or series), the original chained;
    bigimg's own errors pass. An ``OSError`` is a CorruptDataError."""
    try:
        yield
    except BigimgError:
        raise
    except TAG_ERRORS as exc:
        at = f" ({where})" if where else ""
        raise error(
            f"{str(path)!r} is not a readable TIFF file (damaged or truncated){at}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    except OSError as exc:
        raise CorruptDataError(f"{str(path)!r} cannot be read: {exc}") from exc


def lost_pages(tif: tifffile.TiffFile, path: Path, size: int) -> CorruptDataError | None:
    """The error to raise if the last page tifffile could read links to a next
    page past the end of the file: the file was cut and the pages after it are
    lost (tifffile only logs this and returns fewer pages)."""
    fmt = tif.tiff
    last = tif.pages[len(tif.pages) - 1]
    fh = tif.filehandle
    fh.seek(last.offset)
    (ntags,) = struct.unpack(fmt.tagnoformat, fh.read(fmt.tagnosize))
    fh.seek(last.offset + fmt.tagnosize + ntags * fmt.tagsize)
    raw = fh.read(fmt.offsetsize)
    following = struct.unpack(fmt.offsetformat, raw)[0] if len(raw) == fmt.offsetsize else None
    if following is not None and following + fmt.tagnosize <= size:
        return None
    where = "is cut off" if following is None else f"points to byte {following}"
    cut = _outside(last, size)
    return CorruptDataError(
        f"{str(path)!r} is truncated: "
        + (f"{cut} lies past the end of the file, and " if cut else "")
        + f"the link from page {last.index} to the next page {where}, past the end of the "
        f"file ({size} bytes); the pages after page {last.index} are lost"
    )


def _outside(page: Any, size: int) -> str | None:
    """``'page 3, tile 15 of 16 (bytes 34837-35359)'``: the first tile or strip
    of ``page`` that does not lie inside the first ``size`` bytes, if any."""
    offsets, counts = page.dataoffsets, page.databytecounts
    kind = "tile" if page.keyframe.is_tiled else "strip"
    if len(offsets) != len(counts):
        raise ValueError(
            f"page {page.index} has {len(offsets)} {kind} offsets but {len(counts)} byte counts"
        )
    needed = math.prod(page.keyframe.chunked)
    if len(offsets) < needed:  # tifffile would read the missing ones as zeros
        raise ValueError(
            f"page {page.index} has {len(offsets)} {kind} offsets but its "
            f"{' x '.join(map(str, page.keyframe.shape))} pixels in {kind}s of "
            f"{' x '.join(map(str, page.keyframe.chunks))} need {needed}"
        )
    big = max((*offsets, *counts), default=0) >= 2**62  # past the end of any file
    offsets = np.asarray(offsets, dtype=object if big else np.int64)
    counts = np.asarray(counts, dtype=object if big else np.int64)
    outside = np.flatnonzero((offsets + counts > size) & (counts > 0))
    if not outside.size:
        return None
    i = int(outside[0])
    return (
        f"page {page.index}, {kind} {i} of {len(offsets)} "
        f"(bytes {offsets[i]}-{offsets[i] + counts[i] - 1})"
    )


def check_segments(sub: Any, path: Path, dtype: np.dtype, size: int) -> None:
    """Raise if a tile or strip of the series level ``sub`` lies past the end of
    its file (read from the tags only: offsets and byte counts)."""
    if sub.dataoffset is not None and sub.transform is None and not sub.is_multifile:
        page_bytes = math.prod(sub.keyframe.shape) * dtype.itemsize
        end = sub.dataoffset + sub.size * dtype.itemsize
        if end > size and page_bytes:
            page = max(0, size - sub.dataoffset) // page_bytes
            first = sub.dataoffset + page * page_bytes
            raise CorruptDataError(
                f"{str(path)!r} is truncated: page {page} (bytes {first}-"
                f"{first + page_bytes - 1}) and the pages after it lie past the end of the "
                f"file ({size} bytes; the pixel data needs {end})"
            )
        return
    for page in sub.pages:
        if page is None:
            continue
        fh = page.parent.filehandle
        with parsing(path, f"page {page.index}"):
            cut = _outside(page, fh.size)
        if cut is not None:
            same = Path(fh.path).resolve() == Path(path).resolve()
            file = str(path) if same else fh.path  # a page of another file (OME multi-file)
            raise CorruptDataError(
                f"{file!r} is truncated: {cut} lies past the end of the file ({fh.size} bytes)"
            )
