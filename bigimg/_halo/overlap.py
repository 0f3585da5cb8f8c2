"""The overlap engine: run a block function on halo-extended chunks, exactly.

For each output chunk, :func:`map_halo` builds one task that gathers the
input region the chunk reaches (its :mod:`~bigimg._halo` depth per axis and
side), taking pixels past the true array border from wherever scipy's
boundary rule puts them: the opposite side of the whole array for 'wrap', a
reflection for 'reflect' / 'mirror', the edge for 'nearest', ``cval`` for
'constant'. So chunks smaller than the halo, huge halos, uneven chunks and
per-axis modes need no special case, and the block function sees exactly
the neighbourhood scipy would see on the whole array.

The graph has one task per output chunk, each depending on the input
chunks its extended region touches (its neighbours, usually).

A reach longer than the array (a window wider than an axis: sigma 1000 on a
37-pixel axis, 10**6 iterations of an erosion) is clipped to the array:
such an axis is taken whole, in one chunk (:func:`whole_axes`), and scipy
extends it itself by its mode, as it extends the whole array, so neither
the blocks nor the graph grow with the reach.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
from dask._task_spec import Task, parse_input
from dask.base import tokenize

from bigimg._budget import check_task, halo_need
from bigimg._grid import LazyLayer, graph_on
from bigimg._halo.edges import Edges, as_refs, part_keys, split_edges
from bigimg._halo.reach import Depth
from bigimg._kernels import extend_indices, holds
from bigimg.io.chunking import TARGET_CHUNK_BYTES

__all__ = [
    "Frame",
    "assemble",
    "call_inside",
    "map_halo",
    "pencil_chunks",
    "region_task",
    "sources",
    "take_sources",
    "whole_axes",
]


@dataclass(frozen=True)
class _AxisPlan:
    """What one output chunk needs along one axis."""

    blocks: tuple[int, ...]  # input chunk indices to gather, in order
    crops: tuple[tuple[int, int], ...]  # the part [lo, hi) of each block that is needed
    index: slice | np.ndarray  # positions in the gathered run (-1: constant)
    trim: slice  # the chunk's own pixels in the extended result
    start: int  # global position of the extended region's first pixel
    n: int  # length of the whole array along this axis
    length: int  # of the extended region


@dataclass(frozen=True)
class Frame:
    """Where one extended block sits in the whole array; given to block functions.

    A function that applies several passes (a separable filter's 1-D passes,
    or the steps of a fused chain) calls :meth:`refill` between passes: it
    rebuilds the pixels past the true array border from the pixels inside,
    by the next pass's boundary rule, exactly as scipy extends each pass's
    input on the whole array.
    """

    axes: tuple[_AxisPlan, ...]
    rules: tuple[str, ...]
    cval: Any
    final: bool = False  # the function's result is the chunk's: it may crop (see crop)

    def crop(self, block: np.ndarray, axis: int) -> np.ndarray:
        """``block`` cut to the chunk's own pixels along ``axis``, when the
        function's result is final (no later step needs the halo); else ``block``.

        A separable filter crops each axis after its last pass along it, so
        the passes along the other axes skip that axis' halo.
        """
        plan = self.axes[axis]
        if not self.final or block.shape[axis] != plan.length:
            return block
        return block[(slice(None),) * axis + (plan.trim,)]

    def refill(
        self,
        block: np.ndarray,
        rules: Sequence[str] | None = None,
        cval: Any = None,
        axes: Sequence[int] | None = None,
    ) -> np.ndarray:
        """Rewrite the positions of ``block`` outside the array along ``axes``
        (default all) by ``rules``: in place, unless ``block`` must be widened to
        hold ``cval``; returns the block.

        Only the axes the next pass reads along need it. 'wrap' axes are left
        alone: the block already holds the periodic extension, which every
        shift-invariant pass keeps periodic.
        """
        rules = self.rules if rules is None else rules
        cval = self.cval if cval is None else cval
        todo = [
            axis
            for axis, (plan, rule) in enumerate(zip(self.axes, rules))
            if (axes is None or axis in axes)
            and rule != "wrap"
            and (plan.start < 0 or plan.start + block.shape[axis] > plan.n)
        ]
        if any(rules[axis] == "constant" for axis in todo):
            block = widen(block, cval)
        for axis in todo:
            plan, rule, length = self.axes[axis], rules[axis], block.shape[axis]
            pos = np.arange(plan.start, plan.start + length)
            outside = (pos < 0) | (pos >= plan.n)
            lead: tuple[slice | np.ndarray, ...] = (slice(None),) * axis
            if rule == "constant":
                block[(*lead, outside)] = cval
                continue
            src = extend_indices(pos[outside], plan.n, rule) - plan.start
            if src.min() < 0 or src.max() >= length:
                raise AssertionError("refill needs pixels outside the extended block")
            block[(*lead, outside)] = np.take(block, src, axis=axis)
        return block


# --- multi-pass block functions -------------------------------------------------------------


def call_inside(
    *blocks: np.ndarray, frame: Frame, func: Callable[..., Any], kwargs: dict
) -> np.ndarray:
    """``func(*blocks, **kwargs)``, cropped to the chunk when the result is the
    chunk's (``frame.final``), C-contiguous (a strided view would make every
    later copy of it slow); otherwise in the gathered shape.

    A block never reaches past the true array border along an axis whose rule
    is not 'wrap' (:func:`_extent`): scipy meets the array's own edge there and
    extends it by its mode (or ``border_value``) at every pass, as on the whole
    array. 'wrap' axes hold their periodic extension.
    """
    out = np.asarray(func(*blocks, **kwargs))
    if frame.final:
        return np.ascontiguousarray(out[tuple(p.trim for p in frame.axes)])
    return out


def _plan_axis(chunks: tuple[int, ...], depth: tuple[int, int], rule: str) -> list[_AxisPlan]:
    n = sum(chunks)
    bounds = np.cumsum((0, *chunks))
    before, after = depth
    plans = []
    for j, size in enumerate(chunks):
        start, stop = int(bounds[j]), int(bounds[j + 1])
        first, last = _extent(start, stop, n, before, after, rule)
        blocks, crops, index = sources(extend_indices(np.arange(first, last), n, rule), bounds)
        plans.append(
            _AxisPlan(
                blocks,
                crops,
                index,
                slice(start - first, start - first + size),
                first,
                n,
                last - first,
            )
        )
    return plans


def sources(
    src: np.ndarray, bounds: np.ndarray
) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...], slice | np.ndarray]:
    """Where the source indices ``src`` along an axis (-1: the constant)
    live, for chunk boundaries ``bounds``: the chunks to take, the part
    ``[lo, hi)`` of each, and every position's place in the concatenation of
    those parts (-1: the constant; a slice when it is one run)."""
    inside = src >= 0
    owner = np.searchsorted(bounds, src[inside], side="right") - 1
    blocks = np.unique(owner)
    within = src[inside] - bounds[owner]  # position inside its own block
    which = np.searchsorted(blocks, owner)
    lo = np.array([within[which == k].min() for k in range(len(blocks))], dtype=np.int64)
    hi = np.array([within[which == k].max() + 1 for k in range(len(blocks))], dtype=np.int64)
    offsets = np.cumsum(np.concatenate([[0], hi - lo]))
    local = np.full(src.shape, -1, dtype=np.int64)
    local[inside] = offsets[which] + within - lo[which]
    index: slice | np.ndarray = local
    if (
        inside.all()
        and len(local)
        and np.array_equal(local, np.arange(local[0], local[0] + len(local)))
    ):
        index = slice(int(local[0]), int(local[0]) + len(local))
    return (
        tuple(int(b) for b in blocks),
        tuple((int(a), int(b)) for a, b in zip(lo, hi)),
        index,
    )


def _extent(start: int, stop: int, n: int, before: int, after: int, rule: str) -> tuple[int, int]:
    """The region ``[lo, hi)`` a chunk ``[start, stop)`` gathers along one axis.

    'wrap' takes the full halo, from the opposite side of the array where it
    reaches past the border. Every other rule stops at the true border: the
    block function then runs scipy with the user's ``mode`` on a block whose
    edge *is* the array's edge, so scipy extends it exactly as it extends the
    whole array, pass after pass. Such an edge block keeps at least
    ``before + after + 1`` pixels, so that scipy's extension and its windows
    read only real pixels of the array. An axis shorter than that window is
    one chunk (:func:`whole_axes`) gathered as it is, whatever the rule:
    scipy extends the whole axis itself, however far the window reaches.
    """
    need = before + after + 1
    if n < need:
        if (start, stop) != (0, n):
            raise AssertionError("an axis shorter than the window must be one chunk")
        return 0, n
    if rule == "wrap":
        return start - before, stop + after
    lo, hi = max(0, start - before), min(n, stop + after)
    if lo == 0:
        hi = max(hi, min(n, need))
    if hi == n:
        lo = min(lo, max(0, n - need))
    return lo, hi


def whole_axes(depth: Depth, shape: Sequence[int]) -> tuple[int, ...]:
    """The axes shorter than the window ``depth`` reads: each is gathered whole
    (one chunk, no extension by the engine), whatever the reach."""
    return tuple(
        ax for ax, ((before, after), n) in enumerate(zip(depth, shape)) if n < before + after + 1
    )


def pencil_chunks(
    shape: Sequence[int],
    chunks: tuple[tuple[int, ...], ...],
    axes: int | Sequence[int],
    itemsize: int,
    target_bytes: int = 2 * TARGET_CHUNK_BYTES,
) -> tuple[int, ...]:
    """Chunks with ``axes`` whole (-1) and the others of the largest size in
    ``chunks``, halved (never below one pixel) until a chunk is about ``target_bytes``."""
    whole = {axes} if isinstance(axes, int) else set(axes)
    line_bytes = max(1, math.prod(shape[ax] for ax in whole)) * itemsize
    budget = max(1, target_bytes // line_bytes)  # pixels across the pencil
    others = [ax for ax in range(len(shape)) if ax not in whole]
    sizes = {ax: max(chunks[ax]) if chunks[ax] else 1 for ax in others}
    # shrink the largest cross-section axes until the pencil fits the budget
    while math.prod(sizes.values()) > budget and any(s > 1 for s in sizes.values()):
        ax = max(sizes, key=sizes.get)  # type: ignore[arg-type]
        sizes[ax] = max(1, sizes[ax] // 2)
    return tuple(-1 if ax in whole else sizes[ax] for ax in range(len(shape)))


def widen(block: np.ndarray, cval: Any) -> np.ndarray:
    """``block`` in a dtype that also holds ``cval`` exactly.

    scipy keeps line buffers (and so ``cval``) in double precision whatever
    the input dtype; an integer block extended with ``cval=0.5`` therefore
    has to be worked on as float64.
    """
    if holds(block.dtype, cval):
        return block
    wide = np.complex128 if np.iscomplexobj(block) or np.iscomplexobj(cval) else np.float64
    return block.astype(wide)


def _gather(parts: list[Any], plans: Sequence[_AxisPlan], cval: Any) -> np.ndarray:
    """Assemble the extended input of one chunk from its neighbours' blocks
    (whole, or the edges of :func:`~bigimg._halo.edges.edge_tasks`)."""
    return assemble(_pick(parts, plans, 0, ()), tuple(plan.index for plan in plans), cval)


def _pick(parts: Any, plans: Sequence[_AxisPlan], axis: int, crop: tuple) -> Any:
    """``parts`` with each neighbour's edges replaced by the one part needed."""
    if axis == len(plans):
        return parts[crop] if isinstance(parts, dict) else parts
    crops = plans[axis].crops
    return [_pick(p, plans, axis + 1, (*crop, crops[k])) for k, p in enumerate(parts)]


def assemble(parts: list[Any], indexes: Sequence[slice | np.ndarray], cval: Any) -> np.ndarray:
    """The nested ``parts`` (from :func:`part_keys`) joined, then the positions
    ``indexes`` (from :func:`sources`, one per axis) taken from them."""
    block = np.block(parts) if len(indexes) > 0 else np.asarray(parts)
    for axis, index in enumerate(indexes):
        block = take_sources(block, axis, index, cval)
    return block


def region_task(
    image: da.Array,
    srcs: Sequence[np.ndarray],
    cval: Any,
    strip_name: str,
    strips: dict[Any, Any],
) -> tuple:
    """A task computing ``image[np.ix_(*srcs)]`` (-1 in ``srcs``: ``cval``)
    from the blocks it touches; strip tasks go into ``strips``."""
    if any(len(src) == 0 for src in srcs):  # an empty region (of an empty array)
        return (np.empty, tuple(len(src) for src in srcs), image.dtype)
    found = [
        sources(np.asarray(src, np.int64), np.cumsum((0, *chunks)))
        for src, chunks in zip(srcs, image.chunks)
    ]

    def strip(block: tuple[int, ...], crop: tuple[tuple[int, int], ...]) -> tuple:
        key = (f"{strip_name}-{image.name}", *block, *(v for c in crop for v in c))
        strips[key] = (operator.getitem, (image.name, *block), tuple(slice(a, b) for a, b in crop))
        return key

    keys = part_keys(image, [f[0] for f in found], [f[1] for f in found], strip)
    return (assemble, keys, tuple(f[2] for f in found), cval)


def take_sources(block: np.ndarray, axis: int, index: slice | np.ndarray, cval: Any) -> np.ndarray:
    """Positions ``index`` (from :func:`sources`) of the concatenated parts
    ``block`` along ``axis``; ``cval`` at -1, in a dtype that holds it."""
    lead: tuple[slice | np.ndarray, ...] = (slice(None),) * axis
    if isinstance(index, slice):
        return block[(*lead, index)]
    # past the border ('wrap', or 'constant' for callers that extend by cval)
    missing = index < 0
    if block.shape[axis] == 0:  # nothing but the constant
        shape = list(block.shape)
        shape[axis] = len(index)
        return np.full(shape, cval, dtype=widen(block[:0], cval).dtype)
    out = np.take(block, np.where(missing, 0, index), axis=axis)
    if missing.any():
        out = widen(out, cval)
        out[(*lead, missing)] = cval
    return out


def _run_block(
    func: Callable[..., np.ndarray],
    plans: tuple[_AxisPlan, ...],
    rules: tuple[str, ...],
    cvals: tuple[Any, ...],
    dtype: np.dtype,
    *inputs: list[Any],
) -> np.ndarray:
    extended = [_gather(parts, plans, cval) for parts, cval in zip(inputs, cvals)]
    out = func(*extended, frame=Frame(plans, rules, cvals[0], final=True))
    # trim the halo, except along axes the function already cropped (Frame.crop)
    trim = tuple(p.trim if n == p.length else slice(None) for p, n in zip(plans, out.shape))
    return np.asarray(out[trim], dtype=dtype)


def map_halo(
    func: Callable[..., np.ndarray],
    *images: da.Array,
    depth: Depth,
    boundary: Sequence[str],
    cval: Any = 0.0,
    dtype: Any,
    name: str = "halo",
    token: Any = None,
    per_pixel: int | None = None,
) -> da.Array:
    """Apply ``func`` to every chunk of ``images`` extended by ``depth``.

    Parameters
    ----------
    func : callable
        ``func(*extended_blocks, frame=Frame) -> ndarray`` of the extended
        shape; the engine trims the halo off. Must be a pure function of its
        input. Multi-pass functions call ``frame.refill`` between passes.
    *images : dask.array.Array
        Arrays of one shape and chunking, extended alike.
    depth : Depth
        ``(before, after)`` per axis, from :mod:`bigimg._halo`.
    boundary : sequence of str
        One rule per axis from :func:`normalize_modes`.
    cval : scalar or sequence of scalars
        Fill value of 'constant' (one per image, or one for all).
    dtype : dtype
        Of the result.
    name, token : optional
        Graph key prefix, and what identifies ``func`` (defaults to ``func``).
    per_pixel : int, optional
        Bytes a task needs per pixel of the extended block (default: the
        inputs, a working copy and the result in doubles); a task that would
        need more than one task may use is refused here
        (:func:`bigimg._budget.check_task`).
    """
    first = images[0]
    ndim = first.ndim
    for other in images[1:]:
        if other.shape != first.shape or other.chunks != first.chunks:
            raise ValueError("map_halo needs inputs of one shape and chunking")
    if len(depth) != ndim or len(boundary) != ndim:
        raise ValueError(f"depth and boundary need {ndim} entries")
    cvals = tuple(cval) if isinstance(cval, tuple | list) else (cval,) * len(images)
    dtype = np.dtype(dtype)
    if first.size == 0:
        return da.zeros(first.shape, dtype=dtype, chunks=first.chunks)
    whole = whole_axes(depth, first.shape)
    if any(len(first.chunks[ax]) > 1 for ax in whole):
        # a window wider than the axis: one chunk along it, the others split so that
        # a block stays about as large as the input's largest chunk
        itemsize = max(dtype.itemsize, *(i.dtype.itemsize for i in images))
        largest = math.prod(max(c) for c in first.chunks) * itemsize
        target = pencil_chunks(
            first.shape, first.chunks, whole, itemsize, max(largest, 2 * TARGET_CHUNK_BYTES)
        )
        pencils = [image.rechunk(target) for image in images]
        out = map_halo(
            func,
            *pencils,
            depth=depth,
            boundary=boundary,
            cval=cval,
            dtype=dtype,
            name=name,
            token=token,
        )
        return out.rechunk(first.chunks)
    if per_pixel is None:
        per_pixel = sum(i.dtype.itemsize for i in images) + 16 + dtype.itemsize
    check_task(halo_need(depth, per_pixel), [max(c) for c in first.chunks], name)
    plans = [_plan_axis(c, d, b) for c, d, b in zip(first.chunks, depth, boundary)]
    identity = token if token is not None else func
    out_name = (
        f"{name}-{tokenize(identity, [i.name for i in images], depth, boundary, cvals, dtype)}"
    )
    split = split_edges(images, depth)
    edges = [
        Edges(image, f"halo-edges-{tokenize(out_name, i)}", plans, split)
        for i, image in enumerate(images)
    ]
    numblocks = first.numblocks

    def chunk_task(key: tuple[Any, ...]) -> Task | None:
        idx = tuple(key[1:])
        if len(idx) != ndim or not all(0 <= i < n for i, n in zip(idx, numblocks)):
            return None
        axis_plans = tuple(plans[ax][i] for ax, i in enumerate(idx))
        args = [parse_input(as_refs(e.keys(idx, axis_plans))) for e in edges]
        return Task(key, _run_block, func, axis_plans, tuple(boundary), cvals, dtype, *args)

    # built when a window of keys is culled (bigimg._execute): never O(blocks) here
    inputs = {name for image in images for name in image.__dask_layers__()}
    layers: dict[str, Any] = {e.name: (e.layer(), e.image.__dask_layers__()) for e in edges}
    chunks = LazyLayer(out_name, lambda: np.ndindex(*numblocks), chunk_task)
    layers[out_name] = (chunks, inputs | {e.name for e in edges})
    graph = graph_on(images, layers)
    meta = np.empty((0,) * ndim, dtype=dtype)
    return da.Array(graph, out_name, chunks=first.chunks, dtype=dtype, meta=meta)
