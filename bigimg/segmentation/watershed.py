"""``watershed``: scikit-image's marker-based watershed, across chunks.

Stands on the flood engine (:mod:`bigimg._flood`): the same labels for every
chunking, equal to ``skimage.segmentation.watershed`` on the whole array.
"""

from __future__ import annotations

import numbers
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi

from bigimg._flood import flood_labels
from bigimg._validation import as_dask

__all__ = ["watershed"]


def neighbour_steps(connectivity: Any, ndim: int, name: str = "connectivity") -> np.ndarray:
    """The neighbour offsets (one row each) of scikit-image's ``connectivity``
    (an int as in ``generate_binary_structure``, or a footprint array)."""
    if connectivity is None:
        connectivity = 1
    if np.isscalar(connectivity):
        if not isinstance(connectivity, numbers.Integral | float) or isinstance(
            connectivity, bool
        ):
            raise TypeError(f"{name}={connectivity!r} must be an integer or an array")
        footprint = ndi.generate_binary_structure(ndim, int(connectivity))
    else:
        footprint = np.array(connectivity, bool)
        if footprint.ndim != ndim:
            raise ValueError("Connectivity dimension must be same as image")
        if any(n % 2 == 0 for n in footprint.shape):
            raise ValueError("Connectivity array must have an unambiguous center")
        if footprint.size and not footprint[tuple(n // 2 for n in footprint.shape)]:
            # skimage takes the footprint's nearest offset for the centre and drops
            # it: without the centre, one real neighbour goes (one side only)
            raise NotImplementedError(
                f"{name}: a footprint without its centre is not supported (scikit-image "
                "drops one of its neighbours); set the centre"
            )
    centre = np.array(footprint.shape) // 2
    steps = np.argwhere(footprint) - centre
    steps = steps[np.any(steps != 0, axis=1)]
    if len(steps) and np.abs(steps).max() > 1:
        raise NotImplementedError(
            f"{name}: footprints reaching further than one pixel from the centre are not "
            "supported yet; use an int connectivity or a footprint within 3 pixels a side"
        )
    if {tuple(s) for s in steps} != {tuple(-s) for s in steps}:
        raise NotImplementedError(
            f"{name}: footprints that are not symmetric about their centre are not supported yet"
        )
    return steps.astype(np.int64)


def watershed(
    image: Any,
    markers: Any = None,
    connectivity: Any = 1,
    offset: Any = None,
    mask: Any = None,
    compactness: float = 0,
    watershed_line: bool = False,
) -> da.Array:
    """Find watershed basins in an image flooded from given markers, as
    ``skimage.segmentation.watershed`` on the whole array.

    Parameters
    ----------
    image : array_like or dask.array.Array
        Lowest values are flooded first (compared as float64, like skimage).
    markers : array_like or dask.array.Array of int or bool
        Same shape as ``image``: the labels of the basins' seeds, 0 elsewhere.
        The number of markers or ``None`` (skimage's local minima) is not
        supported yet (NotImplementedError).
    connectivity : int or array_like, optional
        As skimage's: an int (``generate_binary_structure``'s connectivity) or
        a footprint of 3 pixels a side, symmetric about its centre.
    offset : None
        The centre of the footprint; only ``None`` (the footprint's centre).
    mask : array_like or dask.array.Array of bool, optional
        Pixels outside it are neither flooded nor crossed, and labelled 0.
    compactness : 0
        Compact watershed is not supported yet (NotImplementedError).
    watershed_line : False
        Watershed lines are not supported yet (NotImplementedError).

    Returns
    -------
    labels : dask.array.Array
        The markers' dtype, chunked like ``image``. Where skimage's flood is
        not decided by its queue order (an image without equal values), the
        labels are skimage's. Equal values are ordered by position: of two
        pixels of one value, the earlier one in raster (C) order is flooded
        first; the result is skimage's on the image with its ties so broken
        (``scipy.stats.rankdata(image, method="ordinal")``), whatever the
        chunking. The flood over the blocks' faces runs when ``watershed``
        is called (it reads the image twice); computing the labels reads each
        block once more.

    Notes
    -----
    A pixel's level is the lowest, over the paths from a marker to it, of
    the highest value on the path; each pixel takes the label of the first
    of its neighbours a priority flood reaches, which is one of the lowest
    level. Across chunks, each block is reduced to a tree between its
    faces, the faces' levels are found by one flood over those trees, and
    each block is then flooded from its faces (see :mod:`bigimg._flood`).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> from skimage.segmentation import watershed as sk_watershed
    >>> x, y = np.indices((40, 40))
    >>> image = -np.exp(-((x - 12) ** 2 + (y - 14) ** 2) / 60.0) - np.exp(
    ...     -((x - 27) ** 2 + (y - 25) ** 2) / 60.0)
    >>> markers = np.zeros((40, 40), np.int32)
    >>> markers[12, 14], markers[27, 25] = 1, 2
    >>> labels = watershed(da.from_array(image, chunks=16), markers)
    >>> bool((labels.compute() == sk_watershed(image, markers)).all())
    True
    """
    values = as_dask(image, "image")
    if np.issubdtype(values.dtype, np.complexfloating):
        raise TypeError("watershed: complex images are not supported")
    if values.ndim < 1:
        raise ValueError("watershed: image must have at least one dimension")
    if markers is None or np.isscalar(markers):
        raise NotImplementedError(
            "watershed: markers must be an array of labels; markers=None (local minima) and a "
            "number of markers are not supported yet"
        )
    if offset is not None:
        raise NotImplementedError("watershed: offset is not supported yet (use None)")
    if compactness != 0:
        raise NotImplementedError("watershed: compactness is not supported yet (use 0)")
    if watershed_line:
        raise NotImplementedError("watershed: watershed_line is not supported yet")
    seeds = as_dask(markers, "markers")
    if seeds.shape != values.shape:
        raise ValueError(
            f"`markers` (shape {seeds.shape}) must have same shape as `image` "
            f"(shape {values.shape})"
        )
    if seeds.dtype.kind not in "biu":
        raise TypeError(f"watershed: markers of dtype {seeds.dtype} (need integers or bool)")
    within = None
    if mask is not None:
        within = as_dask(mask, "mask")
        if within.shape != values.shape:
            raise ValueError(
                f"`mask` (shape {within.shape}) must have same shape as `image` "
                f"(shape {values.shape})"
            )
        within = within.astype(bool).rechunk(values.chunks)
    steps = neighbour_steps(connectivity, values.ndim)
    dtype = np.result_type(seeds.dtype, bool)
    if values.size == 0:
        return da.zeros(values.shape, dtype=dtype, chunks=values.chunks)
    return flood_labels(
        values.astype(np.float64), seeds.rechunk(values.chunks), within, steps, dtype
    )
