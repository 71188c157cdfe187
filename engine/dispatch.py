"""Forward dispatch: run one op on its inputs, check arguments and limits, record the node.

`apply` is the one entry point. Plain calls (one or two tensors or numbers, no kwargs) take a
short path without the general bookkeeping; both paths end in `_result`, the one place that
gives the output its dtype and builds the node (edges, saved inputs or their Meta, complete kwargs).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import DTypeError, EngineError, LimitError, OpError, ShapeError
from .governance import NODE_OVERHEAD, RESULT_OVERHEAD
from .governance import state as _governance  # read directly on the hot path
from .graph import Meta, Node
from .graph import _local as _grad_mode  # read directly on the hot path (is_grad_enabled)
from .registry import OpDef, ShapeRule, on_register
from .tensor import DEFAULT_FLOAT, DTYPES, Tensor, as_array, meta_of

# ---------------------------------------------------------------------------- limits

class _Limits(threading.local):
    max_elements: int | None = None  # every thread's default; a plain attribute read on the hot path


_limits = _Limits()


class limit_elements:
    """Within this block, an op whose result would hold more elements than `n` is refused."""

    def __init__(self, n: int | None):
        self.n = n

    def __enter__(self) -> None:
        self.previous = _limits.max_elements
        _limits.max_elements = self.n

    def __exit__(self, *exc: object) -> None:
        _limits.max_elements = self.previous


# ---------------------------------------------------------------------------- apply

def apply(opdef: OpDef, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Tensor:
    """Run one op forward and, when any input requires grad, record its node."""
    if opdef.plain and not kwargs:
        limit = _limits.max_elements
        if limit is None or opdef.shape is None or _size_bound(args) <= limit:
            budget = _governance.budget
            if budget is not None:  # before the short path, which takes any error for a reason to step aside
                budget.charge(_result_bytes(opdef, args, kwargs))
            out = _apply_short(opdef, args)
            if out is not None:
                return out
            return _apply_general(opdef, args, kwargs, charged=budget is not None)
    return _apply_general(opdef, args, kwargs)


def _apply_general(opdef: OpDef, args: tuple[Any, ...], kwargs: dict[str, Any], charged: bool = False) -> Tensor:
    """Any call: binds and checks arguments and kwargs, checks the result's size from shapes first."""
    if len(args) != opdef.arity:  # variadic ops (arity None), kwargs given by position, wrong arity
        args, kwargs = _bind_args(opdef, args, kwargs)
    if kwargs:
        kwargs = opdef.check_kwargs(kwargs)
    if opdef.required and any(k not in kwargs for k in opdef.required):
        missing = [k for k in opdef.required if k not in kwargs]
        raise OpError(f"'{opdef.name}' needs kwarg{'s' * (len(missing) > 1)} {', '.join(missing)}")
    if opdef.defaults:  # filled once: the forward, the shape rule and the node all see every kwarg
        kwargs = opdef.complete_kwargs(kwargs)
    arrays = [a.data if type(a) is Tensor else
              a if type(a) in _NUMBERS or isinstance(a, np.ndarray) else as_array(a) for a in args]
    for i in opdef.int_args:
        if i < len(arrays):
            arrays[i] = _as_indices(opdef, i, arrays[i])

    limit = _limits.max_elements
    if opdef.shape is not None and (opdef.check_shape or limit is not None and _size_bound(arrays) > limit):
        _check_shape(opdef, opdef.shape, arrays, kwargs, limit)
    if not charged:
        budget = _governance.budget
        if budget is not None:
            budget.charge(_result_bytes(opdef, arrays, kwargs))
    try:
        out = opdef.forward(*arrays, **kwargs) if kwargs else opdef.forward(*arrays)
    except EngineError:
        raise
    except (ValueError, IndexError, TypeError, OverflowError) as e:
        raise _explain(opdef, arrays, e, kwargs) from None
    return _result(opdef, args, arrays, out, kwargs)


_NUMBERS = (int, float, bool, type(None))  # None: an optional tensor left out
_SCALARS = (int, float)
_NO_KWARGS: dict[str, Any] = {}


def _apply_short(opdef: OpDef, args: tuple[Any, ...]) -> Tensor | None:
    """The common case, f(tensor) or f(tensor, tensor or number) with no kwargs and no limit, without
    the general path's argument checks; None when the general path must decide (errors above all)."""
    try:  # an error returns None: the general path runs the op again and explains it
        if len(args) == 1:
            a = args[0]
            if type(a) is not Tensor:
                return None
            x = a.data
            return _result(opdef, args, (x,), opdef.forward(x), _NO_KWARGS)
        if len(args) == 2:
            a, b = args
            if type(a) is Tensor:
                x = a.data
                if type(b) is Tensor:
                    y = b.data
                elif type(b) in _SCALARS:
                    y = b
                else:
                    return None
            elif type(b) is Tensor and type(a) in _SCALARS:
                x, y = a, b.data
            else:
                return None
            return _result(opdef, args, (x, y), opdef.forward(x, y), _NO_KWARGS)
    except Exception:
        return None
    return None


def _result(opdef: OpDef, args: tuple[Any, ...], values: Sequence[Any], out: Any, kwargs: dict[str, Any]) -> Tensor:
    """The op's result from its forward's output, for both paths: the dtype torch would give it and,
    when an input requires grad, its node. `values` are the args as the forward read them."""
    if type(out) is not np.ndarray:
        out = np.asarray(out)  # a full reduction gives a numpy scalar
    dtype = out.dtype
    if dtype is not DEFAULT_FLOAT and dtype == np.float64 and kwargs.get("dtype") is None \
            and not _keeps_float64(values, opdef.promote_0d):
        out = out.astype(DEFAULT_FLOAT)  # numpy promotes int64 with float32 to float64; torch does not
        dtype = DEFAULT_FLOAT
    elif dtype not in _RESULT_DTYPES:
        out = _in_result_dtype(opdef, values, out, kwargs)
        dtype = out.dtype
    if opdef.vjp is None or dtype.kind != "f" or not _grad_mode.grad_enabled:
        if out is values[0] or out.base is not None:
            return _view(Tensor._make(out, None), args[0])
        return Tensor._make(out, None)
    # where each input's gradient goes (its node, itself as a leaf that requires grad, or nowhere), and
    # what the node keeps of it; unrolled for one and two inputs, the hot path of small-tensor code
    saves_inputs = opdef.saves_inputs
    if len(args) == 1:
        a = args[0]
        na = (a.grad_fn or (a if a.requires_grad else None)) if type(a) is Tensor else None
        if na is None:
            return Tensor._make(out, None)
        nxt: tuple[Any, ...] = (na,)  # Node, leaf Tensor or None each
        x = values[0]
        inputs: tuple[Any, ...]  # the saved inputs, or their Meta
        inputs = (a,) if saves_inputs else (Meta(x.shape, x.dtype) if type(x) is np.ndarray else meta_of(x),)
        written = saves_inputs and a._vc is not None
    elif len(args) == 2:
        a, b = args
        na = (a.grad_fn or (a if a.requires_grad else None)) if type(a) is Tensor else None
        nb = (b.grad_fn or (b if b.requires_grad else None)) if type(b) is Tensor else None
        if na is None and nb is None:
            return Tensor._make(out, None)
        nxt = (na, nb)
        x, y = values
        if saves_inputs:
            inputs = (a if type(a) is Tensor else x, b if type(b) is Tensor else y)
            written = (type(a) is Tensor and a._vc is not None) or (type(b) is Tensor and b._vc is not None)
        else:
            written = False
            inputs = (Meta(x.shape, x.dtype) if type(x) is np.ndarray else meta_of(x),
                      Meta(y.shape, y.dtype) if type(y) is np.ndarray else meta_of(y))
    else:
        nxt = tuple([(a.grad_fn or (a if a.requires_grad else None)) if type(a) is Tensor else None for a in args])
        if all(n is None for n in nxt):
            return Tensor._make(out, None)
        if saves_inputs:  # Tensors as they are (create_graph differentiates through them), the rest as read
            inputs = tuple([a if type(a) is Tensor else x for a, x in zip(args, values)])
        else:
            inputs = tuple([Meta(x.shape, x.dtype) if type(x) is np.ndarray else meta_of(x) for x in values])
        written = saves_inputs and any(type(a) is Tensor and a._vc is not None for a in args)
    if opdef.int_args and saves_inputs:  # indices are kept as the int64 the forward read, not a float Tensor
        inputs = tuple([values[i] if i in opdef.int_args else x for i, x in enumerate(inputs)])
    if opdef.defaults:
        kwargs = opdef.complete_kwargs(kwargs)
    node = Node(opdef, kwargs, nxt, inputs, out if opdef.saves_output else None)
    if written:  # an input already written in place: the node remembers at which version it saw it
        node.versions = tuple([x._version if type(x) is Tensor else 0 for x in inputs])
    if out.base is not None:
        return _view(Tensor._make(out, node), args[0])
    return Tensor._make(out, node)


_RESULT_DTYPES = frozenset(DTYPES.values())
_RESULT_KINDS: dict[str, np.dtype[Any]] = {"f": DEFAULT_FLOAT, "i": np.dtype(np.int64), "u": np.dtype(np.int64)}


def _in_result_dtype(opdef: OpDef, values: Sequence[Any], out: NDArray[Any],
                     kwargs: dict[str, Any]) -> NDArray[Any]:
    """A result in one of the API's dtypes: numpy computes float functions of bools in float16 (run again
    on float32, as torch computes them) and square(bool) in int8 (int64, as torch)."""
    if out.dtype == np.float16:
        floats = [v.astype(DEFAULT_FLOAT) if type(v) is np.ndarray and v.dtype.kind == "b" else v for v in values]
        out = np.asarray(opdef.forward(*floats, **kwargs))
    return out if out.dtype in _RESULT_DTYPES else out.astype(_RESULT_KINDS.get(out.dtype.kind, DEFAULT_FLOAT))


def spreads_sizes(opdef: OpDef) -> bool:
    """Whether the op's first kwarg is a list of sizes or axes, which torch style spreads out (x.view(2, 3))."""
    return bool(opdef.kwargs) and next(iter(opdef.kwargs.values()))[0].sizes


def extra_kwargs(opdef: OpDef, extra: Sequence[Any]) -> dict[str, Any] | None:
    """Positional arguments past an op's tensors, as its kwargs in order (sum(x, 0), clip(x, 0, 1)); torch
    style, sizes may be spread out (x.view(2, 3), x.permute(1, 0)). None when they do not fit."""
    extra = list(extra)
    if len(extra) > len(opdef.kwargs) and spreads_sizes(opdef) and \
            all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in extra):
        extra = [extra]
    if len(extra) > len(opdef.kwargs):
        return None
    return dict(zip(opdef.kwargs, extra))


def _view(t: Tensor, source: object) -> Tensor:
    """A result that is a view of its first input's data (detach, reshape, transpose, a slice) shares that
    input's version counter, as torch's views do: an in-place write to one is a write to both."""
    if type(source) is Tensor:
        x = source.data
        base = t.data.base
        if t.data is x or base is x or (base is not None and base is x.base):
            t._vc = source._counter()
    return t


def _bind_args(opdef: OpDef, args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Check the positional arguments; numpy style, extra ones fill the kwargs in order (sum(x, 0))."""
    if opdef.variadic and args and type(args[0]) is str and opdef.required:
        # torch style einsum("ij,jk->ik", a, b): a leading string is the op's first required kwarg
        if opdef.required[0] in kwargs:
            raise OpError(f"'{opdef.name}' got kwarg '{opdef.required[0]}' both by position and by name")
        kwargs, args = {**kwargs, opdef.required[0]: args[0]}, args[1:]
    if opdef.arity is not None and opdef.min_arity < opdef.arity:
        # optional tensors: linear(x, w) or linear(x, w, bias=b); the ones left out are None
        given = list(args[:opdef.arity])
        missing = [a for a in opdef.args[len(given):opdef.min_arity] if a not in kwargs]
        if missing:
            raise OpError(f"'{opdef.name}' takes {opdef.min_arity} to {opdef.arity} arguments "
                          f"({', '.join(opdef.shown_args)}), got {len(args)}")
        kwargs = dict(kwargs)
        given += [kwargs.pop(a, None) for a in opdef.args[len(given):]]
        args = tuple(given) + tuple(args[opdef.arity:])
    extra = None if opdef.arity is None or len(args) <= opdef.arity else extra_kwargs(opdef, args[opdef.arity:])
    if extra is not None:
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


def _keeps_float64(arrays: Sequence[Any], promote_0d: bool = False) -> bool:
    """torch's promotion: a float64 result needs a float64 tensor input, one with dimensions unless all
    float inputs are 0-d; integers and python numbers alone give the default float32."""
    floats = [a for a in arrays if type(a) is np.ndarray and a.dtype.kind == "f"]
    ranked = floats if promote_0d else [a for a in floats if a.ndim] or floats
    return any(a.dtype == np.float64 for a in ranked)


def _as_indices(opdef: OpDef, i: int, a: object) -> NDArray[np.int64]:
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        return a.astype(np.int64, copy=False)
    if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
        return a.astype(np.int64)  # as in kwargs, integral floats are accepted as indices
    raise DTypeError(f"'{opdef.name}' argument '{opdef.args[i]}' must hold integers, got {a.dtype}")


def _shapes(arrays: Sequence[Any]) -> list[tuple[int, ...]]:
    return [np.shape(a) for a in arrays]


def _size_bound(values: Sequence[Any]) -> int:
    """An upper bound of the result's size for ops whose shape rule is not forced (check_shape): a
    broadcast, matmul, outer, take or where result never holds more elements than the product of its
    inputs' sizes, so below the limit the exact shape rule need not run."""
    n = 1
    for v in values:
        data = v.data if type(v) is Tensor else v
        if type(data) is np.ndarray:
            n *= data.size
    return n


def _result_bytes(opdef: OpDef, args: Sequence[Any], kwargs: dict[str, Any]) -> int:
    """An upper bound of the bytes an op's result and its graph node take, from shapes alone.

    Ops without a shape rule never make a result larger than their largest input; the others take their
    exact shape rule unless every input has one shape (an elementwise broadcast). Items are counted at the
    widest input's size, at least float32's (bool and int inputs may give float results), float64 when a
    dtype is asked for.
    """
    n = 0
    item = 4
    shape = None
    same = True
    for a in args:
        data = a.data if type(a) is Tensor else a
        if type(data) is np.ndarray:
            size = data.size
            if size > n:
                n = size
            if data.itemsize > item:
                item = data.itemsize
            if shape is None:
                shape = data.shape
            elif data.shape != shape:
                same = False
    if kwargs and "dtype" in kwargs:
        item = 8
    if opdef.shape is not None and not (same and opdef.broadcasts):
        try:
            n = math.prod(opdef.shape(*_shapes([a.data if type(a) is Tensor else a for a in args]), **kwargs))
        except Exception:  # noqa: BLE001  (a bad call fails in the op itself, with its own message)
            pass
    return n * item + RESULT_OVERHEAD + NODE_OVERHEAD


def _check_shape(opdef: OpDef, shape: ShapeRule, arrays: Sequence[Any], kwargs: dict[str, Any],
                 limit: int | None) -> None:
    """Refuse a result over the limit from shapes alone (by the op's shape rule), before any memory is taken."""
    shapes = _shapes(arrays)
    try:
        out_shape = shape(*shapes, **kwargs)
    except ValueError as e:
        raise ShapeError(str(e)) from None
    n = math.prod(out_shape)
    if limit is not None and n > limit:
        raise LimitError(f"'{opdef.name}' would make a tensor of shape {tuple(out_shape)} ({n} elements), "
                         f"over the limit of {limit} elements per tensor")


def _explain(opdef: OpDef, arrays: Sequence[Any], e: Exception, kwargs: dict[str, Any]) -> EngineError:
    shapes = _shapes(arrays)
    if opdef.shape is not None:
        try:
            opdef.shape(*shapes, **kwargs)  # shape rules of ops with kwargs (pad, tile) read them
        except ValueError as se:
            return ShapeError(str(se))
        except EngineError as se:
            return se
        except Exception:  # noqa: BLE001  (the shape rule cannot say more than numpy did)
            pass
    desc = " and ".join(str(tuple(s)) for s in shapes)
    return ShapeError(f"'{opdef.name}' cannot take shapes {desc}: {e}")


# ---------------------------------------------------------------------------- the function of an op

def _function(opdef: OpDef) -> Callable[..., Tensor]:
    """The engine function of an op: engine.add(a, b), engine.concat([a, b], axis=0)."""
    if opdef.variadic:
        def fn(*tensors: Any, **kwargs: Any) -> Tensor:
            if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
                tensors = tuple(tensors[0])  # numpy style: concat([a, b], axis=0)
            return apply(opdef, tensors, kwargs)
    elif opdef.plain:  # apply's first step, inlined: one call less on the hot path of small-tensor code
        def fn(*args: Any, **kwargs: Any) -> Tensor:
            if kwargs or _limits.max_elements is not None or _governance.budget is not None:
                return apply(opdef, args, kwargs)
            out = _apply_short(opdef, args)
            return _apply_general(opdef, args, kwargs) if out is None else out
    else:
        def fn(*args: Any, **kwargs: Any) -> Tensor:
            return apply(opdef, args, kwargs)
    fn.__name__ = fn.__qualname__ = opdef.name
    fn.__doc__ = opdef.doc
    return fn


def operator(opdef: OpDef, reflected: bool = False) -> Callable[[Tensor, Any], Tensor]:
    """A Tensor operator applying a two-argument op (x * y, or 2 * x when reflected), straight to the short
    path when it may run there, as `_function` does."""
    if not opdef.plain:
        if reflected:
            return lambda self, other: apply(opdef, (other, self), {})
        return lambda self, other: apply(opdef, (self, other), {})

    def binary(self: Tensor, other: Any) -> Tensor:
        if _limits.max_elements is None and _governance.budget is None:  # else apply checks and charges first
            out = _apply_short(opdef, (self, other))
            if out is not None:
                return out
        return apply(opdef, (self, other), {})

    def reflected_binary(self: Tensor, other: Any) -> Tensor:
        if _limits.max_elements is None and _governance.budget is None:
            out = _apply_short(opdef, (other, self))
            if out is not None:
                return out
        return apply(opdef, (other, self), {})
    return reflected_binary if reflected else binary


def _set_function(opdef: OpDef) -> None:
    opdef.function = _function(opdef)


on_register(_set_function)
