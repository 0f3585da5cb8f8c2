"""Benchmark bigimg's watershed and peak_local_max against scikit-image on the whole array.

One run, the same data for everyone: the common segmentation of touching
objects. A mask of touching blobs (``bigimg.datasets.blobs``), its Euclidean
distance transform, the distance's peaks as markers, and the watershed of the
negated distance inside the mask: 4096 x 4096 and 256^3 (computed into memory
first, with scipy). Each operation is timed with

* scikit-image on the whole numpy arrays (one call, one core),
* bigimg on dask's threaded scheduler (results into new numpy arrays),
* bigimg on a local ``distributed`` cluster of two single-threaded workers
  (inputs persisted on the workers first; the labels stay there).

Every timing is the best of three calls, or of one where a call takes over
5 s. bigimg's results are checked against scikit-image's: the labels and the
peak coordinates exactly. Printed too: the extra memory each run needed (peak
resident memory of all processes above the level before it) and the ratio to
scikit-image's time (target: <= 1.0 on 2 cores).

Usage::

    python scripts/bench_segmentation.py            # 4096^2 and 256^3 (a few minutes)
    python scripts/bench_segmentation.py --quick    # 1024^2 and 96^3 (< 1 minute)

Exit status 1 if any bigimg result differs from scikit-image's.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
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
from skimage.feature import peak_local_max as sk_peak_local_max
from skimage.segmentation import watershed as sk_watershed

import bigimg
from bigimg.segmentation import watershed

FULL = {"2-D": ((4096, 4096), 512, 3_000), "3-D": ((256, 256, 256), 64, 2_000)}
QUICK = {"2-D": ((1024, 1024), 256, 200), "3-D": ((96, 96, 96), 32, 100)}
N_WORKERS = 2
REPEATS = 3
REPEAT_BELOW_S = 5.0
TARGET_VS_SKIMAGE = 1.0
MIN_DISTANCE = 5


@dataclass
class Row(BaseRow):
    """One operation on one data set (``scipy`` holds scikit-image's timing)."""

    exact: str = "-"


def timed(run: Callable[[], Any]) -> tuple[Timing, Any]:
    return best_of(run, REPEATS, once_over=REPEAT_BELOW_S, memory=True)


def prepare(shape: tuple[int, ...], chunks: int, n_objects: int) -> dict[str, np.ndarray]:
    """Mask, distance, the skimage markers (peaks labelled), as numpy arrays."""
    mask = bigimg.datasets.blobs(shape, n_objects=n_objects, chunks=chunks, seed=1).compute()
    distance = ndi.distance_transform_edt(mask)
    peaks = sk_peak_local_max(distance, min_distance=MIN_DISTANCE, labels=ndi.label(mask)[0])
    spots = np.zeros(shape, bool)
    spots[tuple(peaks.T)] = True
    markers, _ = ndi.label(spots)
    return {"mask": mask, "distance": distance, "markers": markers.astype(np.int32)}


def run_dataset(name: str, shape: tuple[int, ...], chunks: int, n: int, args: Any) -> list[Row]:
    data = prepare(shape, chunks, n)
    mask, distance, markers = data["mask"], data["distance"], data["markers"]
    labels_np = ndi.label(mask)[0]
    print(f"{name}: {'x'.join(map(str, shape))}, chunks {chunks}, "
          f"{int(markers.max())} markers", file=sys.stderr)  # fmt: skip
    rows = []
    dd = da.from_array(-distance, chunks=chunks)
    dm = da.from_array(markers, chunks=chunks)
    dk = da.from_array(mask, chunks=chunks)

    with dask.config.set(scheduler="threads"):
        row = Row(name, "watershed")
        row.scipy, expected = timed(lambda: sk_watershed(-distance, markers, mask=mask))
        row.threads, got = timed(lambda: into_new_array(watershed(dd, dm, mask=dk)))
        row.exact = "yes" if np.array_equal(got, expected) else "NO"
        rows.append(row)
        del got, expected
        print("  watershed done", file=sys.stderr)

        row = Row(name, "peak_local_max")
        try:
            from bigimg.feature import peak_local_max
        except ImportError:
            row.threads.note, peak_local_max = "not built", None
        kwargs = {"min_distance": MIN_DISTANCE}
        row.scipy, expected = timed(
            lambda: sk_peak_local_max(distance, labels=labels_np, **kwargs)
        )
        dl = da.from_array(labels_np, chunks=chunks)
        dp = da.from_array(distance, chunks=chunks)
        if peak_local_max is not None:
            row.threads, got = timed(lambda: peak_local_max(dp, labels=dl, **kwargs))
            row.exact = "yes" if np.array_equal(got, expected) else "NO"
        rows.append(row)
        print("  peak_local_max done", file=sys.stderr)

    if not args.no_cluster:
        with (
            bigimg.cluster.connect(n_workers=N_WORKERS) as client,
            dask.config.set(scheduler=client),
        ):
            with warnings.catch_warnings():  # the data travels once, in the graph
                warnings.simplefilter("ignore", UserWarning)
                cd, cm, ck = client.persist(dd), client.persist(dm), client.persist(dk)
                cp, cl = client.persist(dp), client.persist(dl)

            def cluster_watershed() -> None:
                client.compute(watershed(cd, cm, mask=ck).max()).result()

            rows[0].cluster, _ = timed(cluster_watershed)
            rows[0].cluster.note = "labels stay on the workers"
            if peak_local_max is not None:
                rows[1].cluster, _ = timed(lambda: peak_local_max(cp, labels=cl, **kwargs))
            del cd, cm, ck, cp, cl
        print("  cluster done", file=sys.stderr)
    return rows


COLUMNS = [
    Column("data", 4),
    Column("operation", 14),
    Column("skimage s", 9, ">"),
    Column("GiB", 5, ">"),
    Column("threads s", 9, ">"),
    Column("GiB", 5, ">"),
    Column("cluster s", 9, ">"),
    Column("thr/skimage", 11, ">"),
    Column("best/skimage", 12, ">"),
    Column("exact", 5),
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
        ratio(r.threads.seconds, r.scipy.seconds),
        ratio(r.best(), r.scipy.seconds),
        r.exact,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data (< 1 minute)")
    parser.add_argument("--no-cluster", action="store_true", help="skip the distributed runs")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    print(
        f"bench_segmentation: {os.cpu_count()} cores; threads = dask threaded scheduler; "
        f"cluster = {N_WORKERS} worker processes x 1 thread; memory = extra GiB at peak"
    )
    rows: list[Row] = []
    for name, (shape, chunks, n_objects) in sizes.items():
        rows += run_dataset(name, shape, chunks, n_objects, args)
    print()
    print_table(COLUMNS, map(cells, rows))
    print("\ntargets:")
    for r in rows:
        v = r.best() / r.scipy.seconds
        if not math.isnan(v):
            ok = v <= TARGET_VS_SKIMAGE
            print(f"  {'PASS' if ok else 'MISS'}  {r.data} {r.operation} {v:.2f} x skimage (<= 1)")
    wrong = [r for r in rows if r.exact not in ("yes", "-")]
    if wrong:
        print("\nFAIL: bigimg differs from scikit-image for "
              + ", ".join(f"{r.data} {r.operation}" for r in wrong))  # fmt: skip
        return 1
    print("\nbigimg equals scikit-image for every operation it ran.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
