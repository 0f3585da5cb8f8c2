"""Checking and planning a job cost the same whatever the image size (issue 20).

A job is checked by building each step on probes, placeholders of at most 3
chunks per axis (``bigimg.pipeline.checks``); the real grid of every value is
derived from its inputs'. These tests hold the derived grids to the ones the
real functions give on placeholders of the real size, and the cost of
checking to one that does not follow the chunk count.
"""

from __future__ import annotations

import textwrap
import tracemalloc
from pathlib import Path

import dask
import dask.array as da
import pytest

from bigimg import pipeline
from bigimg.pipeline.checks import call, probe_chunks

TUTORIAL = Path(__file__).resolve().parents[1] / "configs" / "tutorial.yaml"

STEPS = textwrap.dedent(
    """\
    input: {{synthetic: blobs_intensity, shape: {shape}, chunks: {chunks}, dtype: float32}}
    steps:
      blurred: {{op: gaussian_filter, input: image, sigma: 3}}
      edges: {{op: sobel, input: blurred, axis: 0, mode: constant}}
      denoised: {{op: median_filter, input: image, size: 5}}
      ranked: {{op: percentile_filter, input: image, percentile: 20, size: [3, 7]}}
      mask: {{expr: "blurred > 0.5"}}
      opened: {{op: binary_opening, input: mask, iterations: 2}}
      filled: {{op: binary_fill_holes, input: opened}}
      labels: {{op: label, input: filled}}
      distances: {{op: distance_transform_edt, input: filled}}
      smaller: {{op: zoom, input: blurred, zoom: 0.5}}
      turned: {{op: rotate, input: blurred, angle: 30}}
      regions: {{op: region_table, labels: labels, image: image}}
    outputs:
      - {{from: labels, path: labels.zarr}}
    """
)


class _Computes(Exception):
    pass


def _refuse(*args: object, **kwargs: object) -> None:
    raise _Computes


@pytest.mark.parametrize(
    ("shape", "chunks"),
    [([300, 500], [64, 100]), ([257, 129], [257, 32]), ([40, 40], [16, 16]), ([33, 900], [8, 70])],
)
def test_every_value_has_the_grid_the_real_call_gives(
    tmp_path: Path, shape: list[int], chunks: list[int]
) -> None:
    job = pipeline.loads(STEPS.format(shape=shape, chunks=chunks), output_dir=tmp_path / "o")
    real = {s.name: job.results[s.name].lazy for s in job.sources}
    for step in job.steps:
        try:  # the step built on placeholders of the real size, as the old check did
            with dask.config.set(scheduler=_refuse):
                value = call(step, real)
        except _Computes:  # a step that computes when called (label's count, ...)
            value = None
        if isinstance(value, da.Array):
            got = job.results[step.name].lazy
            want = (value.shape, value.dtype, value.chunks)
            assert (got.shape, got.dtype, got.chunks) == want, step.name
            probe = job.results[step.name].probe
            assert probe.chunks == probe_chunks(value.chunks) and probe.dtype == value.dtype
        real[step.name] = value if isinstance(value, da.Array) else job.results[step.name].lazy


def test_images_of_other_shapes_are_checked_on_their_real_shapes(tmp_path: Path) -> None:
    # both probes are 3 chunks of 1024: only the real shapes disagree
    text = textwrap.dedent(
        """\
        inputs:
          a: {synthetic: blobs_intensity, shape: [10240, 64], chunks: [1024, 64]}
          b: {synthetic: blobs_intensity, shape: [9216, 64], chunks: [1024, 64]}
        steps:
          both: {expr: "a + b"}
        outputs:
          - {from: both, path: both.zarr}
        """
    )
    with pytest.raises(pipeline.ConfigError, match="step 'both'"):
        pipeline.loads(text, output_dir=tmp_path / "o")


def _checking_peak(tmp_path: Path, shape: int) -> int:
    tracemalloc.start()
    try:
        job = pipeline.load(
            TUTORIAL,
            settings=(f"input.shape=[{shape},{shape}]", "input.chunks=[64,64]"),
            output_dir=tmp_path / str(shape),
        )
        text = pipeline.plan(job).describe()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        assert f"({shape}, {shape})" in text


def test_checking_and_planning_do_not_grow_with_the_chunk_count(tmp_path: Path) -> None:
    few = _checking_peak(tmp_path, 64 * 64)  # 4,096 chunks
    many = _checking_peak(tmp_path, 64 * 1024)  # 1,048,576 chunks
    assert many <= 1.5 * few + 8 * 2**20, (few, many)
