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


class _Map(dict):
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


#: the longest job file read, in characters
MAX_TEXT = 1_000_000
#: the longest ``--set`` value read (a shell argument is at most 128 KiB anyway)
MAX_SET_TEXT = 100_000
#: the most values a document may hold, each counted as often as YAML aliases
#: repeat it, and the deepest nesting (job files need a handful of levels)
MAX_NODES = 100_000
MAX_DEPTH = 64


class _TooBig(ValueError):
    """A YAML document nested too deeply, too large, or referring to itself."""


def _check_events(text: str) -> None:
    """Refuse deep nesting and huge documents before they are composed (the
    composer recurses once per level; the event parser does not)."""
    depth = count = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        count += 1
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _TooBig(f"nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if count > 3 * MAX_NODES:
            raise _TooBig(f"more than {MAX_NODES} values")


def _check_nodes(root: yaml.Node) -> None:
    """Refuse a composed document whose values, with aliases expanded, are too
    many or too deep, or which contains itself (``&a [*a]``); linear time."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if finished:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if size[key] > MAX_NODES:
                raise _TooBig(f"more than {MAX_NODES} values (aliases expanded)")
            if depth[key] > MAX_DEPTH:
                raise _TooBig(f"nested more than {MAX_DEPTH} levels deep (aliases expanded)")
        elif key in on_path:
            raise _TooBig("an alias refers to the value that contains it")
        elif key not in size:
            on_path.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children)


def _load(text: str) -> tuple[Any, list[tuple[int, str]]]:
    """The YAML document in ``text`` (mappings remember their lines) and the
    keys given twice; raises ``yaml.YAMLError`` or ``_TooBig``."""
    _check_events(text)
    loader = _Loader(text)
    loader.duplicates = []
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        _check_nodes(node)
        return loader.construct_document(node), loader.duplicates
    finally:
        loader.dispose()


def parse(text: str, file: str) -> tuple[Any, list[tuple[int, str]]]:
    """The YAML document in ``text`` and the keys given twice, as (line, message).

    Raises
    ------
    JobFileError
        If ``text`` is not valid YAML, is longer than :data:`MAX_TEXT`, or holds
        more than :data:`MAX_NODES` values or nesting deeper than :data:`MAX_DEPTH`.
    """
    if len(text) > MAX_TEXT:
        raise JobFileError([f"{file}: longer than {MAX_TEXT} characters; not a job file?"])
    try:
        return _load(text)
    except _TooBig as exc:
        raise JobFileError([f"{file}: the YAML is {exc}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        raise JobFileError([f"{file}: {where}: not valid YAML: {exc}"]) from None


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


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _quote_hint(key: str, text: str) -> str:
    quote = "'" if '"' in text else '"'
    return f"quote it, e.g. --set '{key}={quote}{_short(text, 40)}{quote}'"


def set_option(data: Any, assignment: str) -> None:
    """Apply ``a.b.c=value`` to the parsed job ``data``.

    The value is read as YAML: ``[512,512]`` a list, ``2`` a number,
    ``{op: label}`` a mapping, ``<u2`` text. A value that is not valid YAML,
    or that starts a block scalar (``>u2``: on one line it can only mean
    nothing or fail), is refused with a hint to quote it rather than taken as
    text on a guess. Missing sections on the way are created (and reported
    later if they are not known).

    Parameters
    ----------
    data : dict
        The parsed job file, changed in place.
    assignment : str
        ``KEY=VALUE``, the key's parts separated by dots.

    Raises
    ------
    JobFileError
        Naming the ``--set`` option: no ``=``, an empty key part (``a..b``),
        a key inside a value that is not a mapping, a value that is not valid
        YAML, longer than :data:`MAX_SET_TEXT` or nested too deeply.
    """
    key, sep, text = assignment.partition("=")
    where = f"--set {_short(assignment)!r}"
    if not sep or not key.strip():
        raise JobFileError([f"{where}: expected KEY=VALUE, e.g. input.shape=[512,512]"])
    parts = [part.strip() for part in key.split(".")]
    if not all(parts):
        raise JobFileError(
            [f"{where}: the key {_short(key.strip())!r} has an empty part (e.g. input.shape=...)"]
        )
    key = ".".join(parts)
    if len(text) > MAX_SET_TEXT:
        raise JobFileError([f"{where}: the value is longer than {MAX_SET_TEXT} characters"])
    if text.lstrip()[:1] in (">", "|") and "\n" not in text.strip():
        raise JobFileError(
            [f"{where}: {text.strip()[:1]!r} starts a YAML block scalar; {_quote_hint(key, text)}"]
        )
    try:
        value, duplicates = _load(text)
    except _TooBig as exc:
        raise JobFileError([f"{where}: the value is {exc}"]) from None
    except yaml.YAMLError as exc:
        detail = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
        raise JobFileError(
            [f"{where}: the value is not valid YAML ({detail}); {_quote_hint(key, text)}"]
        ) from None
    if duplicates:
        raise JobFileError([f"{where}: {message}" for _, message in duplicates])
    if not isinstance(data, dict):
        raise JobFileError([f"{where}: the job file is not a mapping of sections"])
    node = data
    for i, part in enumerate(parents := parts[:-1]):
        if node.get(part) is None:
            node[part] = {}
        elif not isinstance(node[part], dict):
            what = "a list" if isinstance(node[part], list) else f"{_short(repr(node[part]))}"
            raise JobFileError(
                [
                    f"{where}: {'.'.join(parents[: i + 1])!r} is {what}, not a section "
                    "with keys; set it whole instead"
                ]
            )
        node = node[part]
    node[parts[-1]] = value
