"""Connected-component labelling on dask arrays.

``label`` stands on the label-merge engine (:mod:`bigimg._labels`): its ids
are scipy's, for every chunking. The clean-up functions that are not
scipy.ndimage's live in the scikit-image mirrors: ``relabel`` and
``relabel_sequential`` in :mod:`bigimg.segmentation`,
``remove_small_objects`` in :mod:`bigimg.morphology`.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi

from bigimg import _labels
from bigimg._validation import as_dask, check_output

__all__ = ["check_label_dtype", "label"]


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
        2**31 - 2 pixels or more, so the count always fits the default; ids
        are counted in int64 throughout). An output array is not accepted.
        A dtype too narrow for the number of objects raises ValueError
        ("insufficient bit-depth", scipy's RuntimeError) when ``label`` is
        called.

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
            f"output={dtype}: insufficient bit-depth in requested output type: "
            f"{table.count} labels do not fit (at most {np.iinfo(dtype).max}); "
            "use a wider integer dtype"
        )
    return _labels.relabelled(image, structure, table, dtype), table.count


def check_label_dtype(labels: Any, name: str = "labels") -> Any:
    """``labels`` as an array (dask arrays as they are), refused unless its ids are
    integer or boolean, as scikit-image's label functions refuse them.

    A float image is not a label image (every value would become a label), so
    float and complex labels raise TypeError when the function is called,
    before anything is computed. (The scipy.ndimage measurements accept float
    labels, as scipy does; they do not use this check.)
    """
    array = labels if isinstance(labels, da.Array) else np.asarray(labels)
    if array.dtype == object:
        raise TypeError(f"{name} must be a numeric array, not {type(labels).__name__}")
    if array.dtype.kind not in "iub":
        raise TypeError(
            f"{name} must be an integer or boolean image, got {array.dtype}; label a "
            "mask first (bigimg.ndimage.label) or cast integral labels with .astype(int)"
        )
    return array
