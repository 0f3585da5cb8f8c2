"""Distance transforms of scipy.ndimage on dask arrays.

**Layout.** Every transform here except custom ``cdt`` metrics is separable:
one pass per axis, in scipy's order (axis 0 first). Each pass runs on
*pencils* (:func:`bigimg._lines.map_line_passes`): the image is rechunked so
that the pass's axis is whole and the other axes are split until a pencil
holds about two target chunks, whatever the image size. A 2-D slab of a
volume is therefore never held at once: a pencil of a 3-D image is a bundle
of whole lines along one axis. Between passes each pixel carries what the
next pass needs (:func:`_fields`): the squared distance found so far
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
hyperplanes, see :func:`_chamfer`. ``distance_transform_bf`` uses the same
routes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph
from scipy.ndimage import _nd_image  # scipy's chamfer pass, for custom cdt metrics

from bigimg._lines import map_line_passes
from bigimg.ndimage._inputs import as_dask, scipy_dry_run
from bigimg.ndimage.line_distances import (
    chessboard_lines,
    edt_lines,
    nearest_on_axis,
    taxicab_lines,
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


def _fields(value: str, ndim: int, indices: bool) -> np.dtype:
    """What a pixel carries between passes: distance so far (+ displacements)."""
    if not indices:
        return np.dtype(value)
    return np.dtype([("v", value)] + [(f"e{k}", np.int32) for k in range(ndim)])


def _value(block: np.ndarray) -> np.ndarray:
    return block["v"] if block.dtype.names else block


# --- the passes -------------------------------------------------------------------------------


def _first(
    block: np.ndarray, *, axis: int, output: np.dtype, squared: bool, sampling: float | None
) -> np.ndarray:
    """Pass 0: the nearest background along the line (the lower one on a tie)."""
    shift, valid = nearest_on_axis(block == 0, axis)
    if squared:
        t = shift.astype(np.float64)
        if sampling is not None:
            t *= sampling
        value = np.where(valid, t * t, -1.0)
    else:
        value = np.where(valid, np.abs(shift), np.int32(-1))
    if not output.names:
        return value.astype(output, copy=False)
    out = np.zeros(block.shape, output)
    out["v"] = value
    out[f"e{axis}"] = np.where(valid, shift, 0)
    return out


def _next(
    block: np.ndarray, *, axis: int, output: np.dtype, metric: str, sampling: float | None
) -> np.ndarray:
    """A later pass: each line's lower envelope from the distances so far."""
    length = block.shape[axis]
    lines = np.moveaxis(_value(block), axis, -1)
    flat = lines.reshape(-1, length)
    if metric == "euclidean":
        pos, value = edt_lines(np.ascontiguousarray(flat), sampling)
    elif metric == "taxicab":
        pos, value = taxicab_lines(flat)
    else:
        pos, value = chessboard_lines(flat)
    shape = lines.shape
    out = np.empty(block.shape, output)
    if not output.names:
        out[...] = np.moveaxis(value.reshape(shape), -1, axis)
        return out
    out["v"] = np.moveaxis(value.reshape(shape), -1, axis)
    found = pos >= 0
    take = np.where(found, pos, 0)
    for k in range(len(output.names) - 1):
        old = np.moveaxis(block[f"e{k}"], axis, -1).reshape(-1, length)
        if k == axis:
            new = np.where(found, pos - np.arange(length), old)
        else:
            new = np.where(found, np.take_along_axis(old, take, axis=1), old)
        out[f"e{k}"] = np.moveaxis(new.reshape(shape), -1, axis)
    return out


def _separable(
    image: da.Array, metric: str, sampling: tuple[float, ...] | None, indices: bool
) -> da.Array:
    """All passes, in scipy's order; the result in the image's chunks."""
    squared = metric == "euclidean"
    dtype = _fields("f8" if squared else "i4", image.ndim, indices)
    s = sampling if sampling is not None else (None,) * image.ndim
    passes = [(_pass_first, 0, {"squared": squared, "sampling": s[0]})]
    passes += [
        (_pass_next, ax, {"metric": metric, "sampling": s[ax]}) for ax in range(1, image.ndim)
    ]
    return map_line_passes(image, passes, dtype=dtype, name=f"distance-{metric}")


def _pass_first(block: np.ndarray, axis: int, output: Any, **kwargs: Any) -> np.ndarray:
    return _first(block, axis=axis, output=np.dtype(output), **kwargs)


def _pass_next(block: np.ndarray, axis: int, output: Any, **kwargs: Any) -> np.ndarray:
    return _next(block, axis=axis, output=np.dtype(output), **kwargs)


# --- from the carried fields to scipy's results -------------------------------------------------


def _coords(block_info: dict | None, shape: tuple[int, ...]) -> list[np.ndarray]:
    """Global coordinates of a block's pixels, one broadcastable array per axis."""
    where = block_info[0]["array-location"] if block_info else [(0, n) for n in shape]
    grids = []
    for ax, (lo, hi) in enumerate(where):
        view = [1] * len(shape)
        view[ax] = hi - lo
        grids.append(np.arange(lo, hi, dtype=np.int64).reshape(view))
    return grids


def _edt_distances(
    block: np.ndarray, sampling: tuple[float, ...] | None, block_info: Any = None
) -> np.ndarray:
    h = _value(block)
    out = np.sqrt(np.where(h >= 0, h, 0.0))
    if (h < 0).any():  # no background at all: scipy's features stay (-1, 0, ..., 0)
        total = 0.0
        for ax, c in enumerate(_coords(block_info, h.shape)):
            t = ((-1 if ax == 0 else 0) - c).astype(np.float64)
            if sampling is not None:
                t *= sampling[ax]
            total = total + t * t
        out = np.where(h < 0, np.sqrt(np.broadcast_to(total, h.shape)), out)
    return out


def _features(block: np.ndarray, missing: str, block_info: Any = None) -> np.ndarray:
    """scipy's ``indices`` (ndim, ...) int32; ``missing`` says what scipy leaves
    where there is no background at all: 'edt' (-1, 0, ...), 'cdt' the pixel
    itself, 'bf' zeros."""
    valid = block["v"] >= 0
    coords = _coords(block_info, block.shape)
    out = np.empty((block.ndim, *block.shape), np.int32)
    for ax, c in enumerate(coords):
        if missing == "edt":
            none = -1 if ax == 0 else 0
        elif missing == "cdt":
            none = c
        else:
            none = 0
        out[ax] = np.where(valid, c + block[f"e{ax}"], none)
    return out


def _integer_distances(block: np.ndarray, out_dtype: Any, missing: int) -> np.ndarray:
    v = _value(block)
    return np.where(v >= 0, v, missing).astype(out_dtype)


def _finish(
    carried: da.Array,
    distances: Callable[..., np.ndarray] | None,
    scipy_func: str,
    **kwargs: Any,
) -> tuple[da.Array | None, da.Array | None]:
    dist = None
    if distances is not None:
        probe = distances(np.zeros((1,) * carried.ndim, carried.dtype), **kwargs)
        dist = da.map_blocks(distances, carried, dtype=probe.dtype, **kwargs)
    ind = None
    if carried.dtype.names:
        ind = da.map_blocks(
            _features,
            carried,
            scipy_func,
            dtype=np.int32,
            new_axis=0,
            chunks=((carried.ndim,), *carried.chunks),
        )
    return dist, ind


# --- public functions ---------------------------------------------------------------------------


def distance_transform_edt(
    input: Any,
    sampling: Any = None,
    return_distances: bool = True,
    return_indices: bool = False,
    distances: Any = None,
    indices: Any = None,
) -> Any:
    """Exact Euclidean distance transform; equals ``scipy.ndimage.distance_transform_edt``.

    Bit-identical distances (and indices) for every chunking, with or without
    ``sampling``: scipy's per-line algorithm is replayed pass by pass on
    pencils (see the module docstring). ``distances=`` / ``indices=`` output
    arrays are not accepted (the results are new lazy dask arrays).

    Returns
    -------
    distances : dask.array.Array, float64
        If ``return_distances``.
    indices : dask.array.Array, int32, shape ``(ndim, *input.shape)``
        If ``return_indices``, chunked ``(ndim,)`` along the first axis.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((40, 30)) > 0.1
    >>> d = distance_transform_edt(da.from_array(x, chunks=8), sampling=(1.5, 0.3))
    >>> bool((d.compute() == ndi.distance_transform_edt(x, sampling=(1.5, 0.3))).all())
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
    carried = _separable(image, "euclidean", s, bool(return_indices))
    dist, ind = _finish(carried, _edt_distances if return_distances else None, "edt", sampling=s)
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
    """Chamfer distance transform; equals ``scipy.ndimage.distance_transform_cdt``.

    'chessboard' and 'taxicab' (and metric arrays whose first half is theirs)
    give scipy's two-pass chamfer result, which is the exact L-infinity / L1
    distance to the background: computed by separable integer passes on
    pencils. Other metric arrays run scipy's own chamfer on strips of whole
    hyperplanes (:func:`_chamfer`). Distances are int32, -1 where no
    background exists; ``indices`` name a nearest background pixel (scipy's
    where it is unique).

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
    if route == "custom":
        dist, ind = _chamfer(image, structure, bool(return_indices))
        return _returned(dist if return_distances else None, ind)
    carried = _separable(image, route, None, bool(return_indices))
    finish = _integer_distances if return_distances else None
    dist, ind = _finish(carried, finish, "cdt", out_dtype=np.int32, missing=-1)
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
    """Brute-force distance transform; equals ``scipy.ndimage.distance_transform_bf``.

    scipy compares every object pixel with every background pixel next to an
    object; the nearest one is also the nearest background pixel, so the
    exact separable routes give the same distances: 'euclidean' is
    :func:`distance_transform_edt` (float64; with non-integer ``sampling``,
    two background pixels equidistant in exact arithmetic can round to
    distances one unit in the last place apart, and scipy's brute force and
    its EDT may then keep different ones), 'taxicab' / 'chessboard' the L1 /
    L-infinity passes (uint32; ``sampling`` is ignored, as in scipy).
    Indices name a nearest background pixel (scipy's brute force keeps the
    last in raster order on a tie).

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
        carried = _separable(image, route, s, bool(return_indices))
        finish = _bf_euclidean if return_distances else None
        dist, ind = _finish(carried, finish, "bf")
    else:
        carried = _separable(image, route, None, bool(return_indices))
        finish = _integer_distances if return_distances else None
        dist, ind = _finish(carried, finish, "bf", out_dtype=np.uint32, missing=2**32 - 1)
    return _returned(dist, ind)


def _sampling(sampling: Any, ndim: int) -> tuple[float, ...] | None:
    if sampling is None:
        return None
    values = np.broadcast_to(np.asarray(sampling, dtype=np.float64), (ndim,))
    return tuple(float(v) for v in values)


def _bf_euclidean(block: np.ndarray) -> np.ndarray:
    h = _value(block)
    return np.where(h >= 0, np.sqrt(np.where(h >= 0, h, 0.0)), math.sqrt(np.finfo(float).max))


# --- custom chamfer metrics: scipy's raster passes on strips -------------------------------------


def _chamfer_forward(
    block: np.ndarray,
    previous: tuple[np.ndarray, np.ndarray | None] | None,
    structure: np.ndarray,
    start: int,
    indices: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    dt = np.where(block, -1, 0).astype(np.int32)
    ft = None
    if indices:
        ft = (start + np.arange(block.size, dtype=np.int64)).astype(np.int32)
        ft = ft.reshape(block.shape)
    if previous is not None:  # the last row before the strip, already final
        dt = np.concatenate([previous[0][-1:], dt])
        if indices:
            ft = np.concatenate([previous[1][-1:], ft])
    _nd_image.distance_transform_op(structure, dt, ft)
    if previous is None:
        return dt, ft
    return dt[1:].copy(), None if ft is None else ft[1:].copy()


def _chamfer_backward(
    forward: tuple[np.ndarray, np.ndarray | None],
    following: tuple[np.ndarray, np.ndarray | None] | None,
    structure: np.ndarray,
) -> tuple[np.ndarray, np.ndarray | None]:
    """scipy's second pass runs on the reversed array: the strips in reverse order,
    each reversed, after the (reversed) first row of the strip below it."""
    flip = (slice(None, None, -1),) * forward[0].ndim
    dt, ft = forward[0][flip], None if forward[1] is None else forward[1][flip]
    if following is None:
        dt, ft = dt.copy(), None if ft is None else ft.copy()
    else:
        dt = np.concatenate([following[0][:1][flip], dt])
        if ft is not None:
            ft = np.concatenate([following[1][:1][flip], ft])
    _nd_image.distance_transform_op(structure, dt, ft)
    if following is not None:
        dt, ft = dt[1:], None if ft is None else ft[1:]
    return np.ascontiguousarray(dt[flip]), None if ft is None else np.ascontiguousarray(ft[flip])


def _strip_distances(result: tuple[np.ndarray, Any]) -> np.ndarray:
    return result[0]


def _strip_indices(result: tuple[np.ndarray, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    return np.stack(np.unravel_index(result[1], shape)).astype(np.int32)


def _chamfer(
    image: da.Array, structure: np.ndarray, indices: bool
) -> tuple[da.Array, da.Array | None]:
    """scipy's two raster passes, exactly, for any metric.

    The image is cut into strips of whole hyperplanes (the input's chunks
    along axis 0). The forward pass runs strip after strip, each after the
    last row of the one before (the only row its neighbours reach); the
    backward pass runs in reverse. The strips are a sequential chain, a task
    holds one strip, and the forward results are kept until the backward
    pass reaches them (int32 per pixel, twice with ``return_indices``).
    """
    rows = image.chunks[0]
    strips = image.rechunk((rows, *((n,) for n in image.shape[1:])))
    plane = math.prod(image.shape[1:])
    starts = np.cumsum((0, *rows[:-1])).tolist()
    token = tokenize(strips.name, structure, indices)
    fwd, bwd = f"chamfer-forward-{token}", f"chamfer-backward-{token}"
    zeros = (0,) * (image.ndim - 1)
    layer: dict[Any, Any] = {}
    for k in range(len(rows)):
        previous = (fwd, k - 1) if k else None
        block = (strips.name, k, *zeros)
        layer[(fwd, k)] = (
            _chamfer_forward,
            block,
            previous,
            structure,
            starts[k] * plane,
            indices,
        )
    for k in reversed(range(len(rows))):
        following = (bwd, k + 1) if k + 1 < len(rows) else None
        layer[(bwd, k)] = (_chamfer_backward, (fwd, k), following, structure)
    passes = f"chamfer-{token}"
    layers: dict[str, Any] = {**strips.__dask_graph__().layers, passes: layer}
    deps: dict[str, set[str]] = {**strips.__dask_graph__().dependencies}
    deps[passes] = set(strips.__dask_layers__())

    def output(name: str, func: Callable[..., Any], lead: tuple, *args: Any) -> None:
        layers[name] = {
            (name, *lead, k, *zeros): (func, (bwd, k), *args) for k in range(len(rows))
        }
        deps[name] = {passes}

    dist_name, ind_name = f"chamfer-distances-{token}", f"chamfer-indices-{token}"
    output(dist_name, _strip_distances, ())
    if indices:
        output(ind_name, _strip_indices, (0,), image.shape)
    graph = HighLevelGraph(layers, deps)
    meta = np.empty((0,) * image.ndim, np.int32)
    dist = da.Array(graph, dist_name, chunks=strips.chunks, dtype=np.int32, meta=meta)
    ind = None
    if indices:
        ind = da.Array(
            graph,
            ind_name,
            chunks=((image.ndim,), *strips.chunks),
            dtype=np.int32,
            meta=np.empty((0,) * (image.ndim + 1), np.int32),
        )
        ind = ind.rechunk(((image.ndim,), *image.chunks))
    return dist.rechunk(image.chunks), ind
