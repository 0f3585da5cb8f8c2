"""A job file's YAML: parsed with the line of every key, and ``--set`` overrides.

Mappings come back as dicts that remember each key's line, so every problem
found later can name its line; a key given twice is reported, not silently
overwritten (plain YAML keeps the last).
"""

from __future__ import annotations

import difflib
from typing import Any

import yaml

__all__ = ["line_of", "parse", "set_option", "suggest"]


class JobFileError(Exception):
    """Problems that stop the reading of a job file (see ``ConfigError``)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class _Map(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers the line of each key."""

    line = 0
    lines: dict[Any, int]


class _Loader(yaml.SafeLoader):
    duplicates: list[tuple[int, str]]


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in out:
            loader.duplicates.append((line, f"{key!r} is given twice"))
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = line
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse(text: str, file: str) -> tuple[Any, list[tuple[int, str]]]:
    """The YAML document in ``text`` and the keys given twice, as (line, message)."""
    loader = _Loader(text)
    loader.duplicates = []
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        raise JobFileError([f"{file}: {where}: not valid YAML: {exc}"]) from None
    finally:
        loader.dispose()
    return data, loader.duplicates


def line_of(mapping: Any, key: Any = None) -> int:
    """The line of ``key`` in a parsed mapping (of the mapping itself without
    a key); 0 where unknown (values given by ``--set``)."""
    if isinstance(mapping, _Map):
        return mapping.lines.get(key, mapping.line) if key is not None else mapping.line
    return 0


def suggest(word: str, choices: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or nothing."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def set_option(data: Any, assignment: str) -> None:
    """Apply ``a.b.c=value`` (value read as YAML) to the parsed job ``data``."""
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise JobFileError(
            [f"--set {assignment!r}: expected KEY=VALUE, e.g. input.shape=[512,512]"]
        )
    *parents, last = key.strip().split(".")
    node = data
    for part in parents:
        if not isinstance(node, dict):
            raise JobFileError([f"--set {assignment!r}: {part!r} is not a section"])
        node = node.setdefault(part, {})
    if not isinstance(node, dict):
        raise JobFileError([f"--set {assignment!r}: cannot set a key inside a value"])
    node[last] = yaml.safe_load(text)
