"""Compiled block arithmetic that reproduces scipy.ndimage's operations in
scipy's order, so results are bit-identical (the engines' lowest layer).

- :mod:`.boundary`: scipy's boundary modes as index arithmetic (every engine
  extends an array past its border through :func:`extend_indices`);
- :mod:`.correlate`: 1-D correlation, running sums and gaussians along a line;
- :mod:`.rank`: order statistics under a footprint;
- :mod:`.numba_jit`: the numba decorators and the switch that turns the
  compiled paths off (tests compare both).

Callers import from this front only.
"""

from bigimg._kernels.boundary import MODES, extend_indices, holds, normalize_modes
from bigimg._kernels.correlate import (
    convolve1d,
    convolve_origin,
    correlate1d,
    gaussian_filter1d,
    gaussian_radius,
    running_sum,
)
from bigimg._kernels.numba_jit import compiled, inline, jit
from bigimg._kernels.rank import rank_filter, selection_network

__all__ = [
    "MODES",
    "compiled",
    "convolve1d",
    "convolve_origin",
    "correlate1d",
    "extend_indices",
    "gaussian_filter1d",
    "gaussian_radius",
    "holds",
    "inline",
    "jit",
    "normalize_modes",
    "rank_filter",
    "running_sum",
    "selection_network",
]
