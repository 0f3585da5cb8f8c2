"""Edges: the parts of its neighbours' blocks a halo task takes.

A halo task (:func:`~bigimg._halo.overlap.map_halo`) needs whole blocks of
its neighbours only where its region covers them; of the others it needs
edges. Each block gets one task (or three, :func:`split_edges`) that copies
every edge its neighbours need, so only the pixels needed stay in memory
and move between workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from itertools import product
from typing import Any

import dask.array as da
import numpy as np
from dask._task_spec import GraphNode, Task, TaskRef
from dask.blockwise import Blockwise
from dask.highlevelgraph import HighLevelGraph

from bigimg._grid import LazyLayer
from bigimg._halo.reach import Depth

__all__ = ["FRONT_BYTES", "Edges", "as_refs", "part_keys", "split_edges"]


def _edges(block: np.ndarray, crops: tuple[tuple[tuple[int, int], ...], ...]) -> dict:
    """The parts ``crops`` of ``block`` its neighbours need, copied (a view
    would keep the whole block in memory as long as a neighbour waits)."""
    return {crop: block[tuple(slice(a, b) for a, b in crop)].copy() for crop in crops}


def _on_distributed() -> bool:
    """Whether ``dask.compute`` would run on a ``distributed`` client now."""
    from dask.base import get_scheduler
    from distributed import Client

    return isinstance(getattr(get_scheduler(), "__self__", None), Client)


#: Bytes of edges a plane of blocks may hold before each block's edges are
#: split in three (:func:`_edge_group`)
FRONT_BYTES = 128 * 2**20


def split_edges(images: Sequence[da.Array], depth: Depth) -> bool:
    """Whether blocks get three edges tasks (:func:`_edge_group`): from 3-D
    on, when the edges of the blocks a scheduler has begun but not finished
    (about two planes across the first axis, measured) would hold more than
    :data:`FRONT_BYTES`."""
    first = images[0]
    if first.ndim < 3:
        return False
    chunk = [max(c) for c in first.chunks]
    edge_pixels = math.prod(c + a + b for c, (a, b) in zip(chunk, depth)) - math.prod(chunk)
    plane = math.prod(first.numblocks[1:])
    return 2 * plane * edge_pixels * sum(i.dtype.itemsize for i in images) > FRONT_BYTES


def _edge_group(index: tuple[int, ...], block: tuple[int, ...], split: bool) -> int:
    """Which of a block's edges tasks serves the output chunk ``index``.

    One per block, or with ``split`` (:func:`split_edges`) three: for the
    output chunks before the block along the first axis, beside it, and
    after it. Whatever order a scheduler runs chunks in, it finishes the
    neighbours of a block along the last axes long before those along the
    first: one edges task for all of them keeps the edges of a plane of
    blocks in memory, while each of the three lives about two rows of chunks.
    A block read from storage is then read four times instead of twice."""
    return min(max(index[0] - block[0], -1), 1) + 1 if split else 0


class Edges:
    """The edges tasks of one input of a halo, built when asked for.

    For the output chunks of a halo (their per-axis plans: the ``blocks``
    each takes and the part ``crops`` of each), block by block: which parts
    its neighbours take (:meth:`parts`), the key an output chunk takes for
    each (:meth:`keys`) and the task that copies them (:meth:`task`), all
    found from the plans when a window of keys is built, never stored per
    block.

    A chunk task that depends on nothing (a read from storage, synthetic
    data) is done again inside the edges task, not shared with the chunk's
    own task: no chunk is then kept in memory for its neighbours, whatever
    order the scheduler runs the tasks in, at the price of reading such a
    chunk twice. Other chunks (computed from other tasks) are shared.
    """

    def __init__(self, image: da.Array, name: str, plans: Sequence[Sequence[Any]], split: bool):
        self.image, self.name, self.split = image, name, split
        # per axis, per block: the (output chunk, part) pairs that take from it
        self.users: list[list[list[tuple[int, tuple[int, int]]]]] = []
        for chunks, axis_plans in zip(image.chunks, plans):
            users: list[list[tuple[int, tuple[int, int]]]] = [[] for _ in chunks]
            for j, plan in enumerate(axis_plans):
                for b, crop in zip(plan.blocks, plan.crops):
                    users[b].append((j, crop))
            self.users.append(users)
        graph = image.__dask_graph__()
        # a dask array's chunks are the layer of its name: look there, not in every layer
        self.own: Any = (
            graph.layers.get(image.name, graph) if isinstance(graph, HighLevelGraph) else graph
        )
        # on a distributed client the chunks go in bounded windows (bigimg._execute), and
        # a chunk read twice on two workers costs more than a strip moved: reads are shared
        self.inline = not _on_distributed()
        self._window: dict[Any, Any] = {}  # the chunk tasks of the window being built

    def prepare(self, keys: list[tuple[Any, ...]]) -> None:
        """Build the chunk tasks a window's edges tasks read at once (a blockwise
        input's tasks cost about as much to build one by one as to run)."""
        self._window = {}
        if self.inline and isinstance(self.own, Blockwise):
            sources = {(self.image.name, *key[1:-1]) for key in keys}
            self._window = dict(self.own.cull(sources, ())[0])

    def parts(self, block: tuple[int, ...]) -> dict[int, tuple[tuple[tuple[int, int], ...], ...]]:
        """Per edges task of ``block`` (:func:`_edge_group`), the parts of it
        that output chunks take (sorted); whole blocks are taken as they are."""
        found: dict[int, set[tuple[tuple[int, int], ...]]] = {}
        for combo in product(*(self.users[ax][b] for ax, b in enumerate(block))):
            crop = tuple(c for _, c in combo)
            if not _whole(self.image, block, crop):
                group = _edge_group((combo[0][0],), block, self.split)
                found.setdefault(group, set()).add(crop)
        return {group: tuple(sorted(crops)) for group, crops in sorted(found.items())}

    def keys(self, index: tuple[int, ...], plans: Sequence[Any]) -> list[Any]:
        """Nested keys of what the output chunk ``index`` (``plans``: its plan
        per axis) takes of the image: whole blocks as they are, the others
        from their edges task, so only the pixels needed move between workers."""

        def edges_part(block: tuple[int, ...], crop: tuple[tuple[int, int], ...]) -> tuple:
            return (self.name, *block, _edge_group(index, block, self.split))

        blocks, crops = [p.blocks for p in plans], [p.crops for p in plans]
        return part_keys(self.image, blocks, crops, edges_part)

    def indices(self) -> Iterator[tuple[int, ...]]:
        """The block index and group of every edges task."""
        for block in np.ndindex(*self.image.numblocks):
            for group in self.parts(block):
                yield (*block, group)

    def task(self, key: tuple[Any, ...]) -> GraphNode | None:
        """The edges task ``key`` (None if there is none such)."""
        block, group = tuple(key[1:-1]), key[-1]
        numblocks = self.image.numblocks
        if len(block) != len(numblocks) or not all(0 <= b < n for b, n in zip(block, numblocks)):
            return None
        crops = self.parts(block).get(group)
        if crops is None:
            return None
        source = (self.image.name, *block)
        if self.inline:
            chunk = self._window.get(source)
            if chunk is None:
                chunk = _chunk_task(self.own, source)
            if isinstance(chunk, GraphNode) and not chunk.dependencies:
                return Task(key, _edges, chunk, crops)
        return Task(key, _edges, TaskRef(source), crops)

    def layer(self) -> LazyLayer:
        return LazyLayer(self.name, self.indices, self.task, self.prepare)


def _chunk_task(layer: Any, key: tuple[Any, ...]) -> Any:
    """The task of ``key`` in ``layer``; of a blockwise layer built alone (its
    ``__getitem__`` would build and keep every task of the layer)."""
    if isinstance(layer, Blockwise):
        culled, _ = layer.cull({key}, ())
        return culled[key]
    return layer[key]


def _whole(image: da.Array, block: tuple[int, ...], crop: tuple[tuple[int, int], ...]) -> bool:
    """Whether the part ``crop`` of ``image``'s ``block`` is all of it."""
    return all(c == (0, image.chunks[ax][b]) for ax, (c, b) in enumerate(zip(crop, block)))


def as_refs(keys: Any) -> Any:
    """Nested lists of keys as a task argument: references to those tasks."""
    if isinstance(keys, list):
        return [as_refs(k) for k in keys]
    return TaskRef(keys)


def part_keys(
    image: da.Array,
    blocks: Sequence[tuple[int, ...]],
    crops: Sequence[tuple[tuple[int, int], ...]],
    part: Callable[[tuple[int, ...], tuple[tuple[int, int], ...]], Any],
) -> list[Any]:
    """Nested keys of the parts of ``image`` a task needs: per axis the
    ``blocks`` and the part ``crops[axis][k]`` of each (from :func:`sources`).
    Whole blocks are used as they are; a part of a block is the key
    ``part(block, crop)`` gives (and defines), so only the pixels needed move
    between workers."""
    keys = np.empty([len(b) for b in blocks], dtype=object)
    for pos in product(*(range(len(b)) for b in blocks)):
        block = tuple(blocks[ax][k] for ax, k in enumerate(pos))
        crop = tuple(crops[ax][k] for ax, k in enumerate(pos))
        if _whole(image, block, crop):
            keys[pos] = (image.name, *block)
        else:
            keys[pos] = part(block, crop)
    return _nested_list(keys)


def _nested_list(keys: np.ndarray) -> list[Any]:
    if keys.ndim == 1:
        return list(keys)
    return [_nested_list(k) for k in keys]
