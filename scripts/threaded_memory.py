"""Peak memory on dask's default (threaded) scheduler as the image grows.

The measurement of issue 20: open a float32 Zarr image (storage chunks
1024^2 in 2-D, 128^3 in 3-D, bigimg's default ``open`` chunking), run
``gaussian_filter`` and ``bigimg.save`` the result, in a fresh process on the
default scheduler; the process's peak RSS (``getrusage``) at each size, and
the ratio of the largest to the smallest. Memory must be bounded by the
chunks in flight, not by the width of the image.

With ``--tutorial`` it also runs ``bigimg run configs/tutorial.yaml`` at
each size given (fresh process each; on threads, and with ``--workers 2`` on
a local cluster too, where the peak of the largest worker process is shown
beside the client's).

Usage::

    python scripts/threaded_memory.py                         # 8192^2 .. 32768^2, 256^3 .. 768^3
    python scripts/threaded_memory.py --sizes2d 4096 8192 --sizes3d 128 256   # quick
    python scripts/threaded_memory.py --sizes2d --sizes3d --tutorial 4096 16384 --workers 0 2

Prints a table and, last, one JSON line with the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dask.array as da
import numpy as np
import zarr

CHILD = r"""
import resource, sys, time
import bigimg
from bigimg import ndimage
src, out = sys.argv[1], sys.argv[2]
t = time.perf_counter()
x = bigimg.open(src)
bigimg.save(ndimage.gaussian_filter(x, 2.0), out)
seconds = time.perf_counter() - t
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, seconds, x.numblocks)
"""


TUTORIAL_CHILD = r"""
import resource, sys, time
from bigimg.cli import main
t = time.perf_counter()
code = main(["run", sys.argv[1], "--quiet", *sys.argv[2:]])
seconds = time.perf_counter() - t
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # the largest
print(own, workers, seconds, code)
"""

TUTORIAL = Path(__file__).resolve().parents[1] / "configs" / "tutorial.yaml"


def measure_tutorial(n: int, workers: int, workdir: Path) -> dict:
    """The tutorial job at ``n``^2 in a fresh process: its peak, and the peak
    of its largest worker process (local cluster of ``workers``; 0: threads)."""
    out = workdir / f"tutorial-{n}-{workers}"
    shutil.rmtree(out, ignore_errors=True)
    settings = [f"input.shape=[{n},{n}]", f"output_dir={out}"]
    if workers:
        settings.append(f"cluster.workers={workers}")
    run = subprocess.run(
        [sys.executable, "-c", TUTORIAL_CHILD, str(TUTORIAL), *(f"--set={s}" for s in settings)],
        capture_output=True,
        text=True,
    )
    if run.returncode:
        raise SystemExit(run.stderr)
    own, largest, seconds, code = run.stdout.split()[-4:]
    shutil.rmtree(out, ignore_errors=True)
    return {
        "tutorial": n,
        "workers": workers,
        "peak_mib": round(int(own) / 2**20),
        "worker_peak_mib": round(int(largest) / 2**20) if workers else None,
        "seconds": round(float(seconds), 1),
        "exit": int(code),
    }


def make_image(path: Path, shape: tuple[int, ...], chunk: int, noise: bool = False) -> None:
    """A float32 Zarr image: a ramp pattern (cheap to make and to compress;
    memory depends on sizes, not values), or with ``noise`` random values
    (which compress poorly, as a real scan's low bits do: reading costs more)."""
    chunks = (chunk,) * len(shape)
    z = zarr.create_array(str(path), shape=shape, chunks=chunks, dtype="float32", overwrite=True)

    def block(block_info: dict | None = None) -> np.ndarray:
        assert block_info is not None
        loc = block_info[None]["array-location"]
        if noise:
            seed = [a for a, _ in loc]
            return np.random.default_rng(seed).random([b - a for a, b in loc], np.float32)
        grids = np.meshgrid(*(np.arange(a, b, dtype=np.float32) for a, b in loc), indexing="ij")
        return (sum(grids) % 97).astype(np.float32)

    image = da.map_blocks(
        block, dtype=np.float32, chunks=tuple((c,) * (s // c) for c, s in zip(chunks, shape))
    )
    da.store(image, z, lock=False)


def measure(shape: tuple[int, ...], chunk: int, workdir: Path, noise: bool = False) -> dict:
    src, out = workdir / "in.zarr", workdir / "out.zarr"
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    make_image(src, shape, chunk, noise)
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(src), str(out)], capture_output=True, text=True
    )
    if run.returncode:
        raise SystemExit(run.stderr)
    rss, seconds, blocks = run.stdout.split(maxsplit=2)
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    return {
        "shape": list(shape),
        "peak_mib": round(int(rss) / 2**20),
        "seconds": round(float(seconds), 1),
        "blocks": blocks.strip(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes2d", type=int, nargs="*", default=[8192, 16384, 32768])
    parser.add_argument("--sizes3d", type=int, nargs="*", default=[256, 512, 768])
    parser.add_argument("--workdir", type=Path, default=Path("bigimg-threaded-memory"))
    parser.add_argument("--noise", action="store_true", help="random values (poorly compressible)")
    parser.add_argument("--tutorial", type=int, nargs="*", default=[], help="tutorial job sizes")
    parser.add_argument("--workers", type=int, nargs="*", default=[0], help="0: threads")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for sizes, ndim, chunk in ((args.sizes2d, 2, 1024), (args.sizes3d, 3, 128)):
        for n in sizes:
            t = time.perf_counter()
            row = measure((n,) * ndim, chunk, args.workdir, args.noise)
            print(
                f"{'x'.join(map(str, row['shape'])):>18}  peak {row['peak_mib']:6d} MiB"
                f"  run {row['seconds']:6.1f} s  blocks {row['blocks']}"
                f"  ({time.perf_counter() - t:.0f} s with making the input)",
                flush=True,
            )
            rows.append(row)
    ratios = {}
    for ndim in (2, 3):
        peaks = [r["peak_mib"] for r in rows if len(r["shape"]) == ndim]
        if len(peaks) > 1:
            ratios[f"{ndim}d"] = round(peaks[-1] / peaks[0], 2)
    for workers in args.workers:
        jobs = []
        for n in args.tutorial:
            row = measure_tutorial(n, workers, args.workdir)
            where = f"{workers} workers" if workers else "threads"
            largest = f", largest worker {row['worker_peak_mib']} MiB" if workers else ""
            print(
                f"tutorial {n}^2 on {where}: peak {row['peak_mib']} MiB{largest}, "
                f"{row['seconds']} s (exit {row['exit']})",
                flush=True,
            )
            jobs.append(row)
        if len(jobs) > 1:
            name = f"tutorial-{workers}w" if workers else "tutorial-threads"
            ratios[name] = round(jobs[-1]["peak_mib"] / jobs[0]["peak_mib"], 2)
            if workers:
                ratios[name + "-worker"] = round(
                    jobs[-1]["worker_peak_mib"] / jobs[0]["worker_peak_mib"], 2
                )
        rows.extend(jobs)
    print("peak ratio, largest / smallest:", ratios)
    print(json.dumps({"rows": rows, "ratios": ratios}))
    shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
