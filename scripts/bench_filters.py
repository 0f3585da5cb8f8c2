"""Benchmark bigimg.ndimage filters against scipy.ndimage and dask-image.

One run, the same data for everyone: a 2-D image and a 3-D volume from
``bigimg.datasets.natural`` (computed into memory first). Each operation is
timed with

* scipy.ndimage on the whole numpy array (one call, one core),
* bigimg on dask's threaded scheduler (one thread per core),
* bigimg on a local ``distributed`` cluster of single-threaded worker processes,
* dask-image (``dask_image.ndfilters``) on the threaded scheduler,

and bigimg's results are checked against scipy's bit for bit. A one-line GIL
check shows whether scipy.ndimage itself runs in parallel from two threads.

Usage::

    python scripts/bench_filters.py            # 8192^2 image, 384^3 volume (several minutes)
    python scripts/bench_filters.py --quick    # 2048^2 image, 128^3 volume (< 1 minute)

The exit status is 1 if any bigimg result differs from scipy's, 0 otherwise
(missed speed targets are reported, not failed).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from benchtools import (
    Column,
    Timing,
    best_of,
    difference,
    into_new_array,
    print_table,
    ratio,
    seconds,
)
from benchtools import Row as BaseRow
from dask.array.core import slices_from_chunks
from distributed import wait

import bigimg
import bigimg.ndimage

# --- configuration ---------------------------------------------------------------------

SHAPE_2D = (8192, 8192)
SHAPE_3D = (384, 384, 384)
CHUNKS_2D = (1024, 1024)
CHUNKS_3D = (128, 128, 128)
QUICK_SHAPE_2D = (2048, 2048)
QUICK_SHAPE_3D = (128, 128, 128)
QUICK_CHUNKS_2D = CHUNKS_2D
QUICK_CHUNKS_3D = (64, 64, 64)  # 128^3 chunks would leave the quick volume in one chunk
DTYPE = "float32"
SEED = 0
N_WORKERS = 2  # cluster worker processes, one thread each
SCIPY_LIMIT_S = 400.0  # the 3-D median size 7 runs only if scipy needs less than this (~220 s)
QUICK_SCIPY_LIMIT_S = 5.0  # ... and in --quick mode (keeps the quick run under a minute)
PROBE_FRACTION = 3  # its scipy time is estimated on a probe of (side / this)^3 first

TARGET_VS_SCIPY = 0.65  # bigimg best / scipy, for gaussian, uniform and median
TARGET_VS_DASK_IMAGE = 1.0  # bigimg best / dask-image, every operation
TARGET_SHARPEN_VS_DASK_IMAGE = 0.7  # bigimg best / dask-image, sharpening chain

Func = Callable[[Any], Any]


# --- operations ---------------------------------------------------------------------------


def sobel_magnitude(sobel: Callable[..., Any], image: Any) -> Any:
    """hypot(sobel axis 0, sobel axis -1) in 2-D; sqrt of the sum of squares in n-D."""
    if image.ndim == 2:
        return np.hypot(sobel(image, 0), sobel(image, -1))
    total = None
    for axis in range(image.ndim):
        edge = sobel(image, axis)
        total = edge * edge if total is None else total + edge * edge
    return np.sqrt(total)


def sharpen_with(gaussian: Callable[..., Any], image: Any, alpha: float = 30) -> Any:
    """The tutorial's sharpening chain with a given ``gaussian_filter``."""
    blurred = gaussian(image, 3)
    return blurred + alpha * (blurred - gaussian(blurred, 1))


def sharpen(image: Any, alpha: float = 30) -> Any:
    """The sharpening chain written with bigimg, for ``bigimg.ndimage.fused``."""
    b = bigimg.ndimage.gaussian_filter(image, 3)
    return b + alpha * (b - bigimg.ndimage.gaussian_filter(b, 1))


def bigimg_sobel_magnitude(image: Any) -> Any:
    return sobel_magnitude(bigimg.ndimage.sobel, image)


@dataclass(frozen=True)
class Op:
    """One benchmarked operation: how scipy, bigimg (variants) and dask-image run it."""

    name: str
    kind: str  # gaussian | uniform | median | sobel | sharpen (for the targets)
    scipy: Func
    bigimg: dict[str, Func]  # variant name -> function of a dask array
    dask_image: Func | None
    guarded: bool = False  # estimate scipy's time first, skip the row past SCIPY_LIMIT_S


def operations(ndim: int) -> list[Op]:
    try:
        import dask_image.ndfilters as dif
    except ImportError:  # pragma: no cover - the bench extra is not installed
        dif = None
    bnd = bigimg.ndimage

    def di(name: str, func: Func) -> Func | None:
        return func if dif is not None and hasattr(dif, name) else None

    ops = [
        Op(
            "gaussian s=3",
            "gaussian",
            lambda x: ndi.gaussian_filter(x, 3),
            {"plain": lambda x: bnd.gaussian_filter(x, 3)},
            di("gaussian_filter", lambda x: dif.gaussian_filter(x, 3)),
        ),
        Op(
            "uniform 11",
            "uniform",
            lambda x: ndi.uniform_filter(x, 11),
            {"plain": lambda x: bnd.uniform_filter(x, 11)},
            di("uniform_filter", lambda x: dif.uniform_filter(x, 11)),
        ),
    ]
    for size in (3, 7):
        ops.append(
            Op(
                f"median {size}",
                "median",
                lambda x, s=size: ndi.median_filter(x, s),
                {"plain": lambda x, s=size: bnd.median_filter(x, s)},
                di("median_filter", lambda x, s=size: dif.median_filter(x, s)),
                guarded=ndim == 3 and size == 7,
            )
        )
    ops += [
        Op(
            "sobel magnitude",
            "sobel",
            lambda x: sobel_magnitude(ndi.sobel, x),
            {
                "plain": bigimg_sobel_magnitude,
                "fused": lambda x: bnd.fused(bigimg_sobel_magnitude)(x),
            },
            di("sobel", lambda x: sobel_magnitude(dif.sobel, x)),
        ),
        Op(
            "sharpen chain",
            "sharpen",
            lambda x: sharpen_with(ndi.gaussian_filter, x),
            {"plain": sharpen, "fused": lambda x: bnd.fused(sharpen)(x)},
            di("gaussian_filter", lambda x: sharpen_with(dif.gaussian_filter, x)),
        ),
    ]
    return ops


# --- timing ---------------------------------------------------------------------------------


def threaded(x: np.ndarray, chunks: tuple[int, ...], func: Func) -> Callable[[], Any]:
    """Build from the in-memory array, then compute into a new numpy array."""
    return lambda: into_new_array(func(da.from_array(x, chunks=chunks)))


def on_cluster(client: Any, xc: da.Array, func: Func) -> Callable[[], Any]:
    """Build on the input already held by the workers, compute, gather to here."""
    return lambda: client.compute(func(xc)).result()


def scatter_blocks(client: Any, x: np.ndarray, chunks: tuple[int, ...]) -> da.Array:
    """``x`` as a dask array whose chunks live on the cluster's workers (sent once)."""
    geometry = da.from_array(x, chunks=chunks).chunks
    slices = slices_from_chunks(geometry)
    futures = client.scatter([np.ascontiguousarray(x[s]) for s in slices])
    blocks = np.empty([len(c) for c in geometry], dtype=object)
    for index, future, s in zip(np.ndindex(blocks.shape), futures, slices):
        blocks[index] = da.from_delayed(future, shape=x[s].shape, dtype=x.dtype)
    array = client.persist(da.block(blocks.tolist()))
    wait(array)
    return array


# --- results ----------------------------------------------------------------------------------


@dataclass
class Row(BaseRow):
    """One operation on one data set. ``threads`` and ``cluster`` hold bigimg's fastest
    variant (its name as the note), ``variants`` every variant's seconds."""

    op: Op = field(kw_only=True)
    variants: dict[str, dict[str, float]] = field(
        default_factory=lambda: {"threads": {}, "cluster": {}}
    )  # "threads" or "cluster" -> variant -> seconds
    bigimg_diff: dict[str, float] = field(default_factory=dict)  # "threads/plain" -> diff
    reference: np.ndarray | None = None  # scipy's result, kept until the cluster ran
    dask_image_diff: float = math.nan
    skipped: str = ""

    def fastest(self, where: str) -> Timing:
        """The fastest variant on ``where`` ("threads" or "cluster")."""
        times = self.variants[where]
        if not times:
            return Timing()
        variant = min(times, key=times.__getitem__)
        return Timing(times[variant], note=variant)

    def bigimg_exact(self) -> bool:
        return all(d == 0.0 for d in self.bigimg_diff.values())


def fastest_seconds(t: Timing, variants: int) -> str:
    """Seconds, and the fastest variant's name where the operation has several."""
    tag = f" {t.note}" if variants > 1 and not math.isnan(t.seconds) else ""
    return seconds(t.seconds) + tag


def exactness(row: Row) -> str:
    if not row.bigimg_diff:
        return "-"
    if row.bigimg_exact():
        mine = "yes"
    else:
        bad = {k: v for k, v in row.bigimg_diff.items() if v != 0.0}
        mine = "NO " + ", ".join(f"{k} {v:.1e}" for k, v in bad.items())
    if math.isnan(row.dask_image_diff):
        theirs = "-"
    elif row.dask_image_diff == 0.0:
        theirs = "exact"
    else:
        theirs = f"{row.dask_image_diff:.1e}"
    return f"{mine} / {theirs}"


COLUMNS = [
    Column("data", 10),
    Column("operation", 16),
    Column("scipy s", 8, ">"),
    Column("bigimg threads s", 16, ">"),
    Column("bigimg cluster s", 16, ">"),
    Column("dask-image s", 12, ">"),
    Column("best/scipy", 10, ">"),
    Column("best/dask-image", 15, ">"),
    Column("exact? bigimg / dask-image", 26),
]


def cells(row: Row) -> list[str]:
    if row.skipped:
        return [row.data, row.operation, row.skipped]
    n = len(row.op.bigimg)
    best = row.best()
    return [
        row.data,
        row.operation,
        seconds(row.scipy.seconds),
        fastest_seconds(row.threads, n),
        fastest_seconds(row.cluster, n),
        seconds(row.dask_image.seconds),
        ratio(best, row.scipy.seconds),
        ratio(best, row.dask_image.seconds),
        exactness(row),
    ]


def print_results(rows: list[Row]) -> None:
    print_table(COLUMNS, map(cells, rows))
    fused_rows = [r for r in rows if len(r.op.bigimg) > 1 and not r.skipped]
    if fused_rows:
        print("\nbigimg variants (s):")
        for row in fused_rows:
            parts = [
                f"{where} {variant} {times[variant]:.3f}"
                for where, times in row.variants.items()
                for variant in row.op.bigimg
                if variant in times
            ]
            print(f"  {row.data} {row.op.name}: " + ", ".join(parts))


def print_targets(rows: list[Row]) -> None:
    done = [r for r in rows if not r.skipped]
    targets = [
        (
            f"bigimg best <= {TARGET_VS_SCIPY} x scipy (gaussian, uniform, median)",
            [
                (r, r.best() / r.scipy.seconds)
                for r in done
                if r.op.kind in ("gaussian", "uniform", "median")
            ],
            TARGET_VS_SCIPY,
        ),
        (
            f"bigimg best <= {TARGET_VS_DASK_IMAGE} x dask-image (every operation)",
            [
                (r, r.best() / r.dask_image.seconds)
                for r in done
                if not math.isnan(r.dask_image.seconds)
            ],
            TARGET_VS_DASK_IMAGE,
        ),
        (
            f"bigimg best <= {TARGET_SHARPEN_VS_DASK_IMAGE} x dask-image (sharpening chain)",
            [
                (r, r.best() / r.dask_image.seconds)
                for r in done
                if r.op.kind == "sharpen" and not math.isnan(r.dask_image.seconds)
            ],
            TARGET_SHARPEN_VS_DASK_IMAGE,
        ),
    ]
    print("\ntargets:")
    for title, values, limit in targets:
        if not values:
            print(f"  n/a   {title}: nothing measured")
            continue
        misses = [(r, v) for r, v in values if not v <= limit]
        worst_row, worst = max(values, key=lambda rv: rv[1])
        verdict = "PASS" if not misses else "MISS"
        detail = f"worst {worst:.2f} ({worst_row.data} {worst_row.op.name})"
        if misses:
            detail += "; missed by " + ", ".join(
                f"{r.data} {r.op.name} {v:.2f}" for r, v in misses
            )
        print(f"  {verdict}  {title}: {detail}")


# --- the benchmark -----------------------------------------------------------------------------


def estimate_scipy(op: Op, x: np.ndarray) -> float:
    """scipy's time on the whole array, extrapolated from a cube of side / PROBE_FRACTION."""
    side = [max(8, n // PROBE_FRACTION) for n in x.shape]
    probe = np.ascontiguousarray(x[tuple(slice(0, s) for s in side)])
    start = time.perf_counter()
    op.scipy(probe)
    return (time.perf_counter() - start) * x.size / probe.size


def bench_op(
    op: Op,
    data: str,
    x: np.ndarray,
    chunks: tuple[int, ...],
    reps: int,
    limit: float = SCIPY_LIMIT_S,
) -> Row:
    row = Row(data, op.name, op=op)
    if op.guarded:
        estimate = estimate_scipy(op, x)
        if estimate > limit:
            row.skipped = f"skipped (scipy > {limit:.0f} s: about {estimate:.0f} s)"
            return row
    row.scipy, reference = best_of(lambda: op.scipy(x), reps if not op.guarded else 1)
    if row.scipy.seconds > limit and op.guarded:
        row.skipped = f"skipped (scipy > {limit:.0f} s: {row.scipy.seconds:.0f} s)"
        return row
    for variant, func in op.bigimg.items():
        timing, result = best_of(threaded(x, chunks, func), reps)
        row.variants["threads"][variant] = timing.seconds
        row.bigimg_diff[f"threads/{variant}"] = difference(result, reference)
        del result
    row.threads = row.fastest("threads")
    if op.dask_image is not None:
        slow = op.guarded and row.scipy.seconds > 10.0  # dask-image is scipy-bound: one run
        row.dask_image, result = best_of(threaded(x, chunks, op.dask_image), 1 if slow else reps)
        row.dask_image_diff = difference(result, reference)
    row.reference = reference
    return row


def bench_cluster(row: Row, client: Any, xc: da.Array, reps: int) -> None:
    """The cluster column of ``row`` (the cluster runs after every in-process timing,
    so its idle worker processes and their copy of the data never share the machine
    with them)."""
    assert row.reference is not None
    for variant, func in row.op.bigimg.items():
        timing, result = best_of(on_cluster(client, xc, func), reps)
        row.variants["cluster"][variant] = timing.seconds
        row.bigimg_diff[f"cluster/{variant}"] = difference(result, row.reference)
        del result
    row.cluster = row.fastest("cluster")
    row.reference = None


def gil_check(x: np.ndarray, reps: int, sigma: float = 3.0) -> None:
    """scipy gaussian on the whole image vs two threads on two overlapping halves."""
    halo = int(4.0 * sigma + 0.5)
    mid = x.shape[0] // 2
    with ThreadPoolExecutor(2) as pool:

        def halves() -> np.ndarray:
            top = pool.submit(ndi.gaussian_filter, x[: mid + halo], sigma)
            bottom = pool.submit(ndi.gaussian_filter, x[mid - halo :], sigma)
            return np.concatenate([top.result()[:mid], bottom.result()[halo:]])

        whole_t, whole = best_of(lambda: ndi.gaussian_filter(x, sigma), reps)
        split_t, split = best_of(halves, reps)
    whole_s, split_s = whole_t.seconds, split_t.seconds
    speedup = whole_s / split_s
    verdict = (
        "releases the GIL"
        if speedup >= 1.5
        else "holds the GIL"
        if speedup < 1.2
        else "partly parallel"
    )
    same = "identical" if np.array_equal(whole, split) else "DIFFERENT"
    print(
        f"GIL check, scipy gaussian_filter sigma={sigma:g} on {'x'.join(map(str, x.shape))}: "
        f"whole {whole_s:.3f} s, 2 threads on 2 halves {split_s:.3f} s -> speed-up "
        f"{speedup:.2f}x (scipy.ndimage {verdict}; results {same})"
    )


def warm_up(client: Any) -> None:
    """Import and first-call costs (scipy, bigimg, dask-image, worker imports) off the clock."""
    x = bigimg.datasets.natural((96, 96), chunks=48, seed=SEED).compute()
    for op in operations(2):
        for func in op.bigimg.values():
            func(da.from_array(x, chunks=48)).compute(scheduler="threads")
            if client is not None:
                client.compute(func(da.from_array(x, chunks=48))).result()
        if op.dask_image is not None:
            op.dask_image(da.from_array(x, chunks=48)).compute(scheduler="threads")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"small data ({QUICK_SHAPE_2D[0]}^2, {QUICK_SHAPE_3D[0]}^3), one repetition",
    )
    parser.add_argument("--reps", type=int, help="repetitions, best kept (default 3; quick 1)")
    parser.add_argument("--no-cluster", action="store_true", help="skip the distributed runs")
    args = parser.parse_args(argv)
    reps = args.reps or (1 if args.quick else 3)
    datasets = [
        (
            "2-D",
            QUICK_SHAPE_2D if args.quick else SHAPE_2D,
            QUICK_CHUNKS_2D if args.quick else CHUNKS_2D,
        ),
        (
            "3-D",
            QUICK_SHAPE_3D if args.quick else SHAPE_3D,
            QUICK_CHUNKS_3D if args.quick else CHUNKS_3D,
        ),
    ]

    import dask

    print(
        f"bench_filters: {os.cpu_count()} cores, dask threaded scheduler "
        f"({dask.config.get('num_workers', None) or os.cpu_count()} threads), cluster "
        f"{'off' if args.no_cluster else f'{N_WORKERS} worker processes x 1 thread'}, "
        f"best of {reps}"
    )
    for label, shape, chunks in datasets:
        print(f"  {label}: {'x'.join(map(str, shape))} {DTYPE}, chunks {chunks}")
    print(
        "  timed: scipy = one call on the numpy array; bigimg/dask-image threads = "
        "da.from_array + graph + compute into a new numpy array (da.store);\n"
        "         bigimg cluster = graph on the input already scattered to the workers "
        "(sent once per dataset, not timed) + compute + gather of the result here"
    )

    # one dataset at a time: in-process timings first, then the cluster on the same rows
    rows: list[Row] = []
    warm_up(None)
    limit = QUICK_SCIPY_LIMIT_S if args.quick else SCIPY_LIMIT_S
    for label, shape, chunks in datasets:
        x = bigimg.datasets.natural(shape, chunks=chunks, seed=SEED, dtype=DTYPE).compute()
        if label == "2-D":
            gil_check(x, reps)
        data_rows = []
        for op in operations(x.ndim):
            row = bench_op(op, label, x, chunks, reps, limit)
            data_rows.append(row)
            print(
                f"  done {label} {op.name}: scipy {row.scipy.seconds:.3f}, "
                f"threads {row.variants['threads']}, "
                f"dask-image {row.dask_image.seconds:.3f} {row.skipped}",
                file=sys.stderr,
                flush=True,
            )
        if not args.no_cluster:
            with bigimg.cluster.connect(n_workers=N_WORKERS) as client:
                warm_up(client)
                xc = scatter_blocks(client, x, chunks)
                for row in data_rows:
                    if not row.skipped:
                        bench_cluster(row, client, xc, reps)
                        print(
                            f"  done {label} {row.op.name} on the cluster: "
                            f"{row.variants['cluster']}",
                            file=sys.stderr,
                            flush=True,
                        )
                del xc
        for row in data_rows:
            row.reference = None
        rows += data_rows
        del x

    print()
    print_results(rows)
    print_targets(rows)
    wrong = [r for r in rows if not r.skipped and not r.bigimg_exact()]
    if wrong:
        names = ", ".join(f"{r.data} {r.op.name}" for r in wrong)
        print(f"\nFAIL: bigimg differs from scipy for {names}")
        return 1
    print("\nbigimg equals scipy exactly for every operation (threads and cluster).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
