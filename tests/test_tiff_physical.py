"""TIFF pixel sizes, compression and tiles: files tifffile writes are read, files
bigimg writes are checked with tifffile."""

from __future__ import annotations

import math
import os
from pathlib import Path
from xml.etree import ElementTree

import dask.array as da
import numpy as np
import pytest
import tifffile
from hypothesis import given
from hypothesis import strategies as st

import bigimg
from bigimg.datasets import natural
from bigimg.io.tiff_physical import ome_symbol

DATA = np.arange(4 * 32 * 48, dtype="uint16").reshape(4, 32, 48)
UM = "micrometer"
sizes = st.floats(min_value=1e-4, max_value=1e4, allow_nan=False, allow_infinity=False)


def _pixels(path: Path) -> dict[str, str]:
    """The attributes of the OME-XML ``Pixels`` element, as tifffile reads them."""
    with tifffile.TiffFile(path) as tif:
        assert tif.is_ome
        root = ElementTree.fromstring(tif.ome_metadata)
    return next(e for e in root.iter() if e.tag.endswith("Pixels")).attrib


def _physical(path: Path, **options: object) -> tuple[object, object]:
    meta = bigimg.info(path, **options)
    return meta.scale, meta.units


# --- reading files other software wrote ---------------------------------------------


@pytest.mark.parametrize(
    "unit, expected",
    [("micron", UM), ("\\u00B5m", UM), ("um", UM), ("nm", "nanometer"), ("inch", "inch")],
)
def test_reads_imagej(tmp_path: Path, unit: str, expected: str) -> None:
    path = tmp_path / "ij.tif"
    metadata = {"spacing": 2.0, "unit": unit, "axes": "ZYX"}
    tifffile.imwrite(path, DATA, imagej=True, resolution=(2.0, 4.0), metadata=metadata)
    meta = bigimg.info(path)
    assert meta.axes == ("z", "y", "x")
    assert meta.scale == (2.0, 0.25, 0.5) and meta.units == (expected,) * 3


def test_reads_imagej_time_and_uncalibrated(tmp_path: Path) -> None:
    path = tmp_path / "t.tif"
    data = np.zeros((3, 2, 16, 16), "uint8")
    metadata = {"finterval": 0.5, "unit": "micron", "axes": "TZYX"}
    tifffile.imwrite(path, data, imagej=True, resolution=(10.0, 10.0), metadata=metadata)
    assert bigimg.info(path).axes == ("t", "z", "y", "x")
    # no spacing: nothing known of z
    assert _physical(path) == ((0.5, 1.0, 0.1, 0.1), ("second", None, UM, UM))
    plain = tmp_path / "plain.tif"  # ImageJ's defaults: nothing known
    tifffile.imwrite(plain, data[0], imagej=True, metadata={"axes": "ZYX"})
    assert _physical(plain) == (None, None)


def test_reads_ome(tmp_path: Path) -> None:
    path = tmp_path / "o.tif"
    metadata = {
        "axes": "ZYX",
        "PhysicalSizeX": 0.5,
        "PhysicalSizeXUnit": "nm",
        "PhysicalSizeY": 0.25,  # no unit: OME's default, µm
        "PhysicalSizeZ": 3.0,
        "PhysicalSizeZUnit": "mm",
    }
    tifffile.imwrite(path, DATA, ome=True, metadata=metadata)
    assert _physical(path) == ((3.0, 0.25, 0.5), ("millimeter", UM, "nanometer"))
    timed = tmp_path / "t.tif"
    metadata = {"axes": "TYX", "TimeIncrement": 0.2, "PhysicalSizeX": 2.0, "PhysicalSizeY": 2.0}
    tifffile.imwrite(timed, DATA, ome=True, metadata=metadata)
    assert _physical(timed) == ((0.2, 2.0, 2.0), ("second", UM, UM))
    bare = tmp_path / "bare.tif"  # OME-XML without pixel sizes
    tifffile.imwrite(bare, DATA, ome=True, metadata={"axes": "ZYX"})
    assert _physical(bare) == (None, None)


def test_reads_ome_of_other_writers(tmp_path: Path) -> None:
    """OME-XML as other software writes it: no image names, two images, the
    second of which is the series asked for."""
    pixels = (
        '<Pixels ID="Pixels:{i}" DimensionOrder="XYCZT" Type="uint16" SizeX="{x}" SizeY="{y}" '
        'SizeC="1" SizeZ="1" SizeT="1" PhysicalSizeX="{size}" PhysicalSizeY="{size}">'
        '<Channel ID="Channel:{i}:0" SamplesPerPixel="1"/><TiffData IFD="{i}" PlaneCount="1"/>'
        "</Pixels>"
    )
    images = "".join(
        f'<Image ID="Image:{i}">{pixels.format(i=i, x=x, y=y, size=size)}</Image>'
        for i, (x, y, size) in enumerate([(48, 32, 0.5), (24, 16, 7.0)])
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">{images}</OME>'
    )
    path = tmp_path / "o.tif"
    with tifffile.TiffWriter(path) as tw:
        tw.write(DATA[0], description=xml, metadata=None)
        tw.write(DATA[0, :16, :24], metadata=None)
    assert _physical(path) == ((0.5, 0.5), (UM, UM))
    assert _physical(path, series=1) == ((7.0, 7.0), (UM, UM))


@given(x=sizes, y=sizes, z=sizes, unit=st.sampled_from(["µm", "nm", "mm", "Å", "cm", "m"]))
def test_reads_ome_sizes_exactly(tmp_path: Path, x: float, y: float, z: float, unit: str) -> None:
    path = tmp_path / "h.tif"
    metadata = {"axes": "ZYX", "PhysicalSizeX": x, "PhysicalSizeY": y, "PhysicalSizeZ": z}
    metadata |= {f"PhysicalSize{a}Unit": unit for a in "XYZ"}
    tifffile.imwrite(path, DATA[:2, :16, :16], ome=True, metadata=metadata)
    name = bigimg.io.physical.unit_name(unit)
    assert _physical(path) == ((z, y, x), (name,) * 3)


@pytest.mark.parametrize(
    "unit, resolution, expected",
    [
        ("CENTIMETER", (100.0, 200.0), (50.0, 100.0)),  # pixels per cm: 1e4 / r µm
        ("INCH", (300.0, 300.0), (25400 / 300,) * 2),  # pixels per inch: 25400 / r µm
        ("INCH", (2.0, 1.0), (25400.0, 12700.0)),
    ],
)
def test_reads_resolution_tags(
    tmp_path: Path, unit: str, resolution: tuple[float, float], expected: tuple[float, float]
) -> None:
    path = tmp_path / "r.tif"
    tifffile.imwrite(path, DATA[0], resolution=resolution, resolutionunit=unit)
    assert _physical(path) == (expected, (UM, UM))
    stack = tmp_path / "s.tif"  # a plain stack of pages: the first axis is not known
    tifffile.imwrite(
        stack,
        DATA,
        resolution=resolution,
        resolutionunit=unit,
        metadata=None,
        photometric="minisblack",
    )
    meta = bigimg.info(stack)
    assert len(meta.axes) == 3 and meta.scale == (1.0, *expected)
    assert meta.units == (None, UM, UM)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"resolution": (5.0, 5.0), "resolutionunit": "NONE"},
        {"resolution": (1.0, 1.0)},  # tifffile adds ResolutionUnit INCH
        {"resolution": (1.0, 1.0), "resolutionunit": "CENTIMETER"},
    ],
    ids=["default", "unit-none", "one-per-inch", "one-per-cm"],
)
def test_reads_nothing_known(tmp_path: Path, options: dict) -> None:
    path = tmp_path / "n.tif"
    tifffile.imwrite(path, DATA[0], **options)
    assert _physical(path) == (None, None)


def test_malformed_metadata_is_ignored(tmp_path: Path) -> None:
    broken = tmp_path / "xml.tif"  # looks like OME-XML to tifffile, but does not parse
    description = '<?xml version="1.0"?><OME><Image><Pixels SizeX="48" <<< /></OME>'
    tifffile.imwrite(
        broken,
        DATA[0],
        description=description,
        metadata=None,
        resolution=(100.0, 100.0),
        resolutionunit="CENTIMETER",
    )
    assert _physical(broken) == ((100.0, 100.0), (UM, UM))  # the next source: the tags
    np.testing.assert_array_equal(bigimg.open(broken).compute(), DATA[0])
    values = tmp_path / "values.tif"
    bad = {"axes": "YX", "PhysicalSizeX": "abc", "PhysicalSizeY": -1, "PhysicalSizeXUnit": "ft!"}
    tifffile.imwrite(values, DATA[0], ome=True, metadata=bad)
    assert _physical(values) == (None, None)
    imagej = tmp_path / "ij.tif"
    tifffile.imwrite(
        imagej, DATA, imagej=True, metadata={"axes": "ZYX", "spacing": "x", "unit": "furlong"}
    )
    assert _physical(imagej) == (None, None)
    np.testing.assert_array_equal(bigimg.open(imagej).compute(), DATA)


def test_pyramid_levels_scale_by_their_downsampling(tmp_path: Path) -> None:
    path = tmp_path / "p.ome.tif"
    data = np.zeros((101, 90), "uint8")
    with tifffile.TiffWriter(path, ome=True) as tw:
        metadata = {"axes": "YX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.25}
        tw.write(data, subifds=2, tile=(16, 16), metadata=metadata)
        tw.write(data[::2, ::2], subfiletype=1, tile=(16, 16))  # 51 x 45
        tw.write(data[::4, ::4], subfiletype=1, tile=(16, 16))  # 26 x 23
    assert [_physical(path, level=i)[0] for i in range(3)] == [
        (0.25, 0.5),
        (0.5, 1.0),
        (1.0, 2.0),
    ]
    assert _physical(path, level=2)[1] == (UM, UM)


# --- writing, read back by tifffile -------------------------------------------------


def test_write_round_trip(tmp_path: Path) -> None:
    x = da.from_array(DATA, chunks=(2, 16, 48))
    path = bigimg.save(x, tmp_path / "a.tif", scale=(2.0, 0.5, 0.5), units="um")
    assert _physical(path) == ((2.0, 0.5, 0.5), (UM, UM, UM))
    pixels = _pixels(path)
    assert (pixels["PhysicalSizeX"], pixels["PhysicalSizeXUnit"]) == ("0.5", "µm")
    assert (pixels["PhysicalSizeZ"], pixels["PhysicalSizeZUnit"]) == ("2.0", "µm")
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        assert tags["XResolution"].value == tags["YResolution"].value == (20000, 1)
        assert tags["ResolutionUnit"].value == tifffile.RESUNIT.CENTIMETER
        assert tif.series[0].axes == "ZYX"
        np.testing.assert_array_equal(tif.asarray(), DATA)


@given(
    y=sizes,
    x=sizes,
    z=sizes,
    unit=st.sampled_from(["um", "nm", "mm", "angstrom", "cm", "meter", "inch"]),
)
def test_write_sizes_exactly(tmp_path: Path, y: float, x: float, z: float, unit: str) -> None:
    path = tmp_path / "h.tif"
    bigimg.save(DATA[:2, :16, :16], path, scale=(z, y, x), units=unit, overwrite=True)
    name = bigimg.io.physical.unit_name(unit)
    assert _physical(path) == ((z, y, x), (name,) * 3)
    pixels = _pixels(path)
    assert float(pixels["PhysicalSizeY"]) == y and pixels["PhysicalSizeYUnit"] == ome_symbol(unit)
    per_cm = [0.01 / (s * bigimg.io.physical.meters(unit)) for s in (x, y)]
    with tifffile.TiffFile(path) as tif:  # pixels per cm, as near as a TIFF rational gets
        tags = tif.pages[0].tags
        found = [tags[name].value for name in ("XResolution", "YResolution")]
        if all(1e-6 < r < 1e6 for r in per_cm):
            assert tags["ResolutionUnit"].value == tifffile.RESUNIT.CENTIMETER
            for (num, den), r in zip(found, per_cm):
                assert math.isclose(num / den, r, rel_tol=1e-6)
        elif not all(2**-32 < r < 2**32 - 1 for r in per_cm):  # no TIFF rational holds it
            assert tags["ResolutionUnit"].value == tifffile.RESUNIT.NONE


def test_write_time_and_unitless(tmp_path: Path) -> None:
    path = bigimg.save(
        DATA,
        tmp_path / "t.tif",
        axes=("t", "y", "x"),
        scale=(0.1, 3.0, 3.0),
        units=("ms", None, None),
    )
    assert bigimg.info(path).axes == ("t", "y", "x")
    assert _physical(path) == ((0.1, 3.0, 3.0), ("millisecond", None, None))
    pixels = _pixels(path)
    assert (pixels["TimeIncrement"], pixels["TimeIncrementUnit"]) == ("0.1", "ms")
    assert pixels["PhysicalSizeXUnit"] == "pixel"
    with tifffile.TiffFile(path) as tif:  # no length unit on y, x: no resolution written
        assert tif.pages[0].tags["ResolutionUnit"].value == tifffile.RESUNIT.NONE


def test_write_without_sizes_writes_none(tmp_path: Path) -> None:
    path = bigimg.save(DATA, tmp_path / "a.tif")
    assert _physical(path) == (None, None)
    with tifffile.TiffFile(path) as tif:
        assert not tif.is_ome and tif.series[0].axes == "ZYX"
        assert tif.pages[0].tags["ResolutionUnit"].value == tifffile.RESUNIT.NONE


def test_like_carries_sizes(tmp_path: Path) -> None:
    source = tmp_path / "ij.tif"
    metadata = {"spacing": 2.0, "unit": "micron", "axes": "ZYX"}
    tifffile.imwrite(source, DATA, imagej=True, resolution=(2.0, 2.0), metadata=metadata)
    out = bigimg.save(bigimg.open(source) + 1, tmp_path / "out.tif", like=source)
    assert _physical(out) == ((2.0, 0.5, 0.5), (UM, UM, UM))
    assert float(_pixels(out)["PhysicalSizeZ"]) == 2.0
    again = bigimg.save(DATA, tmp_path / "again.tif", like=bigimg.info(out), scale=(1, 1, 1))
    assert _physical(again) == ((1.0, 1.0, 1.0), (UM, UM, UM))


def test_dtypes_ome_cannot_describe(tmp_path: Path) -> None:
    data = DATA.astype("int64")
    path = bigimg.save(data, tmp_path / "a.tif", scale=(2.0, 0.5, 0.25), units=("nm", "um", "um"))
    assert _physical(path) == ((2.0, 0.5, 0.25), ("nanometer", UM, UM))
    with tifffile.TiffFile(path) as tif:
        assert not tif.is_ome and tif.shaped_metadata[0]["PhysicalSizeZUnit"] == "nm"
        assert tif.pages[0].tags["XResolution"].value == (40000, 1)
        np.testing.assert_array_equal(tif.asarray(), data)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"axes": ("y", "x", "z")}, "y, x planes"),
        ({"units": ("ms", "um", "um")}, "not a length"),
        ({"axes": ("t", "y", "x"), "units": "um"}, "not a time"),
        ({"scale": (1.0, 2.0)}, "one value per axis"),
    ],
)
def test_refuses_what_tiff_cannot_hold(tmp_path: Path, options: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        bigimg.save(DATA, tmp_path / "a.tif", **options)
    assert os.listdir(tmp_path) == []


# --- compression and tiles -----------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint16", "float32"])
def test_compressed_by_default(tmp_path: Path, dtype: str) -> None:
    image = natural((8, 128, 128), dtype=dtype).compute()
    path = bigimg.save(image, tmp_path / "a.tif")
    assert os.path.getsize(path) < image.nbytes
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        assert page.compression == tifffile.COMPRESSION.ADOBE_DEFLATE
        expected = tifffile.PREDICTOR.HORIZONTAL if dtype == "uint16" else tifffile.PREDICTOR.NONE
        assert page.predictor == expected
        np.testing.assert_array_equal(tif.asarray(), image)
    np.testing.assert_array_equal(bigimg.open(path).compute(), image)


@pytest.mark.parametrize("compression", [None, "none", "NONE"])
def test_uncompressed_on_request(tmp_path: Path, compression: str | None) -> None:
    path = bigimg.save(DATA, tmp_path / "a.tif", compression=compression)
    assert os.path.getsize(path) > DATA.nbytes
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].compression == tifffile.COMPRESSION.NONE
    np.testing.assert_array_equal(bigimg.open(path).compute(), DATA)


def test_small_image_gets_a_small_tile(tmp_path: Path) -> None:
    small = np.ones((3, 40, 20), "uint8")
    path = bigimg.save(small, tmp_path / "s.tif")
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        assert (page.tilelength, page.tilewidth) == (48, 32)
    assert bigimg.info(path).chunks == (1, 48, 32)
    wide = np.ones((20, 700), "uint8")  # only the short side shrinks
    path = bigimg.save(wide, tmp_path / "w.tif", tile=(64, 512))
    assert bigimg.info(path).chunks == (32, 512)
    np.testing.assert_array_equal(bigimg.open(path).compute(), wide)
