"""Connected-component labelling and label clean-up on dask arrays.

``label`` stands on the label-merge engine (:mod:`bigimg._labels`): its ids
are scipy's, for every chunking. The clean-up functions do lazily what the
tutorial does with numpy fancy indexing on the whole image (``mask_size[label_im]``,
``np.searchsorted(np.unique(l), l)``).
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi

from bigimg import _labels
from bigimg.ndimage._inputs import as_dask, check_output

__all__ = ["label"]


def label(input: Any, structure: Any = None, output: Any = None) -> tuple[da.Array, int]:
    """Label connected components, exactly as ``scipy.ndimage.label``.

    Parameters
    ----------
    input : array_like or dask.array.Array
        Image whose non-zero pixels are the features.
    structure : array_like, optional
        Connectivity, 3 along every axis and symmetric about its centre
        (default: faces only, ``generate_binary_structure(ndim, 1)``).
    output : dtype, optional
        Of the label image (default scipy's: int32, or intp for arrays of
        2**31 - 2 pixels or more). An output array is not accepted.

    Returns
    -------
    labels : dask.array.Array
        Lazy label image, chunked like ``input``: the ids are scipy's (in
        raster order of each object's first pixel) whatever the chunking.
    num_features : int
        Number of objects. Computing it reads the data once: each block is
        labelled, and the labels of neighbouring blocks are joined on their
        shared faces. Computing ``labels`` later labels each block again.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.array([[0, 1, 1, 0], [1, 0, 1, 1], [1, 0, 0, 0], [0, 1, 1, 1]])
    >>> lab, n = label(da.from_array(x, chunks=2))
    >>> n
    3
    >>> bool((lab.compute() == ndi.label(x)[0]).all())
    True
    """
    image = as_dask(input)
    if np.issubdtype(image.dtype, np.complexfloating):
        raise TypeError("label: complex input is not supported (like scipy)")
    structure = _labels.check_structure(structure, image.ndim)
    out_dtype = check_output(output)
    dtype = _labels.label_dtype(image.size) if out_dtype is None else out_dtype
    if dtype.kind not in "iu":
        raise TypeError(f"output={output!r}: labels need an integer dtype")
    if image.ndim == 0 or image.size == 0:
        values = np.asarray(image.compute())
        labels, count = ndi.label(values, structure if image.ndim else None)
        return da.from_array(np.asarray(labels, dtype=dtype), chunks=image.chunks), int(count)
    table = _labels.merge_labels(image, structure)
    if table.count > np.iinfo(dtype).max:
        raise ValueError(
            f"output={dtype}: {table.count} labels do not fit; use a wider integer dtype"
        )
    return _labels.relabelled(image, structure, table, dtype), table.count
