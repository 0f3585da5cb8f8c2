"""What one block contributes to a per-label reduction, and how contributions merge.

A :class:`Partial` holds, for the sorted keys (label ids) of the regions met
in some set of blocks, one row per key of every requested statistic. A block
makes its partial in O(pixels) (:func:`block_partial`); partials of any
blocks merge into the partial of their union (:func:`combine`), in any
grouping, so the engine (:mod:`bigimg._reduce`) combines them in a tree.

The statistics (names of :data:`STATS`):

``count``
    pixels per region (int64).
``sum``
    sum of the values: float64 for float input; for integer and boolean
    input an exact int64 (wrapping like numpy's integer sum; the bits of a
    uint64 sum for unsigned input).
``m2``
    centred sum of squares, sum((x - mean)**2), float64; blocks are merged
    with Chan et al.'s parallel formula from (count, sum, m2).
``min``, ``max``, ``argmin``, ``argmax``
    extreme values (input dtype, NaN propagates like ``numpy.min``) and
    their global raster (C-order) index; ties go to the smallest index,
    like ``numpy.argmin``.
``fmin``, ``argfmin``
    the minimum skipping NaN (NaN only where every value is NaN, like
    ``numpy.fmin``) and its position: scipy's minimum over a sequence of
    labels, which sorts the values (NaN last) and takes each label's first.
``bbox``
    ``bbox_lo`` / ``bbox_hi``: (k, ndim) int64, first and one-past-last
    coordinate along each axis.
``coord_sum``, ``wcoord_sum``
    (k, ndim) float64 sums of the pixel coordinates, unweighted and
    weighted by the values (centroids, centres of mass).
``hist``
    (k, bins) int64 counts in ``numpy.histogram`` bins of ``Plan.edges``.
``lowest``
    the smallest label anywhere (wanted or not) and the smallest value on
    it: what scipy's ``median`` reports for a label that is absent.
``gather``
    the pixels themselves: key, global raster index, value (for functions
    that are not decomposable: median, labeled_comprehension, value_indices).

Bounding boxes and centroids are computed from the runs of equal labels along
the last axis: a run's first pixel holds the run's smallest coordinate along
every axis and its largest along every axis but the last, so only run ends
are reduced, not every pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["STATS", "Partial", "Plan", "Regions", "block_partial", "combine", "sums_as_float"]

STATS = frozenset(
    {
        "count",
        "sum",
        "m2",
        "min",
        "max",
        "argmin",
        "argmax",
        "fmin",
        "argfmin",
        "bbox",
        "coord_sum",
        "wcoord_sum",
        "hist",
        "lowest",
        "gather",
    }
)

#: statistics a statistic needs computed alongside it
_NEEDS = {"m2": {"count", "sum"}, "argmin": {"min"}, "argmax": {"max"}, "argfmin": {"fmin"}}

_ADD = ("count", "sum", "coord_sum", "wcoord_sum", "hist")


@dataclass(frozen=True, eq=False)
class Regions:
    """Which pixels make which regions.

    ``kind`` is ``"whole"`` (every pixel, one region keyed 0; no labels),
    ``"positive"`` (labels > 0, one region keyed 1), or ``"labels"``: one
    region per label id, restricted to ids in ``[low, high]`` (None: no
    bound), in ``wanted`` (a sorted array of keys; None: all), and not equal
    to ``ignore``.
    """

    kind: str = "labels"
    wanted: np.ndarray | None = None
    low: Any = None
    high: Any = None
    ignore: Any = None


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything a block task needs besides its pixels."""

    stats: frozenset[str]
    regions: Regions
    shape: tuple[int, ...]
    key_dtype: np.dtype
    value_dtype: np.dtype | None = None
    edges: np.ndarray | None = None

    def __post_init__(self) -> None:
        unknown = set(self.stats) - STATS
        if unknown:
            raise ValueError(f"unknown statistics {sorted(unknown)}")
        stats = set(self.stats)
        for name in list(stats):
            stats |= _NEEDS.get(name, set())
        object.__setattr__(self, "stats", frozenset(stats))

    @property
    def unsigned(self) -> bool:
        return self.value_dtype is not None and self.value_dtype.kind == "u"


@dataclass
class Partial:
    """Statistics of the regions met in some blocks, one row per sorted key."""

    keys: np.ndarray
    stats: dict[str, np.ndarray] = field(default_factory=dict)
    #: (key, value): the smallest label anywhere and the smallest value on it
    lowest: tuple[Any, Any] | None = None
    #: (keys, raster indices, values) of every selected pixel
    gathered: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None

    def row(self, name: str) -> np.ndarray:
        return self.stats[name]


# ---------------------------------------------------------------- binning


@dataclass
class _Bins:
    """Pixels of a block put in bins; the kept bins are the wanted regions."""

    index: np.ndarray | None  # flat bin per pixel (intp); None: all pixels in bin 0
    nbins: int
    keep: np.ndarray  # kept bins, in ascending key order
    keys: np.ndarray  # their keys
    counts: np.ndarray | None = None  # pixels per bin, when known
    n: int = 0

    def pixels(self) -> np.ndarray:
        return np.zeros(self.n, np.intp) if self.index is None else self.index

    def bincount(self, weights: np.ndarray | None = None) -> np.ndarray:
        if self.index is None:
            total = self.n if weights is None else weights.sum(dtype=np.float64)
            return np.array([total])[self.keep]
        return np.bincount(self.index, weights, minlength=self.nbins)[self.keep]

    def kept(self) -> np.ndarray:
        flag = np.zeros(self.nbins, bool)
        flag[self.keep] = True
        return flag


def _empty_bins(key_dtype: np.dtype, n: int) -> _Bins:
    return _Bins(None, 1, np.zeros(0, np.intp), np.zeros(0, key_dtype), n=n)


def _select_keys(keys: np.ndarray, regions: Regions) -> np.ndarray:
    """Which of a block's sorted keys are wanted (bool mask)."""
    ok = np.ones(len(keys), bool)
    if keys.dtype.kind == "f":
        ok &= ~np.isnan(keys)
    if regions.low is not None:
        ok &= keys >= regions.low
    if regions.high is not None:
        ok &= keys <= regions.high
    if regions.ignore is not None:
        ok &= keys != regions.ignore
    if regions.wanted is not None:
        wanted = regions.wanted
        at = np.minimum(np.searchsorted(wanted, keys), max(len(wanted) - 1, 0))
        ok &= (wanted[at] == keys) if len(wanted) else False
    return ok


def _bins(labels: np.ndarray | None, plan: Plan, n: int) -> _Bins:
    regions, kdt = plan.regions, plan.key_dtype
    if regions.kind == "whole" or labels is None:
        return _Bins(None, 1, np.arange(1), np.zeros(1, kdt), np.array([n]), n)
    lab = labels.ravel()
    if lab.dtype == bool:
        lab = lab.view(np.uint8)
    if regions.kind == "positive":
        index = np.greater(lab, 0).astype(np.intp)
        counts = np.bincount(index, minlength=2)
        keep = np.arange(1, 2) if counts[1] else np.zeros(0, np.intp)
        return _Bins(index, 2, keep, np.ones(len(keep), kdt), counts, n)
    if n == 0:
        return _empty_bins(kdt, n)
    if lab.dtype.kind in "iu" and lab.dtype != np.uint64:
        lo, hi = int(lab.min()), int(lab.max())
        low, high = regions.low, regions.high
        if regions.wanted is not None:
            if not len(regions.wanted):
                return _empty_bins(kdt, n)
            low = regions.wanted[0] if low is None else max(low, regions.wanted[0])
            high = regions.wanted[-1] if high is None else min(high, regions.wanted[-1])
        a = lo if low is None else max(lo, int(np.ceil(low)))
        b = hi if high is None else min(hi, int(np.floor(high)))
        if a > b:
            return _empty_bins(kdt, n)
        span = b - a + 1
        if span <= 4 * n + 1024 and a > -(2**63):  # a compact range of ids: no sort
            index = np.subtract(lab, a - 1, dtype=np.intp)
            if a > lo or b < hi:
                np.clip(index, 0, span + 1, out=index)
            counts = np.bincount(index, minlength=span + 2)
            present = np.flatnonzero(counts[1 : span + 1]) + 1
            keys = (present + (a - 1)).astype(kdt)
            ok = _select_keys(keys, Regions(wanted=regions.wanted, ignore=regions.ignore))
            return _Bins(index, span + 2, present[ok], keys[ok], counts, n)
    unique, index = np.unique(lab, return_inverse=True)
    keys = unique.astype(kdt)
    ok = _select_keys(keys, regions)
    return _Bins(
        index.reshape(-1).astype(np.intp, copy=False),
        len(unique),
        np.flatnonzero(ok),
        keys[ok],
        None,
        n,
    )


# ---------------------------------------------------------------- block statistics


def _exact_int_sums(bins: _Bins, x: np.ndarray) -> np.ndarray:
    """Per-bin sums of integers, exact (int64 bits, wrapping like numpy)."""
    if bins.index is None:
        dtype = np.uint64 if x.dtype.kind == "u" else np.int64
        return np.array([x.sum(dtype=dtype)]).view(np.int64)[bins.keep]
    if x.dtype == bool or x.dtype.itemsize <= 2 or (x.dtype.itemsize == 4 and x.size <= 1 << 21):
        # every partial sum stays below 2**53: float64 bincount is exact
        return bins.bincount(x).astype(np.int64)
    total = np.zeros(len(bins.keep), np.uint64)
    nbits = 8 * x.dtype.itemsize
    for shift in range(0, nbits, 16):  # 16-bit pieces: exact for up to 2**37 pixels
        piece = x >> shift
        if shift + 16 < nbits:
            piece = piece & 0xFFFF
        part = bins.bincount(piece).astype(np.int64).view(np.uint64)
        total += part * np.uint64(1 << shift)
    return total.view(np.int64)


def sums_as_float(sums: np.ndarray, value_dtype: np.dtype | None) -> np.ndarray:
    """float64 of the ``sum`` statistic (int64 bits of uint64 sums for unsigned input)."""
    if sums.dtype == np.float64:
        return sums
    if value_dtype is not None and value_dtype.kind == "u":
        return sums.view(np.uint64).astype(np.float64)
    return sums.astype(np.float64)


def _global_raster(
    local: np.ndarray, shape: tuple[int, ...], offset: tuple[int, ...], full: tuple[int, ...]
) -> np.ndarray:
    coords = np.unravel_index(local, shape)
    return np.ravel_multi_index(tuple(c + o for c, o in zip(coords, offset)), full).astype(
        np.int64
    )


def _extreme(
    bins: _Bins,
    x: np.ndarray,
    which: str,
    positions: bool,
    shape: tuple[int, ...],
    offset: tuple[int, ...],
    full: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-bin min, max (NaN propagates) or fmin (NaN skipped unless all NaN)
    and the first raster index holding it."""
    skip = which == "fmin" and x.dtype.kind == "f"
    low = which != "max"
    nan = np.isnan(x) if skip else None
    if bins.index is None:
        if skip and not nan.all():  # type: ignore[union-attr]
            value = np.nanmin(x)
            local = np.array([np.argmax(x == value)])
        else:
            value = x.min() if low else x.max()
            local = np.array([np.argmin(x) if low else np.argmax(x)])
        pos = _global_raster(local, shape, offset, full)[bins.keep] if positions else None
        return np.array([value], x.dtype)[bins.keep], pos
    fill: bool | float
    if x.dtype == bool:
        fill = low
    elif x.dtype.kind == "f":
        fill = np.inf if low else -np.inf
    else:
        info = np.iinfo(x.dtype)
        fill = info.max if low else info.min
    values = np.full(bins.nbins, fill, x.dtype)
    ufunc = np.fmin if skip else np.minimum if low else np.maximum
    ufunc.at(values, bins.index, x)
    if skip:  # bins of NaN only: NaN
        some = np.zeros(bins.nbins, bool)
        some[bins.index[~nan]] = True  # type: ignore[operator]
        values[~some] = np.nan
    pos = None
    if positions:
        target = values[bins.index]
        hit = x == target
        if x.dtype.kind == "f":
            hit |= np.isnan(x) & np.isnan(target)
        where = np.flatnonzero(hit)
        first = np.full(bins.nbins, x.size, np.intp)
        np.minimum.at(first, bins.index[where], where)
        pos = _global_raster(first[bins.keep], shape, offset, full)
    return values[bins.keep], pos


def _runs(bins: _Bins, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, stop-1, bin) of the runs of kept bins along the last axis (flat, local)."""
    index = bins.pixels().reshape(shape)
    change = index[..., 1:] != index[..., :-1]
    start = np.empty(shape, bool)
    start[..., 0] = True
    start[..., 1:] = change
    end = np.empty(shape, bool)
    end[..., -1] = True
    end[..., :-1] = change
    first, last = np.flatnonzero(start), np.flatnonzero(end)
    run_bins = bins.pixels()[first]
    ok = bins.kept()[run_bins]
    return first[ok], last[ok], run_bins[ok]


def _boxes_and_centroids(
    bins: _Bins,
    plan: Plan,
    shape: tuple[int, ...],
    offset: tuple[int, ...],
    out: dict[str, np.ndarray],
) -> None:
    first, last, run_bins = _runs(bins, shape)
    starts = np.unravel_index(first, shape)
    ndim, k = len(shape), len(bins.keep)
    stop_last = last % shape[-1]
    if "bbox" in plan.stats:
        lo = np.empty((k, ndim), np.int64)
        hi = np.empty((k, ndim), np.int64)
        big = np.iinfo(np.int64).max
        for axis in range(ndim):
            low = np.full(bins.nbins, big, np.int64)
            np.minimum.at(low, run_bins, starts[axis])
            high = np.full(bins.nbins, -1, np.int64)
            np.maximum.at(high, run_bins, stop_last if axis == ndim - 1 else starts[axis])
            lo[:, axis] = low[bins.keep] + offset[axis]
            hi[:, axis] = high[bins.keep] + offset[axis] + 1
        out["bbox_lo"], out["bbox_hi"] = lo, hi
    if "coord_sum" in plan.stats:
        length = (last - first + 1).astype(np.float64)
        sums = np.empty((k, ndim), np.float64)
        for axis in range(ndim):
            if axis == ndim - 1:
                weight = (starts[axis] + stop_last + 2.0 * offset[axis]) * length / 2
            else:
                weight = (starts[axis] + float(offset[axis])) * length
            sums[:, axis] = np.bincount(run_bins, weight, minlength=bins.nbins)[bins.keep]
        out["coord_sum"] = sums


def _histogram_bins(x: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """numpy.histogram's bin of every value (half-open bins, last one closed)."""
    nb = len(edges) - 1
    b = np.searchsorted(edges, x, side="right") - 1
    b[x == edges[-1]] = nb - 1
    return b, (b >= 0) & (b < nb)


def _lowest(lab: np.ndarray, x: np.ndarray) -> tuple[Any, Any] | None:
    lab = lab.ravel()
    if lab.dtype == bool:
        lab = lab.view(np.uint8)
    if lab.dtype.kind == "f":
        lab_ok = lab[~np.isnan(lab)]
        if not len(lab_ok):
            return None
        key = lab_ok.min()
    elif lab.size:
        key = lab.min()
    else:
        return None
    values = x[lab == key]
    if values.dtype.kind == "f" and np.isnan(values).any():
        finite = values[~np.isnan(values)]
        values = finite if len(finite) else values
    return key, values.min()


@np.errstate(invalid="ignore")  # NaN values: minima and maxima propagate them quietly
def block_partial(
    values: np.ndarray | None,
    labels: np.ndarray | None,
    offset: tuple[int, ...],
    plan: Plan,
) -> Partial:
    """The partial of one block at ``offset`` in the whole array (see the module doc)."""
    ref = values if values is not None else labels
    assert ref is not None
    shape, n = ref.shape, ref.size
    bins = _bins(labels, plan, n)
    stats = plan.stats
    part = Partial(bins.keys)
    x = None if values is None else values.ravel()
    if "lowest" in stats and labels is not None and x is not None:
        part.lowest = _lowest(labels, x)
    if not len(bins.keys):
        empty = empty_partial(plan)
        empty.lowest = part.lowest
        return empty
    out = part.stats
    if "count" in stats:
        out["count"] = (
            bins.counts[bins.keep] if bins.counts is not None else bins.bincount()
        ).astype(np.int64)
    floats = x is not None and ("m2" in stats or "wcoord_sum" in stats or x.dtype.kind == "f")
    # one conversion for all
    xf = x.astype(np.float64, copy=False) if floats and x is not None else None
    buf = np.empty(n) if x is not None and ("m2" in stats or "wcoord_sum" in stats) else None
    if x is not None and "sum" in stats:
        out["sum"] = bins.bincount(xf) if x.dtype.kind == "f" else _exact_int_sums(bins, x)
    if xf is not None and buf is not None and "m2" in stats:
        means = np.zeros(bins.nbins)
        means[bins.keep] = sums_as_float(out["sum"], plan.value_dtype) / out["count"]
        np.subtract(xf, means[0] if bins.index is None else means[bins.index], out=buf)
        out["m2"] = bins.bincount(np.multiply(buf, buf, out=buf))
    for which in ("min", "max", "fmin"):
        if x is not None and which in stats:
            arg = "arg" + which
            out[which], pos = _extreme(bins, x, which, arg in stats, shape, offset, plan.shape)
            if pos is not None:
                out[arg] = pos
    if "bbox" in stats or "coord_sum" in stats:
        _boxes_and_centroids(bins, plan, shape, offset, out)
    if xf is not None and buf is not None and "wcoord_sum" in stats:
        sums = np.empty((len(bins.keys), len(shape)), np.float64)
        for axis, (o, s) in enumerate(zip(offset, shape)):
            coord = np.arange(o, o + s, dtype=np.float64).reshape(
                [-1 if ax == axis else 1 for ax in range(len(shape))]
            )
            np.multiply(xf.reshape(shape), coord, out=buf.reshape(shape))
            sums[:, axis] = bins.bincount(buf)
        out["wcoord_sum"] = sums
    if x is not None and "hist" in stats:
        assert plan.edges is not None
        nb, k = len(plan.edges) - 1, len(bins.keys)
        lut = np.full(bins.nbins, k, np.intp)
        lut[bins.keep] = np.arange(k)
        b, valid = _histogram_bins(x, plan.edges)
        flat = np.where(valid, lut[bins.pixels()] * nb + b, k * nb)
        out["hist"] = np.bincount(flat, minlength=(k + 1) * nb)[: k * nb].reshape(k, nb)
    if "gather" in stats:
        keys_of_bin = np.zeros(bins.nbins, plan.key_dtype)
        keys_of_bin[bins.keep] = bins.keys
        if bins.index is None:
            where = np.arange(n)
            gkeys = np.full(n, bins.keys[0])
        else:
            where = np.flatnonzero(bins.kept()[bins.index])
            gkeys = keys_of_bin[bins.index[where]]
        raster = _global_raster(where, shape, offset, plan.shape)
        part.gathered = (gkeys, raster, None if x is None else x[where])
    return part


# ---------------------------------------------------------------- combining


def empty_partial(plan: Plan) -> Partial:
    """A partial with no regions, with the dtypes and shapes of ``plan``'s statistics."""
    ndim, vdt = len(plan.shape), plan.value_dtype
    stats: dict[str, np.ndarray] = {}
    s = plan.stats
    if "count" in s:
        stats["count"] = np.zeros(0, np.int64)
    if vdt is not None:
        if "sum" in s:
            stats["sum"] = np.zeros(0, np.float64 if vdt.kind in "fc" else np.int64)
        if "m2" in s:
            stats["m2"] = np.zeros(0)
        for which in ("min", "max", "fmin"):
            if which in s:
                stats[which] = np.zeros(0, vdt)
            if "arg" + which in s:
                stats["arg" + which] = np.zeros(0, np.int64)
        if "wcoord_sum" in s:
            stats["wcoord_sum"] = np.zeros((0, ndim))
        if "hist" in s and plan.edges is not None:
            stats["hist"] = np.zeros((0, len(plan.edges) - 1), np.int64)
    if "bbox" in s:
        stats["bbox_lo"] = np.zeros((0, ndim), np.int64)
        stats["bbox_hi"] = np.zeros((0, ndim), np.int64)
    if "coord_sum" in s:
        stats["coord_sum"] = np.zeros((0, ndim))
    gathered = None
    if "gather" in s:
        gathered = (
            np.zeros(0, plan.key_dtype),
            np.zeros(0, np.int64),
            None if vdt is None else np.zeros(0, vdt),
        )
    return Partial(np.zeros(0, plan.key_dtype), stats, None, gathered)


def _pick(
    values: np.ndarray, pos: np.ndarray, group: np.ndarray, starts: np.ndarray, which: str
) -> np.ndarray:
    """Row of each group with the extreme value (NaN first; for fmin last), ties
    to the smallest pos."""
    isnan = np.isnan(values) if values.dtype.kind == "f" else np.zeros(len(values), bool)
    if which != "max":
        order = np.lexsort((pos, values, isnan if which == "fmin" else ~isnan, group))
        return order[starts]
    order = np.lexsort((-pos, values, isnan, group))
    return order[np.append(starts[1:], len(group)) - 1]


def _combine_lowest(parts: list[Partial]) -> tuple[Any, Any] | None:
    found = [p.lowest for p in parts if p.lowest is not None]
    if not found:
        return None
    keys = np.array([k for k, _ in found])
    values = np.array([v for _, v in found])
    isnan = np.isnan(values) if values.dtype.kind == "f" else np.zeros(len(values), bool)
    best = np.lexsort((values, isnan, keys))[0]
    return found[best]


@np.errstate(invalid="ignore")
def combine(parts: list[Partial], plan: Plan) -> Partial:
    """The partial of the union of the blocks of ``parts``."""
    parts = list(parts)
    lowest = _combine_lowest(parts)
    gathered = None
    if "gather" in plan.stats:
        pieces = [p.gathered for p in parts if p.gathered is not None]
        gathered = (
            np.concatenate([g[0] for g in pieces]),
            np.concatenate([g[1] for g in pieces]),
            None if pieces[0][2] is None else np.concatenate([g[2] for g in pieces]),
        )
    filled = [p for p in parts if len(p.keys)]
    if len(filled) <= 1:
        base = filled[0] if filled else empty_partial(plan)
        return Partial(base.keys, base.stats, lowest, gathered)
    keys, group = np.unique(np.concatenate([p.keys for p in filled]), return_inverse=True)
    group = group.reshape(-1)
    order = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], np.arange(len(keys)))
    cat = {name: np.concatenate([p.stats[name] for p in filled]) for name in filled[0].stats}
    out: dict[str, np.ndarray] = {}
    for name, values in cat.items():
        if name in _ADD:
            out[name] = np.add.reduceat(values[order], starts, axis=0)
        elif name == "bbox_lo":
            out[name] = np.minimum.reduceat(values[order], starts, axis=0)
        elif name == "bbox_hi":
            out[name] = np.maximum.reduceat(values[order], starts, axis=0)
    for which in ("min", "max", "fmin"):
        if which not in cat:
            continue
        arg = "arg" + which
        if arg in cat:
            rows = _pick(cat[which], cat[arg], group, starts, which)
            out[which], out[arg] = cat[which][rows], cat[arg][rows]
        else:
            ufunc = {"min": np.minimum, "max": np.maximum, "fmin": np.fmin}[which]
            out[which] = ufunc.reduceat(cat[which][order], starts)
    if "m2" in cat:
        count = cat["count"].astype(np.float64)
        means = sums_as_float(cat["sum"], plan.value_dtype) / count
        total = sums_as_float(out["sum"], plan.value_dtype) / out["count"]
        dev = means - total[group]
        out["m2"] = np.add.reduceat((cat["m2"] + count * dev * dev)[order], starts)
    return Partial(keys, out, lowest, gathered)
