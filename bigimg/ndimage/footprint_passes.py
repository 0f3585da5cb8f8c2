"""The shared implementation of scipy.ndimage's footprint filters on dask arrays.

What :mod:`bigimg.ndimage.rank_filters`, :mod:`bigimg.ndimage.generic_filters`
and grey morphology (:mod:`bigimg.ndimage.morphology`) run: scipy's checks and
result dtype from a dry run, the reach of the footprint, scipy on each
halo-extended block, scipy's 1-D passes for separable minimum / maximum (on
whole lines for floating-point images, see :mod:`bigimg.ndimage.rank_filters`
for why NaN needs it), and the compiled selection of the rank filters.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from bigimg import _halo, _kernels
from bigimg._halo import LineOp, apply, as_input
from bigimg._kernels import normalize_modes
from bigimg._validation import check_output, per_axis, scipy_dry_run
from bigimg.ndimage.filter_passes import (
    Positional,
    check_size,
    plan_1d,
    rules_for,
    separable,
    single_pass,
    window_reach,
)

__all__ = ["input_cval", "min_max", "min_max_1d", "plan_window", "windowed"]


def _footprint(size: Any, footprint: Any, n: int) -> np.ndarray:
    """scipy's size-or-footprint rule, over ``n`` filtered axes."""
    if footprint is None:
        if size is None:
            raise ValueError("size or footprint must be given")
        return np.ones(check_size(size, n), dtype=bool)
    fp = np.asarray(footprint, dtype=bool)
    if fp.ndim != n:
        raise ValueError(f"footprint has {fp.ndim} dimensions but the filter runs over {n} axes")
    if not fp.any():
        raise ValueError("footprint must not be all zero")
    return fp


def _nd_depth(ndim: int, axes_t: Sequence[int], shape: Sequence[int], origin: Any) -> _halo.Depth:
    origins = per_axis(0 if origin is None else origin, len(axes_t), "origin")
    return _halo.footprint(shape, [int(o) for o in origins], ndim, axes_t)


#: vectorized_filter pads with np.pad and maps 'grid-mirror' to np.pad's 'reflect',
#: which is scipy's 'mirror' (every other scipy filter treats it as 'reflect')
_PAD_MODES = {"vectorized_filter": {"grid-mirror": "mirror"}}


def input_cval(image: Any, cval: Any) -> Any:
    """scipy's window filters (footprint min/max, rank, median, percentile,
    generic) cast ``cval`` to the input dtype before extending (-3.0 is 253 for
    uint8), unlike its line-buffer filters, which keep it in double."""
    if cval is None:
        return 0
    with np.errstate(all="ignore"):
        return np.asarray(cval).astype(image.dtype)[()]


def _single_mode_rules(ndim: int, axes_t: Sequence[int], mode: Any) -> list[str]:
    modes = per_axis(mode, len(axes_t), "mode")
    normalize_modes(modes, len(axes_t))
    return rules_for(ndim, axes_t, modes)


def plan_window(
    scipy_func: Callable[..., Any],
    image: Any,
    args: tuple[Any, ...],
    size: Any,
    footprint: Any,
    mode: Any,
    cval: Any,
    origin: Any,
    axes: Any,
    *,
    stacklevel: int,
    boundary: Any = None,
    **extra: Any,
) -> tuple[dict[str, Any], np.dtype, list[str]]:
    """Call-time handling shared by the footprint filters (minimum / maximum,
    rank, generic, grey morphology): scipy's own checks and result dtype
    from a dry run on a tiny array (which refuses what scipy refuses), then
    scipy's "ignoring size" warning, raised at the user's call, and the
    boundary rules (``boundary``: the mode they follow, default ``mode``).

    Callers check the footprint first (bigimg's messages name the culprit).
    Returns ``(kwargs, dtype, rules)``; ``kwargs`` are scipy's keyword
    arguments for the blocks (``size`` dropped when a footprint is given).
    """
    axes_t = _halo.normalize_axes(axes, image.ndim)
    kwargs = dict(
        size=size, footprint=footprint, **extra, mode=mode, cval=cval, origin=origin, axes=axes
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dtype = scipy_dry_run(scipy_func, image, *args, **kwargs)
    if size is not None and footprint is not None:
        warnings.warn(
            "ignoring size because footprint is set", UserWarning, stacklevel=stacklevel + 1
        )
        kwargs["size"] = None
    rules = _single_mode_rules(image.ndim, axes_t, mode if boundary is None else boundary)
    return kwargs, dtype, rules


# --- minimum / maximum ----------------------------------------------------------------------


#: scipy's minimum / maximum filters by name: (N-D function, its 1-D passes)
_MIN_MAX = {
    "minimum_filter": (ndi.minimum_filter, ndi.minimum_filter1d),
    "maximum_filter": (ndi.maximum_filter, ndi.maximum_filter1d),
}


def min_max_1d(
    name: str,
    input: Any,
    size: int,
    axis: int,
    output: Any,
    mode: str,
    cval: float,
    origin: int,
) -> Any:
    """``minimum_filter1d`` or ``maximum_filter1d`` (``name``): on whole lines
    for floating-point images, one halo pass otherwise."""
    scipy_func = _MIN_MAX[name.removesuffix("1d")][1]
    n, reach = window_reach(size, origin)
    image, kwargs, dtype, depth, rules = plan_1d(
        input, scipy_func, axis, output, mode, cval, reach, size=n, origin=origin
    )
    if image.dtype.kind == "f":
        params = dict(size=n, mode=mode, cval=cval, origin=origin)
        return _on_lines(image, name, [(scipy_func, kwargs["axis"], params)], dtype)
    return single_pass(image, name, scipy_func, depth, rules, cval, dtype, **kwargs)


def min_max(
    name: str,
    input: Any,
    size: Any,
    footprint: Any,
    output: Any,
    mode: Any,
    cval: float,
    origin: Any,
    axes: Any,
) -> Any:
    """``minimum_filter`` or ``maximum_filter`` (``name``): scipy's separable 1-D
    passes for a full footprint (on whole lines for floating-point images),
    scipy's N-D filter on halo-extended blocks otherwise. Called by the public
    function (scipy's "ignoring size" warning points at its caller)."""
    scipy_func, pass_func = _MIN_MAX[name]
    image = as_input(input)
    axes_t = _halo.normalize_axes(axes, image.ndim)
    n = len(axes_t)
    fp = _footprint(None if footprint is not None else size, footprint, n)
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
        output=check_output(output),
    )
    depth = _nd_depth(image.ndim, axes_t, fp.shape, origin)
    if fp.all():  # scipy runs separable 1-D passes
        origins = per_axis(origin, n, "origin")
        modes = per_axis(mode, n, "mode")
        passes = [
            (pass_func, ax, dict(size=int(s), mode=m, cval=cval, origin=int(o)))
            for ax, s, o, m in zip(axes_t, fp.shape, origins, modes)
            if s > 1
        ]
        if image.dtype.kind == "f":
            return _on_lines(image, name, passes, dtype)
        return separable(image, name, passes, depth, rules, cval, dtype)
    fill = input_cval(image, cval)
    return single_pass(image, name, scipy_func, depth, rules, fill, dtype, **kwargs)


def _on_lines(image: Any, name: str, passes: list[Any], dtype: np.dtype) -> Any:
    """scipy's 1-D minimum / maximum passes of a float image, on whole lines
    (:mod:`bigimg.ndimage.rank_filters` explains why)."""
    return apply(LineOp(name, tuple(passes), np.dtype(dtype)), image)


# --- rank, median, percentile, generic ---------------------------------------------------------


def windowed(
    name: str,
    scipy_func: Callable[..., Any],
    image: Any,
    size: Any,
    footprint: Any,
    mode: Any,
    cval: Any,
    origin: Any,
    axes: Any,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """The filter ``name`` (rank, median, percentile, generic, vectorized): scipy's
    ``scipy_func(block, *args, **kwargs)`` on halo-extended blocks, through the
    compiled selection for the rank filters, or on whole lines where scipy runs
    a rank as its separable minimum / maximum. Called by the public function
    (scipy's "ignoring size" warning points at its caller)."""
    image = as_input(image)
    axes_t = _halo.normalize_axes(axes, image.ndim)
    fp = _footprint(None if footprint is not None else size, footprint, len(axes_t))
    kwargs, dtype, rules = plan_window(
        scipy_func,
        image,
        args,
        size,
        footprint,
        mode,
        cval,
        origin,
        axes,
        stacklevel=3,
        boundary=_PAD_MODES.get(name, {}).get(mode, mode),
        **kwargs,
    )
    depth = _nd_depth(image.ndim, axes_t, fp.shape, origin)
    call: Any = Positional(scipy_func, args)
    if name in _RANKS:
        extreme = _as_extreme(image, fp, axes_t, origin, mode, cval, _RANKS[name], args, dtype)
        if extreme is not None:
            return extreme
        fill = _rank_fill(image, fp, origin, _RANKS[name], args[0] if args else 0, cval)
        if isinstance(mode, str):
            placed, origins = _halo.place(
                fp.shape, per_axis(origin, len(axes_t), "origin"), image.ndim, axes_t
            )
            rank = _rank_index(_RANKS[name], args[0] if args else 0, int(fp.sum()))
            call = _Select(call, fp.reshape(placed), rank, origins)
    else:
        fill = input_cval(image, cval)
    return single_pass(image, name, call, depth, rules, fill, dtype, **kwargs)


_RANKS = {"rank_filter": "rank", "median_filter": "median", "percentile_filter": "percentile"}


def _as_extreme(
    image: Any,
    fp: np.ndarray,
    axes_t: Sequence[int],
    origin: Any,
    mode: Any,
    cval: Any,
    operation: str,
    args: tuple[Any, ...],
    dtype: np.dtype,
) -> Any:
    """A rank filter of a float image that scipy runs as its separable minimum
    or maximum (the first or last rank of a full footprint), on whole lines
    like :func:`minimum_filter`; None otherwise."""
    size = int(fp.sum())
    rank = _rank_index(operation, args[0] if args else 0, size)
    if image.dtype.kind != "f" or not fp.all() or rank not in (0, size - 1) or size == 1:
        return None
    placed, origins = _halo.place(
        fp.shape, per_axis(origin, len(axes_t), "origin"), image.ndim, axes_t
    )
    modes = ["reflect"] * image.ndim  # (the axes not filtered have length 1: no pass)
    for ax, m in zip(axes_t, per_axis(mode, len(axes_t), "mode")):
        modes[ax] = m
    func = ndi.minimum_filter1d if rank == 0 else ndi.maximum_filter1d
    passes = [
        (func, ax, dict(size=int(s), mode=modes[ax], cval=cval, origin=int(o)))
        for ax, (s, o) in enumerate(zip(placed, origins))
        if s > 1
    ]
    return _on_lines(image, func.__name__.replace("1d", ""), passes, dtype)


def _rank_index(operation: str, rank: Any, size: int) -> int:
    """The order statistic scipy's rank, median and percentile filters select."""
    if operation == "median":
        return size // 2
    if operation == "percentile":
        p = float(rank) + 100.0 if rank < 0 else float(rank)
        return size - 1 if p == 100.0 else int(float(size) * p / 100.0)
    return int(rank) + size if rank < 0 else int(rank)


class _Select:
    """Block function of the rank filters: the compiled selection
    (:func:`bigimg._kernels.rank_filter`) where it applies, scipy otherwise."""

    def __init__(
        self, scipy_call: Positional, footprint: np.ndarray, rank: int, origins: tuple[int, ...]
    ) -> None:
        self.scipy_call, self.footprint, self.rank, self.origins = (
            scipy_call,
            footprint,
            rank,
            origins,
        )
        self.__name__ = scipy_call.__name__

    def __call__(self, block: np.ndarray, **kwargs: Any) -> Any:
        if block.ndim == 1 and (
            len(self.footprint) > len(block) or (len(block) == 1 and kwargs["mode"] == "mirror")
        ):
            # scipy's 1-D rank code reads outside so short a line (undefined results):
            # its N-D code on the line as a 1 x n image, which extends it by the mode
            row = {**kwargs, "size": None, "footprint": self.footprint[None], "axes": None}
            row["origin"] = [0, *self.origins]
            return self.scipy_call(block[None], **row)[0]
        out = _kernels.rank_filter(
            block, self.rank, self.footprint, kwargs["mode"], kwargs["cval"], self.origins
        )
        if out is None:
            return self.scipy_call(block, **kwargs)
        return out.astype(kwargs["output"] or block.dtype, copy=False)

    def __dask_tokenize__(self) -> Any:
        return (self.scipy_call.__dask_tokenize__(), self.footprint.tobytes(), self.rank)


def _rank_fill(
    image: Any,
    fp: np.ndarray,
    origin: Any,
    operation: str,
    rank: Any,
    cval: Any,
) -> Any:
    """The value scipy's rank filters extend with, by replaying on the whole
    array the choice scipy makes between its paths (each treats ``cval``
    differently, and a small block could otherwise take another path):

    - rank 0 or last with a full footprint: separable minimum / maximum, line
      buffers, ``cval`` stays a double;
    - 1-D input with room for the window: the 1-D rank code, ``cval`` converted
      to its working type (int64 for integers and bool);
    - otherwise the N-D rank code: ``cval`` cast to the input dtype.
    """
    size = int(fp.sum())  # expanding the footprint to every axis changes neither
    rank = _rank_index(operation, rank, size)
    if rank in (0, size - 1):
        return cval if fp.all() else input_cval(image, cval)
    o = int(np.ravel(origin)[0]) if np.size(origin) else 0
    lim2 = image.size - ((fp.size - 1) // 2 - o)
    if image.ndim == 1 and (lim2 >= 0 or image.size == 1):
        if image.dtype in (np.int64, np.float64, np.float32):
            work = image.dtype
        elif image.dtype == np.float16:
            work = np.dtype(np.float32)
        else:
            work = np.dtype(np.int64)
        return work.type(cval)
    return input_cval(image, cval)
