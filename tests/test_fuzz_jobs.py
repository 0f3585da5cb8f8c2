"""Fuzzing job files (issue 18): ``bigimg run`` of randomly damaged jobs.

Each example takes one of the shipped jobs (``bigimg/configs/*.yaml``), shrunk
to tiny inputs (a 64 x 64 synthetic image, a 16^3 TIFF stack and a 64 x 64 raw
scene, written into the sandbox first) and without its cluster, and damages
it: values of the wrong type, missing keys, unknown keys and near misses,
deep nesting, huge and special numbers, unicode (emoji, right-to-left text,
NUL bytes), paths through ``..``, ``~``, symlinks and absolute paths, outputs
pointing at existing files, keys given twice, empty and non-mapping
documents, huge strings, and ``--set`` overrides. The job file is written into
a fresh sandbox that also holds "victims": a Zarr store written by
:func:`bigimg.save`, a CSV table and a PNG picture (and symlinks to them, and
another store under ``$HOME``, which points into the sandbox). It is run with
``bigimg.cli.main(["run", ...])``, sometimes ``--dry-run``, within
:data:`TIME_LIMIT` seconds, and must either

* exit 0: every output it names exists (none for a dry run, which writes
  nothing), nothing that existed before changed, and nothing was added
  inside a victim (:data:`VICTIMS`); or
* exit 2 with ``error:`` and the job file (or the ``--set`` option) named on
  stderr, no traceback, and the whole sandbox exactly as it was (names and
  bytes).

Anything else (an exception out of ``main``, exit 1, a hang) is a bug. A valid
job whose values are larger than :data:`RUN_LIMIT` bytes is planned
(``--dry-run``) instead of run. Local clusters are not started (each would
take seconds): the test's stand-in of :func:`bigimg.cluster.compute_context`
checks the arguments as a local cluster would and runs on threads.

Outcomes are tallied and printed by the last test (``pytest -s``, or in the
terminal summary's captured output).
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import math
import os
import re
import shutil
import signal
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import dask
import numpy as np
import pytest
import yaml
from hypothesis import given, note, settings
from hypothesis import strategies as st

import bigimg
import bigimg.cluster
from bigimg import datasets, pipeline
from bigimg.cli import main
from tests.guards import tree_digest

CONFIGS = Path(bigimg.__file__).parent / "configs"
#: Seconds one example (check and run) may take.
TIME_LIMIT = 60
#: A valid job with a value larger than this (bytes) is planned, not run.
RUN_LIMIT = 16 * 2**20

#: ... or with more chunks than this.
CHUNK_LIMIT = 256
#: Examples: four times the profile's (default 160, ci 240, stress 2000).
EXAMPLES = settings().max_examples * 4

#: outcomes of every example: ``ran``, ``dry-run``, ``refused: <kind>``, ...
TALLY: Counter[str] = Counter()


# --- the sandbox ----------------------------------------------------------------------


def _png() -> bytes:
    buffer = io.BytesIO()
    import matplotlib.image

    matplotlib.image.imsave(buffer, np.eye(4), format="png")
    return buffer.getvalue()


def make_sandbox(root: Path) -> None:
    """Victims, their symlinks, a home directory and the jobs' input files."""
    bigimg.save(np.arange(64.0).reshape(8, 8), root / "victim.zarr")
    (root / "victim.csv").write_text("label,area\n1,4\n")
    (root / "victim.png").write_bytes(_png())
    for name in ("victim.zarr", "victim.csv", "victim.png"):
        (root / ("link_" + name)).symlink_to(name)  # relative: copies point into the copy
    (root / "here").symlink_to(".", target_is_directory=True)
    (root / "home").mkdir()
    bigimg.save(np.ones((4, 4), "u1"), root / "home" / "victim.zarr")
    import tifffile

    volume = datasets.blobs_intensity((16, 16, 16), n_objects=4, blob_size=0.3, seed=3)
    tifffile.imwrite(root / "volume.tif", (volume.compute() * 1000).astype(np.uint16))
    scene = (datasets.natural((64, 64), seed=4).compute() * 60000).astype("<u2")
    scene.tofile(root / "scene.raw")


#: what jobs must leave as it is (sandbox-relative), files and stores alike
VICTIMS = ("victim.zarr", "victim.csv", "victim.png", "home/victim.zarr", "volume.tif",
           "scene.raw")  # fmt: skip


def shrunk(name: str) -> dict[str, Any]:
    """A shipped job with tiny inputs (files in the sandbox) and no cluster."""
    data = yaml.safe_load((CONFIGS / name).read_text())
    data.pop("cluster", None)
    source = data["input"]
    if "synthetic" in source:
        source.update(shape=[64, 64], chunks=[32, 32], n_objects=5, blob_size=0.3)
    elif source["path"].endswith(".tif"):
        source.update(chunks=[8, 16, 16])
    else:
        source.update(shape=[64, 64], chunks=[32, 32])
    return data


BASES = {n: shrunk(n) for n in ("tutorial.yaml", "volume_tiff.yaml", "scene_raw.yaml")}


# --- the mutations --------------------------------------------------------------------


def _deep(n: int, kind: str) -> Any:
    value: Any = 1
    for _ in range(n):
        value = [value] if kind == "list" else {"a": value}
    return value


PATHS = [
    "../victim.zarr", "../victim.csv", "../victim.png", "victim.zarr", "victim.csv",
    "victim.png", "link_victim.zarr", "link_victim.csv", "link_victim.png",
    "../link_victim.zarr", "here/victim.zarr", "here/here/../victim.csv",
    "~/victim.zarr", "~/new.zarr", "~", "~/../victim.csv", "o1/../../victim.zarr",
    "/proc/bigimg.zarr", "/dev/null", "/", "/sys/x.png", ".", "..", "",
    ".bigimg-job", ".bigimg-job/x.zarr", "volume.tif", "../volume.tif", "scene.raw",
    "../scene.raw", "new.zarr", "new.csv", "new.png", "new.tif", "new.ome.zarr",
    "dir/new.zarr", "nul\0.zarr", "émoji-🙂.zarr", "\u202etxt.zarr", "שלום.csv",
    "a" * 300 + ".zarr", "x" * 5000, "new.ZARR", "new.zarr/", "new.zarr/.",
]  # fmt: skip
NUMBERS = [0, -1, 1, 2, 10**100, -(10**100), 2**63, 2**64, 1e308, -1e308, float("nan"),
           float("inf"), float("-inf"), 0.5, -0.0, 1e-308, 3]  # fmt: skip
TEXTS = ["", " ", "abc", "image", "nope", "🙂", "\u202eabc", "ﻣﺮﺣﺒﺎ", "a\0b", "\0",
         "x" * 100_000, "1", "1e3", "true", "null", "[1, 2]", "{a: 1}", "<u2", ">f4",
         "gaussian_filter", "__import__('os')", "image.__class__", "blurred + 1"]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(NUMBERS),
    st.integers(-5, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(TEXTS),
    st.text(max_size=12),
    st.sampled_from(PATHS),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(st.sampled_from(["a", "op", "path", "from", "input"]), scalars, max_size=3),
    st.builds(_deep, st.sampled_from([3, 65, 200]), st.sampled_from(["list", "dict"])),
    st.sampled_from([[64, 64], [16, 16, 16], [0, 64], [10**9, 64], [-1, 5], [1, 1], [64.5, 3]]),
)


def _near_miss(word: str, draw: Callable[[Any], Any]) -> str:
    """``word`` with one letter dropped, doubled, changed or upper-cased."""
    if not word:
        return "x"
    i = draw(st.integers(0, len(word) - 1))
    how = draw(st.sampled_from(["drop", "double", "change", "upper", "space"]))
    if how == "drop":
        return word[:i] + word[i + 1 :] or "x"
    if how == "double":
        return word[:i] + word[i] + word[i:]
    if how == "change":
        return word[:i] + draw(st.sampled_from("aeiouxz_")) + word[i + 1 :]
    if how == "upper":
        return word.upper()
    return word + " "


def _places(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in ``data`` (mappings and lists, depth-first)."""
    out = []
    items: Any = data.items() if isinstance(data, dict) else (
        enumerate(data) if isinstance(data, list) else ())  # fmt: skip
    for key, value in items:
        out.append((*prefix, key))
        if len(prefix) < 4:
            out.extend(_places(value, (*prefix, key)))
    return out


def _container(data: Any, place: tuple[Any, ...]) -> Any:
    for key in place[:-1]:
        data = data[key]
    return data


def mutate(data: dict[str, Any], draw_shared: Callable[[Any], Any]) -> str:
    """Damage ``data`` in place; a description of what was done."""

    def draw(strategy: Any) -> Any:  # copies: a later mutation may change it in place
        return copy.deepcopy(draw_shared(strategy))

    places = _places(data)
    if not places:
        data["input"] = draw(values)
        return "set input"
    place = draw(st.sampled_from(places))
    parent, key = _container(data, place), place[-1]
    kind = draw(
        st.sampled_from(
            ["value", "value", "path", "delete", "unknown", "rename", "number", "cluster"]
        )
    )
    if kind == "cluster":
        keys = st.sampled_from(["workers", "threads", "memory_limit", "scheduler", "nanny"])
        cluster = st.sampled_from(["1GiB", "2 GB", "abc", "-1GiB", "0", "10**100", "auto"])
        data["cluster"] = draw(
            st.one_of(values, st.dictionaries(keys, st.one_of(scalars, cluster), max_size=3))
        )
    elif kind == "value":
        parent[key] = draw(values)
    elif kind == "number":
        parent[key] = draw(st.sampled_from(NUMBERS))
    elif kind == "path":
        target = draw(st.sampled_from(["outputs", "output_dir", "input"]))
        if target == "outputs" and isinstance(data.get("outputs"), list) and data["outputs"]:
            out = draw(st.sampled_from(data["outputs"]))
            if isinstance(out, dict):
                out["path"] = draw(st.sampled_from(PATHS))
        elif target == "input" and isinstance(data.get("input"), dict):
            data["input"]["path"] = draw(st.sampled_from(PATHS))
        else:
            data["output_dir"] = draw(st.sampled_from(PATHS))
    elif kind == "delete":
        del parent[key]
    elif isinstance(parent, dict):
        new = (
            _near_miss(str(key), draw)
            if kind == "rename"
            else draw(
                st.one_of(st.text(max_size=8), st.sampled_from(TEXTS), st.integers(), st.none())
            )
        )
        if kind == "rename":
            parent[new] = parent.pop(key)
        else:
            parent[new] = draw(values)
    else:
        parent.insert(key, draw(values))
    return f"{kind} {'.'.join(map(str, place))}"


def damage_text(text: str, draw: Callable[[Any], Any]) -> str:
    """Damage the YAML text itself: keys given twice, truncation, NUL bytes,
    other documents."""
    lines = text.splitlines(keepends=True)
    kind = draw(st.sampled_from(["duplicate", "truncate", "nul", "document", "tab", "huge"]))
    if kind == "duplicate" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
        return "".join(lines)
    if kind == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    if kind == "nul":
        i = draw(st.integers(0, len(text)))
        return text[:i] + "\0" + text[i:]
    if kind == "tab" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        lines[i] = "\t" + lines[i]
        return "".join(lines)
    if kind == "huge":
        return text + "# " + "x" * 1_000_001 + "\n"
    return draw(st.sampled_from(["", "\n", "---\n", "--- []\n", "42\n", "- a\n- b\n", "~\n",
                                 "'text'\n", "a: 1\n---\nb: 2\n", "&a [*a]\n", "{a: 1, a: 2}\n",
                                 text + "---\n" + text]))  # fmt: skip


# --- running one job ------------------------------------------------------------------


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise _Timeout(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def fake_compute_context(
    scheduler: str | None = None,
    *,
    workers: int | None = None,
    memory_limit: int | str | None = None,
    threads: int | None = None,
) -> Iterator[str]:
    """:func:`bigimg.cluster.compute_context` without starting a cluster: the
    arguments are checked as a local cluster would check them."""
    if scheduler:
        raise AssertionError(f"the job would connect to a scheduler at {scheduler!r}")
    if workers:
        options = bigimg.cluster.local_defaults(workers, memory_limit)
        from distributed.worker_memory import parse_memory_limit

        limit = parse_memory_limit(options["memory_limit"], 1, logger=logging.getLogger())
        assert limit is not None and limit > 0, f"memory_limit={memory_limit!r} gives {limit}"
        assert workers <= 4 * (os.cpu_count() or 1), f"would start {workers} worker processes"
    if threads is not None:
        assert threads <= 64 * (os.cpu_count() or 1), f"would start {threads} threads"
    with dask.config.set(scheduler="threads", num_workers=threads):
        yield "threads"


def _too_big(argv: list[str]) -> bool:
    """The job is valid and a value is larger than :data:`RUN_LIMIT`."""
    job_file, rest = argv[1], argv[2:]
    out = rest[rest.index("--out") + 1] if "--out" in rest else None
    settings = tuple(a.removeprefix("--set=") for a in rest if a.startswith("--set="))
    try:
        job = pipeline.load(job_file, output_dir=out, settings=settings)
    except Exception:
        return False  # main reports it
    arrays = [v.lazy for v in job.results.values() if v.kind == "array"]
    sizes = [a.nbytes for a in arrays]
    return (
        max(sizes, default=0) > RUN_LIMIT
        or not all(map(math.isfinite, sizes))
        or max((a.npartitions for a in arrays), default=0) > CHUNK_LIMIT
    )


_FILE_LINE = re.compile(r"job\.yaml(:\d+)?: (.*)")


#: refusals are tallied by the first of these their message contains
KINDS = (
    "not valid YAML", "nested more than", "longer than", "is given twice", "not a mapping",
    "is a mapping", "unknown section", "unknown op", "has no parameter", "unknown option",
    "unknown synthetic", "unknown kind", "unknown key", "file not found", "already exists",
    "would write over", "lies inside", "written twice", "not a directory", "names no input",
    "needs the parameter", "needs its image", "needs exactly one", "needs 'from'",
    "must list", "must be", "is not an input", "identifier", "wrong type", "--set",
    "a table", "an image", "a number", "not a valid path", "is not",
)  # fmt: skip


def refusal_kind(stderr: str) -> str:
    """A short name for the first problem of a refusal."""
    match = _FILE_LINE.search(stderr)
    message = match.group(2) if match else stderr.split("error:", 1)[-1]
    for word in KINDS:
        if word in message:
            return word
    return "other: " + message[:60]


def run_job(
    sandbox: Path, text: str, extra: list[str], dry_run: bool, out: str | None
) -> tuple[int, str, str, bool]:
    """``bigimg run`` of ``text`` in ``sandbox``: exit status, stdout, stderr,
    whether it was (made) a dry run."""
    argv = ["run", str(sandbox / "job.yaml"), "--quiet", *extra]
    if out is not None:
        argv += ["--out", out]
    if not dry_run and _too_big(argv):
        dry_run = True
    if dry_run:
        argv.append("--dry-run")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(argv)
    return status, stdout.getvalue(), stderr.getvalue(), dry_run


def written_outputs(stdout: str) -> list[Path]:
    """The outputs a run's summary lists."""
    lines = stdout.split("  outputs:\n", 1)[-1].splitlines()
    return [Path(line.strip().split("  ")[0]) for line in lines if line.startswith("    ")]


def check_outcome(
    sandbox: Path, before: dict[str, str], result: tuple[int, str, str, bool]
) -> str:
    """Assert the contract of one run; its outcome's name."""
    status, stdout, stderr, dry_run = result
    after = tree_digest(sandbox)
    changed = [p for p, h in before.items() if after.get(p) != h]
    assert not changed, f"exit {status}: changed or removed {changed}\n{stderr}"
    for victim in VICTIMS:  # not even added to
        inside = [p for p in after if f"/sandbox/{victim}/" in p and p not in before]
        assert not inside, f"exit {status}: wrote into {victim}: {inside}"
    assert "Traceback" not in stderr + stdout
    if status == 0:
        if dry_run:
            assert after == before, "a dry run wrote something"
            assert "outputs:" in stdout
            return "dry-run"
        outputs = written_outputs(stdout)
        assert outputs, stdout
        for path in outputs:
            assert path.exists(), f"{path} is listed but missing\n{stdout}"
        return "ran"
    assert status == 2, f"exit {status}\n{stderr}"
    assert "error:" in stderr, stderr
    assert "job.yaml" in stderr or "--set" in stderr, stderr
    assert after == before, "a refused job wrote something"
    return "refused: " + refusal_kind(stderr)


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sandbox every example starts from."""
    root = tmp_path_factory.mktemp("fuzz-job-template").resolve()
    make_sandbox(root)
    return root


@contextlib.contextmanager
def sandbox_dir(template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """A fresh copy of the sandbox (``top/up/up/sandbox``: paths through ``..``
    stay inside ``top``), the working and home directory in it; ``(top,
    sandbox)``."""
    with tempfile.TemporaryDirectory(prefix="fuzz-job-") as tmp:
        top = Path(tmp).resolve()
        root = top / "up" / "up" / "sandbox"
        shutil.copytree(template, root, symlinks=True)
        with monkeypatch.context() as m:
            m.setenv("HOME", str(root / "home"))
            m.chdir(root)
            m.setattr(bigimg.cluster, "compute_context", fake_compute_context)
            yield top, root


# --- what the fuzzer found, one case each ---------------------------------------------

JOB = """\
input: {{synthetic: natural, shape: [64, 64], chunks: [32, 32]}}
steps:
  b: {step}
outputs:
  - {{from: b, path: {path}}}
"""

#: job files once escaping ``main`` or refused without naming the job: the
#: step (or a whole file), the output path, and what the refusal must say
FOUND = {
    "op a list": ("{op: [], input: image}", "b.zarr", "op must name an operation, not []"),
    "op a mapping": ("{op: {a: 1}, input: image}", "b.zarr", "op must name an operation"),
    "mode a mapping": (
        "{op: gaussian_filter, input: image, sigma: 1, mode: {a: 1}}", "b.zarr",
        "gaussian_filter:"),
    "image a mapping": (
        "{op: region_table, labels: image, image: {a: 1}}", "b.csv",
        "image must name an input or earlier step, not {'a': 1}"),
    "output folder a Zarr store": (
        "output_dir: store.zarr\ninput: {synthetic: natural, shape: [8, 8]}\n"
        "outputs: [{from: image, path: b.zarr}]\n", "", "lies inside the Zarr store"),
    "output inside a Zarr store": (
        "{op: gaussian_filter, input: image, sigma: 1}", "../store.zarr/b.png",
        "lies inside the Zarr store"),
    "output_dir a list": (
        "output_dir: [a, b]\ninput: {synthetic: natural, shape: [8, 8]}\n"
        "outputs: [{from: image, path: b.zarr}]\n", "", "output_dir must be a folder path"),
    "job a mapping": (
        "job: {a: 1}\ninput: {synthetic: natural, shape: [8, 8]}\n"
        "outputs: [{from: image, path: b.zarr}]\n", "", "job must be a name"),
    "chunks 0": (
        "input: {synthetic: natural, shape: [8, 8], chunks: 0}\n"
        "outputs: [{from: image, path: b.zarr}]\n", "", "chunks=0: chunk sizes must be"),
    "chunks [4, -3]": (
        "input: {synthetic: natural, shape: [8, 8], chunks: [4, -3]}\n"
        "outputs: [{from: image, path: b.zarr}]\n", "", "chunks=[4, -3]: chunk sizes must be"),
    **{
        f"cluster {cluster}": (
            f"input: {{synthetic: natural, shape: [8, 8]}}\ncluster: {cluster}\n"
            "outputs: [{from: image, path: b.zarr}]\n", "", message)
        for cluster, message in [
            ("{memory_limit: abc}", "cluster: memory_limit='abc' must be"),
            ("{memory_limit: -1GiB}", "cluster: memory_limit='-1GiB' must be"),
            ("{memory_limit: ''}", "cluster: memory_limit='' must be"),
            ("{memory_limit: -1}", "cluster: memory_limit=-1 must be"),
            ("{workers: 100000}", "cluster: workers=100000 is more than"),
            ("{threads: 100000}", "cluster: threads=100000 is more than"),
        ]
    },
    **{
        f"picture {options}": (
            "{op: gaussian_filter, input: image, sigma: 1}",
            f"b.png, {options}",
            message,
        )
        for options, message in [
            ("kind: histogram, bins: -1", "bins=-1 must be"),
            ("kind: histogram, bins: 0", "bins=0 must be"),
            (f"kind: histogram, bins: {2**63}", f"bins={2**63} is more than"),
            ("kind: histogram, thresholds: [a]", "thresholds"),
            ("max_size: 0", "max_size"),
            ("vmin: 2, vmax: 1", "vmin=2 must not exceed vmax=1"),
            ("cmap: nope", "cmap='nope' is not a matplotlib colormap"),
            ("contour: b, levels: [2, 1]", "levels=(2.0, 1.0) must be"),
            ("kind: labels", "labels=True needs an integer or bool image"),
        ]
    },
    "output name too long": (
        "{op: gaussian_filter, input: image, sigma: 1}", "y" * 300 + ".zarr", "name too long"),
    "input name too long": (
        "input: {path: " + "y" * 300 + ".raw, dtype: u1, shape: [4, 4]}\n"
        "outputs: [{from: image, path: b.zarr}]\n", "", "name too long"),
    "input path too long": (
        "input: {path: " + "y/" * 2100 + "a.raw, dtype: u1, shape: [4, 4]}\n"
        "outputs: [{from: image, path: b.zarr}]\n", "", "path too long"),
    "output_dir name too long": (
        "output_dir: " + "y" * 300 + "\ninput: {synthetic: natural, shape: [8, 8]}\n"
        "outputs: [{from: image, path: b.zarr}]\n", "", "name too long"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(FOUND))
def test_found_cases_are_refused_naming_the_job_file(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    step, path, message = FOUND[case]
    job_file = tmp_path / "job.yaml"
    whole = "\n" in step  # a whole job file, run with its own output_dir
    job_file.write_text(step if whole else JOB.format(step=step, path=path))
    monkeypatch.chdir(tmp_path)
    bigimg.save(np.zeros((4, 4)), tmp_path / "store.zarr")
    before = tree_digest(tmp_path)
    out = [] if whole else ["--out", str(tmp_path / "out")]
    assert main(["run", str(job_file), *out, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and f"{job_file}:" in err and "Traceback" not in err, err
    assert "_Map" not in err, err  # the parser's own classes are not the user's business
    assert tree_digest(tmp_path) == before


# --- the fuzz test --------------------------------------------------------------------


@settings(database=None, derandomize=True, max_examples=EXAMPLES)
@given(data=st.data())
def test_damaged_jobs_run_or_are_refused_cleanly(
    data: st.DataObject, template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    draw = data.draw
    base = draw(st.sampled_from(sorted(BASES)), label="config")
    job = copy.deepcopy(BASES[base])
    n = draw(st.sampled_from([0, 1, 1, 1, 1, 2, 2, 3]), label="mutations")
    done = [mutate(job, draw) for _ in range(n)]
    text = dump(job)
    if draw(st.integers(0, 7)) == 0:
        text = damage_text(text, draw)
        done.append("text")
    extra = []
    if draw(st.integers(0, 5)) == 0:
        places = [".".join(map(str, p)) for p in _places(job) if isinstance(p[-1], str)] or ["x"]
        key = draw(st.one_of(st.sampled_from(places), st.text(max_size=6)), label="--set key")
        value = draw(st.one_of(st.sampled_from(TEXTS + PATHS), st.text(max_size=8)))
        extra.append(f"--set={key}={value}")
    dry_run = draw(st.integers(0, 4)) == 0
    out = draw(st.sampled_from([None, "out", "out", "../out-up", "victim.zarr", "here", "~/o"]))
    TALLY["tried"] += 1
    note(f"mutations: {done}, argv extra: {extra}, dry run: {dry_run}, --out {out}")
    with sandbox_dir(template, monkeypatch) as (top, root), time_limit(TIME_LIMIT):
        (root / "job.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        before = tree_digest(top)
        result = run_job(root, text, extra, dry_run, out)
        outcome = check_outcome(top, before, result)
    TALLY[outcome] += 1


def test_zz_print_tally(capsys: pytest.CaptureFixture[str]) -> None:
    """The outcomes of the fuzz test (run in the same session)."""
    with capsys.disabled():
        print("\njob fuzz outcomes (each checked: victims unchanged, no traceback):")
        for outcome, n in sorted(TALLY.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {n:5d}  {outcome}")
