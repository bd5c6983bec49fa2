"""A safe parser for the command line's expressions: ``ast``, never ``eval``.

``parse_expr("sigmoid(w*x + b)", {"w": -1, "x": 0.5, "b": 0.1}, params={"w", "b"})``
builds the graph with the engine's own operators, so the result is an ordinary
:class:`autodiff.Value`. Accepted, and nothing else:

* numbers (int or float literals, taken as floats so ``9**9**9`` cannot run away);
* names given a value (each becomes ONE labelled leaf Value, shared by every use;
  names in ``params`` are parameters, drawn red);
* ``+ - * / **`` and unary ``-``/``+``;
* calls of the engine's functions: ``exp log tanh sigmoid relu leaky_relu(x, slope)
  elu(x, alpha) sign step abs``, and ``sum([...])``, ``maximum([...])``,
  ``dot([w...], [x...], bias)`` over list literals; the keywords ``slope``, ``alpha``
  and ``bias`` where those functions take them.

Anything else (attribute access, subscripts, lambdas, comprehensions, strings,
other calls such as ``__import__('os')``) is refused with an :class:`ExprError`
that quotes the offending source text. Arithmetic between two plain numbers is
folded (``2*3`` is the constant 6); as soon as a variable is involved the engine
builds nodes.
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Mapping
from typing import Any, Callable, Iterable, Iterator, Union

import autodiff
from autodiff import Value
from autodiff.value import call_function

__all__ = ["ExprError", "parse_expr", "FUNCTIONS", "free_names"]

Num = Union[float, Value]

MAX_LENGTH = 20_000  # characters; far beyond any hand-written expression


class ExprError(ValueError):
    """An expression was refused or could not be evaluated; the message quotes where."""


Signature = tuple[Callable[..., Value], tuple[str, ...], tuple[int, int], tuple[int, ...]]

# The n-ary module functions; every one-operand op of the table with a ``function`` name
# (autodiff.OPS: exp, sigmoid, leaky_relu(x, slope), ... and any op registered later) joins them.
_NARY: dict[str, Signature] = {
    "sum": (lambda xs: autodiff.sum(xs), (), (1, 1), (0,)),
    "maximum": (lambda xs: autodiff.maximum(xs), (), (1, 1), (0,)),
    "dot": (lambda w, x, bias=None: autodiff.dot(w, x, bias), ("bias",), (2, 3), (0, 1)),
}


def _of_op(op: autodiff.Op) -> Signature:
    def fn(x: Num, *args: Any, **kwargs: Any) -> Value:
        return call_function(op, _value(x), *args, **kwargs)
    keywords = (op.attr_name,) if op.attr_name else ()
    return fn, keywords, (1, 1 + len(keywords)), ()


class _Functions(Mapping[str, Signature]):
    """name -> (function, allowed keywords, number of positional arguments (min, max), which
    positional arguments are lists), read from the op table at each use."""

    def _table(self) -> dict[str, Signature]:
        ops = {op.function: _of_op(op) for op in autodiff.OPS.values() if op.function and op.arity == 1}
        return {**ops, **_NARY}

    def __getitem__(self, name: str) -> Signature:
        return self._table()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __contains__(self, name: object) -> bool:
        return name in self._table()


FUNCTIONS: Mapping[str, Signature] = _Functions()

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_ALLOWED = (ast.Constant, ast.Name, ast.UnaryOp, ast.BinOp, ast.Call, ast.List, ast.keyword,
            ast.Load, ast.USub, ast.UAdd, *_BINOPS)
def _help() -> str:
    return f"use numbers, names, + - * / ** and the functions {', '.join(FUNCTIONS)}"


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name, list(FUNCTIONS), n=1, cutoff=0.6) if name else []
    return f"did you mean {close[0]!r}? " if close else ""


def _value(x: Num) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _quote(source: str, node: ast.AST) -> str:
    text = ast.get_source_segment(source.strip(), node) or ast.unparse(node)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"'{text}' (column {getattr(node, 'col_offset', 0) + 1})"


def _parse(source: str) -> ast.expr:
    if not isinstance(source, str):
        raise ExprError(f"the expression must be a string, got {type(source).__name__}")
    if not source.strip():
        raise ExprError("the expression is empty")
    if len(source) > MAX_LENGTH:
        raise ExprError(f"the expression is {len(source)} characters long; the limit is {MAX_LENGTH}")
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExprError(f"syntax error in {source!r}: {exc.msg} at column {exc.offset}") from None
    except (RecursionError, MemoryError):
        raise ExprError("the expression is nested too deeply") from None
    for node in ast.walk(tree):  # breadth first: the outermost offending construct is named
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            called = node.func.id if isinstance(node.func, ast.Name) else ""
            raise ExprError(f"refused {_quote(source, node)}: {_did_you_mean(called)}only these functions "
                            f"can be called: {', '.join(FUNCTIONS)}")
        bad_op = isinstance(node, (ast.BinOp, ast.UnaryOp)) and not isinstance(node.op, _ALLOWED)
        if bad_op or not isinstance(node, _ALLOWED):
            what = f"the operator {type(node.op).__name__}" if bad_op else type(node).__name__
            raise ExprError(f"refused {_quote(source, node)}: {what} is not allowed; {_help()}")
    return tree


def free_names(source: str) -> list[str]:
    """The variable names an expression uses, in order of first use (functions excluded)."""
    names = [n for n in ast.walk(_parse(source)) if isinstance(n, ast.Name) and n.id not in FUNCTIONS]
    names.sort(key=lambda n: (n.lineno, n.col_offset))
    return list(dict.fromkeys(n.id for n in names))


def parse_expr(source: str, values: Mapping[str, float], params: Iterable[str] = ()) -> Value:
    """Build the graph of ``source`` with ``values`` for its names; see the module doc.

    Raises :class:`ExprError` for a refused construct (quoting it), for names without
    a value (naming all of them), for a parameter name not in the expression, and for
    math errors of the engine (e.g. ``log`` of a negative number).
    """
    source = source.strip() if isinstance(source, str) else source
    tree = _parse(source)
    params = set(params)
    used = free_names(source)
    missing = [n for n in used if n not in values]
    if missing:
        hint = " ".join(f"--set {n}=..." for n in missing)
        raise ExprError(f"no value given for {', '.join(missing)} (use {hint})")
    unknown = sorted(params - set(used))
    if unknown:
        raise ExprError(f"parameter {', '.join(unknown)} does not appear in the expression {source!r}")
    clash = sorted(set(values) & set(FUNCTIONS))
    if clash:
        raise ExprError(f"{', '.join(clash)} is a function name and cannot be a variable")
    leaves = {n: Value(float(values[n]), n, param=n in params) for n in used}
    try:
        result = _Evaluator(source, leaves).eval(tree)
    except RecursionError:
        raise ExprError("the expression is nested too deeply") from None
    if not isinstance(result, Value):
        raise ExprError(f"{source!r} has no variables, so there is nothing to differentiate "
                        "(use a name and give it a value with --set)")
    return result


class _Evaluator:
    """Walks the syntax tree; every node kind not handled here is refused."""

    def __init__(self, source: str, leaves: Mapping[str, Value]) -> None:
        self.source = source
        self.leaves = leaves

    def refuse(self, node: ast.AST, why: str) -> ExprError:
        return ExprError(f"refused {_quote(self.source, node)}: {why}")

    def engine(self, node: ast.AST, fn: Callable[[], Num]) -> Num:
        try:
            return fn()
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise ExprError(f"cannot evaluate {_quote(self.source, node)}: {exc}") from None

    def eval(self, node: ast.AST) -> Num:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise self.refuse(node, "only numbers are allowed as literals")
            try:
                number = float(node.value)
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise self.refuse(node, "the number is too large for a float (it would be inf); "
                                  "the largest is about 1.8e308")
            return number
        if isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise self.refuse(node, f"{node.id} is a function; call it as {node.id}(...)")
            return self.leaves[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            x = self.eval(node.operand)
            return self.engine(node, lambda: -x if isinstance(node.op, ast.USub) else x)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            a, b = self.eval(node.left), self.eval(node.right)
            return self.engine(node, lambda: _arith(type(node.op), a, b))
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.List):
            raise self.refuse(node, "a list is allowed only as an argument of sum, maximum or dot")
        raise self.refuse(node, f"{type(node).__name__} is not allowed; {_help()}")

    def call(self, node: ast.Call) -> Value:
        name = node.func.id
        fn, keywords, (lo, hi), list_args = FUNCTIONS[name]
        kwargs = {}
        for kw in node.keywords:
            if kw.arg not in keywords:
                allowed = f"only {', '.join(keywords)}" if keywords else "none"
                raise self.refuse(kw if kw.arg else node, f"keyword {kw.arg or '**'} is not accepted by "
                                  f"{name} (accepted: {allowed})")
            kwargs[kw.arg] = self.eval(kw.value)
        if not lo <= len(node.args) + len(kwargs) <= hi or any(isinstance(a, ast.Starred) for a in node.args):
            count = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.refuse(node, f"{name} takes {count} argument(s)")
        args = []
        for i, arg in enumerate(node.args):
            if i in list_args:
                if not isinstance(arg, ast.List):
                    raise self.refuse(arg, f"argument {i + 1} of {name} must be a list literal [a, b, ...]")
                args.append([self.eval(e) for e in arg.elts])
            else:
                args.append(self.eval(arg))
        if name not in _NARY and any(isinstance(a, Value) for a in [*args[1:], *kwargs.values()]):
            raise self.refuse(node, f"the {keywords[0]} of {name} must be a number, not a variable")
        return self.engine(node, lambda: fn(*args, **kwargs))


def _arith(op: type, a: Num, b: Num) -> Num:
    """``a op b``; between two plain numbers (constant folding) a NaN or ±inf result is refused,
    as the engine refuses one made from finite operands."""
    if isinstance(a, float) and isinstance(b, float):
        try:
            result = _arith_values(op, a, b)
        except OverflowError:
            result = math.inf
        except ZeroDivisionError:
            raise ValueError(f"division by zero: {a!r} / {b!r}") from None
        if isinstance(result, complex) or not math.isfinite(result):
            symbol = _BINOPS[op]
            what = "NaN" if isinstance(result, float) and result != result else "not a finite real number"
            raise ValueError(f"{a!r} {symbol} {b!r} is {what}")
        return result
    return _arith_values(op, a, b)


def _arith_values(op: type, a: Num, b: Num) -> Num:
    if op is ast.Add:
        return a + b
    if op is ast.Sub:
        return a - b
    if op is ast.Mult:
        return a * b
    if op is ast.Div:
        return a / b
    return a ** b
