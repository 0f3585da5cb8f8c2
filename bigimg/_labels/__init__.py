"""The label engine: connected components across chunks, with scipy's ids.

- :mod:`.blocks`: each block labelled on its own (compiled union-find scan),
  with each provisional label's first pixel;
- :mod:`.merge`: labels paired across the faces between neighbouring blocks
  (per the structure), united once, and numbered by their first pixel in
  raster order, so ids never depend on the chunking.

Callers import from this front only.
"""

from bigimg._labels.blocks import BlockLabels, label_block, label_block_mapped
from bigimg._labels.merge import (
    LabelTable,
    check_structure,
    label_dtype,
    merge_labels,
    relabelled,
)

__all__ = [
    "BlockLabels",
    "LabelTable",
    "check_structure",
    "label_block",
    "label_block_mapped",
    "label_dtype",
    "merge_labels",
    "relabelled",
]
