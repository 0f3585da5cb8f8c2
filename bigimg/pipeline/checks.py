"""Checking a step by building it on stand-ins: the real code decides what is valid.

Every step is called, while the job is checked, on stand-ins for its inputs:

* lazily on probes: placeholders (``da.zeros``) of the real dtype and chunk
  sizes on a grid of at most 3 chunks per axis (the first, second and last:
  :func:`probe_chunks`), with dask's scheduler replaced by one that refuses
  to run. bigimg's functions validate their parameters when called and build
  graphs without computing, so a bad parameter raises the function's own
  error here. The result's real chunks are its inputs' real chunks on each
  axis where its probe's are the input probe's, so checking a job costs the
  same for a terabyte image as for a small one (issue 20). A step that fails
  on probes, reads images of different shapes, or chooses its own grid is
  built again on placeholders of the real shape and chunks, which decide;
* for real on tiny arrays (at most 8 pixels per axis), which is how steps that
  reduce when called (``label``'s count, measurements, histogram thresholds)
  are checked, and how every step's kind of result (image, table, number)
  is learnt.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np

from bigimg.pipeline import ops

__all__ = [
    "Problems",
    "StandIn",
    "call",
    "call_with_extra",
    "check_call",
    "main_value",
    "probe_chunks",
    "stand_in_result",
]


class Problems:
    """Problems found in a job file, each prefixed with the file and line."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[str] = []

    def add(self, line: int, message: str) -> None:
        where = f"{self.file}:{line}" if line else self.file
        self.items.append(f"{where}: {message}")


class _Refused(Exception):
    pass


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise _Refused


def check_call(func: Any, *args: Any, **kwargs: Any) -> None:
    """Call ``func`` with dask's scheduler refusing to run: its checks of its
    arguments run (and raise), and it stops where it would start computing."""
    try:
        with dask.config.set(scheduler=_refuse):
            func(*args, **kwargs)
    except _Refused:
        pass


@dataclass(frozen=True)
class StandIn:
    """What a value will be: its kind, and stand-ins to build later steps on."""

    kind: str  # 'array', 'table' or 'scalar'
    lazy: Any  # array: a placeholder of the real shape and chunks; scalar: 0.0
    small: Any  # the value on tiny inputs
    eager: bool = False  # the step computes when called
    probe: Any = None  # array: what later steps are built on (probe_chunks)

    def __post_init__(self) -> None:
        if self.probe is None:
            probe = self.lazy
            if self.kind == "array":
                chunks = probe_chunks(self.lazy.chunks)
                probe = _placeholder(tuple(map(sum, chunks)), self.lazy.dtype, chunks)
            object.__setattr__(self, "probe", probe)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.lazy.shape) if self.kind == "array" else ()

    @property
    def dtype(self) -> np.dtype | None:
        return self.lazy.dtype if self.kind == "array" else None

    @classmethod
    def of(cls, image: da.Array) -> StandIn:
        """The stand-in of an input image (its tiny version: the first pixels)."""
        small = np.asarray(image[tuple(slice(0, 8) for _ in image.shape)].compute())
        return cls("array", _placeholder(image.shape, image.dtype, image.chunks), small)


def _placeholder(shape: tuple[int, ...], dtype: Any, chunks: Any) -> da.Array:
    return da.zeros(shape, dtype=dtype, chunks=chunks)


def probe_chunks(chunks: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], ...]:
    """A probe's chunk grid: per axis, the first, second and last chunk of
    ``chunks`` (an axis of at most 3 chunks as it is).

    >>> probe_chunks(((4, 4, 4, 4, 2), (8, 8)))
    ((4, 4, 2), (8, 8))
    """
    return tuple(c if len(c) <= 3 else (c[0], c[1], c[-1]) for c in chunks)


def _real_chunks(probe: Any, inputs: list[StandIn]) -> Any:
    """The real chunks of a step's result built on probes: per axis, an input
    whose probe has the result's chunks there gives its real chunks; None if
    an axis has none (the step chose its own grid)."""
    out = []
    for axis, c in enumerate(probe.chunks):
        real = next(
            (
                s.lazy.chunks[axis]
                for s in inputs
                if s.kind == "array" and s.probe.ndim == probe.ndim and s.probe.chunks[axis] == c
            ),
            None,
        )
        if real is None:
            return None
        out.append(real)
    return tuple(out)


def main_value(value: Any) -> tuple[Any, Any]:
    """A step's value and its by-product: ``label``'s ``(labels, n)`` gives the
    labels and ``n``; other tuples are tables."""
    if isinstance(value, tuple) and value and isinstance(value[0], da.Array | np.ndarray):
        if isinstance(value[0], da.Array) or (value[0].ndim > 0 and len(value) == 2):
            return value[0], value[1]
    return value, None


def call(step: Any, values: Mapping[str, Any]) -> Any:
    """Run ``step`` with ``values`` for the names it uses (its main value)."""
    return call_with_extra(step, values)[0]


def call_with_extra(step: Any, values: Mapping[str, Any]) -> tuple[Any, Any]:
    """Run ``step``: its main value and by-product (see :func:`main_value`)."""
    if step.expr is not None:
        return step.expr.evaluate(values), None
    func = ops.OPERATIONS[step.op]
    kwargs = {**step.params, **{k: values[v] for k, v in step.refs.items()}}
    kwargs = {k: _literal(v) for k, v in kwargs.items()}
    with warnings.catch_warnings():
        for message in ops.DATA_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        return main_value(func(**kwargs))


def _literal(value: Any) -> Any:
    """YAML lists of numbers as numpy arrays where scipy expects arrays
    (footprints, structures, weights, matrices); other values as written."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        return np.asarray(value)
    return value


def _kind(value: Any) -> str:
    if isinstance(value, da.Array):
        return "array"
    if np.ndim(value) == 0 and not isinstance(value, dict | list | tuple):
        return "scalar"
    return "table"


def stand_in_result(step: Any, results: Mapping[str, StandIn]) -> StandIn:
    """Build ``step`` on stand-ins (see the module text); raise its error."""
    inputs = [results[n] for n in step.uses]
    shapes = {s.shape for s in inputs if s.kind == "array"}
    eager = False
    try:
        with dask.config.set(scheduler=_refuse):
            lazy = None
            if len(shapes) == 1:
                try:
                    lazy = call(step, {n: results[n].probe for n in step.uses})
                except _Refused:
                    raise
                except Exception:  # the real image decides (below)
                    lazy = None
                if isinstance(lazy, da.Array):
                    chunks = _real_chunks(lazy, inputs)
                    lazy = None if chunks is None else _placeholder(
                        tuple(map(sum, chunks)), lazy.dtype, chunks)  # fmt: skip
            if lazy is None:  # on placeholders of the real shape and chunks
                lazy = call(step, {n: results[n].lazy for n in step.uses})
                if isinstance(lazy, da.Array):  # keep its grid, not its graph
                    lazy = _placeholder(lazy.shape, lazy.dtype, lazy.chunks)
    except _Refused:
        eager, lazy = True, None
    small = call(step, {n: results[n].small for n in step.uses})
    kind = _kind(small if lazy is None else lazy)
    if kind == "array" and isinstance(small, da.Array):
        small = small.compute()
    if lazy is None:
        if kind == "array":
            first = inputs[0]
            shape = first.shape if small.shape == first.small.shape else small.shape
            chunks = first.lazy.chunks if shape == first.shape else "auto"
            lazy = _placeholder(shape, small.dtype, chunks)
        elif kind == "scalar":
            lazy = np.asarray(small).dtype.type(0)
        else:
            lazy = small
    elif kind != "array":
        raise TypeError(f"gave a {type(lazy).__name__}, not an image")
    return StandIn(kind, lazy, small, eager)
