"""What all morphology shares, and the implementation of grey morphology.

The public grey operations are in :mod:`bigimg.ndimage.grey_morphology`;
they call :func:`grey_operation` here.

Every operation here is local: its reach follows from the footprint (or
structure, or size) and the origin (reflected for dilation, as scipy
reflects the footprint), and one overlap pass computes it
(:func:`bigimg._halo.fusion.apply`), whatever the number of scipy's passes inside:
the block holds the sum of their reaches (opening, closing, top-hats) or the
larger one (gradient, Laplace), and scipy's own function runs on it
(:func:`bigimg._halo.call_inside`), so results are scipy's for every
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
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.ndimage as ndi
from scipy.ndimage import generate_binary_structure, iterate_structure

from bigimg import _halo
from bigimg._halo import LocalOp, apply, as_input, call_inside
from bigimg._validation import check_output, per_axis
from bigimg.ndimage.footprint_passes import min_max, plan_window

__all__ = [
    "generate_binary_structure",
    "iterate_structure",
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


#: the grey operations by scipy's name: (scipy's function, its chain of passes)
_GREY = {
    "grey_erosion": (ndi.grey_erosion, "erosion"),
    "grey_dilation": (ndi.grey_dilation, "dilation"),
    "grey_opening": (ndi.grey_opening, "sequence"),
    "grey_closing": (ndi.grey_closing, "sequence"),
    "white_tophat": (ndi.white_tophat, "sequence"),
    "black_tophat": (ndi.black_tophat, "sequence"),
    "morphological_gradient": (ndi.morphological_gradient, "side by side"),
    "morphological_laplace": (ndi.morphological_laplace, "side by side"),
}


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


def grey_operation(
    name: str,
    input: Any,
    size: Any,
    footprint: Any,
    structure: Any,
    output: Any,
    mode: Any,
    cval: Any,
    origin: Any,
    axes: Any,
) -> Any:
    """The grey operation ``name`` (scipy's name) as one overlap pass running
    scipy's function on each block, or, for a float image and a box window,
    as separable minimum and maximum filters (:func:`_grey_box`).

    Its chain of passes (``_GREY``) gives the halo: 'erosion', 'dilation',
    'sequence' (one then the other: opening, closing, top-hats) or 'side by
    side' (both on the input: gradient, Laplace). Called by the public
    function (scipy's "ignoring size" warning points at its caller).
    """
    scipy_func, passes = _GREY[name]
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
        return min_max("minimum_filter", x, shape, None, out, mode, cval, origins, axes)

    def dilate(x: Any, out: Any = None) -> Any:
        return min_max("maximum_filter", x, shape, None, out, mode, cval, mirrored, axes)

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
