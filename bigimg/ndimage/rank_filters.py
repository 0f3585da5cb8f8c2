"""Order-statistic and generic filters of scipy.ndimage on dask arrays.

Built like :mod:`bigimg.ndimage.filters`: reach from the footprint, scipy on
the halo-extended block, scipy's 1-D passes for separable minimum / maximum.

Separable minima and maxima of floating-point images run on whole lines
(:class:`~bigimg._local.LineOp`): scipy's 1-D minimum / maximum keeps a
queue of candidates along the line, and with NaN (every comparison false)
what it holds depends on the line's whole history, so no halo gives scipy's
result (a NaN can change outputs three windows further on). Integers have
no NaN: their passes run on halos.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from bigimg import _halo, _kernels
from bigimg._local import LineOp, apply
from bigimg._overlap import normalize_modes
from bigimg.ndimage._inputs import as_input, check_output, per_axis, scipy_dry_run
from bigimg.ndimage.filters import (
    Positional,
    _check_size,
    _rules_for,
    plan_1d,
    separable,
    single_pass,
    window_reach,
)

__all__ = [
    "generic_filter",
    "generic_filter1d",
    "maximum_filter",
    "maximum_filter1d",
    "median_filter",
    "minimum_filter",
    "minimum_filter1d",
    "percentile_filter",
    "rank_filter",
    "vectorized_filter",
]


def _footprint(size: Any, footprint: Any, n: int) -> np.ndarray:
    """scipy's size-or-footprint rule, over ``n`` filtered axes."""
    if footprint is None:
        if size is None:
            raise ValueError("size or footprint must be given")
        return np.ones(_check_size(size, n), dtype=bool)
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
    return _rules_for(ndim, axes_t, modes)


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


def _min_max_1d(name: str, scipy_func: Callable[..., Any]) -> Callable[..., Any]:
    def filt(
        input: Any,
        size: int,
        axis: int = -1,
        output: Any = None,
        mode: str = "reflect",
        cval: float = 0.0,
        origin: int = 0,
    ) -> Any:
        n, reach = window_reach(size, origin)
        image, kwargs, dtype, depth, rules = plan_1d(
            input, scipy_func, axis, output, mode, cval, reach, size=n, origin=origin
        )
        if image.dtype.kind == "f":
            params = dict(size=n, mode=mode, cval=cval, origin=origin)
            return _on_lines(image, name, [(scipy_func, kwargs["axis"], params)], dtype)
        return single_pass(image, name, scipy_func, depth, rules, cval, dtype, **kwargs)

    filt.__name__ = filt.__qualname__ = name
    filt.__doc__ = f"Equals ``scipy.ndimage.{name}`` for every chunking and mode."
    return filt


minimum_filter1d = _min_max_1d("minimum_filter1d", ndi.minimum_filter1d)
maximum_filter1d = _min_max_1d("maximum_filter1d", ndi.maximum_filter1d)


def _min_max(
    name: str, scipy_func: Callable[..., Any], pass_func: Callable[..., Any]
) -> Callable[..., Any]:
    def filt(
        input: Any,
        size: Any = None,
        footprint: Any = None,
        output: Any = None,
        mode: Any = "reflect",
        cval: float = 0.0,
        origin: Any = 0,
        *,
        axes: Any = None,
    ) -> Any:
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
            stacklevel=2,
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

    filt.__name__ = filt.__qualname__ = name
    filt.__doc__ = f"""Equals ``scipy.ndimage.{name}`` for every chunking and mode.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 20))
    >>> bool(({name}(x, size=(3, 4), mode="wrap").compute()
    ...       == ndi.{name}(x, size=(3, 4), mode="wrap")).all())
    True
    """
    return filt


minimum_filter = _min_max("minimum_filter", ndi.minimum_filter, ndi.minimum_filter1d)
maximum_filter = _min_max("maximum_filter", ndi.maximum_filter, ndi.maximum_filter1d)


def _on_lines(image: Any, name: str, passes: list[Any], dtype: np.dtype) -> Any:
    """scipy's 1-D minimum / maximum passes of a float image, on whole lines
    (see the module doc)."""
    return apply(LineOp(name, tuple(passes), np.dtype(dtype)), image)


# --- rank, median, percentile, generic ---------------------------------------------------------


def _windowed(
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


def rank_filter(
    input: Any,
    rank: int,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Any:
    """Rank filter; equals ``scipy.ndimage.rank_filter``."""
    return _windowed(
        "rank_filter",
        ndi.rank_filter,
        input,
        size,
        footprint,
        mode,
        cval,
        origin,
        axes,
        rank,
        output=check_output(output),
    )


def median_filter(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Any:
    """Median filter; equals ``scipy.ndimage.median_filter``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((40, 30))
    >>> bool((median_filter(x, 3).compute() == ndi.median_filter(x, 3)).all())
    True
    """
    return _windowed(
        "median_filter",
        ndi.median_filter,
        input,
        size,
        footprint,
        mode,
        cval,
        origin,
        axes,
        output=check_output(output),
    )


def percentile_filter(
    input: Any,
    percentile: float,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Any:
    """Percentile filter; equals ``scipy.ndimage.percentile_filter``."""
    return _windowed(
        "percentile_filter",
        ndi.percentile_filter,
        input,
        size,
        footprint,
        mode,
        cval,
        origin,
        axes,
        percentile,
        output=check_output(output),
    )


def generic_filter(
    input: Any,
    function: Callable[..., Any],
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    extra_arguments: Sequence[Any] = (),
    extra_keywords: dict | None = None,
    *,
    axes: Any = None,
) -> Any:
    """A Python function over each footprint; equals ``scipy.ndimage.generic_filter``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((12, 10))
    >>> bool((generic_filter(x, np.ptp, size=3).compute()
    ...       == ndi.generic_filter(x, np.ptp, size=3)).all())
    True
    """
    return _windowed(
        "generic_filter",
        ndi.generic_filter,
        input,
        size,
        footprint,
        mode,
        cval,
        origin,
        axes,
        function,
        output=check_output(output),
        extra_arguments=tuple(extra_arguments),
        extra_keywords=extra_keywords,
    )


def generic_filter1d(
    input: Any,
    function: Callable[..., Any],
    filter_size: int,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: int = 0,
    extra_arguments: Sequence[Any] = (),
    extra_keywords: dict | None = None,
) -> Any:
    """A Python function over 1-D lines; equals ``scipy.ndimage.generic_filter1d``."""
    n, reach = window_reach(filter_size, origin, "filter_size")
    image, kwargs, dtype, depth, rules = plan_1d(
        input,
        ndi.generic_filter1d,
        axis,
        output,
        mode,
        cval,
        reach,
        function,
        filter_size=n,
        origin=origin,
        extra_arguments=tuple(extra_arguments),
        extra_keywords=extra_keywords,
    )
    call = Positional(ndi.generic_filter1d, (function,))
    return single_pass(image, "generic_filter1d", call, depth, rules, cval, dtype, **kwargs)


def vectorized_filter(
    input: Any,
    function: Callable[..., Any],
    *,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = None,
    origin: Any = None,
    axes: Any = None,
    batch_memory: int = 2**30,
) -> Any:
    """A vectorized function over each window; equals ``scipy.ndimage.vectorized_filter``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((20, 16))
    >>> bool((vectorized_filter(x, np.mean, size=3).compute()
    ...       == ndi.vectorized_filter(x, np.mean, size=3)).all())
    True
    """
    if mode == "valid":
        raise ValueError(
            "mode='valid' changes the output shape; bigimg keeps the input's "
            "shape and chunks (crop the result instead)"
        )
    return _windowed(
        "vectorized_filter",
        ndi.vectorized_filter,
        input,
        size,
        footprint,
        mode,
        cval,
        origin,
        axes,
        function,
        **({} if output is None else {"output": check_output(output)}),
        batch_memory=batch_memory,
    )
