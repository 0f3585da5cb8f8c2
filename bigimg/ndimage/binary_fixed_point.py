"""Binary erosion or dilation repeated until nothing changes (``iterations < 1``).

The fixed point of a connectivity-shaped structure follows from one
iteration and connected components (:func:`until_stable`); other structures
run rounds of ``K`` iterations as one overlap pass each, persisted, until a
round changes nothing. See :mod:`bigimg.ndimage.binary_reconstruction`.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import dask
import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from dask.base import tokenize
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

from bigimg import _labels
from bigimg._grid import BlockSlices
from bigimg._halo import LocalOp, apply, call_inside
from bigimg.ndimage.binary_blocks import (
    IMAGE,
    BinaryOp,
    local_binary,
    pack,
    repeated_reach,
    run_binary,
    unpack_mask,
)


def each_block(func: Any, *arrays: Any, phase: str, **kwargs: Any) -> da.Array:
    """``func`` block by block, in a copy of the graph named after ``phase``.

    Each phase of :func:`components` computes its own copy: the result's graph
    never shares a key with what was computed at call time (a distributed
    scheduler refuses a key whose task changed, and optimisation fuses the
    result's graph differently)."""
    name = (
        f"{getattr(func, '__name__', 'stable')}-{phase}-{tokenize(func, *arrays, kwargs, phase)}"
    )
    return da.map_blocks(func, *arrays, dtype=bool, name=name, **kwargs)


def border_pixels(
    region: da.Array, window: np.ndarray, shape: tuple[int, ...], phase: str
) -> da.Array:
    """``region`` where the window around a pixel reaches past the border of
    an array of ``shape`` (:func:`near_border` on each block)."""
    where = BlockSlices(region.chunks)
    return each_block(near_border, region, phase=phase, window=window, shape=shape, where=where)


def near_border(
    block: np.ndarray,
    window: np.ndarray,
    shape: tuple[int, ...],
    where: BlockSlices,
    block_id: tuple[int, ...] = (),
) -> np.ndarray:
    """``block`` where the window around a pixel reaches past the array border:
    along each axis, the planes closer to a border than the window reaches."""
    out = np.zeros(block.shape, bool)
    for ax, (span, n) in enumerate(zip(where(block_id), shape)):
        lo, hi = span.start, span.stop
        below = max(0, -int(window[:, ax].min()))  # planes 0 .. below - 1 reach out
        above = max(0, int(window[:, ax].max()))  # planes n - above .. n - 1
        index = [slice(None)] * block.ndim
        if lo < below:
            index[ax] = slice(0, below - lo)
            out[tuple(index)] = True
        if hi > n - above:
            index[ax] = slice(max(0, n - above - lo), hi - lo)
            out[tuple(index)] = True
    return out & block


def connectivity_of(op: BinaryOp) -> np.ndarray | None:
    """The 3 x ... x 3 connectivity equivalent to iterating ``op``, if there is one:
    its window contains the pixel itself, is symmetric and reaches one pixel."""
    window = op.window
    offsets = {tuple(w) for w in window.tolist()}
    symmetric = offsets == {tuple(w) for w in (-window).tolist()}
    if not (op.centre_is_true and symmetric and np.abs(window).max() <= 1):
        return None
    structure = np.zeros((3,) * window.shape[1], bool)
    structure[tuple((window + 1).T)] = True
    return structure


def until_stable(op: BinaryOp, image: da.Array, mask: Any) -> da.Array:
    """scipy's ``iterations < 1``: iterate until an iteration changes nothing.

    With a centred, symmetric window within 3 x ... x 3 (connectivity), scipy's
    fixed point (dilation; erosion is its complement) is ``A & seeded`` where
    ``x1`` is the first iteration, ``A = M | x1`` (``M`` the mask, all pixels
    without one) and a pixel is seeded when its component of ``A`` holds a
    pixel of ``x1``: every later iteration only spreads ``x1`` through mask
    pixels. ``M`` is the mask cast to int8, as scipy uses it after its first
    iteration (except with ``brute_force``, where it keeps the mask).
    """
    if op.centre_is_true and not np.abs(op.window).any():
        return da.map_blocks(operator.ne, image, 0, dtype=bool)  # nothing ever changes
    connectivity = connectivity_of(op)
    if connectivity is None:
        return by_rounds(op, image, mask)
    dilation = op.func is ndi.binary_dilation
    if mask is not None:
        mask = _dask_like(mask, image)
    plain = mask is None or op.brute_force or mask.dtype in _BYTE_MASKS
    start_func = operator.ne if dilation else operator.eq

    def plain_parts(phase: str) -> tuple[da.Array, da.Array]:
        # the first iteration keeps the pixels outside the mask and can only set
        # (dilation) mask pixels next to a set pixel or, with the border's value,
        # next to the border: no overlap pass is needed for the region or the seeds
        start = each_block(start_func, image, 0, phase=phase)
        if mask is None:
            kept = each_block(_everywhere, image, phase=phase)
        else:
            kept = each_block(operator.ne, mask, 0, phase=phase)
        region = each_block(np.logical_or, kept, start, phase=phase)
        if bool(op.border_value) != dilation:
            return region, start
        near = border_pixels(kept, op.window, image.shape, phase)
        return region, each_block(np.logical_or, start, near, phase=phase)

    def wide_mask_parts(phase: str) -> tuple[da.Array, da.Array]:
        # masks of wider types: scipy reads them as given in its first iteration and
        # cast to int8 after it (256 is true, then false): the first iteration is computed
        name = op.func.__name__
        first = local_binary(name, image, mask, (name,), op.kwargs(1), op.reach, op.guard, phase)
        seeds = first if dilation else each_block(np.logical_not, first, phase=phase)
        kept = each_block(unpack_mask, pack(image, mask, phase), "int8", phase=phase)
        return each_block(np.logical_or, kept, seeds, phase=phase), seeds

    parts = plain_parts if plain else wide_mask_parts
    return components(parts, connectivity, invert=not dilation)


def _everywhere(block: np.ndarray) -> np.ndarray:
    return np.ones(block.shape, bool)


_BYTE_MASKS = (np.dtype(bool), np.dtype(np.int8), np.dtype(np.uint8))


def _dask_like(mask: Any, image: da.Array) -> da.Array:
    if not isinstance(mask, da.Array):
        return da.from_array(np.asarray(mask), chunks=image.chunks)
    return mask if mask.chunks == image.chunks else mask.rechunk(image.chunks)


def components(parts: Any, structure: np.ndarray, invert: bool) -> da.Array:
    """Pixels of ``region`` whose component holds a pixel of ``seeds`` (``~`` that
    if ``invert``), where ``parts(phase)`` builds ``(region, seeds)``.

    At call time: the components (:func:`bigimg._labels.merge_labels`, one read),
    then which of them hold a seed (one more read; blocks without a seed are not
    labelled). Lazy: each block labelled again and looked up in the table.
    """
    region, seeds = parts("eager")
    table = _labels.merge_labels(region, structure)
    token = tokenize(region.name, seeds.name, structure, table.count)
    name = f"stable-seeds-{token}"
    layer: dict[Any, Any] = {
        (name, *b): (_seeded_ids, (region.name, *b), (seeds.name, *b), structure, t)
        for b, t in table.tables.items()
    }
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[region, seeds])
    found = dask.compute([Delayed(key, graph, layer=name) for key in layer])[0]
    flags = np.zeros(table.count + 1, bool)
    for ids in found:
        flags[ids] = True
    flags[0] = False
    again, _ = parts("lazy")
    return _labels.relabelled(again, structure, table, bool, ~flags if invert else flags)


def _seeded_ids(
    region: np.ndarray, seeds: np.ndarray, structure: np.ndarray, table: np.ndarray
) -> np.ndarray:
    if not seeds.any():
        return np.empty(0, table.dtype)
    return np.unique(_labels.label_block_mapped(region, structure, table)[seeds])


# --- the bounded fallback: rounds of iterations -----------------------------------------------


def _round(
    block: np.ndarray,
    *,
    func: Any,
    kwargs: dict[str, Any],
    k: int,
    first: str,
    later: str,
    masked: bool,
    guard: tuple[int, ...] | None,
) -> np.ndarray:
    """``k`` iterations; bit 0 the result, bit 1 where the last iteration changed it."""
    if masked:
        image = (block & IMAGE) != 0
        m1, m2 = unpack_mask(block, first), unpack_mask(block, later)
    else:
        image, m1, m2 = block, None, None
    if k > 1:
        before = run_binary(func, image, iterations=k - 1, mask=m1, guard=guard, **kwargs)
        after = func(before, iterations=1, mask=m2, **kwargs)
    else:
        before = image != 0
        after = func(image, iterations=1, mask=m1, **kwargs)
    return after.astype(np.uint8) | ((after != before).astype(np.uint8) << 1)


def by_rounds(op: BinaryOp, image: da.Array, mask: Any) -> da.Array:
    """Rounds of ``k`` iterations, each one overlap pass of reach ``k`` times the
    structure's, until a round's last iteration changed nothing (scipy's stop).

    scipy reads the mask as given in its first iteration and, when the
    structure's centre is set (without ``brute_force``), cast to int8 after
    it: the first round does the same, the later ones use the int8 mask.
    A structure whose centre is not set can oscillate for ever, as in scipy:
    after more rounds than a monotone process could need this raises.
    """
    reach = max([max(d) for d in op.reach] + [1])
    k = max(1, max(max(c) for c in image.chunks) // reach)
    later = "int8" if op.centre_is_true and not op.brute_force else "raw"
    kwargs = op.kwargs(1)
    del kwargs["iterations"]
    rules = ("constant",) * image.ndim
    state = image
    for round_ in range(image.size // k + 2):
        first = "raw16" if round_ == 0 else later
        target = state if mask is None else pack(state, mask)
        step = functools.partial(
            _round,
            func=op.func,
            kwargs=kwargs,
            k=k,
            first=first,
            later=later,
            masked=mask is not None,
            guard=op.guard,
        )
        block = functools.partial(call_inside, func=step, kwargs={})
        token = (op.func.__name__, kwargs, k, first, later, round_)
        depth = repeated_reach(op.reach, k)
        op_round = LocalOp("binary-round", block, depth, rules, 0, np.dtype(np.uint8), token)
        out = apply(op_round, target)
        out = out.persist()
        changed = bool(da.map_blocks(operator.ge, out, 2, dtype=bool).any().compute())
        state = da.map_blocks(np.bitwise_and, out, 1, dtype=np.uint8).astype(bool)
        if not changed:
            return state
    raise ValueError(
        f"{op.func.__name__} with iterations < 1 does not converge: this structure "
        "(its centre not set) makes the image oscillate; scipy would never return"
    )
