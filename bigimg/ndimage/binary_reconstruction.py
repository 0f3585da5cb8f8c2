"""Binary morphology until nothing changes: propagation, hole filling, ``iterations < 1``.

scipy repeats an erosion or dilation until one iteration changes nothing.
No halo bounds that, and iterating the whole array is what bigimg avoids:

* **Connected components.** When the structure's window around the origin
  is symmetric, contains the pixel itself and fits 3 x ... x 3 (every
  ``generate_binary_structure``, origin 0), the fixed point follows from
  one iteration and the components of the label-merge engine
  (:func:`until_stable`). The union phase of :func:`bigimg._labels.merge_labels`
  runs at call time; the result is lazy.
* **Rounds.** Otherwise (a shifted window, larger structures, a centre that
  is not set) rounds of ``K`` iterations run as one overlap pass each
  (``K`` chosen so the halo is about a chunk), each persisted, until a round
  ends with an iteration that changed nothing (:func:`_by_rounds`). Exact,
  but computed at call time and held in (cluster) memory between rounds.
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
from bigimg._components import label_block_mapped
from bigimg._local import LocalOp, apply
from bigimg._overlap import call_inside
from bigimg.ndimage._inputs import as_dask, check_output
from bigimg.ndimage.binary_morphology import (
    _IMAGE,
    _Binary,
    _local,
    _pack,
    _plan,
    _times,
    _unpack_mask,
    binary_dilation,
    run_binary,
)

__all__ = ["binary_fill_holes", "binary_propagation"]


def binary_propagation(
    input: Any,
    structure: Any = None,
    mask: Any = None,
    output: Any = None,
    border_value: int = 0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> da.Array:
    """Dilation of ``input`` inside ``mask`` until nothing changes (reconstruction).

    Equals ``scipy.ndimage.binary_propagation`` for every chunking. With a
    structure whose window is symmetric, contains its centre and fits
    3 x ... x 3 (the default, ``generate_binary_structure(ndim, c)``), the
    result follows from connected components of ``mask | first dilation``
    under the structure's connectivity: a component is filled when it holds
    a pixel of the first dilation (a marker pixel, or a mask pixel the
    border reaches when ``border_value=1``). The components are found with
    :mod:`bigimg._labels`, whose union phase runs **at call time** (it reads
    the data once); the returned image is lazy. Other structures (an
    origin that shifts the window, larger structures, a centre that is not
    set) repeat bounded rounds of iterations at call time instead.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> mask = np.zeros((8, 10), bool)
    >>> mask[1:4, 1:4] = mask[5:7, 2:9] = mask[2, 4:9] = True
    >>> marker = np.zeros_like(mask)
    >>> marker[2, 2] = True
    >>> y = binary_propagation(da.from_array(marker, chunks=3), mask=mask)
    >>> bool((y.compute() == ndi.binary_propagation(marker, mask=mask)).all())
    True
    """
    return binary_dilation(input, structure, -1, mask, output, border_value, origin, axes=axes)


def binary_fill_holes(
    input: Any, structure: Any = None, output: Any = None, origin: Any = 0, *, axes: Any = None
) -> da.Array:
    """Fill the holes of binary objects; equals ``scipy.ndimage.binary_fill_holes``.

    scipy dilates the array border into the background until nothing
    changes and keeps the rest: a hole is a background component (under the
    structure's connectivity) that the border cannot reach. Computed as
    :func:`binary_propagation`: the union of components runs **at call
    time**, the result is lazy.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.zeros((7, 9), bool)
    >>> x[1:6, 1:5] = x[1:4, 5:8] = True
    >>> x[3, 2] = x[2, 6] = False
    >>> y = binary_fill_holes(da.from_array(x, chunks=3))
    >>> bool((y.compute() == ndi.binary_fill_holes(x)).all())
    True
    """
    image = as_dask(input)
    check_output(output)
    # checked by _plan below: scipy's own fill_holes on a tiny array is not memory-safe
    if image.ndim == 0:
        return da.from_array(ndi.binary_fill_holes(np.asarray(image.compute())))
    background = da.map_blocks(np.logical_not, image, dtype=bool)
    empty = da.zeros(image.shape, dtype=bool, chunks=image.chunks)
    op, _ = _plan(
        ndi.binary_dilation, empty, structure, -1, background, None, 1, origin, False, axes
    )
    connectivity = _connectivity(op)
    if connectivity is None:  # scipy's definition, through the bounded fallback
        reached = binary_dilation(empty, structure, -1, background, None, 1, origin, axes=axes)
        return da.map_blocks(np.logical_not, reached, dtype=bool)
    # the first iteration reaches the background pixels the border touches; every
    # later one only spreads through the background: a hole is what it never reaches

    def parts(phase: str) -> tuple[da.Array, da.Array]:
        region = _each(np.logical_not, image, phase=phase)
        return region, _each(
            _near_border, region, phase=phase, window=op.window, shape=image.shape
        )

    return _components(parts, connectivity, invert=True)


def _each(func: Any, *arrays: da.Array, phase: str, **kwargs: Any) -> da.Array:
    """``func`` block by block, in a copy of the graph named after ``phase``.

    Each phase of :func:`_components` computes its own copy: the result's graph
    never shares a key with what was computed at call time (a distributed
    scheduler refuses a key whose task changed, and optimisation fuses the
    result's graph differently)."""
    name = (
        f"{getattr(func, '__name__', 'stable')}-{phase}-{tokenize(func, *arrays, kwargs, phase)}"
    )
    return da.map_blocks(func, *arrays, dtype=bool, name=name, **kwargs)


def _near_border(
    block: np.ndarray, window: np.ndarray, shape: tuple[int, ...], block_info: Any = None
) -> np.ndarray:
    """``block`` where the window around a pixel reaches past the array border:
    along each axis, the planes closer to a border than the window reaches."""
    out = np.zeros(block.shape, bool)
    for ax, ((lo, hi), n) in enumerate(zip(block_info[0]["array-location"], shape)):
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


def _connectivity(op: _Binary) -> np.ndarray | None:
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


def until_stable(op: _Binary, image: da.Array, mask: Any) -> da.Array:
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
    connectivity = _connectivity(op)
    if connectivity is None:
        return _by_rounds(op, image, mask)
    dilation = op.func is ndi.binary_dilation
    if mask is not None:
        mask = _dask_like(mask, image)
    plain = mask is None or op.brute_force or mask.dtype in _BYTE_MASKS
    start_func = operator.ne if dilation else operator.eq

    def plain_parts(phase: str) -> tuple[da.Array, da.Array]:
        # the first iteration keeps the pixels outside the mask and can only set
        # (dilation) mask pixels next to a set pixel or, with the border's value,
        # next to the border: no overlap pass is needed for the region or the seeds
        start = _each(start_func, image, 0, phase=phase)
        if mask is None:
            kept = _each(_everywhere, image, phase=phase)
        else:
            kept = _each(operator.ne, mask, 0, phase=phase)
        region = _each(np.logical_or, kept, start, phase=phase)
        if bool(op.border_value) != dilation:
            return region, start
        near = _each(_near_border, kept, phase=phase, window=op.window, shape=image.shape)
        return region, _each(np.logical_or, start, near, phase=phase)

    def wide_mask_parts(phase: str) -> tuple[da.Array, da.Array]:
        # masks of wider types: scipy reads them as given in its first iteration and
        # cast to int8 after it (256 is true, then false): the first iteration is computed
        name = op.func.__name__
        first = _local(name, image, mask, (name,), op.kwargs(1), op.reach, op.guard, phase)
        seeds = first if dilation else _each(np.logical_not, first, phase=phase)
        kept = _each(_unpack_mask, _pack(image, mask, phase), "int8", phase=phase)
        return _each(np.logical_or, kept, seeds, phase=phase), seeds

    parts = plain_parts if plain else wide_mask_parts
    return _components(parts, connectivity, invert=not dilation)


def _everywhere(block: np.ndarray) -> np.ndarray:
    return np.ones(block.shape, bool)


_BYTE_MASKS = (np.dtype(bool), np.dtype(np.int8), np.dtype(np.uint8))


def _dask_like(mask: Any, image: da.Array) -> da.Array:
    if not isinstance(mask, da.Array):
        return da.from_array(np.asarray(mask), chunks=image.chunks)
    return mask if mask.chunks == image.chunks else mask.rechunk(image.chunks)


def _components(parts: Any, structure: np.ndarray, invert: bool) -> da.Array:
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
    layer = {
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
    return np.unique(label_block_mapped(region, structure, table)[seeds])


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
        image = (block & _IMAGE) != 0
        m1, m2 = _unpack_mask(block, first), _unpack_mask(block, later)
    else:
        image, m1, m2 = block, None, None
    if k > 1:
        before = run_binary(func, image, iterations=k - 1, mask=m1, guard=guard, **kwargs)
        after = func(before, iterations=1, mask=m2, **kwargs)
    else:
        before = image != 0
        after = func(image, iterations=1, mask=m1, **kwargs)
    return after.astype(np.uint8) | ((after != before).astype(np.uint8) << 1)


def _by_rounds(op: _Binary, image: da.Array, mask: Any) -> da.Array:
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
        target = state if mask is None else _pack(state, mask)
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
        depth = _times(op.reach, k)
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
