"""Pixel sizes and units from an ImageJ TIFF through every door and back.

ImageJ TIFF (written by tifffile) -> ``bigimg convert`` -> OME-Zarr -> job
(filter, labels, zoom) -> OME-Zarr with its label image -> TIFF: each step is
read back only with third-party tools (tifffile, ome-zarr-models, plain
zarr), and the pixel sizes and units must arrive exactly.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import ome_zarr_models.v04
import ome_zarr_models.v05
import pytest
import scipy.ndimage as ndi
import tifffile
import zarr

import bigimg
from bigimg import pipeline
from bigimg.cli import main

JOB = """
job: round-trip
input: {{path: {source}}}
steps:
  blurred: {{op: gaussian_filter, input: image, sigma: 1}}
  mask: {{expr: "blurred > 0.5"}}
  labels: {{op: label, input: mask}}
outputs:
  - {{from: blurred, path: blurred.ome.zarr, zarr_format: {zarr_format}}}
  - {{from: labels, path: blurred.ome.zarr, labels: cells}}
  - {{from: blurred, path: blurred.tif}}
"""


def _ngff(group: zarr.Group) -> dict:
    return dict(group.attrs["ome"]) if group.metadata.zarr_format == 3 else dict(group.attrs)


def _ome_physical(path) -> dict[str, tuple[float, str]]:
    """PhysicalSizeX/Y/Z and their units, as tifffile reads the OME-XML."""
    with tifffile.TiffFile(path) as tif:
        root = ET.fromstring(tif.ome_metadata)
    pixels = next(e for e in root.iter() if e.tag.endswith("Pixels"))
    return {
        axis: (
            float(pixels.get(f"PhysicalSize{axis}")),
            pixels.get(f"PhysicalSize{axis}Unit", "µm"),
        )
        for axis in "XYZ"
        if pixels.get(f"PhysicalSize{axis}") is not None
    }


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_imagej_tiff_to_ome_zarr_to_job_to_tiff_keeps_sizes(tmp_path, zarr_format):
    rng = np.random.default_rng(zarr_format)
    data = ndi.gaussian_filter(rng.random((6, 48, 40)), 1).astype(np.float32)
    source = tmp_path / "scan.tif"
    tifffile.imwrite(
        source,
        data,
        imagej=True,
        resolution=(2.0, 2.0),  # pixels per micron: 0.5 um pixels
        metadata={"spacing": 2.0, "unit": "micron", "axes": "ZYX"},
    )
    converted = tmp_path / "scan.ome.zarr"
    args = ["convert", str(source), str(converted), "--zarr-format", str(zarr_format)]
    assert main(args) == 0
    group = zarr.open_group(str(converted), mode="r")
    models = ome_zarr_models.v05 if zarr_format == 3 else ome_zarr_models.v04
    models.Image.from_zarr(group)
    meta = _ngff(group)["multiscales"][0]
    assert meta["datasets"][0]["coordinateTransformations"][0]["scale"] == [2.0, 0.5, 0.5]
    assert [a["name"] for a in meta["axes"]] == ["z", "y", "x"]
    assert [a["unit"] for a in meta["axes"]] == ["micrometer"] * 3
    np.testing.assert_array_equal(group["0"][...], data)

    out = tmp_path / "out"
    job = pipeline.loads(JOB.format(source=converted, zarr_format=zarr_format), output_dir=out)
    pipeline.run(job, progress=False)
    blurred = zarr.open_group(str(out / "blurred.ome.zarr"), mode="r")
    cells = zarr.open_group(str(out / "blurred.ome.zarr" / "labels" / "cells"), mode="r")
    models.Image.from_zarr(blurred)
    models.ImageLabel.from_zarr(cells)
    for g in (blurred, cells):
        meta = _ngff(g)["multiscales"][0]
        assert meta["datasets"][0]["coordinateTransformations"][0]["scale"] == [2.0, 0.5, 0.5]
        assert [a["unit"] for a in meta["axes"]] == ["micrometer"] * 3
    expected = ndi.gaussian_filter(data, 1)
    np.testing.assert_array_equal(blurred["0"][...], expected)
    np.testing.assert_array_equal(cells["0"][...], ndi.label(expected > 0.5)[0])

    tif = out / "blurred.tif"
    assert _ome_physical(tif) == {"X": (0.5, "µm"), "Y": (0.5, "µm"), "Z": (2.0, "µm")}
    np.testing.assert_array_equal(tifffile.imread(tif), expected)
    back = bigimg.info(tif)
    assert back.scale == (2.0, 0.5, 0.5) and back.units == ("micrometer",) * 3
