"""Local operations, and their fusion into one overlap pass.

Every neighbourhood operation of :mod:`bigimg.ndimage` is described by a
:class:`LocalOp`: a block function, its reach (:mod:`bigimg._halo.reach`), the
boundary rule per axis and the result dtype. :func:`apply` runs it on a dask
array through the overlap engine, or, when its input is a :class:`Tracer`,
records it as a step of a fused program instead.

:func:`fused` traces an ordinary function written with ``bigimg.ndimage``
calls and arithmetic, and runs the whole program as one overlap pass whose
reach is the longest chain of reaches. Before each step the block is
re-extended past the array border by that step's own mode
(:meth:`~bigimg._halo.overlap.Frame.refill`), which is what scipy does on the whole
array, so the fused result is identical to running the steps one by one.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import dask.array as da
import numpy as np

from bigimg import _validation
from bigimg._halo import reach
from bigimg._halo.lines import LinePass, map_line_passes
from bigimg._halo.overlap import Frame, map_halo

__all__ = ["LineOp", "LocalOp", "Tracer", "apply", "as_input", "fused", "trace"]


@dataclass(frozen=True)
class LocalOp:
    """One neighbourhood operation on one image."""

    name: str
    func: Callable[..., np.ndarray]  # func(extended_block, *, frame) -> extended result
    depth: reach.Depth
    rules: tuple[str, ...]
    cval: Any
    dtype: np.dtype
    token: Any = None  # what identifies func (parameters), for graph keys


@dataclass(frozen=True)
class LineOp:
    """1-D passes that need whole lines (:mod:`bigimg._halo.lines`); not fusable."""

    name: str
    passes: tuple[LinePass, ...]
    dtype: np.dtype


def apply(op: LocalOp | LineOp, image: Any) -> Any:
    """Run ``op`` on a dask array, or record it on a :class:`Tracer`."""
    if isinstance(image, Tracer):
        return image._record(_Step(op, (image._node,)), op.dtype)
    if isinstance(op, LineOp):
        return map_line_passes(image, op.passes, dtype=op.dtype, name=op.name)
    return map_halo(
        op.func,
        image,
        depth=op.depth,
        boundary=op.rules,
        cval=op.cval,
        dtype=op.dtype,
        name=op.name,
        token=op.token,
    )


# --- tracing ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Input:
    index: int


@dataclass(frozen=True, eq=False)
class _Step:
    op: LocalOp | LineOp  # only LocalOp in a program that runs fused (see trace)
    args: tuple[Any, ...]


@dataclass(frozen=True, eq=False)
class _Elementwise:
    func: Callable[..., Any]
    args: tuple[Any, ...]  # nodes or constants
    kwargs: dict[str, Any] = field(default_factory=dict)


_NODES = (_Input, _Step, _Elementwise)


def _astype(x: Any, dtype: Any) -> Any:
    return x.astype(dtype)


class Tracer:
    """Stands for an image while :func:`fused` records a program.

    It has the image's ``shape``, ``dtype``, ``ndim`` and ``chunks``, supports
    arithmetic, comparisons, numpy ufuncs and ``astype``, and is accepted by
    every local function of ``bigimg.ndimage``.
    """

    __array_priority__ = 1000

    def __init__(self, node: Any, shape: tuple[int, ...], dtype: np.dtype, chunks: Any) -> None:
        self._node = node
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.chunks = chunks

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def _record(self, node: Any, dtype: np.dtype) -> Tracer:
        return Tracer(node, self.shape, dtype, self.chunks)

    def _elementwise(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Tracer:
        nodes = []
        samples = []
        for a in args:
            if isinstance(a, Tracer):
                if a.shape != self.shape:
                    raise ValueError(
                        f"fused images must share one shape: {a.shape} != {self.shape}"
                    )
                nodes.append(a._node)
                samples.append(np.zeros(1, a.dtype))
            elif isinstance(a, np.ndarray | da.Array) and np.ndim(a) > 0:
                raise TypeError(
                    "arrays used inside a fused function must be passed to it as inputs"
                )
            else:
                nodes.append(a)
                samples.append(a)
        dtype = np.asarray(func(*samples, **kwargs)).dtype
        return self._record(_Elementwise(func, tuple(nodes), kwargs), dtype)

    def astype(self, dtype: Any) -> Tracer:
        return self._elementwise(_astype, self, dtype=dtype)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__" or "out" in kwargs:
            return NotImplemented
        return self._elementwise(functools.partial(ufunc, **kwargs), *inputs)

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(
            "a traced image has no values; only bigimg.ndimage functions and "
            "arithmetic can be used inside a fused function"
        )


def as_input(image: Any, name: str = "input") -> Any:
    """What a local function works on: a dask array, or a tracer inside ``fused``."""
    return image if isinstance(image, Tracer) else _validation.as_dask(image, name)


def _binary(op: Callable[[Any, Any], Any], reflected: bool = False) -> Callable[..., Tracer]:
    def method(self: Tracer, other: Any) -> Tracer:
        return (
            self._elementwise(op, other, self) if reflected else self._elementwise(op, self, other)
        )

    return method


for _name, _op in [
    ("add", operator.add),
    ("sub", operator.sub),
    ("mul", operator.mul),
    ("truediv", operator.truediv),
    ("floordiv", operator.floordiv),
    ("pow", operator.pow),
    ("mod", operator.mod),
    ("and", operator.and_),
    ("or", operator.or_),
    ("xor", operator.xor),
]:
    setattr(Tracer, f"__{_name}__", _binary(_op))
    setattr(Tracer, f"__r{_name}__", _binary(_op, reflected=True))
for _name, _op in [
    ("lt", operator.lt),
    ("le", operator.le),
    ("gt", operator.gt),
    ("ge", operator.ge),
    ("eq", operator.eq),
    ("ne", operator.ne),
]:
    setattr(Tracer, f"__{_name}__", _binary(_op))
Tracer.__neg__ = lambda self: self._elementwise(operator.neg, self)  # type: ignore[operator]  # set on the class after its body, as the ones above
Tracer.__abs__ = lambda self: self._elementwise(operator.abs, self)  # type: ignore[attr-defined]  # set on the class after its body, as the ones above
Tracer.__invert__ = lambda self: self._elementwise(operator.invert, self)  # type: ignore[operator]  # set on the class after its body, as the ones above
Tracer.__hash__ = object.__hash__  # type: ignore[method-assign]  # identity hash, though __eq__ is elementwise


# --- planning and running a traced program -------------------------------------------


def _symmetric(depth: reach.Depth) -> reach.Depth:
    return tuple((max(d), max(d)) for d in depth)


def _reach(node: Any, memo: dict[int, reach.Depth], ndim: int) -> reach.Depth:
    """Depth the value of ``node`` needs from the inputs: along the longest chain,
    each step's larger side on both sides, so that every refill finds its
    source pixels inside the block (asymmetric kernels included)."""
    key = id(node)
    if key not in memo:
        if isinstance(node, _Input):
            memo[key] = reach.zero(ndim)
        elif isinstance(node, _Step):
            depth = cast(LocalOp, node.op).depth  # no LineOp: trace checks before the reach
            memo[key] = reach.add(_symmetric(depth), _reach(node.args[0], memo, ndim))
        elif isinstance(node, _Elementwise):
            parts = [_reach(a, memo, ndim) for a in node.args if isinstance(a, _NODES)]
            memo[key] = reach.maximum(*parts) if parts else reach.zero(ndim)
    return memo[key]


def _steps(node: Any, out: list[_Step], seen: set[int]) -> list[_Step]:
    if id(node) in seen:
        return out
    seen.add(id(node))
    if isinstance(node, _Step):
        out.append(node)
    for a in getattr(node, "args", ()):
        if isinstance(a, _NODES):
            _steps(a, out, seen)
    return out


def _gather_rules(steps: list[_Step], ndim: int) -> tuple[str, ...] | None:
    """Rules for the fused gather, or None if an axis mixes 'wrap' with others."""
    rules = []
    ops = [cast(LocalOp, s.op) for s in steps]  # no LineOp: trace checks them first
    for axis in range(ndim):
        kinds = {op.rules[axis] for op in ops if op.depth[axis] != (0, 0)}
        if "wrap" in kinds and len(kinds) > 1:
            return None
        rules.append("wrap" if kinds == {"wrap"} else "reflect")
    return tuple(rules)


def _evaluate(node: Any, inputs: Sequence[np.ndarray], frame: Frame, memo: dict[int, Any]) -> Any:
    key = id(node)
    if key in memo:
        return memo[key]
    if isinstance(node, _Input):
        value = inputs[node.index]
    elif isinstance(node, _Step):
        op = cast(LocalOp, node.op)  # a fused program has no LineOp
        arg = np.asarray(_evaluate(node.args[0], inputs, frame, memo))
        reached = [ax for ax, d in enumerate(op.depth) if d != (0, 0)]
        arg = frame.refill(arg, op.rules, op.cval, axes=reached)
        value = op.func(arg, frame=Frame(frame.axes, op.rules, op.cval))
    else:
        args = [
            _evaluate(a, inputs, frame, memo) if isinstance(a, _NODES) else a for a in node.args
        ]
        value = node.func(*args, **node.kwargs)
    memo[key] = value
    return value


def _run_fused(*blocks: np.ndarray, frame: Frame, program: Any) -> np.ndarray:
    return np.asarray(_evaluate(program, blocks, frame, {}))


def _run_unfused(node: Any, images: Sequence[da.Array], memo: dict[int, Any]) -> Any:
    key = id(node)
    if key not in memo:
        if isinstance(node, _Input):
            memo[key] = images[node.index]
        elif isinstance(node, _Step):
            memo[key] = apply(node.op, _run_unfused(node.args[0], images, memo))
        else:
            args = [
                _run_unfused(a, images, memo) if isinstance(a, _NODES) else a for a in node.args
            ]
            memo[key] = node.func(*args, **node.kwargs)
    return memo[key]


def trace(
    func: Callable[..., Any], images: Sequence[Any], params: dict[str, Any] | None = None
) -> tuple[Tracer, list[_Step], reach.Depth | None]:
    """Record ``func`` on tracers of ``images`` (anything with shape, dtype and
    chunks): its result, its local steps, and the halo depth of the one fused
    pass (None when it cannot run as one pass; see :func:`fused`)."""
    tracers = [Tracer(_Input(i), a.shape, a.dtype, a.chunks) for i, a in enumerate(images)]
    out = func(*tracers, **(params or {}))
    if not isinstance(out, Tracer):
        raise TypeError("a fused function must return an image computed from its inputs")
    steps = _steps(out._node, [], set())
    ndim = len(images[0].shape)
    lines = any(isinstance(s.op, LineOp) for s in steps)
    if lines or _gather_rules(steps, ndim) is None:
        return out, steps, None
    # one more pixel: 'mirror' reflects about the edge pixel itself
    depth = tuple((d[0] + 1, d[1] + 1) if d != (0, 0) else d for d in _reach(out._node, {}, ndim))
    return out, steps, depth


def fused(func: Callable[..., Any]) -> Callable[..., da.Array]:
    """Run ``func`` — local ``bigimg.ndimage`` steps and arithmetic — as one pass.

    Parameters
    ----------
    func : callable
        ``func(*images, **params)`` written with ``bigimg.ndimage`` local
        operations (filters, local morphology) and elementwise arithmetic /
        numpy ufuncs on their results. It is called once, on tracers.

    Returns
    -------
    callable
        Taking the same arguments, with dask (or numpy) arrays as images, and
        returning one lazy dask array computed in a single overlap pass whose
        reach is the sum of the steps' reaches along the longest chain. The
        result is identical to calling ``func`` on the arrays directly. Two
        cases cannot be fused exactly and run as separate passes instead
        (same result, more passes): an axis whose steps mix 'wrap' with other
        modes, and steps that need whole lines (``uniform_filter`` on floats).

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from bigimg import ndimage
    >>> def sharpen(image, alpha=30):
    ...     blurred = ndimage.gaussian_filter(image, 3)
    ...     return blurred + alpha * (blurred - ndimage.gaussian_filter(blurred, 1))
    >>> x = np.random.default_rng(0).random((100, 80))
    >>> y = fused(sharpen)(x)          # one pass, reach 12 + 4 = 16 pixels
    >>> b = ndi.gaussian_filter(x, 3)
    >>> bool((y.compute() == b + 30 * (b - ndi.gaussian_filter(b, 1))).all())
    True
    """

    @functools.wraps(func)
    def run(*images: Any, **params: Any) -> da.Array:
        arrays = [_validation.as_dask(im, f"image {i}") for i, im in enumerate(images)]
        if not arrays:
            raise TypeError("a fused function needs at least one image")
        first = arrays[0]
        arrays = [a if a.chunks == first.chunks else a.rechunk(first.chunks) for a in arrays]
        out, steps, depth = trace(func, arrays, params)
        program = out._node
        if depth is None:
            return _run_unfused(program, arrays, {})
        rules = _gather_rules(steps, first.ndim)
        assert rules is not None  # trace gives a depth only when there are rules
        return map_halo(
            functools.partial(_run_fused, program=program),
            *arrays,
            depth=depth,
            boundary=rules,
            cval=0.0,
            dtype=out.dtype,
            name=f"fused-{func.__name__}",
            per_pixel=8 * (len(steps) + 1),  # doubles for each step and the result
            token=(
                func,
                params,
                [cast(LocalOp, s.op).token for s in steps],
                [s.op.name for s in steps],
            ),
        )

    return run
