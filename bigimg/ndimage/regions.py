"""Where each label is and what it is like: boxes, pixel indices, region tables.

* :func:`find_objects` and :func:`value_indices` are scipy.ndimage's (same
  signatures and results), on dask arrays.
* :func:`region_table` is bigimg's ``regionprops_table``: for every label at
  once it returns columns of numpy arrays (area, bounding box, centroid and,
  given an intensity image, intensity statistics).
* :func:`write_table` writes such a table to CSV (or Parquet, when pyarrow is
  installed).

All are one pass of the reduction engine (:mod:`bigimg._reduce`) and compute
eagerly, on the active dask scheduler.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np

from bigimg._reduce import Regions, key_dtype, reduce_labels, reduce_regions, sums_as_float
from bigimg._validation import as_dask
from bigimg.errors import UnknownFormatError
from bigimg.io import targets
from bigimg.io.faults import write_error
from bigimg.ndimage.label_measures import prepare
from bigimg.ndimage.labeling import check_label_dtype

__all__ = ["find_objects", "region_table", "value_indices", "write_table"]


def region_table(
    labels: Any,
    image: Any = None,
    *,
    index: Any = None,
    spacing: Any = None,
    units: Any = None,
) -> dict[str, np.ndarray]:
    """Properties of every labelled region, one row per label, from one pass.

    Parameters
    ----------
    labels : array_like or dask.array.Array
        Integer (or boolean) label image, as scikit-image's ``regionprops``:
        float and complex images are refused (TypeError) when called.
    image : array_like or dask.array.Array, optional
        Intensity image of the same shape (labels are rechunked to its chunks).
    index : sequence of ints, optional
        Labels to report, in this order (absent ones get empty rows: area 0,
        box 0:0, NaN centroid / mean / std, sum, min and max 0). Default:
        every label >= 1 present, ascending.
    spacing : sequence of float, optional
        Pixel size along each axis (as scikit-image's ``regionprops``
        ``spacing``): adds physical columns (below).
    units : str or sequence of str, optional
        The unit of ``spacing`` (one for all axes, or one per axis; names or
        abbreviations as :func:`bigimg.io.physical.unit_name` reads them).

    Returns
    -------
    dict of str to numpy.ndarray
        Columns ``label``, ``area`` (pixel count), ``bbox_min_<axis>`` /
        ``bbox_max_<axis>`` (start and exclusive stop, like slices),
        ``centroid_<axis>`` (mean coordinate) and, with ``image``,
        ``intensity_sum`` (numpy's sum dtype; float64 for float images),
        ``intensity_mean``, ``intensity_min``, ``intensity_max`` (the image's
        dtype) and ``intensity_std`` (population standard deviation): each
        equal to the scipy.ndimage measurement over the sequence of labels
        (so NaN makes the maximum, mean and sum NaN, while the minimum skips
        it unless every value is NaN). With ``spacing``, also
        ``area_<unit>`` (area times the pixel volume, e.g.
        ``area_micrometer^2``) and ``centroid_<axis>_<unit>`` (centroid times
        the pixel size); ``<unit>`` is ``scaled`` where no unit is given.

    Examples
    --------
    >>> import numpy as np
    >>> lab = np.array([[1, 1, 0, 3], [0, 1, 0, 3]])
    >>> t = region_table(lab, np.arange(8.0).reshape(2, 4))
    >>> t["label"], t["area"], t["bbox_max_1"]
    (array([1, 3]), array([3, 2]), array([2, 4]))
    >>> t["centroid_0"], t["intensity_mean"]
    (array([0.33333333, 0.5       ]), array([2., 5.]))
    >>> t = region_table(lab, spacing=(2.0, 0.5), units="um")
    >>> t["area_micrometer^2"], t["centroid_0_micrometer"]
    (array([3., 2.]), array([0.66666667, 1.        ]))
    """
    physical = None if spacing is None else _physical(spacing, units, np.ndim(labels))
    labels = check_label_dtype(labels)  # a float image is not labels (skimage refuses it)
    lab: da.Array | None
    if image is None:
        lab = as_dask(labels, "labels")
        key_dtype(lab.dtype)  # TypeError for labels that cannot be ids
        if lab.ndim == 0:
            raise ValueError("labels must have at least one dimension")
        values = None
    else:
        values, lab = prepare(image, labels)
        assert lab is not None
    stats = {"count", "bbox", "coord_sum"}
    if values is not None:
        stats |= {"sum", "m2", "fmin", "max"}
    if index is None:
        root = reduce_regions(values, lab, stats, Regions(low=1))
        rows = np.arange(len(root.keys))
        label = root.keys.copy()
    else:
        wanted = np.atleast_1d(np.asarray(index)).reshape(-1)
        red = reduce_labels(values, lab, wanted, stats)
        root, rows = red.partial, red.rows
        label = wanted.astype(key_dtype(lab.dtype), copy=True)
    found = rows >= 0

    def column(name: str, fill: Any, dtype: Any = None) -> np.ndarray:
        data = root.stats[name]
        out = np.full((len(rows), *data.shape[1:]), fill, dtype or data.dtype)
        out[found] = data[rows[found]]
        return out

    table: dict[str, np.ndarray] = {"label": label, "area": column("count", 0)}
    count = table["area"].astype(np.float64)
    lo, hi = column("bbox_lo", 0), column("bbox_hi", 0)
    coords = column("coord_sum", np.nan)
    ndim = lab.ndim
    for axis in range(ndim):
        table[f"bbox_min_{axis}"] = lo[:, axis]
    for axis in range(ndim):
        table[f"bbox_max_{axis}"] = hi[:, axis]
    with np.errstate(invalid="ignore", divide="ignore"):
        for axis in range(ndim):
            table[f"centroid_{axis}"] = coords[:, axis] / count
        if values is not None:
            sums = column("sum", 0)
            total = sums_as_float(sums, values.dtype)
            if values.dtype.kind in "fc":
                table["intensity_sum"] = total
            else:
                table["intensity_sum"] = sums.view(np.zeros(1, values.dtype).sum().dtype)
            table["intensity_mean"] = total / count
            table["intensity_min"] = column("fmin", 0)
            table["intensity_max"] = column("max", 0)
            table["intensity_std"] = np.sqrt(column("m2", np.nan) / count)
    if physical is not None:
        sizes, names = physical
        table[f"area_{_unit_product(names)}"] = count * float(np.prod(sizes))
        for axis in range(ndim):
            name = names[axis] or "scaled"
            table[f"centroid_{axis}_{name}"] = table[f"centroid_{axis}"] * sizes[axis]
    return table


def _physical(spacing: Any, units: Any, ndim: int) -> tuple[tuple[float, ...], tuple[Any, ...]]:
    """``spacing`` and ``units`` checked (ValueError naming them), one per axis."""
    from bigimg.io.physical import for_save

    try:
        grid = for_save(
            ndim, scale=spacing, units=units, default_axes=tuple(f"a{i}" for i in range(ndim))
        )
    except ValueError as exc:
        raise ValueError(str(exc).replace("scale=", "spacing=")) from None
    return grid.scale, grid.units


def _unit_product(units: tuple[Any, ...]) -> str:
    """The unit of a product of one length per axis: ``micrometer^3``,
    ``micrometer^2*second``; ``scaled`` where an axis has no unit."""
    if any(u is None for u in units):
        return "scaled"
    powers: dict[str, int] = {}
    for u in units:
        powers[u] = powers.get(u, 0) + 1
    return "*".join(u if n == 1 else f"{u}^{n}" for u, n in powers.items())


def _check_table(table: dict[str, Any]) -> dict[str, np.ndarray]:
    if not isinstance(table, dict) or not table:
        raise TypeError("table must be a non-empty dict of column name -> 1-D array")
    columns = {str(k): np.asarray(v) for k, v in table.items()}
    lengths = {k: v.shape for k, v in columns.items()}
    first = next(iter(columns.values()))
    if any(v.ndim != 1 or len(v) != len(first) for v in columns.values()):
        raise ValueError(f"table columns must be 1-D arrays of one length, got shapes {lengths}")
    return columns


def write_table(
    table: dict[str, Any], path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write a table (dict of equal-length 1-D arrays) to ``.csv`` or ``.parquet``.

    CSV is written with the standard library (a header row, then one row per
    entry; floats round-trip). Parquet needs pyarrow, which bigimg does not
    depend on. The file is written next to its target and renamed into place
    at the end, so a failed write never leaves a partial table.

    Parameters
    ----------
    table : dict of str to array_like
        Columns, e.g. from :func:`region_table`.
    path : str or os.PathLike
        Target file; its suffix chooses the format.
    overwrite : bool, optional
        Replace an existing file (default: refuse with TargetExistsError).

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write_table({"label": [1, 2], "area": [3, 4.5]}, pathlib.Path(tmp) / "t.csv")
    ...     print(out.read_text().splitlines())
    ['label,area', '1,3.0', '2,4.5']
    """
    target = targets.resolve(path)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise UnknownFormatError(
            f"cannot write a table to {target.name!r}: use a .csv or .parquet file name"
        )
    columns = _check_table(table)
    if suffix == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ImportError(
                "writing .parquet tables needs the 'pyarrow' package, which is not "
                "installed (pip install pyarrow), or write a .csv file instead"
            ) from None
    targets.refuse_existing(target, overwrite=overwrite)
    partial = target.with_name(target.name + ".partial")
    try:
        if suffix == ".csv":
            with open(partial, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(list(columns))
                writer.writerows(zip(*(c.tolist() for c in columns.values())))
        else:
            pq.write_table(pa.table(columns), partial)
        targets.publish(partial, target, replace=overwrite)
    except OSError as exc:  # a full disk: name the table, keep errno
        if isinstance(exc, FileExistsError):  # appeared meanwhile: TargetExistsError
            raise
        raise write_error(f"cannot write the table {str(target)!r}", exc, partial) from exc
    finally:
        if partial.exists():
            partial.unlink()
    return target


#: find_objects refuses a list longer than this that would be mostly None
MAX_EMPTY_ENTRIES = 2**24


def find_objects(input: Any, max_label: int = 0) -> list[tuple[slice, ...] | None]:
    """Bounding box of every label, as ``scipy.ndimage.find_objects``.

    Parameters
    ----------
    input : array_like or dask.array.Array
        Integer (or boolean) label image; labels <= 0 are ignored.
    max_label : int, optional
        Report labels 1..max_label (default: up to the largest label).

    Returns
    -------
    list of tuple of slice or None
        Entry ``l - 1`` is label ``l``'s box (one slice per axis), None if
        ``l`` is absent.

    Raises
    ------
    ValueError
        When the list would have more than ``2**24`` entries and more than 16
        per label present (a label id like ``2**31 - 1`` on a few objects:
        scipy would allocate 16 GiB of None), and, as scipy, for an empty
        input without ``max_label``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((6, 6), dtype=int)
    >>> a[2:4, 2:4] = 1
    >>> a[4, 4] = 1
    >>> a[:2, :3] = 2
    >>> a[0, 5] = 3
    >>> find_objects(a, max_label=2)
    [(slice(2, 5, None), slice(2, 5, None)), (slice(0, 2, None), slice(0, 3, None))]
    >>> find_objects(a == 1, max_label=2)
    [(slice(2, 5, None), slice(2, 5, None)), None]
    """
    lab = as_dask(input, "input")
    if lab.dtype.kind not in "biu":
        raise TypeError(f"find_objects needs an integer label image, not {lab.dtype}")
    if lab.ndim == 0:
        raise ValueError("input must have at least one dimension")
    max_label = int(max_label)
    if lab.size == 0 and max_label < 1:
        raise ValueError(
            f"input is empty (shape {lab.shape}) and max_label={max_label}: there is no "
            "largest label to count to (scipy: zero-size array to reduction operation "
            "maximum which has no identity); pass max_label"
        )
    regions = Regions(low=1, high=max_label if max_label >= 1 else None)
    root = reduce_regions(None, lab, {"bbox"}, regions)
    n = max_label if max_label >= 1 else (int(root.keys[-1]) if len(root.keys) else 0)
    if n > MAX_EMPTY_ENTRIES and n > 16 * len(root.keys):
        what = f"max_label={max_label}" if max_label >= 1 else f"the largest label, {n},"
        raise ValueError(
            f"find_objects: {what} asks for a list of {n} entries for {len(root.keys)} "
            f"labels present (about {8 * n / 2**30:.1f} GiB, nearly all None); use "
            "region_table (one row per label present) or relabel_sequential first"
        )
    lo, hi = root.stats["bbox_lo"], root.stats["bbox_hi"]
    per_axis = [list(map(slice, lo[:, ax].tolist(), hi[:, ax].tolist())) for ax in range(lab.ndim)]
    boxes: list[tuple[slice, ...] | None] = list(zip(*per_axis))  # tuples built in C
    keys = root.keys
    if len(keys) == n and (n == 0 or (keys[0] == 1 and keys[-1] == n)):
        return boxes  # every label present
    out: list[tuple[slice, ...] | None] = [None] * n
    for key, box in zip(keys.tolist(), boxes):
        out[key - 1] = box
    return out


def value_indices(arr: Any, *, ignore_value: Any = None) -> dict[Any, tuple[np.ndarray, ...]]:
    """Indices of every distinct value, equal to ``scipy.ndimage.value_indices``.

    One pass of the reduction engine gathers every pixel's value and raster
    index. The result is several times the size of ``arr`` and is built in
    memory.

    Parameters
    ----------
    arr : array_like or dask.array.Array
        Integer array (signed or unsigned) of any number of dimensions.
    ignore_value : int, optional, keyword-only
        A value (cast to ``arr``'s dtype) left out of the result, typically
        the background. None: every value is reported.

    Returns
    -------
    dict
        Sorted by value: each distinct value (a numpy scalar of ``arr``'s
        dtype) -> the tuple of index arrays (one per axis, as
        ``numpy.nonzero`` returns) of its pixels, in C order.

    Raises
    ------
    ValueError
        ``arr`` is not an integer array (scipy's message).

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.zeros((6, 6), dtype=int)
    >>> a[2:4, 2:4] = 1
    >>> a[4, 4] = 1
    >>> a[:2, :3] = 2
    >>> a[0, 5] = 3
    >>> v = value_indices(a, ignore_value=0)
    >>> [int(k) for k in v]
    [1, 2, 3]
    >>> [i.tolist() for i in v[1]]
    [[2, 2, 3, 3, 4], [2, 3, 2, 3, 4]]
    >>> w = ndi.value_indices(a, ignore_value=0)
    >>> list(v) == list(w) and all((v[k][0] == w[k][0]).all() for k in v)
    True
    """
    lab = as_dask(arr, "arr")
    if lab.dtype.kind not in "iu":
        raise ValueError("Parameter 'arr' must be an integer array")
    ignore = None if ignore_value is None else lab.dtype.type(ignore_value)
    root = reduce_regions(None, lab, {"gather"}, Regions(ignore=ignore))
    keys, raster, _ = root.gathered  # type: ignore[misc]
    order = np.lexsort((raster, keys))
    keys, raster = keys[order], raster[order]
    starts: np.ndarray | list[int] = (
        np.flatnonzero(np.diff(keys, prepend=keys[:1] - 1)) if len(keys) else []
    )
    stops = [*starts[1:], len(keys)]
    return {
        lab.dtype.type(keys[a]): np.unravel_index(raster[a:b], lab.shape)
        for a, b in zip(starts, stops)
    }
