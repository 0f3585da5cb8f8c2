"""Exception classes raised by bigimg.

Every error a user can provoke with bad input is one of these (or a plain
``ValueError`` / ``TypeError`` naming the parameter), raised before any work
starts.

Damaged data is reported as early as it can be seen. What the metadata
already shows (a malformed OME-Zarr ``multiscales``, a TIFF tile that lies
past the end of the file) is raised by ``bigimg.open`` / ``bigimg.info`` and
when a job is checked; what only the pixels show (a chunk that does not
decode, a file cut short after it was opened) is raised when the chunk is
computed. Either way the message names the file and the chunk — Zarr chunk
key, TIFF page and tile or strip, raw byte range — with the array region it
holds, and the original exception is chained as ``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "BigimgError",
    "CorruptDataError",
    "IncompleteDataError",
    "MetadataError",
    "MissingChunkError",
    "TargetExistsError",
    "TaskMemoryError",
    "UnknownFormatError",
    "WriteError",
]


class BigimgError(Exception):
    """Base class of bigimg's own exceptions."""


class UnknownFormatError(BigimgError, ValueError):
    """The source or target is not in a format bigimg can read or write."""


class TargetExistsError(BigimgError, FileExistsError):
    """A save would overwrite existing data and ``overwrite=True`` was not given."""


class IncompleteDataError(BigimgError):
    """The data on disk was left by a write that did not finish."""


class MetadataError(BigimgError, ValueError):
    """A file's or store's metadata is malformed: invalid JSON, a broken
    OME-Zarr ``multiscales`` entry, axes or scales that do not match the
    array. The message names the file and the key. Raised when the image is
    opened, before any pixel is read."""


class CorruptDataError(BigimgError, OSError):
    """Stored pixel data cannot be read as the metadata describes it: a file
    truncated in its pixel data, a chunk, tile or strip that does not decode,
    bytes that cannot be read. The message names the file, the chunk (Zarr
    chunk key, TIFF page and tile or strip, raw byte range) and the array
    region; the original error is the ``__cause__``."""


class MissingChunkError(CorruptDataError):
    """A Zarr chunk that must be stored is absent: the store was written by
    bigimg (which stores every chunk), or ``missing_chunks='error'`` was asked.
    The message names the store and the chunk key."""


class TaskMemoryError(BigimgError, MemoryError):
    """One task of a call would need more memory than one task may use where
    it runs (a worker's memory limit per thread, or on threads the memory
    available per thread). Raised when the call builds its graph, before
    any work; the message names the function and chunks that fit."""


class WriteError(BigimgError, OSError):
    """Writing failed: a full disk, a read-only directory, an I/O error. The
    message names the target and the chunk being written (or the directory
    that cannot be written); ``errno`` is that of the original error, which is
    the ``__cause__``. A Zarr target is left marked incomplete and a TIFF
    target is not created, so the failed write never looks finished."""
