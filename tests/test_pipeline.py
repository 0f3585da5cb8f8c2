"""Config-driven jobs: checking, planning, running, resuming (``bigimg run``)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given
from hypothesis import strategies as st

import bigimg
from bigimg import datasets, pipeline
from bigimg.cli import main
from bigimg.pipeline.ops import threshold
from tests.guards import raise_if_dask_computes
from tests.strategies import chunked_arrays

TUTORIAL = Path(bigimg.__file__).parent / "configs" / "tutorial.yaml"
SMALL = (
    "input.shape=[300,260]",
    "input.chunks=[64,50]",
    "input.n_objects=30",
    "input.blob_size=0.05",
)


def _between_class_variances(values: np.ndarray, bins: int) -> dict[float, float]:
    """Otsu's criterion for every bin centre, by brute force (lower class: up
    to and including the centre's bin)."""
    counts, edges = np.histogram(values, bins=bins, range=(values.min(), values.max()))
    centers = (edges[:-1] + edges[1:]) / 2
    out = {}
    for i in range(bins - 1):
        w0, w1 = counts[: i + 1].sum(), counts[i + 1 :].sum()
        if w0 and w1:
            m0 = (counts[: i + 1] * centers[: i + 1]).sum() / w0
            m1 = (counts[i + 1 :] * centers[i + 1 :]).sum() / w1
            out[float(centers[i])] = float(w0) * float(w1) * (m0 - m1) ** 2
    return out


def _otsu_reference(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold by brute force: every bin centre tried in turn."""
    variances = _between_class_variances(values, bins)
    return max(variances, key=variances.get) if variances else float(values.min())


def _clean_reference(labels: np.ndarray, min_size: int) -> np.ndarray:
    """The tutorial's small-object removal and sequential relabelling, in numpy."""
    small = np.bincount(labels.ravel()) < min_size
    small[0] = False
    cleaned = np.where(small[labels], 0, labels)
    return np.searchsorted(np.unique(cleaned), cleaned)


def _tutorial_scipy(shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The tutorial job, step by step with numpy and scipy.ndimage in memory."""
    image = datasets.blobs_intensity(
        shape, n_objects=30, blob_size=0.05, dtype="float32", seed=0
    ).compute()
    noisy = datasets.noisy(da.from_array(image), sigma=0.2, seed=1).compute()
    blurred = ndi.gaussian_filter(noisy, 3)
    smoothed = ndi.gaussian_filter(blurred, 1)
    denoised = ndi.median_filter(noisy, size=3)
    sx = ndi.sobel(blurred, 0, mode="constant")
    sy = ndi.sobel(blurred, 1, mode="constant")
    binary = denoised > _otsu_reference(denoised)
    closed = ndi.binary_closing(ndi.binary_opening(binary, iterations=2), iterations=2)
    labels, n = ndi.label(closed)
    relabelled = _clean_reference(labels, 30)
    return {
        "sharpened": blurred + 30 * (blurred - smoothed),
        "edges": np.hypot(sx, sy),
        "labels": relabelled,
        "count": np.array(n),
        "area": np.bincount(relabelled.ravel())[1:],
    }


@given(
    data=chunked_arrays(dtypes=("float64", "float32", "uint8", "int16")),
    method=st.sampled_from(["otsu", "mean", "value"]),
    bins=st.integers(2, 300),
)
def test_threshold_equals_whole_array_reference(data: tuple, method: str, bins: int) -> None:
    """The mask is ``x > t`` for the whole array's ``t``; Otsu's ``t`` is a bin
    centre whose between-class variance is the largest, to rounding (splits
    equal to rounding may be chosen either way)."""
    x, chunks = data
    image = da.from_array(x, chunks=chunks)
    if method == "otsu":
        got = threshold(image, method="otsu", bins=bins).compute()
        variances = _between_class_variances(x, bins)
        if variances:
            best = max(variances.values())
            chosen = [t for t, v in variances.items() if v >= best * (1 - 1e-9)]
            assert any(np.array_equal(got, x > t) for t in chosen)
        else:  # one value, or all in one bin: everything on one side
            assert not got.any() or got.all()
    elif method == "mean":
        np.testing.assert_array_equal(
            threshold(image, method="mean").compute(), x > x.mean(dtype=np.float64)
        )
    else:
        np.testing.assert_array_equal(threshold(image, value=1.5).compute(), x > 1.5)


def test_tutorial_job_equals_scipy(tmp_path: Path) -> None:
    job = pipeline.load(TUTORIAL, output_dir=tmp_path / "out", settings=SMALL)
    summary = pipeline.run(job, progress=False)
    expected = _tutorial_scipy((300, 260))
    out = tmp_path / "out"
    np.testing.assert_array_equal(
        bigimg.open(out / "sharpened.zarr").compute(), expected["sharpened"]
    )
    np.testing.assert_array_equal(bigimg.open(out / "edges.zarr").compute(), expected["edges"])
    np.testing.assert_array_equal(bigimg.open(out / "labels.zarr").compute(), expected["labels"])
    assert summary.objects == {"labels": int(expected["count"])}
    with open(out / "regions.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["area"]) for r in rows] == expected["area"].tolist()
    for picture in ("noisy.png", "labels.png", "histogram.png"):
        assert (out / picture).read_bytes()[:4] == b"\x89PNG"
    assert summary.written == pipeline.plan(job).chunk_writes()
    # a second run finds everything done and writes nothing
    again = pipeline.run(pipeline.load(TUTORIAL, output_dir=out, settings=SMALL), progress=False)
    assert again.written == 0


def test_dry_run_plans_without_computing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = pipeline.load(TUTORIAL, output_dir=tmp_path / "out", settings=SMALL)
    with raise_if_dask_computes():
        text = pipeline.plan(job).describe()
    assert "sharpened: blurred -> smoothed -> sharpened from noisy; reach 17+17 x 17+17" in text
    assert "chunk writes:" in text and "labels = label(closed)" in text
    assert main(["run", str(TUTORIAL), "--dry-run", "--out", str(tmp_path / "o"),
                 *(f"--set={s}" for s in SMALL)]) == 0  # fmt: skip
    assert "fused overlap passes:" in capsys.readouterr().out
    assert not (tmp_path / "o").exists()


BASE = """\
input: {{synthetic: natural, shape: [64, 64], chunks: [32, 32]}}
steps:
{steps}
outputs:
{outputs}
"""
GOOD_STEPS = "  blurred: {op: gaussian_filter, input: image, sigma: 2}"
GOOD_OUTPUTS = "  - {from: blurred, path: blurred.zarr}"

INVALID = {
    "unknown op": ("  blurred: {op: gaussian_filtr, input: image, sigma: 2}", None,
                   "unknown op 'gaussian_filtr' (did you mean 'gaussian_filter'?)"),
    "unknown parameter": ("  blurred: {op: gaussian_filter, input: image, sigm: 2}", None,
                          "has no parameter 'sigm' (did you mean 'sigma'?)"),
    "missing parameter": ("  blurred: {op: gaussian_filter, input: image}", None,
                          "needs the parameter 'sigma'"),
    "ill-typed parameter": ("  blurred: {op: gaussian_filter, input: image, sigma: abc}", None,
                            "step 'blurred': gaussian_filter:"),
    "bad mode": ("  blurred: {op: gaussian_filter, input: image, sigma: 1, mode: wrapp}", None,
                 "mode"),
    "undefined name": ("  blurred: {op: gaussian_filter, input: imag, sigma: 2}", None,
                       "uses 'imag', which is not an input or an earlier step"),
    "defined later": ("  a: {expr: 'blurred + 1'}\n" + GOOD_STEPS, None, "defined later"),
    "no image": ("  blurred: {op: gaussian_filter, sigma: 2}", None, "needs its image"),
    "bad expression": ("  blurred: {expr: 'image.__class__'}", None, "is not allowed"),
    "unknown function": ("  blurred: {expr: 'open(image)'}", None, "unknown function 'open'"),
    "duplicate step": (GOOD_STEPS + "\n" + GOOD_STEPS, None, "'blurred' is given twice"),
    "output of unknown name": (None, "  - {from: blured, path: b.zarr}", "names no input or step"),
    "table to zarr": (GOOD_STEPS + "\n  m: {op: threshold, input: image, value: 0.5}"
                      "\n  t: {op: region_table, labels: m}",
                      "  - {from: t, path: t.zarr}", "'t' is a table; a zarr file needs an image"),
    "array to csv": (None, "  - {from: blurred, path: b.csv}", "a csv file needs a table"),
    "unknown output kind": (None, "  - {from: blurred, path: b.xyz}", "unknown kind of file"),
    "bad picture option": (None, "  - {from: blurred, path: b.png, vmim: 0}",
                           "unknown option 'vmim' (did you mean 'vmin'?)"),
    "structure of wrong rank": (
        "  b: {op: binary_erosion, input: image, structure: [1, 1, 1]}", None, "structure"),
    "step name not an identifier": ("  my-step: {op: gaussian_filter, input: image, sigma: 2}",
                                    None, "must be a Python identifier"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_job_is_refused_naming_the_problem(case: str, tmp_path: Path) -> None:
    steps, outputs, message = INVALID[case]
    text = BASE.format(steps=steps or GOOD_STEPS, outputs=outputs or GOOD_OUTPUTS)
    job_file = tmp_path / "job.yaml"
    job_file.write_text(text)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(pipeline.ConfigError) as info:
        pipeline.load(job_file, output_dir=tmp_path / "out")
    assert message in str(info.value), str(info.value)
    assert str(job_file) in str(info.value) and ":" in str(info.value)
    assert sorted(tmp_path.rglob("*")) == before  # nothing written
    assert main(["run", str(job_file), "--out", str(tmp_path / "out")]) == 2


@pytest.mark.parametrize(
    "text, message",
    [
        ("input: {path: missing.raw, dtype: u1, shape: [4, 4]}\n", "file not found"),
        ("input: {synthetic: lena}\n", "unknown synthetic image 'lena'"),
        ("input: {synthetic: natural}\nstepz: {}\n", "unknown section 'stepz'"),
        ("input: {synthetic: natural}\ncluster: {workers: two}\n", "workers='two'"),
        ("input: [1, 2\n", "not valid YAML"),
    ],
)
def test_invalid_sections(text: str, message: str, tmp_path: Path) -> None:
    job_file = tmp_path / "job.yaml"
    job_file.write_text(text + "outputs:\n  - {from: image, path: i.zarr}\n")
    with pytest.raises(pipeline.ConfigError, match=message.replace("[", r"\[")):
        pipeline.load(job_file, output_dir=tmp_path / "out")


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    text = BASE.format(
        steps="  a: {op: nope, input: image}\n  b: {op: gaussian_filter, input: zz, sigma: 1}",
        outputs="  - {from: a, path: a.xyz}",
    )
    (tmp_path / "job.yaml").write_text(text)
    with pytest.raises(pipeline.ConfigError) as info:
        pipeline.load(tmp_path / "job.yaml", output_dir=tmp_path / "out")
    assert len(info.value.problems) == 3
    assert ":3: step 'a'" in info.value.problems[0]


def test_existing_output_is_refused_and_kept(tmp_path: Path) -> None:
    job_file = tmp_path / "job.yaml"
    job_file.write_text(BASE.format(steps=GOOD_STEPS, outputs=GOOD_OUTPUTS))
    (tmp_path / "out" / "blurred.zarr").mkdir(parents=True)
    (tmp_path / "out" / "blurred.zarr" / "precious").write_text("keep me")
    with pytest.raises(pipeline.ConfigError, match="already exists; pass --overwrite"):
        pipeline.load(job_file, output_dir=tmp_path / "out")
    assert (tmp_path / "out" / "blurred.zarr" / "precious").read_text() == "keep me"


def test_changed_job_does_not_mix_with_old_outputs(tmp_path: Path) -> None:
    job_file = tmp_path / "job.yaml"
    job_file.write_text(BASE.format(steps=GOOD_STEPS, outputs=GOOD_OUTPUTS))
    pipeline.run(pipeline.load(job_file, output_dir=tmp_path / "out"), progress=False)
    job_file.write_text(
        BASE.format(steps=GOOD_STEPS.replace("sigma: 2", "sigma: 3"), outputs=GOOD_OUTPUTS)
    )
    with pytest.raises(pipeline.ConfigError, match="written by this job with other settings"):
        pipeline.load(job_file, output_dir=tmp_path / "out")
    job = pipeline.load(job_file, output_dir=tmp_path / "out", overwrite=True)
    summary = pipeline.run(job, progress=False)
    assert summary.written == 4 and summary.skipped == 0
    image = datasets.natural((64, 64), chunks=32).compute()
    got = bigimg.open(tmp_path / "out" / "blurred.zarr").compute()
    np.testing.assert_array_equal(got, ndi.gaussian_filter(image, 3))


def _journal_lines(work: Path) -> int:
    return sum(p.read_text().count(";\n") for p in work.glob(".bigimg-job/journal/*.log"))


def _run_and_kill(argv: list[str], work: Path, at: int) -> None:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while proc.poll() is None and time.time() < deadline:
            if _journal_lines(work) >= at:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.01)
    finally:
        proc.wait()


def test_killed_job_resumes_to_identical_outputs(tmp_path: Path) -> None:
    settings = ["input.shape=[600,520]", "input.chunks=[64,64]", "input.n_objects=60",
                "input.blob_size=0.05"]  # fmt: skip
    sets = [f"--set={s}" for s in settings]
    base = [sys.executable, "-m", "bigimg.cli", "run", str(TUTORIAL), "--quiet", *sets]
    reference = tmp_path / "reference"
    subprocess.run([*base, "--out", str(reference)], check=True, capture_output=True)
    job = pipeline.load(TUTORIAL, output_dir=reference, settings=tuple(settings))
    total = pipeline.plan(job).chunk_writes()
    for fraction in (0.3, 0.6, 0.9):
        out = tmp_path / f"killed-{fraction}"
        _run_and_kill([*base, "--out", str(out)], out, int(total * fraction))
        done_before = _journal_lines(out)
        assert 0 < done_before < total, (fraction, done_before, total)
        resumed = subprocess.run([*base, "--out", str(out)], check=True, capture_output=True,
                                 text=True)  # fmt: skip
        written = int(resumed.stdout.split("chunks written ")[1].split(",")[0])
        assert written <= total - done_before + 2 * 80  # at most the in-flight stores redone
        if fraction == 0.9:
            assert written < total / 2, resumed.stdout
        for name in ("sharpened.zarr", "edges.zarr", "labels.zarr"):
            a = bigimg.open(reference / name).compute()
            b = bigimg.open(out / name).compute()
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
        assert (out / "regions.csv").read_bytes() == (reference / "regions.csv").read_bytes()


def test_cli_run_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job_file = tmp_path / "job.yaml"
    job_file.write_text(textwrap.dedent(BASE.format(steps=GOOD_STEPS, outputs=GOOD_OUTPUTS)))
    assert main(["run", str(job_file), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "chunks written 4, skipped 0" in out and "peak memory of all processes" in out
    assert str(tmp_path / "o" / "blurred.zarr") in out


def test_volume_config_on_a_small_tiff(tmp_path: Path) -> None:
    import tifffile

    volume = datasets.blobs_intensity((24, 60, 50), n_objects=12, blob_size=0.15, seed=3)
    stack = (volume.compute() * 1000).astype(np.uint16)
    tifffile.imwrite(tmp_path / "stack.tif", stack)
    settings = (f"input.path={tmp_path / 'stack.tif'}", "input.chunks=[10,32,32]", "cluster={}")
    job = pipeline.load(Path(TUTORIAL).with_name("volume_tiff.yaml"), output_dir=tmp_path / "o",
                        settings=settings)  # fmt: skip
    pipeline.run(job, progress=False)
    smoothed = ndi.gaussian_filter(stack, 1.5)
    filled = ndi.binary_fill_holes(ndi.binary_opening(smoothed > _otsu_reference(smoothed)))
    numbered = _clean_reference(ndi.label(filled)[0], 20)
    np.testing.assert_array_equal(bigimg.open(tmp_path / "o" / "labels.zarr").compute(), numbered)
    with open(tmp_path / "o" / "regions.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == numbered.max() > 0
    sums = ndi.sum(stack, numbered, range(1, numbered.max() + 1))
    assert [int(r["intensity_sum"]) for r in rows] == [int(v) for v in sums]


def test_scene_config_on_a_small_raw_file(tmp_path: Path) -> None:
    scene = (datasets.natural((300, 280), seed=4).compute() * 60000).astype("<u2")
    scene.tofile(tmp_path / "scene.raw")
    settings = (f"input.path={tmp_path / 'scene.raw'}", "input.shape=[300,280]",
                "input.chunks=[128,128]", "cluster={}")  # fmt: skip
    job = pipeline.load(Path(TUTORIAL).with_name("scene_raw.yaml"), output_dir=tmp_path / "o",
                        settings=settings)  # fmt: skip
    pipeline.run(job, progress=False)
    expected = ndi.gaussian_filter(ndi.median_filter(scene, size=3), 2, mode="nearest")
    got = bigimg.open(tmp_path / "o" / "smoothed.ome.zarr")
    np.testing.assert_array_equal(got.compute(), expected)
    assert bigimg.info(tmp_path / "o" / "smoothed.ome.zarr").levels[1] == (150, 140)


def test_job_runs_on_a_given_scheduler(tmp_path: Path) -> None:
    from distributed import LocalCluster

    job_file = tmp_path / "job.yaml"
    steps = GOOD_STEPS + "\n  mask: {expr: 'blurred > 0.5'}\n  labels: {op: label, input: mask}"
    job_file.write_text(BASE.format(steps=steps, outputs="  - {from: labels, path: l.zarr}"))
    with LocalCluster(
        n_workers=1, processes=False, protocol="tcp", dashboard_address=":0"
    ) as cluster:
        job = pipeline.load(
            job_file, output_dir=tmp_path / "o", scheduler=cluster.scheduler_address
        )
        summary = pipeline.run(job, progress=False)
    assert summary.where == f"dask.distributed at {cluster.scheduler_address}"
    image = datasets.natural((64, 64), chunks=32).compute()
    expected, n = ndi.label(ndi.gaussian_filter(image, 2) > 0.5)
    np.testing.assert_array_equal(bigimg.open(tmp_path / "o" / "l.zarr").compute(), expected)
    assert summary.objects == {"labels": n}


def test_tiff_and_ome_zarr_outputs(tmp_path: Path) -> None:
    import tifffile

    job_file = tmp_path / "job.yaml"
    outputs = (
        "  - {from: blurred, path: b.tif}\n  - {from: blurred, path: b.ome.zarr, min_size: 16}"
    )
    job_file.write_text(BASE.format(steps=GOOD_STEPS, outputs=outputs))
    pipeline.run(pipeline.load(job_file, output_dir=tmp_path / "o"), progress=False)
    expected = ndi.gaussian_filter(datasets.natural((64, 64), chunks=32).compute(), 2)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "o" / "b.tif"), expected)
    np.testing.assert_array_equal(bigimg.open(tmp_path / "o" / "b.ome.zarr").compute(), expected)
    assert bigimg.info(tmp_path / "o" / "b.ome.zarr").levels[-1] == (16, 16)
    again = pipeline.run(pipeline.load(job_file, output_dir=tmp_path / "o"), progress=False)
    assert again.written == 0 and again.outputs[0] == str(tmp_path / "o" / "b.tif")
