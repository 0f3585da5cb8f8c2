"""OME-Zarr that bigimg writes, read only by third-party tools.

Every image and label image is validated by ome-zarr-models and read by
ome-zarr-py's Reader; values are read back with plain zarr and compared
with numpy on the whole array.
"""

from __future__ import annotations

import json
from pathlib import Path

import dask.array as da
import numpy as np
import ome_zarr_models.v04
import ome_zarr_models.v05
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from ome_zarr.io import parse_url
from ome_zarr.reader import Label, Multiscales, Reader
from ome_zarr_models import open_ome_zarr

import bigimg
from bigimg.errors import TargetExistsError
from bigimg.io.physical import unit_name

AXES = {2: ("y", "x"), 3: ("z", "y", "x"), 4: ("c", "z", "y", "x"), 5: ("t", "c", "z", "y", "x")}
UNITS = {"t": "second", "c": None, "z": "micrometer", "y": "micrometer", "x": "micrometer"}


def validated(path: Path, model: str = "") -> str:
    """The ome-zarr-models class the group at ``path`` validates as; with
    ``model``, validated as that class of its NGFF version (raises if not)."""
    group = zarr.open_group(str(path), mode="r")
    if model:
        module = ome_zarr_models.v05 if group.metadata.zarr_format == 3 else ome_zarr_models.v04
        getattr(module, model).from_zarr(group)
        return model
    return type(open_ome_zarr(group)).__name__


def reader_nodes(path: Path) -> list:
    return list(Reader(parse_url(str(path)))())


def shape_for(ndim: int) -> tuple[int, ...]:
    return {2: (70, 90), 3: (9, 40, 50), 4: (2, 9, 40, 50), 5: (2, 2, 6, 36, 40)}[ndim]


@settings(max_examples=12, deadline=None)
@given(
    ndim=st.sampled_from([2, 3, 4, 5]),
    zarr_format=st.sampled_from([2, 3]),
    size=st.floats(0.01, 100, allow_nan=False),
    min_size=st.sampled_from([8, 16, 64]),
)
def test_images_validate_and_keep_their_grid(tmp_path_factory, ndim, zarr_format, size, min_size):
    path = tmp_path_factory.mktemp("ome") / "image.ome.zarr"
    shape = shape_for(ndim)
    data = np.random.default_rng(ndim).random(shape, dtype=np.float32)
    axes = AXES[ndim]
    scale = tuple(size * (i + 1) for i in range(ndim))
    units = tuple(UNITS[a] for a in axes)
    bigimg.save(
        da.from_array(data, chunks=16),
        path,
        zarr_format=zarr_format,
        scale=scale,
        units=units,
        min_size=min_size,
    )
    assert validated(path) == "Image"
    nodes = reader_nodes(path)
    assert any(isinstance(spec, Multiscales) for spec in nodes[0].specs)
    assert tuple(nodes[0].data[0].shape) == shape
    group = zarr.open_group(str(path), mode="r")
    np.testing.assert_array_equal(group["0"][...], data)
    meta = group.attrs["ome"] if zarr_format == 3 else group.attrs
    assert meta["multiscales"][0]["datasets"][0]["coordinateTransformations"] == [
        {"type": "scale", "scale": list(scale)}
    ]
    assert [a.get("unit") for a in meta["multiscales"][0]["axes"]] == list(units)
    if zarr_format == 3:
        assert group["0"].metadata.dimension_names == axes
    described = bigimg.info(path)
    assert described.scale == scale and described.units == units and described.axes == axes


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("ndim", [2, 3, 4, 5])
def test_labels_beside_an_image_validate_and_never_invent_ids(tmp_path, zarr_format, ndim):
    path = tmp_path / "scan.ome.zarr"
    shape = shape_for(ndim)
    rng = np.random.default_rng(ndim)
    image = rng.random(shape, dtype=np.float32)
    ids = rng.integers(0, 50, shape).astype(np.uint32)
    scale = tuple(0.5 + i for i in range(ndim))
    bigimg.save(
        da.from_array(image, chunks=16), path, zarr_format=zarr_format, scale=scale, min_size=8
    )
    before = {p: p.read_bytes() for p in path.rglob("*") if p.is_file()}
    out = bigimg.save(
        da.from_array(ids, chunks=16),
        path,
        labels="cells",
        colors={1: (255, 0, 0), 2: (0, 255, 0, 128)},
        properties={1: {"class": "cell"}, 2: {"class": "nucleus"}},
    )
    assert out == path / "labels" / "cells"
    # the image itself is not touched: every file it had is there, byte for byte
    assert {p: p.read_bytes() for p in before} == before
    assert validated(path) == "Image"
    assert validated(path / "labels", "Labels") == "Labels"
    assert validated(out, "ImageLabel") == "ImageLabel"
    label_nodes = [n for n in reader_nodes(path) if any(isinstance(s, Label) for s in n.specs)]
    assert len(label_nodes) == 1
    image_group = zarr.open_group(str(path), mode="r")
    label_group = zarr.open_group(str(out), mode="r")
    image_meta = image_group.attrs["ome"] if zarr_format == 3 else image_group.attrs
    label_meta = label_group.attrs["ome"] if zarr_format == 3 else label_group.attrs
    image_sets = image_meta["multiscales"][0]["datasets"]
    label_sets = label_meta["multiscales"][0]["datasets"]
    assert [d["coordinateTransformations"] for d in label_sets] == [
        d["coordinateTransformations"] for d in image_sets
    ]
    assert label_meta["image-label"]["colors"] == [
        {"label-value": 1, "rgba": [255, 0, 0, 255]},
        {"label-value": 2, "rgba": [0, 255, 0, 128]},
    ]
    # each level: the image's shape, and the pixel the 'nearest' rule picks
    expected = ids
    spatial = [i for i, a in enumerate(AXES[ndim]) if a in "zyx"]
    for i, d in enumerate(label_sets):
        level = label_group[d["path"]][...]
        assert level.shape == image_group[image_sets[i]["path"]].shape
        np.testing.assert_array_equal(level, expected)
        expected = expected[
            tuple(slice(None, None, 2) if k in spatial else slice(None) for k in range(ndim))
        ]


def test_labels_refused_before_work(tmp_path):
    path = tmp_path / "scan.ome.zarr"
    ids = da.zeros((32, 32), chunks=16, dtype=np.int32)
    with pytest.raises(FileNotFoundError, match="save the image there first"):
        bigimg.save(ids, path, labels="cells")
    bigimg.save(da.zeros((32, 32), chunks=16), path)
    with pytest.raises(ValueError, match="do not fit the image"):
        bigimg.save(da.zeros((32, 30), chunks=16, dtype=np.int32), path, labels="cells")
    with pytest.raises(TypeError, match="integer ids"):
        bigimg.save(da.zeros((32, 32), chunks=16), path, labels="cells")
    with pytest.raises(ValueError, match="must be a name"):
        bigimg.save(ids, path, labels="../x")
    with pytest.raises(ValueError, match="3 or 4 integers"):
        bigimg.save(ids, path, labels="cells", colors={1: (300, 0, 0)})
    with pytest.raises(ValueError, match="the same ids"):
        bigimg.save(ids, path, labels="cells", colors={1: (3, 0, 0)}, properties={2: {"a": 1}})
    assert not (path / "labels" / "cells").exists()
    bigimg.save(ids, path, labels="cells")
    with pytest.raises(TargetExistsError, match="already has the label image"):
        bigimg.save(ids, path, labels="cells")
    bigimg.save(ids + 1, path, labels="cells", overwrite=True)
    bigimg.save(ids, path, labels="nuclei")
    listing = json.loads((path / "labels" / "zarr.json").read_text())["attributes"]["ome"]
    assert listing["labels"] == ["cells", "nuclei"]
    assert int(zarr.open_group(str(path / "labels" / "cells"))["0"][0, 0]) == 1
    assert "labels" in bigimg.info(path).details
    assert "image-label" in bigimg.info(path / "labels" / "cells").details


@pytest.mark.parametrize(
    ("axes", "problem"),
    [
        (("y", "x", "t"), "not ordered"),
        (("x",), "1 space axes"),
        (("c", "c2", "y", "x"), "more than one"),
    ],
)
def test_axes_ngff_does_not_allow_are_refused(tmp_path, axes, problem):
    shape = {1: (8,), 3: (4, 8, 8), 4: (2, 2, 8, 8)}[len(axes)]
    with pytest.raises(ValueError, match=problem):
        bigimg.save(da.zeros(shape, chunks=4), tmp_path / "a.ome.zarr", axes=axes)
    assert not (tmp_path / "a.ome.zarr").exists()


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("um", "micrometer"),
        ("µm", "micrometer"),
        ("μm", "micrometer"),
        ("micron", "micrometer"),
        ("Micrometers", "micrometer"),
        ("nm", "nanometer"),
        ("angstrom", "angstrom"),
        ("ms", "millisecond"),
        ("second", "second"),
        ("inch", "inch"),
    ],
)
def test_units_are_named_as_ngff_names_them(text, name):
    assert unit_name(text) == name


def test_an_unknown_unit_is_refused_naming_it(tmp_path):
    with pytest.raises(ValueError, match="'parsecs per fortnight'"):
        bigimg.save(
            da.zeros((8, 8), chunks=4), tmp_path / "a.ome.zarr", units="parsecs per fortnight"
        )
    with pytest.raises(ValueError, match="positive numbers"):
        bigimg.save(da.zeros((8, 8), chunks=4), tmp_path / "a.ome.zarr", scale=(1.0, -2.0))
    assert not (tmp_path / "a.ome.zarr").exists()


def test_like_carries_the_grid_of_a_stored_image(tmp_path):
    source = tmp_path / "source.ome.zarr"
    bigimg.save(da.zeros((8, 16, 16), chunks=8), source, scale=(2.0, 0.25, 0.25), units="nm")
    out = bigimg.save(bigimg.open(source) + 1, tmp_path / "out.ome.zarr", like=source)
    assert validated(out) == "Image"
    assert bigimg.info(out).scale == (2.0, 0.25, 0.25)
    assert bigimg.info(out).units == ("nanometer",) * 3
    explicit = bigimg.save(
        bigimg.open(source), tmp_path / "explicit.ome.zarr", like=source, scale=(1.0, 1.0, 1.0)
    )
    assert bigimg.info(explicit).scale == (1.0, 1.0, 1.0)
    assert bigimg.info(explicit).units == ("nanometer",) * 3


JOB = """
job: physical
input: {{path: {source}}}
steps:
  blurred: {{op: gaussian_filter, input: image, sigma: 1}}
  zoomed: {{op: zoom, input: image, zoom: 0.5}}
  mask: {{expr: "blurred > 0.5"}}
  labels: {{op: label, input: mask}}
  regions: {{op: region_table, labels: labels}}
outputs:
  - {{from: regions, path: regions.csv}}
  - {{from: blurred, path: blurred.ome.zarr}}
  - {{from: zoomed, path: zoomed.ome.zarr}}
  - {{from: labels, path: blurred.ome.zarr, labels: cells}}
  - {{from: blurred, path: blurred.tif}}
"""


def test_jobs_keep_pixel_sizes_and_write_labels_beside_the_image(tmp_path):
    from bigimg import pipeline

    source = tmp_path / "scan.ome.zarr"
    data = np.random.default_rng(0).random((8, 40, 36), dtype=np.float32)
    bigimg.save(da.from_array(data, chunks=16), source, scale=(2.0, 0.5, 0.5), units="um")
    out = tmp_path / "out"
    job = pipeline.loads(JOB.format(source=source), output_dir=out)
    plan = pipeline.plan(job).describe()
    assert "pixel size 4 x 1 x 1 micrometer (scaled by the zoom)" in plan
    assert "blurred.ome.zarr/labels/cells  <- labels" in plan
    pipeline.run(job, progress=False)
    blurred, zoomed = out / "blurred.ome.zarr", out / "zoomed.ome.zarr"
    for image in (blurred, zoomed):
        assert validated(image) == "Image"
    assert validated(blurred / "labels", "Labels") == "Labels"
    assert validated(blurred / "labels" / "cells", "ImageLabel") == "ImageLabel"
    assert bigimg.info(blurred).scale == (2.0, 0.5, 0.5)
    assert bigimg.info(blurred).units == ("micrometer",) * 3
    assert bigimg.info(blurred / "labels" / "cells").scale == (2.0, 0.5, 0.5)
    assert bigimg.info(zoomed).shape == (4, 20, 18)
    assert bigimg.info(zoomed).scale == (4.0, 1.0, 1.0)
    import scipy.ndimage as ndi

    expected, _ = ndi.label(ndi.gaussian_filter(data, 1) > 0.5)
    np.testing.assert_array_equal(
        zarr.open_group(str(blurred / "labels" / "cells"))["0"][...], expected
    )
    import csv

    with open(out / "regions.csv") as f:
        rows = list(csv.DictReader(f))
    areas = np.bincount(expected.ravel())[1:]
    assert [float(r["area_micrometer^3"]) for r in rows] == (areas * 0.5).tolist()
    centroids = ndi.center_of_mass(expected > 0, expected, range(1, expected.max() + 1))
    np.testing.assert_allclose(
        [float(r["centroid_0_micrometer"]) for r in rows], [2.0 * c[0] for c in centroids]
    )
    # a second run finds the label image done, and the image with it
    again = pipeline.run(pipeline.loads(JOB.format(source=source), output_dir=out), progress=False)
    assert again.written == 0


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ("- {from: labels, path: a.ome.zarr, labels: cells}", "written by an earlier output"),
        ("- {from: labels, path: a.zarr, labels: cells}", "adds a label image to an .ome.zarr"),
        (
            "- {from: image, path: a.ome.zarr}\n  - {from: labels, path: a.ome.zarr, labels: a/b}",
            "must be a name",
        ),
        ("- {from: image, path: a.zarr, scale: [1, 2]}", "stores no scale"),
        ("- {from: image, path: a.ome.zarr, units: furlong}", "'furlong'"),
        ("- {from: image, path: a.ome.zarr, scale: [1, 2, 3]}", "one value per axis"),
    ],
)
def test_job_outputs_with_bad_labels_or_grids_are_refused(tmp_path, outputs, message):
    from bigimg import pipeline
    from bigimg.pipeline.config import ConfigError

    text = f"""
job: bad
input: {{synthetic: blobs, shape: [32, 32], chunks: [16, 16]}}
steps:
  labels: {{op: label, input: image}}
outputs:
  {outputs}
"""
    with pytest.raises(ConfigError, match=message):
        pipeline.loads(text, output_dir=tmp_path / "out")
