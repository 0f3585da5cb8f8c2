"""scipy.ndimage on dask arrays: same names, signatures and results."""

from bigimg._halo import fused
from bigimg.ndimage.binary_morphology import (
    binary_closing,
    binary_dilation,
    binary_erosion,
    binary_hit_or_miss,
    binary_opening,
)
from bigimg.ndimage.binary_reconstruction import binary_fill_holes, binary_propagation
from bigimg.ndimage.correlation import convolve, convolve1d, correlate, correlate1d
from bigimg.ndimage.derivatives import (
    generic_gradient_magnitude,
    generic_laplace,
    laplace,
    prewitt,
    sobel,
)
from bigimg.ndimage.distance import (
    distance_transform_bf,
    distance_transform_cdt,
    distance_transform_edt,
)
from bigimg.ndimage.distributions import histogram, labeled_comprehension, median
from bigimg.ndimage.extrema import extrema, maximum, maximum_position, minimum, minimum_position
from bigimg.ndimage.filters import (
    gaussian_filter,
    gaussian_filter1d,
    uniform_filter,
    uniform_filter1d,
)
from bigimg.ndimage.fourier import (
    fourier_ellipsoid,
    fourier_gaussian,
    fourier_shift,
    fourier_uniform,
)
from bigimg.ndimage.gaussian_derivatives import gaussian_gradient_magnitude, gaussian_laplace
from bigimg.ndimage.generic_filters import generic_filter, generic_filter1d, vectorized_filter
from bigimg.ndimage.grey_morphology import (
    black_tophat,
    grey_closing,
    grey_dilation,
    grey_erosion,
    grey_opening,
    morphological_gradient,
    morphological_laplace,
    white_tophat,
)
from bigimg.ndimage.interpolation import (
    geometric_transform,
    map_coordinates,
    spline_filter,
    spline_filter1d,
)
from bigimg.ndimage.label_measures import measure
from bigimg.ndimage.labeling import label
from bigimg.ndimage.measurements import (
    center_of_mass,
    mean,
    standard_deviation,
    sum,
    sum_labels,
    variance,
)
from bigimg.ndimage.morphology import generate_binary_structure, iterate_structure
from bigimg.ndimage.rank_filters import (
    maximum_filter,
    maximum_filter1d,
    median_filter,
    minimum_filter,
    minimum_filter1d,
    percentile_filter,
    rank_filter,
)
from bigimg.ndimage.regions import find_objects, region_table, value_indices, write_table
from bigimg.ndimage.transforms import affine_transform, rotate, shift, zoom
from bigimg.ndimage.watershed import watershed_ift

__all__ = [
    "affine_transform",
    "geometric_transform",
    "map_coordinates",
    "rotate",
    "shift",
    "spline_filter",
    "spline_filter1d",
    "zoom",
    "binary_closing",
    "binary_dilation",
    "binary_erosion",
    "binary_fill_holes",
    "binary_hit_or_miss",
    "binary_opening",
    "binary_propagation",
    "black_tophat",
    "center_of_mass",
    "convolve",
    "convolve1d",
    "correlate",
    "correlate1d",
    "distance_transform_bf",
    "distance_transform_cdt",
    "distance_transform_edt",
    "extrema",
    "find_objects",
    "fourier_ellipsoid",
    "fourier_gaussian",
    "fourier_shift",
    "fourier_uniform",
    "fused",
    "gaussian_filter",
    "gaussian_filter1d",
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
    "generate_binary_structure",
    "generic_filter",
    "generic_filter1d",
    "generic_gradient_magnitude",
    "generic_laplace",
    "grey_closing",
    "grey_dilation",
    "grey_erosion",
    "grey_opening",
    "histogram",
    "iterate_structure",
    "label",
    "labeled_comprehension",
    "laplace",
    "maximum",
    "maximum_filter",
    "maximum_filter1d",
    "maximum_position",
    "mean",
    "measure",
    "median",
    "median_filter",
    "minimum",
    "minimum_filter",
    "minimum_filter1d",
    "minimum_position",
    "morphological_gradient",
    "morphological_laplace",
    "percentile_filter",
    "prewitt",
    "rank_filter",
    "region_table",
    "sobel",
    "standard_deviation",
    "sum",
    "sum_labels",
    "uniform_filter",
    "uniform_filter1d",
    "value_indices",
    "variance",
    "vectorized_filter",
    "watershed_ift",
    "white_tophat",
    "write_table",
]
