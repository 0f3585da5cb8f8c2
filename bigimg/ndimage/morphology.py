"""Grey morphology of scipy.ndimage on dask arrays, and what all morphology shares.

Every operation here is local: its reach follows from the footprint (or
structure, or size) and the origin (reflected for dilation, as scipy
reflects the footprint), and one overlap pass computes it
(:func:`bigimg._local.apply`), whatever the number of scipy's passes inside:
the block holds the sum of their reaches (opening, closing, top-hats) or the
larger one (gradient, Laplace), and scipy's own function runs on it
(:func:`bigimg._overlap.call_inside`), so results are scipy's for every
chunking and mode.

Grey morphology of a floating-point image with a box window (``size``, or a
footprint of ones, no ``structure``) is scipy's separable minimum and
maximum, which run on whole lines (:mod:`bigimg.ndimage.rank_filters`
explains why NaN needs it): the operation is composed of
:func:`~bigimg.ndimage.minimum_filter` and
:func:`~bigimg.ndimage.maximum_filter` and scipy's own arithmetic between them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.ndimage as ndi
from scipy.ndimage import generate_binary_structure, iterate_structure

from bigimg import _halo
from bigimg._local import LocalOp, apply
from bigimg._overlap import call_inside
from bigimg.ndimage._inputs import as_input, check_output, per_axis
from bigimg.ndimage.rank_filters import maximum_filter, minimum_filter, plan_window

__all__ = [
    "black_tophat",
    "generate_binary_structure",
    "grey_closing",
    "grey_dilation",
    "grey_erosion",
    "grey_opening",
    "iterate_structure",
    "morphological_gradient",
    "morphological_laplace",
    "white_tophat",
]


# --- shared by binary and grey morphology ---------------------------------------------------


def kernel_depth(
    shape: Sequence[int], origin: Sequence[int], ndim: int, axes: Sequence[int], name: str
) -> _halo.Depth:
    """Reach of one pass of a kernel of ``shape`` (over ``axes``) shifted by ``origin``
    (:func:`bigimg._halo.footprint`); a bad origin is named ``name``."""
    try:
        return _halo.footprint(shape, origin, ndim, axes)
    except ValueError as exc:
        raise ValueError(f"{name}={tuple(origin)}: {exc}") from None


def check_origin(origin: Any, n: int, name: str = "origin") -> tuple[int, ...]:
    values = per_axis(0 if origin is None else origin, n, name)
    try:
        return tuple(int(np.asarray(v).item()) if np.ndim(v) else int(v) for v in values)
    except (TypeError, ValueError):
        raise TypeError(f"{name}={origin!r} must be integers") from None


# --- grey morphology ------------------------------------------------------------------------


def _kernel_shape(size: Any, footprint: Any, structure: Any, n: int) -> tuple[int, ...]:
    """The window scipy uses: footprint's shape, else structure's, else size."""
    if footprint is not None:
        fp = np.asarray(footprint)
        if fp.ndim != n:
            raise ValueError(f"footprint has {fp.ndim} dimensions; the filter runs over {n} axes")
        return fp.shape
    if structure is not None:
        st = np.asarray(structure)
        if st.ndim != n:
            raise ValueError(f"structure has {st.ndim} dimensions; the filter runs over {n} axes")
        return st.shape
    if size is None:
        raise ValueError("size, footprint, or structure must be specified")
    sizes = per_axis(size, n, "size")
    for s in sizes:
        if not isinstance(s, int | np.integer) or s < 1:
            raise ValueError(f"size={size!r} must be positive integers")
    return tuple(int(s) for s in sizes)


def _grey(
    name: str,
    scipy_func: Callable[..., Any],
    input: Any,
    size: Any,
    footprint: Any,
    structure: Any,
    output: Any,
    mode: Any,
    cval: Any,
    origin: Any,
    axes: Any,
    passes: str,
) -> Any:
    """A grey operation as one overlap pass running ``scipy_func`` on each block.

    ``passes`` names the chain of the operation: 'erosion', 'dilation',
    'sequence' (one then the other: opening, closing, top-hats) or 'side by
    side' (both on the input: gradient, Laplace).
    """
    image = as_input(input)
    axes_t = _halo.normalize_axes(axes, image.ndim)
    n = len(axes_t)
    shape = _kernel_shape(None if footprint is not None else size, footprint, structure, n)
    origins = check_origin(origin, n)
    kwargs, dtype, rules = plan_window(
        scipy_func,
        image,
        (),
        size,
        footprint,
        mode,
        cval,
        origin,
        axes,
        stacklevel=3,
        structure=structure,
        output=check_output(output),
    )
    box = structure is None and (footprint is None or np.asarray(footprint).all())
    if box and image.dtype.kind == "f":
        return _grey_box(name, image, shape, origins, mode, cval, axes, np.dtype(dtype))
    erosion = kernel_depth(shape, origins, image.ndim, axes_t, "origin")
    depth = {
        "erosion": erosion,
        "dilation": _halo.mirror(erosion),
        "sequence": _halo.add(erosion, _halo.mirror(erosion)),
        "side by side": _halo.maximum(erosion, _halo.mirror(erosion)),
    }[passes]
    func = functools.partial(call_inside, func=scipy_func, kwargs=kwargs)
    op = LocalOp(name, func, depth, tuple(rules), 0, np.dtype(dtype), (name, kwargs))
    return apply(op, image)


def _grey_box(
    name: str,
    image: Any,
    shape: tuple[int, ...],
    origins: tuple[int, ...],
    mode: Any,
    cval: Any,
    axes: Any,
    dtype: np.dtype,
) -> Any:
    """A grey operation with a box window as scipy computes it: separable minimum
    (erosion) and maximum (dilation, origin mirrored) filters, combined by
    scipy's arithmetic; ``dtype`` is scipy's result dtype (from its dry run)."""
    # scipy's dilation reflects the window: origin -o, one less along even lengths
    mirrored = tuple(-o - (0 if n & 1 else 1) for o, n in zip(origins, shape))

    def erode(x: Any, out: Any = None) -> Any:
        return minimum_filter(x, shape, None, out, mode, cval, origins, axes=axes)

    def dilate(x: Any, out: Any = None) -> Any:
        return maximum_filter(x, shape, None, out, mode, cval, mirrored, axes=axes)

    if name == "grey_erosion":
        return erode(image, dtype)
    if name == "grey_dilation":
        return dilate(image, dtype)
    if name == "grey_opening":
        return dilate(erode(image), dtype)
    if name == "grey_closing":
        return erode(dilate(image), dtype)
    if name == "white_tophat":
        return (image - dilate(erode(image), dtype)).astype(dtype)
    if name == "black_tophat":
        return (erode(dilate(image), dtype) - image).astype(dtype)
    if name == "morphological_gradient":
        return (dilate(image) - erode(image)).astype(dtype)
    # morphological_laplace: scipy adds and subtracts in place, in the input's dtype
    return ((dilate(image) + erode(image) - image) - image).astype(dtype)


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
) -> Any:
    """Grey erosion; equals ``scipy.ndimage.grey_erosion`` for every chunking and mode.

    Parameters are scipy's; ``output`` is a dtype. scipy's minimum filter
    (with ``structure``: minus the structure's values) runs on each block.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).integers(0, 9, (20, 30))
    >>> y = grey_erosion(da.from_array(x, chunks=7), footprint=np.eye(3), mode="wrap")
    >>> bool((y.compute() == ndi.grey_erosion(x, footprint=np.eye(3), mode="wrap")).all())
    True
    """
    return _grey(
        "grey_erosion",
        ndi.grey_erosion,
        input,
        size,
        footprint,
        structure,
        output,
        mode,
        cval,
        origin,
        axes,
        "erosion",
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
) -> Any:
    """Grey dilation; equals ``scipy.ndimage.grey_dilation`` for every chunking and mode.

    Parameters are scipy's; ``output`` is a dtype. Its reach is the erosion's,
    mirrored (scipy reflects the footprint and shifts the origin).

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.zeros((7, 7), dtype=int)
    >>> x[1, 1], x[4, 4], x[2, 5] = 1, 2, 3
    >>> y = grey_dilation(da.from_array(x, chunks=3), size=(3, 3))
    >>> bool((y.compute() == ndi.grey_dilation(x, size=(3, 3))).all())
    True
    """
    return _grey(
        "grey_dilation",
        ndi.grey_dilation,
        input,
        size,
        footprint,
        structure,
        output,
        mode,
        cval,
        origin,
        axes,
        "dilation",
    )


def _composite(name: str, scipy_func: Callable[..., Any], passes: str) -> Callable[..., Any]:
    def op(
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
    ) -> Any:
        return _grey(
            name,
            scipy_func,
            input,
            size,
            footprint,
            structure,
            output,
            mode,
            cval,
            origin,
            axes,
            passes,
        )

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"""Equals ``scipy.ndimage.{name}`` for every chunking and mode.

    One overlap pass whose halo holds both of scipy's passes; scipy's own
    ``{name}`` runs on each block. Parameters are scipy's (``output`` is a dtype).

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).integers(0, 50, (24, 18)).astype(np.uint8)
    >>> y = {name}(da.from_array(x, chunks=5), size=(3, 2), mode="mirror")
    >>> bool((y.compute() == ndi.{name}(x, size=(3, 2), mode="mirror")).all())
    True
    """
    return op


grey_opening = _composite("grey_opening", ndi.grey_opening, "sequence")
grey_closing = _composite("grey_closing", ndi.grey_closing, "sequence")
white_tophat = _composite("white_tophat", ndi.white_tophat, "sequence")
black_tophat = _composite("black_tophat", ndi.black_tophat, "sequence")
morphological_gradient = _composite(
    "morphological_gradient", ndi.morphological_gradient, "side by side"
)
morphological_laplace = _composite(
    "morphological_laplace", ndi.morphological_laplace, "side by side"
)
