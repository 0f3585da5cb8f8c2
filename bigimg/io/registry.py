"""The one entry point per format: backends, image metadata, format lookup.

Every on-disk format is a :class:`Backend` registered here. ``bigimg.open``,
``bigimg.save`` and ``bigimg.info`` only dispatch; each backend module (raw,
npy, zarr, tiff) knows one format.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import dask.array as da
import numpy as np

from bigimg.errors import UnknownFormatError
from bigimg.monitor import size_text

__all__ = [
    "Backend",
    "ImageInfo",
    "backend_for_source",
    "backend_for_target",
    "register",
    "register_sink",
    "target_format",
]


@dataclass(frozen=True)
class ImageInfo:
    """What is known of a stored image without reading its pixels."""

    path: str
    format: str
    shape: tuple[int, ...]
    dtype: np.dtype
    chunks: tuple[int, ...] | None
    complete: bool = True
    levels: tuple[tuple[int, ...], ...] = ()
    axes: tuple[str, ...] | None = None
    scale: tuple[float, ...] | None = None
    units: tuple[str | None, ...] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize

    def describe(self) -> str:
        """Human-readable multi-line summary (what ``bigimg info`` prints)."""
        lines = [
            f"path:     {self.path}",
            f"format:   {self.format}",
            f"shape:    {self.shape}",
            f"dtype:    {np.dtype(self.dtype)}",
            f"chunks:   {self.chunks if self.chunks is not None else 'contiguous'}",
            f"bytes:    {self.nbytes} ({size_text(self.nbytes)})",
            f"status:   {'complete' if self.complete else 'INCOMPLETE (a write did not finish)'}",
        ]
        if self.levels:
            lines.append(f"levels:   {len(self.levels)}")
            lines.extend(f"  level {i}: {s}" for i, s in enumerate(self.levels))
        if self.axes is not None:
            lines.append(f"axes:     {self.axes}")
        if self.scale is not None:
            lines.append(f"scale:    {self.scale}")
        if self.units is not None and any(u is not None for u in self.units):
            lines.append(f"units:    {self.units}")
        lines.extend(f"{k + ':':9} {v}" for k, v in self.details.items())
        return "\n".join(lines)


class Backend(Protocol):
    """One storage format. Sinks implement ``save`` as well."""

    name: str

    def claims(self, path: Path) -> bool:
        """True if ``path`` looks like this format (suffix or magic bytes)."""

    def open(self, path: Path, *, chunks: object, **options: Any) -> da.Array:
        """Lazy dask array of the stored image."""

    def info(self, path: Path, **options: Any) -> ImageInfo:
        """Metadata, reading no pixel data."""


_BACKENDS: dict[str, Backend] = {}
_SAVERS: dict[str, Callable[..., Any]] = {}
#: target suffix -> format, longest suffix first when matching
_TARGET_SUFFIXES = {
    ".ome.zarr": "ome-zarr",
    ".zarr": "zarr",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".btf": "tiff",
}


def register(backend: Backend, *, saves: tuple[str, ...] = ()) -> Backend:
    """Add ``backend`` to the registry; ``saves`` lists the target formats it writes."""
    _BACKENDS[backend.name] = backend
    for fmt in saves:
        register_sink(fmt, backend.save)  # type: ignore[attr-defined]
    return backend


def register_sink(format: str, save: Callable[..., Any]) -> None:
    """Make ``save(array, path, *, overwrite, **options)`` the writer of ``format``."""
    _SAVERS[format] = save


def source_formats() -> list[str]:
    return list(_BACKENDS)


def target_formats() -> list[str]:
    return list(_SAVERS)


def backend_for_source(path: Path, format: str | None) -> Backend:
    """The backend that reads ``path``; raises a clear error otherwise."""
    if format is not None:
        try:
            return _BACKENDS[format]
        except KeyError:
            raise UnknownFormatError(
                f"unknown format {format!r}; supported: {', '.join(source_formats())}"
            ) from None
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file or directory: {str(path)!r}")
    for backend in _BACKENDS.values():
        if backend.claims(path):
            return backend
    raise UnknownFormatError(
        f"cannot tell the format of {str(path)!r}; supported formats: "
        f"{', '.join(source_formats())} (raw files need format='raw' or a "
        ".raw/.bin/.dat suffix, plus dtype= and shape=)"
    )


def target_format(path: Path, format: str | None) -> str:
    """The format to write ``path`` in: explicit, or from the target's suffix."""
    if format is not None:
        return format
    name = path.name.lower()
    for suffix in sorted(_TARGET_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return _TARGET_SUFFIXES[suffix]
    raise UnknownFormatError(
        f"cannot tell the format to write {str(path)!r} from its name; use a suffix "
        f"({', '.join(_TARGET_SUFFIXES)}) or format= one of {', '.join(target_formats())}"
    )


def backend_for_target(format: str) -> Callable[..., Any]:
    try:
        return _SAVERS[format]
    except KeyError:
        raise UnknownFormatError(
            f"cannot save as {format!r}; supported: {', '.join(target_formats())}"
        ) from None
