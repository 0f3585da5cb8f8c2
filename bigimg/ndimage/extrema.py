"""Extremes per label of scipy.ndimage on dask arrays: ``minimum``,
``maximum``, their positions and ``extrema``, from one reduction
(:mod:`bigimg.ndimage.label_measures`). Ties go to the first pixel in raster
order, as in scipy, for every chunking.
"""

from __future__ import annotations

from typing import Any

from bigimg.ndimage.label_measures import measure_one

__all__ = [
    "extrema",
    "maximum",
    "maximum_position",
    "minimum",
    "minimum_position",
]


def minimum(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Minimum of the values per label, equal to ``scipy.ndimage.minimum``.

    NaN values: a region's minimum is NaN for a scalar or None ``index`` and
    skips NaN (NaN only where all values are) for a sequence, as scipy.

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
    scalar or numpy.ndarray
        Of ``input``'s dtype: a scalar for a scalar or None ``index`` (or no
        ``labels``), else an array shaped like ``index`` with 0 for absent
        labels.

    Raises
    ------
    ValueError
        For a scalar or None ``index`` whose region is empty (as scipy), and
        for empty input with ``labels`` and a sequence ``index``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> lab, n = ndi.label(a)
    >>> minimum(a, lab, index=np.arange(1, n + 1))
    array([1, 4, 3])
    >>> int(minimum(a, lab))
    1
    >>> bool((minimum(a, lab, [1, 3]) == ndi.minimum(a, lab, [1, 3])).all())
    True
    """
    return measure_one("minimum", input, labels, index)


def maximum(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Maximum of the values per label, equal to ``scipy.ndimage.maximum``.

    A region with a NaN value has maximum NaN, as in scipy.

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
    scalar or numpy.ndarray
        Of ``input``'s dtype: a scalar for a scalar or None ``index`` (or no
        ``labels``), else an array shaped like ``index`` with 0 for absent
        labels.

    Raises
    ------
    ValueError
        For a scalar or None ``index`` whose region is empty (as scipy), and
        for empty input with ``labels`` and a sequence ``index``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> lab, n = ndi.label(a)
    >>> maximum(a, lab, index=np.arange(1, n + 1))
    array([5, 7, 9])
    >>> bool(maximum(a) == ndi.maximum(a))
    True
    """
    return measure_one("maximum", input, labels, index)


def minimum_position(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Coordinates of a minimum per label, equal to ``scipy.ndimage.minimum_position``.

    Ties go to the first pixel in raster (C) order for every form of
    ``index`` (scipy does so for a scalar or None index; for a sequence its
    choice depends on an unstable sort). The position of a NaN minimum is its
    first NaN.

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
    tuple or list of tuple
        One numpy integer coordinate per axis: a tuple for a scalar or None
        ``index`` (or no ``labels``), else a list of tuples, one per entry of
        ``index`` (flattened), ``(0, ..., 0)`` for absent labels.

    Raises
    ------
    ValueError
        For a scalar or None ``index`` whose region is empty (as scipy), and
        for empty input with ``labels`` and a sequence ``index``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[10, 20, 30], [40, 80, 100], [1, 100, 200]])
    >>> b = np.array([[1, 2, 0, 1], [1, 1, 0, 0]])
    >>> [int(i) for i in minimum_position(a)]
    [2, 0]
    >>> minimum_position(b, b > 0, [1]) == [(0, 0)]
    True
    >>> minimum_position(a) == ndi.minimum_position(a)
    True
    """
    return measure_one("minimum_position", input, labels, index)


def maximum_position(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Coordinates of a maximum per label, equal to ``scipy.ndimage.maximum_position``.

    Ties go to the first pixel in raster (C) order for every form of
    ``index`` (scipy does so for a scalar or None index; for a sequence its
    choice depends on an unstable sort, often the last pixel). The position
    of a NaN maximum is its first NaN.

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
    tuple or list of tuple
        One numpy integer coordinate per axis: a tuple for a scalar or None
        ``index`` (or no ``labels``), else a list of tuples, one per entry of
        ``index`` (flattened), ``(0, ..., 0)`` for absent labels.

    Raises
    ------
    ValueError
        For a scalar or None ``index`` whose region is empty (as scipy), and
        for empty input with ``labels`` and a sequence ``index``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> lbl, n = ndi.label(a)
    >>> maximum_position(a, lbl, [1, 2, 3]) == ndi.maximum_position(a, lbl, [1, 2, 3])
    True
    """
    return measure_one("maximum_position", input, labels, index)


def extrema(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Minima, maxima and their positions per label, equal to ``scipy.ndimage.extrema``.

    All four from one pass; the rules of :func:`minimum`, :func:`maximum` and
    their positions (ties to the first pixel in raster order) apply.

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
    minimums, maximums : scalar or numpy.ndarray
        As :func:`minimum` and :func:`maximum`.
    min_positions, max_positions : tuple or list of tuple
        As :func:`minimum_position` and :func:`maximum_position`.

    Raises
    ------
    ValueError
        For a scalar or None ``index`` whose region is empty (as scipy), and
        for empty input with ``labels`` and a sequence ``index``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> lo, hi, lo_at, hi_at = extrema(a)
    >>> int(lo), int(hi), [int(i) for i in hi_at]
    (0, 9, [3, 0])
    >>> lbl, n = ndi.label(a)
    >>> extrema(a, lbl, 2) == ndi.extrema(a, lbl, 2)
    True
    """
    return measure_one("extrema", input, labels, index)
