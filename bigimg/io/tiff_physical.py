"""Pixel sizes of TIFF files, read and written; compression and tiles of a write.

Read (:func:`read_physical`), from the first of these that knows any pixel
size or unit: OME-XML (``PhysicalSizeX/Y/Z`` and ``TimeIncrement``, with
their units, OME's defaults µm and s where absent), ImageJ's description
(``unit``, ``spacing``, ``finterval`` and the X/YResolution tags, which ImageJ
holds in pixels per ``unit``), the JSON description tifffile writes for a
shaped series (where bigimg puts the OME keys for dtypes OME-XML cannot
describe), and the TIFF resolution tags (pixels per inch or per centimetre,
reported in micrometres; 1/1 is read as nothing known). Malformed metadata is
ignored: it never makes a file unreadable.

Written (:func:`save_options`) as OME-TIFF ``PhysicalSize*`` attributes and,
where y and x have a length unit, as XResolution / YResolution tags in pixels
per centimetre: the forms tifffile and Bio-Formats (Fiji) read.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any
from xml.etree import ElementTree

import numpy as np
import tifffile

from bigimg.io.physical import SPACE_UNITS, TIME_UNITS, Physical, meters, unit_name

__all__ = [
    "DEFAULT_COMPRESSION",
    "compression_options",
    "fit_tile",
    "ome_symbol",
    "read_physical",
    "save_options",
]

#: What a TIFF save compresses with unless told otherwise: deflate, which
#: tifffile writes without imagecodecs and every TIFF reader (Fiji too) reads
DEFAULT_COMPRESSION = "zlib"

_PREFIX_SYMBOLS = {
    "y": "yocto",
    "z": "zepto",
    "a": "atto",
    "f": "femto",
    "p": "pico",
    "n": "nano",
    "µ": "micro",
    "m": "milli",
    "c": "centi",
    "d": "deci",
    "": "",
    "h": "hecto",
    "k": "kilo",
    "M": "mega",
    "G": "giga",
    "T": "tera",
    "P": "peta",
    "E": "exa",
    "Z": "zetta",
    "Y": "yotta",
}

#: OME's unit symbols (UnitsLength, UnitsTime) and the OME-NGFF names of the same units
_OME_UNITS: dict[str, str] = {
    **{f"{s}m": f"{p}meter" for s, p in _PREFIX_SYMBOLS.items()},
    **{f"{s}s": f"{p}second" for s, p in _PREFIX_SYMBOLS.items()},
    "Å": "angstrom",
    "in": "inch",
    "ft": "foot",
    "yd": "yard",
    "mi": "mile",
    "pc": "parsec",
    "min": "minute",
    "h": "hour",
    "d": "day",
}
_OME_SYMBOLS = {name: symbol for symbol, name in _OME_UNITS.items()}
#: OME's units that say only "in pixels": a pixel size with no physical unit
_NO_UNIT = ("pixel", "reference frame")
#: The dtypes OME-XML's Pixels Type can describe
_OME_DTYPES = frozenset(
    "int8 int16 int32 uint8 uint16 uint32 float32 float64 complex64 complex128 bool".split()
)
#: Lossless codecs that take TIFF's horizontal differencing predictor
_PREDICTED = ("zlib", "deflate", "adobe_deflate", "lzma", "zstd", "lzw")
_RESOLUTION_UNITS = {2: "inch", 3: "centimeter"}
_UINT32 = 2**32 - 1
#: Errors of parsing malformed metadata: that metadata is ignored
_MALFORMED = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    ZeroDivisionError,
    OverflowError,
    ElementTree.ParseError,
)

# Axis letter (upper case, as tifffile names axes) -> (pixel size, unit or None)
_Sizes = dict[str, tuple[float, str | None]]


def ome_symbol(unit: str) -> str:
    """The OME-XML symbol of a unit (``'micrometer'`` -> ``'µm'``).

    Parameters
    ----------
    unit : str
        A unit name or abbreviation :func:`bigimg.io.physical.unit_name` knows.

    Returns
    -------
    str
        The symbol OME's UnitsLength or UnitsTime uses for it.

    Examples
    --------
    >>> ome_symbol("micrometer"), ome_symbol("nm"), ome_symbol("angstrom"), ome_symbol("ms")
    ('µm', 'nm', 'Å', 'ms')
    """
    return _OME_SYMBOLS[unit_name(unit)]


def _from_ome(text: Any, default: str, kinds: Mapping[str, float]) -> tuple[bool, str | None]:
    """``(known, unit)`` of an OME unit attribute: ``(True, None)`` for a size in
    pixels, ``(False, None)`` for a unit that is not one of ``kinds``."""
    symbol = default if text is None else str(text).strip()
    if symbol in _NO_UNIT:
        return True, None
    name = _OME_UNITS.get(symbol)
    if name is None:
        try:
            name = unit_name(symbol)
        except ValueError:
            return False, None
    return name in kinds, name if name in kinds else None


def _size(value: Any) -> float | None:
    """A pixel size read from metadata: a positive finite number, else None."""
    if isinstance(value, bool):
        return None
    try:
        size = float(value)
    except _MALFORMED:
        return None
    return size if 0 < size < math.inf else None


def _ome_sizes(pixels: Any) -> _Sizes:
    """The sizes of OME ``Pixels`` attributes (an XML element or a dict)."""
    found: _Sizes = {}
    for axis in "XYZ":
        size = _size(pixels.get(f"PhysicalSize{axis}"))
        known, unit = _from_ome(pixels.get(f"PhysicalSize{axis}Unit"), "µm", SPACE_UNITS)
        if size is not None and known:
            found[axis] = (size, unit)
    size = _size(pixels.get("TimeIncrement"))
    known, unit = _from_ome(pixels.get("TimeIncrementUnit"), "s", TIME_UNITS)
    if size is not None and known:
        found["T"] = (size, unit)
    return found


def _tag_of(element: Any) -> str:
    return str(element.tag).rsplit("}", 1)[-1]


def _ome(tif: tifffile.TiffFile, series: Any, index: int) -> _Sizes:
    """Sizes from the OME-XML ``Pixels`` of the image that is ``series``: the
    image of the same index if its name and size match, else the first that does."""
    if not tif.is_ome:
        return {}
    root = ElementTree.fromstring(tif.ome_metadata or "")
    images = [e for e in root if _tag_of(e) == "Image"]
    shape = dict(zip(series.axes, series.shape))
    order = ([images[index]] if index < len(images) else []) + images
    for image in order:
        pixels = next((p for p in image if _tag_of(p) == "Pixels"), None)
        if (
            pixels is not None
            and (image.get("Name") or "") == (series.name or "")
            and int(pixels.get("SizeX", -1)) == shape.get("X")
            and int(pixels.get("SizeY", -1)) == shape.get("Y")
        ):
            return _ome_sizes(pixels)
    return {}


def _unescape(text: str) -> str:
    """ImageJ writes non-ASCII characters as ``\\u00B5``."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def _imagej_unit(text: Any) -> tuple[bool, str | None]:
    """``(known, unit)`` of an ImageJ unit: ``(True, None)`` for 'pixel' (uncalibrated)."""
    if text is None:
        return True, None
    clean = _unescape(str(text)).strip()
    if clean.lower() in ("", "pixel", "pixels"):
        return True, None
    if clean.lower() == "inches":
        return True, "inch"
    try:
        return True, unit_name(clean)
    except ValueError:
        return False, None


def _ratio(page: Any, tag: str) -> Fraction | None:
    """A resolution tag's value as a positive fraction, else None."""
    found = page.tags.get(tag)
    if found is None:
        return None
    value = found.value
    if isinstance(value, tuple | list) and len(value) == 2:
        numerator, denominator = (int(v) for v in value)
    else:
        return Fraction(float(value)) if _size(value) is not None else None
    if numerator <= 0 or denominator <= 0:
        return None
    return Fraction(numerator, denominator)


def _imagej(tif: tifffile.TiffFile, series: Any) -> _Sizes:
    """Sizes from ImageJ's description: resolution tags in pixels per ``unit``
    (``yunit`` for y), ``spacing`` in ``zunit`` or ``unit``, ``finterval`` in
    ``tunit`` or seconds."""
    if not tif.is_imagej:
        return {}
    meta = tif.imagej_metadata or {}
    page = series.keyframe
    found: _Sizes = {}
    default_unit: Any = meta.get("unit")
    if default_unit is None:
        code = page.tags.get("ResolutionUnit")
        default_unit = _RESOLUTION_UNITS.get(int(code.value)) if code is not None else None
    for axis, tag, unit_key in (("X", "XResolution", "unit"), ("Y", "YResolution", "yunit")):
        known, unit = _imagej_unit(meta.get(unit_key, default_unit))
        ratio = _ratio(page, tag)
        if known and ratio is not None and (unit is None or unit in SPACE_UNITS):
            found[axis] = (float(1 / ratio), unit)
    known, unit = _imagej_unit(meta.get("zunit", default_unit))
    size = _size(meta.get("spacing"))
    if known and size is not None and (unit is None or unit in SPACE_UNITS):
        found["Z"] = (size, unit)
    known, unit = _imagej_unit(meta.get("tunit", "sec"))
    size = _size(meta.get("finterval"))
    if known and size is not None and (unit is None or unit in TIME_UNITS):
        found["T"] = (size, unit)
    return found


def _shaped(tif: tifffile.TiffFile, series: Any) -> _Sizes:
    """Sizes bigimg keeps, as OME keys, in tifffile's JSON shape description
    (for dtypes such as int64 that OME-XML cannot describe)."""
    if getattr(series, "kind", None) != "shaped":
        return {}
    description = series.keyframe.description
    meta = json.loads(description) if description.startswith("{") else {}
    return _ome_sizes(meta) if isinstance(meta, dict) else {}


def _resolution(series: Any) -> _Sizes:
    """Sizes in micrometres from the resolution tags in pixels per inch or
    centimetre (ResolutionUnit absent means inch, by the TIFF standard). The
    resolution 1/1, which writers put where they know none, says nothing."""
    page = series.keyframe
    code = page.tags.get("ResolutionUnit")
    ratios = {"X": _ratio(page, "XResolution"), "Y": _ratio(page, "YResolution")}
    unit = _RESOLUTION_UNITS.get(int(code.value), "") if code is not None else "inch"
    if not unit or all(r is None or r == 1 for r in ratios.values()):
        return {}
    per_micrometer = Fraction(repr(meters(unit))) / Fraction(repr(meters("micrometer")))
    return {
        axis: (float(per_micrometer / ratio), "micrometer")
        for axis, ratio in ratios.items()
        if ratio is not None
    }


def _downsampling(full: int, part: int) -> float:
    """How many pixels of the full image one pixel of a pyramid level spans: a
    whole number where the level is the full size divided (rounded) by one."""
    if part <= 0 or full == part:
        return 1.0
    k = max(round(full / part), 1)
    return float(k) if part in (full // k, -(-full // k)) else full / part


def read_physical(
    tif: tifffile.TiffFile, series: Any, index: int, level: int = 0
) -> tuple[tuple[float, ...] | None, tuple[str | None, ...] | None]:
    """The pixel size and unit of each axis of a series (pyramid level).

    Parameters
    ----------
    tif : tifffile.TiffFile
        The open file.
    series : tifffile.TiffPageSeries
        ``tif.series[index]``.
    index : int
        Its index in ``tif.series``.
    level : int
        The pyramid level; its y, x (and z) pixel sizes are level 0's times
        the level's downsampling.

    Returns
    -------
    scale : tuple of float or None
        One pixel size per axis of the level (``series.levels[level].axes``),
        1.0 where nothing is known; None if nothing is known of any axis.
    units : tuple of (str or None) or None
        OME-NGFF unit names (``'micrometer'``), None where not known; None
        with ``scale``.
    """
    found: _Sizes = {}
    for source in (
        lambda: _ome(tif, series, index),
        lambda: _imagej(tif, series),
        lambda: _shaped(tif, series),
        lambda: _resolution(series),
    ):
        try:
            found = source()
        except _MALFORMED:
            found = {}
        if any(unit is not None or size != 1.0 for size, unit in found.values()):
            break
    else:
        return None, None
    sub = series.levels[level]
    full = dict(zip(series.axes, series.shape))
    scale, units = [], []
    for axis, n in zip(sub.axes, sub.shape):
        size, unit = found.get(axis, (1.0, None))
        if axis in "ZYX" and axis in found and axis in full:
            size *= _downsampling(int(full[axis]), int(n))
        scale.append(size)
        units.append(unit)
    return tuple(scale), tuple(units)


def _letters(grid: Physical) -> str:
    """The tifffile axes of a TIFF target: pages are y, x planes; a 3-D array's
    first axis is Z, T or C (other names: Q, OME's "other")."""
    names = tuple(a.lower() for a in grid.axes)
    if names[-2:] != ("y", "x"):
        raise ValueError(
            f"axes={grid.axes!r}: TIFF pages are y, x planes, so the last two axes "
            "must be 'y' and 'x' (pass axes= to name them)"
        )
    first = {"z": "Z", "t": "T", "c": "C"}.get(names[0], "Q") if len(names) == 3 else ""
    for name, letter, unit in zip(grid.axes, first + "YX", grid.units):
        kinds, what = (TIME_UNITS, "time") if letter == "T" else (SPACE_UNITS, "length")
        if unit is not None and letter in "ZYXT" and unit not in kinds:
            raise ValueError(f"axis {name!r} has the unit {unit!r}, which is not a {what}")
    return first + "YX"


def _rational(value: float) -> tuple[int, int] | None:
    """``value`` as the TIFF RATIONAL nearest it, or None if none is near."""
    if not 1 / _UINT32 <= value <= _UINT32:
        return None
    limit = max(1, min(_UINT32, int(_UINT32 / value)))
    ratio = Fraction(value).limit_denominator(limit)
    if ratio.numerator <= 0 or ratio.numerator > _UINT32:
        return None
    return ratio.numerator, ratio.denominator


def save_options(grid: Physical, dtype: np.dtype) -> dict[str, Any]:
    """The ``tifffile.imwrite`` keywords that store ``grid`` in a TIFF target.

    Parameters
    ----------
    grid : bigimg.io.physical.Physical
        Axes, pixel sizes and units (from :func:`bigimg.io.physical.for_save`).
    dtype : numpy.dtype
        The dtype written: OME-XML describes only some; for the others
        (int64, uint64, float16) the same keys go in tifffile's JSON shape
        description, which :func:`read_physical` reads.

    Returns
    -------
    dict
        ``metadata`` (with ``axes``), ``ome`` where OME-TIFF is written, and
        ``resolution`` / ``resolutionunit`` where y and x have a length unit.
        With pixel size 1 and no unit on every axis: only the axes.

    Raises
    ------
    ValueError
        The last two axes are not y and x, or an axis has a unit of the wrong
        kind (a time on z, a length on t).

    Notes
    -----
    Unit-less pixel sizes of z, y and x are written with OME's unit
    ``'pixel'``. What OME-TIFF has no place for is not written: the pixel
    size of a channel axis, or of an axis other than z, t, c, y and x, and a
    time step without a unit.
    """
    letters = _letters(grid)
    sizes: dict[str, Any] = {}
    for letter, size, unit in zip(letters, grid.scale, grid.units):
        if letter in "ZYX" and (unit is not None or size != 1.0):
            sizes[f"PhysicalSize{letter}"] = float(size)
            sizes[f"PhysicalSize{letter}Unit"] = "pixel" if unit is None else ome_symbol(unit)
        elif letter == "T" and unit is not None:
            sizes["TimeIncrement"] = float(size)
            sizes["TimeIncrementUnit"] = ome_symbol(unit)
    options: dict[str, Any] = {"metadata": {"axes": letters, **sizes}}
    if not sizes:
        return options
    if np.dtype(dtype).name in _OME_DTYPES:
        options["ome"] = True
    (y_size, x_size), (y_unit, x_unit) = grid.scale[-2:], grid.units[-2:]
    if y_unit is not None and x_unit is not None:
        per_cm = [0.01 / (s * meters(u)) for s, u in ((x_size, x_unit), (y_size, y_unit))]
        resolution = [_rational(r) for r in per_cm]
        if None not in resolution:
            options["resolution"] = tuple(resolution)
            options["resolutionunit"] = "CENTIMETER"
    return options


def compression_options(compression: str | None, dtype: np.dtype) -> dict[str, Any]:
    """The ``tifffile.imwrite`` keywords of a save's ``compression``.

    Parameters
    ----------
    compression : str or None
        None or ``'none'`` (any case): uncompressed; any other name passes on
        to tifffile as given.
    dtype : numpy.dtype
        The dtype written: integer tiles compressed by a lossless
        general-purpose codec (zlib, lzma, zstd, lzw) get the horizontal
        differencing predictor, which makes smooth images compress far better
        and which every TIFF reader undoes.

    Returns
    -------
    dict
        ``compression``, and ``predictor`` where one is used.

    Examples
    --------
    >>> import numpy as np
    >>> compression_options("zlib", np.dtype("uint16"))
    {'compression': 'zlib', 'predictor': 'horizontal'}
    >>> compression_options("none", np.dtype("uint16"))
    {'compression': None}
    >>> compression_options("zlib", np.dtype("float32"))
    {'compression': 'zlib'}
    """
    if compression is None or (isinstance(compression, str) and compression.lower() == "none"):
        return {"compression": None}
    options: dict[str, Any] = {"compression": compression}
    if (
        isinstance(compression, str)
        and compression.lower() in _PREDICTED
        and np.dtype(dtype).kind in "iu"
    ):
        options["predictor"] = "horizontal"
    return options


def fit_tile(tile: tuple[int, int], shape: tuple[int, ...]) -> tuple[int, int]:
    """``tile`` no taller or wider than the page, rounded up to a multiple of 16.

    Parameters
    ----------
    tile : (int, int)
        The tile asked for: height and width, multiples of 16.
    shape : tuple of int
        The array written; its last two axes are the page.

    Returns
    -------
    (int, int)

    Examples
    --------
    >>> fit_tile((256, 256), (3, 40, 1000))
    (48, 256)
    """
    height, width = shape[-2:]
    return min(tile[0], -(-height // 16) * 16), min(tile[1], -(-width // 16) * 16)
