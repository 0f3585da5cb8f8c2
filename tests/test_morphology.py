"""Binary and grey morphology equal scipy.ndimage on the whole array, for every chunking."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bigimg import ndimage as bnd
from bigimg._halo import fused
from bigimg.ndimage import binary_windows
from tests.guards import raise_if_dask_computes
from tests.reference import check_against
from tests.strategies import MODES, chunked_arrays

BINARY_INPUTS = ("bool", "uint8", "float64")
GREY_INPUTS = ("float64", "uint8", "int16")


def check(name: str, x: np.ndarray, chunks: Any, *args: Any, lazy: bool = True, **kw: Any) -> None:
    """bnd.<name> on a chunked dask array == ndi.<name> on numpy (dtype included);
    where scipy refuses the arguments, bigimg refuses them at call time."""
    arrays = {k: kw.pop(k) for k in list(kw) if k == "mask" and kw[k] is not None}
    reference, ours = getattr(ndi, name), getattr(bnd, name)
    check_against(reference, ours, x, chunks, *args, lazy=lazy, arrays=arrays, **kw)


# --- strategies ---------------------------------------------------------------------------------


@st.composite
def structures(draw: Any, ndim: int) -> np.ndarray:
    """scipy's connectivities, iterated ones, random symmetric and asymmetric shapes."""
    kind = draw(st.sampled_from(["connectivity", "iterated", "symmetric", "any"]))
    if kind in ("connectivity", "iterated"):
        s = ndi.generate_binary_structure(ndim, draw(st.integers(1, ndim)))
        return ndi.iterate_structure(s, 2) if kind == "iterated" else s
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if kind == "symmetric":
        s = rng.random((3,) * ndim) > 0.5
        return s | s[(slice(None, None, -1),) * ndim]
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
    return rng.random(shape) > 0.4


def origins(draw: Any, shape: tuple[int, ...]) -> Any:
    if draw(st.booleans()):
        return 0
    return tuple(draw(st.integers(-(n // 2), (n - 1) // 2)) for n in shape)


def masks(draw: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """None, booleans, or int16 / float masks scipy reads as given in its first
    iteration and cast to int8 after it (256 and 0.5 become 0)."""
    kind = draw(st.sampled_from(["none", "bool", "bool", "int16", "float"]))
    if kind == "none":
        return None
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = {"bool": [False, True], "int16": [0, 1, 256], "float": [0.0, 1.0, 0.5]}[kind]
    return rng.choice(np.array(values), size=shape, p=None)


def avoid_scipy_heap_bug(x: np.ndarray, structure: Any, iterations: int) -> None:
    """scipy's iterated erosion (``iterations != 1``, the structure's centre set)
    writes out of bounds when an axis of the array is shorter than the structure
    (heap corruption, then crashes): the reference, scipy itself, must not run
    it. bigimg computes these cases safely (``run_binary``)."""
    shape = (3,) * x.ndim if structure is None else np.shape(structure)
    if iterations != 1:
        assume(all(n >= s for n, s in zip(x.shape, shape)))


# --- binary morphology ------------------------------------------------------------------------


@given(data=chunked_arrays(dtypes=BINARY_INPUTS), params=st.data())
def test_erosion_dilation_opening_closing(data: Any, params: Any) -> None:
    x, chunks = data
    s = params.draw(structures(x.ndim))
    origin = origins(params.draw, s.shape)
    iterations = params.draw(st.integers(1, 4))
    avoid_scipy_heap_bug(x, s, iterations)
    kw = dict(
        structure=s,
        iterations=iterations,
        mask=masks(params.draw, x.shape),
        border_value=params.draw(st.integers(0, 1)),
        origin=origin,
        brute_force=params.draw(st.booleans()),
    )
    for name in ("binary_erosion", "binary_dilation", "binary_opening", "binary_closing"):
        check(name, x, chunks, **kw)


@given(data=chunked_arrays(max_side=8, dtypes=("bool",)), params=st.data())
def test_until_nothing_changes(data: Any, params: Any) -> None:
    """iterations < 1: connected components, or bounded rounds for other structures."""
    x, chunks = data
    s = params.draw(structures(x.ndim))
    origin = origins(params.draw, s.shape)
    centre = tuple(n // 2 + o for n, o in zip(s.shape, np.broadcast_to(origin, (x.ndim,))))
    assume(s[centre])  # without its centre, scipy may oscillate for ever
    iterations = params.draw(st.integers(-1, 0))
    avoid_scipy_heap_bug(x, s, iterations)
    kw = dict(
        structure=s,
        iterations=iterations,
        mask=masks(params.draw, x.shape),
        border_value=params.draw(st.integers(0, 1)),
        origin=origin,
        brute_force=params.draw(st.booleans()),
    )
    name = params.draw(st.sampled_from(["binary_erosion", "binary_dilation"]))
    check(name, x, chunks, lazy=False, **kw)


@given(data=chunked_arrays(max_side=10, dtypes=("bool",)), params=st.data())
def test_propagation_and_fill_holes(data: Any, params: Any) -> None:
    x, chunks = data
    rng = np.random.default_rng(params.draw(st.integers(0, 2**32 - 1)))
    kind = params.draw(st.sampled_from(["default", "connectivity", "shifted"]))
    s, origin = None, 0
    if kind != "default":
        s = ndi.generate_binary_structure(x.ndim, params.draw(st.integers(1, x.ndim)))
    if kind == "shifted":
        origin = origins(params.draw, s.shape)
    avoid_scipy_heap_bug(x, s, -1)
    mask = rng.random(x.shape) > params.draw(st.sampled_from([0.2, 0.5]))
    border = params.draw(st.integers(0, 1))
    check(
        "binary_propagation",
        x,
        chunks,
        s,
        mask=mask,
        border_value=border,
        origin=origin,
        lazy=False,
    )
    check("binary_fill_holes", x, chunks, s, origin=origin, lazy=False)


@given(data=chunked_arrays(dtypes=BINARY_INPUTS), params=st.data())
def test_hit_or_miss(data: Any, params: Any) -> None:
    x, chunks = data
    s1 = params.draw(structures(x.ndim))
    s2 = None if params.draw(st.booleans()) else params.draw(structures(x.ndim))
    o1 = origins(params.draw, s1.shape)
    o2 = None if s2 is None or params.draw(st.booleans()) else origins(params.draw, s2.shape)
    if s2 is not None and o2 is None:  # scipy does not check origin1 against structure2
        o = np.broadcast_to(o1, (x.ndim,))
        assume(all(-(n // 2) <= v <= (n - 1) // 2 for v, n in zip(o, s2.shape)))
    check("binary_hit_or_miss", x, chunks, s1, s2, origin1=o1, origin2=o2)


def test_until_nothing_changes_without_centre() -> None:
    """Structures without their centre take the bounded rounds (scipy's loop)."""
    hollow = np.array([1, 0, 1], bool)
    x = np.zeros(11, bool)
    check("binary_erosion", x, 3, hollow, iterations=-1, lazy=False)
    check("binary_dilation", ~x, 2, hollow, iterations=0, border_value=1, lazy=False)
    y = np.zeros((9, 8), bool)
    y[2:7, 1:6] = True
    cross = ndi.generate_binary_structure(2, 1)
    check("binary_erosion", y, (2, 3), cross, iterations=-1, origin=(1, 0), lazy=False)
    check("binary_dilation", y, 4, np.ones((5, 5)), iterations=-1, mask=~y | True, lazy=False)


def test_arrays_smaller_than_the_structure() -> None:
    """Where scipy's own iterated path is not memory-safe, bigimg computes scipy's
    definition (reference: scipy's brute-force loop, safe and equal without a mask)."""
    rng = np.random.default_rng(5)
    for shape in [(2, 5), (1, 1), (4, 2, 3), (2,)]:
        x = rng.random(shape) > 0.4
        s = np.ones((3,) * len(shape), bool)
        for name in ("binary_erosion", "binary_dilation"):
            for iterations in (3, -1):
                kw = dict(structure=s, iterations=iterations, border_value=1)
                expected = getattr(ndi, name)(x, brute_force=True, **kw)
                got = getattr(bnd, name)(da.from_array(x, chunks=1), **kw).compute()
                np.testing.assert_array_equal(got, expected, strict=True)
        holes = ~ndi.binary_dilation(np.zeros_like(x), s, -1, ~x, None, 1, brute_force=True)
        got = bnd.binary_fill_holes(da.from_array(x, chunks=2), s).compute()
        np.testing.assert_array_equal(got, holes, strict=True)


def test_fill_holes_of_objects_across_chunks() -> None:
    rng = np.random.default_rng(3)
    x = ndi.binary_dilation(rng.random((60, 70)) > 0.97, iterations=3)
    x[10:40, 20:50] = True
    x[15:35, 25:45] = False  # a large hole spanning chunks
    x[25, 30:40] = True
    for chunks in [(7, 9), (60, 1), (1, 70), (13, 70)]:
        check("binary_fill_holes", x, chunks, lazy=False)
        check("binary_fill_holes", x, chunks, np.ones((3, 3)), lazy=False)


def test_eager_phase_only_at_call_time() -> None:
    """The result of an until-stable operation is lazy once returned."""
    x = np.zeros((30, 30), bool)
    x[5:25, 5:25] = True
    x[10:20, 10:20] = False
    y = bnd.binary_fill_holes(da.from_array(x, chunks=7))
    with raise_if_dask_computes(), pytest.raises(AssertionError):
        y.compute()


# --- grey morphology --------------------------------------------------------------------------

GREY = (
    "grey_erosion",
    "grey_dilation",
    "grey_opening",
    "grey_closing",
    "white_tophat",
    "black_tophat",
    "morphological_gradient",
    "morphological_laplace",
)


@given(data=chunked_arrays(dtypes=GREY_INPUTS), params=st.data())
def test_grey_morphology(data: Any, params: Any) -> None:
    x, chunks = data
    shape = tuple(params.draw(st.lists(st.integers(1, 4), min_size=x.ndim, max_size=x.ndim)))
    rng = np.random.default_rng(params.draw(st.integers(0, 2**32 - 1)))
    window = params.draw(st.sampled_from(["size", "footprint", "structure", "both"]))
    kw: dict[str, Any] = {}
    if window == "size":
        kw["size"] = shape
    if window in ("footprint", "both"):
        fp = rng.random(shape) > 0.4
        assume(fp.any())
        kw["footprint"] = fp
    if window in ("structure", "both"):
        kw["structure"] = rng.integers(-2, 3, shape)
    if params.draw(st.booleans()):
        kw["mode"] = params.draw(st.sampled_from(MODES))
        kw["cval"] = params.draw(st.sampled_from([0.0, 3.0, -1.5]))
    kw["origin"] = origins(params.draw, shape)
    for name in GREY:
        check(name, x, chunks, **kw)


def test_grey_output_dtype_and_axes() -> None:
    x = np.random.default_rng(0).integers(0, 200, (12, 9, 7)).astype(np.uint8)
    for name in GREY:
        check(name, x, (5, 4, 3), size=(3, 2), axes=(0, 2), output=np.float32)
        check(name, x, (5, 4, 3), footprint=np.eye(3), axes=(2, 1), mode="wrap")
    check("binary_erosion", x > 100, (5, 4, 3), np.ones((3, 3)), axes=(0, 1), origin=(1, 0))
    s = np.array([[1, 1], [0, 1], [1, 1]], bool)  # placed on the axes in increasing order
    for name in ("binary_erosion", "binary_dilation", "binary_opening", "binary_closing"):
        check(name, x > 100, (5, 4, 3), s, 2, axes=(2, 0), origin=(-1, 0))
    check("binary_dilation", x > 150, (5, 4, 3), np.ones((3, 3)), -1, axes=(2, 0), lazy=False)
    check("binary_fill_holes", x > 60, (5, 4, 3), axes=(1, 2), lazy=False)


# --- fused, laziness, bad input -----------------------------------------------------------------


def test_inside_fused() -> None:
    x = np.random.default_rng(0).random((40, 30)) > 0.4
    m = np.random.default_rng(1).random((40, 30)) > 0.2
    s = ndi.generate_binary_structure(2, 2)

    def clean(image: Any, mask: Any) -> Any:
        opened = bnd.binary_opening(image, s, iterations=2)
        grown = bnd.binary_dilation(opened, mask=mask, iterations=3)
        return bnd.morphological_gradient(grown.astype(np.uint8), size=3)

    with raise_if_dask_computes():
        lazy = fused(clean)(da.from_array(x, chunks=7), da.from_array(m, chunks=7))
    opened = ndi.binary_opening(x, s, iterations=2)
    expected = ndi.morphological_gradient(
        ndi.binary_dilation(opened, mask=m, iterations=3).astype(np.uint8), size=3
    )
    np.testing.assert_array_equal(lazy.compute(), expected, strict=True)


def test_one_overlap_pass_for_many_iterations() -> None:
    x = da.zeros((400, 300), chunks=(100, 100), dtype=bool)
    with raise_if_dask_computes():
        y = bnd.binary_opening(x, iterations=40)
    assert len(y.dask.layers[y.name]) == x.npartitions
    assert len(y.dask) <= 2 * 9 * x.npartitions + x.npartitions


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: bnd.binary_erosion(x, np.ones((3, 3, 3))), "structure has 3 dimensions"),
        (lambda x: bnd.binary_erosion(x, [[0, 2, 0]]), "binary"),
        (lambda x: bnd.binary_dilation(x, np.ones((0, 3))), "empty"),
        (lambda x: bnd.binary_erosion(x, iterations=1.5), "iterations"),
        (lambda x: bnd.binary_opening(x, mask=np.ones((4, 4))), "mask has shape"),
        (lambda x: bnd.binary_dilation(x, origin=2), "origin"),
        (lambda x: bnd.binary_hit_or_miss(x, np.ones((3, 3)), origin2=(0, 5)), "origin2"),
        (lambda x: bnd.binary_propagation(x, np.ones((3,))), "structure has 1"),
        (lambda x: bnd.binary_fill_holes(x, np.ones((3, 3, 3))), "structure has 3"),
        (lambda x: bnd.grey_erosion(x), "size, footprint, or structure"),
        (lambda x: bnd.grey_dilation(x, footprint=np.ones((3, 3, 3))), "footprint has 3"),
        (lambda x: bnd.grey_opening(x, size=3, mode="bogus"), "mode"),
        (lambda x: bnd.grey_closing(x, size=3, output=np.empty((40, 40))), "output="),
    ],
)
def test_bad_input_fails_at_call_time(call: Any, message: str) -> None:
    x = da.zeros((40, 40), chunks=10, dtype=bool)
    with raise_if_dask_computes(), pytest.raises((ValueError, TypeError), match=message):
        call(x)


def test_structuring_elements_are_scipys() -> None:
    assert bnd.generate_binary_structure is ndi.generate_binary_structure
    assert bnd.iterate_structure is ndi.iterate_structure


# --- scipy-lectures 2.6.4.4, mathematical morphology --------------------------------------------


def test_tutorial_erosion_and_dilation() -> None:
    el = bnd.generate_binary_structure(2, 1)
    assert el.astype(int).tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    a = np.zeros((7, 7), dtype=int)
    a[1:6, 2:5] = 1
    check("binary_erosion", a, 3)
    check("binary_erosion", a, 2, structure=np.ones((5, 5)))  # removes the small object
    b = np.zeros((5, 5))
    b[2, 2] = 1
    check("binary_dilation", b, 2)


def test_tutorial_grey_dilation() -> None:
    im = np.zeros((64, 64))
    rng = np.random.default_rng(1)
    x, y = (63 * rng.random((2, 8))).astype(int)
    im[x, y] = np.arange(8)
    check("grey_dilation", im, 20, size=(5, 5), structure=np.ones((5, 5)))
    check("grey_dilation", im, 20, footprint=np.ones((3, 3)))
    square = np.zeros((16, 16))
    square[4:-4, 4:-4] = 1
    dist = ndi.distance_transform_bf(square)
    check("grey_dilation", dist, 5, size=(3, 3), structure=np.ones((3, 3)))


def test_tutorial_opening_reconstruction_closing() -> None:
    a = np.zeros((5, 5), dtype=int)
    a[1:4, 1:4] = 1
    a[4, 4] = 1
    check("binary_opening", a, 2, structure=np.ones((3, 3)))
    check("binary_opening", a, 2)
    square = np.zeros((32, 32))
    square[10:-10, 10:-10] = 1
    rng = np.random.default_rng(2)
    x, y = (32 * rng.random((2, 20))).astype(int)
    square[x, y] = 1
    chunks = (9, 12)
    check("binary_opening", square, chunks)
    eroded = ndi.binary_erosion(square)
    lazy_eroded = bnd.binary_erosion(da.from_array(square, chunks=chunks))
    reconstruction = bnd.binary_propagation(lazy_eroded, mask=da.from_array(square, chunks=chunks))
    np.testing.assert_array_equal(
        reconstruction.compute(), ndi.binary_propagation(eroded, mask=square), strict=True
    )
    check("binary_closing", square, chunks)


def test_segmentation_clean_up() -> None:
    rng = np.random.default_rng(0)
    n, side = 10, 256
    im = np.zeros((side, side))
    points = (side * rng.random((2, n**2))).astype(int)
    im[points[0], points[1]] = 1
    im = ndi.gaussian_filter(im, sigma=side / (4.0 * n))
    mask = (im > im.mean()).astype(float) + 0.1 * im
    binary = mask + 0.2 * rng.standard_normal(mask.shape) > 0.5
    lazy = da.from_array(binary, chunks=(70, 90))
    with raise_if_dask_computes():
        cleaned = bnd.binary_closing(bnd.binary_opening(lazy))
    expected = ndi.binary_closing(ndi.binary_opening(binary))
    np.testing.assert_array_equal(cleaned.compute(), expected, strict=True)
    with raise_if_dask_computes():
        one_pass = fused(lambda b: bnd.binary_closing(bnd.binary_opening(b)))(lazy)
    np.testing.assert_array_equal(one_pass.compute(), expected, strict=True)


@given(data=st.data())
def test_whole_array_logic_equals_scipy(data: Any) -> None:
    """The block kernel of unmasked binary erosion and dilation (shifted AND / OR,
    product windows axis by axis) against scipy on one array: any structure,
    boxes included, any origin, border value, iteration count and axes."""
    ndim = data.draw(st.integers(1, 3))
    x = data.draw(hnp.arrays(bool, hnp.array_shapes(min_dims=ndim, max_dims=ndim, max_side=9)))
    axes = tuple(sorted(data.draw(st.sets(st.integers(0, ndim - 1), min_size=1))))
    sshape = data.draw(hnp.array_shapes(min_dims=len(axes), max_dims=len(axes), max_side=4))
    box = data.draw(st.booleans())
    structure = np.ones(sshape, bool) if box else data.draw(hnp.arrays(bool, sshape))
    origin = tuple(data.draw(st.integers(-(n // 2), (n - 1) // 2)) for n in sshape)
    iterations = data.draw(st.integers(1, 4))
    border = data.draw(st.integers(0, 1))
    for func in (ndi.binary_erosion, ndi.binary_dilation):
        kwargs = dict(structure=structure, border_value=border, origin=origin, axes=axes)
        expected = func(x, iterations=iterations, brute_force=True, **kwargs)
        got = binary_windows.iterated(func is ndi.binary_dilation, x, iterations, **kwargs)
        np.testing.assert_array_equal(got, expected)
