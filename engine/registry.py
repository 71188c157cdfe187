"""The op registry: one declaration per op, and everything derived from it.

An op is declared once in `ops.py` as a numpy forward function whose signature
carries the kwargs (names, types, defaults) and whose docstring is its doc,
decorated with its vjp, grad_fn name, what it saves and its shape rule. From that
come: the engine function and Tensor method, kwarg validation, the size check
before allocation, the catalog entry (`describe`), and the names that the
expression language knows.
"""

from __future__ import annotations

import difflib
import inspect
import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from .autograd import Meta, Node, meta_of
from .autograd import _local as _grad_mode  # read directly on the hot path (is_grad_enabled)
from .errors import DTypeError, EngineError, LimitError, OpError, ShapeError
from .tensor import DEFAULT_FLOAT, DTYPES, Tensor, as_array

# ---------------------------------------------------------------------------- kwarg types


class KwargType:
    """A kwarg's type: how it is written in the catalog and how a value is checked."""

    def __init__(self, name: str, check: Callable[[Any], Any]):
        self.name = name
        self._check = check

    def check(self, value: Any) -> Any:
        return self._check(value)

    def __repr__(self) -> str:
        return self.name


def _int(v):
    # program documents often cannot tell 2 from 2.0 (JavaScript writes both as 2): integral floats are integers
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return int(v)
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ValueError("must be an integer")
    return int(v)


def _opt(check):
    return lambda v: None if v is None else check(v)


def _ints(v):
    if isinstance(v, np.ndarray) and v.ndim == 1:
        v = v.tolist()
    if not isinstance(v, (list, tuple)):
        raise ValueError("must be a list of integers")
    return tuple(_int(x) for x in v)


def _axes(v):
    if isinstance(v, np.ndarray):
        v = v.tolist()
    return _int(v) if not isinstance(v, (list, tuple)) else _ints(v)


def _shape(v):
    if isinstance(v, np.ndarray):
        v = v.tolist()
    shape = _ints(v) if isinstance(v, (list, tuple)) else (_int(v),)
    if sum(1 for s in shape if s == -1) > 1 or any(s < -1 for s in shape):
        raise ValueError("must be non-negative sizes (at most one -1)")
    return shape


def _number(v):
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ValueError("must be a number")
    return float(v)


def _bool(v):
    if not isinstance(v, (bool, np.bool_)):
        raise ValueError("must be true or false")
    return bool(v)


def _dtype(v):
    if v not in DTYPES:
        raise ValueError(f"must be one of {', '.join(DTYPES)}")
    return v


def _key(v):
    """An index key: a list of int, null (new axis), "..." or a slice string "start:stop:step"."""
    items = v if isinstance(v, (list, tuple)) else [v]
    key = []
    for item in items:
        if item is None or item is Ellipsis or isinstance(item, slice):
            key.append(item)
        elif item == "...":
            key.append(Ellipsis)
        elif isinstance(item, str):
            parts = item.split(":")
            if len(parts) not in (2, 3):
                raise ValueError(f"slice {item!r} must look like 'start:stop' or 'start:stop:step'")
            try:
                bounds = [int(p) if p.strip() else None for p in parts]
            except ValueError:
                raise ValueError(f"slice {item!r} must hold integers") from None
            if len(bounds) == 3 and bounds[2] == 0:
                raise ValueError("slice step cannot be zero")
            key.append(slice(*bounds))
        else:
            key.append(_int(item))
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise ValueError("an index can only have a single ellipsis ('...')")
    return tuple(key)


Int = KwargType("int", _int)
OptInt = KwargType("int | null", _opt(_int))
Axes = KwargType("int | int[] | null", _opt(_axes))
Ints = KwargType("int[] | null", _opt(_ints))
Shape = KwargType("int[]", _shape)
Number = KwargType("number", _number)
OptNumber = KwargType("number | null", _opt(_number))
Bool = KwargType("bool", _bool)
DType = KwargType("dtype", _dtype)
Key = KwargType("index key", _key)

# ---------------------------------------------------------------------------- limits

class _Limits(threading.local):
    max_elements = None  # every thread's default; a plain attribute read on the hot path


_limits = _Limits()


class limit_elements:
    """Within this block, an op whose result would hold more elements than `n` is refused."""

    def __init__(self, n: int | None):
        self.n = n

    def __enter__(self):
        self.previous = _limits.max_elements
        _limits.max_elements = self.n

    def __exit__(self, *exc):
        _limits.max_elements = self.previous


# ---------------------------------------------------------------------------- declarations

class OpDef:
    """Everything known about one op, read off its declaration."""

    def __init__(self, forward, *, vjp, grad_fn, saves, shape, method, check_shape, int_args, public):
        self.name = forward.__name__.rstrip("_")
        self.forward = forward
        self.vjp = vjp
        # torch names some nodes by overload (sum over dims is SumBackward1): a callable picks the name
        # from the node's kwargs and inputs; the catalog shows its choice for default kwargs (inputs None)
        self.grad_fn_rule = grad_fn if callable(grad_fn) else None
        self.grad_fn = (grad_fn({}, None) if self.grad_fn_rule else grad_fn) or \
            "".join(p.capitalize() for p in self.name.split("_")) + "Backward0"
        self.saves = saves
        self.saves_inputs = "inputs" in saves
        self.saves_output = "output" in saves
        self.shape = shape
        self.check_shape = check_shape
        self.int_args = int_args
        self.method = method
        self.public = public
        self.doc = inspect.cleandoc(forward.__doc__ or "")
        params = inspect.signature(forward).parameters.values()
        self.args = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        self.variadic = any(p.kind is p.VAR_POSITIONAL for p in params)
        self.arity = None if self.variadic else len(self.args)
        self.kwargs = {p.name: (p.annotation, p.default) for p in params if p.kind is p.KEYWORD_ONLY}
        self.required = tuple(k for k, (_, d) in self.kwargs.items() if d is inspect.Parameter.empty)
        # ops that `apply` may run on its short path: fixed arity, no required kwargs, no index arguments
        self.plain = self.arity in (1, 2) and not self.required and not int_args and not check_shape
        for kname, (ktype, _) in self.kwargs.items():
            assert isinstance(ktype, KwargType), f"{self.name}: kwarg {kname} needs a KwargType annotation"

    @property
    def differentiable(self) -> bool:
        return self.vjp is not None

    def check_kwargs(self, kwargs: dict) -> dict:
        clean = {}
        for k, v in kwargs.items():
            if k not in self.kwargs:
                known = ", ".join(self.kwargs) or "none"
                raise OpError(f"'{self.name}' got an unknown kwarg '{k}' (known: {known})")
            try:
                clean[k] = self.kwargs[k][0].check(v)
            except ValueError as e:
                raise OpError(f"'{self.name}' kwarg '{k}' {e} (got {v!r})") from None
        return clean

    def describe(self) -> dict:
        """The op's catalog entry: how to call it, as plain lists, dicts and strings."""
        return {
            "name": self.name,
            "arity": "variadic" if self.variadic else self.arity,
            "args": ["*" + self.args[0]] if self.variadic and self.args else
                    (["*tensors"] if self.variadic else self.args),
            "kwargs": [{"name": k, "type": t.name, "required": d is inspect.Parameter.empty,
                        "default": None if d is inspect.Parameter.empty else _plain(d)}
                       for k, (t, d) in self.kwargs.items()],
            "differentiable": self.differentiable,
            "grad_fn": self.grad_fn if self.differentiable else None,
            "method": self.method,
            "doc": self.doc,
        }

    def call_vjp(self, F, g, node: Node, create_graph: bool):
        if create_graph:
            inputs = node.inputs
            ans = None if node.out is None else Tensor._make(node.out, node)
        else:  # saved Tensors are read as arrays; a node that saved no inputs holds only their Meta
            inputs = node.inputs
            if self.saves_inputs:  # unrolled: a comprehension is a function call of its own in this hot loop
                if len(inputs) == 1:
                    a = inputs[0]
                    inputs = (a.data if type(a) is Tensor else a,)
                elif len(inputs) == 2:
                    a, b = inputs
                    inputs = (a.data if type(a) is Tensor else a, b.data if type(b) is Tensor else b)
                else:
                    inputs = [x.data if type(x) is Tensor else x for x in inputs]
            ans = node.out
        vjp = self.vjp
        if type(vjp) is tuple:  # one rule per input: compute only the gradients that go somewhere
            kw = node.kwargs
            if len(vjp) == 1:  # unrolled for one and two inputs: this runs once per node of every backward
                f = vjp[0]
                return (None if node.next[0] is None or f is None else f(F, g, ans, *inputs, **kw),)
            if len(vjp) == 2:
                (fa, fb), (na, nb) = vjp, node.next
                return (None if na is None or fa is None else fa(F, g, ans, *inputs, **kw),
                        None if nb is None or fb is None else fb(F, g, ans, *inputs, **kw))
            return [None if n is None or f is None else f(F, g, ans, *inputs, **kw) for f, n in zip(vjp, node.next)]
        return vjp(F, g, ans, *inputs, **node.kwargs)


def _plain(v):
    return list(v) if isinstance(v, tuple) else v


OPS: dict[str, OpDef] = {}


def close_ops(name: str) -> list[str]:
    """Public op names that look like `name`, for an unknown op's hint."""
    return difflib.get_close_matches(name, [n for n, o in OPS.items() if o.public], n=3)


def op(*, vjp=None, grad_fn=None, saves="", shape=None, method=True, check_shape=False, int_args=(),
       public=True):
    """Declare an op. The decorated function is its numpy forward.

    vjp is a tuple with one rule per input (None where there is no gradient), each
    `rule(F, g, ans, *inputs, **kwargs)`, or for variadic ops one rule returning a
    tuple. Rules are written with F's ops so the same rule runs on ndarrays or,
    under create_graph, on Tensors (which makes gradients differentiable).
    `saves` says what the vjp reads: "", "inputs", "output" or both.
    `shape(*shapes, **kwargs)` gives the result shape for ops that can grow.
    `grad_fn` is a name or `rule(kwargs, inputs) -> name` (inputs: the node's saved inputs or their Meta).
    """

    def declare(forward):
        opdef = OpDef(forward, vjp=vjp, grad_fn=grad_fn, saves=saves, shape=shape, method=method,
                      check_shape=check_shape, int_args=int_args, public=public)
        OPS[opdef.name] = opdef
        return opdef

    return declare


# ---------------------------------------------------------------------------- apply

def apply(opdef: OpDef, args: tuple, kwargs: dict) -> Tensor:
    """Run one op forward and, when any input requires grad, record its node."""
    if opdef.plain and not kwargs:
        limit = _limits.max_elements
        if limit is None or opdef.shape is None or _size_bound(args) <= limit:
            out = _apply_short(opdef, args)
            if out is not None:
                return out
    if len(args) != opdef.arity:  # variadic ops (arity None), kwargs given by position, wrong arity
        args, kwargs = _bind_args(opdef, args, kwargs)
    if kwargs:
        kwargs = opdef.check_kwargs(kwargs)
    if opdef.required and any(k not in kwargs for k in opdef.required):
        missing = [k for k in opdef.required if k not in kwargs]
        raise OpError(f"'{opdef.name}' needs kwarg{'s' * (len(missing) > 1)} {', '.join(missing)}")
    arrays = []
    nxt = []  # where each input's gradient goes, should a node be recorded
    requires_grad = False
    all_tensors = True
    for a in args:
        if type(a) is Tensor:
            arrays.append(a.data)
            requires_grad = requires_grad or a.requires_grad
            nxt.append(a.grad_fn or (a if a.requires_grad else None))
        else:
            arrays.append(a if type(a) in (int, float, bool) or isinstance(a, np.ndarray) else as_array(a))
            nxt.append(None)
            all_tensors = False
    for i in opdef.int_args:
        if i < len(arrays):
            arrays[i] = _as_indices(opdef, i, arrays[i])

    limit = _limits.max_elements
    if opdef.shape is not None and (opdef.check_shape or limit is not None and _size_bound(arrays) > limit):
        _check_shape(opdef, arrays, kwargs, limit)
    try:
        out = opdef.forward(*arrays, **kwargs) if kwargs else opdef.forward(*arrays)
    except EngineError:
        raise
    except (ValueError, IndexError, TypeError) as e:
        raise _explain(opdef, arrays, e) from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if out.dtype is not DEFAULT_FLOAT and out.dtype == np.float64 and "dtype" not in kwargs \
            and not _keeps_float64(arrays):
        out = out.astype(DEFAULT_FLOAT)  # numpy promotes int64 with float32 to float64; torch does not

    if not (requires_grad and opdef.vjp is not None and out.dtype.kind == "f" and _grad_mode.grad_enabled):
        return Tensor._make(out, None)
    if opdef.saves_inputs:  # Tensors as they are (create_graph differentiates through them), the rest as read
        inputs = tuple(args) if all_tensors else tuple([a if type(a) is Tensor else x for a, x in zip(args, arrays)])
    else:
        inputs = tuple([Meta(x.shape, x.dtype) if type(x) is np.ndarray else meta_of(x) for x in arrays])
    node = Node(opdef, kwargs, tuple(nxt), inputs, out if opdef.saves_output else None)
    return Tensor._make(out, node)


_SCALARS = (int, float)


def _apply_short(opdef: OpDef, args: tuple) -> Tensor | None:
    """The common case, f(tensor) or f(tensor, tensor or number) with no kwargs and no limit, without
    apply's general bookkeeping; None when the general path must decide (errors, dtype promotion)."""
    if len(args) == 1:
        a = args[0]
        if type(a) is not Tensor:
            return None
        x = a.data
        try:
            out = opdef.forward(x)
        except Exception:
            return None
        if type(out) is not np.ndarray:
            if not isinstance(out, np.generic):
                return None
            out = np.asarray(out)  # a full reduction gives a numpy scalar
        if out.dtype is not x.dtype and out.dtype.kind != "b":
            return None
        if not (a.requires_grad and opdef.vjp is not None and out.dtype.kind == "f" and _grad_mode.grad_enabled):
            return Tensor._make(out, None)
        nxt = (a.grad_fn or a,)
        inputs = (a,) if opdef.saves_inputs else (Meta(x.shape, x.dtype),)
    elif len(args) == 2:
        a, b = args
        if type(a) is Tensor:
            x = a.data
            if type(b) is Tensor:
                y = b.data
                if y.dtype is not x.dtype:
                    return None
                nb = b.grad_fn or (b if b.requires_grad else None)
            elif type(b) in _SCALARS:
                y, nb = b, None
            else:
                return None
            na = a.grad_fn or (a if a.requires_grad else None)
        elif type(b) is Tensor and type(a) in _SCALARS:
            x, y = a, b.data
            na, nb = None, b.grad_fn or (b if b.requires_grad else None)
        else:
            return None
        try:
            out = opdef.forward(x, y)
        except Exception:
            return None
        if type(out) is not np.ndarray or (out.dtype is not (x.dtype if type(x) is np.ndarray else y.dtype)
                                           and out.dtype.kind != "b"):
            return None
        if (na is None and nb is None) or opdef.vjp is None or out.dtype.kind != "f" \
                or not _grad_mode.grad_enabled:
            return Tensor._make(out, None)
        nxt = (na, nb)
        if opdef.saves_inputs:
            inputs = args
        else:
            inputs = (Meta(x.shape, x.dtype) if type(x) is np.ndarray else meta_of(x),
                      Meta(y.shape, y.dtype) if type(y) is np.ndarray else meta_of(y))
    else:
        return None
    return Tensor._make(out, Node(opdef, {}, nxt, inputs, out if opdef.saves_output else None))


def _bind_args(opdef: OpDef, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Check the positional arguments; numpy style, extra ones fill the kwargs in order (sum(x, 0))."""
    if opdef.arity is not None and len(args) > opdef.arity and len(args) <= opdef.arity + len(opdef.kwargs):
        extra = dict(zip(opdef.kwargs, args[opdef.arity:]))
        dup = set(extra) & set(kwargs)
        if dup:
            raise OpError(f"'{opdef.name}' got kwarg '{dup.pop()}' both by position and by name")
        kwargs = {**kwargs, **extra}
        args = args[:opdef.arity]
    if opdef.arity is not None and len(args) != opdef.arity:
        raise OpError(f"'{opdef.name}' takes {opdef.arity} argument{'s' * (opdef.arity != 1)} "
                      f"({', '.join(opdef.args)}), got {len(args)}")
    if opdef.variadic and not args:
        raise OpError(f"'{opdef.name}' takes at least one tensor")
    return args, kwargs


def _keeps_float64(arrays) -> bool:
    """torch's promotion: a float64 result needs a float64 tensor input, one with dimensions unless all
    float inputs are 0-d; integers and python numbers alone give the default float32."""
    floats = [a for a in arrays if type(a) is np.ndarray and a.dtype.kind == "f"]
    ranked = [a for a in floats if a.ndim] or floats
    return any(a.dtype == np.float64 for a in ranked)


def _as_indices(opdef: OpDef, i: int, a):
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        return a.astype(np.int64, copy=False)
    if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
        return a.astype(np.int64)  # as in kwargs, integral floats are accepted as indices
    raise DTypeError(f"'{opdef.name}' argument '{opdef.args[i]}' must hold integers, got {a.dtype}")


def _shapes(arrays) -> list[tuple[int, ...]]:
    return [np.shape(a) for a in arrays]


def _size_bound(values) -> int:
    """An upper bound of the result's size for ops whose shape rule is not forced (check_shape): a
    broadcast, matmul, outer, take or where result never holds more elements than the product of its
    inputs' sizes, so below the limit the exact shape rule need not run."""
    n = 1
    for v in values:
        data = v.data if type(v) is Tensor else v
        if type(data) is np.ndarray:
            n *= data.size
    return n


def _check_shape(opdef: OpDef, arrays, kwargs, limit) -> None:
    """Refuse a result over the limit from shapes alone, before any memory is taken."""
    shapes = _shapes(arrays)
    try:
        out_shape = opdef.shape(*shapes, **kwargs)
    except ValueError as e:
        raise ShapeError(str(e)) from None
    n = math.prod(out_shape)
    if limit is not None and n > limit:
        raise LimitError(f"'{opdef.name}' would make a tensor of shape {tuple(out_shape)} ({n} elements), "
                         f"over the limit of {limit} elements per tensor")


def _explain(opdef: OpDef, arrays, e: Exception) -> EngineError:
    shapes = _shapes(arrays)
    if opdef.shape is not None:
        try:
            opdef.shape(*shapes)
        except ValueError as se:
            return ShapeError(str(se))
    desc = " and ".join(str(tuple(s)) for s in shapes)
    return ShapeError(f"'{opdef.name}' cannot take shapes {desc}: {e}")


# ---------------------------------------------------------------------------- backward helpers

class _Namespace:
    def __init__(self, table: dict[str, Callable]):
        self.__dict__.update(table)


_VJP_NAMESPACES: dict[bool, _Namespace] = {}


def vjp_namespace(create_graph: bool) -> _Namespace:
    """The ops a vjp is written with: numpy forwards, or engine functions when the backward is recorded."""
    if not _VJP_NAMESPACES:
        from . import functions

        plain = {name: o.forward for name, o in OPS.items()}
        _VJP_NAMESPACES[False] = _Namespace({**plain, "where": _masking_where(plain["where"])})
        _VJP_NAMESPACES[True] = _Namespace({name: getattr(functions, name) for name in OPS})
    return _VJP_NAMESPACES[create_graph]


_BITS = {np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}


def _masking_where(where):
    """where(mask, g, 0), the masking in relu's, clip's and maximum's vjps, as a multiply of g's bits by the
    mask: bit for bit np.where's result (NaN and -0.0 included), without its branchy loop (~15x slower)."""

    def masked(cond, a, b):
        if (type(b) is float or type(b) is int) and b == 0 and math.copysign(1.0, b) > 0 \
                and type(a) is np.ndarray and a.ndim and a.dtype in _BITS \
                and type(cond) is np.ndarray and cond.dtype == np.bool_ and cond.shape == a.shape:
            return np.multiply(a.view(_BITS[a.dtype]), cond).view(a.dtype)
        return where(cond, a, b)

    return masked


def sum_to_shape(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast gradient back down to `shape` (PyTorch's sum_to)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead < 0:
        return np.broadcast_to(g, shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and g.shape[i + lead] != 1)
    out = np.sum(g, axis=axes, keepdims=True) if axes else g
    return out.reshape(shape) if lead else out


def reduce_grad(g, shape, dtype, create_graph: bool):
    """The one place where broadcast gradients are reduced to their input's shape and dtype."""
    if create_graph:
        from . import functions

        if g.shape != shape:
            g = functions.sum_to(g, shape=shape)
        if dtype is not None and g.dtype != dtype:
            g = functions.astype(g, dtype=np.dtype(dtype).name)
        return g
    if g.shape != shape:
        g = sum_to_shape(np.asarray(g), shape)
    if dtype is not None and g.dtype is not dtype and g.dtype != dtype:  # `is`: the cheap common case
        g = np.asarray(g, dtype=dtype)
    return g
