"""Benchmark bigimg geometric transforms against scipy.ndimage and dask-image.

One run, the same data for everyone: an 8192 x 8192 image from
``bigimg.datasets.natural`` in float32 and in uint8 (computed into memory
first). Each operation is timed with

* scipy.ndimage on the whole numpy array (one call, one core),
* bigimg on dask's threaded scheduler, the result stored into a new numpy array,
* dask-image (``dask_image.ndinterp``) on the threaded scheduler, where it has
  the operation (zoom and shift as its ``affine_transform`` with a diagonal
  matrix, the same transform; its output chunks are the input's).

Every timing is the best of two calls (one where a call takes over 20 s).
bigimg's results are checked against scipy's bit for bit.

Operations: rotate 45 (order 1 and 3), zoom 0.5 and 2, shift (0.5, 0.5), all
with scipy's defaults (order 3 with prefilter unless said), and zoom 0.5
without prefilter: the work dask-image does.
Targets: bigimg <= 0.7 x scipy and <= 1.0 x dask-image.

Usage::

    python scripts/bench_interpolation.py            # 8192^2 (several minutes)
    python scripts/bench_interpolation.py --quick    # 1024^2 (< 1 minute)

Exit status 1 if any bigimg result differs from scipy's.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from benchtools import (
    Column,
    Timing,
    best_of,
    difference,
    format_row,
    into_new_array,
    print_table,
    ratio,
    seconds,
)
from benchtools import Row as BaseRow

import bigimg
import bigimg.ndimage as bnd

SHAPE, QUICK_SHAPE = (8192, 8192), (1024, 1024)
CHUNKS = 1024
QUICK_CHUNKS = 256
REPEATS = 2
REPEAT_BELOW_S = 20.0
TARGET_SCIPY = 0.7
TARGET_DASK_IMAGE = 1.0


@dataclass
class Op:
    name: str
    scipy: Callable[[np.ndarray], np.ndarray]
    bigimg: Callable[[da.Array], da.Array]
    dask_image: Callable[[da.Array], da.Array] | None


def operations() -> list[Op]:
    try:
        import dask_image.ndinterp as dii
    except ImportError:  # pragma: no cover - the bench extra is not installed
        dii = None

    def di(func: Callable[[Any], Any]) -> Callable[[Any], Any] | None:
        return None if dii is None else func

    ops = []
    for order in (1, 3):
        ops.append(
            Op(
                f"rotate 45 order {order}",
                lambda x, o=order: ndi.rotate(x, 45, order=o),
                lambda x, o=order: bnd.rotate(x, 45, order=o),
                di(lambda x, o=order: dii.rotate(x, 45, order=o)),
            )
        )
    for factor in (0.5, 2.0):
        ops.append(
            Op(
                f"zoom {factor}",
                lambda x, f=factor: ndi.zoom(x, f),
                lambda x, f=factor: bnd.zoom(x, f),
                di(lambda x, f=factor: _dask_image_zoom(dii, x, f)),
            )
        )
    ops.append(  # the same work as dask-image's (which never prefilters)
        Op(
            "zoom 0.5 no prefilt",
            lambda x: ndi.zoom(x, 0.5, prefilter=False),
            lambda x: bnd.zoom(x, 0.5, prefilter=False),
            di(lambda x: _dask_image_zoom(dii, x, 0.5)),
        )
    )
    ops.append(
        Op(
            "shift (0.5, 0.5)",
            lambda x: ndi.shift(x, (0.5, 0.5)),
            lambda x: bnd.shift(x, (0.5, 0.5)),
            di(lambda x: dii.affine_transform(x, np.eye(2), offset=(-0.5, -0.5), order=3)),
        )
    )
    return ops


def _dask_image_zoom(dii: Any, x: da.Array, factor: float) -> da.Array:
    """scipy's zoom as an affine transform (the same coordinates up to rounding).

    The matrix is given as a 2-D diagonal: dask-image 2026.5 given the 1-D
    form (scipy's "diagonal" shorthand) returns mostly cval, quickly.
    """
    shape = tuple(round(n * factor) for n in x.shape)
    ratio = [(n - 1) / (m - 1) for n, m in zip(x.shape, shape)]
    chunks = tuple(min(c, s) for c, s in zip(x.chunksize, shape))
    return dii.affine_transform(
        x, np.diag(ratio), output_shape=shape, output_chunks=chunks, order=3
    )


def deviation(got: np.ndarray, expected: np.ndarray) -> str:
    """dask-image's largest difference from scipy (it is not exact), as text."""
    if got.shape != expected.shape:
        return f"shape {got.shape}"
    return f"{difference(got, expected):.3g}"


@dataclass
class Row(BaseRow):
    """One operation on one image: bigimg ran on threads only."""

    exact: bool = False
    deviation: str = "-"  # dask-image's, from scipy


COLUMNS = [
    Column("dtype", 7),
    Column("operation", 20),
    Column("scipy s", 8, ">"),
    Column("bigimg s", 8, ">"),
    Column("dask-image s", 12, ">"),
    Column("big/scipy", 9, ">"),
    Column("big/d-i", 7, ">"),
    Column("exact", 5),
    Column("dask-image max |error|"),
]


def cells(row: Row) -> list[str]:
    return [
        row.data,
        row.operation,
        seconds(row.scipy.seconds),
        seconds(row.threads.seconds),
        seconds(row.dask_image.seconds),
        ratio(row.threads.seconds, row.scipy.seconds),
        ratio(row.threads.seconds, row.dask_image.seconds),
        "yes" if row.exact else "NO",
        row.deviation,
    ]


def timed(run: Callable[[], Any]) -> tuple[Timing, Any]:
    """Best of ``REPEATS`` calls (of one where a call takes over ``REPEAT_BELOW_S``)."""
    return best_of(run, REPEATS, once_over=REPEAT_BELOW_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1024^2 (< 1 minute)")
    parser.add_argument("--no-dask-image", action="store_true", help="skip dask-image")
    parser.add_argument("--only", default="", help="operations whose name contains this")
    args = parser.parse_args(argv)
    shape, chunks = (QUICK_SHAPE, QUICK_CHUNKS) if args.quick else (SHAPE, CHUNKS)
    base = bigimg.datasets.natural(shape, chunks=chunks, seed=0, dtype="float32").compute()
    images = {
        "float32": base,
        "uint8": np.clip((base - base.min()) / (np.ptp(base) or 1) * 255, 0, 255).astype(np.uint8),
    }
    print(
        f"bench_interpolation: {os.cpu_count()} cores; {shape[0]}x{shape[1]}, chunks {chunks}; "
        f"bigimg and dask-image on dask's threaded scheduler; best of {REPEATS}",
        file=sys.stderr,
    )
    rows: list[Row] = []
    with dask.config.set(scheduler="threads"):
        for dtype, x in images.items():
            lazy = da.from_array(x, chunks=chunks)
            for op in operations():
                if args.only not in op.name:
                    continue
                row = Row(dtype, op.name)
                row.scipy, expected = timed(lambda op=op, x=x: op.scipy(x))
                row.threads, got = timed(lambda op=op, lazy=lazy: into_new_array(op.bigimg(lazy)))
                row.exact = difference(got, expected) == 0.0
                del got
                if op.dask_image is not None and not args.no_dask_image:
                    row.dask_image, di_out = timed(
                        lambda op=op, lazy=lazy: into_new_array(op.dask_image(lazy))
                    )
                    row.deviation = deviation(di_out, expected)
                    del di_out
                rows.append(row)
                print(f"  {format_row(COLUMNS, cells(row))}", file=sys.stderr)
    print_table(COLUMNS, map(cells, rows))
    worst_scipy = max((r.threads.seconds / r.scipy.seconds for r in rows), default=0.0)
    with_di = [r for r in rows if not math.isnan(r.dask_image.seconds)]
    worst_di = max((r.threads.seconds / r.dask_image.seconds for r in with_di), default=0.0)
    print("\ntargets:")
    for worst, target, what in (
        (worst_scipy, TARGET_SCIPY, "scipy"),
        (worst_di, TARGET_DASK_IMAGE, "dask-image"),
    ):
        verdict = "PASS" if worst <= target else "MISS"
        print(f"  {verdict}  bigimg <= {target} x {what}: worst {worst:.2f}")
    all_exact = all(r.exact for r in rows)
    print("\nbigimg equals scipy for every operation." if all_exact else "\nbigimg DIFFERS.")
    return 0 if all_exact else 1


if __name__ == "__main__":
    sys.exit(main())
