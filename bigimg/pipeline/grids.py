"""The physical grid of each value of a job: axes, pixel sizes and units.

An input file's grid is what :func:`bigimg.info` reads of it (OME-Zarr,
OME-TIFF, ImageJ and TIFF resolution tags). A step keeps the grid of its
first array input when its result has that input's shape (filters,
morphology, labels, expressions); ``zoom`` scales the pixel sizes by the
ratio of the shapes; the other geometric transforms resample onto a grid
bigimg cannot name, so their results carry none. Array outputs that store
pixel sizes (OME-Zarr, TIFF) are written with their value's grid unless the
output gives ``axes``, ``scale``, ``units`` or ``like`` itself, and region
tables of labels with a grid get its physical columns.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bigimg.io.physical import Physical
from bigimg.pipeline.job import Job, Step

__all__ = ["RESAMPLING", "describe", "grids", "with_spacing", "write_options"]

#: Operations whose output grid is not the input's, and not known
RESAMPLING = frozenset({"affine_transform", "geometric_transform", "map_coordinates", "rotate"})

_OWN = ("axes", "scale", "units", "like")


def grids(job: Job) -> dict[str, Physical | None]:
    """Each input's and step's grid (None: not known, or not an array)."""
    import bigimg

    out: dict[str, Physical | None] = {}
    for source in job.sources:
        found = None
        if source.path is not None:
            meta = bigimg.info(source.path, **_info_options(source.options))
            if meta.scale is not None or meta.units is not None:
                n = len(meta.shape)
                found = Physical(
                    tuple(meta.axes) if meta.axes is not None else default_axes(n),
                    tuple(meta.scale) if meta.scale is not None else (1.0,) * n,
                    tuple(meta.units) if meta.units is not None else (None,) * n,
                )
        out[source.name] = found
    for step in job.steps:
        out[step.name] = _step_grid(job, step, out)
    return out


def _info_options(options: Any) -> dict[str, Any]:
    """The open options that say which image of a file is meant."""
    keep = ("component", "level", "series", "dtype", "shape", "offset", "order")
    return {k: v for k, v in dict(options).items() if k in keep}


def default_axes(ndim: int) -> tuple[str, ...]:
    """Axis names for an image whose file names none: OME's order up to 5-D."""
    return tuple("tczyx"[5 - ndim :]) if ndim <= 5 else tuple(f"dim_{i}" for i in range(ndim))


def _step_grid(job: Job, step: Step, known: dict[str, Physical | None]) -> Physical | None:
    result = job.results.get(step.name)
    if result is None or result.kind != "array" or step.op in RESAMPLING:
        return None
    for name in step.uses:
        grid = known.get(name)
        parent = job.results.get(name)
        if grid is None or parent is None or parent.kind != "array":
            continue
        if step.op == "zoom" and len(parent.shape) == len(result.shape):
            scale = tuple(
                s * a / b if b else s for s, a, b in zip(grid.scale, parent.shape, result.shape)
            )
            return Physical(grid.axes, scale, grid.units)
        if parent.shape == result.shape:
            return grid
    return None


def with_spacing(step: Step, known: dict[str, Physical | None]) -> Step:
    """A ``region_table`` step given its labels' pixel sizes and units (so the
    table has physical columns), unless it sets ``spacing`` itself."""
    grid = known.get(step.refs.get("labels", ""))
    if step.op != "region_table" or grid is None or "spacing" in step.params:
        return step
    params = {**step.params, "spacing": list(grid.scale)}
    if "units" not in step.params:
        params["units"] = list(grid.units)
    return replace(step, params=params)


def describe(grid: Physical | None, step: Step | None) -> str:
    """A value's grid as the dry run prints it: pixel sizes with their units,
    saying where a step changed them.

    Examples
    --------
    >>> describe(Physical(("y", "x"), (0.5, 0.5), ("micrometer",) * 2), None)
    'pixel size 0.5 x 0.5 micrometer'
    """
    op = step.op if step is not None else None
    if grid is None:
        return f"no pixel size ({op} resamples)" if op in RESAMPLING else "no pixel size known"
    units = {u for u in grid.units}
    unit = f" {units.pop()}" if len(units) == 1 and None not in units else ""
    sizes = " x ".join(f"{s:g}" for s in grid.scale)
    if not unit and any(u is not None for u in grid.units):
        sizes = " x ".join(f"{s:g} {u or ''}".strip() for s, u in zip(grid.scale, grid.units))
    return f"pixel size {sizes}{unit}" + (" (scaled by the zoom)" if op == "zoom" else "")


def write_options(options: Any, grid: Physical | None, fmt: str) -> dict[str, Any]:
    """An array output's writer options, with ``like=grid`` added for formats
    that store pixel sizes, unless the output sets them itself."""
    options = dict(options)
    if grid is not None and fmt in ("ome-zarr", "tiff") and not any(k in options for k in _OWN):
        options["like"] = grid
    return options
