"""Checks of a job's outputs and cluster beyond their keys: what the file
system can hold (name and path lengths), picture options (checked by the
picture functions themselves, on stand-ins) and what a local cluster on this
machine can be (workers, threads, memory per worker).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bigimg.cluster import local_problem
from bigimg.pipeline.checks import Problems, StandIn, check_call
from bigimg.pipeline.document import line_of, suggest
from bigimg.pipeline.job import Output, Step

__all__ = [
    "RESERVE",
    "check_pictures",
    "draws_labels",
    "cluster",
    "message",
    "nameable",
    "path_problem",
    "short",
]

_CLUSTER: dict[str, type | tuple[type, ...]] = {
    "scheduler": str,
    "workers": int,
    "memory_limit": (str, int),
    "threads": int,
}


#: bytes of a name kept free for the names bigimg makes from it (``.NAME.bigimg-ID``)
RESERVE = 32


def _limits(path: Path) -> tuple[int, int]:
    """The longest name and path (bytes) the file system holding ``path`` takes."""
    for place in (path, *path.parents):
        try:
            return os.pathconf(place, "PC_NAME_MAX"), os.pathconf(place, "PC_PATH_MAX")
        except (OSError, ValueError):
            continue
    return 255, 4096


def path_problem(path: Path, *, reserve: int = 0) -> str | None:
    """Why the file system cannot hold the absolute ``path``, or None.

    Parameters
    ----------
    path : Path
        An absolute path.
    reserve : int, keyword-only
        Bytes each name must leave free (for the names derived from it).

    Returns
    -------
    str or None
        ``"a name too long (300 bytes; at most 223 here)"``, ``"path too long
        (...)"``, or that it is not a valid file name; None if it is fine.
    """
    try:
        parts = [os.fsencode(part) for part in path.parts]
        whole = len(os.fsencode(str(path)))
    except (UnicodeError, ValueError):
        return "not a valid path (it cannot be written as a file name)"
    name_max, path_max = _limits(path)
    longest = max((len(part) for part in parts[1:]), default=0)
    if longest > name_max - reserve:
        return f"a name too long ({longest} bytes; at most {name_max - reserve} here)"
    if whole + reserve >= path_max:
        return f"path too long ({whole} bytes; at most {path_max - reserve - 1} here)"
    return None


def nameable(outputs: tuple[Output, ...], p: Problems) -> tuple[Output, ...]:
    """The outputs whose paths the file system can hold; the others reported.

    Parameters
    ----------
    outputs : tuple of Output
        The job's outputs, their paths resolved.
    p : Problems
        Where each output refused is reported.

    Returns
    -------
    tuple of Output
        The outputs kept, in order.
    """
    out = []
    for o in outputs:
        problem = path_problem(o.path, reserve=RESERVE)
        if problem is None:
            out.append(o)
        else:
            p.add(o.line, f"output {short(str(o.path))}: {problem}")
    return tuple(out)


#: steps whose results are drawn as labels, unless they are masks
_LABEL_OPS = (
    "label",
    "relabel_sequential",
    "remove_small_objects",
    "watershed_ift",
    "relabel",
    "clear_border",
    "expand_labels",
    "watershed",
)


def draws_labels(kind: str | None, step: Step | None, value: StandIn) -> bool:
    """A picture of ``value`` (the result of ``step``) shows one colour per id:
    asked for (``kind: labels``), or by default for a label step's integer
    result (``remove_small_objects`` of a mask gives a mask)."""
    if kind is not None:
        return kind == "labels"
    return value.dtype != bool and step is not None and step.op in _LABEL_OPS


#: a path no picture can be at (its checks refuse existing ones)
_NOWHERE = "/dev/null/bigimg-check.png"


def check_pictures(
    outputs: tuple[Output, ...],
    steps: tuple[Step, ...],
    results: Mapping[str, StandIn],
    p: Problems,
) -> None:
    """Picture options checked by the picture functions themselves, on the
    stand-ins (so ``bins: -1`` is refused now, not when the job gets there).

    Parameters
    ----------
    outputs : tuple of Output
        The job's outputs (only pictures of images are checked).
    steps : tuple of Step
        The job's steps (label images are drawn as labels).
    results : mapping of str to StandIn
        Every input's and step's stand-in.
    p : Problems
        Where each problem is reported, at the output's line.
    """
    from bigimg import preview

    for out in outputs:
        value = results.get(out.source)
        if out.kind != "picture" or value is None or value.kind != "array":
            continue
        options = dict(out.options)
        kind = options.pop("kind", None)
        contour = options.pop("contour", None)
        try:
            if kind == "histogram":
                check_call(preview.save_histogram, value.probe, _NOWHERE, **options)
                continue
            if contour is not None:
                mask = results.get(str(contour))
                if mask is None or mask.kind != "array":
                    continue  # reported with the outputs
                options["contour"] = mask.probe
            step = next((s for s in steps if s.name == out.source), None)
            labels = draws_labels(kind, step, value)
            check_call(preview.save_image, value.probe, _NOWHERE, labels=labels, **options)
        except Exception as exc:
            p.add(out.line, f"output {str(out.path)!r}: {message(exc)}")


def short(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def message(exc: BaseException) -> str:
    """An exception's message for a problem line (its first line if long)."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0] if len(text) > 300 else text


def cluster(data: Mapping[str, Any], p: Problems, scheduler: str | None) -> dict[str, Any]:
    """The job's checked ``cluster`` section.

    Parameters
    ----------
    data : mapping
        The parsed job file.
    p : Problems
        Where each problem is reported.
    scheduler : str or None
        A scheduler address given on the command line: it replaces the section.

    Returns
    -------
    dict
        ``scheduler``, or ``workers``, ``memory_limit``, ``threads``: the valid keys.
    """
    spec = data.get("cluster") or {}
    line = line_of(data, "cluster")
    if not isinstance(spec, dict):
        p.add(
            line,
            "'cluster' must be a mapping: {workers: 2, memory_limit: 2GiB} or {scheduler: ADDR}",
        )
        return {}
    out = {}
    for key, value in spec.items():
        kind = _CLUSTER.get(key)
        if kind is None:
            p.add(line, f"cluster: unknown key {key!r}{suggest(key, _CLUSTER)}")
        elif not isinstance(value, kind) or isinstance(value, bool):
            p.add(line, f"cluster: {key}={short(value)} has the wrong type")
        elif key != "scheduler" and local_problem(key, value) is not None:
            p.add(line, f"cluster: {key}={short(value)} {local_problem(key, value)}")
        else:
            out[key] = value
    if "scheduler" in out and ("workers" in out or "memory_limit" in out):
        p.add(line, "cluster: give a scheduler address or local workers, not both")
    elif "memory_limit" in out and "workers" not in out:
        p.add(line, "cluster: memory_limit applies to local workers: give workers too")
    if scheduler:
        out = {"scheduler": scheduler}
    return out
