"""What each chunk costs: client, scheduler and worker memory and time per chunk.

The scaling run of issue 20: the pipeline gaussian -> threshold (Otsu) ->
label -> region table -> save labels, on synthetic blobs in small chunks
(32^2 by default), at 2^12, 2^14 and 2^16 chunks, so the work per pixel
stays small and what grows is what bigimg and dask spend per chunk. Each run
is a fresh process:

* ``threads``: dask's default threaded scheduler, in the client process;
* ``cluster``: a scheduler and two single-threaded workers, each its own
  process (``dask scheduler`` / ``dask worker --no-nanny``), and the client.

For each it prints the peak RSS of every process (Linux ``VmHWM``), the time
to build the first graph (gaussian and threshold, before anything runs),
the wall time of each stage, and the per-chunk overhead: the wall time less
that of the same image in 1024^2 chunks, divided by the number of chunks.
Last it fits ``peak = a + b * chunks`` between the smallest and largest
runs and projects every figure to 2^20 chunks, and prints one JSON line.

Usage::

    python scripts/chunk_scaling.py                      # 2^12, 2^14, 2^16 chunks
    python scripts/chunk_scaling.py --chunks 4096 16384  # quicker
    python scripts/chunk_scaling.py --where threads
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
import numpy as np
shape, chunk, out, scheduler_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
client = None
if scheduler_file:
    from distributed import Client
    client = Client(scheduler_file=scheduler_file)
import bigimg
from bigimg import datasets, ndimage
from bigimg.pipeline.ops import threshold
times = {}
t0 = t = time.perf_counter()
image = datasets.blobs_intensity((shape, shape), chunks=chunk, n_objects=shape // 4, seed=0)
blurred = ndimage.gaussian_filter(image, 2.0)
times["build"] = time.perf_counter() - t
t = time.perf_counter()
mask = threshold(blurred, method="otsu")
times["threshold"] = time.perf_counter() - t
t = time.perf_counter()
labels, n = ndimage.label(mask)
times["label"] = time.perf_counter() - t
t = time.perf_counter()
table = ndimage.region_table(labels, image)
times["regions"] = time.perf_counter() - t
t = time.perf_counter()
bigimg.save(labels, out)
times["save"] = time.perf_counter() - t
times["total"] = time.perf_counter() - t0
with open("/proc/self/status") as f:
    peak = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM"))
print(json.dumps({"times": times, "client": peak, "objects": int(n), "rows": len(table["label"])}))
"""


def _peak(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))


def _dask(*args: str) -> list[str]:
    return [sys.executable, "-m", "distributed.cli." + args[0], *args[1:]]


def run(shape: int, chunk: int, where: str, workdir: Path) -> dict:
    """One run in fresh processes; its figures."""
    out = workdir / "labels.zarr"
    shutil.rmtree(out, ignore_errors=True)
    procs: dict[str, subprocess.Popen] = {}
    scheduler_file = ""
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    try:
        if where == "cluster":
            scheduler_file = str(workdir / "scheduler.json")
            Path(scheduler_file).unlink(missing_ok=True)
            procs["scheduler"] = subprocess.Popen(
                _dask(
                    "dask_scheduler",
                    "--port",
                    "0",
                    "--scheduler-file",
                    scheduler_file,
                    "--dashboard-address",
                    ":0",
                ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            while not Path(scheduler_file).exists():
                time.sleep(0.1)
            for w in range(2):
                procs[f"worker{w}"] = subprocess.Popen(
                    _dask(
                        "dask_worker",
                        "--scheduler-file",
                        scheduler_file,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--memory-limit",
                        "4GiB",
                        "--dashboard-address",
                        ":0",
                    ),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
            _wait_for_workers(scheduler_file, 2)
        child = subprocess.run(
            [sys.executable, "-c", CHILD, str(shape), str(chunk), str(out), scheduler_file],
            capture_output=True,
            text=True,
            env=env,
        )
        if child.returncode:
            raise SystemExit(child.stderr)
        row = json.loads(child.stdout.strip().splitlines()[-1])
        row.update({name: _peak(p.pid) for name, p in procs.items()})
    finally:
        for p in procs.values():
            p.kill()  # no graceful close: a worker whose scheduler is gone waits for it
        for p in procs.values():
            p.wait()
    shutil.rmtree(out, ignore_errors=True)
    row.update(shape=shape, chunk=chunk, chunks=(shape // chunk) ** 2, where=where)
    return row


def _wait_for_workers(scheduler_file: str, n: int) -> None:
    from distributed import Client

    with Client(scheduler_file=scheduler_file) as client:
        client.wait_for_workers(n, timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, nargs="*", default=[2**12, 2**14, 2**16])
    parser.add_argument("--chunk", type=int, default=32, help="chunk side (pixels)")
    parser.add_argument("--where", nargs="*", default=["threads", "cluster"])
    args = parser.parse_args(argv)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bigimg-scaling-") as tmp:
        workdir = Path(tmp)
        for where in args.where:
            for n in args.chunks:
                shape = args.chunk * math.isqrt(n)
                big = run(shape, 1024 if shape >= 1024 else shape, where, workdir)
                row = run(shape, args.chunk, where, workdir)
                row["per_chunk_ms"] = 1e3 * (row["times"]["total"] - big["times"]["total"]) / n
                row["baseline_s"] = big["times"]["total"]
                rows.append(row)
                _print(row)
    projection = _project(rows, 2**20)
    for line in projection["lines"]:
        print(line)
    print(json.dumps({"rows": rows, "projection": projection["figures"]}))
    return 0


_PROCS = ("client", "scheduler", "worker0", "worker1")


def _print(row: dict) -> None:
    t = row["times"]
    peaks = "  ".join(f"{p} {row[p] / 2**20:6.0f} MiB" for p in _PROCS if p in row)
    print(
        f"{row['where']:>7} {row['chunks']:>7} chunks ({row['shape']}^2 in {row['chunk']}^2): "
        f"{peaks}; build {t['build']:.2f} s, threshold {t['threshold']:.1f}, "
        f"label {t['label']:.1f}, regions {t['regions']:.1f}, save {t['save']:.1f}, "
        f"total {t['total']:.1f} s (1024^2 chunks: {row['baseline_s']:.1f} s); "
        f"{row['per_chunk_ms']:.2f} ms per chunk; {row['objects']} objects",
        flush=True,
    )


def _project(rows: list[dict], target: int) -> dict:
    lines, figures = [], {}
    for where in sorted({r["where"] for r in rows}):
        mine = sorted((r for r in rows if r["where"] == where), key=lambda r: r["chunks"])
        if len(mine) < 2:
            continue
        lo, hi = mine[0], mine[-1]
        keys = [p for p in _PROCS if p in hi] + ["build"]  # projected linearly in chunks
        got: dict[str, dict] = {}
        for k in keys:
            a, b = (_value(lo, k), _value(hi, k))
            slope = (b - a) / (hi["chunks"] - lo["chunks"])
            got[k] = {
                "ratio": round(b / a, 2) if a else None,
                "at_2^20": a + slope * (target - lo["chunks"]),
            }
        figures[where] = got
        text = ", ".join(
            f"{k} x{v['ratio']} ("
            + (f"{v['at_2^20'] / 2**20:.0f} MiB" if k in _PROCS else f"{v['at_2^20']:.0f} s")
            + " at 2^20 chunks)"
            for k, v in got.items()
        )
        text += f"; per-chunk overhead {lo['per_chunk_ms']:.1f} -> {hi['per_chunk_ms']:.1f} ms"
        lines.append(f"{where}: {lo['chunks']} -> {hi['chunks']} chunks: {text}")
    return {"lines": lines, "figures": figures}


def _value(row: dict, key: str) -> float:
    if key == "build":
        return float(row["times"]["build"])
    return float(row[key])


if __name__ == "__main__":
    sys.exit(main())
