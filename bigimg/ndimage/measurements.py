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

from typing import Any

from bigimg.ndimage.label_measures import measure_one

__all__ = [
    "center_of_mass",
    "mean",
    "standard_deviation",
    "sum",
    "sum_labels",
    "variance",
]


# ---------------------------------------------------------------- arguments


# ---------------------------------------------------------------- sums and moments


def sum_labels(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Sum of the values per label, equal to ``scipy.ndimage.sum_labels``.

    One pass over the data for all requested labels; computed when called.
    Sums of integer input are exact (scipy's sequence path rounds them
    through float64).

    Parameters
    ----------
    input : array_like or dask.array.Array
        Values to measure: real numbers (integer, boolean or float) with at
        least one dimension; complex values and 0-d arrays are refused.
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
        For a scalar or None ``index`` (or no ``labels``) a scalar of numpy's
        sum dtype for ``input``; else a float64 array shaped like ``index``,
        0 for labels that are absent.

    Raises
    ------
    ValueError
        For empty input with ``labels`` and a sequence ``index`` (as scipy),
        or ``labels`` that do not broadcast to ``input``'s shape.

    See Also
    --------
    measure : several measurements in one pass.

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
    return measure_one("sum", input, labels, index)


def sum(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Sum of the values per label, equal to ``scipy.ndimage.sum``.

    An alias of :func:`sum_labels`, as in scipy.

    Parameters
    ----------
    input : array_like or dask.array.Array
        Values to measure: real numbers (integer, boolean or float) with at
        least one dimension; complex values and 0-d arrays are refused.
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
        As :func:`sum_labels`: a scalar of numpy's sum dtype for a scalar or
        None ``index``, else float64 sums shaped like ``index`` (0 for absent
        labels).

    See Also
    --------
    sum_labels

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> sum(np.array([0, 1, 2, 3]), np.array([1, 1, 2, 2]), index=[1, 2])
    array([1., 5.])
    >>> x, lab = np.arange(6.0), np.array([0, 1, 1, 2, 2, 2])
    >>> bool(sum(x, lab) == ndi.sum(x, lab))
    True
    """
    return sum_labels(input, labels, index)


def mean(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Mean of the values per label, equal to ``scipy.ndimage.mean``.

    Parameters
    ----------
    input : array_like or dask.array.Array
        Values to measure: real numbers (integer, boolean or float) with at
        least one dimension; complex values and 0-d arrays are refused.
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
        float64: a scalar for a scalar or None ``index`` (or no ``labels``),
        else an array shaped like ``index``; NaN for absent labels.

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
    return measure_one("mean", input, labels, index)


def variance(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Population variance per label, equal to ``scipy.ndimage.variance``.

    One pass: blocks' (count, sum, centred sum of squares) are merged with
    Chan et al.'s parallel formula, which agrees with scipy's two-pass
    computation to rounding.

    Parameters
    ----------
    input : array_like or dask.array.Array
        Values to measure: real numbers (integer, boolean or float) with at
        least one dimension; complex values and 0-d arrays are refused.
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
        float64: a scalar for a scalar or None ``index`` (or no ``labels``),
        else an array shaped like ``index``; NaN for absent labels.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> lbl, nlbl = ndi.label(a)
    >>> variance(a, lbl, index=np.arange(1, nlbl + 1))
    array([2.1875, 2.25  , 9.    ])
    >>> float(variance(a))
    7.609375
    >>> bool(np.allclose(variance(a, lbl, [1, 2]), ndi.variance(a, lbl, [1, 2])))
    True
    """
    return measure_one("variance", input, labels, index)


def standard_deviation(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Population standard deviation per label, equal to ``scipy.ndimage.standard_deviation``.

    The square root of :func:`variance`, from the same single pass.

    Parameters
    ----------
    input : array_like or dask.array.Array
        Values to measure: real numbers (integer, boolean or float) with at
        least one dimension; complex values and 0-d arrays are refused.
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
        float64: a scalar for a scalar or None ``index`` (or no ``labels``),
        else an array shaped like ``index``; NaN for absent labels.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> lbl, nlbl = ndi.label(a)
    >>> idx = np.arange(1, nlbl + 1)
    >>> bool(np.allclose(standard_deviation(a, lbl, idx), ndi.standard_deviation(a, lbl, idx)))
    True
    """
    return measure_one("standard_deviation", input, labels, index)


# ---------------------------------------------------------------- extremes


# ---------------------------------------------------------------- geometry


def center_of_mass(input: Any, labels: Any = None, index: Any = None) -> Any:
    """Centre of mass per label, equal to ``scipy.ndimage.center_of_mass``.

    The value-weighted mean coordinate of each region.

    Parameters
    ----------
    input : array_like or dask.array.Array
        Masses (weights) of the pixels: real numbers (integer, boolean or float) with at
        least one dimension; complex values and 0-d arrays are refused.
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
    tuple of float or list of tuple of float
        One float64 coordinate per axis: a tuple for a scalar or None
        ``index`` (or no ``labels``), else a list of tuples, one per entry of
        ``index`` (flattened); NaN for absent labels and regions of zero total
        mass.

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
    return measure_one("center_of_mass", input, labels, index)


# ---------------------------------------------------------------- several at once
