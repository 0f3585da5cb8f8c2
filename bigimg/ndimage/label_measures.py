"""The measurements of scipy.ndimage as views on one reduction.

:func:`measure` runs the reduction engine once for any set of decomposable
measurements: each one names the engine statistics it needs and how its
result is made from them in scipy's return type (:data:`MEASURES`). The
public functions (:mod:`bigimg.ndimage.measurements`,
:mod:`bigimg.ndimage.extrema`) are each one measurement of it; arguments are
turned into dask arrays of one shape and chunks here (:func:`prepare`), with
scipy's errors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np

from bigimg._reduce import Reduction, key_dtype, reduce_labels, sums_as_float
from bigimg._validation import as_dask

__all__ = [
    "measure",
]


def check_values(image: da.Array, name: str) -> da.Array:
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
        return check_values(as_dask(input, "input"), "input"), None
    if isinstance(labels, da.Array) and not isinstance(input, da.Array):
        array = np.asarray(input)
        if array.shape == labels.shape:
            input = da.from_array(array, chunks=labels.chunks)
    image = check_values(as_dask(input, "input"), "input")
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


def is_scalar(labels: Any, index: Any) -> bool:
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


def run_reduction(
    input: Any, labels: Any, index: Any, stats: set[str], **kwargs: Any
) -> Reduction:
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


def _stat(which: str, scalar: bool) -> str:
    """The engine's statistic for scipy's ``which`` ("min" or "max", with or
    without "arg"): over a sequence of labels scipy's minimum skips NaN."""
    return which if scalar or not which.endswith("min") else which.replace("min", "fmin")


def _extreme(red: Reduction, image: da.Array, scalar: bool, which: str) -> Any:
    if scalar:
        _missing_scalar(red, "minimum" if which == "min" else "maximum")
    result = red.take(_stat(which, scalar), fill=0)
    return result[()] if scalar else result


def _position(red: Reduction, image: da.Array, scalar: bool, which: str) -> Any:
    if scalar:
        _missing_scalar(red, "minimum" if which == "min" else "maximum")
    raster = red.take(_stat("arg" + which, scalar), fill=0)
    return _positions(raster[()] if scalar else raster, image.shape, scalar)


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


def _center_of_mass(red: Reduction, image: da.Array, scalar: bool) -> Any:
    total = (
        _scalar_sum(red, image.dtype) if scalar else sums_as_float(red.take("sum"), image.dtype)
    )
    weighted = red.take("wcoord_sum", fill=0.0)
    results = [_quiet_divide(weighted[..., d], total) for d in range(image.ndim)]
    if scalar:
        return tuple(np.float64(r) for r in results)
    return [tuple(v) for v in np.array(results).T]


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


def measure_one(name: str, input: Any, labels: Any, index: Any) -> Any:
    return measure(input, labels, index, [name])[name]


def measure(
    input: Any, labels: Any = None, index: Any = None, statistics: Any = ("sum", "mean")
) -> dict[str, Any]:
    """Several of scipy.ndimage's per-label measurements in one pass over the data.

    bigimg's own (scipy has no such function):
    ``measure(x, lab, idx, ["sum", "mean", "center_of_mass"])["mean"]`` equals
    ``scipy.ndimage.mean(x, lab, idx)``, and so on, each result as the bigimg
    function of that name returns it. The engine computes the union of the
    statistics they need at once, so asking for several costs about as much
    as asking for the dearest.

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
    statistics : str or sequence of str, optional
        The measurements, by name: any of ``sum``, ``sum_labels``, ``mean``,
        ``variance``, ``standard_deviation``, ``minimum``, ``maximum``,
        ``minimum_position``, ``maximum_position``, ``extrema`` and
        ``center_of_mass`` (the keys of :data:`MEASURES`). Default
        ``("sum", "mean")``.

    Returns
    -------
    dict
        name -> what the scipy function of that name returns.

    Raises
    ------
    ValueError
        For an unknown or empty ``statistics``, and as the single
        measurements do.

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
    scalar = is_scalar(labels, index)
    needed = frozenset().union(*(MEASURES[n][0] for n in names))
    stats = {_stat(name, scalar) for name in needed}
    red = reduce_labels(image, lab, index, stats)
    return {n: MEASURES[n][1](red, image, scalar) for n in names}
