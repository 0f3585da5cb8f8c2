"""Where the blocks of a chunk grid lie, found per task, not stored per block.

dask's ``map_blocks`` hands a function ``block_info`` by building a dict for
every block when the graph is built: O(blocks) of client time and memory
before anything runs (at 2**20 blocks, seconds and gigabytes). A function
that takes ``block_id`` instead, with a :class:`BlockSlices` of the grid,
finds its block's place when it runs; the grid's description is one offset
per chunk edge.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["BlockSlices"]


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
