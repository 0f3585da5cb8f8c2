"""OME-Zarr (OME-NGFF) multiscale metadata: read 0.4 / 0.5, write 0.4 (v2) or 0.5 (v3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bigimg.errors import MetadataError
from bigimg.io.physical import SPACE_UNITS, TIME_UNITS, unit_name

__all__ = [
    "Multiscale",
    "axis_type",
    "check_axes",
    "check_ranks",
    "default_axes",
    "listed_labels",
    "multiscale_attrs",
    "read_multiscale",
]

_SPACE = ("x", "y", "z")


@dataclass(frozen=True)
class Multiscale:
    """The first multiscale image of an OME-Zarr group.

    ``key`` is where it sits in the attributes (``'ome.multiscales[0]'``),
    for messages. ``axes`` and ``scales`` are ``None`` where the metadata does
    not give them, until :func:`check_ranks` fills them in.
    """

    version: str
    paths: tuple[str, ...]
    axes: tuple[str, ...] | None
    scales: tuple[tuple[float, ...] | None, ...]
    name: str | None = None
    key: str = "multiscales[0]"
    units: tuple[str | None, ...] | None = None


def read_multiscale(attrs: Mapping[str, Any], *, where: str = "") -> Multiscale | None:
    """Parse group attributes; ``None`` if they hold no multiscales.

    Raises :class:`~bigimg.errors.MetadataError` naming ``where`` (the file
    holding the attributes) and the malformed key.
    """
    prefix = ""
    if "ome" in attrs and isinstance(attrs["ome"], Mapping):  # NGFF 0.5 (Zarr v3)
        meta, version, prefix = attrs["ome"], str(attrs["ome"].get("version", "0.5")), "ome."
    else:
        meta, version = attrs, None
    if "multiscales" not in meta:
        return None

    def bad(key: str, problem: str) -> MetadataError:
        return MetadataError(f"{where!r}: malformed OME-Zarr metadata: {prefix}{key} {problem}")

    multiscales = meta["multiscales"]
    if not isinstance(multiscales, list):
        raise bad("multiscales", f"must be a list, not {type(multiscales).__name__}")
    if not multiscales:
        raise bad("multiscales", "is an empty list")
    ms = multiscales[0]
    if not isinstance(ms, Mapping):
        raise bad("multiscales[0]", f"must be an object, not {type(ms).__name__}")
    if "datasets" not in ms:
        raise bad("multiscales[0]", "has no 'datasets'")
    datasets = ms["datasets"]
    if not isinstance(datasets, list) or not datasets:
        raise bad("multiscales[0].datasets", "must be a non-empty list")
    version = version or str(ms.get("version", "0.4"))
    paths, scales = [], []
    for i, d in enumerate(datasets):
        key = f"multiscales[0].datasets[{i}]"
        if not isinstance(d, Mapping) or "path" not in d:
            raise bad(key, "has no 'path'")
        if not isinstance(d["path"], str) or not d["path"]:
            raise bad(f"{key}.path", f"must be a non-empty string, not {d['path']!r}")
        paths.append(d["path"])
        transforms = d.get("coordinateTransformations", [])
        if not isinstance(transforms, list):
            raise bad(f"{key}.coordinateTransformations", "must be a list")
        scale = None
        for j, t in enumerate(transforms):
            if not isinstance(t, Mapping):
                raise bad(f"{key}.coordinateTransformations[{j}]", "must be an object")
            if t.get("type") == "scale":
                values = t.get("scale")
                if not isinstance(values, list) or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in values
                ):
                    raise bad(
                        f"{key}.coordinateTransformations[{j}].scale", "must be a list of numbers"
                    )
                scale = tuple(float(v) for v in values)
        scales.append(scale)
    raw_axes = ms.get("axes")
    axes = units = None
    if raw_axes is not None:
        if not isinstance(raw_axes, list):
            raise bad("multiscales[0].axes", f"must be a list, not {type(raw_axes).__name__}")
        names, found = [], []
        for i, a in enumerate(raw_axes):
            name = a.get("name") if isinstance(a, Mapping) else a
            if not isinstance(name, str):
                raise bad(f"multiscales[0].axes[{i}]", "has no name")
            names.append(name)
            found.append(_read_unit(a.get("unit")) if isinstance(a, Mapping) else None)
        axes = tuple(names)
        units = tuple(found)
    name = ms.get("name")
    return Multiscale(
        version,
        tuple(paths),
        axes,
        tuple(scales),
        name if isinstance(name, str) else None,
        f"{prefix}multiscales[0]",
        units,
    )


def _read_unit(value: Any) -> str | None:
    """A unit as stored: its NGFF name where it is one (or an abbreviation of
    one, as some writers store), else the text as it is."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return unit_name(value)
    except ValueError:
        return value


def check_ranks(multiscale: Multiscale, ndims: Sequence[int], *, where: str = "") -> Multiscale:
    """``multiscale`` with axes and scales checked against the levels' ranks
    ``ndims`` (and filled in where the metadata leaves them out).

    Raises :class:`~bigimg.errors.MetadataError` naming ``where`` and the key
    whose length does not match.
    """
    ndim = ndims[0]
    for i, n in enumerate(ndims):
        if n != ndim:
            raise MetadataError(
                f"{where!r}: malformed OME-Zarr metadata: level {multiscale.paths[i]!r} has "
                f"{n} dimensions but level {multiscale.paths[0]!r} has {ndim}"
            )
    axes = multiscale.axes
    if axes is None:
        axes = default_axes(ndim)
    elif len(axes) != ndim:
        raise MetadataError(
            f"{where!r}: malformed OME-Zarr metadata: {multiscale.key}.axes lists "
            f"{len(axes)} axes {axes} but the arrays have {ndim} dimensions"
        )
    scales = []
    for i, scale in enumerate(multiscale.scales):
        if scale is not None and len(scale) != ndim:
            raise MetadataError(
                f"{where!r}: malformed OME-Zarr metadata: {multiscale.key}.datasets[{i}]"
                f".coordinateTransformations scale has {len(scale)} values {list(scale)} "
                f"but the arrays have {ndim} dimensions"
            )
        scales.append(scale if scale is not None else (1.0,) * ndim)
    units = multiscale.units if multiscale.units is not None else (None,) * ndim
    return replace(multiscale, axes=axes, scales=tuple(scales), units=units)


def default_axes(ndim: int) -> tuple[str, ...]:
    """OME's usual axis order, ending in the spatial axes: (t, c, z, y, x)."""
    if not 1 <= ndim <= 5:
        raise ValueError(f"OME-Zarr images have 1 to 5 axes, not {ndim}")
    return ("t", "c", "z", "y", "x")[5 - ndim :]


def axis_type(name: str, unit: str | None = None) -> str:
    """An axis's NGFF type: by its unit where it has one, else by its name
    (t time, c channel, x/y/z space; others custom, as NGFF allows)."""
    if unit in SPACE_UNITS:
        return "space"
    if unit in TIME_UNITS:
        return "time"
    return {"t": "time", "c": "channel"}.get(name, "space" if name in _SPACE else "custom")


def check_axes(axes: Sequence[str], units: Sequence[str | None]) -> None:
    """Refuse axes NGFF does not allow (ValueError naming them): 2 or 3 space
    axes, at most one time and one channel or custom axis, in the order time,
    channel or custom, space."""
    types = [axis_type(a, u) for a, u in zip(axes, units)]
    rank = {"time": 0, "channel": 1, "custom": 1, "space": 2}
    problem = None
    if not 2 <= types.count("space") <= 3:
        problem = f"has {types.count('space')} space axes (x, y, z), not 2 or 3"
    elif types.count("time") > 1 or types.count("channel") + types.count("custom") > 1:
        problem = "has more than one time axis, or more than one channel or custom axis"
    elif [rank[t] for t in types] != sorted(rank[t] for t in types):
        problem = "is not ordered time, channel (or custom), space"
    if problem is not None:
        described = ", ".join(f"{a} ({t})" for a, t in zip(axes, types))
        raise ValueError(f"OME-Zarr axes {tuple(axes)} ({described}) {problem}")


def spatial_factors(axes: Sequence[str], factor: int = 2) -> tuple[int, ...]:
    return tuple(factor if a in _SPACE else 1 for a in axes)


def multiscale_attrs(
    *,
    zarr_format: int,
    axes: Sequence[str],
    paths: Sequence[str],
    scales: Sequence[Sequence[float]],
    units: Sequence[str | None] | None = None,
    name: str = "image",
) -> dict[str, Any]:
    """Group attributes of NGFF 0.5 (Zarr v3) or 0.4 (Zarr v2); ``units``
    (NGFF names, or None) go on the axes that have one."""
    axes_meta = []
    for a, unit in zip(axes, units if units is not None else (None,) * len(axes)):
        entry: dict[str, Any] = {"name": a, "type": axis_type(a, unit)}
        if unit is not None:
            entry["unit"] = unit
        axes_meta.append(entry)
    version = "0.5" if zarr_format == 3 else "0.4"
    ms: dict[str, Any] = {
        "axes": axes_meta,
        "datasets": [
            {"path": p, "coordinateTransformations": [{"type": "scale", "scale": list(s)}]}
            for p, s in zip(paths, scales)
        ],
        "name": name,
    }
    if zarr_format == 3:
        return {"ome": {"version": version, "multiscales": [ms]}}
    ms["version"] = version
    return {"multiscales": [ms]}


def listed_labels(attrs: Mapping[str, Any]) -> tuple[str, ...]:
    """The label images a ``labels`` group's attributes list (NGFF 0.4 or 0.5)."""
    meta = attrs.get("ome", attrs)
    names = meta.get("labels", []) if isinstance(meta, Mapping) else []
    return tuple(n for n in names if isinstance(n, str)) if isinstance(names, list) else ()
