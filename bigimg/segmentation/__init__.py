"""scikit-image's ``skimage.segmentation`` on dask arrays: same names,
signatures, defaults and results, lazily.

- :mod:`.boundaries`: ``find_boundaries`` (local, a one-pixel halo) and
  ``clear_border`` (the objects in the border region, then a lazy clear);
- :mod:`.expansion`: ``expand_labels`` (bigimg's exact distance transform);
- :mod:`.relabel`: ``relabel_sequential`` (with scikit-image's ``ArrayMap``
  maps) and bigimg's own ``relabel`` (a lookup table);
- :mod:`.watershed`: ``watershed`` (the flood engine, :mod:`bigimg._flood`).
"""

from bigimg.segmentation.boundaries import clear_border, find_boundaries
from bigimg.segmentation.expansion import expand_labels
from bigimg.segmentation.relabel import ArrayMap, relabel, relabel_sequential
from bigimg.segmentation.watershed import watershed

__all__ = [
    "ArrayMap",
    "clear_border",
    "expand_labels",
    "find_boundaries",
    "relabel",
    "relabel_sequential",
    "watershed",
]
