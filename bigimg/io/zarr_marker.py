"""What bigimg records in the Zarr stores it writes, read without zarr.

Every store bigimg writes carries a ``bigimg`` attribute (:data:`MARKER`):
``complete`` is false while it is being written, ``every_chunk`` says every
chunk was stored (so a missing chunk file is lost data), and ``claim`` is the
nonce of the job or call that created it (:mod:`bigimg.io.targets` compares
it to tell a store it made from one it did not). These readers look at the
metadata files only, so the target checks never open a store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["MARKER", "META_FILES", "claim_of", "is_complete", "is_zarr", "stores_every_chunk"]

MARKER = "bigimg"
META_FILES = ("zarr.json", ".zarray", ".zgroup")


def is_zarr(path: Path) -> bool:
    return path.is_dir() and any((path / f).exists() for f in META_FILES)


def is_complete(attrs: Any) -> bool:
    """False for a store bigimg marked as being written (an interrupted write)."""
    marker = attrs.get(MARKER)
    return not (isinstance(marker, dict) and marker.get("complete") is False)


def stores_every_chunk(attrs: Any) -> bool:
    """True for an array bigimg wrote with every chunk stored (no chunk left to
    the fill value), so that a missing chunk file is lost data."""
    marker = attrs.get(MARKER)
    return isinstance(marker, dict) and marker.get("every_chunk") is True


def claim_of(path: Path) -> str | None:
    """The claim in the ``bigimg`` marker of the store at ``path`` (None if
    there is no store or no claim); reads only its metadata file."""
    for name in ("zarr.json", ".zattrs"):
        try:
            meta = json.loads((path / name).read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(meta, dict):
            return None
        attrs = meta.get("attributes", {}) if name == "zarr.json" else meta
        marker = attrs.get(MARKER) if isinstance(attrs, dict) else None
        claim = marker.get("claim") if isinstance(marker, dict) else None
        return claim if isinstance(claim, str) else None
    return None
