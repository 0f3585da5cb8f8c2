"""Distance transforms of scipy.ndimage on dask arrays.

**Layout.** Every transform here except custom ``cdt`` metrics is separable:
one pass per axis, in scipy's order (axis 0 first). Each pass runs on
*pencils* (:func:`bigimg._halo.lines.map_line_passes`): the image is rechunked so
that the pass's axis is whole and the other axes are split until a pencil
holds about two target chunks, whatever the image size. A 2-D slab of a
volume is therefore never held at once: a pencil of a 3-D image is a bundle
of whole lines along one axis. Between passes each pixel carries what the
next pass needs (:mod:`bigimg.ndimage.separable_distances`): the squared distance found so far
(float64, -1 for "no background seen yet") and, for ``return_indices``, its
displacement to that background pixel per axis (int32). Memory per task is
bounded by a few pencils; the number of tasks by the number of chunks.

**Exactness.** ``distance_transform_edt`` replays scipy's own per-line
algorithm (:func:`~bigimg.ndimage.line_distances.edt_lines`), so its
squared distances are computed with the same floating-point operations in
the same order, and the final ``sqrt`` is scipy's: distances are
bit-identical, ``sampling`` included, and so are the indices.
``distance_transform_cdt`` with 'taxicab' / 'chessboard' (any metric whose
first half, the only part scipy reads, is the cross's or the full square's)
is the exact L1 / L-infinity distance, computed by separable integer passes.
Other metrics run scipy's own two-pass chamfer on strips of whole
hyperplanes, see :mod:`bigimg.ndimage.chamfer`. ``distance_transform_bf`` uses the same
routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi

from bigimg._validation import as_dask, scipy_dry_run
from bigimg.ndimage.chamfer import chamfer
from bigimg.ndimage.separable_distances import (
    bf_euclidean,
    edt_distances,
    finish,
    integer_distances,
    separable,
)

__all__ = ["distance_transform_bf", "distance_transform_cdt", "distance_transform_edt"]

_TAXICAB = ("taxicab", "cityblock", "manhattan")


# --- arguments and results --------------------------------------------------------------------


def _no_output_arrays(distances: Any, indices: Any) -> None:
    for name, value in (("distances", distances), ("indices", indices)):
        if value is not None:
            raise TypeError(
                f"{name}= cannot be filled by a lazy result; bigimg returns new dask "
                "arrays (store them instead)"
            )


def _returned(distances: da.Array | None, indices: da.Array | None) -> Any:
    out = [a for a in (distances, indices) if a is not None]
    return out[0] if len(out) == 1 else tuple(out)


def _eager(func: Callable[..., Any], image: da.Array, **kwargs: Any) -> Any:
    """0-d and empty images: scipy on the (tiny) whole array."""
    result = func(np.asarray(image.compute()), **kwargs)
    if isinstance(result, tuple):
        return tuple(da.from_array(np.asarray(r)) for r in result)
    return da.from_array(np.asarray(result))


# --- public functions ---------------------------------------------------------------------------


def distance_transform_edt(
    input: Any,
    sampling: Any = None,
    return_distances: bool = True,
    return_indices: bool = False,
    distances: Any = None,
    indices: Any = None,
) -> Any:
    """Exact Euclidean distance transform, equal to ``scipy.ndimage.distance_transform_edt``.

    Bit-identical distances (and indices) for every chunking, with or without
    ``sampling``: scipy's per-line algorithm is replayed pass by pass on
    pencils (see the module docstring). 0-d and empty images are computed
    by scipy on the (tiny) whole array.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image: distances are computed for its nonzero (object) pixels to
        the nearest zero (background) pixel.
    sampling : float or sequence of float, optional
        Pixel spacing along each axis, or one for all (default: 1 on every
        axis).
    return_distances : bool, optional
        Whether to return the distances (default True).
    return_indices : bool, optional
        Whether to return the feature transform: for each pixel, the
        coordinates of its nearest background pixel (default False).
    distances : None, optional
        Must be None: unlike scipy, a lazy result cannot fill an output
        array (the results are new dask arrays).
    indices : None, optional
        Must be None, as ``distances``.

    Returns
    -------
    distances : dask.array.Array of float64
        If ``return_distances``: the distance of each pixel to the nearest
        background pixel, with the input's shape and chunks.
    indices : dask.array.Array of int32
        If ``return_indices``: shape ``(input.ndim, *input.shape)``, chunked
        ``(input.ndim,)`` along the first axis and as the input elsewhere.

    A tuple ``(distances, indices)`` when both are returned, as in scipy.

    Raises
    ------
    TypeError
        For ``distances`` or ``indices`` arrays.
    ValueError
        When neither distances nor indices are asked for, for a ``sampling``
        of the wrong length, and what scipy refuses.

    See Also
    --------
    distance_transform_cdt, distance_transform_bf

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((40, 30)) > 0.1
    >>> d = distance_transform_edt(da.from_array(x, chunks=8), sampling=(1.5, 0.3))
    >>> bool((d.compute() == ndi.distance_transform_edt(x, sampling=(1.5, 0.3))).all())
    True
    >>> d, i = distance_transform_edt(x, return_indices=True)
    >>> i.shape
    (2, 40, 30)
    >>> bool((i.compute() == ndi.distance_transform_edt(x, return_indices=True)[1]).all())
    True
    """
    _no_output_arrays(distances, indices)
    image = as_dask(input)
    kwargs = dict(
        sampling=sampling, return_distances=return_distances, return_indices=return_indices
    )
    scipy_dry_run(ndi.distance_transform_edt, image, **kwargs)
    if image.ndim == 0 or image.size == 0:
        return _eager(ndi.distance_transform_edt, image, **kwargs)
    s = _sampling(sampling, image.ndim)
    carried = separable(image, "euclidean", s, bool(return_indices))
    dist, ind = finish(carried, edt_distances if return_distances else None, "edt", sampling=s)
    return _returned(dist, ind)


def _cdt_metric(metric: Any, ndim: int) -> tuple[str, np.ndarray | None]:
    """The route for scipy's ``metric``, and the structure scipy really uses.

    scipy's chamfer reads only the first half of the metric (the neighbours
    before the centre in raster order), as raw bytes taken for booleans:
    ``np.ones((3, 3), int)`` means the single diagonal neighbour, as in scipy.
    """
    if isinstance(metric, str):
        if metric in _TAXICAB:
            return "taxicab", None
        if metric == "chessboard":
            return "chessboard", None
        raise ValueError(f"metric={metric!r}: invalid metric provided")
    array = np.asarray(metric)
    if array.dtype == object:
        raise ValueError(f"metric={metric!r}: invalid metric provided")
    if any(n != 3 for n in array.shape):
        raise ValueError(f"metric has shape {array.shape}: metric sizes must be equal to 3")
    if array.ndim != ndim:
        raise ValueError(
            f"metric has {array.ndim} dimensions; the input has {ndim} "
            "(scipy would read past the metric's shape)"
        )
    half = array.size // 2
    first = np.ascontiguousarray(array).reshape(-1).view(np.uint8)[:half] != 0
    if first.all():
        return "chessboard", None
    if np.array_equal(first, ndi.generate_binary_structure(ndim, 1).reshape(-1)[:half]):
        return "taxicab", None
    structure = np.zeros(array.size, bool)
    structure[:half] = first
    return "custom", structure.reshape(array.shape)


def distance_transform_cdt(
    input: Any,
    metric: Any = "chessboard",
    return_distances: bool = True,
    return_indices: bool = False,
    distances: Any = None,
    indices: Any = None,
) -> Any:
    """Chamfer distance transform, equal to ``scipy.ndimage.distance_transform_cdt``.

    'chessboard' and 'taxicab' (and metric arrays whose first half is theirs)
    give scipy's two-pass chamfer result, which is the exact L-infinity / L1
    distance to the background: computed by separable integer passes on
    pencils. Other metric arrays run scipy's own chamfer on strips of whole
    hyperplanes (:func:`bigimg.ndimage.chamfer.chamfer`), a sequential chain
    of tasks. ``indices`` name a nearest background pixel (scipy's where it
    is unique).

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image: distances are computed for its nonzero (object) pixels to
        the nearest zero (background) pixel.
    metric : str or array_like, optional
        'chessboard' (default), 'taxicab' (or 'cityblock', 'manhattan'), or
        an array of shape ``(3,) * input.ndim``; scipy reads only its first
        half (the neighbours before the centre in raster order), as booleans.
    return_distances : bool, optional
        Whether to return the distances (default True).
    return_indices : bool, optional
        Whether to return the feature transform: for each pixel, the
        coordinates of its nearest background pixel (default False).
    distances : None, optional
        Must be None: unlike scipy, a lazy result cannot fill an output
        array (the results are new dask arrays).
    indices : None, optional
        Must be None, as ``distances``.

    Returns
    -------
    distances : dask.array.Array of int32
        If ``return_distances``: the chamfer distance of each pixel to the
        background (-1 where the image has no background), with the input's
        shape and chunks.
    indices : dask.array.Array of int32
        If ``return_indices``: shape ``(input.ndim, *input.shape)``, chunked
        ``(input.ndim,)`` along the first axis and as the input elsewhere.

    A tuple ``(distances, indices)`` when both are returned, as in scipy.

    Raises
    ------
    TypeError
        For ``distances`` or ``indices`` arrays.
    ValueError
        For an unknown metric name, a metric array not of shape
        ``(3,) * input.ndim``, when neither distances nor indices are asked
        for, and what scipy refuses.

    See Also
    --------
    distance_transform_edt, distance_transform_bf

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 20)) > 0.05
    >>> d = distance_transform_cdt(da.from_array(x, chunks=7), metric="taxicab")
    >>> bool((d.compute() == ndi.distance_transform_cdt(x, metric="taxicab")).all())
    True
    """
    _no_output_arrays(distances, indices)
    image = as_dask(input)
    route, structure = _cdt_metric(metric, image.ndim)
    kwargs = dict(return_distances=return_distances, return_indices=return_indices)
    scipy_dry_run(ndi.distance_transform_cdt, image, metric=metric, **kwargs)
    if image.ndim == 0 or image.size == 0:
        return _eager(ndi.distance_transform_cdt, image, metric=metric, **kwargs)
    dist: da.Array | None
    if route == "custom":
        assert structure is not None  # _cdt_metric's "custom" route has a structure
        dist, ind = chamfer(image, structure, bool(return_indices))
        return _returned(dist if return_distances else None, ind)
    carried = separable(image, route, None, bool(return_indices))
    to_distances = integer_distances if return_distances else None
    dist, ind = finish(carried, to_distances, "cdt", out_dtype=np.int32, missing=-1)
    return _returned(dist, ind)


def distance_transform_bf(
    input: Any,
    metric: str = "euclidean",
    sampling: Any = None,
    return_distances: bool = True,
    return_indices: bool = False,
    distances: Any = None,
    indices: Any = None,
) -> Any:
    """Brute-force distance transform, equal to ``scipy.ndimage.distance_transform_bf``.

    scipy compares every object pixel with every background pixel next to an
    object; the nearest one is also the nearest background pixel, so the
    exact separable routes give the same distances: 'euclidean' is
    :func:`distance_transform_edt` (with non-integer ``sampling``, two
    background pixels equidistant in exact arithmetic can round to distances
    one unit in the last place apart, and scipy's brute force and its EDT
    may then keep different ones), 'taxicab' / 'chessboard' the L1 /
    L-infinity passes. Indices name a nearest background pixel (scipy's
    brute force keeps the last in raster order on a tie).

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image: distances are computed for its nonzero (object) pixels to
        the nearest zero (background) pixel.
    metric : str, optional
        'euclidean' (default), 'taxicab' (or 'cityblock', 'manhattan') or
        'chessboard', in any case.
    sampling : float or sequence of float, optional
        Pixel spacing along each axis, or one for all (default: 1 on every
        axis); used by 'euclidean' only, ignored otherwise, as in scipy.
    return_distances : bool, optional
        Whether to return the distances (default True).
    return_indices : bool, optional
        Whether to return the feature transform: for each pixel, the
        coordinates of its nearest background pixel (default False).
    distances : None, optional
        Must be None: unlike scipy, a lazy result cannot fill an output
        array (the results are new dask arrays).
    indices : None, optional
        Must be None, as ``distances``.

    Returns
    -------
    distances : dask.array.Array
        If ``return_distances``: float64 for 'euclidean', uint32 otherwise,
        as scipy; with the input's shape and chunks.
    indices : dask.array.Array of int32
        If ``return_indices``: shape ``(input.ndim, *input.shape)``, chunked
        ``(input.ndim,)`` along the first axis and as the input elsewhere.

    A tuple ``(distances, indices)`` when both are returned, as in scipy.

    Raises
    ------
    TypeError
        For a metric that is not a string, or ``distances`` or ``indices``
        arrays.
    ValueError
        For an unknown metric, when neither distances nor indices are asked
        for, and what scipy refuses.

    See Also
    --------
    distance_transform_edt, distance_transform_cdt

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((20, 20)) > 0.1
    >>> d = distance_transform_bf(da.from_array(x, chunks=6), metric="chessboard")
    >>> bool((d.compute() == ndi.distance_transform_bf(x, metric="chessboard")).all())
    True
    """
    _no_output_arrays(distances, indices)
    if not isinstance(metric, str):
        raise TypeError(f"metric={metric!r} must be a string")
    image = as_dask(input)
    kwargs = dict(
        metric=metric,
        sampling=sampling,
        return_distances=return_distances,
        return_indices=return_indices,
    )
    scipy_dry_run(ndi.distance_transform_bf, image, **kwargs)
    if image.ndim == 0 or image.size == 0:
        return _eager(ndi.distance_transform_bf, image, **kwargs)
    route = metric.lower()
    route = "taxicab" if route in _TAXICAB else route
    if route == "euclidean":
        s = _sampling(sampling, image.ndim)
        carried = separable(image, route, s, bool(return_indices))
        to_distances: Callable[..., np.ndarray] | None = bf_euclidean if return_distances else None
        dist, ind = finish(carried, to_distances, "bf")
    else:
        carried = separable(image, route, None, bool(return_indices))
        to_distances = integer_distances if return_distances else None
        dist, ind = finish(carried, to_distances, "bf", out_dtype=np.uint32, missing=2**32 - 1)
    return _returned(dist, ind)


def _sampling(sampling: Any, ndim: int) -> tuple[float, ...] | None:
    if sampling is None:
        return None
    values = np.broadcast_to(np.asarray(sampling, dtype=np.float64), (ndim,))
    return tuple(float(v) for v in values)
