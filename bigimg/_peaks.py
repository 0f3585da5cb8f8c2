"""The block work and the final ordering behind :func:`bigimg.feature.peak_local_max`.

scikit-image finds peaks in two steps: a local one (each pixel against the
maximum filter of its neighbourhood, a threshold, the border excluded) and a
global, order-dependent one (candidates sorted by intensity, then a greedy
pass that drops every candidate closer than ``min_distance`` to one already
kept). Here the local step runs block by block, each block returning its
candidates (flat index and value: small); they are folded in this process as
the blocks finish (:func:`bigimg._execute.run_blocks`), and the global step
runs on the candidates alone, in skimage's order.

With labels, skimage works on each label's bounding box cut out of the image,
the other pixels set to the dtype's minimum, and filters that crop with mode
'nearest': the crop's edges matter. :func:`label_codes` reproduces it inside
each halo-extended block, label by label, on the part of the box the block
reaches; the halo covers the footprint's reach and the two pixels of the
binary opening that finds a flat label's isolated pixels.

A block whose pixels all equal their maximum filter sends no candidates at
first, only that fact: on a flat image (or a flat label) skimage keeps none
(or the isolated pixels), and the candidates of all its pixels could be as
large as the image. Such blocks are read again only when their pixels count.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from scipy.spatial import cKDTree, distance

from bigimg._execute import run_blocks
from bigimg._halo import Frame, map_halo, radius

__all__ = [
    "Candidates",
    "image_candidates",
    "image_range",
    "kept_ranges",
    "label_candidates",
    "spaced",
    "strongest",
]

#: per axis, the [lo, hi) range of positions the border exclusion keeps
Keep = tuple[tuple[int, int], ...]

# bits of label_codes' per-pixel code
_EQUAL, _ISOLATED, _DIRECT, _HANDLED = 1, 2, 4, 8

#: candidates queried against the tree at a time in :func:`spaced`
_QUERY_BATCH = 2000


@dataclass
class Found:
    """One block's answer: its candidates, and what it left for later."""

    where: np.ndarray  # flat indices in the whole array, ascending
    values: np.ndarray  # the image's values there
    labels: np.ndarray | None = None  # their labels (label mode)
    flat: bool = False  # image mode: every pixel equals its maximum filter
    present: np.ndarray = field(default_factory=lambda: np.empty(0, np.intp))
    flat_labels: np.ndarray = field(default_factory=lambda: np.empty(0, np.intp))


@dataclass
class Candidates:
    """Every candidate, in raster order: coordinates, values, labels."""

    coords: np.ndarray  # (N, ndim) intp
    values: np.ndarray
    labels: np.ndarray | None = None


def kept_ranges(shape: Sequence[int], widths: Sequence[Any]) -> Keep:
    """The positions skimage's border exclusion keeps, per axis: it zeroes
    ``[:w]`` and ``[-w:]`` (for ``w != 0``), which leaves one range."""
    out = []
    for n, w in zip(shape, widths):
        keep = np.ones(n, dtype=bool)
        if w != 0:
            keep[:w] = False
            keep[-w:] = False
        idx = np.flatnonzero(keep)
        out.append((int(idx[0]), int(idx[-1]) + 1) if idx.size else (0, 0))
    return tuple(out)


def _inside(location: Sequence[tuple[int, int]], keep: Keep) -> tuple[slice, ...]:
    """The kept part of a block at ``location``, in block coordinates."""
    out = []
    for (start, stop), (lo, hi) in zip(location, keep):
        a = min(max(lo - start, 0), stop - start)
        b = min(max(hi - start, 0), stop - start)
        out.append(slice(a, max(a, b)))
    return tuple(out)


def _flat_index(mask: np.ndarray, start: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    local = np.nonzero(mask)
    return np.ravel_multi_index(tuple(i + s for i, s in zip(local, start)), tuple(shape))


def _boxed(value: Found, ndim: int) -> np.ndarray:
    out = np.empty((1,) * ndim, dtype=object)
    out[(0,) * ndim] = value
    return out


def _per_block(func: Callable[..., Any], *arrays: da.Array, **kwargs: Any) -> da.Array:
    first = arrays[0]
    return da.map_blocks(
        func,
        *arrays,
        **kwargs,
        dtype=object,
        chunks=tuple((1,) * len(c) for c in first.chunks),
        meta=np.empty((0,) * first.ndim, dtype=object),
    )


def _collect(blocks: da.Array, skip: Collection[tuple[int, ...]] = ()) -> dict[Any, Any]:
    got: dict[Any, Any] = {}

    def keep(index: tuple[int, ...], value: np.ndarray) -> None:
        got[index] = value.reshape(-1)[0]

    run_blocks(blocks, keep, skip=skip)
    return got


# --- the image's range --------------------------------------------------------------------


def _block_range(block: np.ndarray) -> np.ndarray:
    out = np.empty((1,) * block.ndim + (2,), dtype=block.dtype)
    if block.size:
        out[..., 0], out[..., 1] = block.min(), block.max()
        return out
    return out[..., :0]


def image_range(image: da.Array) -> tuple[Any, Any]:
    """``(image.min(), image.max())`` of a non-empty image, numpy scalars of its
    dtype (NaN if it holds one), folded as the blocks finish."""
    parts = da.map_blocks(
        _block_range,
        image,
        new_axis=image.ndim,
        chunks=(*((1,) * len(c) for c in image.chunks), (2,)),
        dtype=image.dtype,
        meta=np.empty((0,) * (image.ndim + 1), dtype=image.dtype),
    )
    found: list[Any] = []

    def fold(index: tuple[int, ...], pair: np.ndarray) -> None:
        both = np.concatenate([pair.reshape(-1), np.array(found, dtype=pair.dtype)])
        if both.size:
            found[:] = [both.min(), both.max()]

    run_blocks(parts, fold)
    return found[0], found[1]


# --- without labels -----------------------------------------------------------------------


def _image_block(
    image: np.ndarray,
    peak_max: np.ndarray | None = None,
    *,
    mode: str,
    keep: Keep,
    threshold: Any,
    shape: tuple[int, ...],
    block_info: Any = None,
) -> np.ndarray:
    location = block_info[0]["array-location"]
    if mode == "peaks":
        hit = image == peak_max
        if hit.all():
            return _boxed(Found(np.empty(0, np.intp), image[:0].ravel(), flat=True), image.ndim)
        hit &= image > threshold
    else:  # "direct" (no filter, as skimage for a one-pixel footprint), or "all"
        hit = np.asarray(image > threshold)
    inside = np.zeros(image.shape, dtype=bool)
    inside[_inside(location, keep)] = True
    hit &= inside
    start = [a for a, _ in location]
    return _boxed(Found(_flat_index(hit, start, shape), image[hit]), image.ndim)


def _assemble(parts: Sequence[Found], shape: tuple[int, ...], labelled: bool) -> Candidates:
    where = np.concatenate([np.empty(0, np.intp)] + [p.where for p in parts])
    values = np.concatenate([p.values for p in parts]) if parts else np.empty(0)
    order = np.argsort(where, kind="stable")
    coords = np.stack(np.unravel_index(where[order], shape), axis=-1).astype(np.intp)
    coords = coords.reshape(-1, len(shape))
    labels = None
    if labelled:
        labels = np.concatenate([np.empty(0, np.intp)] + [p.labels for p in parts])[order]
    return Candidates(coords, values[order], labels)


def image_candidates(
    image: da.Array, peak_max: da.Array | None, threshold: Any, keep: Keep
) -> Candidates:
    """skimage's candidate pixels without labels: equal to ``peak_max`` (the
    maximum filter; None: every pixel, as for a one-pixel footprint), above
    ``threshold``, kept by the border exclusion; none on a flat image."""
    common = {"keep": keep, "threshold": threshold, "shape": image.shape}
    if peak_max is None:
        found = _collect(_per_block(_image_block, image, mode="direct", **common))
        return _assemble(list(found.values()), image.shape, False)
    found = _collect(_per_block(_image_block, image, peak_max, mode="peaks", **common))
    flat = {index for index, part in found.items() if part.flat}
    if len(flat) == len(found):
        return _assemble([], image.shape, False)  # skimage: no peak for a trivial image
    if flat:  # every pixel of these blocks is a candidate after all
        skip = set(found) - flat
        found.update(_collect(_per_block(_image_block, image, mode="all", **common), skip))
    return _assemble(list(found.values()), image.shape, False)


# --- with labels --------------------------------------------------------------------------


def label_codes(
    image: np.ndarray,
    labels: np.ndarray,
    *,
    frame: Frame,
    lo: np.ndarray,
    hi: np.ndarray,
    footprint: np.ndarray,
    bg: Any,
    check_nan: bool,
) -> np.ndarray:
    """Per pixel of one halo-extended block, skimage's view of it in its label's
    box: equal to the box's maximum filter (``_EQUAL``), isolated in the label
    (``_ISOLATED``), in a box filtered by nothing (``_DIRECT``); ``_HANDLED``
    marks the label pixels inside a box."""
    start = np.array([p.start for p in frame.axes])
    length = np.array(image.shape)
    own_lo = start + np.array([p.trim.start for p in frame.axes])
    own_hi = start + np.array([p.trim.stop for p in frame.axes])
    code = np.zeros(image.shape, dtype=np.uint8)
    own = labels[tuple(p.trim for p in frame.axes)]
    ks = np.unique(own[own > 0])
    for k in ks[ks < len(lo)].tolist():
        box_lo, box_hi = lo[k], hi[k]
        r_lo, r_hi = np.maximum(box_lo, own_lo), np.minimum(box_hi, own_hi)
        if np.any(r_hi <= r_lo):
            continue  # no box, or only the label's pixels in the excluded border here
        l_lo, l_hi = np.maximum(box_lo, start) - start, np.minimum(box_hi, start + length) - start
        crop = tuple(map(slice, l_lo.tolist(), l_hi.tolist()))
        mine = tuple(map(slice, (r_lo - start - l_lo).tolist(), (r_hi - start - l_lo).tolist()))
        mask = labels[crop] == k
        if footprint.size == 1 or int(np.prod(box_hi - box_lo)) == 1:
            bits = np.full(mask.shape, _DIRECT | _HANDLED, dtype=np.uint8)
        else:
            values = image[crop].copy()
            if check_nan and np.isnan(values[mask]).any():
                raise ValueError(
                    "peak_local_max with labels: NaN inside a label is not supported "
                    "(scipy's maximum filter around a NaN depends on the crop)"
                )
            values[~mask] = bg
            equal = values == ndi.maximum_filter(values, footprint=footprint, mode="nearest")
            isolated = mask & ~ndi.binary_opening(mask)
            bits = equal.astype(np.uint8) * _EQUAL | isolated.astype(np.uint8) * _ISOLATED
            bits |= _HANDLED
        place = tuple(slice(c.start + m.start, c.start + m.stop) for c, m in zip(crop, mine))
        view = code[place]
        inner = mask[mine]
        view[inner] |= bits[mine][inner]
    return code


def _label_block(
    image: np.ndarray,
    labels: np.ndarray,
    code: np.ndarray,
    *,
    mode: str,
    threshold: Any,
    shape: tuple[int, ...],
    isolated_of: np.ndarray,
    all_of: np.ndarray,
    block_info: Any = None,
) -> np.ndarray:
    location = block_info[0]["array-location"]
    handled = (code & _HANDLED) != 0
    where = _flat_index(handled, [a for a, _ in location], shape)
    lab, bits, values = labels[handled], code[handled], image[handled]
    above = np.asarray(values > threshold)
    direct = (bits & _DIRECT) != 0
    equal = (bits & _EQUAL) != 0
    ks, inverse = np.unique(np.where(direct, 0, lab), return_inverse=True)
    unequal = np.bincount(inverse.reshape(-1), weights=~equal & ~direct, minlength=len(ks))
    block_flat = unequal == 0
    flat = block_flat[inverse.reshape(-1)]
    if mode == "peaks":
        pick = above & (direct | (equal & ~flat))
        found = Found(where[pick], values[pick], lab[pick])
        found.present = ks[ks != 0]
        found.flat_labels = ks[block_flat & (ks != 0)]
    else:  # "deferred": the isolated pixels of flat labels, and the flat blocks of others
        isolated = np.isin(lab, isolated_of) & ((bits & _ISOLATED) != 0)
        pick = above & ~direct & (isolated | (np.isin(lab, all_of) & flat))
        found = Found(where[pick], values[pick], lab[pick])
    return _boxed(found, image.ndim)


def label_candidates(
    image: da.Array,
    labels: da.Array,
    boxes: Sequence[tuple[slice, ...] | None],
    footprint: np.ndarray,
    bg: Any,
    threshold: Any,
) -> Candidates:
    """skimage's candidates of every label, each found in its box as skimage
    does (``boxes``: ``find_objects`` of the border-excluded labels), with the
    label they belong to."""
    ndim = image.ndim
    lo = np.zeros((len(boxes) + 1, ndim), dtype=np.intp)
    hi = np.zeros_like(lo)
    for k, box in enumerate(boxes, start=1):
        if box is not None:
            lo[k] = [s.start for s in box]
            hi[k] = [s.stop for s in box]
    reach = 0
    if footprint.size != 1:
        reach = max(2, *(max(s // 2, s - 1 - s // 2) for s in footprint.shape))
    codes = map_halo(
        functools.partial(
            label_codes,
            lo=lo,
            hi=hi,
            footprint=footprint,
            bg=bg,
            check_nan=image.dtype.kind == "f" and not np.isnan(threshold),
        ),
        image,
        labels,
        depth=radius([reach] * ndim),
        boundary=("nearest",) * ndim,
        dtype=np.uint8,
        name="peak-codes",
    )
    none = np.empty(0, np.intp)
    common = {"threshold": threshold, "shape": image.shape}
    found = _collect(
        _per_block(
            _label_block,
            image,
            labels,
            codes,
            mode="peaks",
            isolated_of=none,
            all_of=none,
            **common,
        )
    )
    present = np.concatenate([none] + [p.present for p in found.values()])
    flats = np.concatenate([none] + [p.flat_labels for p in found.values()])
    ids, blocks_present = np.unique(present, return_counts=True)
    flat_ids, blocks_flat = np.unique(flats, return_counts=True)
    counted = np.zeros(len(ids), dtype=np.intp)
    counted[np.searchsorted(ids, flat_ids)] = blocks_flat
    trivial = ids[counted == blocks_present]  # skimage: no peak but the isolated pixels
    partly = ids[(counted > 0) & (counted < blocks_present)]  # flat blocks count as peaks
    again = {
        index
        for index, part in found.items()
        if np.isin(part.present, trivial).any() or np.isin(part.flat_labels, partly).any()
    }
    parts = list(found.values())
    if again:
        skip = set(found) - again
        deferred = _per_block(
            _label_block,
            image,
            labels,
            codes,
            mode="deferred",
            isolated_of=trivial,
            all_of=partly,
            **common,
        )
        parts += list(_collect(deferred, skip).values())
    return _assemble(parts, image.shape, True)


# --- the global step ----------------------------------------------------------------------


def spaced(coords: np.ndarray, spacing: Any, p_norm: Any, max_out: int | None) -> np.ndarray:
    """The candidates kept by skimage's greedy spacing, in order: each one is
    kept unless closer than ``spacing`` (Minkowski ``p_norm``) to one kept
    before it, until ``max_out`` are kept. The neighbours come from a k-d tree
    ball query, their distances from ``cdist``, as in skimage."""
    if not len(coords):
        return coords
    coords = np.atleast_2d(coords)
    tree = cKDTree(coords)
    rejected = np.zeros(len(coords), dtype=bool)
    kept: list[int] = []
    for first in range(0, len(coords), _QUERY_BATCH):
        balls = tree.query_ball_point(coords[first : first + _QUERY_BATCH], r=spacing, p=p_norm)
        for i, ball in enumerate(balls, start=first):
            if rejected[i]:
                continue
            near = np.array([j for j in ball if j != i], dtype=np.intp)
            d = distance.cdist(coords[i : i + 1], coords[near], "minkowski", p=p_norm)
            rejected[near[d.reshape(-1) < spacing]] = True
            kept.append(i)
            if max_out is not None and len(kept) >= max_out:
                return coords[kept]
    return coords[kept]


def strongest(
    coords: np.ndarray, values: np.ndarray, num_peaks: Any, min_distance: Any, p_norm: Any
) -> np.ndarray:
    """skimage's choice among candidates in raster order: highest value first
    (a stable sort of ``-values``, so ties keep raster order and unsigned
    values wrap as they do in skimage), spaced by ``min_distance`` when it
    exceeds 1, at most ``num_peaks``."""
    ordered = coords[np.argsort(-values, kind="stable")]
    max_out = int(num_peaks) if np.isfinite(num_peaks) else None
    if min_distance > 1:
        ordered = spaced(ordered, min_distance, p_norm, max_out)
    if len(ordered) > num_peaks:
        ordered = ordered[:num_peaks]
    return ordered
