"""Benchmark bigimg morphology and distance transforms against scipy.ndimage and dask-image.

One run, the same data for everyone: a 2-D mask and a 3-D mask of blobs
(``bigimg.datasets.blobs``) with an intensity image of the same shape
(``blobs_intensity``), all computed into memory first. Each operation is timed with

* scipy.ndimage on the whole numpy array (one call, one core),
* bigimg on dask's threaded scheduler: build + compute into a new numpy array
  (``da.store(result, out, lock=False)``),
* bigimg on a 2-worker ``LocalCluster`` (``bigimg.cluster.connect(n_workers=2)``,
  one thread each): the inputs already on the workers, build + compute + gather,
* dask-image on the threaded scheduler, where it has the operation
  (``dask_image.ndmorph``; for grey dilation with a flat window its
  ``ndfilters.maximum_filter``, scipy's own definition of it).

Every timing, scipy's and bigimg's alike, is the best of three calls (one
call where it takes over 5 s), so one-time costs (the first touch of fresh
memory, loading compiled kernels) fall on no one.

Operations: binary_opening 3x3 (iterations 1 and 5), grey_dilation 5x5,
binary_fill_holes, binary_propagation (reconstruction of the mask from its
erosion), distance_transform_edt. bigimg's results are checked against scipy's
bit for bit; the extra memory of each run (peak resident memory of this
process and its children above the level before it) is printed too.

Usage::

    python scripts/bench_morphology.py            # 8192^2 and 384^3 (about ten minutes)
    python scripts/bench_morphology.py --quick    # 1024^2 and 96^3 (< 1 minute)

Exit status 1 if any bigimg result differs from scipy's.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
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
    gib,
    into_new_array,
    print_table,
    ratio,
    seconds,
)
from benchtools import Row as BaseRow

import bigimg
from bigimg.ndimage.binary_morphology import binary_opening
from bigimg.ndimage.binary_reconstruction import binary_fill_holes, binary_propagation
from bigimg.ndimage.distance import distance_transform_edt
from bigimg.ndimage.grey_morphology import grey_dilation

# chunks: 4 MiB (2-D) and 7 MiB (3-D) of booleans. Much smaller ones cost more than they
# give on 2 cores: a 3-D chunk of 128^3 spends a third of its work on halos for five
# iterations of a 3x3x3 opening, and 2-D chunks of 1024^2 add per-task overhead
FULL = {"2-D": ((8192, 8192), 2048, 60_000), "3-D": ((384, 384, 384), 192, 24_000)}
QUICK = {"2-D": ((1024, 1024), 256, 1_000), "3-D": ((96, 96, 96), 48, 400)}
N_WORKERS = 2
REPEAT_BELOW_S = 5.0  # calls longer than this run once
TARGET_LOCAL = 0.65  # bigimg best / scipy, local operations
TARGET_GLOBAL = 2.0  # bigimg best / scipy, fill_holes, propagation, EDT


# --- operations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One benchmarked operation on ``inputs`` (names of the dataset's arrays)."""

    name: str
    kind: str  # local | global (for the targets)
    inputs: tuple[str, ...]
    scipy: Callable[..., Any]
    bigimg: Callable[..., Any]
    dask_image: Callable[..., Any] | None = None
    dask_image_note: str = ""


def operations(ndim: int) -> list[Op]:
    try:
        import dask_image.ndfilters as dif
        import dask_image.ndmorph as dim
    except ImportError:  # pragma: no cover - the bench extra is not installed
        dif = dim = None
    square = np.ones((3,) * ndim, bool)
    ops = []
    for iterations in (1, 5):
        ops.append(
            Op(
                f"binary_opening 3x3 it={iterations}",
                "local",
                ("mask",),
                lambda m, k=iterations: ndi.binary_opening(m, square, k),
                lambda m, k=iterations: binary_opening(m, square, k),
                None if dim is None else lambda m, k=iterations: dim.binary_opening(m, square, k),
            )
        )
    ops += [
        Op(
            "grey_dilation 5x5",
            "local",
            ("grey",),
            lambda g: ndi.grey_dilation(g, size=5),
            lambda g: grey_dilation(g, size=5),
            None if dif is None else lambda g: dif.maximum_filter(g, size=5),
            "maximum_filter",
        ),
        Op(
            "binary_fill_holes",
            "global",
            ("mask",),
            ndi.binary_fill_holes,
            binary_fill_holes,
        ),
        Op(
            "binary_propagation",
            "global",
            ("marker", "mask"),
            lambda marker, m: ndi.binary_propagation(marker, mask=m),
            lambda marker, m: binary_propagation(marker, mask=m),
        ),
        Op(
            "distance_transform_edt",
            "global",
            ("mask",),
            ndi.distance_transform_edt,
            distance_transform_edt,
        ),
    ]
    return ops


# --- timing and results -------------------------------------------------------------------


def timed(run: Callable[[], Any], reps: int) -> tuple[Timing, Any]:
    """Best wall time of up to ``reps`` calls (no more once a call takes over
    ``REPEAT_BELOW_S``), the largest extra memory, the last result."""
    return best_of(run, reps, once_over=REPEAT_BELOW_S, memory=True)


@dataclass
class Row(BaseRow):
    """One operation on one data set (``operation`` is ``op.name``)."""

    op: Op = field(kw_only=True)
    exact: list[str] = field(default_factory=list)  # where bigimg differed


COLUMNS = [
    Column("data", 5),
    Column("operation", 26),
    Column("scipy s", 8, ">"),
    Column("threads s", 9, ">"),
    Column("cluster s", 9, ">"),
    Column("dask-image s", 12, ">"),
    Column("best/scipy", 10, ">"),
    Column("best/d-i", 8, ">"),
    Column("exact", 5),
    Column("GiB scipy/threads/cluster", 25, ">"),
]


def cells(r: Row) -> list[str]:
    di = seconds(r.dask_image.seconds)
    if r.op.dask_image_note and di != "-":
        di += "*"
    return [
        r.data,
        r.op.name,
        seconds(r.scipy.seconds),
        seconds(r.threads.seconds),
        seconds(r.cluster.seconds),
        di,
        ratio(r.best(), r.scipy.seconds),
        ratio(r.best(), r.dask_image.seconds),
        "yes" if not r.exact else "NO",
        f"{gib(r.scipy.extra_bytes)}/{gib(r.threads.extra_bytes)}/{gib(r.cluster.extra_bytes)}",
    ]


def print_results(rows: list[Row]) -> None:
    print_table(COLUMNS, map(cells, rows))
    if any(r.op.dask_image_note for r in rows):
        print("* dask-image has no grey_dilation: its maximum_filter (the same operation)")


def print_targets(rows: list[Row]) -> None:
    print("\ntargets:")
    for kind, limit, title in [
        ("local", TARGET_LOCAL, "local operations"),
        ("global", TARGET_GLOBAL, "fill_holes, propagation, EDT"),
    ]:
        values = [(r, r.best() / r.scipy.seconds) for r in rows if r.op.kind == kind]
        if not values:
            continue
        misses = [f"{r.data} {r.op.name} {v:.2f}" for r, v in values if not v <= limit]
        worst_row, worst = max(values, key=lambda rv: rv[1])
        verdict = "PASS" if not misses else "MISS"
        detail = f"worst {worst:.2f} ({worst_row.data} {worst_row.op.name})"
        if misses:
            detail += "; missed by " + ", ".join(misses)
        print(f"  {verdict}  bigimg best <= {limit} x scipy ({title}): {detail}")


# --- the benchmark -------------------------------------------------------------------------------


def make_data(shape: tuple[int, ...], chunks: int, n_objects: int) -> dict[str, np.ndarray]:
    mask = bigimg.datasets.blobs(shape, n_objects=n_objects, chunks=chunks, seed=1).compute()
    grey = bigimg.datasets.blobs_intensity(
        shape, n_objects=n_objects, chunks=chunks, seed=1, dtype="float32"
    ).compute()
    marker = ndi.binary_erosion(mask, iterations=2)
    return {"mask": mask, "grey": grey, "marker": marker}


def warm_up(client: Any = None) -> None:
    """Imports and first calls (scipy, bigimg, dask-image, the workers) off the clock."""
    for ndim in (2, 3):
        data = make_data((24,) * ndim, 12, 4)
        for op in operations(ndim):
            arrays = [da.from_array(data[k], chunks=12) for k in op.inputs]
            if client is None:
                op.bigimg(*arrays).compute(scheduler="threads")
                if op.dask_image is not None:
                    op.dask_image(*arrays).compute(scheduler="threads")
            else:
                client.compute(op.bigimg(*arrays)).result()


def run_dataset(name: str, spec: tuple, args: Any) -> list[Row]:
    shape, chunks, n_objects = spec
    data = make_data(shape, chunks, n_objects)
    print(f"{name}: {'x'.join(map(str, shape))}, chunks {chunks}", file=sys.stderr, flush=True)
    rows = []
    references = {}
    with dask.config.set(scheduler="threads"):
        warm_up()
        for op in operations(len(shape)):
            row = Row(name, op.name, op=op)
            arrays = [data[k] for k in op.inputs]
            row.scipy, expected = timed(lambda op=op, a=arrays: op.scipy(*a), args.reps)
            references[op.name] = expected

            def threads(op: Op = op, a: list = arrays) -> np.ndarray:
                return into_new_array(op.bigimg(*(da.from_array(x, chunks=chunks) for x in a)))

            row.threads, got = timed(threads, args.reps)
            if difference(got, expected) != 0.0:
                row.exact.append("threads")
            del got
            if op.dask_image is not None and not args.no_dask_image:

                def other(op: Op = op, a: list = arrays) -> np.ndarray:
                    lazy = op.dask_image(*(da.from_array(x, chunks=chunks) for x in a))
                    return into_new_array(lazy)

                row.dask_image, _ = timed(other, args.reps)
            rows.append(row)
            print(
                f"  {op.name}: scipy {row.scipy.seconds:.3f}, threads {row.threads.seconds:.3f}",
                file=sys.stderr,
                flush=True,
            )
    if not args.no_cluster:  # started after the in-process runs, so it never idles beside them
        with (
            bigimg.cluster.connect(n_workers=N_WORKERS) as client,
            dask.config.set(scheduler=client),
        ):
            warm_up(client)
            with warnings.catch_warnings():  # the data travels once, in the graph
                warnings.simplefilter("ignore", UserWarning)
                remote = {
                    k: client.persist(da.from_array(v, chunks=chunks)) for k, v in data.items()
                }
            for row in rows:
                lazy_inputs = [remote[k] for k in row.op.inputs]

                def cluster(op: Op = row.op, a: list = lazy_inputs) -> np.ndarray:
                    return client.compute(op.bigimg(*a)).result()

                row.cluster, got = timed(cluster, args.reps)
                if difference(got, references[row.op.name]) != 0.0:
                    row.exact.append("cluster")
                del got
                print(
                    f"  {row.op.name}: cluster {row.cluster.seconds:.3f}",
                    file=sys.stderr,
                    flush=True,
                )
            del remote
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1024^2 and 96^3 (< 1 minute)")
    parser.add_argument(
        "--reps", type=int, default=3, help="repetitions of calls under 5 s, best kept (default 3)"
    )
    parser.add_argument("--no-cluster", action="store_true", help="skip the distributed runs")
    parser.add_argument("--no-dask-image", action="store_true", help="skip dask-image")
    parser.add_argument("--only", choices=["2-D", "3-D"], help="one dataset")
    args = parser.parse_args(argv)
    specs = QUICK if args.quick else FULL
    print(
        f"bench_morphology: {os.cpu_count()} cores; threads = dask threaded scheduler; "
        f"cluster = {N_WORKERS} worker processes x 1 thread; "
        f"best of {args.reps} (of 1 over {REPEAT_BELOW_S:.0f} s)"
    )
    for name, (shape, chunks, n) in specs.items():
        print(f"  {name}: {'x'.join(map(str, shape))} blobs ({n} drawn), chunks {chunks}")
    rows: list[Row] = []
    for name, spec in specs.items():
        if args.only in (None, name):
            rows += run_dataset(name, spec, args)
    print()
    print_results(rows)
    print_targets(rows)
    wrong = [f"{r.data} {r.op.name} ({', '.join(r.exact)})" for r in rows if r.exact]
    if wrong:
        print("\nFAIL: bigimg differs from scipy for " + "; ".join(wrong))
        return 1
    where = "threads" if args.no_cluster else "threads and cluster"
    print(f"\nbigimg equals scipy exactly for every operation ({where}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
