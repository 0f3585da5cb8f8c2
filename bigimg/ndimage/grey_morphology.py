"""Grey-scale morphology of scipy.ndimage on dask arrays.

Erosion and dilation reach the footprint's extent; openings, closings,
top-hats, gradients and laplaces chain two passes in one overlap pass whose
halo holds both (:func:`bigimg._halo.call_inside`), so results are scipy's
for every chunking and mode. The implementation is
:func:`bigimg.ndimage.morphology.grey_operation`.
"""

from __future__ import annotations

from typing import Any

import dask.array as da

from bigimg.ndimage.morphology import grey_operation

__all__ = [
    "black_tophat",
    "grey_closing",
    "grey_dilation",
    "grey_erosion",
    "grey_opening",
    "morphological_gradient",
    "morphological_laplace",
    "white_tophat",
]


def grey_erosion(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> da.Array:
    """Grey-scale erosion, equal to ``scipy.ndimage.grey_erosion``.

    Equal for every chunking and mode: scipy's minimum filter (with
    ``structure``: of the input minus the structure's values) on each block,
    or, for a float image and a box window, the separable passes of
    :func:`minimum_filter`.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    size : int or sequence of int, optional
        Shape of a flat, full structuring element, one or one per filtered
        axis; used when neither ``footprint`` nor ``structure`` is given
        (ignored, with scipy's warning, alongside ``footprint``).
    footprint : array_like of bool, optional
        Positions of a flat structuring element.
    structure : array_like, optional
        Values of a non-flat structuring element, subtracted from the input under it.
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str or sequence of str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), applied at the border of the whole array, never at
        chunk borders; one per filtered axis where scipy takes it (box windows).
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0).
    origin : int or sequence of int, optional
        Shift of the structuring element, one or one per filtered axis.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default all); ``size``, ``footprint``, ``structure``
        and ``origin`` then have one entry per filtered axis.

    Returns
    -------
    dask.array.Array
        Lazy erosion, with the input's shape and chunks.

    Raises
    ------
    ValueError
        If no valid window is given, or scipy refuses the arguments.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).integers(0, 9, (20, 30))
    >>> y = grey_erosion(da.from_array(x, chunks=7), footprint=np.eye(3), mode="wrap")
    >>> bool((y.compute() == ndi.grey_erosion(x, footprint=np.eye(3), mode="wrap")).all())
    True
    """
    return grey_operation(
        "grey_erosion", input, size, footprint, structure, output, mode, cval, origin, axes
    )


def grey_dilation(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> da.Array:
    """Grey-scale dilation, equal to ``scipy.ndimage.grey_dilation``.

    Equal for every chunking and mode: scipy's maximum filter (with
    ``structure``: of the input plus the structure's values) on each block,
    or, for a float image and a box window, the separable passes of
    :func:`maximum_filter`. Its reach is the erosion's, mirrored (scipy
    reflects the structuring element and shifts the origin).

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    size : int or sequence of int, optional
        Shape of a flat, full structuring element, one or one per filtered
        axis; used when neither ``footprint`` nor ``structure`` is given
        (ignored, with scipy's warning, alongside ``footprint``).
    footprint : array_like of bool, optional
        Positions of a flat structuring element.
    structure : array_like, optional
        Values of a non-flat structuring element, added to the input under it.
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str or sequence of str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), applied at the border of the whole array, never at
        chunk borders; one per filtered axis where scipy takes it (box windows).
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0).
    origin : int or sequence of int, optional
        Shift of the structuring element, one or one per filtered axis.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default all); ``size``, ``footprint``, ``structure``
        and ``origin`` then have one entry per filtered axis.

    Returns
    -------
    dask.array.Array
        Lazy dilation, with the input's shape and chunks.

    Raises
    ------
    ValueError
        If no valid window is given, or scipy refuses the arguments.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.zeros((7, 7), dtype=int)
    >>> x[1, 1], x[4, 4], x[2, 5] = 1, 2, 3
    >>> y = grey_dilation(da.from_array(x, chunks=3), size=(3, 3))
    >>> bool((y.compute() == ndi.grey_dilation(x, size=(3, 3))).all())
    True
    """
    return grey_operation(
        "grey_dilation", input, size, footprint, structure, output, mode, cval, origin, axes
    )


def grey_opening(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> da.Array:
    """Grey-scale opening, equal to ``scipy.ndimage.grey_opening``.

    Erosion then dilation, as one overlap pass whose halo holds both, running
    scipy's ``grey_opening`` (for a float image and a box window: its minimum
    and maximum filters, on whole lines); equal for every chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    size : int or sequence of int, optional
        Shape of a flat, full structuring element, one or one per filtered
        axis; used when neither ``footprint`` nor ``structure`` is given
        (ignored, with scipy's warning, alongside ``footprint``).
    footprint : array_like of bool, optional
        Positions of a flat structuring element.
    structure : array_like, optional
        Values of a non-flat structuring element, subtracted by the erosion, added by the dilation.
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str or sequence of str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), applied at the border of the whole array, never at
        chunk borders; one per filtered axis where scipy takes it (box windows).
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0).
    origin : int or sequence of int, optional
        Shift of the structuring element, one or one per filtered axis.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default all); ``size``, ``footprint``, ``structure``
        and ``origin`` then have one entry per filtered axis.

    Returns
    -------
    dask.array.Array
        Lazy opening, with the input's shape and chunks.

    Raises
    ------
    ValueError
        If no valid window is given, or scipy refuses the arguments.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).integers(0, 50, (24, 18)).astype(np.uint8)
    >>> y = grey_opening(da.from_array(x, chunks=5), size=(3, 2), mode="mirror")
    >>> bool((y.compute() == ndi.grey_opening(x, size=(3, 2), mode="mirror")).all())
    True
    """
    return grey_operation(
        "grey_opening", input, size, footprint, structure, output, mode, cval, origin, axes
    )


def grey_closing(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> da.Array:
    """Grey-scale closing, equal to ``scipy.ndimage.grey_closing``.

    Dilation then erosion, as one overlap pass whose halo holds both, running
    scipy's ``grey_closing`` (for a float image and a box window: its maximum
    and minimum filters, on whole lines); equal for every chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    size : int or sequence of int, optional
        Shape of a flat, full structuring element, one or one per filtered
        axis; used when neither ``footprint`` nor ``structure`` is given
        (ignored, with scipy's warning, alongside ``footprint``).
    footprint : array_like of bool, optional
        Positions of a flat structuring element.
    structure : array_like, optional
        Values of a non-flat structuring element, added by the dilation, subtracted by the erosion.
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str or sequence of str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), applied at the border of the whole array, never at
        chunk borders; one per filtered axis where scipy takes it (box windows).
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0).
    origin : int or sequence of int, optional
        Shift of the structuring element, one or one per filtered axis.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default all); ``size``, ``footprint``, ``structure``
        and ``origin`` then have one entry per filtered axis.

    Returns
    -------
    dask.array.Array
        Lazy closing, with the input's shape and chunks.

    Raises
    ------
    ValueError
        If no valid window is given, or scipy refuses the arguments.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((24, 18))
    >>> fp = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)
    >>> y = grey_closing(da.from_array(x, chunks=5), footprint=fp, mode="nearest")
    >>> bool((y.compute() == ndi.grey_closing(x, footprint=fp, mode="nearest")).all())
    True
    """
    return grey_operation(
        "grey_closing", input, size, footprint, structure, output, mode, cval, origin, axes
    )


def white_tophat(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> da.Array:
    """White top-hat (input minus its opening), equal to ``scipy.ndimage.white_tophat``.

    One overlap pass whose halo holds the opening's two passes, running
    scipy's ``white_tophat`` (for a float image and a box window: its filters
    on whole lines, then its arithmetic); equal, dtype included, for every
    chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    size : int or sequence of int, optional
        Shape of a flat, full structuring element, one or one per filtered
        axis; used when neither ``footprint`` nor ``structure`` is given
        (ignored, with scipy's warning, alongside ``footprint``).
    footprint : array_like of bool, optional
        Positions of a flat structuring element.
    structure : array_like, optional
        Values of a non-flat structuring element, as in the opening.
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str or sequence of str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), applied at the border of the whole array, never at
        chunk borders; one per filtered axis where scipy takes it (box windows).
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0).
    origin : int or sequence of int, optional
        Shift of the structuring element, one or one per filtered axis.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default all); ``size``, ``footprint``, ``structure``
        and ``origin`` then have one entry per filtered axis.

    Returns
    -------
    dask.array.Array
        Lazy white top-hat, with the input's shape and chunks.

    Raises
    ------
    ValueError
        If no valid window is given, or scipy refuses the arguments.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).integers(0, 50, (24, 18)).astype(np.uint8)
    >>> y = white_tophat(da.from_array(x, chunks=5), size=(3, 2), mode="mirror")
    >>> bool((y.compute() == ndi.white_tophat(x, size=(3, 2), mode="mirror")).all())
    True
    """
    return grey_operation(
        "white_tophat", input, size, footprint, structure, output, mode, cval, origin, axes
    )


def black_tophat(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> da.Array:
    """Black top-hat (closing minus the input), equal to ``scipy.ndimage.black_tophat``.

    One overlap pass whose halo holds the closing's two passes, running
    scipy's ``black_tophat`` (for a float image and a box window: its filters
    on whole lines, then its arithmetic); equal, dtype included, for every
    chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    size : int or sequence of int, optional
        Shape of a flat, full structuring element, one or one per filtered
        axis; used when neither ``footprint`` nor ``structure`` is given
        (ignored, with scipy's warning, alongside ``footprint``).
    footprint : array_like of bool, optional
        Positions of a flat structuring element.
    structure : array_like, optional
        Values of a non-flat structuring element, as in the closing.
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str or sequence of str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), applied at the border of the whole array, never at
        chunk borders; one per filtered axis where scipy takes it (box windows).
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0).
    origin : int or sequence of int, optional
        Shift of the structuring element, one or one per filtered axis.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default all); ``size``, ``footprint``, ``structure``
        and ``origin`` then have one entry per filtered axis.

    Returns
    -------
    dask.array.Array
        Lazy black top-hat, with the input's shape and chunks.

    Raises
    ------
    ValueError
        If no valid window is given, or scipy refuses the arguments.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).integers(0, 50, (24, 18)).astype(np.int16)
    >>> y = black_tophat(da.from_array(x, chunks=5), size=3, mode="wrap")
    >>> bool((y.compute() == ndi.black_tophat(x, size=3, mode="wrap")).all())
    True
    """
    return grey_operation(
        "black_tophat", input, size, footprint, structure, output, mode, cval, origin, axes
    )


def morphological_gradient(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> da.Array:
    """Morphological gradient, equal to ``scipy.ndimage.morphological_gradient``.

    Dilation minus erosion, as one overlap pass whose halo holds the larger
    of the two passes (both read the input), running scipy's
    ``morphological_gradient`` (for a float image and a box window: its
    filters on whole lines); equal for every chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    size : int or sequence of int, optional
        Shape of a flat, full structuring element, one or one per filtered
        axis; used when neither ``footprint`` nor ``structure`` is given
        (ignored, with scipy's warning, alongside ``footprint``).
    footprint : array_like of bool, optional
        Positions of a flat structuring element.
    structure : array_like, optional
        Values of a non-flat structuring element, added by the dilation, subtracted by the erosion.
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str or sequence of str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), applied at the border of the whole array, never at
        chunk borders; one per filtered axis where scipy takes it (box windows).
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0).
    origin : int or sequence of int, optional
        Shift of the structuring element, one or one per filtered axis.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default all); ``size``, ``footprint``, ``structure``
        and ``origin`` then have one entry per filtered axis.

    Returns
    -------
    dask.array.Array
        Lazy gradient, with the input's shape and chunks.

    Raises
    ------
    ValueError
        If no valid window is given, or scipy refuses the arguments.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).integers(0, 50, (24, 18)).astype(np.uint8)
    >>> y = morphological_gradient(da.from_array(x, chunks=5), size=(3, 2))
    >>> bool((y.compute() == ndi.morphological_gradient(x, size=(3, 2))).all())
    True
    """
    return grey_operation(
        "morphological_gradient",
        input,
        size,
        footprint,
        structure,
        output,
        mode,
        cval,
        origin,
        axes,
    )


def morphological_laplace(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> da.Array:
    """Morphological Laplace, equal to ``scipy.ndimage.morphological_laplace``.

    Dilation plus erosion minus twice the input, as one overlap pass whose
    halo holds the larger of the two passes (both read the input), running
    scipy's ``morphological_laplace`` (for a float image and a box window: its
    filters on whole lines); equal, with scipy's arithmetic in the input's
    dtype, for every chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    size : int or sequence of int, optional
        Shape of a flat, full structuring element, one or one per filtered
        axis; used when neither ``footprint`` nor ``structure`` is given
        (ignored, with scipy's warning, alongside ``footprint``).
    footprint : array_like of bool, optional
        Positions of a flat structuring element.
    structure : array_like, optional
        Values of a non-flat structuring element, added by the dilation, subtracted by the erosion.
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str or sequence of str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), applied at the border of the whole array, never at
        chunk borders; one per filtered axis where scipy takes it (box windows).
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0).
    origin : int or sequence of int, optional
        Shift of the structuring element, one or one per filtered axis.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default all); ``size``, ``footprint``, ``structure``
        and ``origin`` then have one entry per filtered axis.

    Returns
    -------
    dask.array.Array
        Lazy Laplace, with the input's shape and chunks.

    Raises
    ------
    ValueError
        If no valid window is given, or scipy refuses the arguments.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((24, 18))
    >>> y = morphological_laplace(da.from_array(x, chunks=5), size=(3, 2), mode="mirror")
    >>> bool((y.compute() == ndi.morphological_laplace(x, size=(3, 2), mode="mirror")).all())
    True
    """
    return grey_operation(
        "morphological_laplace",
        input,
        size,
        footprint,
        structure,
        output,
        mode,
        cval,
        origin,
        axes,
    )
