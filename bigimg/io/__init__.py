"""Open images of any size lazily, and save results: ``open``, ``save``, ``info``.

One backend module per format (:mod:`bigimg.io.raw`, :mod:`~bigimg.io.npy`,
:mod:`~bigimg.io.zarr`, :mod:`~bigimg.io.tiff`) registers itself in
:mod:`bigimg.io.registry`; the functions here only validate and dispatch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np

from bigimg.errors import IncompleteDataError
from bigimg.io import npy, raw, targets, tiff, zarr  # noqa: F401  (each registers its backend)
from bigimg.io.chunking import choose_chunks
from bigimg.io.faults import check_writable
from bigimg.io.registry import (
    ImageInfo,
    backend_for_source,
    backend_for_target,
    source_formats,
    target_format,
    target_formats,
)
from bigimg.io.zarr_chunks import ZarrSource

__all__ = ["ImageInfo", "info", "open", "save", "source_formats", "target_formats"]


def _path(source: Any) -> Path:
    """A source's path, absolute: a task sent to a worker in another working
    directory reads the same file."""
    try:
        return Path(os.path.abspath(Path(os.fspath(source)).expanduser()))
    except TypeError:
        raise TypeError(
            f"cannot open a {type(source).__name__}: pass a path, a numpy array or a dask array"
        ) from None


def _check_interrupted(path: Path) -> None:
    partial = tiff.incomplete_marker(path)
    if partial is not None:
        raise IncompleteDataError(
            f"{str(path)!r} does not exist but {str(partial)!r} does: a write to it "
            "was interrupted; run it again"
        )


def open(
    source: Any, *, format: str | None = None, chunks: Any = None, **options: Any
) -> da.Array:
    """Open an image as a lazy dask array, reading no pixels until computed.

    Parameters
    ----------
    source : path-like, numpy.ndarray or dask.array.Array
        A file or store: raw binary (``.raw``/``.bin``/``.dat``/``.img`` or
        ``format='raw'``), ``.npy``, Zarr v2/v3 (array, group with
        ``component=``, or OME-Zarr with ``level=``), TIFF/BigTIFF. Arrays pass
        through (numpy arrays are wrapped with sensible chunks).
    format : str, optional, keyword-only
        Force a format instead of guessing it: one of
        :func:`source_formats`.
    chunks : optional, keyword-only
        Dask chunks. By default the storage's own chunks, grouped up to about
        32 MiB per chunk.
    **options
        Format options. raw: ``dtype``, ``shape`` (required), ``offset``,
        ``order`` ('C' or 'F'); byte order goes in the dtype (``'>u2'``).
        zarr: ``component``, ``level``, ``allow_incomplete``,
        ``missing_chunks``. tiff: ``series``, ``level``.

        ``missing_chunks`` (zarr) says what a chunk file absent from the store
        means: ``'error'`` raises :class:`bigimg.errors.MissingChunkError`
        naming the store and the chunk key when that chunk is computed;
        ``'fill'`` reads it as the array's fill value (the Zarr rule: writers
        may skip chunks equal to it). The default, ``None``, is ``'error'``
        for complete stores bigimg wrote (it stores every chunk and marks them
        so) and ``'fill'`` for all others. Each stored chunk (shard) a task
        reads is checked for existence when it is read; nothing is listed at
        open.

    Returns
    -------
    dask.array.Array

    Raises
    ------
    FileNotFoundError
        The source does not exist.
    bigimg.errors.UnknownFormatError
        The format cannot be told (the message lists the supported ones).
    bigimg.errors.IncompleteDataError
        The data was left by an interrupted write.
    bigimg.errors.MetadataError
        Malformed metadata (invalid JSON, broken OME-Zarr ``multiscales``),
        naming the file and the key.
    bigimg.errors.CorruptDataError
        Damage the metadata shows (a TIFF page whose tiles or strips lie past
        the end of the file), naming the file, page and tile or strip. Damage
        only the pixels show is raised when the array is computed: also
        :class:`~bigimg.errors.CorruptDataError` (or
        :class:`~bigimg.errors.MissingChunkError`), naming the file, the chunk
        and its array region, with the original error chained.
    TypeError, ValueError
        A missing, unknown or invalid option, or a file whose size does not
        match the given dtype and shape.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "scan.raw")
    >>> np.arange(12, dtype="<u2").tofile(path)
    >>> image = open(path, dtype="<u2", shape=(3, 4))
    >>> int(image[1, 2].compute())
    6
    """
    if isinstance(source, da.Array):
        _no_options(options, "a dask array")
        return source.rechunk(chunks) if chunks is not None else source
    if isinstance(source, np.ndarray):
        _no_options(options, "a numpy array")
        return da.from_array(source, chunks=choose_chunks(source.shape, source.dtype, chunks))
    path = _path(source)
    if format is None and not (path.exists() or path.is_symlink()):
        _check_interrupted(path)
    backend = backend_for_source(path, format)
    return backend.open(path, chunks=chunks, **options)


def _no_options(options: dict[str, Any], what: str) -> None:
    if options:
        raise TypeError(f"options {sorted(options)} do not apply to {what}")


def files_read_by(array: da.Array) -> set[Path]:
    """The files and stores the graph of ``array`` reads pixels from."""
    import zarr as zarr_lib
    from dask._task_spec import DataNode

    found: set[Path] = set()

    def visit(obj: Any) -> None:
        if isinstance(obj, DataNode):
            visit(obj.value)
        elif isinstance(obj, raw.RawFile | tiff.TiffArray | ZarrSource):
            found.add(Path(obj.path).resolve())
        elif isinstance(obj, zarr_lib.Array):
            root = getattr(obj.store, "root", None)
            if root is not None:
                found.add(Path(root).resolve())
        elif isinstance(obj, list | tuple):
            for item in obj:
                visit(item)
        elif hasattr(obj, "args"):  # a task: its arguments hold the inlined sources
            for item in (*obj.args, *getattr(obj, "kwargs", {}).values()):
                visit(item)

    for task in dict(array.__dask_graph__()).values():
        visit(task)
    return found


def _refuse_reading_target(array: da.Array, path: Path) -> None:
    """Overwriting a target the array itself reads from would delete its input
    before it is read: refuse, before anything on disk changes."""
    target = targets.resolve(path)
    for source in files_read_by(array):
        if source == target or target in source.parents:
            raise ValueError(
                f"the array to save reads from {str(path)!r}; overwriting it would destroy "
                "the data being read. Save to another path, then replace the old one."
            )


def info(source: Any, *, format: str | None = None, **options: Any) -> ImageInfo:
    """Describe a stored image (format, shape, dtype, chunks, levels), reading no pixels.

    Only metadata is read (headers, Zarr JSON, TIFF page structure), so it is
    instant for an image of any size. An image a write left unfinished is
    described with ``complete=False`` where its format marks that (Zarr), or
    refused (IncompleteDataError) where only a ``.partial`` file exists.

    Parameters
    ----------
    source : path-like
        A stored image, as for :func:`open` (arrays have nothing to describe:
        TypeError).
    format : str, optional, keyword-only
        Force a format instead of guessing it: one of :func:`source_formats`.
    **options
        The format's options of :func:`open` that say which image is meant.
        raw: ``dtype`` and ``shape`` (required), ``offset``, ``order``. zarr:
        ``component``, ``level`` (``allow_incomplete`` and ``missing_chunks``
        are accepted and ignored). tiff: ``series``, ``level``.

    Returns
    -------
    ImageInfo
        ``path``, ``format``, ``shape``, ``dtype``, storage ``chunks`` (None
        for contiguous data), ``complete``, pyramid ``levels`` (the shape of
        each), ``axes`` and ``scale`` where stored, format ``details``;
        ``nbytes`` and :meth:`~ImageInfo.describe` (the text ``bigimg info``
        prints).

    Raises
    ------
    FileNotFoundError
        The source does not exist.
    bigimg.errors.UnknownFormatError
        The format cannot be told (the message lists the supported ones).
    bigimg.errors.IncompleteDataError
        Only the ``.partial`` file of an interrupted write exists.
    bigimg.errors.MetadataError
        Malformed metadata, naming the file and the key.
    TypeError, ValueError
        A missing, unknown or invalid option.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "a.npy")
    >>> np.save(path, np.zeros((3, 4), "f4"))
    >>> info(path).shape
    (3, 4)
    >>> meta = info(path)
    >>> meta.format, str(meta.dtype), meta.nbytes, meta.complete
    ('npy', 'float32', 48, True)
    """
    path = _path(source)
    if format is None and not (path.exists() or path.is_symlink()):
        _check_interrupted(path)
    return backend_for_source(path, format).info(path, **options)


def save(
    array: Any,
    target: Any,
    *,
    format: str | None = None,
    overwrite: bool = False,
    **options: Any,
) -> Path:
    """Compute ``array`` and write it to ``target``, chunk by chunk.

    Parameters
    ----------
    array : dask.array.Array or numpy.ndarray
    target : path-like
        Where to write. The format follows the suffix (``.zarr`` Zarr,
        ``.ome.zarr`` OME-Zarr pyramid, ``.tif``/``.tiff`` tiled BigTIFF) or
        ``format=``.
    format : {'zarr', 'ome-zarr', 'tiff'}, optional, keyword-only
    overwrite : bool, keyword-only
        Replace existing data at ``target``. Without it an existing target is
        refused with :class:`bigimg.errors.TargetExistsError` and left untouched.
    **options
        zarr: ``zarr_format`` (3, or 2), ``compressors``. ome-zarr: also
        ``min_size`` (pyramid stops when spatial axes are at most this),
        ``method`` (downsampling), and ``labels``: the name of a label image
        to add to the existing OME-Zarr image ``target`` (at
        ``target/labels/<name>``, NGFF's layout: same levels, axes and pixel
        sizes as the image, levels picked by ``nearest`` so no id is
        invented), with optional ``colors`` (``{id: (r, g, b[, a])}``) and
        ``properties`` (``{id: {name: value}}``). tiff: ``tile``,
        ``compression``. ome-zarr and tiff: the physical grid, ``axes``
        (names), ``scale`` (pixel sizes), ``units`` (one unit or one per
        axis: ``'micrometer'``, ``'um'``, ``'nm'``, ``'second'``...) and
        ``like``: a stored image (path or :class:`ImageInfo`) whose axes,
        pixel sizes and units are used where those are not given.

    Returns
    -------
    pathlib.Path
        The written target (the label image's group for ``labels=``).

    Notes
    -----
    Writes are chunk-aligned, each stored chunk written by one task. Zarr
    targets are marked incomplete until the last chunk is written; TIFF is
    written to ``<target>.partial`` and renamed at the end. An interrupted
    save therefore never looks finished to :func:`open` or :func:`info`.

    Raises
    ------
    bigimg.errors.TargetExistsError
        ``target`` exists and ``overwrite`` is false (nothing is computed).
    bigimg.errors.WriteError
        The target's directory cannot be written (checked by creating a probe
        file, before anything is computed), or a write failed on the way (a
        full disk): the message names the target and the chunk, TIFF page or
        tile; the target is left incomplete, never looking finished.

    Examples
    --------
    >>> import dask.array as da, tempfile, os
    >>> out = save(da.ones((4, 4), chunks=2), os.path.join(tempfile.mkdtemp(), "o.zarr"))
    >>> float(open(out).sum().compute())
    16.0

    An image with its pixel size, its labels beside it, and the sizes read back:

    >>> scan = os.path.join(tempfile.mkdtemp(), "scan.ome.zarr")
    >>> _ = save(da.ones((64, 64), chunks=32), scan, scale=(0.5, 0.5), units="um")
    >>> _ = save(da.ones((64, 64), chunks=32, dtype="u4"), scan, labels="cells")
    >>> info(scan).scale, info(scan).units
    ((0.5, 0.5), ('micrometer', 'micrometer'))
    >>> info(os.path.join(scan, "labels", "cells")).scale
    (0.5, 0.5)
    """
    if not isinstance(array, da.Array | np.ndarray):
        raise TypeError(f"array must be a dask or numpy array, not {type(array).__name__}")
    array = open(array)
    path = targets.resolve(target)
    fmt = target_format(path, format)
    if isinstance(options.get("like"), str | os.PathLike):
        options["like"] = info(options["like"])  # the stored image's grid
    if "labels" in options:
        if fmt != "ome-zarr":
            raise ValueError(f"labels= adds a label image to an OME-Zarr image, not to {fmt}")
        from bigimg.io.ome_labels import save_labels

        return save_labels(array, path, overwrite=overwrite, **options)
    writer = backend_for_target(fmt)
    if overwrite and targets.exists(path):
        _refuse_reading_target(array, path)
    targets.refuse_existing(path, overwrite=overwrite)
    check_writable(path.parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    return writer(array, path, overwrite=overwrite, **options)
