"""Where the blocks of a chunk grid lie, and their tasks: found when needed,
not stored per block.

dask's ``map_blocks`` hands a function ``block_info`` by building a dict for
every block when the graph is built: O(blocks) of client time and memory
before anything runs (at 2**20 blocks, seconds and gigabytes). A function
that takes ``block_id`` instead, with a :class:`BlockSlices` of the grid,
finds its block's place when it runs; the grid's description is one offset
per chunk edge. A :class:`LazyLayer` likewise builds a block's task when
the graph is culled to a window of keys.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from dask._task_spec import GraphNode
from dask.highlevelgraph import HighLevelGraph, Layer, MaterializedLayer

__all__ = ["BlockSlices", "LazyLayer", "graph_on"]


class BlockSlices:
    """The slices of each block of the chunk grid ``chunks``.

    Parameters
    ----------
    chunks : tuple of tuple of int
        A dask chunk grid (``array.chunks``).

    Examples
    --------
    >>> where = BlockSlices(((4, 4, 2), (3, 3)))
    >>> where((2, 1))
    (slice(8, 10, None), slice(3, 6, None))
    """

    def __init__(self, chunks: Sequence[Sequence[int]]) -> None:
        self.starts = [np.concatenate([[0], np.cumsum(c, dtype=np.int64)]) for c in chunks]

    def __call__(self, block_id: Sequence[int]) -> tuple[slice, ...]:
        return tuple(
            slice(int(s[i]), int(s[i + 1])) for s, i in zip(self.starts, block_id, strict=True)
        )


class LazyLayer(Layer):
    """A graph layer whose tasks are built when asked for, not stored.

    Window by window (:func:`bigimg._execute.run_keys` culls a high-level
    graph to each window's keys), only the tasks of the window are ever
    built: the client holds a layer's description (per-axis plans), not
    O(blocks) tasks.

    Parameters
    ----------
    name : str
        The first element of every key.
    indices : callable
        ``indices()`` iterates the rest of each key (a tuple), every time.
    task : callable
        ``task(key)``: the :class:`dask._task_spec.GraphNode` of ``key``, or
        None where ``indices`` yields no such key.
    prepare : callable, optional
        ``prepare(keys)`` is called with a window's keys before their tasks
        are built (to build what they share at once).

    Examples
    --------
    >>> from dask._task_spec import Task
    >>> layer = LazyLayer("x", lambda: iter([(0,), (1,)]), lambda k: Task(k, int, k[1]))
    >>> len(layer), layer[("x", 1)]()
    (2, 1)
    """

    def __init__(
        self,
        name: str,
        indices: Callable[[], Iterator[tuple[int, ...]]],
        task: Callable[[tuple[Any, ...]], GraphNode | None],
        prepare: Callable[[list[tuple[Any, ...]]], None] | None = None,
    ) -> None:
        super().__init__()
        self.name, self._indices, self._task, self._prepare = name, indices, task, prepare
        self._len: int | None = None

    @property
    def has_legacy_tasks(self) -> bool:
        return False

    def is_materialized(self) -> bool:
        return False

    def _build(self, key: Any) -> GraphNode | None:
        if not (isinstance(key, tuple) and key[:1] == (self.name,)):
            return None
        return self._task(key)

    def __getitem__(self, key: Any) -> GraphNode:
        found = self._build(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return self._build(key) is not None

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return ((self.name, *index) for index in self._indices())

    def __len__(self) -> int:
        if self._len is None:
            self._len = sum(1 for _ in self._indices())
        return self._len

    def get_output_keys(self) -> set[Any]:
        return set(self)

    def cull(
        self, keys: set[Any], all_hlg_keys: Collection[Any]
    ) -> tuple[Layer, Mapping[Any, set[Any]]]:
        """The tasks of ``keys`` in this layer (built now), and their dependencies."""
        mine = [key for key in keys if isinstance(key, tuple) and key[:1] == (self.name,)]
        if self._prepare is not None:
            self._prepare(mine)
        built = ((key, self._task(key)) for key in mine)
        out = {key: task for key, task in built if task is not None}
        return MaterializedLayer(out), {key: set(t.dependencies) for key, t in out.items()}


def graph_on(
    arrays: Sequence[Any], layers: Mapping[str, tuple[Layer, Collection[str]]]
) -> HighLevelGraph:
    """The high-level graph of ``arrays`` (dask arrays) with ``layers`` added:
    name -> (layer, the names of the layers it depends on)."""
    merged: dict[str, Any] = {}
    dependencies: dict[str, set[str]] = {}
    for array in arrays:
        graph = array.__dask_graph__()  # a dask Array's graph is a HighLevelGraph
        merged.update(graph.layers)
        dependencies.update(graph.dependencies)
    for name, (layer, needs) in layers.items():
        merged[name], dependencies[name] = layer, set(needs)
    return HighLevelGraph(merged, dependencies)
