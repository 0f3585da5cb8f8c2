"""Where a job writes: its outputs (parsed from the job file), its work
directory, and the checks made before any work.

Every path is resolved once (:func:`bigimg.io.targets.resolve`: absolute,
normalised, symlinks resolved), so ``o1/../victim.zarr`` is the store it
names whether or not ``o1`` exists. Before any work the job is refused when:

* an output is written twice, lies inside another output, or holds one;
* an output is, holds or lies inside one of the job's input files, or the
  job's work directory, or the output lies inside a Zarr store (never
  allowed, not even with ``--overwrite``);
* the output folder or the work directory is there but is not a directory,
  or a directory the job writes cannot be written;
* an output exists and was not created by this very job (its identity is in
  the job's journal, :class:`~bigimg.pipeline.checkpoint.Journal`), unless
  ``--overwrite`` is given; even then only what bigimg can replace is
  replaced (a Zarr store, an empty directory, a file).

A running job checks the targets again under its lock
(:mod:`bigimg.pipeline.lock`), and each target is claimed atomically when it
is created, so a target that appears meanwhile is refused, never adopted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bigimg.errors import TargetExistsError
from bigimg.io import ome_labels, targets
from bigimg.io.zarr_marker import is_zarr
from bigimg.pipeline.checkpoint import Journal
from bigimg.pipeline.checks import Problems, StandIn
from bigimg.pipeline.document import line_of, suggest
from bigimg.pipeline.job import Job, Output, Source, work_dir

__all__ = [
    "check_paths",
    "check_targets",
    "check_writable",
    "output_kind",
    "outputs",
]

_ARRAY_SUFFIXES = {".zarr": "zarr", ".tif": "tiff", ".tiff": "tiff"}
_TABLE_SUFFIXES = (".csv", ".parquet")
_PICTURE_OPTIONS = {
    "kind": ("image", "labels", "histogram"),
    "vmin": float,
    "vmax": float,
    "cmap": str,
    "contour": str,
    "levels": list,
    "max_size": int,
    "bins": int,
    "thresholds": list,
    "title": str,
}
_ARRAY_OPTIONS = {
    "zarr_format": int,
    "min_size": int,
    "compression": str,
    "axes": list,
    "scale": list,
    "units": object,  # one unit, or a list: checked by _check_grid
    "labels": str,  # a label image of an OME-Zarr output before it
}

#: Array formats that store pixel sizes and units
_PHYSICAL = ("ome-zarr", "tiff")


def _not_a_directory(place: Path) -> Path | None:
    """The first of ``place`` and its parents that exists but is not a directory."""
    for candidate in (*reversed(place.parents), place):
        if targets.exists(candidate) and not os.path.isdir(candidate):
            return candidate
    return None


def _store_holding(path: Path) -> Path | None:
    """The existing Zarr store (array or group) that ``path`` lies inside, if any."""
    return next((place for place in path.parents if is_zarr(place)), None)


def _within(inner: Path, outer: Path) -> bool:
    """``inner`` is ``outer`` or lies inside it (both resolved)."""
    return inner == outer or outer in inner.parents


def check_paths(
    out_dir: Path, sources: Sequence[Source], outputs: Sequence[Output], p: Problems, line: int
) -> None:
    """Outputs that would write over each other, over an input or over the
    work directory; an output folder or work directory that is not a directory."""
    work = work_dir(out_dir)
    for place, what in ((out_dir, "the output folder"), (work, "the job's work directory")):
        blocked = _not_a_directory(place)
        if blocked is not None:
            p.add(line, f"{what} {str(place)!r}: {str(blocked)!r} is not a directory")
            return
    store = _store_holding(out_dir / "x")
    if store is not None:
        p.add(
            line, f"the output folder {str(out_dir)!r} lies inside the Zarr store {str(store)!r}"
        )
        return
    inputs = [(s.name, targets.resolve(s.path)) for s in sources if s.path is not None]
    for i, out in enumerate(outputs):
        where = f"output {str(out.path)!r}"
        for name, path in inputs:
            if _within(out.path, path) or _within(path, out.path):
                p.add(
                    out.line,
                    f"{where} would write over the job's input {name!r} ({str(path)!r}); "
                    "write it elsewhere (not allowed even with --overwrite)",
                )
        image = label_image_of(out)
        store = _store_holding(out.path)
        beside = () if image is None else (image, image / "labels")
        if store is not None and store not in beside:  # foreign files in someone's data
            p.add(out.line, f"{where} lies inside the Zarr store {str(store)!r}")
        if _within(out.path, work) or _within(work, out.path):
            p.add(
                out.line,
                f"{where} would write over the job's work directory {str(work)!r}; "
                "write it elsewhere",
            )
        for other in outputs[:i]:
            if other.path == image and other.format == "ome-zarr":
                continue  # a label image beside its image, as NGFF lays them out
            if other.path != out.path and (
                _within(out.path, other.path) or _within(other.path, out.path)
            ):
                inner, outer = sorted((out.path, other.path), key=lambda q: len(q.parts))[::-1]
                p.add(out.line, f"output {str(inner)!r} lies inside output {str(outer)!r}")


def outputs(
    data: Mapping[str, Any],
    p: Problems,
    out_dir: Path,
    results: Mapping[str, StandIn],
    names: set[str],
) -> tuple[Output, ...]:
    specs = data.get("outputs")
    if not isinstance(specs, list) or not specs:
        p.add(
            line_of(data, "outputs"), "'outputs' must list at least one {from: NAME, path: FILE}"
        )
        return ()
    out: list[Output] = []
    seen: set[Path] = set()
    for i, spec in enumerate(specs):
        line = line_of(spec) or line_of(data, "outputs")
        where = f"output {i + 1}"
        if not isinstance(spec, dict) or "from" not in spec or "path" not in spec:
            p.add(line, f"{where}: needs 'from' (a step or input) and 'path'")
            continue
        spec = dict(spec)
        source, given = str(spec.pop("from")), str(spec.pop("path"))
        try:
            path = targets.resolve(out_dir / Path(given).expanduser())
        except (TypeError, ValueError) as exc:
            p.add(line, f"{where}: path {given!r}: {exc}")
            continue
        where = f"output {str(path)!r}"
        kind, fmt = output_kind(path)
        if "labels" in spec and kind is not None:
            name = spec["labels"]
            if fmt != "ome-zarr" or not isinstance(name, str):
                p.add(line, f"{where}: labels: NAME adds a label image to an .ome.zarr image")
                continue
            image = path
            if not any(o.path == image and o.format == "ome-zarr" for o in out):
                p.add(
                    line,
                    f"{where}: labels: {name!r} needs the image {str(image)!r} written by an "
                    "earlier output of this job (to label another image, use "
                    "bigimg.save(labels, image, labels=name))",
                )
                continue
            try:
                path = image / "labels" / ome_labels.label_name(name)
            except ValueError as exc:
                p.add(line, f"{where}: {exc}")
                continue
            where = f"output {str(path)!r}"
        if path in seen:
            p.add(line, f"{where}: written twice")
        seen.add(path)
        if kind is None:
            p.add(
                line,
                f"{where}: unknown kind of file (use .zarr, .ome.zarr, .tif, .csv, "
                ".parquet or .png)",
            )
            continue
        allowed: Mapping[str, Any] = (
            _PICTURE_OPTIONS if kind == "picture" else _ARRAY_OPTIONS if kind == "array" else {}
        )
        for key, value in spec.items():
            expected = allowed.get(key)
            if expected is None:
                p.add(line, f"{where}: unknown option {key!r}{suggest(key, allowed)}")
            elif isinstance(expected, tuple) and value not in expected:
                p.add(line, f"{where}: {key}={value!r} must be one of {', '.join(expected)}")
            elif expected is float and not isinstance(value, int | float):
                p.add(line, f"{where}: {key}={value!r} must be a number")
            elif expected in (int, str, list) and not isinstance(value, expected):
                p.add(line, f"{where}: {key}={value!r} must be of type {expected.__name__}")
        if kind == "array":
            _check_grid(spec, fmt, results.get(source), p, line, where)
        if fmt == "parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                p.add(line, f"{where}: Parquet needs pyarrow (pip install pyarrow); or use .csv")
        value = results.get(source)
        if source not in results and source not in names:
            p.add(line, f"{where}: 'from: {source}' names no input or step")
        elif value is not None:
            needs = "table" if kind == "table" else "array"
            if value.kind != needs and not (kind == "table" and value.kind == "scalar"):
                what = {"array": "an image", "table": "a table", "scalar": "a number"}
                p.add(
                    line,
                    f"{where}: {source!r} is {what[value.kind]}; a {fmt} file needs {what[needs]}",
                )
            if kind == "picture" and "contour" in spec:
                other = results.get(str(spec["contour"]))
                if other is None or other.kind != "array" or other.shape != value.shape:
                    p.add(
                        line,
                        f"{where}: contour {spec['contour']!r} must name an image of "
                        f"shape {value.shape}",
                    )
        out.append(Output(source, path, kind, fmt, spec, line))
    return tuple(out)


def label_image_of(out: Output) -> Path | None:
    """The OME-Zarr image a label image output is added to (None for others)."""
    return out.path.parent.parent if "labels" in out.options else None


def _check_grid(
    spec: Mapping[str, Any], fmt: str, value: StandIn | None, p: Problems, line: int, where: str
) -> None:
    """An array output's ``axes``, ``scale`` and ``units``: for a format that
    stores them, one per axis of the value, pixel sizes positive, units known."""
    given = {k: spec[k] for k in ("axes", "scale", "units") if k in spec}
    if not given:
        return
    if "labels" in spec:
        p.add(line, f"{where}: a label image takes its image's {', '.join(given)}")
        return
    if fmt not in _PHYSICAL:
        p.add(line, f"{where}: {fmt} stores no {', '.join(given)}; write .ome.zarr or .tif")
        return
    if value is None or value.kind != "array":
        return
    from bigimg.io import physical
    from bigimg.pipeline.grids import default_axes

    try:
        physical.for_save(len(value.shape), **given, default_axes=default_axes(len(value.shape)))
    except (TypeError, ValueError) as exc:
        p.add(line, f"{where}: {exc}")


def output_kind(path: Path) -> tuple[str | None, str]:
    name = path.name.lower()
    if name.endswith(".ome.zarr"):
        return "array", "ome-zarr"
    suffix = Path(name).suffix
    if suffix in _ARRAY_SUFFIXES:
        return "array", _ARRAY_SUFFIXES[suffix]
    if suffix in _TABLE_SUFFIXES:
        return "table", suffix[1:]
    if suffix == ".png":
        return "picture", "png"
    return None, ""


def check_writable(out_dir: Path, outputs: tuple[Output, ...], p: Problems, line: int) -> None:
    """The directories the job writes (outputs, work directory) can be written."""
    from bigimg.io.faults import unwritable

    work = work_dir(out_dir)
    refused = unwritable([work, *(o.path.parent for o in outputs)])
    for out in outputs:
        if out.path.parent in refused:
            p.add(out.line, f"output {str(out.path)!r}: {refused[out.path.parent]}")
    if work in refused and refused[work] not in {refused.get(o.path.parent) for o in outputs}:
        p.add(line, f"the job's work directory {str(work)!r}: {refused[work]}")


def check_targets(job: Job, p: Problems) -> None:
    """Existing outputs: resumed when this job wrote them, else refused without
    ``overwrite`` (and never deleted when they are not bigimg's)."""
    journal = Journal(job.work_dir)
    for out in job.outputs:
        if not targets.exists(out.path):
            continue
        mine = journal.owner(out.path)
        if mine == job.output_fingerprint(out):
            continue  # an earlier run of this very job: resumed
        if job.overwrite or mine is not None:
            try:  # what bigimg may not delete is refused even so
                targets.refuse_existing(out.path, overwrite=True, what="output")
            except TargetExistsError as exc:
                p.add(out.line, str(exc))
                continue
        if job.overwrite:
            continue
        if mine is not None:
            p.add(
                out.line,
                f"output {str(out.path)!r} was written by this job with other "
                "settings (a step or input it depends on changed); pass --overwrite to "
                "recompute it",
            )
        else:
            p.add(
                out.line,
                f"output {str(out.path)!r} already exists; pass --overwrite to replace it",
            )
