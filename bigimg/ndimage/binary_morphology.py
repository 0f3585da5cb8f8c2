"""Binary morphology of scipy.ndimage on dask arrays.

**A bounded number of iterations** is local: ``k`` iterations of a structure
reaching ``r`` pixels reach ``k * r``, so ONE overlap pass with that halo
runs scipy's own function (with the same ``iterations``, ``mask``,
``border_value``, ``origin``, ``brute_force``) on each block. scipy treats
pixels outside the array as ``border_value``: the engine's blocks stop at the
true array border, where scipy applies it itself; inside the image, the
wrong values scipy assumes past a block's edge move inwards by ``r`` per
iteration and never reach the chunk. A ``mask`` travels with the image,
packed into the same blocks (one bit each), so it gets the same halo.

**Iterations < 1** ("repeat until nothing changes") have no bounded reach:
see :mod:`bigimg.ndimage.binary_reconstruction`.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from dask.base import tokenize

from bigimg import _halo
from bigimg._local import LocalOp, Tracer, apply
from bigimg._overlap import call_inside
from bigimg.ndimage._inputs import as_input, check_output, scipy_dry_run
from bigimg.ndimage.binary_windows import iterated, reflected, repeat
from bigimg.ndimage.binary_windows import window as window_of
from bigimg.ndimage.morphology import check_origin, kernel_depth

__all__ = [
    "binary_closing",
    "binary_dilation",
    "binary_erosion",
    "binary_hit_or_miss",
    "binary_opening",
]


# --- arguments --------------------------------------------------------------------------------


def check_binary_structure(structure: Any, n: int, name: str = "structure") -> np.ndarray:
    """A boolean structure over ``n`` axes (default: scipy's cross); errors name ``name``."""
    if structure is None:
        return ndi.generate_binary_structure(n, 1)
    s = np.asarray(structure)
    if s.dtype == object or s.dtype.kind == "c":
        raise TypeError(f"{name} must be an array of 0 and 1, not {s.dtype}")
    if s.ndim != n:
        raise ValueError(f"{name} has {s.ndim} dimensions; the operation runs over {n} axes")
    if s.size == 0:
        raise ValueError(f"{name} must not be empty")
    if s.dtype != bool and not np.isin(s, (0, 1)).all():
        raise ValueError(f"{name} must be binary (0 and 1 only), got values {np.unique(s)}")
    return s.astype(bool)


def _iterations(iterations: Any) -> int:
    try:
        return operator.index(iterations)
    except TypeError:
        raise TypeError(f"iterations={iterations!r} must be an integer") from None


@dataclass(frozen=True)
class _Binary:
    """One checked binary erosion or dilation: scipy's parameters and its window."""

    func: Callable[..., Any]  # ndi.binary_erosion or ndi.binary_dilation
    structure: np.ndarray
    origin: tuple[int, ...]
    border_value: Any
    brute_force: bool
    axes: Any
    reach: _halo.Depth  # of one iteration
    window: np.ndarray  # (k, ndim) offsets one iteration reads around a pixel
    full_shape: tuple[int, ...]  # of the structure, placed in the image's axes

    def kwargs(self, iterations: int) -> dict[str, Any]:
        return dict(
            structure=self.structure,
            iterations=iterations,
            border_value=self.border_value,
            origin=self.origin,
            brute_force=self.brute_force,
            axes=self.axes,
        )

    @property
    def centre_is_true(self) -> bool:
        return bool((self.window == 0).all(axis=1).any())

    @property
    def guard(self) -> tuple[int, ...] | None:
        """Where scipy takes its coordinate-list path for iterations != 1: see
        :func:`run_binary`."""
        return self.full_shape if self.centre_is_true and not self.brute_force else None


def _plan(
    func: Callable[..., Any],
    image: Any,
    structure: Any,
    iterations: Any,
    mask: Any,
    output: Any,
    border_value: Any,
    origin: Any,
    brute_force: bool,
    axes: Any,
) -> tuple[_Binary, int]:
    axes_t = _halo.normalize_axes(axes, image.ndim)
    s = check_binary_structure(structure, len(axes_t))
    k = _iterations(iterations)
    origins = check_origin(origin, len(axes_t))
    check_output(output)  # scipy returns booleans whatever dtype output names
    if mask is not None and tuple(np.shape(mask)) != tuple(image.shape):
        raise ValueError(f"mask has shape {np.shape(mask)}; the input has {image.shape}")
    kernel_depth(s.shape, origins, image.ndim, axes_t, "origin")  # the user's values, checked
    effective = (s, origins) if func is ndi.binary_erosion else reflected(s, origins)
    reach = kernel_depth(effective[0].shape, effective[1], image.ndim, axes_t, "origin")
    _dry_run(
        func,
        image,
        mask,
        structure=s,
        iterations=1,  # scipy's iterated paths are unsafe on so small an array (run_binary)
        border_value=border_value,
        origin=origins,
        brute_force=brute_force,
        axes=axes,
    )
    window = window_of(*effective, image.ndim, axes_t)
    full = _halo.place(s.shape, origins, image.ndim, axes_t)[0]
    op = _Binary(func, s, origins, border_value, bool(brute_force), axes, reach, window, full)
    return op, k


def _dry_run(func: Callable[..., Any], image: Any, mask: Any, **kwargs: Any) -> None:
    if mask is None:
        scipy_dry_run(func, image, **kwargs)
        return
    dtype = np.dtype(mask.dtype if hasattr(mask, "dtype") else np.asarray(mask).dtype)

    def run(x: np.ndarray, **kw: Any) -> Any:
        return func(x, mask=np.ones(x.shape, dtype), **kw)

    run.__name__ = func.__name__
    scipy_dry_run(run, image, **kwargs)


# --- image and mask in one block ------------------------------------------------------------

#: bit 0: the image's pixel is non-zero; bit 1: the mask's; bit 2: the mask's cast to int8
#: (scipy casts the mask to int8 for the iterations after the first one when the structure's
#: centre is set: a mask value of 256 or 0.5 takes part in the first iteration only)
_IMAGE, _RAW, _INT8 = 1, 2, 4


def _pack_bits(image: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    out = (image != 0).astype(np.uint8)
    if mask is None:
        return out
    out |= (mask != 0).astype(np.uint8) * _RAW
    if mask.dtype in (np.bool_, np.int8, np.uint8):
        out |= (mask != 0).astype(np.uint8) * _INT8
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            out |= (mask.astype(np.int8) != 0).astype(np.uint8) * _INT8
    return out


def _pack(image: Any, mask: Any, phase: str = "") -> Any:
    """Image and mask as one uint8 image (dask, or traced inside ``fused``);
    ``phase`` names a separate copy of the graph."""
    if isinstance(image, Tracer):
        return image._elementwise(_pack_bits, image, mask)
    if not isinstance(mask, da.Array):
        mask = da.from_array(np.asarray(mask), chunks=image.chunks)
    if mask.dtype == object:
        raise TypeError("mask must be a numeric array")
    if mask.chunks != image.chunks:
        mask = mask.rechunk(image.chunks)
    name = f"pack-{phase}-{tokenize(image, mask, phase)}" if phase else None
    return da.map_blocks(_pack_bits, image, mask, dtype=np.uint8, name=name)


def _unpack_mask(packed: np.ndarray, how: str) -> np.ndarray:
    if how == "raw":
        return (packed & _RAW) != 0
    if how == "int8":
        return (packed & _INT8) != 0
    # scipy's own behaviour on the original mask: 256 is true, then 0 once cast to int8
    return np.where(packed & _RAW, np.where(packed & _INT8, 1, 256), 0).astype(np.int16)


def run_binary(
    func: Callable[..., Any],
    x: np.ndarray,
    *,
    iterations: int,
    mask: np.ndarray | None,
    guard: tuple[int, ...] | None,
    **kwargs: Any,
) -> np.ndarray:
    """scipy's ``func(x, iterations=..., mask=...)``, made fast and memory-safe.

    Without a mask, erosion and dilation are computed by
    :func:`bigimg.ndimage.binary_windows.iterated` (whole-array logic, several
    times scipy's speed, the same result). With one, scipy runs, except: for
    ``iterations != 1`` with the structure's centre set and no ``brute_force``
    (``guard`` is then the structure's shape), scipy follows lists of changed
    pixels, and on an array with an axis shorter than the structure it writes
    out of bounds (heap corruption in scipy 1.17). There the same result is
    computed as scipy defines it: one iteration, then ``iterations - 1``
    brute-force ones with the mask cast to int8, which is how that path reads
    the mask after its first iteration. bigimg's blocks have such an axis only
    when the array has it. scipy's brute-force path (``brute_force``, or the
    centre unset) repeats one iteration: here it stops at a fixed point.
    """
    if mask is None and func in (ndi.binary_erosion, ndi.binary_dilation):
        return iterated(func is ndi.binary_dilation, x, iterations, **kwargs)
    short = guard is not None and any(n < s for n, s in zip(x.shape, guard))
    if iterations == 1 or (guard is not None and not short):
        return func(x, iterations=iterations, mask=mask, **kwargs)
    first = func(x, iterations=1, mask=mask, **kwargs)
    if mask is not None and guard is not None:
        with np.errstate(invalid="ignore", over="ignore"):
            mask = np.asarray(mask).astype(np.int8) != 0
    return _until_fixed(func, first, iterations - 1, mask, kwargs)


def _until_fixed(
    func: Callable[..., Any], x: np.ndarray, iterations: int, mask: Any, kwargs: dict[str, Any]
) -> np.ndarray:
    """scipy's brute-force loop: ``func`` with one iteration, ``iterations``
    times with the same mask, cut short at a fixed point or a cycle
    (:func:`~bigimg.ndimage.binary_windows.repeat`; scipy runs every
    iteration, which a count of 10**9 makes endless)."""
    return repeat(lambda y: func(y, iterations=1, mask=mask, **kwargs), x != 0, iterations)


def _binary_block(
    block: np.ndarray,
    *,
    steps: tuple[str, ...],
    kwargs: dict[str, Any],
    masked: bool,
    guard: tuple[int, ...] | None,
) -> np.ndarray:
    """scipy's erosions / dilations in turn (opening and closing are two)."""
    x, mask = block, None
    if masked:
        x, mask = (block & _IMAGE) != 0, _unpack_mask(block, "raw16")
    for name in steps:
        x = run_binary(getattr(ndi, name), x, mask=mask, guard=guard, **kwargs)
    return x


def _local(
    name: str,
    image: Any,
    mask: Any,
    steps: tuple[str, ...],
    kwargs: dict[str, Any],
    depth: _halo.Depth,
    guard: tuple[int, ...] | None,
    phase: str = "",
) -> Any:
    """One overlap pass of scipy's ``steps`` (with ``kwargs``) reaching ``depth``;
    ``phase`` names a separate copy of the graph."""
    target = image if mask is None else _pack(image, mask, phase)
    func = functools.partial(
        _binary_block, steps=steps, kwargs=kwargs, masked=mask is not None, guard=guard
    )
    block = functools.partial(call_inside, func=func, kwargs={})
    rules = ("constant",) * image.ndim  # blocks stop at the array border, scipy extends it
    # (a block has an axis shorter than the structure only where the array has: see run_binary)
    token = (name, steps, kwargs, mask is not None, guard, phase)
    op = LocalOp(f"{name}{phase}", block, depth, rules, 0, np.dtype(bool), token)
    return apply(op, target)


def _times(depth: _halo.Depth, k: int) -> _halo.Depth:
    return tuple((b * k, a * k) for b, a in depth)


def _zero_dim(func: Callable[..., Any], image: Any, *args: Any, **kwargs: Any) -> da.Array | None:
    """0-d images (no chunks to speak of) are computed by scipy at once."""
    if isinstance(image, Tracer) or image.ndim > 0:
        return None
    values = [np.asarray(a.compute()) if isinstance(a, da.Array) else a for a in args]
    return da.from_array(np.asarray(func(np.asarray(image.compute()), *values, **kwargs)))


# --- erosion and dilation ---------------------------------------------------------------------


def _erode_or_dilate(
    func: Callable[..., Any],
    input: Any,
    structure: Any,
    iterations: Any,
    mask: Any,
    output: Any,
    border_value: Any,
    origin: Any,
    brute_force: bool,
    axes: Any,
) -> Any:
    image = as_input(input)
    op, k = _plan(
        func, image, structure, iterations, mask, output, border_value, origin, brute_force, axes
    )
    if k >= 1:
        name = func.__name__
        return _local(name, image, mask, (name,), op.kwargs(k), _times(op.reach, k), op.guard)
    if isinstance(image, Tracer):
        raise TypeError(
            "iterations < 1 repeats until nothing changes, over the whole image; "
            "it cannot run inside fused"
        )
    zero = _zero_dim(func, image, structure, iterations, mask, None, border_value, origin)
    if zero is not None:
        return zero
    from bigimg.ndimage.binary_reconstruction import until_stable

    return until_stable(op, image, mask)


def binary_erosion(
    input: Any,
    structure: Any = None,
    iterations: int = 1,
    mask: Any = None,
    output: Any = None,
    border_value: int = 0,
    origin: Any = 0,
    brute_force: bool = False,
    *,
    axes: Any = None,
) -> Any:
    """Binary erosion; equals ``scipy.ndimage.binary_erosion`` for every chunking.

    Parameters are scipy's. ``iterations >= 1`` is one overlap pass reaching
    ``iterations`` times the structure's reach; ``iterations < 1`` (until
    nothing changes) computes connected components at call time (see
    :func:`binary_propagation`). ``output`` may name a dtype, which scipy
    ignores too: the result is boolean. ``mask`` is an image of the input's
    shape (dask or numpy).

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.zeros((9, 9), bool)
    >>> x[1:8, 2:8] = True
    >>> y = binary_erosion(da.from_array(x, chunks=2), iterations=2)
    >>> bool((y.compute() == ndi.binary_erosion(x, iterations=2)).all())
    True
    """
    return _erode_or_dilate(
        ndi.binary_erosion,
        input,
        structure,
        iterations,
        mask,
        output,
        border_value,
        origin,
        brute_force,
        axes,
    )


def binary_dilation(
    input: Any,
    structure: Any = None,
    iterations: int = 1,
    mask: Any = None,
    output: Any = None,
    border_value: int = 0,
    origin: Any = 0,
    brute_force: bool = False,
    *,
    axes: Any = None,
) -> Any:
    """Binary dilation; equals ``scipy.ndimage.binary_dilation`` for every chunking.

    Parameters and result as :func:`binary_erosion`.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.zeros((7, 7), bool)
    >>> x[3, 3] = x[0, 6] = True
    >>> s = ndi.generate_binary_structure(2, 2)
    >>> y = binary_dilation(da.from_array(x, chunks=3), s, iterations=2, border_value=1)
    >>> bool((y.compute() == ndi.binary_dilation(x, s, iterations=2, border_value=1)).all())
    True
    """
    return _erode_or_dilate(
        ndi.binary_dilation,
        input,
        structure,
        iterations,
        mask,
        output,
        border_value,
        origin,
        brute_force,
        axes,
    )


def _open_or_close(
    name: str,
    input: Any,
    structure: Any,
    iterations: Any,
    output: Any,
    origin: Any,
    mask: Any,
    border_value: Any,
    brute_force: bool,
    axes: Any,
) -> Any:
    image = as_input(input)
    first, second = (
        (binary_erosion, binary_dilation)
        if name == "binary_opening"
        else (binary_dilation, binary_erosion)
    )
    params = (structure, iterations, mask, output, border_value, origin, brute_force)
    erosion, k = _plan(ndi.binary_erosion, image, *params, axes)
    if k < 1:  # two fixed points, one after the other, as scipy
        tmp = first(image, structure, k, mask, None, border_value, origin, brute_force, axes=axes)
        return second(tmp, structure, k, mask, None, border_value, origin, brute_force, axes=axes)
    dilation, _ = _plan(ndi.binary_dilation, image, *params, axes)
    depth = _times(_halo.add(erosion.reach, dilation.reach), k)
    steps = ("binary_erosion", "binary_dilation")
    if name == "binary_closing":
        steps = steps[::-1]
    return _local(name, image, mask, steps, erosion.kwargs(k), depth, erosion.guard)


def binary_opening(
    input: Any,
    structure: Any = None,
    iterations: int = 1,
    output: Any = None,
    origin: Any = 0,
    mask: Any = None,
    border_value: int = 0,
    brute_force: bool = False,
    *,
    axes: Any = None,
) -> Any:
    """Binary opening (erosion then dilation); equals ``scipy.ndimage.binary_opening``.

    One overlap pass whose halo holds both passes of ``iterations`` each.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((20, 20)) > 0.3
    >>> y = binary_opening(da.from_array(x, chunks=6), iterations=2)
    >>> bool((y.compute() == ndi.binary_opening(x, iterations=2)).all())
    True
    """
    return _open_or_close(
        "binary_opening",
        input,
        structure,
        iterations,
        output,
        origin,
        mask,
        border_value,
        brute_force,
        axes,
    )


def binary_closing(
    input: Any,
    structure: Any = None,
    iterations: int = 1,
    output: Any = None,
    origin: Any = 0,
    mask: Any = None,
    border_value: int = 0,
    brute_force: bool = False,
    *,
    axes: Any = None,
) -> Any:
    """Binary closing (dilation then erosion); equals ``scipy.ndimage.binary_closing``.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(1).random((20, 20)) > 0.6
    >>> y = binary_closing(da.from_array(x, chunks=6))
    >>> bool((y.compute() == ndi.binary_closing(x)).all())
    True
    """
    return _open_or_close(
        "binary_closing",
        input,
        structure,
        iterations,
        output,
        origin,
        mask,
        border_value,
        brute_force,
        axes,
    )


def binary_hit_or_miss(
    input: Any,
    structure1: Any = None,
    structure2: Any = None,
    output: Any = None,
    origin1: Any = 0,
    origin2: Any = None,
    *,
    axes: Any = None,
) -> Any:
    """Hit-or-miss transform; equals ``scipy.ndimage.binary_hit_or_miss``.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(2).random((15, 15)) > 0.5
    >>> s1 = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    >>> y = binary_hit_or_miss(da.from_array(x, chunks=4), s1)
    >>> bool((y.compute() == ndi.binary_hit_or_miss(x, s1)).all())
    True
    """
    image = as_input(input)
    axes_t = _halo.normalize_axes(axes, image.ndim)
    n = len(axes_t)
    s1 = check_binary_structure(structure1, n, "structure1")
    s2 = ~s1 if structure2 is None else check_binary_structure(structure2, n, "structure2")
    o1 = check_origin(origin1, n, "origin1")
    o2 = o1 if origin2 is None else check_origin(origin2, n, "origin2")
    check_output(output)
    depth = _halo.maximum(
        kernel_depth(s1.shape, o1, image.ndim, axes_t, "origin1"),
        kernel_depth(s2.shape, o2, image.ndim, axes_t, "origin2"),
    )
    kwargs = dict(structure1=s1, structure2=s2, origin1=o1, origin2=o2, axes=axes)
    scipy_dry_run(ndi.binary_hit_or_miss, image, **kwargs)
    block = functools.partial(call_inside, func=ndi.binary_hit_or_miss, kwargs=kwargs)
    rules = ("constant",) * image.ndim
    op = LocalOp("binary_hit_or_miss", block, depth, rules, 0, np.dtype(bool), kwargs)
    return apply(op, image)
