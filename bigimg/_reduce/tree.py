"""The per-label reduction engine: one pass over the pixels, every statistic, every label.

Every measurement of :mod:`bigimg.ndimage.measurements` and the region tables
of :mod:`bigimg.ndimage.regions` are views on one reduction:

1. **Blocks.** Each block (of the values and the labels, chunked alike)
   computes, for every wanted label present in it at once, bincount-style
   partial statistics (:func:`bigimg._reduce.partials.block_partial`): counts, sums,
   centred sums of squares, extremes with their positions, bounding boxes,
   coordinate sums, histograms. Label ids of a block are compacted by one
   ``bincount`` over their range when it is compact (at most a few times the
   block size), else by ``numpy.unique``; nothing of length max-label is
   allocated per block. Unwanted labels are dropped in the block, so partial
   sizes do not grow with ``index``.
2. **Tree.** Partials are merged ``split_every`` at a time
   (:func:`bigimg._reduce.partials.combine`) up to a single root: no merge receives
   more than ``split_every`` partials. The blocks and the first merges are
   tasks, run through :func:`bigimg._execute.run_keys` (in windows on a
   cluster, so the scheduler holds a bounded number of tasks); the levels
   above merge in this process as the first merges arrive, each merge's
   inputs fixed by position, so the root does not depend on arrival order.
3. **Aggregate.** The root holds one row per label present; the caller picks
   the rows of the requested labels (:class:`Reduction`).

Cost: O(pixels + labels x blocks they touch), whatever ``index`` is; the graph
has one task per block plus the tree, O(blocks) in all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
from dask._task_spec import DataNode, Task, TaskRef, parse_input
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph, MaterializedLayer

from bigimg._execute import run_keys
from bigimg._grid import LazyLayer, graph_on
from bigimg._reduce.partials import Partial, Plan, Regions, block_partial, combine

__all__ = [
    "Reduction",
    "index_keys",
    "key_dtype",
    "reduce_labels",
    "reduce_regions",
    "reduction_graph",
    "regions_for",
]

#: partials merged per task of the tree
SPLIT_EVERY = 8


def key_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype of label ids (keys) for labels of ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype == np.uint64:
        return np.dtype(np.uint64)
    if dtype.kind in "biu":
        return np.dtype(np.int64)
    if dtype.kind == "f":
        return np.dtype(np.float64)
    raise TypeError(f"labels must be an integer, boolean or float array, not {dtype}")


def index_keys(index: Any, kdt: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """``index`` (any shape) as flat keys, and whether a label could equal each.

    An index value no label of the labels' dtype can hold (300 for uint8
    labels, -1 for uint64 ones) is valid and simply absent, as in scipy.
    Raises ValueError for a non-integral index of integer labels (scipy
    truncates it in some functions and refuses it in others).
    """
    idx = np.asarray(index)
    if idx.dtype.kind == "f" and kdt.kind in "iu" and not isinstance(index, np.ndarray):
        exact = _python_ints(index, kdt)  # e.g. [0, 2**63 + 5]: numpy makes it float64
        if exact is not None:
            return exact
    if idx.dtype.kind not in "biuf":
        raise TypeError(f"index must hold label numbers, not {idx.dtype} values")
    flat = idx.reshape(-1)
    if kdt.kind == "f":
        keys = flat.astype(np.float64)
        return keys, ~np.isnan(keys)
    if flat.dtype.kind == "f":
        bad = np.isfinite(flat) & (flat != np.floor(flat))
        if bad.any() or np.isnan(flat).any():
            first = flat[~(flat == np.floor(flat))][0]
            raise ValueError(f"index values must be whole numbers for integer labels, not {first}")
        if kdt == np.uint64:
            ok = (flat >= 0) & (flat < 2.0**64)
        else:
            ok = (flat >= -(2.0**63)) & (flat < 2.0**63)
    elif kdt == np.uint64:
        ok = flat >= 0
    elif flat.dtype == np.uint64:
        ok = flat <= np.iinfo(np.int64).max
    else:
        ok = np.ones(len(flat), bool)
    keys = np.where(ok, flat, 0).astype(kdt)
    return keys, ok


def _python_ints(index: Any, kdt: np.dtype) -> tuple[np.ndarray, np.ndarray] | None:
    """Keys of a sequence of integers no single numpy dtype holds, compared exactly."""
    values = np.asarray(index, dtype=object).reshape(-1)
    if not all(isinstance(v, int | np.integer) for v in values):
        return None
    info = np.iinfo(kdt)
    ok = np.array([info.min <= int(v) <= info.max for v in values], bool)
    keys = np.array([int(v) if good else 0 for v, good in zip(values, ok)], kdt)
    return keys, ok


def regions_for(keys: np.ndarray, ok: np.ndarray) -> Regions:
    """The regions of the keys ``keys[ok]``: a range of ids when they are one."""
    wanted = np.unique(keys[ok])
    if wanted.dtype.kind in "iu" and len(wanted):
        lo, hi = int(wanted[0]), int(wanted[-1])
        if hi - lo + 1 == len(wanted):
            return Regions(low=lo, high=hi)
    return Regions(wanted=wanted)


def reduction_graph(
    values: da.Array | None,
    labels: da.Array | None,
    plan: Plan,
    *,
    split_every: int = SPLIT_EVERY,
) -> tuple[HighLevelGraph, list[Any]]:
    """The tasks of the blocks' partials and of the tree's first merges (not
    computed), and the keys of those first merges in raster order (the
    block's own key when there is one block).

    ``values`` and ``labels`` (either may be None) must have the same chunks.
    """
    arrays = [a for a in (values, labels) if a is not None]
    if not arrays:
        raise ValueError("nothing to reduce: no values and no labels")
    ref = arrays[0]
    if any(a.chunks != ref.chunks for a in arrays):
        raise ValueError("values and labels must have the same chunks")
    edges = None if plan.edges is None else plan.edges.tolist()
    r = plan.regions
    token = tokenize(
        [a.name for a in arrays],
        values is None,
        sorted(plan.stats),
        (r.kind, r.wanted, r.low, r.high, r.ignore),
        plan.shape,
        str(plan.key_dtype),
        str(plan.value_dtype),
        edges,
        split_every,
    )
    name = f"reduce-labels-{token}"
    plan_key = f"{name}-plan"
    numblocks = ref.numblocks
    n = math.prod(numblocks)
    starts = [np.cumsum((0, *c[:-1])).tolist() for c in ref.chunks]
    block_name, combine_name = f"{name}-block", f"{name}-combine-0"
    groups = -(-n // split_every)

    def block_task(key: tuple[Any, ...]) -> Task | None:
        i = key[1] if len(key) == 2 else None
        if not isinstance(i, int) or not 0 <= i < n:
            return None
        b = tuple(int(j) for j in np.unravel_index(i, numblocks))
        offset = tuple(starts[ax][j] for ax, j in enumerate(b))
        value = None if values is None else TaskRef((values.name, *b))
        label = None if labels is None else TaskRef((labels.name, *b))
        return Task(key, block_partial, value, label, offset, TaskRef(plan_key))

    def combine_task(key: tuple[Any, ...]) -> Task | None:
        j = key[1] if len(key) == 2 else None
        if not isinstance(j, int) or not 0 <= j < groups:
            return None
        first, last = j * split_every, min(n, (j + 1) * split_every)
        parts = [TaskRef((block_name, i)) for i in range(first, last)]
        return Task(key, combine, parse_input(parts), TaskRef(plan_key))

    # each window's tasks built when it runs (bigimg._execute.run_keys): no task per block here
    inputs = {name for a in arrays for name in a.__dask_layers__()}
    layers: dict[str, Any] = {
        plan_key: (MaterializedLayer({plan_key: DataNode(plan_key, plan)}), ()),
        block_name: (
            LazyLayer(block_name, lambda: ((i,) for i in range(n)), block_task),
            inputs | {plan_key},
        ),
    }
    keys: list[Any] = [(block_name, 0)]
    if n > 1:
        combines = LazyLayer(combine_name, lambda: ((j,) for j in range(groups)), combine_task)
        layers[combine_name] = (combines, {plan_key, block_name})
        keys = [(combine_name, j) for j in range(groups)]
    return graph_on(arrays, layers), keys


class _Tree:
    """The rest of the tree, merged in this process as its leaves arrive in any
    order: ``split_every`` consecutive items per merge, level by level, then
    one last merge of the single top item. Each merge's inputs are fixed by
    position, so the result does not depend on the order of arrival."""

    def __init__(self, n: int, plan: Plan, split_every: int) -> None:
        self.plan, self.split_every = plan, split_every
        self.counts = [n]
        while self.counts[-1] > 1:
            self.counts.append(-(-self.counts[-1] // split_every))
        self.waiting: list[dict[int, Partial]] = [{} for _ in self.counts]
        self.root: Partial | None = None

    def add(self, level: int, i: int, part: Partial) -> None:
        if level == len(self.counts) - 1:
            self.root = combine([part], self.plan)
            return
        waiting = self.waiting[level]
        waiting[i] = part
        first = i - i % self.split_every
        group = range(first, min(first + self.split_every, self.counts[level]))
        if all(j in waiting for j in group):
            merged = combine([waiting.pop(j) for j in group], self.plan)
            self.add(level + 1, i // self.split_every, merged)


def reduce_regions(
    values: da.Array | None,
    labels: da.Array | None,
    stats: Iterable[str],
    regions: Regions,
    *,
    edges: np.ndarray | None = None,
    split_every: int = SPLIT_EVERY,
) -> Partial:
    """Compute ``stats`` for ``regions`` in one pass; the root partial (one row per key)."""
    ref = values if values is not None else labels
    assert ref is not None
    plan = Plan(
        frozenset(stats),
        regions,
        tuple(int(s) for s in ref.shape),
        key_dtype(labels.dtype) if labels is not None else np.dtype(np.int64),
        None if values is None else values.dtype,
        None if edges is None else np.asarray(edges, dtype=np.float64),
    )
    graph, keys = reduction_graph(values, labels, plan, split_every=split_every)
    tree = _Tree(len(keys), plan, split_every)
    position = {key: i for i, key in enumerate(keys)}
    # in windows on a cluster: the scheduler holds a bounded number of tasks
    run_keys(graph, keys, lambda key, part: tree.add(0, position[key], part))
    assert tree.root is not None
    return tree.root


@dataclass
class Reduction:
    """The rows of a reduction for the entries of an ``index`` (scipy's meaning).

    ``rows[i]`` is the row of ``partial`` for the i-th (flattened) index entry,
    -1 where that label is absent; ``shape`` is the index's shape (``()`` for a
    scalar index, for ``index=None`` and for ``labels=None``).
    """

    partial: Partial
    rows: np.ndarray
    shape: tuple[int, ...]

    @property
    def found(self) -> np.ndarray:
        return self.rows >= 0

    def take(self, name: str, fill: Any = 0, dtype: Any = None) -> np.ndarray:
        """Statistic ``name`` per index entry, ``fill`` where absent, shaped like the index."""
        data = self.partial.stats[name]
        out = np.full((len(self.rows), *data.shape[1:]), fill, dtype or data.dtype)
        found = self.found
        out[found] = data[self.rows[found]]
        return out.reshape(self.shape + data.shape[1:])


def reduce_labels(
    values: da.Array | None,
    labels: da.Array | None,
    index: Any,
    stats: Iterable[str],
    *,
    edges: np.ndarray | None = None,
    split_every: int = SPLIT_EVERY,
) -> Reduction:
    """Per-label ``stats`` of ``values`` for scipy's ``labels`` / ``index`` arguments.

    ``labels=None``: the whole array is one region (``index`` is ignored);
    ``index=None``: all pixels with ``labels > 0`` are one region; otherwise
    one region per entry of ``index`` (scalar or any shape), computed once per
    distinct label. Only the requested labels are reduced.
    """
    if labels is None:
        regions, keys, ok, shape = Regions(kind="whole"), np.zeros(1, np.int64), None, ()
    elif index is None:
        regions, keys, ok, shape = Regions(kind="positive"), np.ones(1, np.int64), None, ()
    else:
        keys, ok = index_keys(index, key_dtype(labels.dtype))
        regions, shape = regions_for(keys, ok), np.shape(index)
    root = reduce_regions(values, labels, stats, regions, edges=edges, split_every=split_every)
    at = np.searchsorted(root.keys, keys)
    at = np.minimum(at, len(root.keys) - 1)
    found = np.zeros(len(keys), bool)
    if len(root.keys):
        found = root.keys[at] == keys
    if ok is not None:
        found &= ok
    return Reduction(root, np.where(found, at, -1), tuple(shape))
