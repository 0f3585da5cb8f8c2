"""Resumable writes: each chunk written by one task and recorded once written.

A job keeps, in its work directory (``<output_dir>/.bigimg-job``):

* ``owners.json``: for every target the job created (stores, TIFFs, tables,
  pictures), the fingerprint of the value written there and the identity
  (device, inode) of what the job created, recorded *before* it appears at
  its path (:mod:`bigimg.io.targets`), so a target left by a killed run is
  still known to be the job's, and anything else at that path is not;
* ``lock``: held by the running job (see :mod:`bigimg.pipeline.lock`);
* ``journal/<store>.log``: one line per chunk whose write has finished,
  appended by the client as each write task reports back;
* ``checkpoints/``: Zarr stores of intermediate results;
* ``values/``: small results (tables, numbers, label counts) as JSON.

A chunk is skipped on a rerun only if the journal lists it, and the journal
lists it only after its write returned, so a chunk cut short by ``kill -9``
is written again. A store whose recorded fingerprint differs from the value
about to be written (the job changed) is never resumed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import dask.array as da
import numpy as np
import zarr

from bigimg.io import targets
from bigimg.io import zarr as zarr_io
from bigimg.io.faults import write_error
from bigimg.io.zarr_marker import is_complete, is_zarr

__all__ = ["ChunkWriter", "Journal"]

_ATTR = "bigimg"


class Journal:
    """The work directory's records (see the module text)."""

    def __init__(self, work_dir: Path) -> None:
        self.dir = Path(work_dir)

    @property
    def _owners_file(self) -> Path:
        return self.dir / "owners.json"

    def _owners(self) -> dict[str, Any]:
        try:
            owners = json.loads(self._owners_file.read_text())
        except (OSError, ValueError):
            return {}
        return owners if isinstance(owners, dict) else {}

    def owner(self, target: Path) -> str | None:
        """The fingerprint of what this job wrote to ``target``, if what is there
        now is what the job created (its identity, not only its name)."""
        path = targets.resolve(target)
        entry = self._owners().get(str(path))
        if not isinstance(entry, dict) or not isinstance(entry.get("fingerprint"), str):
            return None  # not recorded (or by a bigimg that did not record identities)
        return entry["fingerprint"] if targets.is_same(path, entry.get("identity")) else None

    def set_owner(self, target: Path, fingerprint: str, ident: targets.Identity) -> None:
        """Record that the job creates ``target`` (identity ``ident``) holding
        the value ``fingerprint``; called before the target appears."""
        owners = self._owners()
        owners[str(targets.resolve(target))] = {"fingerprint": fingerprint, "identity": ident}
        self.dir.mkdir(parents=True, exist_ok=True)
        partial = self._owners_file.with_suffix(".partial")
        partial.write_text(json.dumps(owners, indent=1))
        os.replace(partial, self._owners_file)

    @contextlib.contextmanager
    def claiming(self, fingerprint: str) -> Iterator[None]:
        """Within this block, every target bigimg creates is recorded as the
        job's, holding the value ``fingerprint`` (:func:`bigimg.io.targets.recording`)."""
        with targets.recording(lambda path, ident: self.set_owner(path, fingerprint, ident)):
            yield

    def log(self, target: Path) -> Path:
        name = hashlib.sha256(str(targets.resolve(target)).encode()).hexdigest()[:16]
        return self.dir / "journal" / f"{Path(target).name}-{name}.log"

    def done(self, target: Path) -> set[tuple[int, ...]]:
        """Chunks recorded as written to ``target``."""
        try:
            lines = self.log(target).read_text().splitlines()
        except OSError:
            return set()
        out = set()
        for line in lines:
            with contextlib.suppress(ValueError):  # a line cut short by a kill
                if line.endswith(";"):
                    out.add(tuple(int(v) for v in line[:-1].split(",")))
        return out

    def reset(self, target: Path) -> None:
        self.log(target).unlink(missing_ok=True)

    def value_file(self, name: str, fingerprint: str) -> Path:
        return self.dir / "values" / f"{name}-{fingerprint}.json"

    def load_value(self, name: str, fingerprint: str) -> Any:
        """A small result saved by an earlier run, or None."""
        try:
            return json.loads(self.value_file(name, fingerprint).read_text())
        except (OSError, ValueError):
            return None

    def save_value(self, name: str, fingerprint: str, value: Any) -> None:
        path = self.value_file(name, fingerprint)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(value))
        os.replace(partial, path)

    def checkpoint(self, name: str, fingerprint: str) -> Path:
        return self.dir / "checkpoints" / f"{name}-{fingerprint}.zarr"


def _ends_line(path: Path) -> bool:
    """The file's last byte is a newline."""
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


class ChunkWriter:
    """Writes arrays to Zarr stores chunk by chunk, journaled, resumable."""

    def __init__(self, journal: Journal, progress: Any, overwrite: bool = False) -> None:
        self.journal = journal
        self.progress = progress
        self.overwrite = overwrite
        self.written = 0
        self.skipped = 0

    def is_complete(self, target: Path, fingerprint: str) -> bool:
        """``target`` holds this value, finished."""
        if self.journal.owner(target) != fingerprint or not is_zarr(target):
            return False
        try:
            attrs = zarr.open_array(str(target), mode="r").attrs
        except (OSError, ValueError, KeyError):
            return False
        marker = cast(Mapping[str, Any], attrs.get(_ATTR, {}))  # this job's: bigimg wrote it
        return marker.get("job") == fingerprint and is_complete(attrs)

    def write(
        self, array: da.Array, target: Path, fingerprint: str, *, zarr_format: int = 3
    ) -> Path:
        """Write ``array`` to the Zarr store ``target`` (resuming an earlier,
        interrupted write of the same value)."""
        array = zarr_io.regular(array)
        store, done = self._resumable(array, target, fingerprint), set()
        if store is not None:
            done = self.journal.done(target)
        else:
            mine = self.journal.owner(target) is not None
            self.journal.reset(target)
            with self.journal.claiming(fingerprint):  # refuses what is not ours
                claim = zarr_io.prepare_target(target, overwrite=mine or self.overwrite)
            store = zarr_io.create(
                str(target), None, array, zarr_format, marker={"job": fingerprint, **claim}
            )
        todo = [i for i in np.ndindex(*array.numblocks) if i not in done]
        self.skipped += len(done)
        if todo:
            log = self.journal.log(target)
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "a") as f:
                if f.tell() and not _ends_line(log):
                    f.write("\n")  # a line cut short (kill, full disk) is never extended

                def on_done(index: tuple[int, ...]) -> None:
                    try:
                        f.write(",".join(str(i) for i in index) + ";\n")
                        f.flush()
                    except OSError as exc:
                        raise write_error(
                            f"chunk {index} of {str(target)!r} was written but cannot be "
                            f"recorded in the journal {str(log)!r} (it is written again on "
                            "a rerun)",
                            exc,
                        ) from exc
                    self.written += 1
                    self.progress.advance()

                zarr_io.write_chunks(array, store, skip=done, on_done=on_done)
        zarr_io.mark_complete(store, target, job=fingerprint)
        return target

    def _resumable(self, array: da.Array, target: Path, fingerprint: str) -> zarr.Array | None:
        """The store an interrupted write of this value left, if any."""
        if self.journal.owner(target) != fingerprint or not is_zarr(target):
            return None
        try:
            store = zarr_io.writable(zarr.open_array(str(target), mode="r+"))
        except (OSError, ValueError, KeyError):
            return None
        chunks = tuple(max(1, c[0]) if c else 1 for c in array.chunks)
        same = store.shape == array.shape and store.chunks == chunks and store.dtype == array.dtype
        return store if same else None
