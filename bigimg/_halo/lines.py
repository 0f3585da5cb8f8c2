"""Per-axis passes over whole lines: the exact route for sequential 1-D algorithms.

Some scipy passes carry state along a whole line (``uniform_filter1d`` keeps a
running sum, so its rounding depends on where the line starts; spline
prefilters and distance transforms are recursive). No finite halo makes those
bit-identical. Two routes here:

* :func:`carried_uniform` replays scipy's running sum chunk by chunk, each
  chunk starting from the sum the previous one along the line ended with: the
  data stays in its chunks, one small vector per chunk travels along the axis.
* :func:`map_line_passes` rechunks the image into "pencils" that hold every
  line along the pass's axis whole and runs scipy's 1-D function on them
  (scipy then applies its own boundary mode at the true array border).
  Pencils keep about the size of the input's chunks: the other axes are split
  finer as the line gets longer, so memory is bounded by one line times a few
  chunks, never by the image. Running sums take the first route, unless
  the window is wider than the line (then its sums read the line whole anyway).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from itertools import product
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from bigimg import _kernels
from bigimg._halo.overlap import pencil_chunks, sources, take_sources
from bigimg._kernels import MODES, extend_indices

__all__ = ["LinePass", "carried_uniform", "map_line_passes"]

LinePass = tuple[Callable[..., np.ndarray], int, dict[str, Any]]  # (scipy 1-D func, axis, kw)


def _run(
    block: np.ndarray,
    pass_func: Callable[..., np.ndarray],
    axis: int,
    kwargs: dict,
    out_dtype: np.dtype,
) -> np.ndarray:
    return pass_func(block, axis=axis, output=out_dtype, **kwargs)


def map_line_passes(
    image: da.Array, passes: Sequence[LinePass], *, dtype: Any, name: str
) -> da.Array:
    """Apply 1-D passes, each on whole lines along its axis; result in ``image``'s chunks."""
    dtype = np.dtype(dtype)
    if not passes or image.size == 0:
        return image.astype(dtype)
    out = image
    for func, axis, kwargs in passes:
        if (
            func is ndi.uniform_filter1d
            and dtype.kind in "fc"
            and kwargs["size"] <= out.shape[axis]
        ):
            # (a window wider than the line: whole lines, scipy's own extension, below)
            out = carried_uniform(out, axis, dtype=dtype, name=name, **kwargs)
            continue
        pencils = out.rechunk(
            pencil_chunks(image.shape, out.chunks, axis, max(out.dtype.itemsize, dtype.itemsize))
        )
        out = pencils.map_blocks(
            _run,
            pass_func=func,
            axis=axis,
            kwargs=kwargs,
            out_dtype=dtype,
            dtype=dtype,
            name=f"{name}-{tokenize(pencils.name, func.__name__, axis, kwargs, dtype)}",
        )
    return out.rechunk(image.chunks)


# --- running sums carried from chunk to chunk -----------------------------------------------


def carried_uniform(
    image: da.Array,
    axis: int,
    *,
    size: int,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: int = 0,
    dtype: Any,
    name: str = "uniform",
) -> da.Array:
    """``scipy.ndimage.uniform_filter1d`` with scipy's exact rounding, in place.

    scipy keeps one double running sum per line: it adds the window's first
    ``size`` values, then for each next pixel adds ``(entering - leaving)``,
    and writes ``sum / size``. The rounding of every output depends on the
    whole line before it, so no halo reproduces it. Here each chunk replays
    the same additions in the same order (``np.cumsum`` accumulates one by
    one) starting from the sum the previous chunk along the line ended with:
    one small vector per chunk travels along the axis, the data stays in its
    chunks (no rechunking), and chains of different lines run in parallel.
    """
    dtype = np.dtype(dtype)
    rule = MODES[mode]
    size1 = size // 2
    before, after = size1 + origin, size - size1 - 1 - origin
    chunks = image.chunks
    n = image.shape[axis]
    bounds = np.cumsum((0, *chunks[axis]))
    token = tokenize(image.name, axis, size, mode, cval, origin, dtype)
    strip_name, gather_name = f"{name}-strip-{token}", f"{name}-window-{token}"
    step_name, carry_name, out_name = (
        f"{name}-sum-{token}",
        f"{name}-carry-{token}",
        f"{name}-{token}",
    )
    layer: dict[Any, Any] = {}
    plans = []  # per chunk along the axis: where its head (before + 1) and tail (after) come from
    for j in range(len(chunks[axis])):
        start, stop = int(bounds[j]), int(bounds[j + 1])
        sides = []
        for positions in (np.arange(start - before - 1, start), np.arange(stop, stop + after)):
            blocks, crops, index = sources(extend_indices(positions, n, rule), bounds)
            if not blocks:  # the constant only: an empty part gives the shape
                blocks, crops = (j,), ((0, 0),)
            sides.append((blocks, crops, index))
        plans.append(sides)
    for idx in product(*(range(len(c)) for c in chunks)):
        j = idx[axis]
        edges = []
        for side, (blocks, crops, index) in zip(("head", "tail"), plans[j]):
            parts = []
            for b, (lo, hi) in zip(blocks, crops):
                block = (*idx[:axis], b, *idx[axis + 1 :])
                key = (strip_name, *block, lo, hi)
                if key not in layer:
                    crop = [slice(None)] * image.ndim
                    crop[axis] = slice(lo, hi)
                    layer[key] = (operator.getitem, (image.name, *block), tuple(crop))
                parts.append(key)
            edges.append((gather_name, side, *idx))
            layer[edges[-1]] = (_edge, parts, axis, index, cval)
        carry = (carry_name, *idx[:axis], j - 1, *idx[axis + 1 :]) if j else None
        layer[(step_name, *idx)] = (
            _running_step,
            edges[0],
            (image.name, *idx),
            edges[1],
            carry,
            axis,
            size,
            dtype,
        )
        layer[(carry_name, *idx)] = (operator.getitem, (step_name, *idx), 1)
        layer[(out_name, *idx)] = (operator.getitem, (step_name, *idx), 0)
    graph = HighLevelGraph.from_collections(out_name, layer, dependencies=[image])  # type: ignore[list-item]  # dask.typing.DaskCollection's `__dask_scheduler__: staticmethod` does not match da.Array's
    return da.Array(
        graph, out_name, chunks=chunks, dtype=dtype, meta=np.empty((0,) * image.ndim, dtype)
    )


def _edge(parts: list[np.ndarray], axis: int, index: slice | np.ndarray, cval: Any) -> np.ndarray:
    """A chunk's head or tail: what scipy's line buffer holds there."""
    return take_sources(np.concatenate(parts, axis=axis), axis, index, cval)


def _running_step(
    head: np.ndarray,
    block: np.ndarray,
    tail: np.ndarray,
    carry: np.ndarray | None,
    axis: int,
    size: int,
    dtype: np.dtype,
) -> tuple[np.ndarray, np.ndarray]:
    """One chunk of scipy's running sum: (output, sum at the chunk's last pixel).

    The line buffer along ``axis`` is ``head`` (the window of the chunk's
    first pixel before it, and the pixel leaving first), the chunk, ``tail``.
    """
    compiled = _kernels.running_sum(head, block, tail, carry, axis, size, dtype)
    if compiled is not None:
        return compiled
    window = np.concatenate([head, block, tail], axis=axis)
    x = np.moveaxis(window, axis, 0)
    m = x.shape[0] - size  # the chunk's length along the axis
    work = np.complex128 if np.iscomplexobj(x) else np.float64
    d = np.subtract(x[size:], x[:m], dtype=work)  # entering minus leaving, in doubles
    if carry is None:  # the line's first pixel: scipy sums its window from 0.0
        total = np.zeros(x.shape[1:], dtype=work)
        for i in range(1, size + 1):
            total += x[i]
        d[0] = total
    else:
        d[0] += carry
    if d.strides[0] == d.itemsize or len(d) < 2:
        np.cumsum(d, axis=0, out=d)  # along contiguous memory: numpy's loop is fast
    else:  # across rows: one vectorised add per row beats numpy's strided accumulate
        for i in range(1, len(d)):
            np.add(d[i - 1], d[i], out=d[i])
    out = np.empty_like(d, dtype=dtype)  # d's memory layout: no transposing copies
    if np.iscomplexobj(d):  # scipy filters the real and imaginary parts apart
        out.real = d.real / size
        out.imag = d.imag / size
    else:
        np.divide(d, size, out=out, casting="unsafe")
    return np.moveaxis(out, 0, axis), d[-1].copy()
