"""Labels grown into the background: scikit-image's ``expand_labels`` on dask arrays.

scikit-image takes, for every background pixel within ``distance`` of a
label, the label at its nearest label pixel from
``scipy.ndimage.distance_transform_edt(label_image == 0, return_indices=True)``.
Where two labels are equally near, scipy's indices decide; bigimg's exact
transform (:func:`bigimg.ndimage.distance_transform_edt`) gives scipy's
indices for every chunking, so the result is scikit-image's. The nearest
label pixel of a pixel that grows lies within ``distance``: each chunk reads
the labels around it with a halo of that reach (:mod:`bigimg._halo`).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import dask.array as da
import numpy as np

from bigimg._halo import map_halo
from bigimg._validation import as_dask
from bigimg.ndimage import distance_transform_edt

__all__ = ["expand_labels"]


def _grown(
    labels: np.ndarray, distances: np.ndarray, *indices: np.ndarray, frame: Any, distance: float
) -> np.ndarray:
    """One chunk of the result: the label at each grown pixel's nearest label pixel."""
    trims = tuple(a.trim for a in frame.axes)
    near = distances[trims] <= distance
    out = np.zeros(near.shape, labels.dtype)
    where = [idx[trims][near].astype(np.intp) - a.start for idx, a in zip(indices, frame.axes)]
    out[near] = labels[tuple(where)]
    return out


def _reach(distance: float, spacing: tuple[float, ...], shape: tuple[int, ...]) -> list[int]:
    """Per axis, how far a grown pixel's nearest label pixel can be (a pixel
    more, for rounding), at most the axis."""
    out = []
    for s, n in zip(spacing, shape):
        if distance < 0:
            out.append(0)
        elif s > 0 and math.isfinite(distance / s):
            out.append(min(n, math.floor(distance / s) + 1))
        else:
            out.append(n)
    return out


def expand_labels(label_image: Any, distance: float = 1, spacing: Any = 1) -> da.Array:
    """Labels grown by up to ``distance`` without overlapping, as
    ``skimage.segmentation.expand_labels``.

    Each background (0) pixel within Euclidean ``distance`` of a label takes
    the label of its nearest label pixel; where labels are equally near, the
    one scipy's distance transform picks on the whole array (scikit-image's
    result, for every chunking). Lazy: the exact distance transform, then
    each chunk reads the labels within ``distance`` around it.

    Parameters
    ----------
    label_image : array_like or dask.array.Array
        Labels (0: background).
    distance : float, optional
        How far labels grow, in the units of ``spacing`` (default 1).
    spacing : float or sequence of float, optional
        Pixel spacing along each axis, or one for all (default 1).

    Returns
    -------
    dask.array.Array
        Of ``label_image``'s dtype, shape and chunks.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = np.array([0, 1, 0, 0, 0, 0, 2])
    >>> expand_labels(da.from_array(x, chunks=3), distance=1).compute()
    array([1, 1, 1, 0, 0, 2, 2])
    >>> expand_labels(x, distance=3).compute()
    array([1, 1, 1, 1, 2, 2, 2])
    >>> expand_labels(np.array([0, 1, 0, 1, 0, 2, 0, 0]), distance=0.5).compute()
    array([0, 1, 0, 1, 0, 2, 0, 0])
    """
    image = as_dask(label_image, "label_image")
    if image.dtype == object or image.dtype.kind == "c":
        raise TypeError(f"label_image must be a real-valued array, not {image.dtype}")
    if isinstance(distance, bool) or not isinstance(
        distance, int | float | np.integer | np.floating
    ):
        raise TypeError(f"distance={distance!r} must be a number")
    if math.isnan(distance):
        raise ValueError("distance must not be NaN")
    ndim = image.ndim
    distances, indices = distance_transform_edt(image == 0, sampling=spacing, return_indices=True)
    if ndim == 0 or image.size == 0:
        values = np.asarray(image.compute())
        d, i = np.asarray(distances.compute()), np.asarray(indices.compute())
        out = np.zeros_like(values)
        near = d <= distance
        out[near] = values[tuple(axis[near] for axis in i)]
        return da.from_array(out, chunks=image.chunks)
    steps = np.broadcast_to(np.asarray(spacing, dtype=np.float64), (ndim,))
    reach = _reach(float(distance), tuple(float(s) for s in steps), image.shape)
    parts = [indices[k].rechunk(image.chunks) for k in range(ndim)]
    return map_halo(
        functools.partial(_grown, distance=float(distance)),
        image,
        distances,
        *parts,
        depth=tuple((r, r) for r in reach),
        boundary=("constant",) * ndim,
        dtype=image.dtype,
        name="expand_labels",
        token=("expand_labels", float(distance)),
    )
