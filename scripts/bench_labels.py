"""Benchmark bigimg labelling and per-label measurements against scipy.ndimage and dask-image.

One run, the same data for everyone: a 2-D mask with about 50,000 objects and
a 3-D mask with about 20,000 objects (``bigimg.datasets.blobs``, computed into
memory first) and an intensity image of the same shape. Each operation is
timed with

* scipy.ndimage on the whole numpy arrays (one call, one core),
* bigimg on dask's threaded scheduler (results into new numpy arrays),
* bigimg on a local ``distributed`` cluster of two single-threaded workers,
* dask-image (``dask_image.ndmeasure``) on the threaded scheduler, in a child
  process stopped after ``--limit`` seconds (printed as "> 300 s").

Every timing (scipy's and bigimg's alike) is the best of three calls, or of
one call where it takes over 5 s, so one-time costs (loading compiled
kernels, the first touch of fresh memory) fall on no one.

Operations: ``label``; sum + mean + center_of_mass over all labels; find_objects;
the region table. bigimg's results are checked against scipy's (label ids exactly,
floating measurements to rounding). Printed too: the extra memory each run needed
(peak resident memory of all processes above the level before it) and the number
of tasks in bigimg's graphs against the number of chunks.

Usage::

    python scripts/bench_labels.py            # 8192^2 and 384^3 (several minutes)
    python scripts/bench_labels.py --quick    # 1024^2 and 96^3 (< 1 minute)

Exit status 1 if any bigimg result differs from scipy's.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from benchtools import Column, Timing, best_of, gib, into_new_array, print_table, ratio, seconds
from benchtools import Row as BaseRow

import bigimg
import bigimg.ndimage as bnd

FULL = {"2-D": ((8192, 8192), 1024, 60_000), "3-D": ((384, 384, 384), 128, 24_000)}
QUICK = {"2-D": ((1024, 1024), 256, 1_000), "3-D": ((96, 96, 96), 32, 400)}
N_WORKERS = 2
DASK_IMAGE_LIMIT_S = 300.0
REPEATS = 3
REPEAT_BELOW_S = 5.0
TARGET_LABEL_VS_SCIPY = 2.0
TARGET_MEASURE_VS_SCIPY_ONE = 2.0
TARGET_MEASURE_VS_DASK_IMAGE = 1 / 50


@dataclass
class Row(BaseRow):
    """One operation on one data set."""

    exact: str = "-"
    tasks: str = "-"
    scipy_sum_alone: float = math.nan  # seconds, for sum+mean+com


def timed(run: Callable[[], Any]) -> tuple[Timing, Any]:
    """Best wall time of up to ``REPEATS`` calls (one if a call takes over
    ``REPEAT_BELOW_S``), and the largest extra memory any of them needed."""
    return best_of(run, REPEATS, once_over=REPEAT_BELOW_S, memory=True)


# --- what each tool runs -------------------------------------------------------------------


def scipy_measures(image: np.ndarray, labels: np.ndarray, n: int) -> tuple:
    index = np.arange(1, n + 1)
    return (
        ndi.sum_labels(image, labels, index),
        ndi.mean(image, labels, index),
        ndi.center_of_mass(image, labels, index),
    )


def bigimg_measures(image: da.Array, labels: da.Array, n: int) -> tuple:
    index = np.arange(1, n + 1)
    out = bnd.measure(image, labels, index, ["sum", "mean", "center_of_mass"])
    return out["sum"], out["mean"], out["center_of_mass"]


def scipy_region_table(image: np.ndarray, labels: np.ndarray, n: int) -> dict[str, Any]:
    """What bigimg's region table holds, the scipy way: one call per column group."""
    index = np.arange(1, n + 1)
    ones = np.ones(labels.shape, np.uint8)
    boxes = ndi.find_objects(labels, n)
    return {
        "area": ndi.sum_labels(ones, labels, index),
        "centroid": ndi.center_of_mass(ones, labels, index),
        "bbox": boxes,
        "intensity_sum": ndi.sum_labels(image, labels, index),
        "intensity_mean": ndi.mean(image, labels, index),
        "intensity_min": ndi.minimum(image, labels, index),
        "intensity_max": ndi.maximum(image, labels, index),
        "intensity_std": ndi.standard_deviation(image, labels, index),
    }


def same_measures(got: tuple, expected: tuple) -> bool:
    return all(
        np.allclose(np.asarray(g, dtype=float), np.asarray(e, dtype=float), rtol=1e-9, atol=0)
        for g, e in zip(got, expected)
    )


def same_table(table: dict[str, np.ndarray], expected: dict[str, Any]) -> bool:
    ndim = len(expected["centroid"][0]) if len(expected["centroid"]) else 0
    checks = [
        np.array_equal(table["area"], expected["area"]),
        np.allclose(
            np.stack([table[f"centroid_{a}"] for a in range(ndim)], axis=1),
            np.asarray(expected["centroid"]),
            rtol=1e-9,
        ),
        all(
            np.array_equal(
                [table[f"bbox_min_{a}"][i] for a in range(ndim)], [s.start for s in box]
            )
            and np.array_equal(
                [table[f"bbox_max_{a}"][i] for a in range(ndim)], [s.stop for s in box]
            )
            for i, box in enumerate(expected["bbox"])
        ),
    ]
    for name in ("intensity_sum", "intensity_mean", "intensity_std"):
        checks.append(np.allclose(table[name], expected[name], rtol=1e-9))
    for name in ("intensity_min", "intensity_max"):
        checks.append(np.array_equal(table[name], expected[name]))
    return all(checks)


# --- dask-image, in a child process with a time limit --------------------------------------


def _dask_image_child(kind: str, folder: str, chunks: int, n: int, queue: Any) -> None:
    import dask_image.ndmeasure as dim

    mask = np.load(os.path.join(folder, "mask.npy"), mmap_mode="r")
    labels = np.load(os.path.join(folder, "labels.npy"), mmap_mode="r")
    image = np.load(os.path.join(folder, "image.npy"), mmap_mode="r")
    index = np.arange(1, n + 1)
    with dask.config.set(scheduler="threads"):
        start = time.perf_counter()
        if kind == "label":
            lab, count = dim.label(da.from_array(np.asarray(mask), chunks=chunks))
            into_new_array(lab)
            int(count)
        elif kind == "measure":
            im = da.from_array(np.asarray(image), chunks=chunks)
            lb = da.from_array(np.asarray(labels), chunks=chunks)
            dask.compute(
                dim.sum_labels(im, lb, index),
                dim.mean(im, lb, index),
                dim.center_of_mass(im, lb, index),
            )
        elif kind == "find_objects":
            try:
                dim.find_objects(da.from_array(np.asarray(labels), chunks=chunks)).compute()
            except ImportError:  # dask-image needs pandas and dask[dataframe] for this one
                queue.put("needs pandas")
                return
        queue.put(time.perf_counter() - start)


def dask_image_time(kind: str, folder: str, chunks: int, n: int, limit: float) -> Timing:
    try:
        import dask_image  # noqa: F401
    except ImportError:  # pragma: no cover - the bench extra is not installed
        return Timing(note="not installed")
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_dask_image_child, args=(kind, folder, chunks, n, queue))
    child.start()
    child.join(limit)
    if child.is_alive():
        child.terminate()
        child.join()
        return Timing(seconds=math.inf, note=f"> {limit:.0f} s")
    if queue.empty():
        return Timing(note="failed")
    result = queue.get()
    if isinstance(result, str):
        return Timing(note=result)
    return Timing(seconds=result)


# --- the benchmark -------------------------------------------------------------------------


def run_dataset(
    name: str, shape: tuple[int, ...], chunks: int, n_objects: int, args: Any
) -> list[Row]:
    mask = bigimg.datasets.blobs(shape, n_objects=n_objects, chunks=chunks, seed=1).compute()
    image = bigimg.datasets.natural(shape, chunks=chunks, seed=2, dtype="float32").compute()
    print(f"{name}: {'x'.join(map(str, shape))}, chunks {chunks}", file=sys.stderr)
    rows = []
    blocks = math.prod(math.ceil(s / chunks) for s in shape)

    with dask.config.set(scheduler="threads"):  # not the cluster's client
        # label
        row = Row(name, "label")
        row.scipy, (labels, n) = timed(lambda: ndi.label(mask))
        dmask = da.from_array(mask, chunks=chunks)

        def bigimg_label() -> tuple[np.ndarray, int]:
            lab, count = bnd.label(dmask)
            return into_new_array(lab), count

        row.threads, (got, count) = timed(bigimg_label)
        row.exact = "yes" if count == n and np.array_equal(got, labels) else "NO"
        lazy, _ = bnd.label(dmask)
        row.tasks = f"{len(lazy.__dask_graph__())} tasks / {blocks} chunks"
        del got
        rows.append(row)
        print(f"  {n} objects; label done", file=sys.stderr)

        dimage = da.from_array(image, chunks=chunks)
        dlabels = da.from_array(labels, chunks=chunks)

        # sum + mean + center_of_mass over all labels
        row = Row(name, "sum+mean+com")
        one, _ = timed(lambda: ndi.sum_labels(image, labels, np.arange(1, n + 1)))
        row.scipy, expected = timed(lambda: scipy_measures(image, labels, n))
        row.scipy.note = f"sum alone {one.seconds:.3f} s"
        row.threads, got = timed(lambda: bigimg_measures(dimage, dlabels, n))
        row.exact = "yes" if same_measures(got, expected) else "NO"
        row.scipy_sum_alone = one.seconds
        rows.append(row)
        print("  measurements done", file=sys.stderr)

        # find_objects
        row = Row(name, "find_objects")
        row.scipy, expected = timed(lambda: ndi.find_objects(labels))
        row.threads, got = timed(lambda: bnd.find_objects(dlabels))
        row.exact = "yes" if got == expected else "NO"
        rows.append(row)

        # region table
        row = Row(name, "region table")
        row.scipy, expected = timed(lambda: scipy_region_table(image, labels, n))
        row.threads, got = timed(lambda: bnd.region_table(dlabels, dimage))
        row.exact = "yes" if same_table(got, expected) else "NO"
        rows.append(row)
        print("  find_objects, region table done", file=sys.stderr)

    if not args.no_cluster:  # started after the in-process runs, so it never idles beside them
        with (
            bigimg.cluster.connect(n_workers=N_WORKERS) as client,
            dask.config.set(scheduler=client),
        ):
            with warnings.catch_warnings():  # the data travels once, in the graph
                warnings.simplefilter("ignore", UserWarning)
                cmask = client.persist(dmask)
                cimage, clabels = client.persist(dimage), client.persist(dlabels)

            def cluster_label() -> int:
                lab, count = bnd.label(cmask)
                client.compute(lab.max()).result()  # every block labelled, nothing gathered
                return count

            rows[0].cluster, _ = timed(cluster_label)
            rows[0].cluster.note = "labels stay on the workers"
            rows[1].cluster, _ = timed(lambda: bigimg_measures(cimage, clabels, n))
            rows[2].cluster, _ = timed(lambda: bnd.find_objects(clabels))
            rows[3].cluster, _ = timed(lambda: bnd.region_table(clabels, cimage))
            del cmask, cimage, clabels
        print("  cluster done", file=sys.stderr)

    if not args.no_dask_image:
        with tempfile.TemporaryDirectory() as folder:
            np.save(os.path.join(folder, "mask.npy"), mask)
            np.save(os.path.join(folder, "labels.npy"), labels)
            np.save(os.path.join(folder, "image.npy"), image)
            for row, kind in zip(rows, ["label", "measure", "find_objects"]):
                row.dask_image = dask_image_time(kind, folder, chunks, n, args.limit)
                print(f"  dask-image {kind}: {row.dask_image}", file=sys.stderr)
    return rows


def ratio_or_bound(a: float, b: float) -> str:
    """``a / b``, or an upper bound where ``b`` is dask-image stopped at its time limit."""
    if math.isinf(b) and not math.isnan(a):
        return "< " + f"{a / DASK_IMAGE_LIMIT_S:.4f}"
    return ratio(a, b, digits=3)


COLUMNS = [
    Column("data", 4),
    Column("operation", 13),
    Column("scipy s", 8, ">"),
    Column("GiB", 5, ">"),
    Column("threads s", 9, ">"),
    Column("GiB", 5, ">"),
    Column("cluster s", 9, ">"),
    Column("dask-image s", 12, ">"),
    Column("thr/scipy", 9, ">"),
    Column("best/dask-image", 15, ">"),
    Column("exact", 5),
    Column("graph"),
]


def cells(r: Row) -> list[str]:
    return [
        r.data,
        r.operation,
        seconds(r.scipy.seconds, r.scipy.note),
        gib(r.scipy.extra_bytes),
        seconds(r.threads.seconds, r.threads.note),
        gib(r.threads.extra_bytes),
        seconds(r.cluster.seconds, r.cluster.note),
        seconds(r.dask_image.seconds, r.dask_image.note),
        ratio_or_bound(r.threads.seconds, r.scipy.seconds),
        ratio_or_bound(r.best(), r.dask_image.seconds),
        r.exact,
        r.tasks,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data (< 1 minute)")
    parser.add_argument("--no-cluster", action="store_true", help="skip the distributed runs")
    parser.add_argument("--no-dask-image", action="store_true", help="skip dask-image")
    parser.add_argument("--limit", type=float, default=DASK_IMAGE_LIMIT_S, help="dask-image limit")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    print(
        f"bench_labels: {os.cpu_count()} cores; bigimg threads = dask threaded scheduler; "
        f"cluster = {N_WORKERS} worker processes x 1 thread; memory = extra GiB at peak"
    )
    rows: list[Row] = []
    for name, (shape, chunks, n_objects) in sizes.items():
        rows += run_dataset(name, shape, chunks, n_objects, args)

    print()
    print_table(COLUMNS, map(cells, rows))
    for r in rows:
        if r.scipy.note:
            print(f"  {r.data} {r.operation}: scipy {r.scipy.note}")

    print("\ntargets:")
    verdicts = []
    for r in rows:
        if r.operation == "label":
            v = r.threads.seconds / r.scipy.seconds
            verdicts.append((v <= TARGET_LABEL_VS_SCIPY, f"{r.data} label {v:.2f} x scipy (<= 2)"))
        if r.operation == "sum+mean+com":
            v = r.threads.seconds / r.scipy_sum_alone
            verdicts.append(
                (
                    v <= TARGET_MEASURE_VS_SCIPY_ONE,
                    f"{r.data} sum+mean+com together {v:.2f} x scipy's sum alone (<= 2)",
                )
            )
            if not math.isnan(r.dask_image.seconds):
                best = r.best()
                v = best / r.dask_image.seconds
                verdicts.append(
                    (
                        v <= TARGET_MEASURE_VS_DASK_IMAGE,
                        f"{r.data} measurements {ratio_or_bound(best, r.dask_image.seconds)} x "
                        f"dask-image (<= 0.02, i.e. >= 50 x faster)",
                    )
                )
    for ok, text in verdicts:
        print(f"  {'PASS' if ok else 'MISS'}  {text}")
    wrong = [r for r in rows if r.exact != "yes"]
    if wrong:
        print(
            "\nFAIL: bigimg differs from scipy for "
            + ", ".join(f"{r.data} {r.operation}" for r in wrong)
        )
        return 1
    print("\nbigimg equals scipy for every operation.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
