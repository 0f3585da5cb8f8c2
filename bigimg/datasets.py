"""Lazy synthetic test images, identical bit for bit whatever the chunking.

Each image is defined by a few parameters drawn up front from
``np.random.default_rng(seed)`` and is computed chunk by chunk from the chunk's
global coordinates only: a ``100_000 x 100_000`` image is defined instantly, its
graph has one task per chunk, and every chunking computes the same bits (values
are built from global coordinates with a fixed sequence of elementwise
operations, summed in a fixed global order).  They stand in for the data of the
scipy-lectures image tutorial: :func:`natural` for ``misc.lena()``, :func:`blobs`
and :func:`square` for its synthetic images, :func:`noisy` for its noise.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import dask.array as da
import numpy as np
from dask.base import tokenize

from bigimg._blob_field import along_axis, blob_block, blob_params
from bigimg._grid import BlockSlices
from bigimg._random_bits import random_block
from bigimg._validation import check_int, check_real, is_int
from bigimg.io.chunking import choose_chunks

__all__ = ["blobs", "blobs_intensity", "natural", "noisy", "random_field", "square"]

_BLOB_THRESHOLD = 0.5  # blobs() is blobs_intensity() > this


def _check_shape(shape: Any) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, numbers.Integral) else shape
    if not isinstance(shape, Sequence) or not all(is_int(s) for s in shape):
        raise TypeError(f"shape must be an int or a sequence of ints, got {shape!r}")
    if not shape or any(s < 0 for s in shape):
        raise ValueError(f"shape must have at least one axis, none negative, got {shape!r}")
    return tuple(int(s) for s in shape)


def _check_dtype(dtype: Any, kinds: str) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype={dtype!r} is not a numpy dtype") from exc
    if dt.kind not in kinds:
        names = ", ".join({"b": "bool", "i": "int", "u": "uint", "f": "float"}[k] for k in kinds)
        raise TypeError(f"dtype={dt} is not supported here; use one of: {names}")
    return dt


def _chunks(chunks: Any, shape: tuple[int, ...], dtype: np.dtype) -> tuple[tuple[int, ...], ...]:
    return choose_chunks(shape, dtype, chunks)


def _lazy(
    func: Callable[..., np.ndarray],
    name: str,
    shape: tuple[int, ...],
    chunks: Any,
    dtype: np.dtype,
    token: tuple,
    /,
    **params: Any,
) -> da.Array:
    """One task per chunk: ``func(location, **params)`` with the chunk's global slices."""
    normalized = _chunks(chunks, shape, dtype)
    where = BlockSlices(normalized)

    def block(block_id: tuple[int, ...] = ()) -> np.ndarray:
        return func(list(where(block_id)), **params)

    return da.map_blocks(
        block,
        chunks=normalized,
        dtype=dtype,
        meta=np.empty((0,) * len(shape), dtype),
        name=f"{name}-{tokenize(name, shape, normalized, dtype, *token)}",
    )


def _to_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float64 values in [0, 1] as ``dtype``: floats as is, ints rounded onto 0..max."""
    if dtype.kind == "f":
        return values.astype(dtype)
    high = float(np.iinfo(dtype).max)
    if int(high) > np.iinfo(dtype).max:  # 64-bit ints: max is not a float64
        high = float(np.nextafter(high, 0.0))
    return np.rint(values * high).astype(dtype)


def random_field(
    shape: Sequence[int] | int,
    *,
    seed: int = 0,
    chunks: Any = "auto",
    distribution: str = "uniform",
    dtype: Any = "float64",
) -> da.Array:
    """Counter-based random numbers: a pure function of ``(seed, pixel index)``.

    Each value is a SplitMix64 hash of the seed and the pixel's global C-order
    linear index, computed in vectorised uint64 arithmetic, so every chunking
    gives the same bits.

    Parameters
    ----------
    shape : int or sequence of int
        Shape of the field.
    seed : int
        Seed in ``[0, 2**64)``.
    chunks : str, int or tuple
        Anything :func:`dask.array.core.normalize_chunks` takes (``'auto'``: ~32 MiB).
    distribution : {'uniform', 'normal'}
        Uniform in ``[0, 1)`` (with as many random bits as ``dtype`` holds), or
        standard normal by Box-Muller from two independent hashes.
    dtype : float dtype
        Output dtype.

    Returns
    -------
    dask.array.Array

    Examples
    --------
    >>> from bigimg.datasets import random_field
    >>> x = random_field((1000, 1000), chunks=100, distribution="normal")
    >>> y = random_field((1000, 1000), chunks=(333, 1000), distribution="normal")
    >>> bool((x == y).all().compute())
    True
    """
    shape, dt = _check_shape(shape), _check_dtype(dtype, "f")
    seed = check_int(seed, "seed", high=2**64)
    if distribution not in ("uniform", "normal"):
        raise ValueError(f"distribution must be 'uniform' or 'normal', got {distribution!r}")
    normal = distribution == "normal"
    return _lazy(
        random_block,
        f"random-{distribution}",
        shape,
        chunks,
        dt,
        (seed,),
        shape=shape,
        seed=seed,
        normal=normal,
        dtype=dt,
    )


def noisy(image: Any, *, sigma: float = 0.1, seed: int = 0, kind: str = "gaussian") -> da.Array:
    """``image`` plus deterministic noise of standard deviation ``sigma``.

    The noise is :func:`random_field` on the image's own chunks, so it depends
    only on ``seed`` and each pixel's global position, never on the chunking.

    Parameters
    ----------
    image : dask.array.Array or array_like
        Image of any shape with known chunk sizes.
    sigma : float
        Standard deviation of the noise, in the image's units.
    seed : int
        Seed in ``[0, 2**64)``.
    kind : {'gaussian', 'uniform'}
        Normal noise, or uniform noise on ``[-sigma*sqrt(3), sigma*sqrt(3))``.

    Returns
    -------
    dask.array.Array
        Floating image: the dtype of ``image`` when floating, float64 otherwise.

    Examples
    --------
    >>> from bigimg.datasets import noisy, square
    >>> im = noisy(square((256, 256)), sigma=0.4, seed=1)
    >>> im.dtype
    dtype('float32')
    """
    image = da.asarray(image)
    if image.dtype.kind not in "biuf":
        raise TypeError(f"image dtype {image.dtype} is not bool, integer or float")
    sigma = check_real(sigma, "sigma", low=0.0)
    seed = check_int(seed, "seed", high=2**64)
    if kind not in ("gaussian", "uniform"):
        raise ValueError(f"kind must be 'gaussian' or 'uniform', got {kind!r}")
    if any(c != c for cs in image.chunks for c in cs):
        raise ValueError("image has unknown chunk sizes; call image.compute_chunk_sizes()")
    out, shape = image.dtype if image.dtype.kind == "f" else np.dtype(np.float64), image.shape
    normal, scale = kind == "gaussian", sigma if kind == "gaussian" else sigma * math.sqrt(12.0)

    where = BlockSlices(image.chunks)

    def block(x: np.ndarray, block_id: tuple[int, ...] = ()) -> np.ndarray:
        loc = list(where(block_id))
        field = random_block(loc, shape=shape, seed=seed, normal=normal, dtype=np.float64)
        return (x.astype(np.float64) + (field if normal else field - 0.5) * scale).astype(out)

    token = tokenize("noisy", image.name, sigma, seed, kind)
    return image.map_blocks(
        block, dtype=out, meta=np.empty((0,) * image.ndim, out), name=f"noisy-{token}"
    )


def _rotation(rng: np.random.Generator, ndim: int) -> np.ndarray:
    """A random rotation: Givens rotations by random angles in every plane."""
    rot = np.eye(ndim)
    for i in range(ndim):
        for j in range(i + 1, ndim):
            c, s = math.cos(a := rng.uniform(0, 2 * math.pi)), math.sin(a)
            giv = np.eye(ndim)
            giv[[i, i, j, j], [i, j, i, j]] = c, -s, s, c
            rot = rot @ giv
    return rot


def _natural_params(shape: tuple[int, ...], seed: int) -> SimpleNamespace:
    """Draw every feature of :func:`natural` in units of the longest side."""
    rng, ndim = np.random.default_rng(seed), len(shape)
    p = SimpleNamespace(scale=float(max(max(shape), 1)))
    ext = np.array(shape) / p.scale
    p.offset, p.gradient = ext / 2, rng.uniform(-0.15, 0.15, ndim)
    nw = 6  # oriented sinusoids, amplitude ~ 1/sqrt(frequency)
    direction = rng.normal(size=(nw, ndim))
    freq = np.exp(rng.uniform(math.log(0.7), math.log(6.0), nw))
    p.k = 2 * math.pi * freq[:, None] * direction / np.linalg.norm(direction, axis=1)[:, None]
    p.wave_amp, p.phase = 0.07 / np.sqrt(freq), rng.uniform(0, 2 * math.pi, nw)
    # compactly supported ellipsoids: 24 smooth bumps (1 - r^2)^3, 12 soft-edged plateaus
    p.ellipsoids = []
    for i in range(36):
        plateau = i >= 24
        size = math.exp(rng.uniform(math.log(0.02), math.log(0.25 if plateau else 0.2)))
        radii = size * np.exp(rng.uniform(-0.5, 0.5, ndim))
        rot, centre = _rotation(rng, ndim), rng.random(ndim) * ext
        amp = rng.uniform(0.05, 0.25 if plateau else 0.3) * rng.choice([-1.0, 1.0])
        quad = rot @ np.diag(radii**-2.0) @ rot.T  # r^2 = dx . quad . dx
        coef = [
            (d, e, quad[d, e] * (1.0 if d == e else 2.0))
            for d in range(ndim)
            for e in range(d, ndim)
        ]
        edge = min(0.5, 0.004 / size)  # soft edge, in units of the radius
        reach = (1.0 + edge if plateau else 1.0) * np.sqrt((rot**2) @ radii**2)
        lo = np.floor((centre - reach) * p.scale - 0.5).astype(int) - 1
        hi = np.ceil((centre + reach) * p.scale - 0.5).astype(int) + 2
        p.ellipsoids.append((plateau, edge, amp, centre, coef, lo, hi))
    return p


def _natural_block(loc: list[slice], *, p: SimpleNamespace, dtype: np.dtype) -> np.ndarray:
    ndim = len(loc)
    u = [(np.arange(s.start, s.stop) + 0.5) / p.scale for s in loc]  # global coordinates
    out = np.full([s.stop - s.start for s in loc], 0.5)
    for d in range(ndim):
        out += along_axis(p.gradient[d] * (u[d] - p.offset[d]), d, ndim)
    for k, amp, phase in zip(p.k, p.wave_amp, p.phase, strict=True):
        c, s = math.cos(phase), math.sin(phase)  # sin(phase + k.u) by angle addition
        for d in range(ndim):
            theta = k[d] * u[d]
            cd, sd = along_axis(np.cos(theta), d, ndim), along_axis(np.sin(theta), d, ndim)
            # c and s become arrays; c is None only after the last axis, where it is unused
            c, s = (c * cd - s * sd if d < ndim - 1 else None), s * cd + c * sd  # type: ignore[assignment]
        out += amp * s
    for plateau, edge, amp, centre, coef, lo, hi in p.ellipsoids:
        sub = [
            slice(max(a, s.start) - s.start, min(b, s.stop) - s.start)
            for a, b, s in zip(lo, hi, loc, strict=True)
        ]  # bounding box in the chunk
        if any(s.start >= s.stop for s in sub):
            continue
        dx = [along_axis(u[d][s] - centre[d], d, ndim) for d, s in enumerate(sub)]
        r2 = sum(q * dx[d] * dx[e] for d, e, q in coef)
        if plateau:  # smoothstep from 1 (r <= 1 - edge) to 0 (r >= 1 + edge)
            t = np.clip((1.0 + edge - np.sqrt(r2)) / (2.0 * edge), 0.0, 1.0)
            value = t * t * (3.0 - 2.0 * t)
        else:
            t = np.maximum(1.0 - r2, 0.0)
            value = t * t * t
        out[tuple(sub)] += amp * value
    np.clip(out, 0.0, 1.0, out=out)
    return _to_dtype(out + 0.0, dtype)  # + 0.0 turns any -0.0 into 0.0


def natural(
    shape: Sequence[int] | int = (512, 512),
    *,
    chunks: Any = "auto",
    seed: int = 0,
    dtype: Any = "float32",
) -> da.Array:
    """A smooth natural-looking test image, in place of the tutorial's ``lena``.

    A gentle gradient, six oriented sinusoids, 24 smooth bumps and 12
    soft-edged ellipses (randomly rotated ellipsoids in n-D) of many sizes,
    drawn from ``np.random.default_rng(seed)`` in units of the longest side, so
    the image looks the same at any size.  Features are evaluated on global
    pixel coordinates with compact support, so chunks compute independently.

    Parameters
    ----------
    shape : int or sequence of int
        Image shape, any number of axes.
    chunks : str, int or tuple
        Anything :func:`dask.array.core.normalize_chunks` takes (``'auto'``: ~32 MiB).
    seed : int
        Seed in ``[0, 2**64)``.
    dtype : float or int dtype
        Floats hold values in ``[0, 1]``; integers are rounded onto ``0..max``
        of the dtype (``uint8``: 0..255).

    Returns
    -------
    dask.array.Array

    Examples
    --------
    >>> from bigimg.datasets import natural
    >>> im = natural((100_000, 100_000), dtype="uint8")  # instant: nothing computed
    >>> im.numblocks
    (18, 18)
    >>> natural((64, 64), seed=3).compute().shape
    (64, 64)
    """
    shape, dt = _check_shape(shape), _check_dtype(dtype, "iuf")
    seed = check_int(seed, "seed", high=2**64)
    return _lazy(
        _natural_block,
        "natural",
        shape,
        chunks,
        dt,
        (seed,),
        p=_natural_params(shape, seed),
        dtype=dt,
    )


def _blob_args(
    shape: Any, n_objects: int | None, blob_size: float, seed: int
) -> tuple[tuple[int, ...], tuple[int, float, int], SimpleNamespace]:
    shape = _check_shape(shape)
    n = 40 if n_objects is None else check_int(n_objects, "n_objects")
    blob_size = check_real(blob_size, "blob_size", low=0.0, strict=True)
    seed = check_int(seed, "seed", high=2**64)
    return shape, (n, blob_size, seed), blob_params(shape, n, blob_size, seed)


def blobs_intensity(
    shape: Sequence[int] | int = (512, 512),
    *,
    n_objects: int | None = None,
    blob_size: float = 0.1,
    chunks: Any = "auto",
    seed: int = 0,
    dtype: Any = "float64",
) -> da.Array:
    """The smooth field that :func:`blobs` thresholds at 0.5, lazily.

    A sum of ``n_objects`` anisotropic gaussians (peak heights 0.75..1.5),
    truncated to exactly 0 beyond a fixed radius and summed in a fixed global
    order, so every chunking computes the same bits.  In float64 (the
    default) and with the same arguments, ``blobs_intensity(...) > 0.5`` is
    ``blobs(...)``.

    Parameters
    ----------
    shape : int or sequence of int, optional
        Image shape, any number of axes (default ``(512, 512)``).
    n_objects : int, optional, keyword-only
        Number of gaussians drawn (default 40, at any shape).
    blob_size : float, optional, keyword-only
        Gaussian width relative to the mean spacing between blob centres,
        ``(prod(shape) / n_objects) ** (1 / ndim)`` (default 0.1; must be
        positive).
    chunks : str, int or tuple, optional, keyword-only
        Anything :func:`dask.array.core.normalize_chunks` takes (``'auto'``:
        ~32 MiB chunks of ``dtype``).
    seed : int, optional, keyword-only
        Seed in ``[0, 2**64)`` of the centres, heights and widths (default 0).
    dtype : float dtype, optional, keyword-only
        Of the result (default float64; the field is computed in float64);
        other kinds raise TypeError.

    Returns
    -------
    dask.array.Array
        The field, of ``dtype`` and ``shape``: 0 far from every blob, peaks of
        about 0.75 to 1.5 (more where blobs overlap).

    Examples
    --------
    >>> from bigimg.datasets import blobs, blobs_intensity
    >>> field = blobs_intensity((256, 256), n_objects=20)
    >>> bool(field.max() > 0.5)
    True
    >>> mask = blobs((256, 256), n_objects=20, chunks=64)
    >>> bool(((field > 0.5) == mask).all().compute())
    True
    """
    dt = _check_dtype(dtype, "f")
    shape, token, params = _blob_args(shape, n_objects, blob_size, seed)
    return _lazy(
        blob_block,
        "blobs-intensity",
        shape,
        chunks,
        dt,
        token,
        p=params,
        threshold=None,
        dtype=dt,
    )


def blobs(
    shape: Sequence[int] | int = (512, 512),
    *,
    n_objects: int | None = None,
    blob_size: float = 0.1,
    chunks: Any = "auto",
    seed: int = 0,
) -> da.Array:
    """A boolean image of about ``n_objects`` blobs, as in the tutorial.

    Random points blurred by gaussians and thresholded at 0.5: centres are drawn
    up front (float64) and each chunk sums, in global order, only the truncated
    gaussians that reach it.  ``chunks='auto'`` sizes chunks for the float64
    working field (~32 MiB), so boolean chunks are ~4 MiB.

    Parameters
    ----------
    shape : int or sequence of int
        Image shape, any number of axes.
    n_objects : int, optional
        Number of blobs drawn (default 40, at any shape).  With the default
        ``blob_size`` about 80-90 % of them (2-D; more in 3-D) end up as
        separate connected objects: centres drawn close together merge.
    blob_size : float
        Gaussian width relative to the mean spacing between blob centres,
        ``(prod(shape) / n_objects) ** (1 / ndim)``.  Larger values merge blobs
        into fewer, larger shapes (the tutorial looks like ``0.25``).
    chunks : str, int or tuple
        Anything :func:`dask.array.core.normalize_chunks` takes.
    seed : int
        Seed in ``[0, 2**64)``.

    Returns
    -------
    dask.array.Array
        Boolean image.

    Examples
    --------
    >>> from scipy import ndimage
    >>> from bigimg.datasets import blobs
    >>> mask = blobs((512, 512), n_objects=30, seed=1).compute()
    >>> 20 <= ndimage.label(mask)[1] <= 32
    True
    """
    shape, token, params = _blob_args(shape, n_objects, blob_size, seed)
    return _lazy(
        blob_block,
        "blobs",
        shape,
        _chunks(chunks, shape, np.dtype(np.float64)),
        np.dtype(bool),
        token,
        p=params,
        threshold=_BLOB_THRESHOLD,
        dtype=None,
    )


def _square_block(
    loc: list[slice],
    *,
    shape: tuple[int, ...],
    half: float,
    cos: float,
    sin: float,
    rotate: bool,
    dtype: np.dtype,
) -> np.ndarray:
    ndim = len(shape)
    dx = [
        along_axis(np.arange(s.start, s.stop) - (n - 1) / 2.0, d, ndim)
        for d, (s, n) in enumerate(zip(loc, shape, strict=True))
    ]
    if rotate:  # rotate pixel centres back by the angle, in the plane of the last two axes
        a, b = dx[-2], dx[-1]
        dx[-2:] = [cos * a + sin * b, cos * b - sin * a]
    inside = np.ones([s.stop - s.start for s in loc], dtype=bool)
    for x in dx:
        inside &= np.abs(x) <= half
    white = dtype.type(1 if dtype.kind in "bf" else np.iinfo(dtype).max)
    return inside.astype(dtype) * white


def square(
    shape: Sequence[int] | int = (256, 256),
    *,
    angle: float = 0.0,
    size: float = 0.5,
    chunks: Any = "auto",
    dtype: Any = "float32",
) -> da.Array:
    """The tutorial's white square on black (a cube in 3-D), optionally rotated.

    A pixel is white when its centre lies in the centred square of side
    ``size * min(shape)``: ``square()`` is ``im[64:-64, 64:-64] = 1`` on a
    256 x 256 image.

    Parameters
    ----------
    shape : int or sequence of int
        Image shape, any number of axes (a segment in 1-D, a hypercube in n-D).
    angle : float
        Rotation in degrees, counter-clockwise in the plane of the last two
        axes (needs at least two axes when nonzero).
    size : float
        Side of the square as a fraction of the smallest side of the image.
    chunks : str, int or tuple
        Anything :func:`dask.array.core.normalize_chunks` takes (``'auto'``: ~32 MiB).
    dtype : bool, float or int dtype
        White is ``True``, ``1.0`` or the integer dtype's max; black is 0.

    Returns
    -------
    dask.array.Array

    Examples
    --------
    >>> from bigimg.datasets import square
    >>> int(square().sum().compute())
    16384
    >>> diamond = square((256, 256), angle=45, dtype=bool)
    """
    shape, dt = _check_shape(shape), _check_dtype(dtype, "biuf")
    angle = check_real(angle, "angle")
    size = check_real(size, "size", low=0.0)
    rotate = angle % 360.0 != 0.0
    if rotate and len(shape) < 2:
        raise ValueError(f"angle={angle} needs an image with at least two axes, got {shape}")
    rad = math.radians(angle)
    return _lazy(
        _square_block,
        "square",
        shape,
        chunks,
        dt,
        (angle, size),
        shape=shape,
        half=size * min(shape) / 2.0,
        cos=math.cos(rad),
        sin=math.sin(rad),
        rotate=rotate,
        dtype=dt,
    )
