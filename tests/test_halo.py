"""The halo engine (bigimg._halo): exact halos for every chunking, depth and boundary mode."""

from __future__ import annotations

import dask
import dask.array as da
import dask.threaded
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given
from hypothesis import strategies as st

from bigimg import _halo
from bigimg._halo import Frame, map_halo
from bigimg._kernels import extend_indices, normalize_modes
from tests.guards import raise_if_dask_computes
from tests.reference import assert_same
from tests.strategies import MODES, chunked_arrays


def _pad_reference(x: np.ndarray, depth: _halo.Depth, mode: str, cval: float) -> np.ndarray:
    """The whole array extended by ``depth`` with the (separately checked) index rules."""
    out = x
    for axis, (before, after) in enumerate(depth):
        n = x.shape[axis]
        src = extend_indices(np.arange(-before, n + after), n, normalize_modes(mode, 1)[0])
        out = np.take(out, np.where(src < 0, 0, src), axis=axis)
        out[(slice(None),) * axis + (src < 0,)] = cval
    return out


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [1, 2, 5, 13])
def test_extend_indices_matches_scipy(mode: str, n: int) -> None:
    """For every position, the source index is the one scipy's filters read."""
    reach = 3 * n + 4
    rule = normalize_modes(mode, 1)[0]
    src = extend_indices(np.arange(-reach, n + reach), n, rule)
    # scipy's view of the same extension: shift a ramp by every offset
    ramp = np.arange(1, n + 1, dtype=float)
    for offset in range(-reach, reach + 1):
        weights = np.zeros(2 * reach + 1)
        weights[reach + offset] = 1.0
        seen = ndi.correlate1d(ramp, weights, mode=mode, cval=0.0)
        expected = np.array(
            [src[i + reach + offset] + 1 if src[i + reach + offset] >= 0 else 0 for i in range(n)],
            dtype=float,
        )
        np.testing.assert_array_equal(seen, expected, err_msg=f"{mode} n={n} offset={offset}")


@given(
    data=chunked_arrays(max_ndim=3),
    mode=st.sampled_from(MODES),
    cval=st.floats(-2, 2),
    depth_seed=st.integers(0, 2**16),
)
def test_gathered_halo_equals_whole_array_padding(
    data, mode: str, cval: float, depth_seed: int
) -> None:
    x, chunks = data
    rng = np.random.default_rng(depth_seed)
    depth = tuple(
        (int(rng.integers(0, 2 * s + 3)), int(rng.integers(0, 2 * s + 3))) for s in x.shape
    )
    rules = normalize_modes(mode, x.ndim)

    def check(block: np.ndarray, *, frame: Frame) -> np.ndarray:
        # the whole extended block must be exactly what padding the whole array gives
        starts = [p.start for p in frame.axes]
        ref = _pad_reference(x.astype(block.dtype), depth, mode, cval)
        window = tuple(
            slice(s + d[0], s + d[0] + n) for s, d, n in zip(starts, depth, block.shape)
        )
        np.testing.assert_array_equal(block, ref[window])
        return block

    out = map_halo(
        check,
        da.from_array(x, chunks=chunks),
        depth=depth,
        boundary=rules,
        cval=cval,
        dtype=x.dtype,
    )
    np.testing.assert_array_equal(out.compute(scheduler="sync"), x)


@given(
    data=chunked_arrays(max_ndim=3, dtypes=("float32", "float64", "uint8", "int16")),
    mode=st.sampled_from(MODES),
    sigma=st.floats(0.3, 4),
    cval=st.sampled_from([0.0, 0.3, 7.0]),
)
def test_multi_pass_refill_matches_scipy_separable(
    data, mode: str, sigma: float, cval: float
) -> None:
    """Separable passes with frame.refill are bit-identical to scipy's gaussian_filter."""
    x, chunks = data

    def passes(block: np.ndarray, *, frame: Frame) -> np.ndarray:
        out = block
        for ax in range(block.ndim):
            out = ndi.gaussian_filter1d(
                frame.refill(out) if ax else out,
                sigma,
                axis=ax,
                mode=mode,
                cval=cval,
                output=x.dtype,
            )
        return out

    r = int(4 * sigma + 0.5)
    out = map_halo(
        passes,
        da.from_array(x, chunks=chunks),
        depth=_halo.radius([r] * x.ndim),
        boundary=normalize_modes(mode, x.ndim),
        cval=cval,
        dtype=x.dtype,
    )
    np.testing.assert_array_equal(
        out.compute(scheduler="sync"), ndi.gaussian_filter(x, sigma, mode=mode, cval=cval)
    )


def test_graph_is_one_task_per_chunk_and_lazy() -> None:
    x = da.zeros((4000, 3000), chunks=(100, 300))
    with raise_if_dask_computes():
        y = map_halo(
            lambda b, frame: b,
            x,
            depth=((5, 7), (300, 0)),
            boundary=("wrap", "reflect"),
            dtype=x.dtype,
        )
    own = y.dask.layers[y.name]
    assert len(own) == x.npartitions
    # each block contributes one edges task (the rows / columns its neighbours
    # reach, at most 3 x 2 - 1 parts here), and the parts are small
    edges = [name for name in y.dask.layers if name.startswith("halo-edges")]
    assert len(edges) == 1
    edge_tasks = y.dask.layers[edges[0]]
    assert len(edge_tasks) <= x.npartitions
    assert y.dask.dependencies[y.name] == {x.name, edges[0]}
    moved = dask.threaded.get(dict(y.dask), list(edge_tasks))
    assert all(len(parts) <= 5 for parts in moved)
    assert sum(p.size for parts in moved for p in parts.values()) < 0.25 * x.size


def test_building_a_halo_chain_holds_no_task_per_chunk() -> None:
    """Before: map_halo built every chunk's task and its edges tasks when
    called, about 2 kB of client memory per chunk (128 MiB at 2**16 chunks)."""
    import tracemalloc

    import bigimg.ndimage as bnd

    def chain(x: da.Array) -> da.Array:
        return bnd.median_filter(bnd.sobel(bnd.gaussian_filter(x, 2.0, mode="wrap")), 3)

    chain(da.zeros((64, 64), dtype=np.float32, chunks=16))  # imports, compiled kernels
    x = da.zeros((4096, 4096), dtype=np.float32, chunks=16)  # 2**16 chunks
    tracemalloc.start()
    try:
        with raise_if_dask_computes():
            y = chain(x)
            labels = (y > 0).astype(np.uint8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB to build a graph of {x.npartitions} chunks"
    halo = [layer for name, layer in y.dask.layers.items() if name.startswith(("gauss", "med"))]
    assert halo and not any(layer.is_materialized() for layer in halo)
    # the tasks are still there when asked for, and right
    window = [(labels.name, 0, 0), (labels.name, 255, 255)]
    got = dask.threaded.get(labels.dask.cull(set(window)).to_dict(), window)
    assert all((g == 0).all() and g.shape == (16, 16) for g in got)


def test_kernel_depth_is_asymmetric_for_even_sizes_and_origins() -> None:
    assert _halo.kernel([3], [0]) == ((1, 1),)
    assert _halo.kernel([4], [0]) == ((2, 1),)
    assert _halo.kernel([5], [-2]) == ((0, 4),)
    assert _halo.kernel([5], [2]) == ((4, 0),)
    with pytest.raises(ValueError, match="origin=3"):
        _halo.kernel([5], [3])
    assert _halo.add(((1, 2),), ((3, 0),)) == ((4, 2),)


def test_mode_validation() -> None:
    with pytest.raises(ValueError, match="mode='bogus'"):
        normalize_modes("bogus", 2)
    with pytest.raises(ValueError, match="sequence of 2"):
        normalize_modes(["reflect"], 2)
    assert normalize_modes(("grid-wrap", "grid-constant"), 2) == ("wrap", "constant")


def test_map_halo_rejects_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="one shape and chunking"):
        map_halo(
            lambda a, b, frame: a,
            da.zeros(10, chunks=5),
            da.zeros(10, chunks=3),
            depth=((1, 1),),
            boundary=("reflect",),
            dtype=float,
        )


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("chunks", [(4, 5, 6), (3, 7, 4), (9, 4, 5)])
@pytest.mark.parametrize("source", ["stored", "computed"])
def test_3d_edges_split_in_three_give_the_same_result(
    monkeypatch: pytest.MonkeyPatch, split: bool, chunks: tuple[int, ...], source: str
) -> None:
    import bigimg.ndimage as bnd
    from bigimg._halo import edges as edge_module

    # FRONT_BYTES 0: every 3-D halo splits its blocks' edges in three (by the
    # first axis); huge: never. Stored blocks are read again in each edges task.
    monkeypatch.setattr(edge_module, "FRONT_BYTES", 0 if split else 2**62)
    image = np.random.default_rng(7).random((11, 13, 12)).astype(np.float32)
    x = da.from_array(image, chunks=chunks)
    if source == "stored":  # a chunk task that depends on nothing
        x = da.map_blocks(lambda b: b, da.from_array(image, chunks=chunks, inline_array=True))
    y = bnd.gaussian_filter(x, 0.5, mode="mirror")  # radius 2: parts of neighbours
    edges = [n for n in y.dask.layers if n.startswith("halo-edges")]
    groups = {key[-1] for n in edges for key in y.dask.layers[n]}
    assert groups == ({0, 1, 2} if split else {0})
    assert_same(y.compute(scheduler="sync"), ndi.gaussian_filter(image, 0.5, mode="mirror"))
