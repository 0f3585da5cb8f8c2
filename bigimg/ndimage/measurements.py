"""scipy.ndimage's per-label measurements on dask arrays, views on one reduction engine.

(``find_objects`` and ``value_indices``, which say where each label is, are in
:mod:`bigimg.ndimage.regions` with the region tables.)

Every function has scipy's name, signature, defaults and return types, and
computes eagerly (like scipy, it returns small results) with ``dask.compute``
on a graph of one task per block plus a tree of merges
(:mod:`bigimg._reduce`), so it runs on whatever scheduler is active,
a ``dask.distributed`` client included. All statistics a function needs come
from one pass over the data, for all requested labels at once; the cost does
not depend on how many labels ``index`` lists.

``input`` and ``labels`` may be numpy or dask arrays. ``labels`` must have
the shape of ``input`` or broadcast to it, and is rechunked to ``input``'s
chunks. Arguments are checked when the function is called, before anything
is computed.

Where scipy is ambiguous or inconsistent, bigimg picks one rule:

* **Ties** in ``minimum_position``, ``maximum_position`` and ``extrema`` go to
  the first pixel in raster (C) order, for every ``index`` form. scipy does
  this for a scalar index or ``index=None``; for a sequence its choice depends
  on an unstable sort (often the last pixel for maxima).
* **Missing labels** get scipy's values: sum 0, count 0, mean / variance /
  centre of mass NaN, minimum / maximum 0, positions ``(0, ..., 0)``,
  histogram ``None``, ``default`` for ``labeled_comprehension``, and for
  ``median`` scipy's (accidental) value, the smallest value on the smallest
  label of the image. With a scalar index, ``minimum``, ``maximum`` and the
  positions raise ValueError for a missing label, as scipy does.
* **Sums of integer input** are exact (scipy's sequence path rounds them
  through float64; beyond 2**53 bigimg is more accurate).
* **Labels** may be integer, boolean or float (compared as float64, like
  scipy; NaN labels never match), here; bigimg's scikit-image-like
  functions (``region_table``, ``relabel``, ``relabel_sequential``,
  ``remove_small_objects``) refuse float labels. An ``index`` that is not a
  whole number is refused for integer labels (scipy silently truncates it in some
  functions and refuses it in others). Complex input or labels, and 0-d
  arrays, are refused.
* **Empty input** with labels and a sequence ``index`` raises ValueError
  (scipy's, for integer labels; scipy fails on float and boolean labels
  with IndexError or TypeError, or returns an empty result for an empty
  index).
* **NaN values** as scipy: a maximum with NaN is NaN; a minimum is NaN for a
  scalar or None ``index`` and skips NaN for a sequence (scipy sorts the
  values, NaN last, and takes each label's first), NaN only where all
  values are. The position of a NaN extreme is its first NaN (where scipy,
  for a scalar or None ``index``, fails with IndexError).
* ``median`` and ``labeled_comprehension`` are not decomposable: they hold the
  pixels of the requested labels (with ``index=None`` all labelled pixels) in
  memory, in one task. ``labeled_comprehension`` passes each label's values
  (and positions) to ``func`` in raster order, also accepts an N-d or empty
  ``index`` (scipy fails on both).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np

from bigimg._partials import sums_as_float
from bigimg._reduce import Reduction, key_dtype, reduce_labels
from bigimg.ndimage._inputs import as_dask

__all__ = [
    "center_of_mass",
    "extrema",
    "histogram",
    "labeled_comprehension",
    "maximum",
    "maximum_position",
    "mean",
    "measure",
    "median",
    "minimum",
    "minimum_position",
    "standard_deviation",
    "sum",
    "sum_labels",
    "variance",
]


# ---------------------------------------------------------------- arguments


def _values(image: da.Array, name: str) -> da.Array:
    if image.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array, not {image.dtype}")
    if image.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension")
    return image


def prepare(input: Any, labels: Any) -> tuple[da.Array, da.Array | None]:
    """``input`` and ``labels`` as dask arrays of the same shape and chunks.

    A numpy argument takes the chunks of a dask one; labels broadcast to the
    input's shape (only that way round), else ValueError naming both shapes.
    """
    if labels is None:
        return _values(as_dask(input, "input"), "input"), None
    if isinstance(labels, da.Array) and not isinstance(input, da.Array):
        array = np.asarray(input)
        if array.shape == labels.shape:
            input = da.from_array(array, chunks=labels.chunks)
    image = _values(as_dask(input, "input"), "input")
    lab = labels if isinstance(labels, da.Array) else np.asarray(labels)
    if lab.dtype == object:
        raise TypeError("labels must be a numeric array")
    key_dtype(lab.dtype)  # TypeError for complex labels
    if lab.shape != image.shape:
        try:
            common = np.broadcast_shapes(lab.shape, image.shape)
        except ValueError:
            common = None
        if common != image.shape:
            raise ValueError(
                f"labels shape {lab.shape} does not match input shape {image.shape}: "
                "labels must have the input's shape (or broadcast to it)"
            )
        lab = (
            da.broadcast_to(lab, image.shape)
            if isinstance(lab, da.Array)
            else np.broadcast_to(lab, image.shape)
        )
    if isinstance(lab, da.Array):
        return image, lab.rechunk(image.chunks)
    return image, da.from_array(lab, chunks=image.chunks)


def _is_scalar(labels: Any, index: Any) -> bool:
    return labels is None or index is None or np.ndim(index) == 0


def _sum_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype of ``numpy.sum`` over an array of ``dtype`` (scipy's scalar sums)."""
    return np.zeros(1, dtype).sum().dtype


def _scalar_sum(red: Reduction, dtype: np.dtype) -> Any:
    total = red.take("sum").reshape(1)
    target = _sum_dtype(dtype)
    if target.kind == "f":
        return target.type(total[0])
    return total.view(target)[0]


def _run(input: Any, labels: Any, index: Any, stats: set[str], **kwargs: Any) -> Reduction:
    image, lab = prepare(input, labels)
    check_empty(image, lab, index)
    return reduce_labels(image, lab, index, stats, **kwargs)


def check_empty(image: da.Array, labels: da.Array | None, index: Any) -> None:
    """scipy measures a sequence ``index`` by first taking the labels' minimum,
    which an empty array has not: ValueError, as scipy (whose float and
    boolean labels fail there with IndexError or TypeError instead)."""
    if image.size == 0 and labels is not None and index is not None and not np.isscalar(index):
        raise ValueError(
            f"input and labels are empty (shape {image.shape}): a sequence index cannot be "
            "measured (zero-size array to reduction operation minimum which has no identity)"
        )


def _quiet_divide(a: Any, b: Any) -> Any:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.true_divide(a, b)


def _positions(raster: Any, shape: tuple[int, ...], scalar: bool) -> Any:
    """scipy's conversion of raster indices into coordinate tuples."""
    dims = np.array(shape)
    dim_prod = np.cumprod([1, *list(dims[:0:-1])])[::-1]
    if scalar:
        return tuple(raster // dim_prod % dims)
    return [tuple(v) for v in np.asarray(raster).reshape(-1, 1) // dim_prod % dims]


def _missing_scalar(red: Reduction, reduction: str) -> None:
    if not red.found.all():
        raise ValueError(
            f"zero-size array to reduction operation {reduction} which has no identity"
        )


# ---------------------------------------------------------------- sums and moments


def _sum(red: Reduction, image: da.Array, scalar: bool) -> Any:
    if scalar:
        return _scalar_sum(red, image.dtype)
    return sums_as_float(red.take("sum"), image.dtype)


def _mean(red: Reduction, image: da.Array, scalar: bool) -> Any:
    total = sums_as_float(red.take("sum"), image.dtype)
    result = _quiet_divide(total, red.take("count").astype(np.float64))
    return result[()] if scalar else result


def _variance(red: Reduction, image: da.Array, scalar: bool) -> Any:
    result = _quiet_divide(red.take("m2"), red.take("count").astype(np.float64))
    return result[()] if scalar else result


def sum_labels(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Sum of the values of ``input`` per label, as ``scipy.ndimage.sum_labels``.

    Parameters
    ----------
    input : array_like or dask.array.Array
        Values.
    labels : array_like or dask.array.Array, optional
        Label of every pixel, same shape as ``input`` (or broadcasting to it).
        None: the whole input is one region.
    index : int or sequence of ints, optional
        Labels to measure. None: all pixels with ``labels > 0`` together.

    Returns
    -------
    scalar or numpy.ndarray
        A scalar (numpy's sum dtype) for a scalar or None index, else float64
        sums shaped like ``index``; 0 for absent labels.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.arange(16.0).reshape(4, 4)
    >>> lab = np.array([[1, 1, 0, 2], [1, 0, 0, 2], [3, 3, 0, 0], [3, 0, 0, 5]])
    >>> sum_labels(x, lab, [1, 2, 4])
    array([ 5., 10.,  0.])
    >>> bool(np.allclose(sum_labels(x, lab, [1, 2, 4]), ndi.sum_labels(x, lab, [1, 2, 4])))
    True
    """
    return _measure_one("sum", input, labels, index)


def sum(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Alias of :func:`sum_labels`, as ``scipy.ndimage.sum``.

    Examples
    --------
    >>> import numpy as np
    >>> sum(np.array([0, 1, 2, 3]), np.array([1, 1, 2, 2]), index=[1, 2])
    array([1., 5.])
    """
    return sum_labels(input, labels, index)


def mean(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Mean of the values per label, as ``scipy.ndimage.mean``.

    Parameters are those of :func:`sum_labels`. Returns float64: a scalar for
    a scalar or None index, else an array shaped like ``index``; NaN for
    absent labels.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.arange(25).reshape((5, 5))
    >>> labels = np.zeros_like(a)
    >>> labels[3:5, 3:5] = 1
    >>> mean(a, labels=labels, index=[0, 1])
    array([10.28571429, 21.        ])
    >>> bool(np.allclose(mean(a, labels, [0, 1]), ndi.mean(a, labels, [0, 1])))
    True
    """
    return _measure_one("mean", input, labels, index)


def variance(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Population variance per label, as ``scipy.ndimage.variance``.

    One pass: blocks' (count, sum, centred sum of squares) are merged with
    Chan et al.'s parallel formula, which agrees with scipy's two-pass
    computation to rounding. Returns float64 like :func:`mean`.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> lbl, nlbl = ndi.label(a)
    >>> variance(a, lbl, index=np.arange(1, nlbl + 1))
    array([2.1875, 2.25  , 9.    ])
    >>> float(variance(a))
    7.609375
    """
    return _measure_one("variance", input, labels, index)


def standard_deviation(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Population standard deviation per label, as ``scipy.ndimage.standard_deviation``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> lbl, nlbl = ndi.label(a)
    >>> idx = np.arange(1, nlbl + 1)
    >>> bool(np.allclose(standard_deviation(a, lbl, idx), ndi.standard_deviation(a, lbl, idx)))
    True
    """
    return _measure_one("standard_deviation", input, labels, index)


# ---------------------------------------------------------------- extremes


def _stat(which: str, scalar: bool) -> str:
    """The engine's statistic for scipy's ``which`` ("min" or "max", with or
    without "arg"): over a sequence of labels scipy's minimum skips NaN."""
    return which if scalar or not which.endswith("min") else which.replace("min", "fmin")


def _extreme(red: Reduction, image: da.Array, scalar: bool, which: str) -> Any:
    if scalar:
        _missing_scalar(red, "minimum" if which == "min" else "maximum")
    result = red.take(_stat(which, scalar), fill=0)
    return result[()] if scalar else result


def minimum(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Minimum of the values per label, as ``scipy.ndimage.minimum``.

    Returns the input's dtype: a scalar for a scalar or None index (ValueError
    if that region is empty), else an array shaped like ``index`` with 0 for
    absent labels.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> lab, n = ndi.label(a)
    >>> minimum(a, lab, index=np.arange(1, n + 1))
    array([1, 4, 3])
    >>> int(minimum(a, lab))
    1
    """
    return _measure_one("minimum", input, labels, index)


def maximum(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Maximum of the values per label, as ``scipy.ndimage.maximum``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> lab, n = ndi.label(a)
    >>> maximum(a, lab, index=np.arange(1, n + 1))
    array([5, 7, 9])
    """
    return _measure_one("maximum", input, labels, index)


def _position(red: Reduction, image: da.Array, scalar: bool, which: str) -> Any:
    if scalar:
        _missing_scalar(red, "minimum" if which == "min" else "maximum")
    raster = red.take(_stat("arg" + which, scalar), fill=0)
    return _positions(raster[()] if scalar else raster, image.shape, scalar)


def minimum_position(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Coordinates of the first minimum per label, as ``scipy.ndimage.minimum_position``.

    Returns a tuple of numpy ints for a scalar or None index, else a list of
    tuples (one per index entry, flattened); ``(0, ..., 0)`` for absent labels.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[10, 20, 30], [40, 80, 100], [1, 100, 200]])
    >>> b = np.array([[1, 2, 0, 1], [1, 1, 0, 0]])
    >>> [int(i) for i in minimum_position(a)]
    [2, 0]
    >>> minimum_position(b, b > 0, [1]) == [(0, 0)]
    True
    """
    return _measure_one("minimum_position", input, labels, index)


def maximum_position(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Coordinates of the first maximum per label, as ``scipy.ndimage.maximum_position``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> lbl, n = ndi.label(a)
    >>> maximum_position(a, lbl, [1, 2, 3]) == ndi.maximum_position(a, lbl, [1, 2, 3])
    True
    """
    return _measure_one("maximum_position", input, labels, index)


def extrema(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Minima, maxima and their positions per label, as ``scipy.ndimage.extrema``.

    Returns ``(minimums, maximums, min_positions, max_positions)``: scalars
    and tuples for a scalar or None index, else arrays and lists of tuples.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> lo, hi, lo_at, hi_at = extrema(a)
    >>> int(lo), int(hi), [int(i) for i in hi_at]
    (0, 9, [3, 0])
    """
    return _measure_one("extrema", input, labels, index)


def _extrema(red: Reduction, image: da.Array, scalar: bool) -> tuple:
    if scalar:
        _missing_scalar(red, "minimum")
    out = []
    for which in ("min", "max"):
        values = red.take(_stat(which, scalar), fill=0)
        out.append(values[()] if scalar else values)
    for which in ("argmin", "argmax"):
        raster = red.take(_stat(which, scalar), fill=0)
        out.append(_positions(raster[()] if scalar else raster, image.shape, scalar))
    return tuple(out)


# ---------------------------------------------------------------- gathered pixels


def _gathered_by_key(red: Reduction, by: str) -> tuple[np.ndarray, ...]:
    """The gathered pixels sorted by key, then by raster index or value; group bounds."""
    keys, raster, values = red.partial.gathered  # type: ignore[misc]
    second = raster if by == "raster" else values
    order = np.lexsort((second, keys))
    keys, raster = keys[order], raster[order]
    values = None if values is None else values[order]
    lo = np.searchsorted(keys, red.partial.keys, side="left")
    hi = np.searchsorted(keys, red.partial.keys, side="right")
    return keys, raster, values, lo, hi  # type: ignore[return-value]


def median(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Median of the values per label, as ``scipy.ndimage.median``.

    Holds the pixels of the requested labels in memory (not decomposable).
    Returns float64 (or the input's float dtype): a scalar for a scalar or
    None index (NaN if empty), else an array shaped like ``index``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[1, 2, 0, 1], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> labels, n = ndi.label(a)
    >>> median(a, labels=labels, index=np.arange(1, n + 1))
    array([2.5, 4. , 6. ])
    >>> float(median(a))
    1.0
    """
    if _is_scalar(labels, index):
        red = _run(input, labels, index, {"gather"})
        values = red.partial.gathered[2]  # type: ignore[index]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.median(values)
    red = _run(input, labels, index, {"gather", "lowest"})
    _, _, values, lo, hi = _gathered_by_key(red, "value")
    step = (hi - 1 - lo) // 2
    lo, hi = lo + step, hi - 1 - step
    as_float = values.dtype.kind in "biu"
    if as_float:
        values = values.astype(np.float64)
    med = (values[lo] + values[hi]) / 2.0
    lowest = red.partial.lowest
    low = np.asarray([0 if lowest is None else lowest[1]], values.dtype)
    missing = ((low + low) / 2.0)[0]
    out = np.full(len(red.rows), missing, med.dtype)
    found = red.found
    out[found] = med[red.rows[found]]
    return out.reshape(red.shape)


def _check_index_cast(index: np.ndarray, labels_dtype: np.dtype) -> np.ndarray:
    """scipy's labeled_comprehension check: index must convert to the labels' dtype."""
    with np.errstate(invalid="ignore", over="ignore"):
        if np.any(index.astype(labels_dtype).astype(index.dtype) != index):
            raise ValueError(
                f"Cannot convert index values from <{index.dtype}> to <{labels_dtype}> "
                "(labels' type) without loss of precision"
            )
    return index.astype(labels_dtype)


def labeled_comprehension(
    input: Any,
    labels: Any,
    index: Any,
    func: Callable[..., Any],
    out_dtype: Any,
    default: Any,
    pass_positions: bool = False,
) -> Any:
    """Apply ``func`` to the values of each label, as ``scipy.ndimage.labeled_comprehension``.

    ``func`` gets each label's values (and with ``pass_positions`` their
    raster indices) in raster order. The pixels of the requested labels are
    held in memory.

    Parameters
    ----------
    input, labels, index
        As in :func:`sum_labels`; ``index`` must be None when ``labels`` is.
    func : callable
        ``func(values)`` or ``func(values, positions)``.
    out_dtype : dtype
        Of the result for a sequence or scalar index.
    default : scalar
        Result for labels absent from ``labels``.
    pass_positions : bool, optional
        Pass the flat raster indices as a second argument.

    Returns
    -------
    Any
        ``func``'s result for ``labels=None`` (``func`` then gets the whole
        input, computed into memory) or ``index=None``, an
        ``out_dtype`` scalar for a scalar index, else an array shaped like
        ``index``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> lbl, nlbl = ndi.label(a)
    >>> labeled_comprehension(a, lbl, np.arange(1, nlbl + 2), np.mean, float, -1)
    array([ 2.75,  5.5 ,  6.  , -1.  ])
    """
    as_scalar = np.isscalar(index)
    if labels is None:
        if index is not None:
            raise ValueError("index without defined labels")
        data = np.asarray(as_dask(input, "input").compute()).ravel()
        return func(data, np.arange(data.size)) if pass_positions else func(data)
    image, lab = prepare(input, labels)
    if index is None:
        red = reduce_labels(image, lab, None, {"gather"})
        _, raster, values = red.partial.gathered  # type: ignore[misc]
        order = np.argsort(raster)
        raster, values = raster[order], values[order]
        return func(values, raster) if pass_positions else func(values)
    index = _check_index_cast(np.atleast_1d(index), lab.dtype)
    red = reduce_labels(image, lab, index, {"gather"})
    _, raster, values, lo, hi = _gathered_by_key(red, "raster")
    out = np.empty(index.shape, out_dtype)
    out[...] = default
    flat = out.reshape(-1)
    rows = red.rows
    for i in np.argsort(index.reshape(-1), kind="stable"):
        row = rows[i]
        if row < 0:
            continue
        part = slice(lo[row], hi[row])
        flat[i] = func(values[part], raster[part]) if pass_positions else func(values[part])
    return out[0] if as_scalar else out


def histogram(
    input: Any, min: Any, max: Any, bins: int, labels: Any = None, index: Any = None
) -> Any:
    """Histogram of the values per label, as ``scipy.ndimage.histogram``.

    Bins are ``numpy.linspace(min, max, bins + 1)`` with ``numpy.histogram``'s
    rule (half-open, the last one closed; values outside are not counted).

    Returns
    -------
    numpy.ndarray or None or object array
        An int64 array of ``bins`` counts for ``labels=None``, ``index=None``
        or a scalar index (None if that label is absent); else an object
        array shaped like ``index`` of such arrays / None.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[0.0, 0.21, 0.59, 0], [0, 0.77, 0, 0], [0, 0, 0, 0], [0, 0, 0.71, 0.27]])
    >>> histogram(a, 0, 1, 10)
    array([11,  0,  2,  0,  0,  1,  0,  2,  0,  0])
    >>> lbl, nlbl = ndi.label(a)
    >>> histogram(a, 0, 1, 10, lbl, 2)
    array([0, 0, 1, 0, 0, 0, 0, 1, 0, 0])
    >>> histogram(a, 0, 1, 10, lbl, [2, 9])[1] is None
    True
    """
    edges = np.linspace(min, max, bins + 1)
    np.histogram(np.zeros(0), edges)  # numpy's errors now, not at compute time
    as_scalar = np.isscalar(index)
    if labels is None:
        if index is not None:
            raise ValueError("index without defined labels")
        return _run(input, None, None, {"hist"}, edges=edges).take("hist")
    image, lab = prepare(input, labels)
    if index is None:
        return reduce_labels(image, lab, None, {"hist"}, edges=edges).take("hist")
    index = _check_index_cast(np.atleast_1d(index), lab.dtype)
    red = reduce_labels(image, lab, index, {"hist"}, edges=edges)
    hist = red.partial.stats["hist"]
    out = np.empty(index.shape, object)
    flat = out.reshape(-1)
    for i, row in enumerate(red.rows):
        flat[i] = hist[row].copy() if row >= 0 else None
    return out[0] if as_scalar else out


# ---------------------------------------------------------------- geometry


def center_of_mass(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Centre of mass (value-weighted mean coordinate) per label, as scipy's.

    Returns a tuple of float64 for a scalar or None index, else a list of
    tuples; NaN for absent labels (and regions of zero total mass).

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array(([0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0]))
    >>> [float(c) for c in center_of_mass(a)]
    [2.0, 1.5]
    >>> b = np.array(([0, 1, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]))
    >>> lbl = ndi.label(b)[0]
    >>> bool(np.allclose(center_of_mass(b, lbl, [1, 2]), ndi.center_of_mass(b, lbl, [1, 2])))
    True
    """
    return _measure_one("center_of_mass", input, labels, index)


def _center_of_mass(red: Reduction, image: da.Array, scalar: bool) -> Any:
    total = (
        _scalar_sum(red, image.dtype) if scalar else sums_as_float(red.take("sum"), image.dtype)
    )
    weighted = red.take("wcoord_sum", fill=0.0)
    results = [_quiet_divide(weighted[..., d], total) for d in range(image.ndim)]
    if scalar:
        return tuple(np.float64(r) for r in results)
    return [tuple(v) for v in np.array(results).T]


# ---------------------------------------------------------------- several at once

Finish = Callable[[Reduction, da.Array, bool], Any]

#: every decomposable measurement: the engine statistics it needs, and how its
#: result is made from them (scipy's return type)
MEASURES: dict[str, tuple[frozenset[str], Finish]] = {
    "sum": (frozenset({"sum"}), _sum),
    "sum_labels": (frozenset({"sum"}), _sum),
    "mean": (frozenset({"count", "sum"}), _mean),
    "variance": (frozenset({"count", "sum", "m2"}), _variance),
    "standard_deviation": (
        frozenset({"count", "sum", "m2"}),
        lambda red, image, scalar: np.sqrt(_variance(red, image, scalar)),
    ),
    "minimum": (frozenset({"min"}), functools.partial(_extreme, which="min")),
    "maximum": (frozenset({"max"}), functools.partial(_extreme, which="max")),
    "minimum_position": (
        frozenset({"min", "argmin"}),
        functools.partial(_position, which="min"),
    ),
    "maximum_position": (
        frozenset({"max", "argmax"}),
        functools.partial(_position, which="max"),
    ),
    "extrema": (frozenset({"min", "argmin", "max", "argmax"}), _extrema),
    "center_of_mass": (frozenset({"sum", "wcoord_sum"}), _center_of_mass),
}


def _measure_one(name: str, input: Any, labels: Any, index: Any) -> Any:
    return measure(input, labels, index, [name])[name]


def measure(
    input: Any, labels: Any = None, index: Any = None, statistics: Any = ("sum", "mean")
) -> dict[str, Any]:
    """Several of scipy's measurements in one pass over the data.

    ``measure(x, lab, idx, ["sum", "mean", "center_of_mass"])["mean"]`` equals
    ``scipy.ndimage.mean(x, lab, idx)``, and so on: every name of
    :data:`MEASURES` (sum, sum_labels, mean, variance, standard_deviation,
    minimum, maximum, minimum_position, maximum_position, extrema,
    center_of_mass). The engine computes the union of what they need at once,
    so asking for several costs about as much as asking for the dearest.

    Returns
    -------
    dict
        name -> what the scipy function of that name returns.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.arange(16.0).reshape(4, 4)
    >>> lab = np.array([[1, 1, 0, 2], [1, 0, 0, 2], [3, 3, 0, 0], [3, 0, 0, 5]])
    >>> out = measure(x, lab, [1, 2, 3], ["sum", "mean", "center_of_mass"])
    >>> bool(np.allclose(out["mean"], ndi.mean(x, lab, [1, 2, 3])))
    True
    >>> bool(np.allclose(out["center_of_mass"], ndi.center_of_mass(x, lab, [1, 2, 3])))
    True
    """
    names = [statistics] if isinstance(statistics, str) else list(statistics)
    unknown = [n for n in names if n not in MEASURES]
    if unknown or not names:
        raise ValueError(f"statistics={statistics!r}: choose from {', '.join(MEASURES)}")
    image, lab = prepare(input, labels)
    check_empty(image, lab, index)
    scalar = _is_scalar(labels, index)
    needed = frozenset().union(*(MEASURES[n][0] for n in names))
    stats = {_stat(name, scalar) for name in needed}
    red = reduce_labels(image, lab, index, stats)
    return {n: MEASURES[n][1](red, image, scalar) for n in names}
