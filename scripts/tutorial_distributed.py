"""The scipy-lectures image-processing chapter (2.6), out of core, on a dask cluster.

Every step of the tutorial -- opening and writing images and raw files,
display, basic manipulations, geometric transforms, blurring, sharpening,
denoising, mathematical morphology, edge detection, histogram segmentation and
measuring objects -- is written with ``bigimg`` on lazy dask arrays and run on
a ``dask.distributed`` cluster. Synthetic images from :mod:`bigimg.datasets`
stand in for the tutorial's data (``natural`` for lena, ``blobs`` /
``blobs_intensity`` for the blobs, ``square`` for the square, ``noisy`` for the
noise), so the same script runs on a 256 x 256 image or on a 16384 x 16384 one
(1 GiB per float32 image): nothing full-size is ever computed into memory.
Results go to Zarr stores, the tutorial's raw file is a real raw file written
chunk by chunk, and the pictures are PNGs of downsampled views.

Usage::

    python scripts/tutorial_distributed.py                  # 2048 x 2048, local cluster
    python scripts/tutorial_distributed.py --size 16384     # 16384 x 16384, same memory per task
    python scripts/tutorial_distributed.py --scheduler tcp://host:8786 --out /shared/tutorial

Options:

--scheduler ADDRESS  join that scheduler (its workers must see ``--out``);
                     default: start a LocalCluster (or join ``BIGIMG_SCHEDULER``)
--workers N          worker processes of the local cluster (default: one per core)
--size N             side of the square images (default 2048)
--chunks N           side of the square chunks (default: size / 4, within 64..1024)
--out DIR            output directory (default ``tutorial_out``)
--overwrite          replace outputs of an earlier run (default: refuse)

Each section prints what it computed, checks itself cheaply (a central window
against scipy.ndimage on the same window in memory, shapes, pixel counts; on
images up to 4096 x 4096 also a few whole-image identities) and the script
exits with status 1 if a check fails, 2 on bad arguments or existing outputs.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from matplotlib.figure import Figure

import bigimg
import bigimg.ndimage as bnd
import bigimg.segmentation as bseg
from bigimg.datasets import blobs, blobs_intensity, natural, noisy, random_field, square
from bigimg.pyramid import downsample

# ---------------------------------------------------------------- parameters
# (the test imports these to redo the tutorial with scipy on the whole image)

SEED = 0  # natural image ("lena")
DENOISE_SIGMA = 0.05  # uniform noise added before denoising
DENOISE_SEED = 1
ALPHA = 30  # sharpening strength
EDGE_ANGLE = 15.0  # degrees, the rotated square of the edge detection
EDGE_SIGMA = 8.0
EDGE_NOISE = 0.07 / math.sqrt(12.0)  # the tutorial's 0.07 * random(), centred
EDGE_SEED = 3
BLOB_OBJECTS = 100  # the tutorial's n**2 points, n = 10
BLOB_SIZE = 0.2
BLOB_SEED = 1
# objects under 0.25 % of the image are removed (the tutorial: 1000 px, 1.5 % of its
# 256 x 256 image, for bigger blobs)
MIN_OBJECT_AREA = 0.0025
SEGMENT_NOISE = 0.2  # img = mask + 0.2 * randn
SEGMENT_SEED = 2
SEGMENT_THRESHOLD = 0.5
HISTOGRAM_BINS = 60
SALT = 0.002  # density of the isolated white pixels opening removes
PEPPER = 0.02  # density of the holes closing fills
MORPHOLOGY_SEED = 4
PREVIEW = 512  # pictures show at most this many pixels per side
FULL_CHECK_MAX = 4096  # whole-image self-checks up to this size

OUTPUTS = (
    "natural.zarr",
    "natural_u2.raw",
    "display.png",
    "manipulations.png",
    "transforms.png",
    "gaussian_3.zarr",
    "blurring.png",
    "sharpened.zarr",
    "sharpening.png",
    "noisy.zarr",
    "median_denoised.zarr",
    "denoising.png",
    "morphology.png",
    "sobel.zarr",
    "edges.png",
    "blobs_noisy.zarr",
    "segmentation.zarr",
    "segmentation.png",
    "labels.zarr",
    "regions.csv",
    "measurements.png",
)


def min_object_size(size: int) -> int:
    """The tutorial's ``sizes < 1000``, in proportion to the image's area."""
    return max(1, round(size * size * MIN_OBJECT_AREA))


def sharpen(image: Any, alpha: float = ALPHA) -> Any:
    """The tutorial's sharpening, written once for bigimg and scipy alike."""
    module = ndi if isinstance(image, np.ndarray) else bnd
    blurred = module.gaussian_filter(image, 3)
    return blurred + alpha * (blurred - module.gaussian_filter(blurred, 1))


class SelfCheckError(Exception):
    """A section's own consistency check failed."""


# ---------------------------------------------------------------- running context


@dataclass
class Run:
    """Where and how big: image side, chunks, output directory, overwrite policy."""

    size: int
    chunks: tuple[int, int]
    out: Path
    overwrite: bool
    started: float = field(default_factory=time.perf_counter)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.size, self.size)

    @property
    def full_checks(self) -> bool:
        return self.size <= FULL_CHECK_MAX

    def window(self, half: int = 64) -> tuple[slice, slice]:
        """A central square of side ``2 * half`` (less on small images)."""
        c = self.size // 2
        return (slice(max(0, c - half), c + half),) * 2

    def path(self, name: str) -> Path:
        if name not in OUTPUTS:
            raise ValueError(f"{name!r} is not a declared output")
        return self.out / name

    def save(self, array: da.Array, name: str) -> da.Array:
        """Write ``array`` to ``name`` (Zarr) chunk by chunk, and reopen it lazily.

        Images that several later computations read are stored first: they are
        computed once, and every later graph starts from the same stored chunks.
        """
        target = bigimg.save(array, self.path(name), overwrite=self.overwrite)
        return bigimg.open(target, chunks=self.chunks)


def say(text: str) -> None:
    print(f"  {text}", flush=True)


def check(condition: Any, message: str) -> None:
    if not bool(condition):
        raise SelfCheckError(message)


def check_window(
    run: Run,
    what: str,
    result: da.Array,
    source: da.Array,
    func: Callable[[np.ndarray], np.ndarray],
    reach: int,
    exact: bool = True,
) -> None:
    """A central window of ``result`` against ``func`` (scipy) on the same window of
    ``source`` grown by ``reach``: equal away from the window's edges. Cheap at any size."""
    n = run.size
    half = min(64, max(1, n // 4))
    lo_out, hi_out = n // 2 - half, n // 2 + half
    lo, hi = max(0, lo_out - reach), min(n, hi_out + reach)  # clamped: the image's own edge
    # one compute for both: one graph, so shared keys are optimized one way only
    patch, got = dask.compute(source[lo:hi, lo:hi], result[lo_out:hi_out, lo_out:hi_out])
    inner = slice(lo_out - lo, hi_out - lo)
    expected = np.asarray(func(np.asarray(patch)))[inner, inner]
    same = np.array_equal(got, expected) if exact else np.allclose(got, expected, rtol=1e-5)
    check(same, f"{what}: central window differs from scipy.ndimage on the same window")


# ---------------------------------------------------------------- pictures


@dataclass
class Panel:
    """One picture in a figure: a (lazy) image shown downsampled, and/or a drawing."""

    title: str
    image: Any = None
    cmap: str = "gray"
    vmin: float | None = None
    vmax: float | None = None
    method: str = "mean"  # downsampling: 'nearest' for labels
    interpolation: str | None = None  # matplotlib's, e.g. 'nearest' to see pixels
    draw: Callable[[Any, Any], None] | None = None  # draw(axes, small image)


def preview(image: Any, method: str = "mean") -> Any:
    """``image`` shrunk to at most PREVIEW pixels per side (lazily)."""
    factor = max(1, math.ceil(max(image.shape) / PREVIEW))
    if factor == 1 or not isinstance(image, da.Array):
        return image
    return downsample(image, factor, method=method)


def picture(run: Run, name: str, panels: Sequence[Panel]) -> Path:
    """Save ``panels`` side by side as a PNG; their previews are computed together."""
    lazy = [preview(p.image, p.method) if p.image is not None else None for p in panels]
    small = list(dask.compute(*lazy))
    fig = Figure(figsize=(2.6 * len(panels), 2.9), layout="constrained")
    for ax, panel, image in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels, small):
        if image is not None:
            shown = np.asarray(image, dtype=np.float32) if image.dtype == bool else image
            ax.imshow(
                shown,
                cmap=panel.cmap,
                vmin=panel.vmin,
                vmax=panel.vmax,
                interpolation=panel.interpolation,
            )
            ax.set_axis_off()
        if panel.draw is not None:
            panel.draw(ax, image)
        ax.set_title(panel.title, fontsize=9)
    target = run.path(name)
    fig.savefig(target, dpi=80)
    return target


# ---------------------------------------------------------------- raw files


@dataclass(frozen=True)
class RawWriter:
    """A picklable ``da.store`` target: each task maps the raw file and writes its block.

    The graph holds only the path, dtype and shape (never a memory map, which
    would pickle as a full in-memory copy), so tasks run on any worker that
    sees the file.
    """

    path: str
    dtype: str
    shape: tuple[int, ...]

    def __setitem__(self, key: Any, value: np.ndarray) -> None:
        target = np.memmap(self.path, dtype=self.dtype, mode="r+", shape=self.shape)
        target[key] = value
        target.flush()
        del target


def write_raw(array: da.Array, path: Path) -> Path:
    """Write ``array`` as a header-less C-ordered raw file, out of core."""
    partial = path.with_name(path.name + ".partial")
    np.memmap(partial, dtype=array.dtype, mode="w+", shape=array.shape).flush()  # sized, empty
    da.store(array, RawWriter(str(partial), array.dtype.str, array.shape), lock=False)
    os.replace(partial, path)
    return path


# ---------------------------------------------------------------- sections


def opening_and_writing(run: Run) -> da.Array:
    """2.6.1: write an image, read it back lazily; raw files and memmap."""
    lena = natural(run.shape, chunks=run.chunks, seed=SEED)
    stored = run.save(lena, "natural.zarr")
    say(f"natural image {lena.shape} {lena.dtype} -> {run.path('natural.zarr')}")
    say(f"reopened lazily: {stored.numblocks[0]} x {stored.numblocks[1]} chunks of {run.chunks}")

    lena_u2 = natural(run.shape, chunks=run.chunks, seed=SEED, dtype="uint16").astype("<u2")
    raw_path = write_raw(lena_u2, run.path("natural_u2.raw"))
    from_raw = bigimg.open(raw_path, dtype="<u2", shape=run.shape, chunks=run.chunks)
    say(f"raw file {raw_path} ({raw_path.stat().st_size:,} bytes), reopened as {from_raw.dtype}")
    memmap = np.memmap(raw_path, dtype="<u2", mode="r", shape=run.shape)
    corner = np.array(memmap[:3, :3])  # reads a few pages, not the file
    del memmap
    say(f"memmap corner: {corner.ravel().tolist()}")

    check(np.array_equal(corner, from_raw[:3, :3].compute()), "memmap corner differs")
    check_window(run, "zarr round trip", stored, lena, lambda p: p, 0)
    check_window(run, "raw round trip", from_raw, lena_u2, lambda p: p, 0)
    if run.full_checks:
        same = da.all(stored == lena) & da.all(from_raw == lena_u2)
        check(same.compute(), "stored images differ from the originals")
    return stored


def displaying(run: Run, lena: da.Array) -> None:
    """2.6.2: grey levels, contrast limits, contours, interpolation of a detail."""
    detail = lena[run.window(10)]

    def contours(ax: Any, image: Any) -> None:
        ax.contour(image, [50 / 255, 200 / 255], colors="red", linewidths=0.8)

    target = picture(
        run,
        "display.png",
        [
            Panel("gray", lena),
            Panel("vmin=30, vmax=200", lena, vmin=30 / 255, vmax=200 / 255),
            Panel("contours 50, 200", lena, draw=contours),
            Panel("detail, nearest", detail, interpolation="nearest"),
            Panel("detail, bilinear", detail, interpolation="bilinear"),
        ],
    )
    say(f"display: preview of {lena.shape} at most {PREVIEW} px per side -> {target}")


def basic_manipulations(run: Run, lena: da.Array) -> None:
    """2.6.3: statistics, crop, flip, masks and fancy indexing."""
    mean, high, low = dask.compute(lena.mean(), lena.max(), lena.min())
    say(f"statistics: mean {mean:.4f}, max {high:.4f}, min {low:.4f}")
    lx, ly = lena.shape
    crop = lena[lx // 4 : -lx // 4, ly // 4 : -ly // 4]
    flip_ud = da.flipud(lena)
    y = da.arange(lx, chunks=run.chunks[0])[:, None]
    x = da.arange(ly, chunks=run.chunks[1])[None, :]
    outside = (y - lx / 2) ** 2 + (x - ly / 2) ** 2 > lx * ly / 4
    masked = da.where(outside, 0, lena)  # lena[mask] = 0
    diagonal = (y == x) & (y < lx * 400 // 512)
    masked = da.where(diagonal, 1, masked)  # lena[range(400), range(400)] = 255
    say(f"crop {crop.shape}, flipud {flip_ud.shape}, circular mask + diagonal {masked.shape}")
    target = picture(
        run,
        "manipulations.png",
        [Panel("crop", crop), Panel("flipud", flip_ud), Panel("mask", masked)],
    )
    say(f"pictures -> {target}")

    check(crop.shape == (lx - 2 * (lx // 4), ly - 2 * (ly // 4)), "crop shape")
    first, last, corners = dask.compute(flip_ud[0], lena[-1], masked[0, [0, -1]])
    check(np.array_equal(first, last), "flipud first row")
    check(corners.tolist() == [1, 0], "mask corners")


def geometric_transforms(run: Run, lena: da.Array) -> None:
    """2.6.3: rotations (with and without reshape), zoom and shift, as scipy.ndimage's."""
    rotated = bnd.rotate(lena, 30)
    rotated_same = bnd.rotate(lena, 30, reshape=False)
    zoomed = bnd.zoom(lena, 0.5)
    shifted = bnd.shift(lena, (run.size / 10, -run.size / 20))
    say(
        f"rotate 30: {rotated.shape} (reshape), {rotated_same.shape} (reshape=False); "
        f"zoom 0.5: {zoomed.shape}; shift: {shifted.shape}"
    )
    target = picture(
        run,
        "transforms.png",
        [
            Panel("rotate(30)", rotated),
            Panel("reshape=False", rotated_same),
            Panel("zoom(0.5)", zoomed),
            Panel("shift", shifted),
        ],
    )
    say(f"pictures -> {target}")

    turn = np.radians(30)  # scipy's output shape: the rotated corners' extent, rounded
    extent = abs(math.cos(turn)) * run.size + abs(math.sin(turn)) * run.size
    expected = (int(extent + 0.5),) * 2
    check(rotated.shape == expected, f"rotate shape {rotated.shape} != scipy's {expected}")
    check(zoomed.shape == (round(run.size * 0.5),) * 2, "zoom shape")


def blurring(run: Run, lena: da.Array) -> None:
    """2.6.4: gaussian filters (sigma 3 and 5) and a uniform filter (size 11)."""
    blurred = run.save(bnd.gaussian_filter(lena, sigma=3), "gaussian_3.zarr")
    very_blurred = bnd.gaussian_filter(lena, sigma=5)
    local_mean = bnd.uniform_filter(lena, size=11)
    say(f"gaussian_filter(sigma=3) -> {run.path('gaussian_3.zarr')}")
    target = picture(
        run,
        "blurring.png",
        [
            Panel("sigma=3", blurred),
            Panel("sigma=5", very_blurred),
            Panel("uniform size=11", local_mean),
        ],
    )
    say(f"gaussian sigma=5, uniform_filter(size=11) -> {target}")

    check_window(run, "gaussian_filter", blurred, lena, lambda p: ndi.gaussian_filter(p, 3), 13)
    check_window(
        run, "uniform_filter", local_mean, lena, lambda p: ndi.uniform_filter(p, 11), 6, False
    )


def sharpening(run: Run, lena: da.Array) -> None:
    """2.6.4: ``blurred + alpha * (blurred - gaussian_filter(blurred, 1))``, in one pass."""
    sharpened = run.save(bnd.fused(sharpen)(lena), "sharpened.zarr")
    low, high = dask.compute(sharpened.min(), sharpened.max())
    say(f"sharpened (alpha={ALPHA}, fused into one overlap pass) -> {run.path('sharpened.zarr')}")
    say(f"sharpened values in [{low:.3f}, {high:.3f}]")
    window = run.window()
    target = picture(
        run,
        "sharpening.png",
        [
            Panel("blurred (detail)", bnd.gaussian_filter(lena, 3)[window]),
            Panel("sharpened (detail)", sharpened[window], vmin=0, vmax=1),
        ],
    )
    say(f"pictures -> {target}")

    check_window(run, "sharpening", sharpened, lena, sharpen, 18)


def denoising(run: Run, lena: da.Array) -> None:
    """2.6.4: a gaussian filter blurs the edges that a median filter keeps."""
    noisy_lena = run.save(
        noisy(lena, sigma=DENOISE_SIGMA, seed=DENOISE_SEED, kind="uniform"), "noisy.zarr"
    )
    gauss_denoised = bnd.gaussian_filter(noisy_lena, 2)
    med_denoised = run.save(bnd.median_filter(noisy_lena, 3), "median_denoised.zarr")
    errors = dask.compute(
        abs(noisy_lena - lena).mean(),
        abs(gauss_denoised - lena).mean(),
        abs(med_denoised - lena).mean(),
    )
    say(
        "mean absolute error: noisy {:.4f}, gaussian_filter(2) {:.4f}, "
        "median_filter(3) {:.4f}".format(*errors)
    )
    say(
        f"noisy image -> {run.path('noisy.zarr')}, "
        f"median_filter(size=3) -> {run.path('median_denoised.zarr')}"
    )
    window = run.window()
    target = picture(
        run,
        "denoising.png",
        [
            Panel("noisy (detail)", noisy_lena[window]),
            Panel("gaussian (detail)", gauss_denoised[window]),
            Panel("median (detail)", med_denoised[window]),
        ],
    )
    say(f"pictures -> {target}")

    check_window(
        run, "median_filter", med_denoised, noisy_lena, lambda p: ndi.median_filter(p, 3), 2
    )
    check(errors[2] < errors[0], "the median filter did not reduce the noise")


def morphology(run: Run) -> None:
    """2.6.4: binary and grey erosion / dilation, opening, closing, reconstruction."""
    sq = square(run.shape, chunks=run.chunks, dtype=bool)
    five = np.ones((5, 5), dtype=bool)
    salt = random_field(run.shape, seed=MORPHOLOGY_SEED, chunks=run.chunks) < SALT
    pepper = random_field(run.shape, seed=MORPHOLOGY_SEED + 1, chunks=run.chunks) < PEPPER
    with_salt = sq | salt
    opened = bnd.binary_opening(with_salt)  # default structure: the 3 x 3 cross
    eroded = bnd.binary_erosion(with_salt)
    reconstruction = bnd.binary_propagation(eroded, mask=with_salt)
    with_holes = sq & ~pepper
    closed = bnd.binary_closing(with_holes)
    counts = dask.compute(
        sq.sum(),
        bnd.binary_erosion(sq).sum(),
        bnd.binary_erosion(sq, structure=five).sum(),
        bnd.binary_dilation(sq).sum(),
        bnd.binary_opening(sq).sum(),
        bnd.binary_closing(sq).sum(),
        (with_salt & ~sq).sum(),
        (opened & ~sq).sum(),
        (reconstruction & sq).sum(),
        (reconstruction & ~sq).sum(),
        (sq & ~with_holes).sum(),
        (sq & ~closed).sum(),
    )
    n_sq, n_ero, n_ero5, n_dil, n_open, n_close = (int(v) for v in counts[:6])
    salt_out, salt_opened, rec_in, rec_out, holes, holes_closed = (int(v) for v in counts[6:])
    side = math.isqrt(n_sq)
    say(
        f"square {side} x {side}: erosion {n_ero} px (5x5: {n_ero5}), dilation {n_dil}, "
        f"opening {n_open}, closing {n_close}"
    )
    say(f"opening removes small objects: {salt_out} salt pixels -> {salt_opened}")
    say(f"binary_propagation reconstruction: square {rec_in} px + {rec_out} attached salt px")
    say(f"closing fills holes: {holes} hole pixels -> {holes_closed}")

    # grey morphology on sparse points (the tutorial's im[x, y] = np.arange(8))
    points = da.where(
        random_field(run.shape, seed=MORPHOLOGY_SEED + 2, chunks=run.chunks) < 0.0005,
        da.floor(8 * random_field(run.shape, seed=MORPHOLOGY_SEED + 3, chunks=run.chunks)),
        0.0,
    )
    bigger = bnd.grey_dilation(points, size=(5, 5), structure=np.ones((5, 5)))
    smaller = bnd.grey_erosion(bigger, size=(3, 3))
    n_points, top, grown, kept = dask.compute(
        (points > 0).sum(), bigger.max(), (bigger > 1).sum(), (smaller > 1).sum()
    )
    say(
        f"grey_dilation(size=5, structure=ones): {int(n_points)} points -> {int(grown)} px "
        f"(max {float(top):.0f}); grey_erosion(size=3) keeps {int(kept)} px"
    )
    corner = (run.size - side) // 2
    window = (slice(max(0, corner - 16), corner + 48),) * 2
    points_window = (slice(0, 128),) * 2
    target = picture(
        run,
        "morphology.png",
        [
            Panel("square + salt", with_salt[window]),
            Panel("opening", opened[window]),
            Panel("reconstruction", reconstruction[window]),
            Panel("holes", with_holes[window]),
            Panel("closing", closed[window]),
            Panel("points", points[points_window], cmap="viridis", vmin=0, vmax=8),
            Panel("grey_dilation", bigger[points_window], cmap="viridis", vmin=0, vmax=8),
            Panel("grey_erosion", smaller[points_window], cmap="viridis", vmin=0, vmax=8),
        ],
    )
    say(f"pictures (corner of the square) -> {target}")

    check(side * side == n_sq, "the square is not a square")
    check(n_ero == (side - 2) ** 2 and n_ero5 == (side - 4) ** 2, "binary_erosion counts")
    check(n_dil == (side + 2) ** 2 - 4, "binary_dilation count")
    check(n_open == side * side - 4 and n_close == side * side, "opening / closing counts")
    check(rec_in == n_sq, "reconstruction did not restore the square")
    check(salt_opened <= salt_out and holes_closed <= holes, "opening / closing made it worse")


def edge_detection(run: Run) -> None:
    """2.6.5: sobel along each axis of a blurred, rotated, noisy square; ``np.hypot``."""
    im = square(run.shape, angle=EDGE_ANGLE, chunks=run.chunks)
    blurred = bnd.gaussian_filter(im, EDGE_SIGMA)
    im_noisy = noisy(blurred, sigma=EDGE_NOISE, seed=EDGE_SEED, kind="uniform")
    sx = bnd.sobel(im_noisy, axis=0, mode="constant")
    sy = bnd.sobel(im_noisy, axis=1, mode="constant")
    sob = run.save(np.hypot(sx, sy), "sobel.zarr")
    top = float(sob.max().compute())
    edges = int((sob > top / 2).sum().compute())
    say(f"square rotated {EDGE_ANGLE} deg, gaussian_filter({EDGE_SIGMA}), noise, sobel x and y")
    say(f"hypot(sx, sy) -> {run.path('sobel.zarr')}: max {top:.4f}, {edges} px above max/2")
    target = picture(
        run,
        "edges.png",
        [
            Panel("square", im_noisy),
            Panel("sobel axis 0", sx, cmap="RdBu"),
            Panel("sobel axis 1", sy, cmap="RdBu"),
            Panel("hypot", sob),
        ],
    )
    say(f"pictures -> {target}")

    check_window(
        run, "gaussian_filter", blurred, im, lambda p: ndi.gaussian_filter(p, EDGE_SIGMA), 34
    )

    def magnitude(p: np.ndarray) -> np.ndarray:
        return np.hypot(
            ndi.sobel(p, axis=0, mode="constant"), ndi.sobel(p, axis=1, mode="constant")
        )

    check_window(run, "sobel", sob, im_noisy, magnitude, 2)
    check(edges > 0, "no edges found")


def blob_images(run: Run) -> tuple[da.Array, da.Array]:
    """The tutorial's ``im`` (smooth blobs) and ``mask`` (``im`` thresholded)."""
    params = {"n_objects": BLOB_OBJECTS, "blob_size": BLOB_SIZE, "seed": BLOB_SEED}
    im = blobs_intensity(run.shape, chunks=run.chunks, **params)
    mask = blobs(run.shape, chunks=run.chunks, **params)
    return im, mask


def segmentation(run: Run) -> None:
    """2.6.5: histogram of noisy blobs, threshold, clean with opening then closing."""
    im, mask = blob_images(run)
    noisy_mask = mask.astype(np.float64) + 0.1 * im
    img = run.save(noisy(noisy_mask, sigma=SEGMENT_NOISE, seed=SEGMENT_SEED), "blobs_noisy.zarr")
    say(f"noisy blobs (mask + 0.1 * im + noise) -> {run.path('blobs_noisy.zarr')}")
    low, high = (float(v) for v in dask.compute(img.min(), img.max()))
    hist = bnd.histogram(img, low, high, HISTOGRAM_BINS)
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    centers = 0.5 * (edges[:-1] + edges[1:])
    background = int(np.argmax(np.where(centers < SEGMENT_THRESHOLD, hist, -1)))
    objects = int(np.argmax(np.where(centers >= SEGMENT_THRESHOLD, hist, -1)))
    valley = background + int(np.argmin(hist[background : max(background, objects) + 1]))
    say(
        f"histogram of {HISTOGRAM_BINS} bins over [{low:.2f}, {high:.2f}]: modes at "
        f"{centers[background]:.2f} and {centers[objects]:.2f}, valley at {centers[valley]:.2f}"
    )
    binary_img = img > SEGMENT_THRESHOLD
    open_img = bnd.binary_opening(binary_img)
    close_img = run.save(bnd.binary_closing(open_img), "segmentation.zarr")
    wrong_before, wrong_after = (
        int(v) for v in dask.compute((binary_img != mask).sum(), (close_img != mask).sum())
    )
    total = run.size * run.size
    say(
        f"img > {SEGMENT_THRESHOLD}: {wrong_before / total:.2%} pixels wrong; after "
        f"binary_opening + binary_closing {wrong_after / total:.2%} -> "
        f"{run.path('segmentation.zarr')}"
    )

    def plot(ax: Any, _: Any) -> None:
        ax.plot(centers, hist, lw=1)
        ax.axvline(SEGMENT_THRESHOLD, color="k", ls="--", lw=0.8)
        ax.set_yticks([])

    target = picture(
        run,
        "segmentation.png",
        [
            Panel("img", img),
            Panel("histogram", draw=plot),
            Panel("img > 0.5", binary_img),
            Panel("opening + closing", close_img),
        ],
    )
    say(f"pictures -> {target}")

    def clean(p: np.ndarray) -> np.ndarray:
        return ndi.binary_closing(ndi.binary_opening(p > SEGMENT_THRESHOLD))

    check_window(run, "opening + closing", close_img, img, clean, 4)
    check(int(hist.sum()) == total, "the histogram misses pixels")


def measuring_objects(run: Run) -> None:
    """2.6.6: label, sizes, remove small objects, relabel, find_objects, mean values."""
    im, mask = blob_images(run)
    label_im, nb_labels = bnd.label(mask)
    say(f"label: {nb_labels} objects")
    sizes = bnd.sum(mask, label_im, range(nb_labels + 1))
    min_size = min_object_size(run.size)
    mask_size = sizes < min_size
    mask_size[0] = False  # background stays 0 either way
    say(
        f"sizes (pixels) of the first objects: {sizes[1:6].astype(int).tolist()}; "
        f"{int(mask_size.sum())} smaller than {min_size}"
    )
    cleaned = bseg.relabel(label_im, np.where(mask_size, 0, np.arange(nb_labels + 1)))
    sequential, forward, _ = bseg.relabel_sequential(cleaned)
    values = forward.in_values
    labels = run.save(sequential, "labels.zarr")
    n_kept = len(values) - 1 if len(values) and values[0] == 0 else len(values)
    say(f"removed small objects, relabelled 1..{n_kept} -> {run.path('labels.zarr')}")
    boxes = bnd.find_objects(labels)
    which = min(4, n_kept)
    mean_vals = bnd.mean(im, labels, range(1, n_kept + 1))
    say(f"mean intensity of the first objects: {np.round(mean_vals[:5], 3).tolist()}")
    if which:
        # (label_im == 4) * 1: scipy's find_objects refuses a boolean image nowadays
        slice_x, slice_y = bnd.find_objects((labels == which).astype(np.uint8))[0]
        roi = im[slice_x, slice_y].compute()
        say(
            f"find_objects(labels == {which}): rows {slice_x.start}:{slice_x.stop}, "
            f"columns {slice_y.start}:{slice_y.stop}, roi {roi.shape}"
        )
    table = bnd.region_table(labels, im)
    csv = bnd.write_table(table, run.path("regions.csv"), overwrite=run.overwrite)
    say(f"region table ({len(table['label'])} rows, {len(table)} columns) -> {csv}")
    target = picture(
        run,
        "measurements.png",
        [
            Panel("mask", mask),
            Panel("labels", label_im, cmap="nipy_spectral", method="nearest"),
            Panel("cleaned, sequential", labels, cmap="nipy_spectral", method="nearest"),
        ],
    )
    say(f"pictures -> {target}")

    check(len(boxes) == n_kept and all(b is not None for b in boxes), "find_objects boxes")
    check(np.array_equal(table["label"], np.arange(1, n_kept + 1)), "region table labels")
    kept_sizes = sizes[1:][~mask_size[1:]]
    check(np.array_equal(table["area"], kept_sizes), "region areas differ from the sizes")
    check(np.allclose(table["intensity_mean"], mean_vals), "region means differ from mean()")
    if run.full_checks:
        check(int(sizes.sum()) == int(mask.sum().compute()), "sizes do not add up to the mask")


ON_NATURAL: tuple[tuple[str, Callable[[Run, da.Array], None]], ...] = (
    ("2.6.2 Displaying images", displaying),
    ("2.6.3 Basic manipulations: statistics, crop, flip, masks", basic_manipulations),
    ("2.6.3 Geometric transforms", geometric_transforms),
    ("2.6.4 Blurring", blurring),
    ("2.6.4 Sharpening", sharpening),
    ("2.6.4 Denoising", denoising),
)
ON_SYNTHETIC: tuple[tuple[str, Callable[[Run], None]], ...] = (
    ("2.6.4 Mathematical morphology", morphology),
    ("2.6.5 Edge detection", edge_detection),
    ("2.6.5 Histogram-based segmentation", segmentation),
    ("2.6.6 Measuring objects' properties", measuring_objects),
)


def timed(title: str, section: Callable[..., Any], *args: Any) -> Any:
    """Run one section under its title and print how long it took."""
    print(f"== {title}", flush=True)
    started = time.perf_counter()
    result = section(*args)
    say(f"({time.perf_counter() - started:.1f} s)")
    return result


# ---------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The scipy-lectures image tutorial with bigimg on a dask cluster."
    )
    parser.add_argument("--scheduler", help="scheduler address (default: a LocalCluster)")
    parser.add_argument("--workers", type=int, help="workers of the local cluster")
    parser.add_argument("--size", type=int, default=2048, help="image side (default 2048)")
    parser.add_argument("--chunks", type=int, help="chunk side (default size/4, 64..1024)")
    parser.add_argument("--out", type=Path, default=Path("tutorial_out"), help="output dir")
    parser.add_argument("--overwrite", action="store_true", help="replace earlier outputs")
    args = parser.parse_args(argv)
    if args.scheduler and args.workers is not None:
        parser.error("--workers applies to a local cluster, not to --scheduler")
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.size < 16:
        parser.error("--size must be at least 16")
    if args.chunks is None:
        args.chunks = min(1024, max(64, args.size // 4))
    if args.chunks < 8:
        parser.error("--chunks must be at least 8")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out.expanduser().resolve()  # absolute: workers may run elsewhere
    existing = [name for name in OUTPUTS if (out / name).exists()]
    if existing and not args.overwrite:
        print(
            f"error: {out} already holds {', '.join(existing)}; pass --overwrite to replace",
            file=sys.stderr,
        )
        return 2
    out.mkdir(parents=True, exist_ok=True)
    run = Run(args.size, (args.chunks, args.chunks), out, args.overwrite)

    # No low-level task fusion: it renames fused keys differently in graphs that share
    # them (a window check after a save, a preview after a measurement), which the
    # scheduler reports as colliding keys (https://github.com/dask/dask/issues/9888).
    with (
        dask.config.set({"optimization.fuse.active": False}),
        bigimg.cluster.connect(args.scheduler, n_workers=args.workers) as client,
    ):
        workers = len(client.nthreads())
        print(f"cluster: {workers} worker(s), scheduler {client.scheduler.address}", flush=True)
        print(f"images: {run.size} x {run.size}, chunks {run.chunks}, outputs in {out}")
        try:
            lena = timed("2.6.1 Opening and writing to image files", opening_and_writing, run)
            for title, section in ON_NATURAL:
                timed(title, section, run, lena)
            for title, synthetic in ON_SYNTHETIC:
                timed(title, synthetic, run)
        except SelfCheckError as exc:
            print(f"self-check failed: {exc}", file=sys.stderr)
            return 1
    print(f"total wall time: {time.perf_counter() - run.started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
