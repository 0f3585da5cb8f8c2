"""Zarr v2 / v3 arrays and OME-Zarr multiscale groups.

A write by bigimg marks the array (and an OME group) ``{"bigimg": {"complete":
false}}`` before the first chunk and flips it to ``true`` after the last, so
an interrupted write is recognised as incomplete by :func:`bigimg.open` and
``bigimg info``. Each stored chunk is written by exactly one dask task.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import zarr

from bigimg.errors import IncompleteDataError, TargetExistsError
from bigimg.io import ome
from bigimg.io.chunking import choose_chunks
from bigimg.io.registry import ImageInfo, register, register_sink
from bigimg.pyramid import downsample, pyramid_shapes

__all__ = ["create", "is_complete", "prepare_target", "regular", "save_ome_zarr", "save_zarr"]

_MARKER = "bigimg"
_META_FILES = ("zarr.json", ".zarray", ".zgroup")


def is_zarr(path: Path) -> bool:
    return path.is_dir() and any((path / f).exists() for f in _META_FILES)


def is_complete(attrs: Any) -> bool:
    """False for a store bigimg marked as being written (an interrupted write)."""
    marker = attrs.get(_MARKER)
    return not (isinstance(marker, dict) and marker.get("complete") is False)


class ZarrBackend:
    """Zarr v2 and v3 arrays, groups with a ``component``, OME-Zarr with ``level``."""

    name = "zarr"

    def claims(self, path: Path) -> bool:
        return is_zarr(path)

    def _resolve(
        self, path: Path, component: str | None, level: int | None
    ) -> tuple[zarr.Array, ImageInfo]:
        try:
            node = zarr.open(str(path), mode="r")
        except (FileNotFoundError, ValueError, KeyError) as exc:
            raise ValueError(f"{str(path)!r} is not a readable Zarr store: {exc}") from exc
        complete = is_complete(node.attrs)
        fmt = f"zarr-v{node.metadata.zarr_format}"
        levels: tuple[tuple[int, ...], ...] = ()
        axes = scale = None
        if isinstance(node, zarr.Group):
            multiscale = ome.read_multiscale(node.attrs)
            if component is None and multiscale is not None:
                if level is None:
                    level = 0
                if not (isinstance(level, int) and 0 <= level < len(multiscale.paths)):
                    raise ValueError(
                        f"level={level!r} is out of range: {str(path)!r} has "
                        f"{len(multiscale.paths)} levels (0 to {len(multiscale.paths) - 1})"
                    )
                component = multiscale.paths[level]
                fmt = f"ome-zarr (NGFF {multiscale.version}, zarr v{node.metadata.zarr_format})"
                try:
                    levels = tuple(tuple(node[p].shape) for p in multiscale.paths)
                except KeyError as exc:
                    raise ValueError(
                        f"{str(path)!r}: OME-Zarr metadata names level {exc} "
                        "which is not in the store"
                    ) from exc
                axes, scale = multiscale.axes, multiscale.scales[level]
            elif component is None:
                names = sorted(name for name, _ in node.arrays())
                if len(names) != 1:
                    raise ValueError(
                        f"{str(path)!r} is a Zarr group with arrays {names}; "
                        "choose one with component="
                    )
                component = names[0]
            try:
                node = node[component]
            except KeyError:
                raise ValueError(
                    f"{str(path)!r} has no array {component!r}; arrays: "
                    f"{sorted(n for n, _ in node.arrays())}"
                ) from None
            if not isinstance(node, zarr.Array):
                raise ValueError(f"{str(path)!r}/{component} is a group, not an array")
        elif component is not None or level is not None:
            raise ValueError(f"{str(path)!r} is a single array; component/level do not apply")
        complete = complete and is_complete(node.attrs)
        storage = node.shards if getattr(node, "shards", None) else node.chunks
        info = ImageInfo(
            str(path),
            fmt,
            tuple(node.shape),
            np.dtype(node.dtype),
            tuple(storage),
            complete=complete,
            levels=levels,
            axes=axes,
            scale=scale,
            details={"component": component} if component else {},
        )
        return node, info

    def open(
        self,
        path: Path,
        *,
        chunks: object = None,
        component: str | None = None,
        level: int | None = None,
        allow_incomplete: bool = False,
    ) -> da.Array:
        node, info = self._resolve(path, component, level)
        if not info.complete and not allow_incomplete:
            raise IncompleteDataError(
                f"{str(path)!r} was left by a write that did not finish; rewrite it, "
                "or pass allow_incomplete=True to read what is there"
            )
        chunks = choose_chunks(node.shape, node.dtype, chunks, storage_chunks=info.chunks)
        name = f"bigimg-zarr-{da.core.tokenize(str(path.resolve()), component, info, chunks)}"
        return da.from_array(node, chunks=chunks, name=name, lock=False, inline_array=True)

    def info(
        self, path: Path, *, component: str | None = None, level: int | None = None
    ) -> ImageInfo:
        return self._resolve(path, component, level)[1]


def prepare_target(path: Path, overwrite: bool) -> None:
    """Refuse or clear an existing target before anything is written."""
    if not (path.exists() or path.is_symlink()):
        return
    if not overwrite:
        raise TargetExistsError(
            f"{str(path)!r} already exists; pass overwrite=True (or --overwrite) to replace it"
        )
    if path.is_dir() and (is_zarr(path) or not any(path.iterdir())):
        shutil.rmtree(path)
        return
    raise TargetExistsError(
        f"{str(path)!r} exists and is not a Zarr store; bigimg will not delete it even "
        "with overwrite=True"
    )


def regular(array: da.Array) -> da.Array:
    """Rechunk to a regular grid (all chunks equal but the last) if needed."""
    target = []
    for c in array.chunks:
        regular = len(c) <= 1 or (len(set(c[:-1])) == 1 and c[-1] <= c[0])
        target.append(c[0] if regular else max(c))
    if tuple(target) == tuple(c[0] if c else 0 for c in array.chunks):
        return array
    return array.rechunk(tuple(target))


def create(
    store: Any,
    name: str | None,
    array: da.Array,
    zarr_format: int,
    *,
    marker: dict[str, Any] | None = None,
    **options: Any,
) -> zarr.Array:
    """An empty Zarr array shaped and chunked like the regular ``array``,
    marked incomplete (plus ``marker``'s entries) until its last chunk is in."""
    chunks = tuple(max(1, c[0]) if c else 1 for c in array.chunks)
    return zarr.create_array(
        store,
        name=name,
        shape=array.shape,
        chunks=chunks,
        dtype=array.dtype,
        zarr_format=zarr_format,
        attributes={_MARKER: {**(marker or {}), "complete": False}},
        **options,
    )


def _check_format(zarr_format: int) -> None:
    if zarr_format not in (2, 3):
        raise ValueError(f"zarr_format={zarr_format!r} must be 2 or 3")


def save_zarr(
    array: da.Array,
    path: Path,
    *,
    overwrite: bool = False,
    zarr_format: int = 3,
    compressors: Any = "auto",
) -> Path:
    """Write ``array`` to a Zarr array at ``path``, one writer per stored chunk."""
    _check_format(zarr_format)
    prepare_target(path, overwrite)
    array = regular(array)
    target = create(str(path), None, array, zarr_format, compressors=compressors)
    da.store(array, target, lock=False, compute=True)
    target.attrs[_MARKER] = {"complete": True}
    return path


def save_ome_zarr(
    array: da.Array,
    path: Path,
    *,
    overwrite: bool = False,
    zarr_format: int = 3,
    axes: tuple[str, ...] | None = None,
    scale: tuple[float, ...] | None = None,
    min_size: int = 256,
    method: str | None = None,
    compressors: Any = "auto",
) -> Path:
    """Write an OME-Zarr multiscale pyramid: level 0 is ``array``, each next level
    halves the spatial axes (read back from the level before, so nothing is
    computed twice) until they are at most ``min_size``.
    """
    _check_format(zarr_format)
    axes = tuple(axes) if axes is not None else ome.default_axes(array.ndim)
    if len(axes) != array.ndim:
        raise ValueError(f"axes={axes} needs one name per axis of the {array.ndim}-D array")
    scale = tuple(float(s) for s in scale) if scale is not None else (1.0,) * array.ndim
    if len(scale) != array.ndim:
        raise ValueError(f"scale={scale} needs one value per axis of the {array.ndim}-D array")
    if method is None:
        method = "nearest" if np.issubdtype(array.dtype, np.integer) else "mean"
    factors = ome.spatial_factors(axes)
    shapes = pyramid_shapes(array.shape, factors, min_size=min_size)
    prepare_target(path, overwrite)
    group = zarr.open_group(str(path), mode="w-", zarr_format=zarr_format)
    group.attrs[_MARKER] = {"complete": False}
    level = regular(array)
    chunk_shape = level.chunksize
    paths, scales = [], []
    for i in range(len(shapes)):
        name = str(i)
        if i > 0:
            previous = da.from_array(group[str(i - 1)], chunks=chunk_shape, lock=False)
            level = downsample(previous, factors, method=method)
            level = level.rechunk(tuple(min(c, s) for c, s in zip(chunk_shape, level.shape)))
        target = create(group.store, name, level, zarr_format, compressors=compressors)
        da.store(level, target, lock=False, compute=True)
        target.attrs[_MARKER] = {"complete": True}
        paths.append(name)
        scales.append(tuple(s * f**i for s, f in zip(scale, factors)))
    group.attrs.update(
        ome.multiscale_attrs(zarr_format=zarr_format, axes=axes, paths=paths, scales=scales)
    )
    group.attrs[_MARKER] = {"complete": True}
    return path


register(ZarrBackend())
register_sink("zarr", save_zarr)
register_sink("ome-zarr", save_ome_zarr)
