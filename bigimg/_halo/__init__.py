"""The halo engine: neighbourhood operations on chunks, exact at every border.

- :mod:`.reach`: how far each operation reaches, per axis and side (a *depth*);
- :mod:`.overlap`: :func:`map_halo` gathers each chunk's halo from its
  neighbours and, past the array border, by the user's mode, exactly as
  scipy extends the whole array;
- :mod:`.lines`: whole-line passes that carry state along a line of chunks
  (running sums, recursive 1-D filters);
- :mod:`.fusion`: local operations (:class:`LocalOp`, :class:`LineOp`) and
  :func:`fused`, which runs a chain of them as one overlap pass.

Callers import from this front only.
"""

from bigimg._halo.edges import part_keys
from bigimg._halo.fusion import LineOp, LocalOp, Tracer, apply, as_input, fused, trace
from bigimg._halo.lines import LinePass, carried_uniform, map_line_passes
from bigimg._halo.overlap import (
    Frame,
    assemble,
    call_inside,
    map_halo,
    pencil_chunks,
    region_task,
    sources,
    take_sources,
    whole_axes,
)
from bigimg._halo.reach import (
    Depth,
    add,
    along,
    footprint,
    kernel,
    maximum,
    mirror,
    normalize_axes,
    place,
    radius,
    zero,
)

__all__ = [
    "Depth",
    "Frame",
    "LineOp",
    "LinePass",
    "LocalOp",
    "Tracer",
    "add",
    "along",
    "apply",
    "as_input",
    "assemble",
    "call_inside",
    "carried_uniform",
    "footprint",
    "fused",
    "kernel",
    "map_halo",
    "map_line_passes",
    "maximum",
    "mirror",
    "normalize_axes",
    "part_keys",
    "pencil_chunks",
    "place",
    "radius",
    "region_task",
    "sources",
    "take_sources",
    "trace",
    "whole_axes",
    "zero",
]
