"""Every option error of every ``bigimg`` subcommand: a message naming the
option, exit status 2, no traceback, nothing written."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import bigimg
from bigimg.cli import main
from bigimg.pipeline import document
from bigimg.pipeline.document import JobFileError, parse, set_option

TUTORIAL = Path(bigimg.__file__).parent / "configs" / "tutorial.yaml"
RAW = ["a.raw", "--dtype", "u2", "--shape", "20,20"]
PNG = ["-o", "p.png"]


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of small inputs, the working directory of the test."""
    monkeypatch.chdir(tmp_path)
    image = np.arange(400, dtype="<u2").reshape(20, 20)
    image.tofile(tmp_path / "a.raw")
    np.save(tmp_path / "a.npy", image)
    bigimg.save(image, tmp_path / "a.ome.zarr", min_size=8)
    (tmp_path / "file.txt").write_text("not a folder")
    (tmp_path / "binary.yaml").write_bytes(bytes(range(256)))
    (tmp_path / "folder.yaml").mkdir()
    text = TUTORIAL.read_text().replace("[4096, 4096]", "[64, 64]")
    (tmp_path / "job.yaml").write_text(text.replace("[1024, 1024]", "[32, 32]"))
    return tmp_path


def _refused_port() -> int:
    """A local port nothing listens on (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def junk_server() -> Iterator[str]:
    """The address of a server that answers every connection with HTTP, not dask."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" * 64)

    threading.Thread(target=serve, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()


CASES = [
    # info (and the source options info, convert and preview share)
    (["info", "a.raw", "--dtype", "u2", "--shape", "abc"], "--shape"),
    (["info", "a.raw", "--dtype", "u2", "--shape", "0,-1"], "--shape"),
    (["info", "a.raw", "--dtype", "u2", "--shape", ","], "--shape"),
    (["info", *RAW, "--offset", "-5"], "--offset"),
    (["info", *RAW, "--offset", "x"], "--offset"),
    (["info", "a.raw", "--dtype", "nonsense", "--shape", "20,20"], "--dtype"),
    (["info", "a.ome.zarr", "--level", "-1"], "--level"),
    (["info", "a.ome.zarr", "--level", "99"], "level=99"),
    (["info", "a.ome.zarr", "--component", "missing"], "'missing'"),
    (["info", "a.npy", "--format", "xyz"], "--format"),
    (["info", *RAW, "--order", "Q"], "--order"),
    (["info"], "path"),
    (["info", "a.npy", "--no-such-option"], "--no-such-option"),
    # convert
    (["convert", "a.npy", "o.zarr", "--chunks", "0,0"], "--chunks"),
    (["convert", "a.npy", "o.zarr", "--chunks", "-1,5"], "--chunks"),
    (["convert", "a.npy", "o.zarr", "--chunks", "x"], "--chunks"),
    (["convert", "a.npy", "o.zarr", "--zarr-format", "4"], "--zarr-format"),
    (["convert", "a.npy", "o.zarr", "--workers", "0"], "--workers"),
    (["convert", "a.npy", "o.zarr", "--workers", "-1"], "--workers"),
    (["convert", "a.npy", "o.zarr", "--workers", "1", "--memory-limit", "lots"], "--memory-limit"),
    (["convert", "a.npy", "o.zarr", "--memory-limit", "0"], "--memory-limit"),
    (["convert", "a.npy", "o.zarr", "--memory-limit", "2GiB"], "--workers too"),
    (["convert", "a.npy", "o.zarr", "--workers", "100000"], "--workers"),
    (["convert", "a.npy", "o.zarr", "--workers", "1", "--memory-limit", "-1GiB"], "--memory"),
    (["convert", "a.npy", "o.zarr", "--workers", "1", "--scheduler", "tcp://h:1"], "--scheduler"),
    (["convert", "a.npy", "o.zarr", "--scheduler", "not-an-address"], "--scheduler"),
    (["convert", "a.npy", "o.zarr", "--scheduler", "tcp://host:99999"], "--scheduler"),
    (["convert", "a.npy", "o.zarr", "--to", "xyz"], "--to"),
    (["convert", "a.npy", "file.txt/o.zarr"], "target file.txt/o.zarr"),
    # options the format does not take
    (["info", "a.npy", "--component", "x"], "got ['component']"),
    (["info", "a.npy", "--offset", "3"], "got ['offset']"),
    (["info", "a.ome.zarr", "--order", "F"], "got ['order']"),
    # run
    (["run", "missing.yaml"], "missing.yaml"),
    (["run", "folder.yaml"], "folder.yaml"),
    (["run", "binary.yaml"], "binary.yaml: the job file is not text"),
    (["run", "job.yaml", "--out", "file.txt/out"], "--out file.txt/out"),
    (["run", "job.yaml", "--scheduler", "not-an-address", "--dry-run"], "--scheduler"),
    (["run", "job.yaml", "--set", "input.dtype=>u2"], """--set 'input.dtype=">u2"'"""),
    (["run", "job.yaml", "--set", "input.dtype=|u2"], "--set 'input.dtype=|u2'"),
    (["run", "job.yaml", "--set", "input..shape=[8,8]"], "empty part"),
    (["run", "job.yaml", "--set", ".shape=[8,8]"], "empty part"),
    (["run", "job.yaml", "--set", "input.=1"], "empty part"),
    (["run", "job.yaml", "--set", "outputs.path=x"], "'outputs' is a list"),
    (["run", "job.yaml", "--set", "input.shape.x=1"], "'input.shape' is a list"),
    (["run", "job.yaml", "--set", "input.seed.x=1"], "'input.seed' is 0"),
    (["run", "job.yaml", "--set", "input.shape"], "expected KEY=VALUE"),
    (["run", "job.yaml", "--set", "input.shape=[8,"], "not valid YAML"),
    (["run", "job.yaml", "--set", "input.seed=@1"], "not valid YAML"),
    (["run", "job.yaml", "--set", "input.seed=*x"], "undefined alias"),
    (["run", "job.yaml", "--set", "input.x={a: 1, a: 2}"], "'a' is given twice"),
    (["run", "job.yaml", "--set", "input.x=" + "[" * 100 + "]" * 100], "levels deep"),
    (["run", "job.yaml", "--set", "input.x=&a [*a]"], "contains it"),
    # demo
    (["demo", "--shape", "abc"], "--shape"),
    (["demo", "--shape", "0,-1"], "--shape"),
    (["demo", "--chunks", "0,0"], "--chunks"),
    (["demo", "--seed", "-1"], "--seed"),
    (["demo", "--seed", str(2**64)], "--seed"),
    (["demo", "--out", "file.txt/demo"], "--out file.txt/demo"),
    (["demo", "--scheduler", "not-an-address"], "--scheduler"),
    # preview
    (["preview", *RAW, *PNG, "--max-size", "0"], "max_size=0"),
    (["preview", *RAW, *PNG, "--histogram", "--bins", "0"], "bins=0"),
    (["preview", *RAW, *PNG, "--histogram", "--bins", str(2**63)], "bins=9223372036854775808"),
    (["preview", *RAW, *PNG, "--plane", "99"], "plane=99"),
    (["preview", *RAW, *PNG, "--vmin", "nan"], "--vmin"),
    (["preview", *RAW, *PNG, "--vmax", "inf"], "--vmax"),
    (["preview", *RAW, *PNG, "--contour", "a.npy", "--levels", "a,b"], "--levels"),
    (["preview", *RAW, *PNG, "--contour", "a.npy", "--levels", "0.5,nan"], "--levels"),
    (["preview", *RAW, *PNG, "--histogram", "--threshold", "x"], "--threshold"),
    (["preview", *RAW, *PNG, "--histogram", "--threshold", "nan"], "--threshold"),
    (["preview", *RAW, *PNG, "--contour", "missing.npy"], "--contour"),
    (["preview", *RAW, *PNG, "--bins", "8"], "--bins needs --histogram"),
    (["preview", *RAW, "-o", "file.txt/p.png"], "--out file.txt/p.png"),
    (["preview", *RAW, "-o", "p.txt"], "--out p.txt"),
    (["preview", *RAW], "--out"),
]


@pytest.mark.parametrize(("argv", "named"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_option_errors_name_the_option(
    argv: list[str], named: str, files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.name for p in files.iterdir())
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith((f"bigimg {argv[0]}: error:", "bigimg: error:")), err  # no usage
    assert named in err, err
    assert "Traceback" not in err
    assert sorted(p.name for p in files.iterdir()) == before  # nothing written


def test_help_and_version_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("bigimg ")
    assert main(["preview", "--help"]) == 0


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["run", "job.yaml", "--set", "input.dtype=>u2"], "quote it"),
        (["convert", "a.npy", "o.zarr", "--chunks", "0,0"], "--chunks"),
        (["info", "a.raw", "--dtype", "u2", "--shape", "abc"], "--shape"),
        (["run", "binary.yaml"], "binary.yaml"),
    ],
)
def test_the_command_prints_no_traceback(argv: list[str], named: str, files: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bigimg.cli", *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert named in done.stderr
    assert "Traceback" not in done.stderr


def _refused_quickly(argv: list[str], named: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = time.perf_counter()
    assert main(argv) == 2
    assert time.perf_counter() - start < 15
    err = capsys.readouterr().err
    assert named in err and "--scheduler" in err, err


@pytest.mark.parametrize("command", ["convert", "run", "demo"])
def test_a_scheduler_nobody_answers_at_is_refused_before_work(
    command: str, files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"tcp://127.0.0.1:{_refused_port()}"
    argv = {
        "convert": ["convert", "a.npy", "o.zarr"],
        "run": ["run", "job.yaml", "--out", "out", "--quiet"],
        "demo": ["demo", "--out", "out", "--shape", "64,64"],
    }[command]
    _refused_quickly([*argv, "--scheduler", address], "no scheduler answers", capsys)
    assert not (files / "o.zarr").exists() and not (files / "out").exists()


def test_a_server_that_is_not_a_scheduler_is_refused(
    files: Path, junk_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # distributed itself ended in a MemoryError traceback, exit 1, on such a reply
    argv = ["convert", "a.npy", "o.zarr", "--scheduler", junk_server]
    _refused_quickly(argv, "not a dask scheduler", capsys)
    assert not (files / "o.zarr").exists()


def test_a_real_scheduler_is_accepted(files: Path, local_cluster: object) -> None:
    address = local_cluster.scheduler.address  # type: ignore[attr-defined]
    # absolute paths: the session's workers run in another folder (see the report)
    argv = ["convert", str(files / "a.npy"), str(files / "o.zarr"), "--scheduler", address]
    assert main(argv) == 0
    np.testing.assert_array_equal(bigimg.open("o.zarr").compute(), np.load("a.npy"))


def test_valid_options_still_work(files: Path) -> None:
    assert main(["preview", *RAW, *PNG, "--contour", "a.npy", "--levels", "100,200"]) == 0
    assert (
        main(["preview", *RAW, "-o", "h.png", "--histogram", "--threshold", "5", "--bins", "8"])
        == 0
    )
    assert main(["convert", *RAW[:1], "o.zarr", *RAW[1:], "--chunks", "8x8", "--to", "zarr"]) == 0
    assert bigimg.info("o.zarr").chunks == (8, 8)


# --- --set, as the pipeline reads it ---------------------------------------------------


@pytest.mark.parametrize(
    ("assignment", "value"),
    [
        ("input.dtype=<u2", "<u2"),
        ("input.dtype='>u2'", ">u2"),
        ('input.dtype=">u2"', ">u2"),
        ("input.shape=[8, 8]", [8, 8]),
        ("input.seed=3", 3),
        ("input.sigma=0.5", 0.5),
        ("input.name=plain text", "plain text"),
        ("input.none=", None),
        (" input . seed =3", 3),
        ("steps.x={op: label, input: mask}", {"op": "label", "input": "mask"}),
    ],
)
def test_set_reads_yaml_values(assignment: str, value: object) -> None:
    data: dict[str, object] = {"input": {"seed": 0}}
    set_option(data, assignment)
    section, key = assignment.partition("=")[0].replace(" ", "").split(".")
    assert data[section][key] == value  # type: ignore[index]


def test_set_creates_missing_and_empty_sections() -> None:
    data, _ = parse("input: {seed: 0}\ncluster:\n", "job.yaml")
    set_option(data, "cluster.workers=2")
    set_option(data, "new.key=1")
    assert data["cluster"] == {"workers": 2} and data["new"] == {"key": 1}
    assert data["input"] == {"seed": 0}


@pytest.mark.parametrize(
    ("data", "assignment", "message"),
    [
        ({"a": [1, 2]}, "a.b=1", "'a' is a list"),
        ({"a": [1, 2]}, "a.b.c=1", "'a' is a list"),
        ({"a": 5}, "a.b=1", "'a' is 5"),
        ([1, 2], "a.b=1", "not a mapping"),
        (None, "a=1", "not a mapping"),
        ({}, "a..b=1", "empty part"),
        ({}, ".x=1", "empty part"),
        ({}, "x.=1", "empty part"),
        ({}, "=1", "expected KEY=VALUE"),
        ({}, "x=>u2", """--set 'x=">u2"'"""),
        ({}, "x=|", "block scalar"),
        ({}, "x=[", "not valid YAML"),
        ({}, "x=!!python/object/apply:os.system [ls]", "not valid YAML"),
        ({}, "x=1\n---\n2", "not valid YAML"),
        ({}, "x=\x00", "not valid YAML"),
        ({}, "x=" + "[" * 5000 + "]" * 5000, "levels deep"),
        ({}, "x=" + "{a: " * 2000 + "1" + "}" * 2000, "levels deep"),
        ({}, "x=" + "y" * 200_000, "longer than"),
        ({}, "x=&a [*a]", "contains it"),
    ],
)
def test_set_errors_are_job_file_errors(data: object, assignment: str, message: str) -> None:
    with pytest.raises(JobFileError) as info:
        set_option(data, assignment)
    assert message in str(info.value)
    assert str(info.value).startswith("--set ")
    assert len(str(info.value)) < 400  # long values are cut short in the message


def _laughs(n: int) -> str:
    """YAML whose aliases expand to 2**n values."""
    defs = ", ".join(f"&a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, n + 1))
    return f"[&a0 [1, 1], {defs}]"


def test_aliases_that_expand_exponentially_are_refused_quickly() -> None:
    start = time.perf_counter()
    with pytest.raises(JobFileError, match="more than 100000 values"):
        set_option({}, "x=" + _laughs(40))
    with pytest.raises(JobFileError, match="more than 100000 values"):
        parse(f"input: {_laughs(40)}\n", "job.yaml")
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 5000 + "]" * 5000, "levels deep"),
        ("- " * 3000 + "1", "levels deep"),
        ("\x00\x01binary", "not valid YAML"),
        ("a: &x [*x]", "contains it"),
        ("x" * (document.MAX_TEXT + 1), "longer than"),
    ],
)
def test_job_files_that_cannot_be_read_are_job_file_errors(text: str, message: str) -> None:
    with pytest.raises(JobFileError, match=message):
        parse(text, "job.yaml")


def test_a_job_file_keeps_its_lines_and_duplicates() -> None:
    data, duplicates = parse("a: 1\nb:\n  c: 2\na: 3\n", "job.yaml")
    assert data == {"a": 3, "b": {"c": 2}}
    assert duplicates == [(4, "'a' is given twice")]
    assert document.line_of(data["b"], "c") == 3
