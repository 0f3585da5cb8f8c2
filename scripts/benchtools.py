"""Timing and result tables shared by the benchmark scripts (``scripts/bench_*.py``).

Each benchmark times operations with several tools (scipy.ndimage on a numpy
array, bigimg on dask's threaded scheduler and on a ``distributed`` cluster,
dask-image), keeps one :class:`Row` per operation and data set, and prints the
rows as an aligned text table. The scripts import this module from their own
folder: ``python scripts/bench_filters.py`` puts that folder first on ``sys.path``.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

import dask.array as da
import numpy as np

from bigimg.monitor import PeakMemory

T = TypeVar("T")

# --- timing ------------------------------------------------------------------------------


@dataclass
class Timing:
    """The best wall time of some calls, the most extra memory one needed, a remark."""

    seconds: float = math.nan
    extra_bytes: float = math.nan  # nan: not measured
    note: str = ""  # e.g. why there is no time, or which variant it is


def best_of(
    run: Callable[[], T], reps: int, *, once_over: float = math.inf, memory: bool = False
) -> tuple[Timing, T]:
    """Best wall time of up to ``reps`` calls of ``run``, and the last call's result.

    Parameters
    ----------
    run
        The call to time.
    reps
        Calls at most (at least one); the fastest is kept.
    once_over
        Seconds: no further call after one that took longer than this.
    memory
        Also record the largest extra memory a call needed: the peak resident
        memory of this process and its children above the level before it.

    Returns
    -------
    timing, result
    """
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    best = Timing(math.inf, 0.0 if memory else math.nan)
    out: Any = None
    for _ in range(reps):
        out = None  # let the previous result go before the next call
        mem = PeakMemory() if memory else None
        with mem or contextlib.nullcontext():
            base = mem.sample() if mem is not None else 0
            start = time.perf_counter()
            out = run()
            seconds = time.perf_counter() - start
        best.seconds = min(best.seconds, seconds)
        if mem is not None:
            best.extra_bytes = max(best.extra_bytes, mem.peak - base)
        if seconds > once_over:
            break
    return best, out


def into_new_array(result: da.Array) -> np.ndarray:
    """Compute ``result`` on the threaded scheduler into a new numpy array.

    Each task writes its chunk in place (``da.store``), in parallel, instead of
    ``compute()`` gathering every chunk and concatenating them on one thread at
    the end. Like scipy's own call, this includes allocating the output.
    """
    out = np.empty(result.shape, result.dtype)
    da.store(result, out, lock=False, scheduler="threads")
    return out


def difference(result: Any, reference: np.ndarray) -> float:
    """How far ``result`` is from ``reference``.

    Returns
    -------
    float
        0.0 when bit-identical (dtype too), inf when the shapes or dtypes
        differ, else the largest absolute difference.
    """
    result = np.asarray(result)
    if result.shape != reference.shape or result.dtype != reference.dtype:
        return math.inf
    if np.array_equal(result, reference, equal_nan=True):
        return 0.0
    return float(np.nanmax(np.abs(result.astype(np.float64) - reference)))


# --- results -----------------------------------------------------------------------------


@dataclass
class Row:
    """One operation on one data set, as timed with each tool (scripts add their own fields)."""

    data: str
    operation: str
    scipy: Timing = field(default_factory=Timing)
    threads: Timing = field(default_factory=Timing)  # bigimg, dask's threaded scheduler
    cluster: Timing = field(default_factory=Timing)  # bigimg, a local distributed cluster
    dask_image: Timing = field(default_factory=Timing)

    def best(self) -> float:
        """bigimg's best time, on threads or on the cluster (nan where neither ran)."""
        times = [t.seconds for t in (self.threads, self.cluster) if not math.isnan(t.seconds)]
        return min(times, default=math.nan)


def seconds(value: float, note: str = "") -> str:
    """``value`` to the millisecond, or ``note`` (else "-") where it is not a finite time."""
    return f"{value:.3f}" if math.isfinite(value) else note or "-"


def gib(nbytes: float) -> str:
    """Bytes in GiB to two decimals, "-" where not measured (nan)."""
    return "-" if math.isnan(nbytes) else f"{nbytes / 2**30:.2f}"


def ratio(num: float, den: float, digits: int = 2) -> str:
    """``num / den`` to ``digits`` decimals, "-" where either is missing (nan)."""
    return "-" if math.isnan(num) or math.isnan(den) else f"{num / den:.{digits}f}"


# --- tables ------------------------------------------------------------------------------


class Column(NamedTuple):
    """A table column: its heading, its width (0: no padding) and alignment ("<", ">")."""

    name: str
    width: int = 0
    align: str = "<"


def format_row(columns: Sequence[Column], cells: Sequence[str]) -> str:
    """One line of a table: each cell padded to its column, " | " between cells.

    A row with fewer cells than columns (e.g. a skipped operation's note) stops early.
    """
    return " | ".join(f"{cell:{c.align}{c.width or ''}}" for cell, c in zip(cells, columns))


def print_table(columns: Sequence[Column], rows: Iterable[Sequence[str]]) -> None:
    """Print the headings, a rule as long as them, and one line per row of cells."""
    header = format_row(columns, [c.name for c in columns])
    print(header)
    print("-" * len(header))
    for cells in rows:
        print(format_row(columns, cells))
