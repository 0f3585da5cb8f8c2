"""Measurements of scipy.ndimage that need each label's values, not a sum
of them: ``median``, ``histogram`` and ``labeled_comprehension``.

The reduction engine gathers each label's pixels (or counts them into the
histogram's bins) in one pass; the result is what scipy returns on the
whole array.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from bigimg._reduce import Reduction, reduce_labels
from bigimg._validation import as_dask
from bigimg.ndimage.label_measures import is_scalar, prepare, run_reduction

__all__ = ["histogram", "labeled_comprehension", "median"]


# ---------------------------------------------------------------- gathered pixels


def _gathered(red: Reduction) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys, raster indices, values) of a reduction that gathered an input's pixels."""
    return cast(tuple[np.ndarray, np.ndarray, np.ndarray], red.partial.gathered)


def _gathered_by_key(red: Reduction, by: str) -> tuple[np.ndarray, ...]:
    """The gathered pixels sorted by key, then by raster index or value; group bounds."""
    keys, raster, values = _gathered(red)
    second = raster if by == "raster" else values
    order = np.lexsort((second, keys))
    keys, raster = keys[order], raster[order]
    values = None if values is None else values[order]
    lo = np.searchsorted(keys, red.partial.keys, side="left")
    hi = np.searchsorted(keys, red.partial.keys, side="right")
    return keys, raster, values, lo, hi


def median(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Median of the values per label, equal to ``scipy.ndimage.median``.

    Not decomposable: the pixels of the requested labels (with ``index=None``
    all labelled pixels) are gathered and held in memory, in one task.

    Parameters
    ----------
    input : array_like or dask.array.Array
        Values: real numbers (integer, boolean or float) with at least one
        dimension; complex values and 0-d arrays are refused.
    labels : array_like or dask.array.Array, optional
        Label of every value, of ``input``'s shape (or broadcasting to it;
        rechunked to ``input``'s chunks). Integer, boolean or float labels
        (compared as float64, as scipy; NaN matches no label). None: the whole
        input is one region and ``index`` is ignored.
    index : scalar or array_like, optional
        The label or sequence of labels to measure. None: all values whose
        label is greater than 0, together. A non-integral index is refused
        for integer labels.

    Returns
    -------
    float or numpy.ndarray
        float64 (the input's dtype for float input): a scalar for a scalar or
        None ``index`` (NaN if that region is empty), else an array shaped
        like ``index``. An absent label in a sequence gets scipy's value, the
        smallest value on the image's smallest label.

    Raises
    ------
    ValueError
        For empty input with ``labels`` and a sequence ``index`` (as scipy).

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[1, 2, 0, 1], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> labels, n = ndi.label(a)
    >>> median(a, labels=labels, index=np.arange(1, n + 1))
    array([2.5, 4. , 6. ])
    >>> float(median(a))
    1.0
    >>> bool((median(a, labels, [1, 3]) == ndi.median(a, labels, [1, 3])).all())
    True
    """
    if is_scalar(labels, index):
        red = run_reduction(input, labels, index, {"gather"})
        values = _gathered(red)[2]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.median(values)
    red = run_reduction(input, labels, index, {"gather", "lowest"})
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
    assert lab is not None  # labels is not None here
    if index is None:
        red = reduce_labels(image, lab, None, {"gather"})
        _, raster, values = _gathered(red)
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
    """Histogram of the values per label, equal to ``scipy.ndimage.histogram``.

    Bins are ``numpy.linspace(min, max, bins + 1)`` with ``numpy.histogram``'s
    rule (half-open, the last one closed; values outside are not counted).
    The counts come from one pass over the data for all requested labels.

    Parameters
    ----------
    input : array_like or dask.array.Array
        Values: real numbers (integer, boolean or float) with at least one
        dimension; complex values and 0-d arrays are refused.
    min : scalar
        Lower edge of the first bin.
    max : scalar
        Upper edge of the last bin.
    bins : int
        Number of bins. Edges that do not increase raise numpy's ValueError
        when the function is called.
    labels : array_like or dask.array.Array, optional
        Label of every value, of ``input``'s shape (or broadcasting to it;
        rechunked to ``input``'s chunks). Integer, boolean or float labels
        (compared as float64, as scipy; NaN matches no label). None: the whole
        input is one region; ``index`` must then be None
        (ValueError otherwise, as scipy).
    index : scalar or array_like, optional
        The label or sequence of labels to measure. None: all values whose
        label is greater than 0, together. Index values must convert to the
        labels' dtype without loss (ValueError otherwise, as scipy).

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
    >>> bool((histogram(a, 0, 1, 10, lbl) == ndi.histogram(a, 0, 1, 10, lbl)).all())
    True
    """
    edges = np.linspace(min, max, bins + 1)
    np.histogram(np.zeros(0), edges)  # numpy's errors now, not at compute time
    as_scalar = np.isscalar(index)
    if labels is None:
        if index is not None:
            raise ValueError("index without defined labels")
        return run_reduction(input, None, None, {"hist"}, edges=edges).take("hist")
    image, lab = prepare(input, labels)
    assert lab is not None  # labels is not None here
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
