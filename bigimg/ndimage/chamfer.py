"""Custom chamfer metrics of ``distance_transform_cdt``: scipy's raster passes on strips.

A metric that is neither the cross nor the full square has no separable
form: :func:`chamfer` runs scipy's own two-pass chamfer
(``_nd_image.distance_transform_op``) on strips of whole hyperplanes, in a
sequential chain of tasks. Used by :mod:`bigimg.ndimage.distance`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, cast

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph
from scipy.ndimage import _nd_image  # scipy's chamfer pass

__all__ = ["chamfer"]


def _chamfer_forward(
    block: np.ndarray,
    previous: tuple[np.ndarray, np.ndarray | None] | None,
    structure: np.ndarray,
    start: int,
    indices: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    dt = np.where(block, -1, 0).astype(np.int32)
    ft: np.ndarray | None = None
    if indices:
        ft = (start + np.arange(block.size, dtype=np.int64)).astype(np.int32)
        ft = ft.reshape(block.shape)
    if previous is not None:  # the last row before the strip, already final
        dt = np.concatenate([previous[0][-1:], dt])
        if indices:
            ft = np.concatenate([cast(np.ndarray, previous[1])[-1:], ft])  # indices: present
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
            ft = np.concatenate([cast(np.ndarray, following[1])[:1][flip], ft])  # as ft
    _nd_image.distance_transform_op(structure, dt, ft)
    if following is not None:
        dt, ft = dt[1:], None if ft is None else ft[1:]
    return np.ascontiguousarray(dt[flip]), None if ft is None else np.ascontiguousarray(ft[flip])


def _strip_distances(result: tuple[np.ndarray, Any]) -> np.ndarray:
    return result[0]


def _strip_indices(result: tuple[np.ndarray, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    return np.stack(np.unravel_index(result[1], shape)).astype(np.int32)


def chamfer(
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
