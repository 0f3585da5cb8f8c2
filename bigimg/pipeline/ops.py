"""What a job's steps can do: every ``bigimg.ndimage``, ``bigimg.segmentation``
and ``bigimg.morphology`` function, a few job operations (thresholds, noise,
region tables) and arithmetic expressions.

An operation is looked up by name in :data:`OPERATIONS`. Its parameters are
its real signature's; the parameters listed in :data:`ARRAY_PARAMETERS` (and
the first positional one) take the *name* of an input or an earlier step. An
``expr`` step is a Python expression over such names, numbers and the
functions in :data:`FUNCTIONS`, checked by walking its syntax tree, never
``eval``-ed as code.
"""

from __future__ import annotations

import ast
import inspect
import operator
from collections.abc import Callable, Mapping
from typing import Any

import dask.array as da
import numpy as np

import bigimg.ndimage as bnd
from bigimg import datasets, morphology, segmentation
from bigimg._validation import as_dask
from bigimg.ndimage import regions
from bigimg.preview import histogram

__all__ = [
    "ARRAY_PARAMETERS",
    "DATA_WARNINGS",
    "FUNCTIONS",
    "OPERATIONS",
    "Expression",
    "as_table",
    "first_parameter",
    "threshold",
]

#: parameters that take an image: an input's or an earlier step's name
ARRAY_PARAMETERS = frozenset(
    {"input", "labels", "image", "mask", "markers", "weights", "footprint", "structure"}
)

#: warnings about the data a step happens to meet, not its parameters (scikit-image
#: warns when labels hold only 0 and 1: in a job they come from a label step)
DATA_WARNINGS = ("Only one label was provided to `remove_small_objects`",)


def otsu(counts: np.ndarray, centers: np.ndarray) -> float:
    """Otsu's threshold of a histogram: the bin centre maximising the
    between-class variance (the lower class includes that bin).

    Class sums are accumulated from each end (scikit-image's arithmetic), not
    subtracted from the total. Where two splits are equal to rounding (flat
    histograms), which one wins depends on that arithmetic, not on chunking.
    """
    counts = counts.astype(np.float64)
    w0 = np.cumsum(counts)
    w1 = np.cumsum(counts[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        mu0 = np.cumsum(counts * centers) / w0
        mu1 = (np.cumsum((counts * centers)[::-1]) / w1[::-1])[::-1]
        between = w0[:-1] * w1[1:] * (mu0[:-1] - mu1[1:]) ** 2
    return float(centers[int(np.argmax(np.nan_to_num(between, nan=-1.0)))])


def threshold(
    input: Any, value: float | None = None, *, method: str | None = None, bins: int = 256
) -> da.Array:
    """``input > t``, with ``t`` given (``value``) or found from the histogram.

    Parameters
    ----------
    input : dask.array.Array
        A real-valued image.
    value : float, optional
        The threshold. Give this or ``method``.
    method : {'otsu', 'mean'}, optional, keyword-only
        'otsu': Otsu's threshold over a ``bins``-bin histogram between the
        image's minimum and maximum (the centre of a bin); 'mean': the mean.
        Computed when called (two reductions over the image).
    bins : int, keyword-only
        Histogram bins for 'otsu'.

    Returns
    -------
    dask.array.Array of bool

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0.0, 0.1, 0.2, 0.9, 1.0])
    >>> threshold(x, method="otsu").compute()
    array([False, False, False,  True,  True])
    """
    image = as_dask(input)
    if (value is None) == (method is None):
        raise ValueError("threshold needs exactly one of value= and method=")
    if value is not None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TypeError(f"value={value!r} must be a number")
        return image > value
    if method not in ("otsu", "mean"):
        raise ValueError(f"method={method!r} must be 'otsu' or 'mean'")
    if not isinstance(bins, int) or isinstance(bins, bool) or bins < 2:
        raise ValueError(f"bins={bins!r} must be an integer >= 2")
    if image.dtype.kind not in "fiub":
        raise TypeError(f"threshold needs a real-valued image, not {image.dtype}")
    if method == "mean":
        return image > float(image.mean(dtype=np.float64).compute())
    counts, edges = histogram(image, bins=bins)  # numpy's, between the min and max
    centers = (edges[:-1] + edges[1:]) / 2
    return image > otsu(counts, centers)


def _noisy(input: Any, sigma: float = 0.1, *, seed: int = 0, kind: str = "gaussian") -> da.Array:
    return datasets.noisy(input, sigma=sigma, seed=seed, kind=kind)


_noisy.__doc__ = datasets.noisy.__doc__
_noisy.__name__ = "noisy"


def _public(module: Any) -> dict[str, Callable[..., Any]]:
    return {name: getattr(module, name) for name in module.__all__ if name != "fused"}


#: name -> function, for ``op:`` in a job
OPERATIONS: dict[str, Callable[..., Any]] = {
    **{
        n: f
        for module in (bnd, segmentation, morphology)
        for n, f in _public(module).items()
        if callable(f) and not isinstance(f, type)
    },
    "region_table": regions.region_table,
    "threshold": threshold,
    "noisy": _noisy,
}

#: functions an expression may call
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": np.abs,
    "sqrt": np.sqrt,
    "hypot": np.hypot,
    "exp": np.exp,
    "log": np.log,
    "minimum": np.minimum,
    "maximum": np.maximum,
    "clip": np.clip,
    "where": np.where,
    "logical_not": np.logical_not,
}

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Invert: operator.invert,
}
_COMPARE = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


#: the longest expression text, the most syntax-tree nodes and the deepest
#: nesting an expression may have (job expressions are a line or two)
MAX_EXPR_TEXT = 10_000
MAX_EXPR_NODES = 2_000
MAX_EXPR_DEPTH = 100
#: the largest integer, in bits, a constant may reach while it is folded
MAX_CONSTANT_BITS = 10_000
#: integer constants numpy can hold: int64 and uint64
_INT_RANGE = (-(2**63), 2**64 - 1)


def _depth_and_size(tree: ast.AST) -> tuple[int, int]:
    """The depth and node count of ``tree``, counted without recursion and
    stopping once either passes its limit."""
    deepest = count = 0
    stack = [(tree, 1)]
    while stack and count <= MAX_EXPR_NODES and deepest <= MAX_EXPR_DEPTH:
        node, depth = stack.pop()
        count += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest, count


def _power_bits(base: Any, exponent: Any) -> int:
    """At least how many bits ``base ** exponent`` has, for integers (0 for
    anything that is not a growing integer power): at most twice too few, and
    integer arithmetic only (a float estimate overflows for huge exponents)."""
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent <= 0:
        return 0
    if abs(base) <= 1:
        return 1
    return (abs(base).bit_length() - 1) * exponent + 1


def _count_of(n: int) -> str:
    """``n`` written out, or as a power of two if it is too long to read."""
    return str(n) if n.bit_length() < 64 else f"2**{n.bit_length() - 1}"


class Expression:
    """An arithmetic expression over named images, checked before use.

    The check takes bounded time whatever the text: its length, nesting and
    size are limited, and its constant parts (those without names) are
    computed then, within limits, and used by :meth:`evaluate`.

    Parameters
    ----------
    text : str
        e.g. ``"blurred + 30 * (blurred - smoothed)"`` or ``"hypot(sx, sy)"``;
        ``astype(x, 'uint8')`` converts.

    Raises
    ------
    ValueError
        For anything but names, numbers, strings given to ``astype``,
        arithmetic, comparisons and the functions in :data:`FUNCTIONS`; for a
        text longer than :data:`MAX_EXPR_TEXT` or nested deeper than
        :data:`MAX_EXPR_DEPTH`; and for a constant part that cannot be
        computed or held: an integer of more than :data:`MAX_CONSTANT_BITS`
        bits on the way (``9 ** 9 ** 9``), an integer outside numpy's int64
        and uint64 range, a float that overflows, a division by zero, or a
        complex result.

    Examples
    --------
    >>> e = Expression("a + 2 * b")
    >>> e.names
    ('a', 'b')
    >>> e.evaluate({"a": 1.0, "b": 3.0})
    7.0
    """

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise ValueError("expr must be a non-empty string")
        if len(text) > MAX_EXPR_TEXT:
            raise ValueError(f"expr {text[:40]!r}... is longer than {MAX_EXPR_TEXT} characters")
        self.text = text
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise ValueError(f"expr {self._short()} is not valid: {exc.msg}") from None
        except (RecursionError, MemoryError):
            raise ValueError(
                f"expr {self._short()} is nested too deeply (at most {MAX_EXPR_DEPTH} levels)"
            ) from None
        except ValueError as exc:  # NUL bytes
            raise ValueError(f"expr {self._short()} is not valid: {exc}") from None
        depth, size = _depth_and_size(tree.body)
        if depth > MAX_EXPR_DEPTH or size > MAX_EXPR_NODES:
            raise ValueError(
                f"expr {self._short()} is too complex: at most {MAX_EXPR_NODES} "
                f"terms nested at most {MAX_EXPR_DEPTH} deep"
            )
        names: list[str] = []
        self._check(tree.body, names)
        self.names = tuple(dict.fromkeys(names))
        self._tree = self._fold(tree.body)
        for node in ast.walk(self._tree):
            if isinstance(node, ast.Constant):
                self._check_constant(node.value, node)

    def _short(self, node: ast.AST | None = None) -> str:
        """The expression, or the source of ``node`` in it, quoted and cut short."""
        text = self.text if node is None else ast.unparse(getattr(node, "source", node))
        return repr(text if len(text) <= 80 else text[:77] + "...")

    def _check_constant(self, value: Any, node: ast.AST) -> None:
        """Refuse a folded constant numpy cannot hold."""
        if isinstance(value, complex):
            raise ValueError(f"expr {self._short()}: {self._short(node)} is not a real number")
        if isinstance(value, float) and not np.isfinite(value):
            raise ValueError(f"expr {self._short()}: {self._short(node)} overflows a float")
        if isinstance(value, int) and not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            raise ValueError(
                f"expr {self._short()}: {self._short(node)} is an integer of "
                f"{value.bit_length()} bits; numpy holds at most 64"
            )

    def _fold(self, node: ast.expr) -> ast.expr:
        """``node`` with each part that has no names (nor calls) replaced by its
        value, computed as :meth:`evaluate` would; integers stay within
        :data:`MAX_CONSTANT_BITS` (a power's size is estimated first)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            if node.value.bit_length() > MAX_CONSTANT_BITS:
                raise ValueError(
                    f"expr {self._short()}: an integer of more than "
                    f"{MAX_CONSTANT_BITS} bits is not allowed"
                )
            return node
        if isinstance(node, ast.BinOp):
            left, right = self._fold(node.left), self._fold(node.right)
            parts: list[ast.expr] = [left, right]
        elif isinstance(node, ast.UnaryOp):
            parts = [self._fold(node.operand)]
        elif isinstance(node, ast.Compare):
            parts = [self._fold(node.left), self._fold(node.comparators[0])]
        elif isinstance(node, ast.Call):
            folded = [self._fold(a) for a in node.args]  # calls themselves run later
            return ast.Call(func=node.func, args=folded, keywords=[])
        else:
            return node
        if not all(isinstance(p, ast.Constant) for p in parts):
            return self._rebuild(node, parts)
        values = [p.value for p in parts]  # type: ignore[attr-defined]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            bits = _power_bits(*values)
            if bits > MAX_CONSTANT_BITS:
                raise ValueError(
                    f"expr {self._short()}: {self._short(node)} is too large "
                    f"(at least {_count_of(bits)} bits; at most {MAX_CONSTANT_BITS})"
                )
        try:
            value = self._eval(self._rebuild(node, parts), {})
        except ZeroDivisionError:
            raise ValueError(
                f"expr {self._short()}: {self._short(node)} divides by zero"
            ) from None
        except OverflowError:
            raise ValueError(
                f"expr {self._short()}: {self._short(node)} is too large for a float"
            ) from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"expr {self._short()}: {self._short(node)}: {exc}") from None
        if not isinstance(value, int):
            self._check_constant(value, node)  # a float overflows, a complex result
        elif value.bit_length() > MAX_CONSTANT_BITS:
            raise ValueError(
                f"expr {self._short()}: {self._short(node)} is too large "
                f"(more than {MAX_CONSTANT_BITS} bits)"
            )
        constant = ast.Constant(value)
        constant.source = node  # type: ignore[attr-defined]  # for messages
        return constant

    @staticmethod
    def _rebuild(node: ast.expr, parts: list[ast.expr]) -> ast.expr:
        if isinstance(node, ast.BinOp):
            return ast.BinOp(left=parts[0], op=node.op, right=parts[1])
        if isinstance(node, ast.UnaryOp):
            return ast.UnaryOp(op=node.op, operand=parts[0])
        assert isinstance(node, ast.Compare)
        return ast.Compare(left=parts[0], ops=node.ops, comparators=[parts[1]])

    def _check(self, node: ast.AST, names: list[str]) -> None:
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float) or isinstance(node.value, bool):
                raise ValueError(
                    f"expr {self.text!r}: only numbers are allowed, not {node.value!r}"
                )
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            self._check(node.left, names)
            self._check(node.right, names)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            self._check(node.operand, names)
        elif (
            isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE
        ):
            self._check(node.left, names)
            self._check(node.comparators[0], names)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            if node.func.id == "astype":
                if len(node.args) != 2 or not (
                    isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
                ):
                    raise ValueError(f"expr {self.text!r}: use astype(x, 'dtype')")
                try:
                    np.dtype(node.args[1].value)
                except TypeError:
                    raise ValueError(
                        f"expr {self.text!r}: {node.args[1].value!r} is not a dtype"
                    ) from None
                self._check(node.args[0], names)
            elif node.func.id in FUNCTIONS:
                for arg in node.args:
                    self._check(arg, names)
            else:
                raise ValueError(
                    f"expr {self.text!r}: unknown function {node.func.id!r} "
                    f"(allowed: astype, {', '.join(sorted(FUNCTIONS))})"
                )
        else:
            raise ValueError(
                f"expr {self.text!r}: {ast.unparse(node)!r} is not allowed "
                "(names, numbers, arithmetic, comparisons and a few functions only)"
            )

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """The expression's value with ``values`` for its names."""
        return self._eval(self._tree, values)

    def _eval(self, node: ast.AST, values: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](
                self._eval(node.left, values), self._eval(node.right, values)
            )
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](self._eval(node.operand, values))
        if isinstance(node, ast.Compare):
            return _COMPARE[type(node.ops[0])](
                self._eval(node.left, values), self._eval(node.comparators[0], values)
            )
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        if node.func.id == "astype":
            x = self._eval(node.args[0], values)
            dtype = node.args[1].value  # type: ignore[attr-defined]
            return x.astype(dtype) if hasattr(x, "astype") else np.asarray(x).astype(dtype)
        return FUNCTIONS[node.func.id](*(self._eval(a, values) for a in node.args))


def first_parameter(func: Callable[..., Any]) -> str:
    """The name of ``func``'s first parameter (its image)."""
    return next(iter(inspect.signature(func).parameters))


def as_table(value: Any, name: str) -> dict[str, np.ndarray]:
    """A step's small result as columns: region tables as they are, per-label
    values as ``index``/``name``, ``find_objects`` as slice bounds, scalars as
    one row."""
    if isinstance(value, dict):
        return {str(k): np.asarray(v) for k, v in value.items()}
    if isinstance(value, list) and all(v is None or isinstance(v, tuple) for v in value):
        ndim = max((len(v) for v in value if v is not None), default=0)
        table: dict[str, np.ndarray] = {"label": np.arange(1, len(value) + 1)}
        for ax in range(ndim):
            table[f"start_{ax}"] = np.array([-1 if v is None else v[ax].start for v in value])
            table[f"stop_{ax}"] = np.array([-1 if v is None else v[ax].stop for v in value])
        return table
    if isinstance(value, tuple):
        return {f"{name}_{i}": np.atleast_1d(np.asarray(v)) for i, v in enumerate(value)}
    array = np.asarray(value)
    if array.ndim == 0:
        return {name: array.reshape(1)}
    if array.ndim == 1:
        return {"index": np.arange(array.shape[0]), name: array}
    return {f"{name}_{i}": array[:, i] for i in range(array.shape[1])}
