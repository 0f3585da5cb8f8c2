"""Zarr v2 / v3 arrays and OME-Zarr multiscale groups.

A write by bigimg marks the array (and an OME group) ``{"bigimg": {"complete":
false}}`` before the first chunk and flips it to ``true`` after the last, so
an interrupted write is recognised as incomplete by :func:`bigimg.open` and
``bigimg info``. Each stored chunk is written by exactly one dask task.

bigimg stores *every* chunk, also those equal to the fill value (which Zarr
writers skip by default), and says so in the marker (``"every_chunk": true``).
Reading a complete store so marked, a missing chunk file is therefore an error
(:class:`~bigimg.errors.MissingChunkError`); in other stores the Zarr rule
applies and it reads as the fill value, unless ``missing_chunks='error'``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import dask.array as da
import numpy as np
import zarr
from dask.base import tokenize

from bigimg._execute import run_blocks
from bigimg._grid import BlockSlices
from bigimg.errors import BigimgError, IncompleteDataError, MetadataError
from bigimg.io import ome, physical, targets
from bigimg.io.chunking import check_openable, choose_chunks
from bigimg.io.faults import write_error
from bigimg.io.registry import ImageInfo, register, register_sink
from bigimg.io.zarr_chunks import MISSING_CHUNKS, ZarrSource, ZarrTarget
from bigimg.io.zarr_marker import MARKER, META_FILES, is_complete, is_zarr, stores_every_chunk
from bigimg.pyramid import downsample, pyramid_shapes

if TYPE_CHECKING:
    from zarr.core.array_spec import ArrayConfigParams

__all__ = [
    "WRITE_CONFIG",
    "create",
    "mark_complete",
    "prepare_target",
    "regular",
    "save_ome_zarr",
    "save_zarr",
    "writable",
    "write_chunks",
]

#: Runtime configuration of every array bigimg writes: chunks equal to the fill
#: value are stored too, so a missing chunk file always means lost data.
WRITE_CONFIG: ArrayConfigParams = {"write_empty_chunks": True}


def _attrs_file(node: zarr.Array | zarr.Group) -> str:
    return "zarr.json" if node.metadata.zarr_format == 3 else ".zattrs"


def _bad_json(directory: Path) -> MetadataError | None:
    """The error naming a metadata file of ``directory`` that is not valid JSON."""
    for name in (*META_FILES, ".zattrs"):
        file = directory / name
        if not file.is_file():
            continue
        try:
            json.loads(file.read_bytes())
        except ValueError as exc:
            return MetadataError(
                f"{str(file)!r} is not valid JSON ({exc}); the Zarr metadata is damaged"
            )
    return None


#: What zarr raises on metadata it cannot make sense of (its own errors are
#: ValueErrors; a missing or unknown key is a TypeError of a constructor; a
#: fill value out of the dtype's range an OverflowError).
_METADATA_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError)


def _check_node(directory: Path) -> None:
    """Refuse a ``zarr.json`` that is not JSON or names no node type (zarr
    would read it as an empty group)."""
    bad = _bad_json(directory)
    if bad is not None:
        raise bad
    file = directory / "zarr.json"
    if not file.is_file():
        return
    meta = json.loads(file.read_bytes())
    kind = meta.get("node_type", "missing") if isinstance(meta, dict) else "missing"
    if kind not in ("array", "group"):
        raise MetadataError(
            f"{str(file)!r}: the Zarr metadata is damaged: 'node_type' must be 'array' or "
            f"'group', not {kind if kind == 'missing' else repr(kind)}"
        )


def _meta_file(path: Path, component: str | ImageInfo | None = None) -> Path:
    """The metadata file of the array ``component`` (or of the info's) of ``path``."""
    if isinstance(component, ImageInfo):
        component = component.details.get("component")
    where = path / component if component else path
    return next((where / f for f in META_FILES if (where / f).is_file()), where)


def _unreadable(directory: Path, exc: Exception) -> ValueError:
    """The error for a store or node at ``directory`` that zarr cannot open:
    a :class:`MetadataError` naming its metadata file, if it has one."""
    bad = _bad_json(directory)
    if bad is not None:
        return bad
    for name in META_FILES:
        if (directory / name).is_file():
            return MetadataError(
                f"{str(directory / name)!r}: the Zarr metadata cannot be read "
                f"({type(exc).__name__}: {exc})"
            )
    return ValueError(f"{str(directory)!r} is not a readable Zarr store: {exc}")


def _child(node: zarr.Group, name: str, path: Path) -> zarr.Array | zarr.Group:
    """``node[name]``, naming the damaged metadata file if it cannot be read."""
    _check_node(path / name)
    try:
        return node[name]
    except KeyError as exc:  # not in the store, or (zarr says the same) unreadable
        if not any((path / name / f).is_file() for f in META_FILES):
            raise
        cause: Exception = exc
        try:  # for the real reason
            zarr.open(str(path / name), mode="r")
        except _METADATA_ERRORS as direct:
            cause = direct
        raise _unreadable(path / name, cause) from cause
    except _METADATA_ERRORS as exc:
        raise _unreadable(path / name, exc) from exc


def _level_shapes(
    group: zarr.Group, multiscale: ome.Multiscale, path: Path, attrs_file: str
) -> list[tuple[int, ...]]:
    """The shapes of the pyramid levels the OME-Zarr metadata names, each
    checked to be an array of the store."""
    shapes = []
    for i, name in enumerate(multiscale.paths):
        where = f"{attrs_file!r}: malformed OME-Zarr metadata: {multiscale.key}.datasets[{i}]"
        try:
            child = _child(group, name, path)
        except KeyError as exc:
            raise MetadataError(f"{where}.path names {name!r}, which is not in the store") from exc
        if not isinstance(child, zarr.Array):
            raise MetadataError(f"{where}.path names {name!r}, a group, not an array")
        shapes.append(tuple(child.shape))
    return shapes


class ZarrBackend:
    """Zarr v2 and v3 arrays, groups with a ``component``, OME-Zarr with ``level``."""

    name = "zarr"

    def claims(self, path: Path) -> bool:
        return is_zarr(path)

    def _resolve(
        self, path: Path, component: str | None, level: int | None
    ) -> tuple[zarr.Array, ImageInfo]:
        _check_node(path)
        try:
            node = zarr.open(str(path), mode="r")
        except (FileNotFoundError, *_METADATA_ERRORS) as exc:
            raise _unreadable(path, exc) from exc
        complete = is_complete(node.attrs)
        fmt = f"zarr-v{node.metadata.zarr_format}"
        levels: tuple[tuple[int, ...], ...] = ()
        axes = scale = units = None
        details: dict[str, Any] = {}
        if isinstance(node, zarr.Group):
            attrs_file = str(path / _attrs_file(node))
            multiscale = ome.read_multiscale(node.attrs, where=attrs_file)
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
                levels = tuple(_level_shapes(node, multiscale, path, attrs_file))
                ranks = [len(s) for s in levels]
                multiscale = ome.check_ranks(multiscale, ranks, where=attrs_file)
                axes, scale = multiscale.axes, multiscale.scales[level]
                units = multiscale.units
                details = _label_details(node)
            elif component is None:
                names = sorted(name for name, _ in node.arrays())
                if len(names) != 1:
                    raise ValueError(
                        f"{str(path)!r} is a Zarr group with arrays {names}; "
                        "choose one with component="
                    )
                component = names[0]
            try:
                node = _child(node, component, path)
            except KeyError:
                raise ValueError(
                    f"{str(path)!r} has no array {component!r}; arrays: "
                    f"{sorted(n for n, _ in cast(zarr.Group, node).arrays())}"  # _child raised
                ) from None
            if not isinstance(node, zarr.Array):
                raise ValueError(f"{str(path)!r}/{component} is a group, not an array")
        elif component is not None or level is not None:
            raise ValueError(f"{str(path)!r} is a single array; component/level do not apply")
        complete = complete and is_complete(node.attrs)
        storage = (
            cast("tuple[int, ...]", node.shards) if getattr(node, "shards", None) else node.chunks
        )
        if len(storage) != len(node.shape) or not all(c >= 1 for c in storage):
            raise MetadataError(
                f"{str(_meta_file(path, component))!r}: the Zarr metadata is damaged: the "
                f"chunk shape {tuple(storage)} does not fit the shape {tuple(node.shape)}"
            )
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
            units=units,
            details={**({"component": component} if component else {}), **details},
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
        missing_chunks: str | None = None,
    ) -> da.Array:
        if missing_chunks is not None and missing_chunks not in MISSING_CHUNKS:
            raise ValueError(
                f"missing_chunks={missing_chunks!r} must be 'error', 'fill' or None "
                "(None: an error for stores bigimg wrote, the fill value otherwise)"
            )
        node, info = self._resolve(path, component, level)
        if not info.complete and not allow_incomplete:
            raise IncompleteDataError(
                f"{str(path)!r} was left by a write that did not finish; rewrite it, "
                "or pass allow_incomplete=True to read what is there"
            )
        source = _source(node, info.complete, missing_chunks)
        check_openable(node.shape, node.dtype, str(_meta_file(path, component=info)))
        chunks = choose_chunks(node.shape, node.dtype, chunks, storage_chunks=info.chunks)
        token = da.core.tokenize(str(path.resolve()), component, info, chunks, source.missing)
        return da.from_array(
            source,
            chunks=chunks,
            name=f"bigimg-zarr-{token}",
            lock=False,
            asarray=False,
            inline_array=True,
            meta=np.empty((0,) * source.ndim, source.dtype),
        )

    def info(
        self,
        path: Path,
        *,
        component: str | None = None,
        level: int | None = None,
        **options: Any,
    ) -> ImageInfo:
        unknown = sorted(set(options) - {"allow_incomplete", "missing_chunks"})
        if unknown:  # the options of open() that do not change what info tells
            raise TypeError(
                f"Zarr stores take the options component= and level= (and, to open, "
                f"allow_incomplete= and missing_chunks=); got {unknown}"
            )
        return self._resolve(path, component, level)[1]


def _label_details(group: zarr.Group) -> dict[str, Any]:
    """What an OME-Zarr image group says of labels: that it is a label image
    (NGFF ``image-label``), and the label images listed beside it."""
    out: dict[str, Any] = {}
    meta = group.attrs.get("ome", group.attrs)
    label = meta.get("image-label") if isinstance(meta, Mapping) else None
    if isinstance(label, Mapping):
        source = label.get("source", {})
        image = source.get("image") if isinstance(source, Mapping) else None
        out["image-label"] = f"a label image (of {image})" if image else "a label image"
    try:
        names = ome.listed_labels(group["labels"].attrs) if "labels" in group else ()
    except (KeyError, TypeError, ValueError):
        names = ()
    if names:
        out["labels"] = ", ".join(names)
    return out


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number it is (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _source(node: zarr.Array, complete: bool, missing_chunks: str | None) -> ZarrSource:
    """What a missing chunk means when reading ``node`` (see the module text)."""
    if missing_chunks == "error":
        return ZarrSource(
            node, "error", "missing_chunks='error' was given (with missing_chunks='fill' "
            f"it reads as the fill value {_plain(node.fill_value)})",
        )  # fmt: skip
    if missing_chunks is None and complete and stores_every_chunk(node.attrs):
        return ZarrSource(
            node, "error", "bigimg wrote this store with every chunk, so the chunk file was "
            "lost (deleted, or not copied); restore it, or pass missing_chunks='fill' to "
            f"read it as the fill value {_plain(node.fill_value)}",
        )  # fmt: skip
    return ZarrSource(node, "fill")


@contextlib.contextmanager
def _writing(path: Path, what: str) -> Iterator[None]:
    """Turn an ``OSError`` of a metadata write into a WriteError naming ``path``."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, BigimgError):
            raise
        raise write_error(f"cannot {what} of {str(path)!r}", exc, path) from exc


def writable(array: zarr.Array) -> zarr.Array:
    """``array`` configured as bigimg writes (every chunk stored), e.g. to resume."""
    return array.with_config(WRITE_CONFIG)


def mark_complete(array: zarr.Array | zarr.Group, path: Path, **entries: Any) -> None:
    """Mark ``array`` finished, keeping its marker's other entries (``every_chunk``)."""
    marker = array.attrs.get(MARKER)
    marker = dict(marker) if isinstance(marker, dict) else {}
    with _writing(path, "mark the Zarr store complete"):
        array.attrs[MARKER] = {**marker, **entries, "complete": True}


def prepare_target(path: Path, overwrite: bool) -> dict[str, str]:
    """Refuse or clear an existing target, then claim ``path`` as a new store
    directory, atomically (:mod:`bigimg.io.targets`); the marker entries that
    tell this store from any later one at the same path."""
    targets.refuse_existing(path, overwrite=overwrite)
    targets.clear(path)
    return {"claim": targets.claim_directory(path)}


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
    marked incomplete (plus ``marker``'s entries) until its last chunk is in.

    It stores every chunk, also those equal to the fill value, and its marker
    says so (``every_chunk``), so a chunk missing later is known to be lost.
    """
    chunks = tuple(max(1, c[0]) if c else 1 for c in array.chunks)
    where = Path(str(getattr(store, "root", store))) / (name or "")
    with _writing(where, "create the Zarr array"):
        return zarr.create_array(
            store,
            name=name,
            shape=array.shape,
            chunks=chunks,
            dtype=array.dtype,
            zarr_format=cast("Literal[2, 3]", zarr_format),  # checked by the caller, or by zarr
            attributes={MARKER: {**(marker or {}), "complete": False, "every_chunk": True}},
            config=WRITE_CONFIG,
            **options,
        )


def _check_format(zarr_format: int) -> None:
    if zarr_format not in (2, 3):
        raise ValueError(f"zarr_format={zarr_format!r} must be 2 or 3")


def _write_block(
    block: np.ndarray, target: Any, where: BlockSlices, block_id: tuple[int, ...] = ()
) -> np.ndarray:
    target[where(block_id)] = block
    return np.zeros((1,) * block.ndim, np.int8)


def write_chunks(
    array: da.Array,
    target: zarr.Array,
    *,
    skip: Collection[tuple[int, ...]] = (),
    on_done: Callable[[tuple[int, ...]], None] | None = None,
) -> None:
    """Compute ``array`` (regular chunks, those of ``target``) and write each
    chunk into ``target`` as it is computed, one task per stored chunk.

    Chunks whose block index is in ``skip`` are not computed. ``on_done(index)``
    is called in this process after each chunk's write has returned. On a
    cluster the writes go to the scheduler in windows (:func:`bigimg._execute.run_keys`).
    A failed write raises :class:`~bigimg.errors.WriteError` naming the chunk.
    """
    if array.ndim == 0:
        ZarrTarget(target)[()] = array.compute()
        if on_done is not None:
            on_done(())
        return
    name = f"write-{tokenize(array.name, str(target.store_path))}"
    writes = da.map_blocks(
        _write_block,
        array,
        target=ZarrTarget(target),
        where=BlockSlices(array.chunks),
        dtype=np.int8,
        chunks=(1,) * array.ndim,
        name=name,
    )
    run_blocks(writes, lambda index, _: on_done(index) if on_done is not None else None, skip=skip)


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
    claim = prepare_target(path, overwrite)
    array = regular(array)
    target = create(str(path), None, array, zarr_format, marker=claim, compressors=compressors)
    write_chunks(array, target)
    mark_complete(target, path)
    return path


def save_ome_zarr(
    array: da.Array,
    path: Path,
    *,
    overwrite: bool = False,
    zarr_format: int = 3,
    axes: Sequence[str] | None = None,
    scale: Sequence[float] | None = None,
    units: Sequence[str | None] | str | None = None,
    like: Any = None,
    min_size: int = 256,
    method: str | None = None,
    compressors: Any = "auto",
    levels: int | None = None,
    image_label: Mapping[str, Any] | None = None,
    name: str = "image",
) -> Path:
    """Write an OME-Zarr multiscale pyramid: level 0 is ``array``, each next level
    halves the spatial axes (read back from the level before, so nothing is
    computed twice) until they are at most ``min_size``.

    ``axes``, ``scale`` (pixel size of level 0) and ``units`` (NGFF unit
    names or abbreviations, one per axis or one for all) are taken from the
    arguments, else from the stored image ``like``
    (:func:`bigimg.io.physical.for_save`). ``levels`` fixes the number of
    levels instead of ``min_size`` (a label image matches its image's);
    ``image_label`` is written as the group's NGFF ``image-label``; ``name``
    is the multiscale's.
    """
    _check_format(zarr_format)
    grid = physical.for_save(
        array.ndim,
        axes=axes,
        scale=scale,
        units=units,
        like=like,
        default_axes=ome.default_axes(array.ndim) if 1 <= array.ndim <= 5 else (),
    )
    try:
        ome.check_axes(grid.axes, grid.units)
    except ValueError:
        if axes is not None or like is None:
            raise
        # axes NGFF does not allow came with ``like`` (a TIFF's 'i' or 's'): its
        # pixel sizes and units are kept on OME's usual axes
        grid = replace(grid, axes=ome.default_axes(array.ndim))
        ome.check_axes(grid.axes, grid.units)
    axes, scale = grid.axes, grid.scale
    if method is None:
        method = "nearest" if np.issubdtype(array.dtype, np.integer) else "mean"
    factors = ome.spatial_factors(axes)
    shapes = pyramid_shapes(array.shape, factors, min_size=1 if levels else min_size)
    shapes = shapes[: levels or len(shapes)]
    claim = prepare_target(path, overwrite)
    with _writing(path, "create the OME-Zarr group"):
        group = zarr.open_group(
            str(path), mode="w-", zarr_format=cast("Literal[2, 3]", zarr_format)
        )  # _check_format passed
        group.attrs[MARKER] = {**claim, "complete": False}
    level = regular(array)
    chunk_shape = level.chunksize
    paths, scales = [], []
    for i in range(len(shapes)):
        key = str(i)
        if i > 0:
            previous = da.from_array(group[str(i - 1)], chunks=chunk_shape, lock=False)
            level = downsample(previous, factors, method=method)
            level = level.rechunk(tuple(min(c, s) for c, s in zip(chunk_shape, level.shape)))
        named: dict[str, Any] = {"dimension_names": axes} if zarr_format == 3 else {}  # NGFF 0.5
        target = create(group.store, key, level, zarr_format, compressors=compressors, **named)
        write_chunks(level, target)
        mark_complete(target, path / key)
        paths.append(key)
        scales.append(tuple(s * f**i for s, f in zip(scale, factors)))
    attrs = ome.multiscale_attrs(
        zarr_format=zarr_format, axes=axes, paths=paths, scales=scales, units=grid.units, name=name
    )
    if image_label is not None:
        (attrs["ome"] if zarr_format == 3 else attrs)["image-label"] = dict(image_label)
    with _writing(path, "write the OME-Zarr metadata"):
        group.attrs.update(attrs)
    mark_complete(group, path)
    return path


# open() takes its own keyword options, which the Backend protocol can only type as **options
register(ZarrBackend())  # type: ignore[arg-type]
register_sink("zarr", save_zarr)
register_sink("ome-zarr", save_ome_zarr)
