"""Bigger than memory: one job at two image sizes 4x apart, peak memory of every process.

The job (``bigimg run``, on a LocalCluster of ``--workers`` worker processes
capped at ``--memory-limit`` each) reads a float32 Zarr image from disk and
runs gaussian filter (``mode='wrap'``) -> threshold -> label -> region table,
saving the labels to Zarr and the table to CSV. The large image is bigger
than all the memory the job may use (6.25 GiB at the default 40960 x 40960
against 2 x 1 GiB of workers).

**Checked against scipy.** The image is a tile (synthetic blobs plus noise,
with a zero border) repeated over the whole array, so it is periodic: scipy's
gaussian filter with ``mode='wrap'`` on the whole image is the tile's filtered
with ``mode='wrap'``, repeated, bit for bit; no object touches a tile's edge,
so scipy's labels of the whole image are the tile's objects, numbered in the
raster order of their first pixels over the whole image. The script labels
the tile with scipy, derives the whole image's expected ids from that, and
compares the job's ``labels.zarr`` chunk by chunk (every pixel) and every row
of its region table (areas, boxes exactly; centroids and intensity statistics
to rounding). Tile edges are not aligned with chunk edges, so objects cross
chunks everywhere.

**Memory.** Each process of the job (the client with the scheduler, every
worker) is sampled every 50 ms; the peaks at the two sizes and their ratio
are printed. A worker the nanny had to restart (over its memory limit) shows
up as an extra worker process and fails the run.

Usage::

    python scripts/scale_memory.py                          # 20480^2 and 40960^2 (~8 min)
    python scripts/scale_memory.py --sizes 5120 10240 --memory-limit 512MiB   # ~1 min

Prints a table and, last, one JSON line with the figures. Exit status 1 if a
result differs from scipy's, a worker was restarted, or the peak of any
process grows by more than ``--max-ratio`` from the small to the large size.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import psutil
import scipy.ndimage as ndi
import zarr

import bigimg
from bigimg import datasets

SIGMA = 2.0
THRESHOLD = 0.5
TILE_OBJECTS = 80
NOISE = 0.1


def make_tile(size: int, seed: int = 0) -> np.ndarray:
    """Blobs with noise, zero within ``border`` pixels of the edge (float32)."""
    image = datasets.blobs_intensity(
        (size, size), n_objects=TILE_OBJECTS, blob_size=0.2, dtype="float32", seed=seed
    )
    tile = datasets.noisy(image, sigma=NOISE, seed=seed + 1).compute(scheduler="threads")
    border = 2 * math.ceil(4 * SIGMA) + 1  # the filter's reach, twice, and one more
    tile[:border], tile[-border:], tile[:, :border], tile[:, -border:] = 0, 0, 0, 0
    return np.ascontiguousarray(tile, dtype=np.float32)


def tiled(tile: np.ndarray, size: int, chunk: int) -> da.Array:
    """The tile repeated over a ``size`` x ``size`` array, computed chunk by chunk."""
    t = tile.shape[0]

    def block(block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        return tile[(np.arange(r0, r1) % t)[:, None], (np.arange(c0, c1) % t)[None, :]]

    return da.map_blocks(block, chunks=((chunk,) * (size // chunk),) * 2, dtype=tile.dtype)


@dataclass
class Reference:
    """scipy's results on the tile, and the whole image's label ids derived from them."""

    tile: np.ndarray
    labels: np.ndarray  # scipy.ndimage.label of the tile's mask
    ids: np.ndarray  # ids[a, b, o]: whole-image id of tile object o in tile copy (a, b)
    n: int  # objects in the whole image


def reference(tile: np.ndarray, size: int) -> Reference:
    t = tile.shape[0]
    mask = ndi.gaussian_filter(tile, SIGMA, mode="wrap") > THRESHOLD
    edge = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    if edge.any():
        raise AssertionError("an object touches the tile's edge: the reference would be wrong")
    labels, n_tile = ndi.label(mask)
    _, first = np.unique(labels.ravel(), return_index=True)  # first pixel of 0, 1, .., n
    rows, cols = np.divmod(first[1:], t)
    reps = size // t
    a, b = np.meshgrid(np.arange(reps), np.arange(reps), indexing="ij")
    key = (a[..., None] * t + rows) * size + (b[..., None] * t + cols)  # raster position
    rank = np.empty(key.size, np.int64)
    rank[np.argsort(key, axis=None)] = np.arange(1, key.size + 1)
    ids = np.zeros((reps, reps, n_tile + 1), np.int64)
    ids[..., 1:] = rank.reshape(key.shape)
    return Reference(tile, labels, ids, int(key.size))


def check_labels(path: Path, ref: Reference, workers: int = 2) -> int:
    """Every pixel of the stored labels against the reference; returns pixels checked."""
    stored = zarr.open_array(str(path), mode="r")
    t, (ch, cw) = ref.tile.shape[0], stored.chunks
    boxes = [
        (r, c, min(r + ch, stored.shape[0]), min(c + cw, stored.shape[1]))
        for r in range(0, stored.shape[0], ch)
        for c in range(0, stored.shape[1], cw)
    ]

    def one(box: tuple[int, int, int, int]) -> int:
        r0, c0, r1, c1 = box
        rows, cols = np.arange(r0, r1), np.arange(c0, c1)
        tile_ids = ref.labels[(rows % t)[:, None], (cols % t)[None, :]]
        expected = ref.ids[(rows // t)[:, None], (cols // t)[None, :], tile_ids]
        got = stored[r0:r1, c0:c1]
        if not np.array_equal(got, expected):
            bad = np.argwhere(got != expected)[0]
            raise AssertionError(
                f"labels differ from scipy's at ({r0 + bad[0]}, {c0 + bad[1]}): "
                f"{got[tuple(bad)]} != {expected[tuple(bad)]}"
            )
        return got.size

    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(one, boxes))


def check_table(path: Path, ref: Reference) -> int:
    """Every row of the region table against scipy's measurements of the tile."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != ref.n:
        raise AssertionError(f"the table has {len(rows)} rows, scipy finds {ref.n} objects")
    table = {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}
    t, index = ref.tile.shape[0], np.arange(1, ref.labels.max() + 1)
    reps = ref.ids.shape[0]
    area = np.bincount(ref.labels.ravel())[1:]
    boxes = ndi.find_objects(ref.labels)
    centroid = np.array(ndi.center_of_mass(np.ones_like(ref.tile), ref.labels, index))
    stats = {
        "intensity_sum": ndi.sum_labels(ref.tile, ref.labels, index),
        "intensity_mean": ndi.mean(ref.tile, ref.labels, index),
        "intensity_min": ndi.minimum(ref.tile, ref.labels, index),
        "intensity_max": ndi.maximum(ref.tile, ref.labels, index),
        "intensity_std": ndi.standard_deviation(ref.tile, ref.labels, index),
    }
    # the table's row of (copy a, b, object o) is its whole-image id - 1
    a, b, o = np.meshgrid(np.arange(reps), np.arange(reps), index - 1, indexing="ij")
    row = ref.ids[a, b, o + 1].ravel() - 1
    if not np.array_equal(table["label"][row], row + 1):
        raise AssertionError("the table's labels are not 1..n in order")
    offset = {0: (a * t).ravel(), 1: (b * t).ravel()}
    exact = {"area": area[o].ravel()}
    for d in (0, 1):
        exact[f"bbox_min_{d}"] = np.array([s[d].start for s in boxes])[o].ravel() + offset[d]
        exact[f"bbox_max_{d}"] = np.array([s[d].stop for s in boxes])[o].ravel() + offset[d]
    exact["intensity_min"] = stats.pop("intensity_min")[o].ravel()
    exact["intensity_max"] = stats.pop("intensity_max")[o].ravel()
    for name, want in exact.items():
        if not np.array_equal(table[name][row], want):
            raise AssertionError(f"region table column {name!r} differs from scipy's")
    close = {f"centroid_{d}": centroid[o, d].ravel() + offset[d] for d in (0, 1)}
    close.update({name: value[o].ravel() for name, value in stats.items()})
    for name, want in close.items():
        if not np.allclose(table[name][row], want, rtol=1e-9, atol=1e-9):
            raise AssertionError(f"region table column {name!r} differs from scipy's")
    return len(rows)


JOB = """\
job: scale
output_dir: {out}
input: {{path: {image}, chunks: [{chunk}, {chunk}]}}
steps:
  smoothed: {{op: gaussian_filter, input: image, sigma: {sigma}, mode: wrap}}
  mask: {{op: threshold, input: smoothed, value: {threshold}}}
  labels: {{op: label, input: mask}}
  regions: {{op: region_table, labels: labels, image: image}}
outputs:
  - {{from: labels, path: labels.zarr}}
  - {{from: regions, path: regions.csv}}
cluster: {{workers: {workers}, memory_limit: {memory_limit}}}
"""


@dataclass
class Processes:
    """Peak resident memory of every process of a command, by role."""

    peaks: dict[int, int] = field(default_factory=dict)
    roles: dict[int, str] = field(default_factory=dict)
    commands: dict[int, str] = field(default_factory=dict)
    seen: dict[int, tuple[float, float]] = field(default_factory=dict)  # first, last

    def sample(self, root: psutil.Process) -> None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for proc in tree:
            try:
                rss = proc.memory_info().rss
                if proc.pid not in self.roles:
                    self.roles[proc.pid] = _role(proc, root)
                    self.commands[proc.pid] = " ".join(proc.cmdline())
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0), rss)
            now = time.monotonic()
            self.seen[proc.pid] = (self.seen.get(proc.pid, (now, now))[0], now)

    def by_role(self) -> dict[str, int]:
        """Peak per process, named ``client``, ``worker 1``, ``worker 2``, ...
        (processes seen for less than a second are not counted)."""
        out: dict[str, int] = {}
        counts: dict[str, int] = {}
        for pid in sorted(self.peaks):
            first, last = self.seen[pid]
            if last - first < 1.0:
                continue
            role = self.roles[pid]
            if role == "worker":
                counts[role] = counts.get(role, 0) + 1
                role = f"worker {counts[role]}"
            out[role] = self.peaks[pid]
        return out


def _role(proc: psutil.Process, root: psutil.Process) -> str:
    if proc.pid == root.pid:
        return "client + scheduler"
    cmd = " ".join(proc.cmdline())
    if "resource_tracker" in cmd:
        return "resource tracker"
    if "forkserver" in cmd:
        return "forkserver"
    return "worker"


def run_job(job: Path) -> tuple[float, Processes, str]:
    """``bigimg run job`` in a child process, sampling every process it starts."""
    cmd = [sys.executable, "-m", "bigimg.cli", "run", str(job), "--quiet"]
    procs = Processes()
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root = psutil.Process(child.pid)
    while child.poll() is None:
        procs.sample(root)
        time.sleep(0.05)
    wall = time.perf_counter() - start
    output = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise RuntimeError(f"bigimg run failed ({child.returncode}):\n{output}")
    return wall, procs, output


@dataclass
class Result:
    size: int
    input_gib: float
    wall_s: float
    objects: int
    pixels_checked: int
    peaks: dict[str, int]


def one_size(size: int, tile: np.ndarray, workdir: Path, args: argparse.Namespace) -> Result:
    here = workdir / f"{size}"
    shutil.rmtree(here, ignore_errors=True)
    here.mkdir(parents=True)
    image = here / "image.zarr"
    with dask.config.set(scheduler="threads"):
        bigimg.save(tiled(tile, size, args.chunk), image)
    job = here / "job.yaml"
    job.write_text(
        JOB.format(
            out=here / "out",
            image=image,
            chunk=args.chunk,
            sigma=SIGMA,
            threshold=THRESHOLD,
            workers=args.workers,
            memory_limit=args.memory_limit,
        )
    )
    wall, procs, log = run_job(job)
    peaks = procs.by_role()
    workers = sum(1 for role in peaks if role.startswith("worker"))
    restarted = "Restarting worker" in log or "memory usage" in log
    if workers != args.workers or restarted:
        raise AssertionError(
            f"{workers} worker processes ran for {args.workers} workers, or a worker was "
            f"restarted (over its memory limit?); processes: {procs.commands}; "
            f"the job printed:\n{log}"
        )
    ref = reference(tile, size)
    checked = check_labels(here / "out" / "labels.zarr", ref)
    rows = check_table(here / "out" / "regions.csv", ref)
    if not args.keep:
        shutil.rmtree(here)
    return Result(size, size * size * 4 / 2**30, wall, rows, checked, peaks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[20480, 40960])
    parser.add_argument("--tile", type=int, default=2560, help="side of the repeated tile")
    parser.add_argument("--chunk", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="1GiB", help="per worker")
    parser.add_argument("--max-ratio", type=float, default=1.25)
    parser.add_argument("--workdir", type=Path, default=Path("bigimg-scale"))
    parser.add_argument("--keep", action="store_true", help="keep images and outputs")
    args = parser.parse_args(argv)
    small, large = args.sizes
    for size in args.sizes:
        if size % args.tile or size % args.chunk:
            parser.error(f"size {size} must be a multiple of --tile and --chunk")
    limit = dask.utils.parse_bytes(args.memory_limit)
    print(
        f"job: gaussian_filter(sigma={SIGMA}, mode='wrap') > {THRESHOLD} -> label -> "
        f"region_table; {args.workers} workers x {dask.utils.format_bytes(limit)}, "
        f"chunks {args.chunk}^2, tile {args.tile}^2",
        flush=True,
    )
    tile = make_tile(args.tile)
    results = []
    for size in (small, large):
        results.append(one_size(size, tile, args.workdir, args))
        r = results[-1]
        print(
            f"{size}^2: input {r.input_gib:.2f} GiB, {r.wall_s:.0f} s, {r.objects} objects, "
            f"{r.pixels_checked} label pixels and every table row equal to scipy's",
            flush=True,
        )
    mib = 2**20
    roles = list(results[1].peaks)
    print(
        f"\n{'peak RSS (MiB)':<22}" + "".join(f"{s}^2".rjust(12) for s in args.sizes) + "  ratio"
    )
    worst = 0.0
    for role in roles:
        a, b = results[0].peaks.get(role, 0), results[1].peaks[role]
        ratio = b / a if a else math.inf
        if role == "client + scheduler" or role.startswith("worker"):
            worst = max(worst, ratio)
        print(f"{role:<22}{a / mib:12.0f}{b / mib:12.0f}  {ratio:.2f}")
    totals = [sum(r.peaks.values()) for r in results]
    print(
        f"{'sum of peaks':<22}{totals[0] / mib:12.0f}{totals[1] / mib:12.0f}  "
        f"{totals[1] / totals[0]:.2f}"
    )
    budget = args.workers * limit
    print(
        f"\nlarge input {results[1].input_gib:.2f} GiB vs the workers' {budget / 2**30:.2f} GiB: "
        f"{'bigger' if large * large * 4 > budget else 'NOT bigger'} than the job's memory; "
        f"worst peak ratio (client or worker) {worst:.2f} "
        f"({'PASS' if worst <= args.max_ratio else 'FAIL'}: <= {args.max_ratio})"
    )
    print(
        json.dumps(
            {
                "sizes": args.sizes,
                "memory_limit": limit,
                "workers": args.workers,
                "results": [r.__dict__ for r in results],
                "worst_ratio": worst,
            }
        )
    )
    return 0 if worst <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
