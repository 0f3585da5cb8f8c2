"""The blocks binary morphology runs on: scipy's arguments checked once, an
operation planned (its window, reach and guard), an image and its mask packed
into one block (one bit each, so the mask gets the image's halo), and one
overlap pass of scipy's own function on each block.

Used by :mod:`bigimg.ndimage.binary_morphology` (bounded iterations),
:mod:`bigimg.ndimage.binary_fixed_point` (until nothing changes) and
:mod:`bigimg.ndimage.binary_reconstruction`.
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
from bigimg._halo import LocalOp, Tracer, apply, call_inside
from bigimg._validation import check_output, scipy_dry_run
from bigimg.ndimage.binary_windows import iterated, reflected, repeat
from bigimg.ndimage.binary_windows import window as window_of
from bigimg.ndimage.morphology import check_origin, kernel_depth

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
class BinaryOp:
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


def plan_binary(
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
) -> tuple[BinaryOp, int]:
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
    op = BinaryOp(func, s, origins, border_value, bool(brute_force), axes, reach, window, full)
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
IMAGE, _RAW, _INT8 = 1, 2, 4  # bits of a packed block


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


def pack(image: Any, mask: Any, phase: str = "") -> Any:
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


def unpack_mask(packed: np.ndarray, how: str) -> np.ndarray:
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
        x, mask = (block & IMAGE) != 0, unpack_mask(block, "raw16")
    for name in steps:
        x = run_binary(getattr(ndi, name), x, mask=mask, guard=guard, **kwargs)
    return x


def local_binary(
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
    target = image if mask is None else pack(image, mask, phase)
    func = functools.partial(
        _binary_block, steps=steps, kwargs=kwargs, masked=mask is not None, guard=guard
    )
    block = functools.partial(call_inside, func=func, kwargs={})
    rules = ("constant",) * image.ndim  # blocks stop at the array border, scipy extends it
    # (a block has an axis shorter than the structure only where the array has: see run_binary)
    token = (name, steps, kwargs, mask is not None, guard, phase)
    op = LocalOp(f"{name}{phase}", block, depth, rules, 0, np.dtype(bool), token)
    return apply(op, target)


def repeated_reach(depth: _halo.Depth, k: int) -> _halo.Depth:
    return tuple((b * k, a * k) for b, a in depth)


def zero_dim(func: Callable[..., Any], image: Any, *args: Any, **kwargs: Any) -> da.Array | None:
    """0-d images (no chunks to speak of) are computed by scipy at once."""
    if isinstance(image, Tracer) or image.ndim > 0:
        return None
    values = [np.asarray(a.compute()) if isinstance(a, da.Array) else a for a in args]
    return da.from_array(np.asarray(func(np.asarray(image.compute()), *values, **kwargs)))
