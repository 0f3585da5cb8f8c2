"""The resampling engine: geometric transforms of chunked images, exactly.

- :mod:`.regions`: each output chunk reads only the input region its
  coordinates reach plus the spline support (:func:`resample`);
- :mod:`.prefilter`: scipy's B-spline prefilter run on whole lines;
- :mod:`.splines`: compiled spline interpolation with scipy's weights and
  boundary rules.

Callers import from this front only.
"""

from bigimg._resample.regions import (
    Mapping,
    Spline,
    affine_mapping,
    coefficients,
    given_coordinates,
    region,
    resample,
    separable_mapping,
    spline_filtered,
)

__all__ = [
    "Mapping",
    "Spline",
    "affine_mapping",
    "coefficients",
    "given_coordinates",
    "region",
    "resample",
    "separable_mapping",
    "spline_filtered",
]
