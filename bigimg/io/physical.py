"""Physical pixel sizes: axis names, a pixel size (scale) and a unit per axis.

Every format stores them its own way (OME-Zarr ``axes`` and
``coordinateTransformations``, OME-TIFF ``PhysicalSize*``, ImageJ's
``unit`` and ``spacing``, TIFF resolution tags); bigimg reads them into
:class:`~bigimg.io.registry.ImageInfo` (``axes``, ``scale``, ``units``) and
writes them back from there. Units are named as OME-NGFF names them (the
UDUNITS-2 names: ``'micrometer'``, ``'second'``); the abbreviations other
software writes (``'um'``, ``'µm'``, ``'micron'``) are read as those names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

from bigimg.io.registry import ImageInfo

__all__ = ["Physical", "SPACE_UNITS", "TIME_UNITS", "for_save", "meters", "unit_name"]

_PREFIXES = {
    "yocto": 1e-24,
    "zepto": 1e-21,
    "atto": 1e-18,
    "femto": 1e-15,
    "pico": 1e-12,
    "nano": 1e-9,
    "micro": 1e-6,
    "milli": 1e-3,
    "centi": 1e-2,
    "deci": 1e-1,
    "": 1.0,
    "hecto": 1e2,
    "kilo": 1e3,
    "mega": 1e6,
    "giga": 1e9,
    "tera": 1e12,
    "peta": 1e15,
    "exa": 1e18,
    "zetta": 1e21,
    "yotta": 1e24,
}

#: The spatial units OME-NGFF allows, with their length in metres
SPACE_UNITS: dict[str, float] = {
    **{f"{p}meter": f for p, f in _PREFIXES.items()},
    "angstrom": 1e-10,
    "inch": 0.0254,
    "foot": 0.3048,
    "yard": 0.9144,
    "mile": 1609.344,
    "parsec": 3.0856775814913673e16,
}

#: The time units OME-NGFF allows, with their length in seconds
TIME_UNITS: dict[str, float] = {
    **{f"{p}second": f for p, f in _PREFIXES.items()},
    "minute": 60.0,
    "hour": 3600.0,
    "day": 86400.0,
}

_ALIASES = {
    "um": "micrometer",
    "µm": "micrometer",  # micro sign
    "μm": "micrometer",  # Greek mu
    "micron": "micrometer",
    "microns": "micrometer",
    "nm": "nanometer",
    "mm": "millimeter",
    "cm": "centimeter",
    "m": "meter",
    "km": "kilometer",
    "pm": "picometer",
    "å": "angstrom",
    "Å": "angstrom",
    "in": "inch",
    "s": "second",
    "sec": "second",
    "ms": "millisecond",
    "us": "microsecond",
    "µs": "microsecond",
    "μs": "microsecond",
    "ns": "nanosecond",
    "min": "minute",
    "h": "hour",
}


def unit_name(text: str) -> str:
    """The OME-NGFF name of a unit given by name or abbreviation.

    Raises ValueError for a text that names no spatial or time unit.

    Examples
    --------
    >>> unit_name("µm"), unit_name("micron"), unit_name("Nanometer"), unit_name("ms")
    ('micrometer', 'micrometer', 'nanometer', 'millisecond')
    >>> unit_name("furlong")
    Traceback (most recent call last):
    ...
    ValueError: unit 'furlong' is not a unit OME-NGFF knows (e.g. 'micrometer', 'second')
    """
    if not isinstance(text, str):
        raise TypeError(f"a unit is a name like 'micrometer', not {type(text).__name__}")
    clean = text.strip()
    for candidate in (clean, clean.lower()):
        if candidate in _ALIASES:
            return _ALIASES[candidate]
        if candidate in SPACE_UNITS or candidate in TIME_UNITS:
            return candidate
    plural = clean.lower().removesuffix("s")  # 'micrometers', 'seconds'
    if plural in SPACE_UNITS or plural in TIME_UNITS:
        return plural
    raise ValueError(f"unit {text!r} is not a unit OME-NGFF knows (e.g. 'micrometer', 'second')")


def meters(unit: str) -> float:
    """The length of a spatial unit in metres (ValueError for others)."""
    name = unit_name(unit)
    if name not in SPACE_UNITS:
        raise ValueError(f"{unit!r} is not a unit of length")
    return SPACE_UNITS[name]


@dataclass(frozen=True)
class Physical:
    """What a writer stores of an image's physical grid: one entry per axis.

    ``units`` entries are OME-NGFF unit names or None (no unit known).
    """

    axes: tuple[str, ...]
    scale: tuple[float, ...]
    units: tuple[str | None, ...]


def _per_axis(name: str, values: Any, ndim: int) -> tuple[Any, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        if name == "units" and (values is None or isinstance(values, str)):
            return (values,) * ndim
        raise ValueError(f"{name}={values!r} needs one value per axis of the {ndim}-D array")
    values = tuple(values)
    if len(values) != ndim:
        raise ValueError(f"{name}={values!r} needs one value per axis of the {ndim}-D array")
    return values


def for_save(
    ndim: int,
    *,
    axes: Sequence[str] | None = None,
    scale: Sequence[float] | None = None,
    units: Sequence[str | None] | str | None = None,
    like: Any = None,
    default_axes: tuple[str, ...],
) -> Physical:
    """The axes, pixel sizes and units to write for an ``ndim``-D array.

    Each is taken from the argument where given, else from ``like`` (a stored
    image's :class:`~bigimg.io.registry.ImageInfo`, or a
    :class:`Physical`), else the
    defaults: ``default_axes``, pixel size 1 and no unit. ``units`` may be
    one unit for every axis. Raises ValueError naming the argument that does
    not fit: a wrong count, a pixel size that is not a positive number, an
    unknown unit, or a ``like`` image of another rank.

    Examples
    --------
    >>> for_save(2, scale=(0.5, 0.5), units="um", default_axes=("y", "x"))
    Physical(axes=('y', 'x'), scale=(0.5, 0.5), units=('micrometer', 'micrometer'))
    """
    if like is not None:
        if not isinstance(like, ImageInfo | Physical):
            raise TypeError(
                f"like must be an ImageInfo (bigimg.info(path)) or a Physical, not "
                f"{type(like).__name__} (bigimg.save also takes a path)"
            )
        source = like
        rank = len(source.shape) if isinstance(source, ImageInfo) else len(source.axes)
        if rank != ndim:
            what = source.path if isinstance(source, ImageInfo) else "the grid given"
            raise ValueError(f"like={what!r} is {rank}-D but the array to save is {ndim}-D")
        axes = axes if axes is not None else source.axes
        scale = scale if scale is not None else source.scale
        units = units if units is not None else source.units
    names = _per_axis("axes", axes, ndim) if axes is not None else default_axes
    if not all(isinstance(a, str) and a for a in names) or len(set(names)) != ndim:
        raise ValueError(f"axes={tuple(names)!r} must be {ndim} different names")
    sizes = _per_axis("scale", scale, ndim) if scale is not None else (1.0,) * ndim
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, Real) or not 0 < float(s) < float("inf"):
            raise ValueError(f"scale={tuple(sizes)!r}: pixel sizes must be positive numbers")
    given = _per_axis("units", units, ndim) if units is not None else (None,) * ndim
    named = tuple(None if u is None else unit_name(u) for u in given)
    return Physical(tuple(names), tuple(float(s) for s in sizes), named)
