"""The reduction engine: per-label statistics of a chunked image in one pass.

- :mod:`.partials`: per block, partial statistics for every label present at
  once (:class:`Partial`), and how two partials combine;
- :mod:`.tree`: the partials combined in a tree, in windows, and aggregated
  (:func:`reduce_labels`, :func:`reduce_regions`).

Every measurement, ``find_objects``, region tables and histograms are views
on it. Callers import from this front only.
"""

from bigimg._reduce.partials import (
    STATS,
    Partial,
    Plan,
    Regions,
    block_partial,
    combine,
    sums_as_float,
)
from bigimg._reduce.tree import (
    Reduction,
    index_keys,
    key_dtype,
    reduce_labels,
    reduce_regions,
    reduction_graph,
    regions_for,
)

__all__ = [
    "STATS",
    "Partial",
    "Plan",
    "Reduction",
    "Regions",
    "block_partial",
    "combine",
    "index_keys",
    "key_dtype",
    "reduce_labels",
    "reduce_regions",
    "reduction_graph",
    "regions_for",
    "sums_as_float",
]
