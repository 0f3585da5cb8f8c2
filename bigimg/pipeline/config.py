"""A job file (YAML) -> a validated, frozen :class:`Job`; every problem at once.

A job names its inputs, its steps and its outputs::

    output_dir: tutorial-out          # relative output paths go here
    input:                            # or inputs: {name: source, ...}
      synthetic: blobs_intensity      # a bigimg.datasets image, or path: scan.raw
      shape: [4096, 4096]
      chunks: [1024, 1024]
    steps:                            # name: what it is, in order
      blurred: {op: gaussian_filter, input: image, sigma: 2}
      mask: {expr: "blurred > 0.5"}
      labels: {op: label, input: mask}
      regions: {op: region_table, labels: labels, image: image}
    outputs:
      - {from: labels, path: labels.zarr}
      - {from: regions, path: regions.csv}
      - {from: image, path: image.png, contour: mask}
    cluster: {workers: 2, memory_limit: 2GiB}   # or {scheduler: tcp://...}

:func:`load` checks the whole file before any work: the YAML itself, unknown
keys, unknown operations and parameters (against the operation's real
signature), parameter values (each operation is built on stand-in images of
the real shapes and dtypes, which computes nothing, or run on tiny ones where
it reduces), names used before they are defined, missing input files,
outputs of the wrong kind, and outputs that exist already. Each problem names
the file, line and step; :class:`ConfigError` carries them all.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import dask

from bigimg import datasets
from bigimg._budget import CHECK
from bigimg.errors import BigimgError
from bigimg.io import targets
from bigimg.pipeline import ops, sections, writes
from bigimg.pipeline.checks import Problems, StandIn, stand_in_result
from bigimg.pipeline.document import JobFileError, line_of, parse, set_option, suggest
from bigimg.pipeline.job import Job, Output, Source, Step, digest, jsonable
from bigimg.pipeline.sections import short

__all__ = ["ConfigError", "Job", "Output", "Source", "Step", "load", "loads"]

_TOP = ("job", "output_dir", "input", "inputs", "steps", "outputs", "cluster")
_SOURCE_PATH_OPTIONS = (
    "format",
    "dtype",
    "shape",
    "offset",
    "order",
    "component",
    "level",
    "series",
    "missing_chunks",
)
_SYNTHETIC = tuple(n for n in datasets.__all__ if n != "noisy")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(BigimgError, ValueError):
    """A job file with problems; ``problems`` lists them, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        n = len(problems)
        super().__init__(f"{n} problem{'s' * (n != 1)} in the job:\n  " + "\n  ".join(problems))


# --- the checks -----------------------------------------------------------------------


def load(
    path: str | Path,
    *,
    output_dir: str | Path | None = None,
    overwrite: bool = False,
    scheduler: str | None = None,
    settings: tuple[str, ...] = (),
) -> Job:
    r"""Read and check the job file at ``path``, before any work.

    Everything is checked at once: the YAML, unknown sections, operations and
    parameters, parameter values (each step is built on stand-in images of
    the real shapes and dtypes; nothing is computed), names used before they
    are defined, missing inputs and outputs that exist already.

    Parameters
    ----------
    path : str or Path
        The YAML job file.
    output_dir : str or Path, optional, keyword-only
        Overrides the file's ``output_dir`` (relative output paths go there;
        default: the file's, else ``<job name>-out``).
    overwrite : bool, optional, keyword-only
        Allow replacing outputs that exist and were not written by this job.
    scheduler : str, optional, keyword-only
        A scheduler address, overriding the file's ``cluster``.
    settings : tuple of str, optional, keyword-only
        ``KEY=VALUE`` overrides applied to the file first (``input.shape=[64,64]``).

    Returns
    -------
    Job
        The checked, frozen job, for :func:`bigimg.pipeline.plan` and
        :func:`bigimg.pipeline.run`; its name is the file's ``job``, else the
        file name's stem.

    Raises
    ------
    ConfigError
        Listing every problem found, each with its line and step (also when
        the file cannot be read).

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "tiny.yaml")
    >>> with open(path, "w") as f:
    ...     _ = f.write(
    ...         "input: {synthetic: square, shape: [32, 32], chunks: 16}\n"
    ...         "steps:\n"
    ...         "  mask: {expr: image > 0.5}\n"
    ...         "  labels: {op: label, input: mask}\n"
    ...         "outputs:\n"
    ...         "  - {from: labels, path: labels.zarr}\n"
    ...     )
    >>> job = load(path, output_dir=os.path.join(folder, "out"), settings=("input.shape=[16,16]",))
    >>> job.name, [s.name for s in job.steps], job.results["image"].shape
    ('tiny', ['mask', 'labels'], (16, 16))
    """
    file = str(path)
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError([f"{file}: cannot read the job file: {exc.strerror or exc}"]) from None
    return loads(
        text,
        file=file,
        output_dir=output_dir,
        overwrite=overwrite,
        scheduler=scheduler,
        settings=settings,
    )


def loads(
    text: str,
    *,
    file: str = "<job>",
    output_dir: str | Path | None = None,
    overwrite: bool = False,
    scheduler: str | None = None,
    settings: tuple[str, ...] = (),
) -> Job:
    r"""Check the text of a job file, as :func:`load` does for a file.

    Parameters
    ----------
    text : str
        The YAML of the job.
    file : str, optional, keyword-only
        The name problems are reported under (default ``'<job>'``); its stem
        is the job's name unless the text has ``job:``.
    output_dir : str or Path, optional, keyword-only
        Overrides the text's ``output_dir`` (default: the text's, else
        ``<job name>-out``).
    overwrite : bool, optional, keyword-only
        Allow replacing outputs that exist and were not written by this job.
    scheduler : str, optional, keyword-only
        A scheduler address, overriding the text's ``cluster``.
    settings : tuple of str, optional, keyword-only
        ``KEY=VALUE`` overrides applied to the text first (``input.shape=[64,64]``).

    Returns
    -------
    Job
        The checked, frozen job.

    Raises
    ------
    ConfigError
        Listing every problem found, each with its line and step.

    Examples
    --------
    >>> import tempfile
    >>> text = (
    ...     "input: {synthetic: square, shape: [32, 32], chunks: 16}\n"
    ...     "steps:\n"
    ...     "  mask: {expr: image > 0.5}\n"
    ...     "  labels: {op: label, input: mask}\n"
    ...     "outputs:\n"
    ...     "  - {from: labels, path: labels.zarr}\n"
    ... )
    >>> job = loads(text, output_dir=tempfile.mkdtemp())
    >>> [s.name for s in job.steps], [o.path.name for o in job.outputs]
    (['mask', 'labels'], ['labels.zarr'])
    >>> try:
    ...     loads(text.replace("op: label", "op: labl"), file="job.yaml")
    ... except ConfigError as error:
    ...     print(error.problems)
    ["job.yaml:4: step 'labels': unknown op 'labl' (did you mean 'label'?)"]
    """
    # a job's memory is checked on its plan (bigimg.pipeline.budget), not call by call
    with dask.config.set({CHECK: False}):
        return _loads(text, file, output_dir, overwrite, scheduler, settings)


def _loads(
    text: str,
    file: str,
    output_dir: str | Path | None,
    overwrite: bool,
    scheduler: str | None,
    settings: tuple[str, ...],
) -> Job:
    try:
        data, duplicates = parse(text, file)
        for assignment in settings:
            set_option(data, assignment)
    except JobFileError as exc:
        raise ConfigError(exc.problems) from None
    p = Problems(file)
    for line, message in duplicates:
        p.add(line, message)
    if not isinstance(data, dict):
        p.add(0, "a job file is a mapping with input, steps and outputs")
        raise ConfigError(p.items)
    for key in data:
        if key not in _TOP:
            p.add(line_of(data, key), f"unknown section {key!r}{suggest(key, _TOP)}")
    job_name, file_dir = data.get("job"), data.get("output_dir")
    if job_name is not None and not isinstance(job_name, str | int):
        p.add(line_of(data, "job"), f"job must be a name, not {short(job_name)}")
        job_name = None
    if file_dir is not None and not isinstance(file_dir, str):
        p.add(
            line_of(data, "output_dir"), f"output_dir must be a folder path, not {short(file_dir)}"
        )
        file_dir = None
    name = str(job_name or Path(file).stem)
    given_dir = output_dir if output_dir is not None else file_dir or f"{name}-out"
    try:
        out_dir = targets.resolve(Path(str(given_dir)).expanduser())
    except (TypeError, ValueError) as exc:
        p.add(line_of(data, "output_dir"), f"output_dir {short(given_dir)}: {exc}")
        raise ConfigError(p.items) from None
    problem = sections.path_problem(out_dir, reserve=sections.RESERVE)
    if problem is not None:
        p.add(line_of(data, "output_dir"), f"output_dir {short(str(given_dir))}: {problem}")
        raise ConfigError(p.items)
    sources = _sources(data, p)
    results: dict[str, StandIn] = {}
    for s in sources:
        try:
            results[s.name] = StandIn.of(s.open())
        except Exception as exc:
            p.add(s.line, f"input {s.name!r}: {sections.message(exc)}")
    steps = _steps(data, p, sources, results)
    cluster = sections.cluster(data, p, scheduler)
    declared = cast(dict, data.get("steps")) if isinstance(data.get("steps"), dict) else {}
    names = {s.name for s in sources} | {str(n) for n in declared}
    outputs = sections.nameable(writes.outputs(data, p, out_dir, results, names), p)
    sections.check_pictures(outputs, steps, results, p)
    writes.check_paths(out_dir, sources, outputs, p, line_of(data, "output_dir"))
    writes.check_writable(out_dir, outputs, p, line_of(data, "output_dir"))
    job = Job(file, name, out_dir, sources, steps, outputs, cluster, results, overwrite)
    if not p.items:
        writes.check_targets(job, p)
    if p.items:
        raise ConfigError(p.items)
    return job


def _plain(value: Any) -> Any:
    """``value`` with the parser's mappings (which remember lines) as dicts."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _chunks_ok(chunks: Any, depth: int = 0) -> bool:
    """``chunks`` is None, ``"auto"``, a positive int (or -1: a whole axis), or
    a list of those per axis (or of explicit chunk sizes)."""
    if chunks is None or chunks == "auto":
        return depth < 2
    if isinstance(chunks, int) and not isinstance(chunks, bool):
        return chunks >= 1 or (chunks == -1 and depth < 2)
    if isinstance(chunks, list) and depth < 2:
        return bool(chunks) and all(_chunks_ok(c, depth + 1) for c in chunks)
    return False


def _sources(data: Mapping[str, Any], p: Problems) -> tuple[Source, ...]:
    if "input" in data and "inputs" in data:
        p.add(line_of(data, "inputs"), "give either 'input' (one image) or 'inputs', not both")
    if "inputs" in data:
        specs = data["inputs"]
        if not isinstance(specs, dict) or not specs:
            p.add(line_of(data, "inputs"), "'inputs' must map names to sources")
            return ()
    elif "input" in data:
        specs = {"image": data["input"]}
    else:
        p.add(0, "the job has no 'input' (a file path or a synthetic image)")
        return ()
    out = []
    for name, spec in specs.items():
        line = line_of(specs, name) or line_of(data, "input")
        if not isinstance(name, str) or not _NAME.match(name):
            p.add(line, f"input name {name!r} must be a Python identifier")
            continue
        if not isinstance(spec, dict):
            p.add(line, f"input {name!r} must be a mapping (path: ... or synthetic: ...)")
            continue
        source = _source(name, spec, line, p)
        if source is not None:
            out.append(source)
    return tuple(out)


def _source(name: str, spec: Mapping[str, Any], line: int, p: Problems) -> Source | None:
    spec = dict(spec)
    chunks = spec.pop("chunks", None)
    if not _chunks_ok(chunks):
        p.add(
            line,
            f"input {name!r}: chunks={short(chunks)}: chunk sizes must be positive integers "
            "(one for all axes, or one per axis; -1 for a whole axis), or 'auto'",
        )
        return None
    if ("path" in spec) == ("synthetic" in spec):
        p.add(line, f"input {name!r} needs exactly one of 'path' and 'synthetic'")
        return None
    if "synthetic" in spec:
        kind = spec.pop("synthetic")
        if kind not in _SYNTHETIC:
            known = f"{suggest(kind, _SYNTHETIC)}; one of {', '.join(_SYNTHETIC)}"
            p.add(line, f"input {name!r}: unknown synthetic image {kind!r}{known}")
            return None
        params = inspect.signature(getattr(datasets, kind)).parameters
        for key in spec:
            if key not in params or key == "chunks":
                p.add(
                    line, f"input {name!r}: {kind} has no parameter {key!r}{suggest(key, params)}"
                )
                return None
        identity = digest(["synthetic", kind, jsonable(spec), jsonable(chunks)])
        return Source(name, line, None, kind, spec, chunks, identity)
    given = str(spec.pop("path"))
    try:  # resolved as outputs are: missing/../scan.tif is scan.tif
        path = targets.resolve(given)
    except (TypeError, ValueError) as exc:
        p.add(line, f"input {name!r}: path {given!r}: {exc}")
        return None
    for key in spec:
        if key not in _SOURCE_PATH_OPTIONS:
            p.add(
                line,
                f"input {name!r}: unknown option {key!r}{suggest(key, _SOURCE_PATH_OPTIONS)}",
            )
            return None
    problem = sections.path_problem(path)
    if problem is not None:
        p.add(line, f"input {name!r}: {short(given)}: {problem}")
        return None
    try:
        stat = path.stat()
    except FileNotFoundError:
        p.add(line, f"input {name!r}: file not found: {given!r}")
        return None
    except OSError as exc:
        p.add(line, f"input {name!r}: {short(given)}: {exc.strerror or exc}")
        return None
    identity = digest(
        [
            "file",
            str(path.resolve()),
            stat.st_size,
            stat.st_mtime_ns,
            jsonable(spec),
            jsonable(chunks),
        ]
    )
    return Source(name, line, path, None, spec, chunks, identity)


def _steps(
    data: Mapping[str, Any], p: Problems, sources: tuple[Source, ...], results: dict[str, StandIn]
) -> tuple[Step, ...]:
    specs = data.get("steps") or {}
    if not isinstance(specs, dict):
        p.add(
            line_of(data, "steps"), "'steps' must map step names to {op: ..., ...} or {expr: ...}"
        )
        return ()
    all_names = [s.name for s in sources] + [str(n) for n in specs]
    defined = {s.name for s in sources}
    out = []
    for name, spec in specs.items():
        line = line_of(specs, name)
        where = f"step {name!r}"
        if not isinstance(name, str) or not _NAME.match(name):
            p.add(line, f"{where}: a step name must be a Python identifier")
            continue
        if name in defined:
            p.add(line, f"{where}: the name is already used by an input or an earlier step")
            continue
        step = _step(name, spec, line, p, all_names, defined)
        defined.add(name)
        if step is None:
            continue
        out.append(step)
        if all(u in results for u in step.uses):
            try:
                results[name] = stand_in_result(step, results)
            except Exception as exc:
                p.add(line, f"{where}: {step.op}: {sections.message(exc)}")
    return tuple(out)


def _step(
    name: str, spec: Any, line: int, p: Problems, all_names: list[str], defined: set[str]
) -> Step | None:
    where = f"step {name!r}"
    if not isinstance(spec, dict):
        p.add(
            line,
            f"{where}: expected a mapping like {{op: gaussian_filter, input: image, sigma: 2}}",
        )
        return None
    spec = dict(spec)

    def known(ref: str) -> bool:
        if ref in defined:
            return True
        later = (
            " (it is defined later: steps run in the order written)" if ref in all_names else ""
        )
        p.add(
            line,
            f"{where}: uses {ref!r}, which is not an input or an earlier step{later}"
            f"{suggest(ref, defined) if not later else ''}",
        )
        return False

    if "expr" in spec:
        if set(spec) != {"expr"}:
            p.add(line, f"{where}: an expression step has only 'expr' (found {sorted(spec)})")
            return None
        try:
            expr = ops.Expression(spec["expr"])
        except ValueError as exc:
            p.add(line, f"{where}: {exc}")
            return None
        ok = all([known(n) for n in expr.names])
        return Step(name, line, "expr", {}, {}, expr) if ok else None
    op = spec.pop("op", None)
    if op is None:
        p.add(line, f"{where}: needs 'op' (an operation) or 'expr' (an expression)")
        return None
    if not isinstance(op, str):
        p.add(line, f"{where}: op must name an operation, not {short(op)}")
        return None
    func = ops.OPERATIONS.get(op)
    if func is None:
        p.add(line, f"{where}: unknown op {op!r}{suggest(op, ops.OPERATIONS)}")
        return None
    params = inspect.signature(func).parameters
    first = ops.first_parameter(func)
    if "input" in spec and first != "input":
        spec[first] = spec.pop("input")
    literal, refs, ok = {}, {}, True
    for key, value in spec.items():
        if key not in params or params[key].kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            p.add(line, f"{where}: {op} has no parameter {key!r}{suggest(key, params)}")
            ok = False
        elif key in ("output",):
            p.add(line, f"{where}: 'output' is not a job parameter (name outputs in 'outputs')")
            ok = False
        elif (key == first or key in ops.ARRAY_PARAMETERS) and isinstance(value, str):
            ok = known(value) and ok
            refs[key] = value
        elif (key == first or key in ops.ARRAY_PARAMETERS) and isinstance(value, dict):
            p.add(
                line,
                f"{where}: {key} must name an input or earlier step, not {short(_plain(value))}",
            )
            ok = False
        else:
            literal[key] = _plain(value)
    if first not in refs:
        p.add(line, f"{where}: {op} needs its image: {first}: <an input or earlier step>")
        ok = False
    for key, param in params.items():
        required = param.default is inspect.Parameter.empty and param.kind not in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        )
        if required and key != first and key not in literal and key not in refs:
            p.add(line, f"{where}: {op} needs the parameter {key!r}")
            ok = False
    return Step(name, line, op, literal, refs) if ok else None
