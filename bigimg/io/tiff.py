"""TIFF and BigTIFF: lazy reading of pages and tiles, tiled BigTIFF writing.

Reading is lazy: the dask graph holds a small picklable :class:`TiffArray`
(path, series, level, shape, dtype and the file's ``(mtime_ns, size)``), and
each task opens the file itself (handles are cached per process) and decodes
only the strips or tiles its chunk covers, through tifffile's Zarr store.
Uncompressed contiguous series are read like raw files, byte range by byte
range. Writing streams tiles to ``<target>.partial`` and renames it at the end.
Pixel sizes are read from OME-XML, ImageJ metadata or the resolution tags and
written as OME-TIFF (:mod:`bigimg.io.tiff_physical`).

Damage is reported with the page and the tile or strip: at open, from the
tags alone (:mod:`bigimg.io.tiff_checks`: tags tifffile cannot make sense of,
or tiles, strips or a chain of pages that run past the end of the file);
when computing, a tile or strip that does not decode raises
:class:`~bigimg.errors.CorruptDataError` naming it.
"""

from __future__ import annotations

import io
import itertools
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import dask.array as da
import numpy as np
import tifffile
import zarr

from bigimg.errors import (
    BigimgError,
    CorruptDataError,
    IncompleteDataError,
    MetadataError,
    TargetExistsError,
)
from bigimg.io import physical, targets
from bigimg.io.chunking import TARGET_CHUNK_BYTES, check_openable, choose_chunks
from bigimg.io.faults import first_failing, region_text, write_error
from bigimg.io.raw import RawFile
from bigimg.io.registry import ImageInfo, register
from bigimg.io.selection import bounding_box
from bigimg.io.tiff_checks import check_segments, lost_pages, parsing
from bigimg.io.tiff_physical import (
    DEFAULT_COMPRESSION,
    compression_options,
    fit_tile,
    read_physical,
    save_options,
)

__all__ = ["TiffArray", "TiffBackend", "incomplete_marker"]

TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8")
TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")
#: A z-deep chunk row is held whole while its pages are written if the pages
#: it spans fit in this many bytes; deeper chunks are recomputed per page.
SLAB_BYTES = 8 * TARGET_CHUNK_BYTES

_CACHE: OrderedDict[tuple[Any, ...], tuple[tifffile.TiffFile, Any]] = OrderedDict()
_CACHE_SIZE = 8
_CACHE_LOCK = threading.Lock()


def incomplete_marker(path: Path) -> Path | None:
    """The ``<path>.partial`` file left by an interrupted save, if ``path`` is missing."""
    partial = Path(f"{path}.partial")
    return partial if partial.exists() and not os.path.lexists(path) else None


@dataclass(frozen=True)
class TiffArray:
    """One series (pyramid level) of a TIFF file, read region by region.

    ``stamp`` is the file's ``(st_mtime_ns, st_size)`` when it was opened; a
    read fails if the file has changed since.
    """

    path: str
    shape: tuple[int, ...]
    dtype: np.dtype
    series: int = 0
    level: int = 0
    stamp: tuple[int, int] = (0, 0)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        """numpy indexing, reading only the tiles / strips of the bounding box.

        A tile or strip that cannot be read raises
        :class:`~bigimg.errors.CorruptDataError` naming the file, the page, the
        tile or strip and its array region.
        """
        bounds, relative = bounding_box(key, self.shape)
        region = tuple(slice(a, b) for a, b in bounds)
        where = f"series {self.series}, level {self.level}, array region {region_text(bounds)}"
        with parsing(Path(self.path), where, CorruptDataError):
            tif, z = _zarr_array(self, bounds)
        try:
            box = np.asarray(z[region])
        except MemoryError:
            raise
        except Exception as exc:
            error, cause = _damaged(self, tif, z, bounds, exc)
            raise error from cause
        return box.astype(self.dtype, copy=False)[relative]


def _zarr_array(arr: TiffArray, bounds: list[tuple[int, int]]) -> tuple[Any, Any]:
    """The (per-process cached) TiffFile and Zarr view of ``arr``'s series and level."""
    st = os.stat(arr.path)
    if (st.st_mtime_ns, st.st_size) != arr.stamp:
        raise CorruptDataError(
            f"{arr.path!r} changed after it was opened (array region {region_text(bounds)} "
            "not read); open it again"
        )
    key = (os.getpid(), arr.path, arr.series, arr.level, arr.stamp)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        tif = tifffile.TiffFile(arr.path)
        store = tif.series[arr.series].aszarr(level=arr.level)
        _CACHE[key] = (tif, zarr.open_array(store, mode="r", zarr_format=2))
        while len(_CACHE) > _CACHE_SIZE:
            (pid, *_), (old, _z) = _CACHE.popitem(last=False)
            if pid == os.getpid():
                with old.filehandle.lock:
                    old.close()
        return _CACHE[key]


def _damaged(
    arr: TiffArray, tif: tifffile.TiffFile, z: Any, bounds: list[tuple[int, int]], exc: Exception
) -> tuple[CorruptDataError, Exception]:
    """The error naming the first tile or strip of ``bounds`` that fails on its
    own (read one by one), and that segment's exception."""
    grid = tuple(z.chunks)
    ranges = [range(a // c, -(-b // c)) for (a, b), c in zip(bounds, grid)]
    segments = [
        (coords, [(i * c, min((i + 1) * c, n)) for i, c, n in zip(coords, grid, arr.shape)])
        for coords in itertools.product(*ranges)
    ]
    found = first_failing(segments, lambda seg: z[tuple(slice(a, b) for a, b in seg[1])])
    if found is None:
        reason = f"{type(exc).__name__}: {exc}"
        return CorruptDataError(
            f"{arr.path!r}: array region {region_text(bounds)} cannot be read ({reason})"
        ), exc
    (coords, box), cause = found
    reason = f"{type(cause).__name__}: {cause}"
    return CorruptDataError(
        f"{arr.path!r}: {_segment(arr, tif, z, coords)} (array region {region_text(box)}) "
        f"cannot be decoded: the file is damaged ({reason})"
    ), cause


def _segment(arr: TiffArray, tif: tifffile.TiffFile, z: Any, coords: tuple[int, ...]) -> str:
    """``'page 2, tile 5'``: the TIFF page and tile or strip of a chunk of the Zarr view."""
    sub = tif.series[arr.series].levels[arr.level]
    page_shape = tuple(sub.keyframe.shape)
    n = len(arr.shape) - len(page_shape)
    if n < 0 or tuple(arr.shape[n:]) != page_shape:  # a layout tifffile reshaped
        return f"chunk {z.metadata.encode_chunk_key(coords)!r} of its pages"
    grid = [-(-s // c) for s, c in zip(arr.shape, z.chunks)]
    page = int(np.ravel_multi_index(coords[:n], grid[:n])) if n else 0
    pages = sub.pages
    index = (
        cast("tifffile.TiffPage | tifffile.TiffFrame", pages[page]).index  # checked not None
        if page < len(pages) and pages[page] is not None
        else page
    )
    kind = "tile" if sub.keyframe.is_tiled else "strip"
    segment = int(np.ravel_multi_index(coords[n:], grid[n:])) if len(grid) > n else 0
    return f"page {index}, {kind} {segment}"


@dataclass(frozen=True)
class _Described:
    array: TiffArray | RawFile
    storage: tuple[int, ...]
    info: ImageInfo
    stamp: tuple[int, int]


def _describe(path: Path, options: dict[str, Any]) -> _Described:
    """Parse the file's structure (no pixel data) and pick the series and level."""
    unknown = sorted(set(options) - {"series", "level"})
    if unknown:
        raise TypeError(f"TIFF files take the options series= and level=; got {unknown}")
    if not os.path.lexists(path):
        partial = incomplete_marker(path)
        if partial is not None:
            raise IncompleteDataError(
                f"{str(path)!r} does not exist but {str(partial)!r} does: "
                "a write to it was interrupted; run it again"
            )
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    st = os.stat(path)
    with parsing(path):
        tif = tifffile.TiffFile(path)
    with tif:
        with parsing(path):
            tif.series  # noqa: B018  (parses the pages; a damaged file fails here)
            lost = lost_pages(tif, path, st.st_size)
        try:
            described = _describe_open(tif, path, (st.st_mtime_ns, st.st_size), options)
        except (ValueError, TypeError):  # e.g. series= names a series the cut lost
            if lost is not None:
                raise lost from None
            raise
        if lost is not None:
            raise lost
        return described


def _describe_open(
    tif: tifffile.TiffFile, path: Path, stamp: tuple[int, int], options: dict[str, Any]
) -> _Described:
    if not tif.series:
        raise MetadataError(f"{str(path)!r} is not a readable TIFF file: it holds no image")
    index = _index(options, "series", len(tif.series), path)
    with parsing(path, f"series {index}"):
        series = tif.series[index]
        levels = len(series.levels)
    level = _index(options, "level", levels, path)
    with parsing(path, f"series {index}, level {level}"):
        return _describe_level(tif, path, stamp, series, index, level)


def _describe_level(
    tif: tifffile.TiffFile, path: Path, stamp: tuple[int, int], series: Any, index: int, level: int
) -> _Described:
    sub = series.levels[level]
    shape, dtype, key = tuple(sub.shape), np.dtype(sub.dtype).newbyteorder("="), sub.keyframe
    if not all(isinstance(n, int | np.integer) and n >= 0 for n in (*shape, *key.shape)):
        raise MetadataError(  # e.g. a float read from a damaged tag of a rational type
            f"{str(path)!r}: series {index} has the shape {shape} (page {key.index}: "
            f"{tuple(key.shape)}), not one of whole numbers"
        )
    compression = getattr(key.compression, "name", None)
    if compression is None:  # a number tifffile has no codec (nor name) for
        raise MetadataError(
            f"{str(path)!r}: page {key.index} has compression {key.compression}, which "
            "tifffile does not know (the tag is damaged, or the codec is not a TIFF one)"
        )
    arr: TiffArray | RawFile = TiffArray(str(path), shape, dtype, index, level, stamp)
    check_segments(sub, path, dtype, stamp[1])
    offset = sub.dataoffset
    if offset is not None and sub.transform is None and not series.is_multifile:
        arr = RawFile(str(path), shape, dtype.newbyteorder(tif.byteorder), offset)
    page = tuple(key.shape)
    whole_pages = not key.is_tiled and shape[len(shape) - len(page) :] == page
    storage = (1,) * (len(shape) - len(page)) + page
    if isinstance(arr, TiffArray) or not whole_pages:  # the view the tasks read, tried now
        store = series.aszarr(level=level)
        chunks = tuple(zarr.open_array(store, mode="r", zarr_format=2).chunks)
        if not whole_pages:  # tiles (or strips of pages tifffile reshaped): its chunks
            storage = chunks
    scale, units = read_physical(tif, series, index, level)
    info = ImageInfo(
        str(path),
        "bigtiff" if tif.is_bigtiff else "tiff",
        shape,
        dtype,
        storage,
        levels=tuple(tuple(s.shape) for s in series.levels) if len(series.levels) > 1 else (),
        axes=tuple(sub.axes.lower()),
        scale=scale,
        units=units,
        details={
            "series": f"{index} of {len(tif.series)}",
            "layout": f"{'tiles' if key.is_tiled else 'strips'}, {compression.lower()}",
        },
    )
    return _Described(arr, storage, info, stamp)


def _index(options: dict[str, Any], name: str, n: int, path: Path) -> int:
    value = options.get(name, 0)
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name}={value!r} must be a non-negative integer")
    if value >= n:
        raise ValueError(f"{name}={value} but {str(path)!r} has {n} {name}(s) (0 to {n - 1})")
    return int(value)


class TiffBackend:
    """TIFF / BigTIFF files: lazy reading of any series; tiled BigTIFF writing."""

    name = "tiff"

    def claims(self, path: Path) -> bool:
        if not path.is_file():
            return False
        if path.suffix.lower() in TIFF_SUFFIXES:
            return True
        with open(path, "rb") as f:
            return f.read(4) in TIFF_MAGIC

    def open(self, path: Path, *, chunks: object = None, **options: Any) -> da.Array:
        """Lazy dask array of series ``series`` (default 0), pyramid level ``level``."""
        desc = _describe(Path(path), options)
        arr, dtype = desc.array, desc.info.dtype
        check_openable(arr.shape, dtype, str(path))
        chunks = choose_chunks(arr.shape, dtype, chunks, storage_chunks=desc.storage)
        name = f"bigimg-{Path(arr.path).name}-{da.core.tokenize(arr, desc.stamp)}"
        out = da.from_array(
            arr,
            chunks=chunks,
            name=name,
            lock=False,
            asarray=False,
            inline_array=True,
            meta=np.empty((0,) * arr.ndim, arr.dtype),
        )
        return out.astype(dtype, copy=False) if out.dtype != dtype else out

    def info(self, path: Path, **options: Any) -> ImageInfo:
        """Format, shape, dtype, tile or page shape, levels, axes and pixel sizes
        (:func:`~bigimg.io.tiff_physical.read_physical`); no pixels read."""
        return _describe(Path(path), options).info

    def save(
        self,
        array: Any,
        path: Path,
        *,
        overwrite: bool = False,
        tile: tuple[int, int] = (256, 256),
        compression: str | None = DEFAULT_COMPRESSION,
        bigtiff: bool = True,
        axes: Any = None,
        scale: Any = None,
        units: Any = None,
        like: Any = None,
    ) -> Path:
        """Write a 2-D image or a 3-D stack (one page per z) as a tiled (Big)TIFF.

        Parameters
        ----------
        array : dask.array.Array or numpy.ndarray
            2-D ``(y, x)`` or 3-D ``(z, y, x)``.
        path : path-like
            Target file. The data go to ``<path>.partial``, renamed to ``path``
            only once complete.
        overwrite : bool
            Replace an existing file (or a ``.partial`` left by an interrupted
            write). Directories are never replaced.
        tile : (int, int)
            Tile height and width, multiples of 16. A page smaller than that
            gets a tile of its height or width rounded up to a multiple of 16.
        compression : str or None
            ``'zlib'`` (deflate, the default: lossless, read by every TIFF
            reader), any other compression tifffile can write here
            (``'lzma'``; ``'zstd'`` and others need imagecodecs), or ``None``
            or ``'none'`` for uncompressed tiles. Integer images compressed
            losslessly get the horizontal differencing predictor.
        bigtiff : bool
            Write BigTIFF (needed above 4 GiB).
        axes : sequence of str, optional
            Axis names: ``('y', 'x')`` or ``(name, 'y', 'x')`` with ``name`` z
            (the default), t or c (others are written as OME's "other", Q).
        scale : sequence of float, optional
            Pixel size of each axis.
        units : str or sequence of (str or None), optional
            The unit of every axis, or one per axis (``'um'``, ``'nm'``,
            ``'ms'``...).
        like : ImageInfo, optional
            Take the axes, pixel sizes and units not given from this stored
            image's description (:func:`bigimg.io.physical.for_save`;
            :func:`bigimg.save` also takes its path).

        Returns
        -------
        pathlib.Path

        Notes
        -----
        Pixel sizes, where any is given (a unit, or a size other than 1), are
        written as OME-TIFF ``PhysicalSizeX/Y/Z`` and ``TimeIncrement`` (for
        dtypes OME cannot describe, such as int64: in tifffile's JSON
        description instead), and as XResolution / YResolution in pixels per
        centimetre where y and x have a length unit
        (:func:`~bigimg.io.tiff_physical.save_options`).

        Tiles are computed one row of dask chunks at a time, so memory stays
        near one chunk row. A 3-D array chunked deeper than one page along z
        is computed one z-chunk slab at a time if its pages fit in
        :data:`SLAB_BYTES` (or it has one chunk along y); otherwise each page
        recomputes its chunk row. Rechunk such arrays to one page along z
        first (``array.rechunk({0: 1})``) or persist them if that matters.
        """
        array = array if isinstance(array, da.Array) else da.asarray(array)
        if array.ndim not in (2, 3):
            raise ValueError(f"TIFF targets take 2-D or 3-D arrays, not {array.ndim}-D")
        if 0 in array.shape:
            raise ValueError(f"cannot write an empty image of shape {array.shape}")
        if not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        if (
            not isinstance(tile, tuple | list)
            or len(tile) != 2
            or not all(isinstance(t, int | np.integer) and t > 0 and t % 16 == 0 for t in tile)
        ):
            raise ValueError(f"tile={tile!r} must be two positive multiples of 16")
        tile = fit_tile((int(tile[0]), int(tile[1])), array.shape)
        grid = physical.for_save(
            array.ndim,
            axes=axes,
            scale=scale,
            units=units,
            like=like,
            default_axes=("z", "y", "x")[3 - array.ndim :],
        )
        written = save_options(grid, array.dtype)
        codec = compression_options(compression, array.dtype)
        if not bigtiff and array.nbytes > 2**32 - 2**25:
            raise ValueError(f"{array.nbytes} bytes do not fit a classic TIFF; use bigtiff=True")
        try:  # a tiny write checks dtype and compression before any work
            tifffile.imwrite(
                io.BytesIO(),
                np.zeros(tile, array.dtype),
                tile=tile,
                **codec,
                photometric="minisblack",
            )
        except (ValueError, TypeError, KeyError, ImportError) as exc:
            raise ValueError(
                f"cannot write {array.dtype} with compression={compression!r}: {exc}"
            ) from exc
        path = targets.resolve(path)
        partial = Path(f"{path}.partial")
        for p in (path, partial):
            if p.is_dir():
                raise IsADirectoryError(f"{str(p)!r} is a directory; bigimg will not replace it")
            if os.path.lexists(p) and not overwrite:
                raise TargetExistsError(
                    f"{str(p)!r} exists; pass overwrite=True to replace it"
                    + (" (it was left by an interrupted write)" if p is partial else "")
                )
        if not path.parent.is_dir():
            raise FileNotFoundError(f"directory {str(path.parent)!r} does not exist")
        position = _Position(array.shape, tile)
        try:
            tifffile.imwrite(
                partial,
                data=position.track(_tiles(array, tile)),
                shape=array.shape,
                dtype=array.dtype,
                tile=tile,
                bigtiff=bigtiff,
                **codec,
                photometric="minisblack",
                **written,
            )
        except BaseException as exc:
            failed = None  # a failed write (not computing a tile, which fails as it is)
            if isinstance(exc, OSError) and not isinstance(exc, BigimgError):
                if exc is not position.source_error:
                    failed = write_error(
                        f"cannot write {position.describe()} of {str(path)!r} (to "
                        f"{str(partial)!r}, now removed)",
                        exc,
                        partial,  # judged before the partial file frees its space
                    )
            partial.unlink(missing_ok=True)
            if failed is None:
                raise
            raise failed from exc
        targets.publish(partial, path, replace=overwrite)
        return path


class _Position:
    """Which tile a TIFF write has reached, for the message of a failed write."""

    def __init__(self, shape: tuple[int, ...], tile: tuple[int, int]) -> None:
        self.ndim = len(shape)
        self.shape = (1, *shape) if len(shape) == 2 else tuple(shape)
        self.tile = tile
        self.across = -(-self.shape[2] // tile[1])
        self.per_page = -(-self.shape[1] // tile[0]) * self.across
        self.count = 0
        self.source_error: BaseException | None = None

    def track(self, tiles: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """``tiles``, counted; an error raised while computing them is remembered."""
        while True:
            try:
                tile = next(tiles)
            except StopIteration:
                return
            except BaseException as exc:
                self.source_error = exc
                raise
            self.count += 1
            yield tile

    def describe(self) -> str:
        """``'page 0, tile 5 (array region [...])'``: the last tile handed to tifffile."""
        if self.count == 0:
            return "the header"
        page, index = divmod(self.count - 1, self.per_page)
        row, col = divmod(index, self.across)
        (th, tw), (_, h, w) = self.tile, self.shape
        box = [(row * th, min((row + 1) * th, h)), (col * tw, min((col + 1) * tw, w))]
        if self.ndim == 3:
            box.insert(0, (page, page + 1))
        return f"page {page}, tile {index} (array region {region_text(box)})"


def _tiles(array: da.Array, tile: tuple[int, int]) -> Iterator[np.ndarray]:
    """Tiles in file order (page by page, rows of tiles), one chunk row computed at a time."""
    stack = array if array.ndim == 3 else array[None]
    _, height, width = stack.shape
    bands = list(itertools.pairwise(np.cumsum((0, *stack.chunks[1])).tolist()))
    z0 = 0
    for depth in stack.chunks[0]:
        z1 = z0 + depth
        if depth > 1 and (
            depth * height * width * stack.dtype.itemsize <= SLAB_BYTES or len(bands) == 1
        ):
            slab = np.empty((depth, height, width), stack.dtype)
            for a, b in bands:
                slab[:, a:b] = stack[z0:z1, a:b].compute()
            for page in slab:
                yield from _page_tiles([page], tile)
            del slab
        else:
            for z in range(z0, z1):
                yield from _page_tiles((stack[z, a:b].compute() for a, b in bands), tile)
        z0 = z1


def _page_tiles(bands: Iterable[np.ndarray], tile: tuple[int, int]) -> Iterator[np.ndarray]:
    """Cut consecutive row bands of one page into tiles; rows short of a tile carry over."""
    th, tw = tile
    carry: np.ndarray | None = None
    for band in bands:
        rows = band if carry is None or not len(carry) else np.concatenate([carry, band])
        full = len(rows) // th * th
        for y in range(0, full, th):
            for x in range(0, rows.shape[1], tw):
                yield rows[y : y + th, x : x + tw]
        carry = rows[full:].copy()
    if carry is not None and len(carry):
        for x in range(0, carry.shape[1], tw):
            yield carry[:, x : x + tw]


register(TiffBackend(), saves=("tiff",))
