"""Pictures of images too big to show: downsampled views, PNGs, histograms.

The tutorial's display (gray ``imshow`` with ``vmin``/``vmax``, a mask's
contour, label images, the histogram read for a threshold) for images larger
than memory: pictures are drawn from a view computed chunk by chunk (at most
``max_size`` pixels per side); histograms count every pixel chunk by chunk,
exactly as :func:`numpy.histogram` on the whole array. PNGs are drawn with
:class:`matplotlib.figure.Figure`: no pyplot, no backend switch.
"""

from __future__ import annotations

import io
import itertools
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import dask.array as da
import numpy as np

from bigimg._execute import run_blocks
from bigimg._random_bits import GAMMA, mix
from bigimg._validation import as_dask, check_flag, check_int, check_real, check_reals, is_int
from bigimg.io import targets
from bigimg.io.faults import write_error
from bigimg.pyramid import METHODS, downsample

__all__ = ["histogram", "preview", "save_histogram", "save_image", "view"]

_DPI = 100
_MIN_SIDE = 512  # small views are scaled up (whole pixels) to about this many PNG pixels
_TITLE_BAND = 32  # PNG pixels above the picture for a title


def _image(image: Any, name: str = "image") -> da.Array:
    image = as_dask(image, name)
    if image.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} has dtype {image.dtype}; only bool, integer and float images can be "
            "shown (take .real or abs() of a complex image first)"
        )
    return image


def _plane_2d(image: da.Array, plane: Any, name: str = "image") -> da.Array:
    """The 2-D image to show: ``image`` itself, or one plane of a 3-D stack."""
    if image.ndim == 2:
        if plane is not None:
            raise ValueError(f"plane={plane!r} applies only to 3-D images ({name} is 2-D)")
        return image
    if image.ndim != 3:
        raise ValueError(
            f"{name} has {image.ndim} axes, shape {image.shape}: only 2-D images and 3-D "
            "stacks (shown one plane along the first axis) can be shown"
        )
    n = image.shape[0]
    if plane is None:
        plane = n // 2
    if not is_int(plane):
        raise TypeError(f"plane={plane!r} must be an int")
    if not -n <= plane < n:
        raise ValueError(f"plane={plane} is out of range for {n} planes (axis 0 of {name})")
    return image[int(plane)]


def _lazy_view(image: Any, max_size: Any, method: Any, plane: Any, name: str) -> da.Array:
    """The lazy downsampled 2-D view, every parameter checked; nothing computed."""
    max_size = check_int(max_size, "max_size", low=1)
    if method is not None and method not in METHODS:
        raise ValueError(f"method={method!r} must be None or one of {METHODS}")
    image2d = _plane_2d(_image(image, name), plane, name)
    if image2d.size == 0:
        raise ValueError(f"{name} has shape {image2d.shape}: no pixels to show")
    if method is None:
        method = "mean" if image2d.dtype.kind == "f" else "nearest"
    factor = max(1, -(-max(image2d.shape) // max_size))  # one factor: square pixels
    return downsample(image2d, factor, method=method)


def view(
    image: Any, *, max_size: int = 1024, method: str | None = None, plane: int | None = None
) -> np.ndarray:
    """A 2-D downsampled view of ``image``, computed chunk by chunk.

    Both axes shrink by the integer factor ``ceil(max(shape) / max_size)``, so
    the view has at most ``max_size`` pixels per side and the image's aspect.
    Each dask task holds about one chunk: the whole image is never in memory.

    Parameters
    ----------
    image : numpy.ndarray or dask.array.Array
        A bool, integer or float 2-D image, or a 3-D stack (one plane along
        the first axis is shown).
    max_size : int, keyword-only
        Largest side of the view, in pixels.
    method : {None, 'mean', 'nearest', 'max', 'min'}, keyword-only
        How a window becomes one pixel (:func:`bigimg.pyramid.downsample`).
        ``None``: 'mean' for float images, 'nearest' (the window's first
        pixel) for integer and bool images, so label ids are kept exactly.
    plane : int, optional, keyword-only
        For a 3-D stack: the index along the first axis. Default: the middle
        plane, ``shape[0] // 2``.

    Returns
    -------
    numpy.ndarray
        2-D, of the image's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> view(np.arange(16.0).reshape(4, 4), max_size=2)
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    return _lazy_view(image, max_size, method, plane, "image").compute()


def _label_colors(ids: Any) -> np.ndarray:
    """RGB in [0, 1] (shape ``ids.shape + (3,)``) of label ids: 0 black, others bright.

    A hash of the id alone picks hue, saturation and brightness: an id has the
    same colour in every picture, whatever other ids are present.
    """
    from matplotlib.colors import hsv_to_rgb

    ids = np.asarray(ids)
    if ids.dtype.kind not in "biu":
        raise TypeError(f"label ids must be integers, got dtype {ids.dtype}")
    z = ids.astype(np.int64).view(np.uint64) if ids.dtype.kind == "i" else ids.astype(np.uint64)
    with np.errstate(over="ignore"):
        h = mix(np.atleast_1d(z) + np.uint64(GAMMA))
    hue = (h >> np.uint64(11)).astype(np.float64) * 2.0**-53
    sat = 0.55 + 0.45 * (h & np.uint64(0xFF)).astype(np.float64) / 255
    val = 0.7 + 0.3 * ((h >> np.uint64(8)) & np.uint64(0xFF)).astype(np.float64) / 255
    rgb = hsv_to_rgb(np.stack([hue, sat, val], axis=-1))
    rgb[np.atleast_1d(ids) == 0] = 0.0
    return rgb.reshape((*ids.shape, 3))


def _target(path: Any, overwrite: Any, title: Any) -> Path:
    """The PNG path, refused (before any work) if it exists and ``overwrite`` is False."""
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title={title!r} must be a string or None")
    try:
        path = targets.resolve(path)
    except (TypeError, ValueError):
        raise TypeError(f"path={path!r} must be a path") from None
    if path.suffix.lower() != ".png":
        raise ValueError(f"path={str(path)!r} must end in .png (pictures are written as PNG)")
    targets.refuse_existing(path, overwrite=check_flag(overwrite, "overwrite"))
    return path


def _write(fig: Any, path: Path, overwrite: bool) -> Path:
    """Render ``fig`` in memory, write it next to ``path`` and rename it into
    place: a failed or killed write never leaves a partial picture."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_bytes(buffer.getvalue())
        targets.publish(partial, path, replace=overwrite)  # refuses a path that appeared
    except OSError as exc:  # a full disk: name the picture, keep errno
        if isinstance(exc, FileExistsError):  # TargetExistsError too
            raise
        raise write_error(f"cannot write the picture {str(path)!r}", exc, partial) from exc
    finally:
        partial.unlink(missing_ok=True)
    return path


def save_image(
    image: Any,
    path: Any,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: Any = "gray",
    labels: bool = False,
    contour: Any = None,
    levels: float | Sequence[float] = (0.5,),
    contour_color: Any = "red",
    max_size: int = 1024,
    plane: int | None = None,
    title: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a PNG picture of ``image``: its :func:`view`, each view pixel a square of PNG pixels.

    Parameters
    ----------
    image : numpy.ndarray or dask.array.Array
        2-D image or 3-D stack (see :func:`view`).
    path : path-like
        The ``.png`` file to write; parent folders are created.
    vmin, vmax : float, optional, keyword-only
        Values at the ends of ``cmap`` (black and white). Default: the view's
        smallest and largest finite values.
    cmap : str or matplotlib.colors.Colormap, keyword-only
        Colormap of an intensity image (not used with ``labels=True``).
    labels : bool, keyword-only
        Draw an integer or bool label image ('nearest' view): 0 black, each
        id in a colour that depends on the id only, the same in every picture.
    contour : numpy.ndarray or dask.array.Array, optional, keyword-only
        A mask or float image of the same shape, drawn as contour lines at
        ``levels`` (increasing). It is downsampled by the same factors with
        'mean' as floats, so a mask's 0.5 line follows its edge smoothly.
    levels : float or sequence of float, keyword-only
    contour_color : matplotlib colour, keyword-only
    max_size, plane : int, keyword-only
        As in :func:`view`.
    title : str, optional, keyword-only
    overwrite : bool, keyword-only
        Replace an existing file; otherwise
        :class:`bigimg.errors.TargetExistsError` is raised and nothing written.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> im = np.random.default_rng(0).random((300, 200))
    >>> out = save_image(im, os.path.join(tempfile.mkdtemp(), "im.png"), contour=im > 0.5)
    >>> out.read_bytes()[:4]
    b'\\x89PNG'
    """
    import matplotlib
    from matplotlib.colors import is_color_like
    from matplotlib.figure import Figure

    image = _image(image)
    target, labels = _target(path, overwrite, title), check_flag(labels, "labels")
    lo = None if vmin is None else check_real(vmin, "vmin")
    hi = None if vmax is None else check_real(vmax, "vmax")
    if labels and (lo is not None or hi is not None):
        raise ValueError("vmin/vmax do not apply to labels=True (ids have fixed colours)")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"vmin={vmin} must not exceed vmax={vmax}")
    if isinstance(cmap, str):
        if cmap not in matplotlib.colormaps:
            raise ValueError(f"cmap={cmap!r} is not a matplotlib colormap name")
    elif not isinstance(cmap, matplotlib.colors.Colormap):
        raise TypeError(f"cmap={cmap!r} must be a colormap name or a Colormap")
    pic = _lazy_view(image, max_size, "nearest" if labels else None, plane, "image")
    if labels and pic.dtype.kind not in "biu":
        raise TypeError(f"labels=True needs an integer or bool image, not {pic.dtype}")
    lines = None
    if contour is not None:
        levels = check_reals(levels, "levels")
        if not levels or any(b <= a for a, b in itertools.pairwise(levels)):
            raise ValueError(f"levels={levels!r} must be one or more increasing numbers")
        if not is_color_like(contour_color):
            raise ValueError(f"contour_color={contour_color!r} is not a matplotlib colour")
        mask = _image(contour, "contour")
        if mask.shape != image.shape:
            raise ValueError(
                f"contour has shape {mask.shape}, the image {image.shape}: they must be the same"
            )
        if mask.dtype.kind != "f":  # a mask's mean is the fraction set: smooth edges
            mask = mask.astype(np.float32 if mask.dtype.itemsize <= 2 else np.float64)
        lines = _lazy_view(mask, max_size, "mean", plane, "contour")
    pic, lines = da.compute(pic, lines)

    h, w = pic.shape
    scale = max(1, _MIN_SIDE // max(h, w, 1))
    band = _TITLE_BAND if title else 0
    fig = Figure(figsize=(w * scale / _DPI, (h * scale + band) / _DPI), dpi=_DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, h * scale / (h * scale + band)))
    ax.set_axis_off()
    if labels:
        ids, inverse = np.unique(pic, return_inverse=True)
        ax.imshow(_label_colors(ids)[inverse.reshape(pic.shape)], interpolation="nearest")
    else:
        values = pic.astype(np.float64)
        finite = values[np.isfinite(values)]
        if lo is None:
            lo = float(finite.min()) if finite.size else 0.0
        if hi is None:
            hi = float(finite.max()) if finite.size else 1.0
        ax.imshow(values, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
    if lines is not None and min(lines.shape) >= 2:
        with warnings.catch_warnings():  # a flat field has no line at a level: draw none
            warnings.filterwarnings("ignore", "No contour levels were found")
            ax.contour(lines, levels=levels, colors=[contour_color], linewidths=1.0)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_aspect("auto")
    if title:
        fig.suptitle(title, y=1.0 - 0.5 * band / (h * scale + band), va="center")
    return _write(fig, target, overwrite)


#: the most bins a histogram picture may have
MAX_BINS = 2**16


def _bins_range(bins: Any, range: Any) -> tuple[Any, Any]:
    """Checked ``bins`` (an int, or an array of edges) and ``range`` (a pair or None)."""
    if is_int(bins):
        bins = check_int(bins, "bins", low=1)
    elif isinstance(bins, Sequence | np.ndarray) and not isinstance(bins, str):
        if len(check_reals(bins, "bins")) < 2 or np.any(np.diff(bins) <= 0):
            raise ValueError("bins, given as edges, must be 2 or more increasing numbers")
        bins = np.asarray(bins)  # as given: numpy's edges keep their dtype
    else:  # not 'auto' &c.: they need all the pixels at once
        raise TypeError(f"bins={bins!r} must be an int or a sequence of bin edges")
    if range is not None:
        if not isinstance(range, Sequence | np.ndarray) or len(range) != 2:
            raise TypeError(f"range={range!r} must be a pair (min, max) or None")
        if check_real(range[0], "range[0]") > check_real(range[1], "range[1]"):
            raise ValueError(f"range={range!r}: min must not exceed max")
        range = (range[0], range[1])  # as given: numpy's edges' dtype depends on their types
    return bins, range


def _block_counts(block: np.ndarray, bins: Any, range: Any) -> np.ndarray:
    counts = np.histogram(block, bins=bins, range=range)[0]
    return counts.reshape((1,) * block.ndim + (-1,))


def _block_min_max(block: np.ndarray) -> np.ndarray:
    # an empty chunk (of a non-empty image) has neither: nothing
    pair = np.array([block.min(), block.max()] if block.size else [], block.dtype)
    return pair.reshape((1,) * block.ndim + (-1,))


def histogram(
    image: Any, *, bins: int | Sequence[float] = 256, range: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of every pixel, chunk by chunk: exactly :func:`numpy.histogram`'s.

    Each chunk is counted by ``numpy.histogram`` with the same bins and range
    and the counts summed: counts and edges are those of ``numpy.histogram``
    on the whole array (bool images count as uint8 0 and 1, as in numpy).

    Parameters
    ----------
    image : numpy.ndarray or dask.array.Array
        Any shape; bool, integer or float.
    bins : int or sequence of float, keyword-only
        Number of equal bins, or the bin edges (increasing).
    range : (float, float), optional, keyword-only
        Lower and upper edge of equal bins. Default: the image's minimum and
        maximum, computed first (one more pass over the data).

    Returns
    -------
    counts, edges : numpy.ndarray
        Counts (int) per bin, and the ``len(counts) + 1`` bin edges.

    Examples
    --------
    >>> import numpy as np
    >>> counts, edges = histogram(np.arange(10), bins=2)
    >>> counts, edges
    (array([5, 5]), array([0. , 4.5, 9. ]))
    """
    image = _image(image)
    bins, range = _bins_range(bins, range)
    if image.dtype == np.bool_:
        image = image.astype(np.uint8)
    if range is None and not isinstance(bins, np.ndarray) and image.size:
        lo, hi = _min_max(image)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"the image's range [{lo}, {hi}] is not finite: give range=")
        range = (lo, hi)  # numpy scalars of the image's dtype
    edges = np.histogram_bin_edges(np.empty(0, image.dtype), bins=bins, range=range)
    parts = image.map_blocks(
        _block_counts,
        bins=bins,
        range=range,
        new_axis=image.ndim,
        chunks=(*((1,) * len(c) for c in image.chunks), (edges.size - 1,)),
        dtype=np.intp,
        meta=np.empty((0,) * (image.ndim + 1), np.intp),
    )
    counts = np.zeros(edges.size - 1, np.intp)

    def add(index: tuple[int, ...], block: np.ndarray) -> None:
        counts[...] += block.reshape(-1)

    run_blocks(parts, add)  # in bounded windows, each block's counts added as it comes
    return counts, edges


def _min_max(image: da.Array) -> tuple[Any, Any]:
    """The minimum and maximum of a non-empty ``image`` (NaN if it holds one),
    as numpy scalars of its dtype; in bounded windows of chunks."""
    found: list[Any] = []  # the running (min, max), folded as the blocks come
    parts = da.map_blocks(
        _block_min_max,
        image,
        new_axis=image.ndim,
        chunks=(*((1,) * len(c) for c in image.chunks), (2,)),
        dtype=image.dtype,
        meta=np.empty((0,) * (image.ndim + 1), image.dtype),
    )

    def fold(index: tuple[int, ...], pair: np.ndarray) -> None:
        both = np.concatenate([pair.reshape(-1), np.array(found, pair.dtype)])
        if both.size:
            found[:] = [both.min(), both.max()]

    run_blocks(parts, fold)
    return found[0], found[1]


def save_histogram(
    image: Any,
    path: Any,
    *,
    bins: int | Sequence[float] = 256,
    range: tuple[float, float] | None = None,
    thresholds: float | Sequence[float] = (),
    log: bool = False,
    title: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a PNG of the :func:`histogram` of ``image``, with threshold lines.

    Parameters
    ----------
    image : numpy.ndarray or dask.array.Array
    path : path-like
        The ``.png`` file to write; parent folders are created.
    bins, range : keyword-only
        As in :func:`histogram`.
    thresholds : float or sequence of float, keyword-only
        Values marked by dashed vertical lines (segmentation thresholds).
    log : bool, keyword-only
        Logarithmic count axis.
    title : str, optional, keyword-only
    overwrite : bool, keyword-only
        Replace an existing file; otherwise
        :class:`bigimg.errors.TargetExistsError` is raised and nothing written.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> im = np.random.default_rng(0).normal(size=(200, 200))
    >>> out = save_histogram(im, os.path.join(tempfile.mkdtemp(), "h.png"), thresholds=0.5)
    >>> out.read_bytes()[:4]
    b'\\x89PNG'
    """
    from matplotlib.figure import Figure

    image = _image(image)
    target = _target(path, overwrite, title)
    lines, log = check_reals(thresholds, "thresholds"), check_flag(log, "log")
    if is_int(bins) and cast(int, bins) > MAX_BINS:
        raise ValueError(f"bins={bins} is more than a picture shows (at most {MAX_BINS})")
    counts, edges = histogram(image, bins=bins, range=range)

    fig = Figure(figsize=(6.4, 4.0), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.stairs(counts, edges, fill=True, color="0.35")
    for value in lines:
        ax.axvline(value, color="red", linestyle="--", linewidth=1.0)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("value")
    ax.set_ylabel("pixels")
    if title:
        ax.set_title(title)
    return _write(fig, target, overwrite)


def preview(source: Any, path: Any, **options: Any) -> Path:
    """Open ``source`` and write its picture (:func:`save_image`) or histogram.

    Parameters
    ----------
    source : path-like, numpy.ndarray or dask.array.Array
        Anything :func:`bigimg.open` opens.
    path : path-like
        The ``.png`` file to write.
    **options
        ``kind='image'`` (default) or ``'histogram'`` (:func:`save_histogram`);
        that function's options; the rest go to :func:`bigimg.open` (such as
        ``format``, ``dtype`` and ``shape`` of a raw file). A path given as
        ``contour=`` is opened with :func:`bigimg.open` without options. An
        OME-Zarr label image (NGFF ``image-label``) is drawn with
        ``labels=True`` unless ``labels`` is given.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> src = os.path.join(tempfile.mkdtemp(), "im.npy")
    >>> np.save(src, np.arange(64.0).reshape(8, 8))
    >>> preview(src, src[:-4] + "-hist.png", kind="histogram", bins=8).name
    'im-hist.png'
    """
    import inspect

    from bigimg.io import open as open_image

    kind = options.pop("kind", "image")
    if kind not in ("image", "histogram"):
        raise ValueError(f"kind={kind!r} must be 'image' or 'histogram'")
    save = save_image if kind == "image" else save_histogram
    names = set(inspect.signature(save).parameters) - {"image", "path"}
    chosen = {k: v for k, v in options.items() if k in names}
    open_options = {k: v for k, v in options.items() if k not in names}
    contour = chosen.get("contour")
    if contour is not None and isinstance(contour, str | os.PathLike):
        chosen["contour"] = open_image(contour)
    if kind == "image" and "labels" not in chosen and isinstance(source, str | os.PathLike):
        from bigimg.io import info

        # an OME-Zarr label image says what it is: drawn as labels unless told
        described = info(source, **{k: v for k, v in open_options.items() if k != "chunks"})
        chosen["labels"] = "image-label" in described.details
    return save(open_image(source, **open_options), path, **chosen)
