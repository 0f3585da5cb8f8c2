"""Every public function is documented the numpydoc way, written out.

For each name a user can reach (``bigimg``, ``bigimg.ndimage``,
``bigimg.datasets``, ``bigimg.cluster``, ``bigimg.preview``,
``bigimg.pipeline``): a summary line, a ``Parameters`` section naming every
parameter of the signature (and nothing else), ``Returns`` (or ``Yields``),
and an ``Examples`` section with doctests (run by ``--doctest-modules``).
The docstring is the function's own ``__doc__`` as written in its source
(a ``def`` with a literal docstring), so ``help()`` and editors show it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import pytest

PUBLIC = (
    "bigimg",
    "bigimg.ndimage",
    "bigimg.datasets",
    "bigimg.cluster",
    "bigimg.preview",
    "bigimg.pipeline",
    "bigimg.segmentation",
    "bigimg.morphology",
)


def public_functions() -> Iterator[tuple[str, Callable[..., Any]]]:
    for module_name in PUBLIC:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            # scipy's own functions re-exported as they are are scipy's to document
            if inspect.isfunction(obj) and obj.__module__.startswith("bigimg"):
                yield f"{module_name}.{name}", obj


FUNCTIONS = dict(public_functions())


def sections(doc: str) -> dict[str, str]:
    """numpydoc sections of ``doc``: title -> body."""
    found: dict[str, str] = {}
    parts = re.split(r"^(\w[\w ]*)\n-{3,}\n", doc, flags=re.M)
    found["summary"] = parts[0]
    for title, body in zip(parts[1::2], parts[2::2]):
        found[title.strip()] = body
    return found


def documented_parameters(body: str) -> list[str]:
    names = []
    for line in body.splitlines():
        if line and not line[0].isspace():
            head = line.split(" : ")[0]
            names += [n.strip().lstrip("*") for n in head.split(",")]
    return names


def own_docstring(func: Callable[..., Any]) -> str | None:
    """The literal docstring of ``func``'s ``def`` in its source file."""
    func = inspect.unwrap(func)
    source = textwrap.dedent(inspect.getsource(func))
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    return ast.get_docstring(node, clean=True)


def test_there_are_public_functions() -> None:
    assert len(FUNCTIONS) > 90


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_numpydoc(name: str) -> None:
    func = FUNCTIONS[name]
    doc = inspect.getdoc(func) or ""
    assert doc, f"{name} has no docstring"
    assert inspect.cleandoc(own_docstring(func) or "") == doc, (
        f"{name}'s docstring is not written in its def (made by a factory or assigned)"
    )
    found = sections(doc)
    assert found["summary"].strip(), f"{name}: no summary line"
    params = [
        p.name
        for p in inspect.signature(inspect.unwrap(func)).parameters.values()
        if p.name not in ("self", "cls")
    ]
    if params:
        assert "Parameters" in found, f"{name}: no Parameters section"
        listed = documented_parameters(found["Parameters"])
        assert listed == params or sorted(listed) == sorted(params), (
            f"{name}: Parameters lists {listed}, the signature has {params}"
        )
    assert "Returns" in found or "Yields" in found, f"{name}: no Returns section"
    assert "Examples" in found and ">>>" in found["Examples"], f"{name}: no doctested Examples"
