"""The rules of the house, read from bigimg's source (``ast``, no imports run).

Used by ``tests/test_house.py`` and printed by ``python -m tests.house`` for the
before/after figures of a refactoring:

- every import between bigimg modules, including imports inside functions;
- import circles (strongly connected groups of modules);
- private reach: a module inside a private package (``bigimg._halo.overlap``),
  a private module of another package (``bigimg.ndimage._inputs`` from
  ``bigimg.pipeline``), or a private name (``_jit``) imported from another
  module — callers use an engine only through its package's front;
- module lengths.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "bigimg"
LONGEST = 600


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # a bigimg module
    name: str | None  # the name taken from it, None for ``import x``
    line: int


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``root``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _package(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports(root: Path = ROOT) -> list[Import]:
    """Every import of a bigimg module by a bigimg module."""
    mods = modules(root)
    found = []
    for module, path in mods.items():
        package = _package(module, path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in mods:
                        found.append(Import(module, alias.name, None, node.lineno))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                if source not in mods:
                    continue
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    if sub in mods:
                        found.append(Import(module, sub, None, node.lineno))
                    else:
                        found.append(Import(module, source, alias.name, node.lineno))
    return found


def circles(root: Path = ROOT) -> list[list[str]]:
    """Groups of modules that import each other (Tarjan's strongly connected
    components of more than one module, or a module importing itself).

    A package's ``__init__`` that imports its own submodules is not a circle
    with them unless a submodule imports a name back from the ``__init__``.
    """
    graph: dict[str, set[str]] = {m: set() for m in modules(root)}
    for imp in imports(root):
        if imp.target != imp.importer:
            graph[imp.importer].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(groups)


def _private_root(module: str) -> str | None:
    """The outermost private package or module on ``module``'s path."""
    parts = module.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[: i + 1])
    return None


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def private_reach(root: Path = ROOT) -> list[Import]:
    """Imports that reach past a package's front or take a private name."""
    found = []
    for imp in imports(root):
        private = _private_root(imp.target)
        if private is not None:
            owner = private.rpartition(".")[0]
            front_ok = imp.target == private and _inside(imp.importer, owner)
            if not front_ok and not _inside(imp.importer, private):
                found.append(imp)
                continue
        if imp.name and imp.name.startswith("_") and not imp.name.startswith("__"):
            if imp.target != imp.importer:
                found.append(imp)
    return found


def lengths(root: Path = ROOT) -> dict[str, int]:
    """Lines per module."""
    return {m: len(p.read_text().splitlines()) for m, p in modules(root).items()}


def report(root: Path = ROOT) -> str:
    """The figures a refactoring note reports."""
    sizes = lengths(root)
    longest = max(sizes, key=sizes.__getitem__)
    lines = [
        f"modules: {len(sizes)}",
        f"longest: {longest} ({sizes[longest]} lines)",
        f"over {LONGEST} lines: {sum(n > LONGEST for n in sizes.values())}",
        f"import circles: {len(circles(root))}",
    ]
    lines += ["  " + " <-> ".join(group) for group in circles(root)]
    reach = private_reach(root)
    lines.append(f"private imports across packages: {len(reach)}")
    for i in reach:
        lines.append(f"  {i.importer}:{i.line} -> {i.target}{'.' + i.name if i.name else ''}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
