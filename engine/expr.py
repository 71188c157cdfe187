"""The expression language of programs: `{"expr": "mean((x + 2) * (x + 2) * 3)"}`.

Text is read by Python's `ast` parser under a whitelist and compiled to a flat postfix program, which
`evaluate` runs with an explicit stack: nothing is ever executed as Python, and no depth can recurse.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeAlias

from . import functions as _functions  # noqa: F401  (loads every op module, so that OPS is complete)
from .dispatch import extra_kwargs, spreads_sizes
from .errors import EngineError, ExprError, OpError
from .registry import close_ops, lookup
from .tensor import Tensor

__all__ = ["Expr", "parse", "evaluate", "count_ops"]

_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow",
           ast.MatMult: "matmul"}
_COMPARE = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge", ast.Eq: "eq", ast.NotEq: "ne"}
_SPELLING = {ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|",
             ast.BitXor: "^", ast.BitAnd: "&", ast.Invert: "~", ast.Not: "not", ast.In: "in",
             ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.And: "and", ast.Or: "or"}
_FORBIDDEN = {
    ast.Lambda: "lambda is", ast.ListComp: "comprehensions are",
    ast.SetComp: "comprehensions are", ast.DictComp: "comprehensions are",
    ast.GeneratorExp: "generator expressions are", ast.JoinedStr: "f-strings are",
    ast.FormattedValue: "f-strings are", ast.NamedExpr: "the walrus operator ':=' is",
    ast.Starred: "starred arguments (*args) are", ast.IfExp: "conditional expressions (a if c else b) are",
    ast.Dict: "dict literals are", ast.Set: "set literals are", ast.Await: "await is", ast.Yield: "yield is",
    ast.YieldFrom: "yield is", ast.Slice: "slices outside a subscript are",
}
_INT64 = 2 ** 63
_NEWLINE = re.compile(r"\r\n|\r|\n")
# A lower bound on the node count of text the parser could not build: names (not kwarg names) and numbers.
_OPERAND = re.compile(r"[^\W\d]\w*(?!\s*=(?!=))|\d[\w.]*")

# Instructions of the postfix program. Constants that are lists are stored as tuples (an Expr is
# immutable and shared) and handed out as fresh lists, the form program documents use. _DATA detaches
# the value on top of the stack (x.data); _GRAD pushes a name's grad as a constant (x.grad).
_CONST, _LIST, _NAME, _CALL, _NEG, _DATA, _GRAD = range(7)
# one instruction: its kind, then its operands ((_CALL, op name, argument count, kwarg items), (_NAME, name) ...)
Instruction: TypeAlias = tuple[Any, ...]
# names that are libraries in the code users copy from: np.sum(x) is a call by name, not a method of np
_LIBRARIES = {"np", "numpy", "torch", "math", "jnp", "jax", "scipy", "nn"}
_ATTRIBUTES = "x.T, x.data, x.grad and catalog ops as methods (x.sum(axis=0))"


@dataclass(frozen=True, slots=True)
class Expr:
    """A parsed expression: its text, its postfix program, the names it reads and its op count."""

    text: str
    code: tuple[Instruction, ...]
    names: tuple[str, ...]
    ops: int

    def __str__(self) -> str:
        return self.text


def parse(text: object, *, max_length: int = 10_000, max_nodes: int = 2_000) -> Expr:
    """Parse and check an expression; every refusal is an ExprError (or OpError for an op misused)."""
    if not isinstance(text, str):
        raise ExprError(f"an expression must be a string, got {type(text).__name__}")
    if len(text) > max_length:
        raise ExprError(f"expression is {len(text)} characters long, over the limit of {max_length}")
    body = text.lstrip(" \t\f\r\n")  # the parser takes leading blanks for an indent
    if not body.strip():
        raise ExprError("expression is empty")
    place = _Place(text, body)
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as e:
        where = "" if not e.lineno else place.at(e.lineno, e.offset - 1) if e.offset else " (at the end)"
        msg = e.msg or "invalid syntax"
        why = msg if msg.startswith("invalid syntax") else f"invalid syntax: {msg}"
        raise ExprError(why + where) from None
    except (ValueError, OverflowError) as e:
        raise ExprError(f"invalid syntax: {e}") from None
    except (RecursionError, MemoryError):
        if len(_OPERAND.findall(body)) > max_nodes:
            raise ExprError(_too_many(max_nodes)) from None
        raise ExprError("expression is too deeply nested") from None
    count = 0
    for node in ast.walk(tree):  # iterative, and stops at the limit however large the tree is
        if isinstance(node, (ast.expr, ast.keyword)):
            count += 1
            if count > max_nodes:
                raise ExprError(_too_many(max_nodes))
    return _Compiler(place).compile(text, tree.body)


def evaluate(expr: Expr, lookup: Callable[[str], Any],
             call: Callable[[str, list[Any], dict[str, Any]], Any]) -> Any:
    """Run expr: names through lookup(name), ops through call(op_name, args, kwargs).

    A bare number evaluates to the number itself; anything else to what the last call returned.
    """
    stack: list[Any] = []  # tensors and constants
    push = stack.append
    for ins in expr.code:
        kind = ins[0]
        if kind == _CALL:
            n = ins[2]
            args = stack[-n:] if n else []
            if n:
                del stack[-n:]
            push(call(ins[1], args, {k: _thaw(v) for k, v in ins[3]}))
        elif kind == _NAME:
            push(lookup(ins[1]))
        elif kind == _CONST:
            push(ins[1])
        elif kind == _DATA:
            v = stack.pop()
            push(Tensor._make(v.data, None) if isinstance(v, Tensor) else v)
        elif kind == _GRAD:
            grad = lookup(ins[1]).grad
            if grad is None:
                raise ExprError(f"'{ins[1]}' has no grad{ins[2]}: run a backward call that reaches it first "
                                "(a non-leaf keeps its grad only with retain_grad)")
            push(Tensor._make(grad, None))
        else:
            push(_thaw(ins[1]))
    return stack[-1]


def count_ops(expr: Expr) -> int:
    """How many op applications evaluating expr makes (each call of `call`)."""
    return expr.ops


def _too_many(max_nodes: int) -> str:
    return f"expression has more than {max_nodes} nodes, the limit per expression"


def _thaw(v: Any) -> Any:
    if type(v) is tuple:
        return [_thaw(x) for x in v]
    return v


class _Place:
    """Says where a node is, in the user's text (1-based, in characters)."""

    def __init__(self, text: str, body: str):
        lead = text[:len(text) - len(body)]
        self.lead_lines = len(_NEWLINE.findall(lead))
        self.lead_cols = len(_NEWLINE.split(lead)[-1])
        self.lines = _NEWLINE.split(body)

    def at(self, lineno: int, col: int) -> str:
        if lineno == 1:
            col += self.lead_cols
        lineno += self.lead_lines
        return f" (column {col + 1})" if lineno == 1 else f" (line {lineno}, column {col + 1})"

    def of(self, node: ast.expr | ast.keyword) -> str:
        line = self.lines[node.lineno - 1] if node.lineno <= len(self.lines) else ""
        col = len(line.encode()[:node.col_offset].decode("utf-8", "ignore"))  # ast counts bytes
        return self.at(node.lineno, col)


class _Compiler:
    """Turns a checked ast into postfix code, walking it with an explicit stack."""

    def __init__(self, place: _Place):
        self.place = place
        self.code: list[Instruction] = []
        self.names: dict[str, None] = {}

    def fail(self, node: ast.expr | ast.keyword, message: str, error: type[EngineError] = ExprError) -> NoReturn:
        raise error(message + self.place.of(node))

    def compile(self, text: str, root: ast.expr) -> Expr:
        todo: list[ast.expr | Instruction] = [root]
        while todo:
            item = todo.pop()
            if isinstance(item, tuple):  # an instruction whose operands have all been emitted
                self.emit(item)
                continue
            operands, ins = self.prepare(item)
            if ins is not None:
                todo.append(ins)
            todo.extend(reversed(operands))
        code = tuple(self.code)
        return Expr(text, code, tuple(self.names), sum(1 for ins in code if ins[0] == _CALL))

    def emit(self, ins: Instruction) -> None:
        if ins[0] == _NEG:
            last = self.code[-1]  # in postfix, the last instruction is the root of the operand
            if last[0] == _CONST:
                self.code[-1] = (_CONST, -last[1])
                return
            ins = (_CALL, "neg", 1, ())
        self.code.append(ins)

    def prepare(self, node: ast.expr) -> tuple[list[ast.expr], Instruction | None]:
        """Check one node: its operands (to be emitted first) and the instruction that follows them."""
        if isinstance(node, ast.Name):
            self.names.setdefault(node.id)
            self.code.append((_NAME, node.id))
            return [], None
        if isinstance(node, ast.Constant):
            self.code.append((_CONST, self.number(node)))
            return [], None
        if isinstance(node, (ast.List, ast.Tuple)):
            self.code.append((_LIST, self.numbers(node)))
            return [], None
        if isinstance(node, ast.BinOp):
            name = _BINARY.get(type(node.op))
            if name is None:
                self.fail(node, f"operator '{_SPELLING.get(type(node.op), '?')}' is not allowed")
            return [node.left, node.right], (_CALL, name, 2, ())
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return [node.operand], (_NEG,)
            if isinstance(node.op, ast.UAdd):
                return [node.operand], None
            word = _SPELLING[type(node.op)]
            self.fail(node, f"operator '{word}' is not allowed; use logical_not(x)")
        if isinstance(node, ast.Compare):
            if len(node.ops) > 1:
                self.fail(node, "chained comparisons (a < b < c) are not allowed; "
                                "write logical_and(a < b, b < c)")
            name = _COMPARE.get(type(node.ops[0]))
            if name is None:
                self.fail(node, f"operator '{_SPELLING[type(node.ops[0])]}' is not allowed")
            return [node.left, node.comparators[0]], (_CALL, name, 2, ())
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, ast.BoolOp):
            word = _SPELLING[type(node.op)]
            self.fail(node, f"'{word}' is not allowed; use logical_{word}(a, b)")
        what = _FORBIDDEN.get(type(node)) or f"{type(node).__name__} expressions are"
        self.fail(node, f"{what} not allowed")

    # -------------------------------------------------------------------- calls

    def call(self, node: ast.Call) -> tuple[list[ast.expr], Instruction]:
        func, receiver = node.func, None
        if isinstance(func, ast.Attribute):  # a method: x.sum(axis=0) is sum(x, axis=0)
            self.check_receiver(func)
            name, receiver = func.attr, func.value
        elif isinstance(func, ast.Name):
            name = func.id
        else:
            self.fail(func, "only catalog ops can be called, by name: mean(x)")
        opdef = lookup(name)
        if opdef is None:
            close = close_ops(name)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise OpError(f"unknown op '{name}'{self.place.of(func)}{hint}")
        if receiver is not None and not opdef.method:
            self.fail(func, f"'{name}' is not a method; call it by name: {name}(...)", OpError)
        kwargs: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None:
                self.fail(kw, "'**' arguments are not allowed")
            if kw.arg in kwargs:
                self.fail(kw, f"keyword argument '{kw.arg}' repeated")
            kwargs[kw.arg] = self.literal(kw.value, kw.arg)
        args = ([receiver] if receiver is not None else []) + list(node.args)
        if opdef.variadic and len(args) == 1 and isinstance(args[0], (ast.List, ast.Tuple)):
            args = list(args[0].elts)  # stack([a, b]), concat((a, b), axis=1): the tensors as one list
        if opdef.variadic and args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str) \
                and opdef.required and opdef.required[0] not in kwargs:
            kwargs[opdef.required[0]] = args[0].value  # einsum("ij,jk->ik", a, b), as torch writes it
            args = args[1:]
        if opdef.arity is not None:
            n, extra = len(args), len(opdef.kwargs)
            # numpy style: positions past the tensors fill the kwargs in order (sum(x, 0), clip(x, 0, 1));
            # torch style, sizes may be spread out (x.view(2, 3))
            filled = None
            if opdef.min_arity <= n <= opdef.arity + extra or n > opdef.arity and spreads_sizes(opdef):
                names = [*opdef.kwargs, *[next(iter(opdef.kwargs), "")] * n]
                filled = extra_kwargs(opdef, [self.literal(a, k) for a, k in zip(args[opdef.arity:], names)])
            if filled is None:
                s = "s" * (opdef.arity != 1)
                count = opdef.arity if opdef.min_arity == opdef.arity else f"{opdef.min_arity} to {opdef.arity}"
                more = f" and up to {extra} of its kwargs ({', '.join(opdef.kwargs)})" if extra else ""
                self.fail(node, f"'{name}' takes {count} argument{s} ({', '.join(opdef.shown_args)}){more}, "
                                f"got {n}", OpError)
            for kname, value in filled.items():
                if kname in kwargs:
                    self.fail(node, f"'{name}' got kwarg '{kname}' both by position and by name", OpError)
                kwargs[kname] = value
            args = args[:opdef.arity]
        elif not args:
            self.fail(node, f"'{name}' takes at least one tensor", OpError)
        for arg in args:
            if isinstance(arg, ast.Starred):
                self.fail(arg, "starred arguments (*args) are not allowed")
        try:
            opdef.check_kwargs(kwargs)
        except OpError as e:
            self.fail(node, e.detail, OpError)
        return args, (_CALL, opdef.name, len(args), tuple(kwargs.items()))

    def check_receiver(self, node: ast.Attribute) -> None:
        root = node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and root.id in _LIBRARIES:
            self.fail(node, f"attribute access is not allowed: call ops by name ({node.attr}(x)) or as methods "
                            f"of a tensor (x.{node.attr}())")

    def attribute(self, node: ast.Attribute) -> tuple[list[ast.expr], Instruction | None]:
        """x.T, x.data and x.grad; methods are calls (see `call`)."""
        self.check_receiver(node)
        if node.attr == "T":
            return [node.value], (_CALL, "transpose", 1, ())
        if node.attr == "data":
            return [node.value], (_DATA,)
        if node.attr == "grad":
            if not isinstance(node.value, ast.Name):
                self.fail(node, "only a name has a grad: x.grad")
            self.names.setdefault(node.value.id)
            self.code.append((_GRAD, node.value.id, self.place.of(node)))
            return [], None
        self.fail(node, f"attribute access is not allowed: '.{node.attr}' (allowed: {_ATTRIBUTES})")

    # -------------------------------------------------------------------- subscripts

    def subscript(self, node: ast.Subscript) -> tuple[list[ast.expr], Instruction]:
        index = node.slice
        items = index.elts if isinstance(index, ast.Tuple) else [index]
        key = [self.key_item(item) for item in items]
        if all(k is not _NOT_KEY for k in key):
            if key.count("...") > 1:
                self.fail(index, "an index can only have a single ellipsis ('...')")
            return [node.value], (_CALL, "index", 1, (("key", tuple(key)),))
        if isinstance(index, ast.Tuple):
            self.fail(index, "a subscript by a tensor must stand alone (x[i]); "
                             "use take(x, i, axis=...) along other axes")
        return [node.value, index], (_CALL, "take", 2, (("axis", 0),))

    def key_item(self, node: ast.expr) -> int | str | None | object:
        """An index key item as the `index` op's key takes it (int, None, "...", "start:stop:step"), or _NOT_KEY."""
        if isinstance(node, ast.Slice):
            bounds = [None if b is None else self.integer(b, "slice bounds", "integers") for b in
                      (node.lower, node.upper, node.step)]
            if bounds[2] == 0:
                self.fail(node, "slice step cannot be zero")
            text = ":".join("" if b is None else str(b) for b in bounds[:2])
            return text if node.step is None else f"{text}:{'' if bounds[2] is None else bounds[2]}"
        if isinstance(node, ast.Constant):
            if node.value is None:
                return None
            if node.value is Ellipsis:
                return "..."
            return self.integer(node, "subscripts", _KEY_KINDS)
        if _signed(node):
            return self.integer(node, "subscripts", _KEY_KINDS)
        return _NOT_KEY

    def integer(self, node: ast.expr, what: str, kinds: str) -> int:
        value = self.scalar(node, what, kinds)
        if type(value) is not int:
            self.fail(node, f"{what} must be {kinds}, got {value!r}")
        return value

    # -------------------------------------------------------------------- literals

    def number(self, node: ast.Constant) -> int | float:
        """A number in a tensor position (True, None and strings are for kwargs only)."""
        v = node.value
        if type(v) is int:
            if not -_INT64 <= v < _INT64:
                self.fail(node, "integer literal does not fit in int64 (from -2**63 to 2**63-1)")
            return v
        if type(v) is float:
            return v
        if type(v) is complex:
            self.fail(node, "complex numbers are not allowed")
        if v is Ellipsis:
            self.fail(node, "'...' is only allowed in subscripts")
        if v is None:
            self.fail(node, "None is only allowed as a keyword value or in a subscript (new axis)")
        if isinstance(v, bool):
            self.fail(node, f"{v} is only allowed as a keyword value")
        if isinstance(v, str):
            self.fail(node, "strings are only allowed as keyword values (dtype=\"float64\")")
        self.fail(node, f"{type(v).__name__} literals are not allowed")

    def scalar(self, node: ast.expr, what: str, kinds: str = "numbers") -> int | float:
        """A number, possibly signed: `2`, `-1`, `+0.5`."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant) and _signed(node):
            value = self.number(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Constant):
            return self.number(node)
        self.fail(node, f"{what} must be {kinds} written out, not expressions")

    def numbers(self, node: ast.List | ast.Tuple) -> tuple[Any, ...]:
        """A list constant in a tensor position: nested lists of numbers (nesting is bounded by the parser)."""
        return tuple(self.numbers(e) if isinstance(e, (ast.List, ast.Tuple)) else
                     self.scalar(e, "list items") for e in node.elts)

    def literal(self, node: ast.expr, kwarg: str) -> Any:
        """A kwarg value: a number, True/False, None, a string, or a list of those."""
        if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (bool, str))):
            return node.value
        if isinstance(node, ast.Constant) or _signed(node):
            return self.scalar(node, f"kwarg '{kwarg}'")
        if isinstance(node, (ast.List, ast.Tuple)):
            return tuple(self.literal(e, kwarg) for e in node.elts)
        self.fail(node, f"kwarg '{kwarg}' must be a literal: a number, True, False, None, a string "
                        "or a list of those")


_NOT_KEY = object()
_KEY_KINDS = "integers, slices, None or '...'"


def _signed(node: ast.AST) -> bool:
    return (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant))
