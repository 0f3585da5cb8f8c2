"""What a job is once its file is checked: its sources, steps and outputs.

:mod:`bigimg.pipeline.config` builds a :class:`Job` from a job file; the
checks, the plan and the run read it. A job and everything in it is frozen,
and :meth:`Job.fingerprint` hashes what each value depends on, which is what
resuming compares.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask.array as da

from bigimg import datasets
from bigimg.pipeline import ops
from bigimg.pipeline.checks import StandIn

__all__ = ["WORK_DIR", "Job", "Output", "Source", "Step", "digest", "jsonable", "work_dir"]

WORK_DIR = ".bigimg-job"


@dataclass(frozen=True)
class Output:
    """Where a result goes: an array store, a table file or a picture."""

    source: str
    path: Path
    kind: str  # 'array', 'table' or 'picture'
    format: str  # zarr, ome-zarr, tiff, csv, parquet, png
    options: Mapping[str, Any]
    line: int


def work_dir(out_dir: Path) -> Path:
    """The job's work directory (checkpoints, journal, lock) in ``out_dir``."""
    return out_dir / WORK_DIR


@dataclass(frozen=True)
class Source:
    """An input image: a file (``path`` with open options) or a synthetic one."""

    name: str
    line: int
    path: Path | None
    synthetic: str | None
    options: Mapping[str, Any]
    chunks: Any
    identity: str  # what the data is: spec, plus file size and time for files

    def open(self) -> da.Array:
        """The lazy image."""
        import bigimg

        if self.synthetic is not None:
            return getattr(datasets, self.synthetic)(**self.options, chunks=self.chunks or "auto")
        return bigimg.open(self.path, chunks=self.chunks, **self.options)


@dataclass(frozen=True)
class Step:
    """One named step: an operation with parameters, or an expression."""

    name: str
    line: int
    op: str  # an operation name, or "expr"
    params: Mapping[str, Any]  # literal parameters (references excluded)
    refs: Mapping[str, str]  # parameter -> the input or step it names
    expr: ops.Expression | None = None

    @property
    def uses(self) -> tuple[str, ...]:
        return self.expr.names if self.expr is not None else tuple(self.refs.values())


@dataclass(frozen=True)
class Job:
    """A validated job; ``results`` describes every input and step's value."""

    file: str
    name: str
    output_dir: Path
    sources: tuple[Source, ...]
    steps: tuple[Step, ...]
    outputs: tuple[Output, ...]
    cluster: Mapping[str, Any]
    results: Mapping[str, StandIn] = field(repr=False)
    overwrite: bool = False

    @property
    def work_dir(self) -> Path:
        """Where checkpoints, the resume journal and the lock live."""
        return work_dir(self.output_dir)

    def fingerprint(self, name: str) -> str:
        """A hash of everything ``name``'s value depends on (its step, the steps
        and inputs before it): equal fingerprints mean equal values."""
        return _fingerprints(self)[name]

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)

    def output_fingerprint(self, output: Output) -> str:
        """What an output file holds: its value and how it is written."""
        return digest([self.fingerprint(output.source), output.format, jsonable(output.options)])


def _fingerprints(job: Job) -> dict[str, str]:
    out: dict[str, str] = {}
    for s in job.sources:
        out[s.name] = digest(["source", s.identity])
    for st in job.steps:
        spec = {
            "op": st.op,
            "params": jsonable(st.params),
            "refs": {k: out[v] for k, v in st.refs.items()},
            "expr": st.expr.text if st.expr else None,
            "names": {n: out[n] for n in st.expr.names} if st.expr else None,
        }
        out[st.name] = digest(spec)
    return out


def digest(value: Any) -> str:
    """A short hash of a JSON-able value (a fingerprint)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def jsonable(value: Any) -> Any:
    """``value`` as JSON reads it back (what a fingerprint hashes)."""
    return json.loads(json.dumps(value, default=str))
