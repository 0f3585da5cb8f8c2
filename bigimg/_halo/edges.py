"""Edges: the parts of its neighbours' blocks a halo task takes.

A halo task (:func:`~bigimg._halo.overlap.map_halo`) needs whole blocks of
its neighbours only where its region covers them; of the others it needs
edges. Each block gets one task (or three, :func:`split_edges`) that copies
every edge its neighbours need, so only the pixels needed stay in memory
and move between workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import product
from typing import Any

import dask.array as da
import numpy as np
from dask._task_spec import GraphNode, Task
from dask.highlevelgraph import HighLevelGraph

from bigimg._halo.reach import Depth

__all__ = ["FRONT_BYTES", "edge_keys", "edge_tasks", "part_keys", "split_edges"]


def _edges(block: np.ndarray, crops: tuple[tuple[tuple[int, int], ...], ...]) -> dict:
    """The parts ``crops`` of ``block`` its neighbours need, copied (a view
    would keep the whole block in memory as long as a neighbour waits)."""
    return {crop: block[tuple(slice(a, b) for a, b in crop)].copy() for crop in crops}


def edge_tasks(
    image: da.Array, edges: str, needed: dict[tuple[int, ...], set[Any]]
) -> tuple[dict[Any, Any], bool]:
    """The edges task of every block in ``needed``, and whether any reads
    ``image``'s chunk task.

    A chunk task that depends on nothing (a read from storage, synthetic
    data) is done again inside the edges task, not shared with the chunk's
    own task: no chunk is then kept in memory for its neighbours, whatever
    order the scheduler runs the tasks in, at the price of reading such a
    chunk twice. Other chunks (computed from other tasks) are shared."""
    graph = image.__dask_graph__()
    # a dask array's chunks are the layer of its name: look there, not in every layer
    own = graph.layers.get(image.name, graph) if isinstance(graph, HighLevelGraph) else graph
    # on a distributed client the chunks go in bounded windows (bigimg._execute), and a
    # chunk read twice on two workers costs more than a strip moved: reads are shared
    inline = not _on_distributed()
    out: dict[Any, Any] = {}
    reads = False
    for where, parts in needed.items():  # where: the block's index and group
        key, crops = (image.name, *where[:-1]), tuple(sorted(parts))
        task = own[key]
        if inline and isinstance(task, GraphNode) and not task.dependencies:
            out[(edges, *where)] = Task((edges, *where), _edges, task, crops)
        else:
            out[(edges, *where)] = (_edges, key, crops)
            reads = True
    return out, reads


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


def edge_keys(
    image: da.Array,
    index: tuple[int, ...],
    split: bool,
    blocks: Sequence[tuple[int, ...]],
    crops: Sequence[tuple[tuple[int, int], ...]],
    edges_name: str,
    needed: dict[tuple[int, ...], set[tuple[tuple[int, int], ...]]],
) -> list[Any]:
    """Nested keys of what the output chunk ``index`` needs of ``image``: per
    axis the ``blocks`` and the part ``crops[axis][k]`` of each. Whole blocks
    are used as they are; of the others, the task takes the block's edges
    task (:func:`_edge_group`; each holds every part its chunks need:
    ``needed``, keyed by block and group), so only the pixels needed move
    between workers, at a task or three per block."""

    def edges_part(block: tuple[int, ...], crop: tuple[tuple[int, int], ...]) -> tuple:
        group = _edge_group(index, block, split)
        needed.setdefault((*block, group), set()).add(crop)
        return (edges_name, *block, group)

    return part_keys(image, blocks, crops, edges_part)


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
        if all(c == (0, image.chunks[ax][b]) for ax, (c, b) in enumerate(zip(crop, block))):
            keys[pos] = (image.name, *block)
        else:
            keys[pos] = part(block, crop)
    return _nested_list(keys)


def _nested_list(keys: np.ndarray) -> list[Any]:
    if keys.ndim == 1:
        return list(keys)
    return [_nested_list(k) for k in keys]
