"""OME-Zarr (OME-NGFF) multiscale metadata: read 0.4 / 0.5, write 0.4 (v2) or 0.5 (v3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bigimg.errors import MetadataError

__all__ = ["Multiscale", "check_ranks", "default_axes", "multiscale_attrs", "read_multiscale"]

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
    axes = None
    if raw_axes is not None:
        if not isinstance(raw_axes, list):
            raise bad("multiscales[0].axes", f"must be a list, not {type(raw_axes).__name__}")
        names = []
        for i, a in enumerate(raw_axes):
            name = a.get("name") if isinstance(a, Mapping) else a
            if not isinstance(name, str):
                raise bad(f"multiscales[0].axes[{i}]", "has no name")
            names.append(name)
        axes = tuple(names)
    name = ms.get("name")
    return Multiscale(
        version,
        tuple(paths),
        axes,
        tuple(scales),
        name if isinstance(name, str) else None,
        f"{prefix}multiscales[0]",
    )


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
    return replace(multiscale, axes=axes, scales=tuple(scales))


def default_axes(ndim: int) -> tuple[str, ...]:
    """OME's usual axis order, ending in the spatial axes: (t, c, z, y, x)."""
    if not 1 <= ndim <= 5:
        raise ValueError(f"OME-Zarr images have 1 to 5 axes, not {ndim}")
    return ("t", "c", "z", "y", "x")[5 - ndim :]


def spatial_factors(axes: Sequence[str], factor: int = 2) -> tuple[int, ...]:
    return tuple(factor if a in _SPACE else 1 for a in axes)


def multiscale_attrs(
    *,
    zarr_format: int,
    axes: Sequence[str],
    paths: Sequence[str],
    scales: Sequence[Sequence[float]],
    name: str = "image",
) -> dict[str, Any]:
    """Group attributes of NGFF 0.5 (Zarr v3) or 0.4 (Zarr v2)."""
    kinds = {"t": "time", "c": "channel"}
    axes_meta = []
    for a in axes:
        entry: dict[str, Any] = {
            "name": a,
            "type": kinds.get(a, "space" if a in _SPACE else "custom"),
        }
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
