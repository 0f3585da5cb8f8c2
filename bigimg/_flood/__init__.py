"""The flood engine: marker-based watershed across chunks, the same for every chunking.

- :mod:`.kernels`: compiled block arithmetic (the blocks' trees between their
  terminals, the seeded priority flood, the pass pixels' label sources, and
  the global flood over the terminals);
- :mod:`.blocks`: one block's padded grid and its three passes;
- :mod:`.edge_kernels`, :mod:`.edge_blocks`: the same for edge mode
  (scipy's ``watershed_ift``: a flat array, edges keyed by ``|difference|``,
  levels named by pass edges);
- :mod:`.engine`: the passes over every block and the two global steps
  (:func:`flood_labels`, ``mode="vertex"`` or ``"edge"``).

Callers import from this front only.
"""

from bigimg._flood.engine import flood_labels

__all__ = ["flood_labels"]
