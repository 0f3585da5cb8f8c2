"""bigimg: scipy.ndimage for images larger than memory, on dask.

>>> import bigimg
>>> image = bigimg.datasets.natural((4096, 4096), chunks=1024)   # lazy
>>> smooth = bigimg.ndimage.gaussian_filter(image, sigma=3)       # lazy, exact

``bigimg.ndimage`` mirrors scipy.ndimage; ``bigimg.filters``,
``bigimg.segmentation``, ``bigimg.feature`` and ``bigimg.morphology`` mirror
the scikit-image functions people use next.
"""

from bigimg import cluster, datasets, morphology, ndimage, segmentation
from bigimg.errors import (
    BigimgError,
    IncompleteDataError,
    TargetExistsError,
    UnknownFormatError,
)
from bigimg.io import ImageInfo, info, open, save

__version__ = "0.1.0"

__all__ = [
    "BigimgError",
    "ImageInfo",
    "IncompleteDataError",
    "TargetExistsError",
    "UnknownFormatError",
    "cluster",
    "datasets",
    "info",
    "morphology",
    "ndimage",
    "open",
    "save",
    "segmentation",
]
