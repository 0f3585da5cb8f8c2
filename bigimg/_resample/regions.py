"""The resampling engine: every output chunk interpolates from the input region it needs.

scipy's geometric transforms (``affine_transform``, ``rotate``, ``zoom``,
``shift``, ``map_coordinates``, ``geometric_transform``) all do the same two
things: find, for each output pixel, a coordinate in the input, and evaluate
the spline of the given order there (from the input itself for order 0 and
1 or without prefilter, else from its spline coefficients). This module does
both per output chunk, with scipy's own arithmetic, so results are
bit-identical to scipy on the whole array for every chunking:

1. **Coordinates.** A :class:`Mapping` describes how the coordinates of a
   box of output pixels are computed, with exactly scipy's floating-point
   operations (for an affine matrix: ``offset[i]``, then
   ``+= o[j] * matrix[i, j]`` in turn; for zoom and shift, a table per axis;
   or given). It also bounds them for a box, cheaply, when the graph is built.
2. **Region.** From those bounds, each output chunk reads only the region of
   the coefficient array that the spline's support reaches (:func:`region`),
   extended to the array's border where coordinates leave the array, and by
   the reflected part for mirroring modes; a chunk whose coordinates wrap
   around (``wrap`` modes), or reflect more than once, reads the whole axis.
   The halo engine's :func:`bigimg._halo.overlap.region_task` gathers the region
   from the blocks it touches (only the parts needed move).
3. **Interpolation.** Pixels whose spline support lies inside the array are
   evaluated by the compiled loop of :mod:`bigimg._resample.splines` (scipy's
   weights and sums, computed where the coordinate is made). The others
   (near a border, where the mode decides) go to scipy's ``map_coordinates``
   (``prefilter=False``) on the region, with their coordinates moved into
   it. Moving by an integer that is at most the coordinate is exact in
   floating point, so the fractional parts, the spline weights and the sums
   are scipy's; inside the region the spline never sees the region's edges,
   and at a true border the region has the array's border, so scipy's mode
   handling is the same.

Where scipy pads before prefiltering (``nearest`` and ``grid-constant``: 12
pixels, ``npad``), the coefficients are computed from the same padded array and
coordinates get the same ``+ npad``. Coefficients come from
:func:`bigimg._resample.prefilter.chunked_spline_filter1d` (scipy's recursive filter, one
task per line of chunks, computed in the chunks themselves) or, for the modes,
dtypes and platforms it does not cover, from scipy's own filter on whole-line
pencils (:func:`bigimg._halo.lines.map_line_passes`); either way they are scipy's
bit for bit.

The ``axes`` of a mapping are the input axes it interpolates over; the
others pass through (``rotate`` of a volume turns planes: scipy filters and
interpolates each plane on its own, and so does this engine).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from bigimg._halo import map_line_passes, region_task
from bigimg._resample.prefilter import chunked_spline_filter1d, supports
from bigimg._resample.splines import AFFINE, GIVEN, SEPARABLE, interpolate

__all__ = [
    "Mapping",
    "Spline",
    "affine_mapping",
    "coefficients",
    "given_coordinates",
    "region",
    "resample",
    "separable_mapping",
    "spline_filtered",
]

Box = tuple[slice, ...]

#: modes whose coordinates reflect at the border; wrap modes repeat the array
_REFLECTING = ("mirror", "reflect", "grid-mirror")
_CLAMPED = ("constant", "grid-constant", "nearest")


@dataclass(frozen=True)
class Mapping:
    """Output pixel -> input coordinate, scipy's arithmetic.

    ``bounds(box)`` gives two arrays (low, high) that contain the input
    coordinates (along ``axes``) of the output pixels in ``box`` (NaN:
    unknown); ``encode(box)`` describes how those coordinates are computed,
    as ``(kind, table, origin)`` for :func:`bigimg._resample.splines.interpolate`
    (kind ``GIVEN``: read from the coordinate blocks). ``axes``: the input
    axes interpolated; the other output axes equal the input axes of the same
    position (same length).
    """

    bounds: Callable[[Box], tuple[np.ndarray, np.ndarray]]
    axes: tuple[int, ...]
    token: Any
    encode: Callable[[Box], tuple[int, np.ndarray, np.ndarray]]


# --- mappings: scipy's coordinate arithmetic -----------------------------------------------


def affine_mapping(matrix: np.ndarray, offset: np.ndarray, axes: tuple[int, ...]) -> Mapping:
    """``offset[i]``, then ``+= o[j] * matrix[i, j]`` for each output axis j in turn
    (scipy's order); ``axes``: the output axes the matrix's columns belong to."""

    def bounds(box: Box) -> tuple[np.ndarray, np.ndarray]:
        first = np.array([box[ax].start for ax in axes], float)
        last = np.array([box[ax].stop - 1 for ax in axes], float)
        a, b = matrix * first, matrix * last
        return offset + np.minimum(a, b).sum(1), offset + np.maximum(a, b).sum(1)

    table = np.column_stack([matrix, offset]).astype(np.float64)

    def encode(box: Box) -> tuple[int, np.ndarray, np.ndarray]:
        return AFFINE, table, np.array([box[ax].start for ax in axes], np.int64)

    return Mapping(
        bounds,
        tuple(range(len(matrix))),
        ("affine", matrix, offset, axes),
        encode,
    )


def separable_mapping(
    zoom: np.ndarray | None, shift: np.ndarray | None, grid_mode: bool
) -> Mapping:
    """scipy's zoom/shift arithmetic per axis: ``k (+ shift) (* zoom)``, or
    ``(k + 0.5) * zoom - 0.5`` on the grid."""

    def along(ax: int, k: np.ndarray) -> np.ndarray:
        c = k.astype(np.float64)
        if grid_mode and zoom is not None:
            return (c + 0.5) * zoom[ax] - 0.5
        if shift is not None:
            c = c + shift[ax]
        if zoom is not None:
            c = c * zoom[ax]
        return c

    def bounds(box: Box) -> tuple[np.ndarray, np.ndarray]:
        ends = np.array([[along(ax, np.array([s.start, s.stop - 1]))] for ax, s in enumerate(box)])
        ends = ends.reshape(len(box), 2)
        return ends.min(1), ends.max(1)

    def encode(box: Box) -> tuple[int, np.ndarray, np.ndarray]:
        table = np.zeros((len(box), max(s.stop - s.start for s in box)))
        for ax, s in enumerate(box):
            table[ax, : s.stop - s.start] = along(ax, np.arange(s.start, s.stop))
        return SEPARABLE, table, np.zeros(len(box), np.int64)

    n = len(zoom) if zoom is not None else len(shift)  # type: ignore[arg-type]
    token = ("separable", zoom, shift, grid_mode)
    return Mapping(bounds, tuple(range(n)), token, encode)


def _block_bounds(block: np.ndarray) -> np.ndarray:
    """(k, 2) low and high of each coordinate row of a block (NaN if empty)."""
    k = block.shape[0]
    flat = block.reshape(k, -1).astype(np.float64)
    if flat.shape[1] == 0:
        out = np.full((k, 2), np.nan)
    else:
        out = np.stack([flat.min(1), flat.max(1)], 1)
    return out.reshape((k, 2) + (1,) * (block.ndim - 1))


def given_coordinates(coords: da.Array) -> Mapping:
    """A mapping over given coordinates: their bounds per output chunk, computed now."""
    k = coords.shape[0]
    found = da.map_blocks(  # = coords.map_blocks, whose functools.wraps typing drops self
        _block_bounds,
        coords,
        chunks=((k,), (2,), *[(1,) * len(c) for c in coords.chunks[1:]]),
        dtype=np.float64,
    ).compute()
    starts = [  # output chunk start -> chunk number, per axis
        {int(a): i for i, a in enumerate(np.cumsum((0, *c[:-1])))} for c in coords.chunks[1:]
    ]

    def bounds(box: Box) -> tuple[np.ndarray, np.ndarray]:
        index = tuple(starts[ax][s.start] for ax, s in enumerate(box))
        entry = found[(slice(None), slice(None), *index)]
        return entry[:, 0], entry[:, 1]

    def encode(box: Box) -> tuple[int, np.ndarray, np.ndarray]:
        return GIVEN, np.zeros((k, 1)), np.zeros(k, np.int64)

    return Mapping(bounds, tuple(range(k)), ("given", coords.name), encode)


# --- regions and the graph -------------------------------------------------------------------


@dataclass(frozen=True)
class Spline:
    """scipy's interpolation arguments, checked: order, mode, cval, prefilter."""

    order: int
    mode: str
    cval: float
    prefilter: bool

    @property
    def npad(self) -> int:
        """scipy's padding before the prefilter."""
        nearby = self.mode in ("nearest", "grid-constant")
        return 12 if self.prefilter and self.order > 1 and nearby else 0


def coefficients(image: da.Array, spline: Spline, axes: tuple[int, ...]) -> tuple[da.Array, int]:
    """What scipy interpolates: the image, or the spline coefficients of its
    (padded) copy along ``axes``, float64; and the padding."""
    order, mode, cval, npad = spline.order, spline.mode, spline.cval, spline.npad
    if not spline.prefilter or order <= 1:
        return image, 0
    padded = image
    if npad:
        width = [(npad, npad) if ax in axes else (0, 0) for ax in range(image.ndim)]
        if image.size == 0:  # dask pads no empty array; the padding is all there is
            value = np.pad(np.zeros(1, image.dtype), 1, constant_values=cval)[0]
            shape = tuple(n + a + b for n, (a, b) in zip(image.shape, width))
            chunks = tuple(max(1, c) for c in image.chunksize)
            padded = da.full(shape, value, dtype=image.dtype, chunks=chunks)
        elif mode == "nearest":
            padded = da.pad(image, width, mode="edge")
        else:
            # the value numpy's pad writes into this dtype (scipy pads with numpy)
            value = np.pad(np.zeros(1, image.dtype), 1, constant_values=cval)[0]
            padded = da.pad(image, width, mode="constant", constant_values=value)
    return spline_filtered(padded, order, mode, axes, np.dtype(np.float64)), npad


def spline_filtered(
    image: da.Array, order: int, mode: str, axes: tuple[int, ...], dtype: np.dtype
) -> da.Array:
    """scipy's ``spline_filter1d`` along each of ``axes`` in turn, each pass on
    whole lines and written in ``dtype`` (as scipy's ``spline_filter``)."""
    if order <= 1:
        return image.astype(dtype)
    out = image
    for ax in axes:
        if supports(order, mode, out.dtype, dtype):
            out = chunked_spline_filter1d(out, ax, order, mode).astype(dtype)
        else:
            passes = [(ndi.spline_filter1d, ax, {"order": order, "mode": mode})]
            out = map_line_passes(out, passes, dtype=dtype, name="spline-filter")
    return out


def region(low: float, high: float, n: int, order: int, mode: str) -> tuple[int, int]:
    """The [start, stop) of an axis of length ``n`` that interpolation at
    coordinates in [low, high] reads (see the module doc)."""
    if not (math.isfinite(low) and math.isfinite(high)) or n <= order + 2:
        return 0, n
    lo, hi = math.floor(low) - order - 1, math.ceil(high) + order + 2
    if lo >= 0 and hi <= n:
        return lo, hi
    if mode in _CLAMPED:
        if hi <= 0:
            return 0, order + 2
        if lo >= n:
            return n - order - 2, n
        return max(lo, 0), min(hi, n)
    if mode in _REFLECTING and lo > 2 - n and hi < 2 * n - 2:
        start, stop = max(lo, 0), min(hi, n)
        if lo < 0:
            start, stop = 0, max(stop, min(n, 1 - lo))
        if hi > n:
            start, stop = min(start, max(0, 2 * n - hi - 1)), n
        return start, stop
    return 0, n


def _widened(values: da.Array, axes: tuple[int, ...], order: int) -> da.Array:
    """``values`` with chunks narrower than the spline's support merged (to
    16 pixels, or the axis) along ``axes``: each output chunk's task then
    gathers a few blocks per axis, not ``order + 2`` of them (3**5 blocks for
    a 5-D array of one-pixel chunks), whatever the input's chunking."""
    support = order + 2
    target = {
        ax: min(values.shape[ax], max(16, 2 * support))
        for ax in axes
        if values.shape[ax] and min(values.chunks[ax]) < support
    }
    return values.rechunk(target) if target else values


def _interpolate(
    values: np.ndarray,
    start: tuple[int, ...],
    lengths: tuple[int, ...],
    encoded: tuple[int, np.ndarray, np.ndarray],
    coords: np.ndarray | None,
    shape: tuple[int, ...],
    axes: tuple[int, ...],
    spline: Spline,
    dtype: np.dtype,
) -> np.ndarray:
    """scipy's interpolation of ``values`` (the region at ``start`` of an array
    of ``lengths`` along ``axes``) for an output box of ``shape``
    (:func:`bigimg._resample.splines.interpolate`); axes not in ``axes`` pass through,
    plane by plane."""
    kind, table, origin = encoded
    flat = None if coords is None else np.asarray(coords, np.float64).reshape(len(axes), -1)
    region_start = tuple(start[ax] for ax in axes)

    def plane(at: tuple[Any, ...]) -> np.ndarray:
        return interpolate(
            values[at],
            region_start,
            lengths,
            shape if flat is not None else tuple(shape[ax] for ax in axes),
            dtype,
            kind,
            table,
            origin,
            flat,
            npad=spline.npad,
            order=spline.order,
            mode=spline.mode,
            cval=spline.cval,
        )

    other = [ax for ax in range(values.ndim) if ax not in axes]
    if not other:
        return plane(())
    out = np.empty(shape, dtype)
    for index in product(*(range(shape[ax]) for ax in other)):
        where: list[Any] = [slice(None)] * values.ndim
        for ax, i in zip(other, index):
            where[ax] = i
        out[tuple(where)] = plane(tuple(where))
    return out


def resample(
    image: da.Array,
    mapping: Mapping,
    spline: Spline,
    output_shape: tuple[int, ...],
    output_chunks: tuple[tuple[int, ...], ...],
    *,
    dtype: Any,
    name: str,
    coordinates: da.Array | None = None,
) -> da.Array:
    """The lazy output: one task per output chunk, reading its region of what
    scipy interpolates (:func:`coefficients` of ``image``).

    ``coordinates``: given coordinates (k, *output_shape), chunked (k whole,
    *output_chunks), instead of ``mapping.encode`` (whose bounds must
    then hold for them).
    """
    dtype = np.dtype(dtype)
    values, npad = coefficients(image, spline, mapping.axes)
    values = _widened(values, mapping.axes, spline.order)
    order, mode = spline.order, spline.mode
    lengths = tuple(values.shape[ax] for ax in mapping.axes)
    token = tokenize(
        values.name,
        mapping.token,
        spline,
        output_shape,
        output_chunks,
        dtype,
        None if coordinates is None else coordinates.name,
    )
    out_name, piece_name = f"{name}-{token}", f"{name}-region-{token}"
    layer: dict[Any, Any] = {}
    pieces: dict[Any, Any] = {}  # parts of input blocks that regions need
    starts = [np.cumsum((0, *c[:-1])).tolist() for c in output_chunks]
    for index in product(*(range(len(c)) for c in output_chunks)):
        box = tuple(
            slice(starts[ax][i], starts[ax][i] + output_chunks[ax][i])
            for ax, i in enumerate(index)
        )
        low, high = mapping.bounds(box)
        want = []
        for ax in range(values.ndim):
            if ax in mapping.axes:
                k = mapping.axes.index(ax)
                want.append(region(low[k] + npad, high[k] + npad, values.shape[ax], order, mode))
            else:
                want.append((box[ax].start, box[ax].stop))
        srcs = [np.arange(a, z) for a, z in want]
        start = tuple(a for a, _ in want)
        layer[(out_name, *index)] = (
            _interpolate,
            region_task(values, srcs, 0, piece_name, pieces),
            start,
            lengths,
            mapping.encode(box),
            None if coordinates is None else (coordinates.name, 0, *index),
            tuple(s.stop - s.start for s in box),
            mapping.axes,
            spline,
            dtype,
        )
    deps = [values] if coordinates is None else [values, coordinates]
    graph = HighLevelGraph.from_collections(out_name, {**pieces, **layer}, dependencies=deps)  # type: ignore[arg-type]  # dask.typing.DaskCollection's `__dask_scheduler__: staticmethod` does not match da.Array's
    meta = np.empty((0,) * len(output_shape), dtype)
    return da.Array(graph, out_name, chunks=output_chunks, dtype=dtype, meta=meta)
