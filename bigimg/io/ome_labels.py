"""Label images the OME-NGFF way: ``<image>/labels/<name>`` beside an image.

A label image is a multiscale image of integer ids in the ``labels`` group
of an OME-Zarr image, listed in that group's ``labels`` attribute, with
``image-label`` metadata (its source image, and colours and properties of
ids where given). Its levels are those of the image, each downsampled from
the one before by picking a pixel (``nearest``), which never invents an id,
on the image's axes, pixel sizes and units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, cast

import dask.array as da
import numpy as np
import zarr

from bigimg.errors import TargetExistsError
from bigimg.io import ome, targets
from bigimg.io.zarr import save_ome_zarr

__all__ = ["MAX_LISTED", "image_label", "label_name", "save_labels"]

#: Most ids whose colours or properties a label image's metadata lists: NGFF
#: keeps them in the group's JSON, which every reader loads whole
MAX_LISTED = 65_536


def label_name(name: Any) -> str:
    """``name`` if it can name a label image (a path part), else ValueError."""
    bad = {"/", "\\"}
    if not isinstance(name, str) or not name or bad & set(name) or name in (".", ".."):
        raise ValueError(f"labels={name!r} must be a name (no '/')")
    return name


def _entries(name: str, given: Any, value: str) -> list[dict[str, Any]]:
    """Colours (``{id: (r, g, b, a)}``) or properties (``{id: {key: value}}``)
    as NGFF lists them, checked."""
    if not isinstance(given, Mapping):
        raise TypeError(f"{name} must map label ids to {value}, not {type(given).__name__}")
    if len(given) > MAX_LISTED:
        raise ValueError(
            f"{name} lists {len(given)} ids; at most {MAX_LISTED} fit an OME-Zarr group's "
            "metadata (keep per-object data in a region table instead)"
        )
    out = []
    for key, entry in given.items():
        if isinstance(key, bool) or not isinstance(key, int | np.integer):
            raise ValueError(f"{name}: label id {key!r} is not an integer")
        if name == "colors":
            rgba = list(entry) if isinstance(entry, Sequence) else None
            if (
                rgba is None
                or len(rgba) not in (3, 4)
                or not all(isinstance(c, int | np.integer) and 0 <= c <= 255 for c in rgba)
            ):
                raise ValueError(f"colors[{key}]={entry!r} must be 3 or 4 integers 0-255")
            out.append({"label-value": int(key), "rgba": [int(c) for c in (*rgba, 255)[:4]]})
        else:
            if not isinstance(entry, Mapping):
                raise ValueError(f"properties[{key}] must be a mapping of names to values")
            out.append({**{str(k): v for k, v in entry.items()}, "label-value": int(key)})
    return sorted(out, key=lambda e: e["label-value"])


def image_label(
    zarr_format: int,
    *,
    colors: Mapping[int, Sequence[int]] | None = None,
    properties: Mapping[int, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """NGFF ``image-label`` metadata for a label image of an image two groups up.

    Examples
    --------
    >>> meta = image_label(2, colors={1: (255, 0, 0)})
    >>> meta["version"], meta["source"], meta["colors"]
    ('0.4', {'image': '../../'}, [{'label-value': 1, 'rgba': [255, 0, 0, 255]}])
    """
    meta: dict[str, Any] = {"version": "0.4"} if zarr_format == 2 else {}
    meta["source"] = {"image": "../../"}
    if colors is not None:
        meta["colors"] = _entries("colors", colors, "(r, g, b, a) colours")
    if properties is not None:
        meta["properties"] = _entries("properties", properties, "mappings of properties")
    if colors is not None and properties is not None:
        listed = [[e["label-value"] for e in meta[k]] for k in ("colors", "properties")]
        if listed[0] != listed[1]:
            raise ValueError(
                f"colors lists the ids {listed[0]} but properties {listed[1]}: NGFF asks "
                "for the same ids in both"
            )
    return meta


def _image(path: Path) -> tuple[zarr.Group, ome.Multiscale]:
    """The OME-Zarr image at ``path``, which a label image is added to."""
    if not path.is_dir():
        raise FileNotFoundError(
            f"labels= adds a label image to an existing OME-Zarr image; {str(path)!r} "
            "does not exist (save the image there first)"
        )
    try:
        group = zarr.open_group(str(path), mode="r")
    except (FileNotFoundError, ValueError, zarr.errors.ContainsArrayError) as exc:
        raise ValueError(f"{str(path)!r} is not an OME-Zarr image: {exc}") from exc
    multiscale = ome.read_multiscale(group.attrs, where=str(path))
    if multiscale is None:
        raise ValueError(f"{str(path)!r} is a Zarr group without OME-Zarr multiscales")
    ranks = [len(_level(group, p, path).shape) for p in multiscale.paths]
    return group, ome.check_ranks(multiscale, ranks, where=str(path))


def _level(group: zarr.Group, key: str, path: Path) -> zarr.Array:
    node = group[key]
    if not isinstance(node, zarr.Array):
        raise ValueError(f"{str(path)!r}: the level {key!r} of its multiscales is not an array")
    return node


def save_labels(
    array: da.Array,
    path: Path,
    *,
    labels: str,
    overwrite: bool = False,
    colors: Mapping[int, Sequence[int]] | None = None,
    properties: Mapping[int, Mapping[str, Any]] | None = None,
    compressors: Any = "auto",
) -> Path:
    """Add ``array`` as the label image ``labels`` of the OME-Zarr image at
    ``path``; the path of the label image (``path/labels/<labels>``).

    The image itself is not changed; the ``labels`` group is created, or its
    list extended. A label image of that name is replaced only with
    ``overwrite``.
    """
    label_name(labels)
    if not np.issubdtype(array.dtype, np.integer) and array.dtype != bool:
        raise TypeError(f"a label image holds integer ids, not {array.dtype} values")
    group, multiscale = _image(path)
    fmt = group.metadata.zarr_format
    first = _level(group, multiscale.paths[0], path)
    if tuple(array.shape) != tuple(first.shape):
        raise ValueError(
            f"labels of shape {tuple(array.shape)} do not fit the image {str(path)!r} of "
            f"shape {tuple(first.shape)}"
        )
    meta = image_label(fmt, colors=colors, properties=properties)  # checked before any work
    target = path / "labels" / labels
    if targets.exists(target) and not overwrite:
        raise TargetExistsError(
            f"{str(path)!r} already has the label image {labels!r}; pass overwrite=True "
            "to replace it"
        )
    if array.dtype == bool:
        array = array.astype(np.uint8)
    zarr.open_group(str(path / "labels"), mode="a", zarr_format=fmt)
    save_ome_zarr(
        array,
        target,
        overwrite=overwrite,
        zarr_format=fmt,
        axes=multiscale.axes,
        scale=multiscale.scales[0],
        units=multiscale.units,
        method="nearest",
        compressors=compressors,
        levels=len(multiscale.paths),
        image_label=meta,
        name=labels,
    )
    _list_label(path / "labels", labels, fmt)
    return target


def _list_label(directory: Path, name: str, zarr_format: int) -> None:
    """Add ``name`` to the ``labels`` list of the group ``directory``."""
    fmt = cast("Literal[2, 3]", zarr_format)
    group = zarr.open_group(str(directory), mode="a", zarr_format=fmt)
    attrs: dict[str, Any] = dict(group.attrs)
    if zarr_format == 3:
        meta: dict[str, Any] = dict(attrs.get("ome", {}))
        names = list(meta.get("labels", []))
        meta.update(version="0.5", labels=names + [name] * (name not in names))
        group.attrs["ome"] = meta
    else:
        names = list(attrs.get("labels", []))
        group.attrs["labels"] = names + [name] * (name not in names)
