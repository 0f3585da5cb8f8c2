"""Binary morphology until nothing changes: propagation, hole filling, ``iterations < 1``.

scipy repeats an erosion or dilation until one iteration changes nothing.
No halo bounds that, and iterating the whole array is what bigimg avoids:

* **Connected components.** When the structure's window around the origin
  is symmetric, contains the pixel itself and fits 3 x ... x 3 (every
  ``generate_binary_structure``, origin 0), the fixed point follows from
  one iteration and the components of the label-merge engine
  (:func:`until_stable`). The union phase of :func:`bigimg._labels.merge_labels`
  runs at call time; the result is lazy.
* **Rounds.** Otherwise (a shifted window, larger structures, a centre that
  is not set) rounds of ``K`` iterations run as one overlap pass each
  (``K`` chosen so the halo is about a chunk), each persisted, until a round
  ends with an iteration that changed nothing
  (:func:`bigimg.ndimage.binary_fixed_point.by_rounds`). Exact, but computed
  at call time and held in (cluster) memory between rounds.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi

from bigimg._validation import as_dask, check_output
from bigimg.ndimage.binary_blocks import plan_binary
from bigimg.ndimage.binary_fixed_point import (
    border_pixels,
    components,
    connectivity_of,
    each_block,
)
from bigimg.ndimage.binary_morphology import binary_dilation

__all__ = ["binary_fill_holes", "binary_propagation"]


def binary_propagation(
    input: Any,
    structure: Any = None,
    mask: Any = None,
    output: Any = None,
    border_value: int = 0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> da.Array:
    """Binary propagation, equal to ``scipy.ndimage.binary_propagation``.

    Dilates ``input`` inside ``mask`` until nothing changes (a morphological
    reconstruction); bit-identical to scipy for every chunking. With a
    structure whose window is symmetric, contains its centre and fits
    3 x ... x 3 (the default, ``generate_binary_structure(ndim, c)``), the
    result follows from connected components of ``mask | first dilation``
    under the structure's connectivity: a component is filled when it holds
    a pixel of the first dilation (a marker pixel, or a mask pixel the
    border reaches when ``border_value=1``). The components are found with
    :mod:`bigimg._labels`, whose union phase runs **at call time** (it reads
    the data once); the returned image is lazy. Other structures (an
    origin that shifts the window, larger structures, a centre that is not
    set) repeat bounded rounds of iterations at call time instead.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The binary marker image (nonzero is True).
    structure : array_like, optional
        Binary structuring element (default: the cross,
        ``generate_binary_structure(ndim, 1)``).
    mask : array_like or dask.array.Array, optional
        Binary image of the input's shape that the propagation stays inside
        (default: none, the whole image).
    output : dtype, optional
        Ignored as in scipy, where the result is boolean whatever dtype is
        named. Unlike scipy, not an array: a lazy result cannot fill one.
    border_value : int, optional
        Value of the pixels past the array's border (default 0).
    origin : int or sequence of int, optional
        Placement of the structure, as in scipy (default 0, centred).
    axes : sequence of int, optional
        Keyword-only, as in scipy: the axes to operate on (default: all).

    Returns
    -------
    dask.array.Array
        Lazy boolean image with the input's shape and chunks.

    Raises
    ------
    ValueError
        For a structure that is not binary or has the wrong number of
        dimensions, a mask of another shape, and what scipy refuses.
    TypeError
        For an ``output`` array; also inside ``fused``, which cannot hold a
        computation over the whole image.

    See Also
    --------
    binary_dilation, binary_fill_holes, bigimg.ndimage.label

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> mask = np.zeros((8, 10), bool)
    >>> mask[1:4, 1:4] = mask[5:7, 2:9] = mask[2, 4:9] = True
    >>> marker = np.zeros_like(mask)
    >>> marker[2, 2] = True
    >>> y = binary_propagation(da.from_array(marker, chunks=3), mask=mask)
    >>> bool((y.compute() == ndi.binary_propagation(marker, mask=mask)).all())
    True
    """
    return binary_dilation(input, structure, -1, mask, output, border_value, origin, axes=axes)


def binary_fill_holes(
    input: Any, structure: Any = None, output: Any = None, origin: Any = 0, *, axes: Any = None
) -> da.Array:
    """Fill the holes of binary objects, equal to ``scipy.ndimage.binary_fill_holes``.

    scipy dilates the array border into the background until nothing
    changes and keeps the rest: a hole is a background component (under the
    structure's connectivity) that the border cannot reach. Bit-identical
    for every chunking, and computed as :func:`binary_propagation`: the
    union of components runs **at call time**, the result is lazy.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The binary image (nonzero is True).
    structure : array_like, optional
        Binary structuring element of the background's connectivity
        (default: the cross, ``generate_binary_structure(ndim, 1)``).
    output : dtype, optional
        Ignored as in scipy, where the result is boolean whatever dtype is
        named. Unlike scipy, not an array: a lazy result cannot fill one.
    origin : int or sequence of int, optional
        Placement of the structure, as in scipy (default 0, centred).
    axes : sequence of int, optional
        Keyword-only, as in scipy: the axes to operate on (default: all).

    Returns
    -------
    dask.array.Array
        Lazy boolean image with the input's shape and chunks: the input
        with its holes set.

    Raises
    ------
    ValueError
        For a structure that is not binary or has the wrong number of
        dimensions, and what scipy refuses.
    TypeError
        For an ``output`` array.

    See Also
    --------
    binary_propagation

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.zeros((7, 9), bool)
    >>> x[1:6, 1:5] = x[1:4, 5:8] = True
    >>> x[3, 2] = x[2, 6] = False
    >>> y = binary_fill_holes(da.from_array(x, chunks=3))
    >>> bool((y.compute() == ndi.binary_fill_holes(x)).all())
    True
    """
    image = as_dask(input)
    check_output(output)
    # checked by plan_binary below: scipy's own fill_holes on a tiny array is not memory-safe
    if image.ndim == 0:
        return da.from_array(ndi.binary_fill_holes(np.asarray(image.compute())))
    background = da.map_blocks(np.logical_not, image, dtype=bool)
    empty = da.zeros(image.shape, dtype=bool, chunks=image.chunks)
    op, _ = plan_binary(
        ndi.binary_dilation, empty, structure, -1, background, None, 1, origin, False, axes
    )
    connectivity = connectivity_of(op)
    if connectivity is None:  # scipy's definition, through the bounded fallback
        reached = binary_dilation(empty, structure, -1, background, None, 1, origin, axes=axes)
        return da.map_blocks(np.logical_not, reached, dtype=bool)
    # the first iteration reaches the background pixels the border touches; every
    # later one only spreads through the background: a hole is what it never reaches

    def parts(phase: str) -> tuple[da.Array, da.Array]:
        region = each_block(np.logical_not, image, phase=phase)
        return region, border_pixels(region, op.window, image.shape, phase)

    return components(parts, connectivity, invert=True)
