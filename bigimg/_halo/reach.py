"""ONE PLACE #1: how far each operation reaches, per axis and per side.

A *depth* is a tuple with one ``(before, after)`` pair per axis: the output
pixel ``i`` reads input pixels ``i - before`` to ``i + after``. Operations
declare their depth from their parameters with the functions here; the
overlap engine (:mod:`bigimg._halo.overlap`) turns it into halos. Fused chains add
their steps' depths with :func:`add`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "Depth",
    "add",
    "along",
    "footprint",
    "kernel",
    "maximum",
    "mirror",
    "normalize_axes",
    "place",
    "radius",
    "zero",
]

Depth = tuple[tuple[int, int], ...]


def zero(ndim: int) -> Depth:
    return ((0, 0),) * ndim


def add(*depths: Depth) -> Depth:
    """Reach of operations applied one after another (the sum, per side)."""
    ndim = len(depths[0])
    return tuple(
        (sum(d[ax][0] for d in depths), sum(d[ax][1] for d in depths)) for ax in range(ndim)
    )


def maximum(*depths: Depth) -> Depth:
    """Reach of operations applied side by side to the same input."""
    ndim = len(depths[0])
    return tuple(
        (max(d[ax][0] for d in depths), max(d[ax][1] for d in depths)) for ax in range(ndim)
    )


def kernel(shape: Sequence[int], origin: Sequence[int]) -> Depth:
    """Depth of a correlation with a kernel of ``shape`` shifted by ``origin``.

    scipy centres a kernel of length ``n`` at ``n // 2 + origin``, so output
    pixel ``i`` reads ``i - (n // 2 + origin)`` ... ``i + (n - 1 - n // 2 - origin)``.
    An even length or a non-zero origin makes the two sides differ.
    """
    out = []
    for n, o in zip(shape, origin):
        n, o = int(n), int(o)
        before, after = n // 2 + o, n - 1 - n // 2 - o
        if n > 0 and (before < 0 or after < 0):
            raise ValueError(
                f"origin={o} is out of range for a kernel of length {n} "
                f"(allowed: {-(n // 2)} to {(n - 1) // 2})"
            )
        out.append((max(before, 0), max(after, 0)))
    return tuple(out)


def footprint(
    shape: Sequence[int], origin: Sequence[int], ndim: int, axes: Sequence[int]
) -> Depth:
    """Depth of a kernel of ``shape`` over ``axes`` of an ``ndim``-D image.

    scipy places an N-D footprint's dimensions on the filtered axes in
    increasing order, but origins (and a separable filter's sizes) in the
    order of ``axes``: the larger reach of both placements covers either.
    """
    placed, origins = place(shape, origin, ndim, axes)
    return maximum(kernel(placed, origins), along(ndim, axes, kernel(shape, origin)))


def place(
    shape: Sequence[int], origin: Sequence[int], ndim: int, axes: Sequence[int]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A kernel over ``axes`` as scipy places it in an ``ndim``-D image.

    Over fewer axes than the image has, its dimensions fill the filtered axes
    in increasing order (size 1 at the others) and its origins go to ``axes``
    in their given order. Over every axis, scipy uses kernel and origins as
    given, whatever the order of ``axes``.
    """
    if len(axes) == ndim:
        return tuple(int(n) for n in shape), tuple(int(o) for o in origin)
    placed = [1] * ndim
    for ax, n in zip(sorted(axes), shape):
        placed[ax] = int(n)
    origins = [0] * ndim
    for ax, o in zip(axes, origin):
        origins[ax] = int(o)
    return tuple(placed), tuple(origins)


def mirror(depth: Depth) -> Depth:
    """The reach of the reflected kernel (a dilation's, for an erosion's reach)."""
    return tuple((after, before) for before, after in depth)


def radius(radii: Sequence[int]) -> Depth:
    """Symmetric depth ``(r, r)`` per axis."""
    return tuple((int(r), int(r)) for r in radii)


def along(ndim: int, axes: Iterable[int], per_axis: Sequence[tuple[int, int]]) -> Depth:
    """Depth that is ``per_axis[k]`` on ``axes[k]`` and zero elsewhere."""
    out = [(0, 0)] * ndim
    for ax, d in zip(axes, per_axis):
        out[ax] = (int(d[0]), int(d[1]))
    return tuple(out)


def normalize_axes(axes: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """scipy's ``axes`` argument: ``None`` is every axis; negatives count from the end."""
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, int | np.integer):
        axes = (int(axes),)
    try:
        axes = tuple(int(a) for a in axes)
    except TypeError:
        raise TypeError(f"axes={axes!r} must be an int or a sequence of ints") from None
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axes={axes}: axis {a} is out of range for a {ndim}-D image")
    norm = tuple(a % ndim for a in axes)
    if len(set(norm)) != len(norm):
        raise ValueError(f"axes={axes} contains the same axis twice")
    return norm
