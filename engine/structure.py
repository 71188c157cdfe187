"""The program structure: a program and its calls as typed, immutable values, checked once when built.

The interpreter (`engine.program.Namespace`) reads only these. A service builds them from its own request
models with the constructors below (`Input.make`, `OpCall.make`, ...); a library user builds a whole program
from a plain dict with `Program.from_dict`. Either way the same checks run and a refusal names its place as
a JSON pointer into the program (`/ops/2/name`). Each rule of what a program may say is stated here once:

- a name is an identifier;
- an op is `op` with `args` (and `kwargs`), or an `expr` formula with its arguments inside it, never both;
- a string argument names a variable (its binding when the op runs); numbers, lists and arrays are constants;
- numbers and lists are float32 unless a dtype is given, and all-boolean data is bool; an ndarray keeps its
  dtype;
- `returns` of None means the default (every name the program bound, plus every leaf with a grad).

A program runs in this order: zero_grad, inputs, ops, backward calls, optimizer steps, then the answer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import expr as expressions
from .errors import EngineError, ExprError, LimitError, OpError, TensorError
from .tensor import DEFAULT_FLOAT, DTYPES, Tensor, as_array

__all__ = ["Program", "Input", "OpCall", "Ref", "BackwardCall", "GradCall", "DerivativeCall", "check_name",
           "default_dtype", "located", "program_array", "pointer"]

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
BOOL = DTYPES["bool"]

PROGRAM_KEYS = ("zero_grad", "inputs", "ops", "backward", "derivatives", "step", "return")
INPUT_KEYS = ("data", "dtype", "requires_grad")
OP_KEYS = ("name", "op", "args", "kwargs", "expr", "retain_grad", "no_grad", "requires_grad")
BACKWARD_KEYS = ("output", "gradient", "retain_graph", "create_graph")


def pointer(*parts: str | int) -> str:
    """RFC 6901 JSON pointer to a place in a program (or any JSON document) from its keys and indices."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def located(e: EngineError, where: str, **at: Any) -> EngineError:
    """Fill in where an error happened and say it in the detail ("... in op 2 'add'")."""
    e.at(**at)
    if where and where not in e.detail:
        e.detail = f"{e.detail} {where}"
        e.args = (e.detail,)
    return e


def check_name(name: Any, *at: str | int) -> str:
    """`name` if it is an identifier; else an OpError pointing at the place `at` (its keys and indices)."""
    if type(name) is not str or not NAME.match(name):
        raise OpError(f"name {name!r} must be an identifier (letters, digits, underscore; not starting with a "
                      f"digit)", pointer=pointer(*at))
    return name


def default_dtype(kind: str) -> np.dtype:
    """The dtype of program data given without one: bool when every item is a boolean, else float32.

    JSON cannot tell 1 from 1.0 (and JavaScript writes both as 1), so integers are floats unless asked for."""
    return BOOL if kind == "b" else DEFAULT_FLOAT


def program_array(data: Any, dtype: str | None = None) -> np.ndarray:
    """Program data as an ndarray: numbers and lists by `default_dtype` unless a dtype is given; an ndarray
    (or Tensor) keeps its own."""
    if isinstance(data, Tensor):
        data = data.data
    arr = as_array(data, dtype)
    if dtype is None and not isinstance(data, np.ndarray):
        target = default_dtype(arr.dtype.kind)
        if arr.dtype != target:
            arr = arr.astype(target)
    return arr


def _unknown_keys(value: Mapping[str, Any], known: Iterable[str], what: str, at: str,
                  error: type[EngineError] = EngineError, **extra: Any) -> None:
    for key in value:
        if key not in known:
            raise error(f"{what} has an unknown key {key!r} (allowed: {', '.join(sorted(known))})",
                        pointer=f"{at}{pointer(key)}", **extra)


def _listed(value: Any, what: str, at: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise EngineError(f"{what} must be a list", pointer=at)
    return list(value)


def _names(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


# ---------------------------------------------------------------------------- inputs

@dataclass(frozen=True, slots=True)
class Input:
    """Bind `name` to a new leaf holding `data` (rebinding an existing name makes a new leaf)."""

    name: str
    data: np.ndarray
    requires_grad: bool = False

    @classmethod
    def make(cls, name: Any, data: Any, dtype: str | None = None, requires_grad: Any = False) -> Input:
        check_name(name, "inputs", name) if isinstance(name, str) else check_name(name, "inputs")
        if not isinstance(requires_grad, bool):
            raise TensorError(f"input '{name}': requires_grad must be true or false", name=name,
                              pointer=pointer("inputs", name, "requires_grad"))
        if data is None:
            raise OpError(f"input '{name}' has no data", name=name, pointer=pointer("inputs", name))
        try:
            return cls(name, program_array(data, dtype), requires_grad)
        except EngineError as e:
            raise located(e, f"in input '{name}'", name=name, pointer=pointer("inputs", name)) from None

    @classmethod
    def from_value(cls, name: Any, value: Any) -> Input:
        """A dict program's input: a tensor (number, list, ndarray, Tensor) or {data, dtype, requires_grad}."""
        if not isinstance(value, Mapping):
            return cls.make(name, value)
        if isinstance(name, str):
            _unknown_keys(value, INPUT_KEYS, f"input '{name}'", pointer("inputs", name), TensorError, name=name)
        return cls.make(name, value.get("data"), value.get("dtype"), value.get("requires_grad", False))


# ---------------------------------------------------------------------------- ops

@dataclass(frozen=True, slots=True)
class Ref:
    """An op argument that names a variable: its binding when the op runs."""

    name: str


@dataclass(frozen=True, slots=True)
class OpCall:
    """Bind `name` to `op(*args, **kwargs)`, or to the value of the parsed formula `expr`."""

    name: str
    op: str | None = None
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    expr: expressions.Expr | None = None
    retain_grad: bool = False
    no_grad: bool = False  # computed as under torch.no_grad(): no graph, the result is a leaf
    requires_grad: bool | None = None  # the result must be a leaf; it then requires grad or not (requires_grad_)

    @property
    def op_count(self) -> int:
        """How many ops this applies (an expr counts each op it calls, and at least one: a bare name or number
        is work too, so that the op list alone bounds a program before any formula is parsed)."""
        return 1 if self.expr is None else max(1, self.expr.ops)

    @classmethod
    def make(cls, index: int, name: Any, op: str | None = None, args: Any = None, kwargs: Any = None,
             expr: str | None = None, retain_grad: Any = False, no_grad: Any = False,
             requires_grad: Any = None) -> OpCall:
        """Op `index` of a program, checked; `args` as given (strings name variables; tensors decoded)."""
        at = f"/ops/{index}"
        named = name if isinstance(name, str) else None
        if expr is not None and op is not None:
            raise OpError(f"op {index} has both 'op' and 'expr'; give one", pointer=at, op_index=index, name=named)
        if expr is None and op is None:
            raise OpError(f"op {index} needs 'op' (with 'args') or 'expr'", pointer=at, op_index=index, name=named)
        if expr is not None and (args or kwargs):
            raise OpError(f"op {index} has an 'expr'; its arguments go inside the formula, not in 'args' or "
                          "'kwargs'", pointer=at, op_index=index, name=named)
        try:
            check_name(name, "ops", index, "name")
        except EngineError as e:
            raise e.at(op_index=index) from None
        for flag, value in (("retain_grad", retain_grad), ("no_grad", no_grad), ("requires_grad", requires_grad)):
            if not isinstance(value, bool) and not (flag == "requires_grad" and value is None):
                raise OpError(f"op {index}: {flag} must be true or false", pointer=f"{at}/{flag}", op_index=index,
                              name=named)
        if expr is not None:
            try:
                return cls(name, expr=_parse(expr), retain_grad=retain_grad, no_grad=no_grad,
                           requires_grad=requires_grad)
            except EngineError as e:
                raise located(e, f"in op {index} (expr)", pointer=f"{at}/expr", op_index=index, name=named) from None
        try:
            if not isinstance(op, str):
                raise OpError(f"'op' must be the name of a catalog op, got {op!r}")
            if args is not None and not isinstance(args, (list, tuple)):
                raise OpError("'args' must be a list")
            if kwargs is not None and type(kwargs) is not dict and not isinstance(kwargs, Mapping):
                raise OpError("'kwargs' must be an object")
            values = tuple([_argument(a, index, k) for k, a in enumerate(args)]) if args else ()
        except EngineError as e:
            raise located(e, f"in op {index} '{op}'", pointer=at, op_index=index, name=named) from None
        return cls(name, op, values, dict(kwargs or {}), retain_grad=retain_grad, no_grad=no_grad,
                   requires_grad=requires_grad)

    @classmethod
    def from_value(cls, index: int, value: Any) -> OpCall:
        if not isinstance(value, Mapping):
            raise OpError(f"op {index} must be an object with 'name' and 'op' or 'expr'", op_index=index,
                          pointer=pointer("ops", index))
        _unknown_keys(value, OP_KEYS, f"op {index}", pointer("ops", index), OpError, op_index=index)
        return cls.make(index, value.get("name"), value.get("op"), value.get("args"), value.get("kwargs"),
                        value.get("expr"), value.get("retain_grad", False), value.get("no_grad", False),
                        value.get("requires_grad"))


_CONSTANTS = (float, int, bool, np.ndarray)


def _argument(value: Any, index: int, k: int) -> Any:
    """A string names a variable; numbers stay numbers (weakly typed, as Python numbers are in torch);
    tensors are constants, never requiring grad (a Tensor given here contributes its data only)."""
    kind = type(value)
    if kind is str:
        return Ref(value)
    if kind in _CONSTANTS or isinstance(value, (int, float, np.ndarray)):
        return value
    if isinstance(value, str):
        return Ref(value)
    if isinstance(value, Tensor):  # a constant: its data, outside any graph
        return value.data
    at = f"/ops/{index}/args/{k}"
    try:
        if isinstance(value, list):
            return program_array(value)
        if isinstance(value, Mapping):
            _unknown_keys(value, ("data", "dtype"), "a tensor argument", at, TensorError)
            if value.get("data") is None:
                raise TensorError("a tensor argument needs 'data'")
            return program_array(value["data"], value.get("dtype"))
    except EngineError as e:
        raise e.at(pointer=at) from None
    what = "null" if value is None else type(value).__name__
    raise TensorError(f"an argument is {what}; it must be a name, a number or a tensor",
                      pointer=at)


@functools.lru_cache(maxsize=1024)
def _parse_cached(text: str) -> expressions.Expr:
    return expressions.parse(text)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _parse(text: Any) -> expressions.Expr:
    if isinstance(text, str):
        # Python's parser reads fullwidth and other compatibility letters as ASCII ones (NFKC): refuse them
        odd = _NON_ASCII.search(text)
        if odd is not None:
            c = odd.group()
            raise ExprError(f"expression has the non-ASCII character {c!r} (U+{ord(c):04X}) at column "
                            f"{odd.start() + 1}; names, numbers and operators are ASCII")
        # clients resend the same formulas (a loop body); parsed expressions are immutable, so they are shared
        return _parse_cached(text)
    return expressions.parse(text)


# ---------------------------------------------------------------------------- backward and grad calls

@dataclass(frozen=True, slots=True)
class BackwardCall:
    """Accumulate d output / d leaf into every leaf's grad, as `output.backward(gradient)`."""

    output: str
    gradient: Any = None  # an array (or anything a Tensor reads) of the output's shape; None: ones, scalars only
    retain_graph: bool | None = None  # None: as create_graph
    create_graph: bool = False

    @classmethod
    def from_value(cls, index: int, value: Any) -> BackwardCall:
        at = pointer("backward", index)
        if not isinstance(value, Mapping):
            raise EngineError(f"backward call {index} must be an object with 'output'", pointer=at)
        _unknown_keys(value, BACKWARD_KEYS, f"backward call {index}", at, EngineError)
        output = value.get("output")
        if not isinstance(output, str):
            raise EngineError(f"backward call {index} needs 'output', the name of a variable", pointer=f"{at}/output")
        return cls(output, value.get("gradient"), value.get("retain_graph"), bool(value.get("create_graph", False)))


@dataclass(frozen=True, slots=True)
class GradCall:
    """Gradients of `outputs` with respect to `inputs` without accumulating (torch.autograd.grad), bound
    under the names `bind` (one per input) when given."""

    outputs: tuple[str, ...]
    inputs: tuple[str, ...]
    grad_outputs: tuple[Any, ...] | None = None  # one per output (None: ones, for a single-element output)
    retain_graph: bool | None = None
    create_graph: bool = False
    allow_unused: bool = False
    bind: tuple[str, ...] | None = None

    @classmethod
    def make(cls, outputs: str | Iterable[str], inputs: str | Iterable[str], grad_outputs: Any = None,
             retain_graph: bool | None = None, create_graph: bool = False, allow_unused: bool = False,
             bind: str | Iterable[str] | None = None) -> GradCall:
        outs, ins, names = _names(outputs) or (), _names(inputs) or (), _names(bind)
        if names is not None:
            if len(names) != len(ins):
                raise OpError(f"'bind' names {len(names)} variables for {len(ins)} inputs; give one per input",
                              pointer="/bind")
            for k, n in enumerate(names):
                check_name(n, "bind", k)
        if grad_outputs is not None:
            grad_outputs = tuple(grad_outputs)
            if len(grad_outputs) != len(outs):
                raise OpError(f"'grad_outputs' has {len(grad_outputs)} items for {len(outs)} outputs",
                              pointer="/grad_outputs")
        return cls(outs, ins, grad_outputs, retain_graph, create_graph, allow_unused, names)


# ---------------------------------------------------------------------------- derivative calls

KINDS = ("grad", "jacobian", "jvp", "hvp", "hessian")
# the fields each kind takes besides `kind` (a program's call is checked against these)
FIELDS = {
    "grad": ("outputs", "inputs", "grad_outputs", "retain_graph", "create_graph", "allow_unused",
             "is_grads_batched", "bind"),
    "jacobian": ("outputs", "inputs", "chunk_size"),
    "jvp": ("outputs", "inputs", "tangents"),
    "hvp": ("output", "inputs", "v"),
    "hessian": ("output", "inputs", "chunk_size"),
}


@dataclass(frozen=True, slots=True)
class DerivativeCall:
    """A derivative call: grad (torch.autograd.grad), jacobian, jvp, hvp or hessian, by variable names.
    `vectors` holds grad's grad_outputs (one per output, None for the default of ones), jvp's tangents or
    hvp's v (one per input); each an array or a Ref (a variable's binding when the call runs)."""

    kind: str
    outputs: tuple[str, ...]
    inputs: tuple[str, ...]
    vectors: tuple[Any, ...] | None = None
    chunk_size: int | None = None
    retain_graph: bool | None = None
    create_graph: bool = False
    allow_unused: bool = False
    is_grads_batched: bool = False
    bind: tuple[str, ...] | None = None

    @classmethod
    def from_value(cls, value: Any, at: str = "") -> DerivativeCall:
        """A call from plain data: {"kind", ...its fields}; strings in vectors are names, arrays tensors."""
        if not isinstance(value, Mapping):
            raise OpError("a derivative call must be an object with 'kind'", pointer=at)
        kind = value.get("kind")
        if kind not in KINDS:
            raise OpError(f"a derivative call's kind must be one of {', '.join(KINDS)}, got {kind!r}",
                          pointer=f"{at}/kind")
        known = FIELDS[kind]
        for key in value:
            if key != "kind" and key not in known:
                raise OpError(f"a {kind} call has no field '{key}' (its fields: {', '.join(known)})",
                              pointer=f"{at}/{key}")
        single = kind in ("hvp", "hessian")
        outputs = _call_names(value.get("output") if single else value.get("outputs"),
                         f"{at}/{'output' if single else 'outputs'}", one=single)
        inputs = _call_names(value.get("inputs"), f"{at}/inputs")
        vectors = None
        if kind == "grad" and value.get("grad_outputs") is not None:
            vectors = _per_output(value["grad_outputs"], value.get("outputs"), outputs, f"{at}/grad_outputs")
        elif kind in ("jvp", "hvp"):
            field = "tangents" if kind == "jvp" else "v"
            vectors = _per_input(value.get(field), inputs, f"{at}/{field}", field)
        chunk = value.get("chunk_size")
        if chunk is not None and (type(chunk) is not int or chunk < 1):
            raise OpError(f"chunk_size must be a positive integer, got {chunk!r}", pointer=f"{at}/chunk_size")
        bind = None
        if value.get("bind") is not None:
            bind = _call_names(value["bind"], f"{at}/bind")
            if len(bind) != len(inputs):
                raise OpError(f"'bind' names {len(bind)} variables for {len(inputs)} inputs; give one per input",
                              pointer=f"{at}/bind")
        flags = {k: value.get(k) for k in ("retain_graph", "create_graph", "allow_unused", "is_grads_batched")}
        for k, v in flags.items():
            if v is not None and not isinstance(v, bool):
                raise OpError(f"'{k}' must be true or false", pointer=f"{at}/{k}")
        return cls(kind, outputs, inputs, vectors, chunk, flags["retain_graph"], bool(flags["create_graph"]),
                   bool(flags["allow_unused"]), bool(flags["is_grads_batched"]), bind)


def _call_names(value: Any, at: str, one: bool = False) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items or not all(isinstance(n, str) for n in items) \
            or (one and len(items) != 1):
        what = "the name of a variable" if one else "a name or a non-empty list of names"
        raise OpError(f"'{at.rsplit('/', 1)[-1]}' must be {what}", pointer=at)
    return tuple(items)


def _vector(value: Any) -> Any:
    return Ref(value) if isinstance(value, str) else value


def _per_output(value: Any, given: Any, outputs: tuple[str, ...], at: str) -> tuple[Any, ...]:
    if isinstance(given, str):  # one output: one tensor (or name)
        return (_vector(value),)
    if not isinstance(value, (list, tuple)) or len(value) != len(outputs):
        raise OpError(f"'grad_outputs' must be a list with one tensor, name or null per output "
                      f"({len(outputs)})", pointer=at)
    return tuple(None if v is None else _vector(v) for v in value)


def _per_input(value: Any, inputs: tuple[str, ...], at: str, field: str) -> tuple[Any, ...]:
    if not isinstance(value, Mapping):
        raise OpError(f"'{field}' must be an object with a tensor or a name for each input", pointer=at)
    for name in value:
        if name not in inputs:
            raise OpError(f"'{field}' has '{name}', which is not one of the inputs ({', '.join(inputs)})",
                          pointer=f"{at}/{name}")
    missing = [n for n in inputs if n not in value]
    if missing:
        raise OpError(f"'{field}' needs a tensor or a name for input '{missing[0]}'", pointer=f"{at}/{missing[0]}")
    return tuple(_vector(value[n]) for n in inputs)


# ---------------------------------------------------------------------------- programs

@dataclass(frozen=True, slots=True)
class Program:
    """zero_grad, inputs, ops, backward calls and optimizer steps, run in that order and all or nothing; then
    the variables `returns` names (None: every name the program bound, plus every leaf that has a grad).
    With zero_grad and a step, one program is a whole training step."""

    inputs: tuple[Input, ...] = ()
    ops: tuple[OpCall, ...] = ()
    backward: tuple[BackwardCall, ...] = ()
    returns: tuple[str, ...] | None = None
    zero_grad: bool = False  # first of all, every grad in the namespace becomes None
    step: tuple[str, ...] = ()  # optimizers of the namespace to step, in order, after the backward calls
    derivatives: tuple[DerivativeCall, ...] = ()  # run after the backward calls; answered in order

    @property
    def op_count(self) -> int:
        """How many ops the program applies: its ops' counts, and one per backward call and per derivative
        call (each costs about a forward pass, or a batched one)."""
        return sum(op.op_count for op in self.ops) + len(self.backward) + len(self.derivatives)

    @classmethod
    def from_dict(cls, document: Mapping[str, Any], max_ops: int | None = None) -> Program:
        """A program from plain data, the shape of the service's request body:

            Program.from_dict({"inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}},
                               "ops": [{"name": "y", "op": "add", "args": ["x", 2]},
                                       {"name": "out", "expr": "mean(y * y * 3)"}],
                               "backward": [{"output": "out"}], "return": ["x", "out"]})

        Tensors are numbers, nested lists, ndarrays or Tensors (inputs also {data, dtype, requires_grad});
        refusals are engine errors whose `pointer` names the place in `document`. With `max_ops`, a program
        that applies more ops is refused as soon as that is known: from the length of its op and backward lists
        before anything is decoded, else at the first formula that takes the count past the limit.
        """
        if not isinstance(document, Mapping):
            raise EngineError(f"a program is an object with {', '.join(PROGRAM_KEYS)}, got "
                              f"{type(document).__name__}", pointer="")
        _unknown_keys(document, PROGRAM_KEYS, "the program", "")
        inputs = document.get("inputs") or {}
        if not isinstance(inputs, Mapping):
            raise EngineError("'inputs' must be an object of names to tensors", pointer="/inputs")
        op_values = _listed(document.get("ops"), "'ops'", "/ops")
        call_values = _listed(document.get("backward"), "'backward'", "/backward")
        derivative_values = _listed(document.get("derivatives"), "'derivatives'", "/derivatives")
        count = len(op_values) + len(call_values) + len(derivative_values)  # every entry counts one op at least
        check_op_count(count, max_ops)
        ops = []
        for i, value in enumerate(op_values):
            op = OpCall.from_value(i, value)
            count += op.op_count - 1
            check_op_count(count, max_ops)
            ops.append(op)
        return cls(
            tuple(Input.from_value(name, value) for name, value in inputs.items()),
            tuple(ops),
            tuple(BackwardCall.from_value(j, call) for j, call in enumerate(call_values)),
            _names(document.get("return")),
            _flag(document.get("zero_grad", False), "/zero_grad"),
            steps(document.get("step")),
            tuple(c if isinstance(c, DerivativeCall) else DerivativeCall.from_value(c, pointer("derivatives", k))
                  for k, c in enumerate(derivative_values)),
        )


def check_op_count(n: int, max_ops: int | None) -> None:
    """Refuse work of more than max_ops ops (backward and derivative calls included), pointing at the op list."""
    if max_ops is not None and n > max_ops:
        raise LimitError(f"the program applies {n} ops or more (backward and derivative calls included), over the "
                         f"limit of {max_ops} per request", pointer="/ops")


def steps(value: Any) -> tuple[str, ...]:
    """A program's `step`: the names of optimizers, checked."""
    names = _listed(value, "'step'", "/step")
    for k, n in enumerate(names):
        if not isinstance(n, str):
            raise EngineError(f"step {k} must be the name of an optimizer", pointer=pointer("step", k))
    return tuple(names)


def _flag(value: Any, at: str) -> bool:
    if not isinstance(value, bool):
        raise EngineError(f"'{at[1:]}' must be true or false", pointer=at)
    return value
