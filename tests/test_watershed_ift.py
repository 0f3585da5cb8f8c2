"""watershed_ift across chunks: scipy's labels where scipy's queue order does
not decide them, bigimg's tie rule (see the docstring) everywhere, for every
chunking.

Two oracles on the whole array, both on scipy's flat topology (neighbours at
the flat strides of the structure, kept when the flat index is in range):
:func:`lowest_costs` (per label, the lowest over paths of the highest
``|difference|``: where one label alone reaches a pixel at its lowest cost,
scipy's label is that label) and :func:`tie_rule` (bigimg's documented rule,
by Kruskal over the whole array's keyed edges).
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

from bigimg.ndimage import watershed_ift
from tests.reference import assert_same
from tests.strategies import chunkings


def flat_edges(shape: tuple[int, ...], structure: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every edge ``p < q`` once, and its forward stride's index ``k``; and K."""
    strides = np.cumprod((1, *shape[::-1][:-1]))[::-1]
    steps = np.argwhere(structure) - 1
    flat = steps @ strides
    fwd = np.unique(flat[flat > 0])
    size = int(np.prod(shape))
    p = np.arange(size)
    a, b, k = [], [], []
    for j, s in enumerate(fwd):
        ok = p + s < size
        a.append(p[ok]), b.append(p[ok] + s), k.append(np.full(int(ok.sum()), j))  # type: ignore[func-returns-value]
    cat = (
        (lambda x: np.concatenate(x).astype(np.int64))
        if len(fwd)
        else (lambda x: np.zeros(0, np.int64))
    )
    return cat(a), cat(b), cat(k), len(fwd)


def lowest_costs(
    image: np.ndarray, markers: np.ndarray, structure: np.ndarray
) -> dict[int, np.ndarray]:
    """Per label, every pixel's lowest path cost (inf: not reached)."""
    a, b, _, _ = flat_edges(image.shape, structure)
    v = image.ravel().astype(np.int64)
    w = np.abs(v[a] - v[b]).astype(float)
    out = {}
    for label in np.unique(markers[markers != 0]):
        cost = np.where(markers.ravel() == label, 0.0, np.inf)
        while True:
            new = cost.copy()
            np.minimum.at(new, b, np.maximum(cost[a], w))
            np.minimum.at(new, a, np.maximum(cost[b], w))
            if (new == cost).all():
                break
            cost = new
        out[int(label)] = cost.reshape(image.shape)
    return out


def tie_rule(image: np.ndarray, markers: np.ndarray, structure: np.ndarray) -> np.ndarray:
    """bigimg's rule: Kruskal over keyed edges, root edges first; a part takes
    the label of the end already joined to the root when it joins."""
    a, b, k, n_fwd = flat_edges(image.shape, structure)
    v = image.ravel().astype(np.int64)
    size = v.size
    m = markers.ravel()
    marks = np.flatnonzero(m)
    ea = np.concatenate([marks, a])
    eb = np.concatenate([np.full(len(marks), size), b])
    kv = np.concatenate([np.full(len(marks), -1), np.abs(v[a] - v[b])])
    ki = np.concatenate([marks * (n_fwd + 1) + n_fwd, a * (n_fwd + 1) + k])
    parent = list(range(size + 1))
    members: list[list[int]] = [[i] for i in range(size + 1)]
    label = np.zeros(size + 1, np.int64)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for e in np.lexsort((ki, kv)):
        x, y = int(ea[e]), int(eb[e])
        rx, ry = find(x), find(y)
        if rx == ry:
            continue
        if ry == find(size):
            x, y, rx, ry = y, x, ry, rx
        if rx == find(size):  # y's part joins the root through x
            given_label = m[y] if eb[e] == size else label[x]
            for c in members[ry]:
                label[c] = given_label
        parent[ry] = rx
        members[rx] += members[ry]
    return label[:size].reshape(image.shape).astype(markers.dtype)


def ours(image: np.ndarray, markers: np.ndarray, chunks: Any, structure: Any = None) -> np.ndarray:
    x = da.from_array(image, chunks=chunks)
    got = watershed_ift(x, da.from_array(markers, chunks=x.chunks), structure)
    assert got.chunks == x.chunks
    return got.compute(scheduler="sync")


@st.composite
def cases(draw: Any) -> dict[str, Any]:
    ndim = draw(st.integers(1, 3))
    side = 12 if ndim < 3 else 6
    shape = tuple(draw(st.lists(st.integers(1, side), min_size=ndim, max_size=ndim)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from([np.uint8, np.uint16]))
    kind = draw(st.sampled_from(["any", "few", "plateaus"]))
    top = {"any": int(np.iinfo(dtype).max) + 1, "few": 3, "plateaus": 2}[kind]
    image = rng.integers(0, top, shape).astype(dtype)
    if kind == "plateaus":
        image = ((ndi.uniform_filter(image * 100.0, 3) > 50) * rng.integers(1, 255)).astype(dtype)
    markers = np.zeros(shape, draw(st.sampled_from([np.int8, np.int16, np.int32, np.int64])))
    for _ in range(draw(st.integers(0, 6))):
        markers[tuple(rng.integers(0, n) for n in shape)] = draw(st.integers(-3, 5))
    half = rng.random((3,) * ndim) < draw(st.sampled_from([0.3, 0.6, 1.0]))
    structure = half | half[(slice(None, None, -1),) * ndim]
    if draw(st.booleans()):
        structure = ndi.generate_binary_structure(ndim, draw(st.integers(1, ndim)))
    return {"image": image, "markers": markers, "structure": structure,
            "chunks": draw(chunkings(shape))}  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(cases())
def test_scipy_where_one_label_is_lowest_and_the_tie_rule_everywhere(case: dict[str, Any]) -> None:
    image, markers, structure = case["image"], case["markers"], case["structure"]
    got = ours(image, markers, case["chunks"], structure)
    rule = tie_rule(image, markers, structure)
    assert_same(got, rule)  # the documented rule, so the same for every chunking
    assert_same(ours(image, markers, -1, structure), rule)
    expected = ndi.watershed_ift(image, markers, structure)
    costs = lowest_costs(image, markers, structure)
    if costs:
        stack = np.stack(list(costs.values()))
        best = stack.min(axis=0)
        alone = ((stack == best).sum(axis=0) == 1) & np.isfinite(best)
        winner = np.array(list(costs))[stack.argmin(axis=0)]
        assert (got[alone] == winner[alone]).all()  # the one label reaching it lowest
        # scipy agrees there, but where its bucket queue loses an update (see
        # test_scipy_misses_a_lower_cost): then scipy's label is not a lowest one
        differ = alone & (expected != got)
        for i in zip(*np.nonzero(differ)):
            label = int(expected[i])
            assert label == 0 or costs[label][i] > best[i], (i, label)
        assert (got[np.isinf(best)] == 0).all()
    else:
        assert_same(got, expected)


def test_scipy_misses_a_lower_cost() -> None:
    """scipy's queue does not unlink a pixel alone in its cost bucket when it
    lowers its cost, and can then lose that update: here scipy gives (3, 7)
    the label -1, though label 1 reaches it at cost 85 and -1 at 95 only.
    bigimg gives the lowest cost's label."""
    image = np.array(
        [[243, 118, 23, 112, 85, 143, 181, 67], [49, 28, 195, 3, 76, 124, 10, 10],
         [237, 232, 250, 80, 22, 229, 60, 240], [94, 20, 48, 170, 251, 35, 138, 53],
         [162, 93, 144, 189, 221, 160, 60, 238], [18, 50, 93, 21, 150, 23, 61, 0]], np.uint8
    )  # fmt: skip
    markers = np.zeros(image.shape, np.int8)
    markers[0, 3], markers[4, 1], markers[4, 6] = 1, -1, 1
    structure = ndi.generate_binary_structure(2, 1)
    costs = lowest_costs(image, markers, structure)
    assert costs[1][3, 7] == 85 and costs[-1][3, 7] == 95
    expected = ndi.watershed_ift(image, markers, structure)
    assert expected[3, 7] == -1
    for chunks in [(6, 8), (2, 3), (1, 1)]:
        got = ours(image, markers, chunks, structure)
        assert got[3, 7] == 1
        assert_same(got, tie_rule(image, markers, structure))
        others = np.ones(image.shape, bool)
        others[3, 7] = False
        assert (got[others] == expected[others]).all()


def test_flat_topology_wraps_rows() -> None:
    """The end of a row neighbours the start of the next, as in scipy."""
    image = np.array([[200, 200, 0], [0, 200, 200]], np.uint8)
    markers = np.zeros((2, 3), np.int32)
    markers[0, 2], markers[1, 1] = 1, 2
    expected = ndi.watershed_ift(image, markers)
    assert expected[1, 0] == 1  # reached through the wrap only
    for chunks in [(1, 1), (2, 3), (1, 3), (2, 2)]:
        assert_same(ours(image, markers, chunks), expected)


def test_tie_rule_on_a_flat_line() -> None:
    """All costs 0: each pixel goes to the earlier edges, so to marker 1."""
    image = np.zeros(6, np.uint8)
    markers = np.array([1, 0, 0, 0, 0, -2], np.int16)
    for chunks in [1, 2, 6]:
        assert_same(ours(image, markers, chunks), np.array([1, 1, 1, 1, 1, -2], np.int16))


def test_larger_3d_follows_the_rule() -> None:
    rng = np.random.default_rng(2)
    image = (ndi.gaussian_filter(rng.standard_normal((20, 18, 16)), 2) * 3000 + 30000).astype(
        np.uint16
    )
    markers = np.zeros(image.shape, np.int32)
    for k in range(1, 9):
        markers[tuple(rng.integers(0, n) for n in image.shape)] = k if k % 3 else -k
    structure = ndi.generate_binary_structure(3, 3)
    rule = tie_rule(image, markers, structure)
    for chunks in [(7, 5, 16), (20, 18, 3)]:
        assert_same(ours(image, markers, chunks, structure), rule)


def test_numpy_inputs_dtypes_output_and_empty() -> None:
    image = np.array([0, 10, 3, 0], np.uint8)
    markers = np.array([1, 0, 0, 2], np.int16)
    got = watershed_ift(image, markers, output=np.int64).compute()
    assert_same(got, ndi.watershed_ift(image, markers, output=np.int64))
    empty = (np.zeros((0, 3), np.uint8), np.zeros((0, 3), np.int32))
    assert_same(watershed_ift(*empty).compute(), ndi.watershed_ift(*empty))
    assert_same(watershed_ift(np.uint8(3), np.int32(4)).compute(), np.asarray(np.int32(4)))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"input": np.zeros((4, 4), np.float32)}, TypeError, "unsigned"),
        ({"input": np.zeros((4, 4), np.int8)}, TypeError, "unsigned"),
        ({"markers": np.zeros((4, 4), np.uint8)}, RuntimeError, "integer"),
        ({"markers": np.zeros((4, 4), bool)}, RuntimeError, "integer"),
        ({"markers": np.zeros((4, 3), np.int32)}, RuntimeError, "equal shape"),
        ({"structure": np.ones((3, 3, 3))}, RuntimeError, "rank"),
        ({"structure": np.ones((5, 5))}, RuntimeError, "equal to 3"),
        ({"structure": [[0, 0, 0], [0, 1, 1], [0, 0, 0]]}, NotImplementedError, "symmetric"),
        ({"output": np.zeros((4, 4), np.int32)}, TypeError, "output"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_before_work(kwargs: dict, error: type, match: str) -> None:
    from tests.guards import raise_if_dask_computes

    args = {"input": np.zeros((4, 4), np.uint8), "markers": np.zeros((4, 4), np.int32), **kwargs}
    args = {k: da.from_array(v, chunks=2) if k in ("input", "markers") else v
            for k, v in args.items()}  # fmt: skip
    with raise_if_dask_computes(), pytest.raises(error, match=match):
        watershed_ift(**args)
