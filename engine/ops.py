"""The op table: every op declared once — numpy forward, kwargs, doc, vjp, grad_fn, shape rule.

Vjp rules take (F, g, ans, *inputs, **kwargs) and are written with F's ops, so
the same line differentiates on ndarrays or, under create_graph, on Tensors.
Their kwargs come complete (defaults filled in when the node is recorded), so a rule
names the kwargs it reads and takes the rest as `**_`. Gradients come back at the
broadcast shape; `autograd.reduce_grad` sums them to each input's shape in one place.
"""

import builtins
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .autograd import sum_to_shape
from .errors import DTypeError, OpError, ShapeError
from .registry import (
    ArrayOrNumber,
    ArrayOrScalar,
    Axes,
    Bool,
    DType,
    Int,
    Ints,
    Key,
    Number,
    OptInt,
    OptNumber,
    Shape,
    family,
    op,
)
from .tensor import dtype_of

# ---------------------------------------------------------------------------- shape rules


def broadcast(*shapes, **_):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        desc = " and ".join(str(tuple(s)) for s in shapes)
        raise ValueError(f"shapes {desc} do not broadcast") from None


def mean_of_broadcast(*shapes, **_):
    """The shape rule of a loss: its inputs must broadcast, and its result is one number."""
    broadcast(*shapes)
    return ()


def _matmul_shape(a, b, **_):
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f"matmul needs at least 1-D tensors, got shapes {tuple(a)} and {tuple(b)}")
    a2 = (1,) + tuple(a) if len(a) == 1 else tuple(a)
    b2 = tuple(b) + (1,) if len(b) == 1 else tuple(b)
    if a2[-1] != b2[-2]:
        raise ValueError(f"shapes {tuple(a)} and {tuple(b)} cannot be multiplied ({a2[-1]} != {b2[-2]})")
    try:
        batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    except ValueError:
        raise ValueError(f"batch dimensions of shapes {tuple(a)} and {tuple(b)} do not broadcast") from None
    out = batch + (a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def _axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ShapeError(f"axis {axis} is out of range for a tensor of {ndim} dimension(s)")
    return axis % ndim


def _reduced_axes(shape: tuple[int, ...], axis: int | tuple[int, ...] | None) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(len(shape)))
    axes = (axis,) if isinstance(axis, int) else axis
    if not shape:  # as torch, a 0-d tensor reduces over dim 0 or -1 as if it had one axis of size 1
        for a in axes:
            _axis(a, 1)
        return ()
    return tuple(_axis(a, len(shape)) for a in axes)


def _expand(F, g, shape, axis, keepdims):
    """Bring a reduction's gradient back to the input's shape (undo the reduced axes, then broadcast).
    Batch axes in front of g (a batched backward) stay in front."""
    axes = _reduced_axes(shape, axis)
    lead = _lead(g, len(shape) if keepdims else len(shape) - len(axes))
    kept = lead + tuple(1 if i in axes else s for i, s in enumerate(shape))
    return F.broadcast_to(F.reshape(g, shape=kept), shape=lead + tuple(shape))


def _lead(g: Any, ndim: int) -> tuple[int, ...]:
    """The batch axes in front of a gradient whose op output has ndim axes: () outside a batched backward.
    Rules that read them work unchanged in a batched backward (declared with batched=True)."""
    return tuple(g.shape[:g.ndim - ndim])


def _batch_col(F: Any, g: Any, ndim: int) -> Any:
    """A gradient of a 0-d output, shaped to broadcast against an ndim-d operand: a batched g (B,) becomes
    (B, 1, ..., 1) so that its batch axis stays in front; an unbatched g is left as it is."""
    if g.ndim == 0:
        return g
    return F.reshape(g, shape=tuple(g.shape) + (1,) * ndim)


def _count(shape: tuple[int, ...], axis: int | tuple[int, ...] | None) -> int:
    return math.prod(shape[i] for i in _reduced_axes(shape, axis))


def _mT(F, x):
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return F.transpose(x, axes=axes)


def _data(x):
    return x if type(x) is np.ndarray else getattr(x, "data", x)  # (an ndarray's own .data is its buffer)


def _expand_data(x, shape, axis):
    """_expand on arrays: a reduction's result brought back to its input's shape."""
    axes = _reduced_axes(shape, axis)
    return np.broadcast_to(np.reshape(x, tuple(1 if i in axes else s for i, s in enumerate(shape))), shape)


# ---------------------------------------------------------------------------- grad_fn names
# torch names a node by the overload that ran; these rules read it off a node's kwargs and inputs.


def _over_axes(all_name, axes_name):
    """A reduction over every element and one over given axes are different torch overloads (a full
    reduction that keeps its dimensions is the one over given axes: torch has no keepdim without dims)."""
    return lambda kwargs, inputs: all_name if kwargs.get("axis") is None and not kwargs.get("keepdims") else axes_name


def _is_number(x: object) -> bool:
    return getattr(x, "dtype", None) is None  # python numbers, also once freed (their Meta has no dtype)


def _pow_name(kwargs, inputs):
    if inputs is None or _is_number(inputs[1]):
        return "PowBackward0"  # pow(Tensor, Scalar)
    return "PowBackward2" if _is_number(inputs[0]) else "PowBackward1"


_MATMUL_NAMES = {(2, 2): "MmBackward0", (2, 1): "MvBackward0", (1, 1): "DotBackward0", (1, 2): "SqueezeBackward4"}


def _matmul_name(kwargs, inputs):
    if inputs is None:
        return "MmBackward0"
    # a batched product ends in a view of torch's folded mm (torch copies instead, CloneBackward0, in some
    # cases that depend on which operand requires grad: not worth imitating)
    return _MATMUL_NAMES.get((inputs[0].ndim, inputs[1].ndim), "UnsafeViewBackward0")


def _index_name(kwargs, inputs):
    # torch indexes item by item: the last item that does something names the node
    for k in reversed(kwargs.get("key", ())):
        if k is None:
            return "UnsqueezeBackward0"
        if isinstance(k, slice) and k != slice(None):
            return "SliceBackward0"
        if isinstance(k, int):
            return "SelectBackward0"
    return "IndexBackward0" if inputs is None else "AliasBackward0"  # the catalog, with no key, shows the op


# ---------------------------------------------------------------------------- arithmetic

family("arithmetic")


@op(vjp=(lambda F, g, ans, a, b: g, lambda F, g, ans, a, b: g), shape=broadcast, batched=True, jvp="linear")
def add(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """a + b, broadcasting."""
    return np.add(a, b)


@op(vjp=(lambda F, g, ans, a, b: g, lambda F, g, ans, a, b: -g), shape=broadcast, aliases=("subtract",),
    batched=True, jvp="linear")
def sub(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """a - b, broadcasting."""
    return np.subtract(a, b)


@op(vjp=(lambda F, g, ans, a, b: g * b, lambda F, g, ans, a, b: g * a), saves="inputs", shape=broadcast,
    aliases=("multiply",), batched=True, jvp="bilinear")
def mul(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """a * b elementwise, broadcasting."""
    return np.multiply(a, b)


@op(vjp=(lambda F, g, ans, a, b: g / b, lambda F, g, ans, a, b: -g * a / (b * b)), saves="inputs",
    shape=broadcast, aliases=("divide", "true_divide"), batched=True, jvp="elementwise")
def div(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """a / b (true division), broadcasting."""
    return np.true_divide(a, b)


def _pow_base_grad(F, g, ans, a, b):
    # b * a**(b-1), taken as 0 where b == 0 (not 0 * inf at a == 0), as PyTorch does
    if _is_number(b):
        return g * 0.0 if b == 0 else g * b * a ** (b - 1)
    return F.where(F.eq(b, 0), 0.0, g * b * a ** (b - 1))


def _pow_exponent_grad(F, g, ans, a, b):
    # d(a**b)/db = a**b * log(a); taken as 0 where a == 0 and b >= 0, as PyTorch does
    if _is_number(a) and a != 0:  # log of a python number in float64 (as a constant it would be float32)
        with np.errstate(invalid="ignore"):
            return g * (ans * float(np.log(float(a))))
    zero = F.logical_and(F.eq(a, 0), F.ge(b, 0))
    return g * F.where(zero, 0.0, ans * F.log(F.where(zero, 1.0, a)))


@op(vjp=(_pow_base_grad, _pow_exponent_grad), saves="inputs output",
    shape=broadcast, grad_fn=_pow_name, aliases=("power",), batched=True, jvp="elementwise")
def pow(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """a ** b elementwise, broadcasting."""
    return np.power(a, b)


@op(vjp=(lambda F, g, ans, a: -g,), aliases=("negative",), batched=True, jvp="linear")
def neg(a: ArrayOrNumber) -> ArrayOrScalar:
    """-a."""
    return np.negative(a)


def _pick(F, g, lose, tie):
    # as torch: g unless this side lost (a NaN loses nothing, so both sides get g), halved at ties
    return F.where(F.logical_not(lose), F.where(tie, g * 0.5, g), 0.0)


@op(vjp=(lambda F, g, ans, a, b: _pick(F, g, F.lt(a, b), F.eq(a, b)),
         lambda F, g, ans, a, b: _pick(F, g, F.gt(a, b), F.eq(a, b))), saves="inputs", shape=broadcast,
    batched=True, jvp="elementwise")
def maximum(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """Elementwise maximum; at ties the gradient is split evenly, as in PyTorch."""
    return np.maximum(a, b)


@op(vjp=(lambda F, g, ans, a, b: _pick(F, g, F.gt(a, b), F.eq(a, b)),
         lambda F, g, ans, a, b: _pick(F, g, F.lt(a, b), F.eq(a, b))), saves="inputs", shape=broadcast,
    batched=True, jvp="elementwise")
def minimum(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """Elementwise minimum; at ties the gradient is split evenly, as in PyTorch."""
    return np.minimum(a, b)


# ---------------------------------------------------------------------------- unary

family("unary")


@op(vjp=(lambda F, g, ans, a: g * F.sign(a),), saves="inputs", aliases=("absolute",), batched=True, jvp="elementwise")
def abs(a: ArrayOrNumber) -> ArrayOrScalar:
    """|a|; the gradient at 0 is 0."""
    return np.abs(a)


@op(vjp=(lambda F, g, ans, a: g * ans,), saves="output", batched=True, jvp="elementwise")
def exp(a: ArrayOrNumber) -> ArrayOrScalar:
    """e ** a."""
    return np.exp(a)


@op(vjp=(lambda F, g, ans, a: g / a,), saves="inputs", batched=True, jvp="elementwise")
def log(a: ArrayOrNumber) -> ArrayOrScalar:
    """Natural logarithm."""
    return np.log(a)


@op(vjp=(lambda F, g, ans, a: g / (a + 1.0),), saves="inputs", grad_fn="Log1PBackward0",
    batched=True, jvp="elementwise")
def log1p(a: ArrayOrNumber) -> ArrayOrScalar:
    """log(1 + a), accurate for small a."""
    return np.log1p(a)


@op(vjp=(lambda F, g, ans, a: g * (ans + 1.0),), saves="output", batched=True, jvp="elementwise")
def expm1(a: ArrayOrNumber) -> ArrayOrScalar:
    """e ** a - 1, accurate for small a."""
    return np.expm1(a)


@op(vjp=(lambda F, g, ans, a: g / (ans * 2.0),), saves="output", batched=True, jvp="elementwise")
def sqrt(a: ArrayOrNumber) -> ArrayOrScalar:
    """Square root."""
    return np.sqrt(a)


@op(vjp=(lambda F, g, ans, a: g * (a * 2.0),), saves="inputs", grad_fn="PowBackward0", batched=True, jvp="elementwise")
def square(a: ArrayOrNumber) -> ArrayOrScalar:
    """a ** 2."""
    return np.square(a)


@op(vjp=(lambda F, g, ans, a: -g * (ans * ans),), saves="output", batched=True, jvp="elementwise")
def reciprocal(a: ArrayOrNumber) -> ArrayOrScalar:
    """1 / a."""
    return np.reciprocal(a) if np.asarray(a).dtype.kind == "f" else np.true_divide(1.0, a)


@op(vjp=(lambda F, g, ans, a: g * F.cos(a),), saves="inputs", batched=True, jvp="elementwise")
def sin(a: ArrayOrNumber) -> ArrayOrScalar:
    """Sine (radians)."""
    return np.sin(a)


@op(vjp=(lambda F, g, ans, a: -g * F.sin(a),), saves="inputs", batched=True, jvp="elementwise")
def cos(a: ArrayOrNumber) -> ArrayOrScalar:
    """Cosine (radians)."""
    return np.cos(a)


@op(vjp=(lambda F, g, ans, a: g * (ans * ans + 1.0),), saves="output", batched=True, jvp="elementwise")
def tan(a: ArrayOrNumber) -> ArrayOrScalar:
    """Tangent (radians)."""
    return np.tan(a)


@op(vjp=(lambda F, g, ans, a: g * (1.0 - ans * ans),), saves="output", batched=True, jvp="elementwise")
def tanh(a: ArrayOrNumber) -> ArrayOrScalar:
    """Hyperbolic tangent."""
    return np.tanh(a)


@op(vjp=(lambda F, g, ans, a: g * (ans * (1.0 - ans)),), saves="output", batched=True, jvp="elementwise")
def sigmoid(a: ArrayOrNumber) -> ArrayOrScalar:
    """1 / (1 + e ** -a), computed without overflow."""
    a = np.asarray(a)
    if a.dtype.kind != "f":
        a = a.astype(np.float32)  # bools and ints, as torch
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(a.dtype, copy=False)


@op(vjp=(lambda F, g, ans, a: F.where(F.logical_not(F.le(ans, 0)), g, 0.0),), saves="output",
    batched=True, jvp="elementwise")  # NaN passes g
def relu(a: ArrayOrNumber) -> ArrayOrScalar:
    """max(a, 0); the gradient at 0 is 0, as in PyTorch."""
    return np.maximum(a, 0)


@op(vjp=(lambda F, g, ans, a: g * F.sigmoid(a),), saves="inputs", torch="torch.nn.functional.softplus",
    batched=True, jvp="elementwise")
def softplus(a: ArrayOrNumber) -> ArrayOrScalar:
    """log(1 + e ** a), computed without overflow."""
    return np.logaddexp(np.zeros((), dtype=np.result_type(a, np.float32)), a)


# ---------------------------------------------------------------------------- piecewise

family("piecewise")


def _clip_mask(F, a, min, max):
    inside = None
    if min is not None:
        inside = F.ge(a, min)
    if max is not None:
        upper = F.le(a, max)
        inside = upper if inside is None else F.logical_and(inside, upper)
    return inside


@op(vjp=(lambda F, g, ans, a, min, max:
         g if min is None and max is None else F.where(_clip_mask(F, a, min, max), g, 0.0),),
    saves="inputs", grad_fn="ClampBackward1", aliases=("clamp",), torch="torch.clamp", batched=True, jvp="elementwise")
def clip(a: ArrayOrNumber, *, min: OptNumber = None, max: OptNumber = None) -> ArrayOrScalar:
    """Limit a to [min, max] (either bound may be null); the gradient passes where min <= a <= max.
    Integer and bool tensors with a float bound give float32, as in torch."""
    a = np.asarray(a)
    if a.dtype.kind in "biu":
        bounds = [b for b in (min, max) if b is not None]
        if builtins.any(isinstance(b, float) for b in bounds):
            a = a.astype(np.float32)
        elif bounds and a.dtype.kind == "b":
            a = a.astype(np.int64)
    if min is None and max is None:
        return np.array(a, copy=True)
    return np.clip(a, min, max).astype(a.dtype, copy=False)


@op(vjp=(None, lambda F, g, ans, cond, a, b: F.where(cond, g, 0.0),
         lambda F, g, ans, cond, a, b: F.where(cond, 0.0, g)), saves="inputs", shape=broadcast,
    method=False, batched=True, jvp="elementwise")  # torch's Tensor.where(cond, other): another argument order
def where(cond: ArrayOrNumber, a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """a where cond is true, else b (cond is read as booleans), broadcasting."""
    return np.where(np.asarray(cond).astype(bool, copy=False), a, b)


def _zero_grad(F, g, ans, a):
    # zeros, not g * 0: an infinite or NaN upstream gradient still gives 0, as in torch
    return np.zeros(np.shape(g), dtype=g.dtype)


@op(vjp=(_zero_grad,), batched=True, jvp="elementwise")
def sign(a: ArrayOrNumber) -> ArrayOrScalar:
    """-1, 0 or 1 by the sign of a (0 at NaN, as torch; bools stay bools); zero gradient."""
    a = np.asarray(a)
    if a.dtype.kind == "b":
        return a.copy()
    out = np.asarray(np.sign(a))
    return np.nan_to_num(out, copy=False, nan=0.0) if a.dtype.kind == "f" else out


@op(vjp=(_zero_grad,), batched=True, jvp="elementwise")
def floor(a: ArrayOrNumber) -> ArrayOrScalar:
    """Round down; zero gradient."""
    return np.floor(a)


@op(vjp=(_zero_grad,), batched=True, jvp="elementwise")
def ceil(a: ArrayOrNumber) -> ArrayOrScalar:
    """Round up; zero gradient."""
    return np.ceil(a)


@op(vjp=(_zero_grad,), batched=True, jvp="elementwise")
def round(a: ArrayOrNumber) -> ArrayOrScalar:
    """Round half to even (as numpy and PyTorch do); zero gradient."""
    return np.round(a)


# ---------------------------------------------------------------------------- comparison

family("comparison")


@op(shape=broadcast, aliases=("greater",))
def gt(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """a > b (bool), broadcasting."""
    return np.greater(a, b)


@op(shape=broadcast, aliases=("greater_equal",))
def ge(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """a >= b (bool), broadcasting."""
    return np.greater_equal(a, b)


@op(shape=broadcast, aliases=("less",))
def lt(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """a < b (bool), broadcasting."""
    return np.less(a, b)


@op(shape=broadcast, aliases=("less_equal",))
def le(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """a <= b (bool), broadcasting."""
    return np.less_equal(a, b)


@op(shape=broadcast)
def eq(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """a == b (bool), broadcasting."""
    return np.equal(a, b)


@op(shape=broadcast, aliases=("not_equal",))
def ne(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """a != b (bool), broadcasting."""
    return np.not_equal(a, b)


@op(shape=broadcast)
def logical_and(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """a and b (bool), broadcasting."""
    return np.logical_and(a, b)


@op(shape=broadcast)
def logical_or(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """a or b (bool), broadcasting."""
    return np.logical_or(a, b)


@op()
def logical_not(a: ArrayOrNumber) -> ArrayOrScalar:
    """not a (bool)."""
    return np.logical_not(a)


# ---------------------------------------------------------------------------- reductions

family("reductions")


@op(vjp=(lambda F, g, ans, a, axis, keepdims: _expand(F, g, a.shape, axis, keepdims),),
    grad_fn=_over_axes("SumBackward0", "SumBackward1"), batched=True, jvp="linear")
def sum(a: ArrayOrNumber, *, axis: Axes = None, keepdims: Bool = False) -> ArrayOrScalar:
    """Sum over axis (all axes when null)."""
    return np.sum(a, axis=axis, keepdims=keepdims)


@op(vjp=(lambda F, g, ans, a, axis, keepdims:
         _expand(F, g, a.shape, axis, keepdims) * (1.0 / builtins.max(_count(a.shape, axis), 1)),),
    grad_fn=_over_axes("MeanBackward0", "MeanBackward1"), batched=True, jvp="linear")
def mean(a: ArrayOrNumber, *, axis: Axes = None, keepdims: Bool = False) -> ArrayOrScalar:
    """Mean over axis (all axes when null)."""
    a = np.asarray(a)
    if a.dtype.kind != "f":  # numpy accumulates integers and booleans in float64
        return np.mean(a, axis=axis, keepdims=keepdims)
    # the same float sum and division as np.mean, without its Python wrapper (most of the cost on small tensors)
    # (numpy's stubs take keepdims only as a literal True or False)
    return np.true_divide(np.add.reduce(a, axis=axis, keepdims=keepdims),  # type: ignore[call-overload]
                          _count(a.shape, axis))


def _exclusive_prod(F, a, axis):
    """For each element, the product of the others in its slice, without division (exact with zeros):
    the product of the elements before it times that of the elements after it, as torch computes it."""
    axes = _reduced_axes(a.shape, axis)
    kept = [i for i in range(a.ndim) if i not in axes]
    order = kept + list(axes)
    lined = F.reshape(F.transpose(a, axes=order), shape=[a.shape[i] for i in kept] + [-1])
    ones = np.ones(lined.shape[:-1] + (1,), dtype=lined.dtype)
    before = F.cumprod(F.concat(ones, F.index(lined, key=(Ellipsis, slice(None, -1))), axis=-1), axis=-1)
    after = F.flip(F.cumprod(F.concat(ones, F.index(F.flip(lined, axis=-1), key=(Ellipsis, slice(None, -1))),
                                      axis=-1), axis=-1), axis=-1)
    others = F.reshape(before * after, shape=[a.shape[i] for i in order])
    return F.transpose(others, axes=_inverse(order, a.ndim))


def _prod_grad(F, g, ans, a, axis, keepdims):
    # torch's cases: no zero, ans / a; two zeros in a full product, 0 (unless differentiated again);
    # otherwise the product of the others for every element
    zeros = np.count_nonzero(_data(a) == 0)
    if zeros == 0:
        d = _expand(F, ans, a.shape, axis, keepdims) / a
    elif axis is None and zeros > 1 and type(a) is np.ndarray:
        return np.zeros(_lead(g, a.ndim if keepdims else 0) + tuple(a.shape), dtype=g.dtype)
    else:
        d = _exclusive_prod(F, a, axis)
    return _expand(F, g, a.shape, axis, keepdims) * d


@op(vjp=(_prod_grad,), saves="inputs output", grad_fn=_over_axes("ProdBackward0", "ProdBackward1"), batched=True)
def prod(a: ArrayOrNumber, *, axis: Axes = None, keepdims: Bool = False) -> ArrayOrScalar:
    """Product over axis (all axes when null)."""
    return np.prod(a, axis=axis, keepdims=keepdims)


def _extreme_grad(F, g, ans, a, axis, keepdims):
    # the gradient is shared evenly among the elements equal to the extreme. At NaN, torch's max() shares it
    # among the NaNs; its amax (over axes) has no element equal to NaN and gives NaN to the whole slice.
    data, out = _data(a), _data(ans)
    hit = data == _expand_data(out, a.shape, axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        if axis is None and not keepdims:
            if np.isnan(out):
                hit = np.isnan(data)
            return F.where(hit, _batch_col(F, g, a.ndim) / np.count_nonzero(hit), 0.0)
        count = _expand_data(np.sum(hit, axis=axis, keepdims=True), a.shape, axis)
        return _expand(F, g, a.shape, axis, keepdims) / count * hit


@op(vjp=(_extreme_grad,), saves="inputs output", grad_fn=_over_axes("MaxBackward1", "AmaxBackward0"),
    aliases=("amax",), torch="torch.amax", batched=True)
def max(a: ArrayOrNumber, *, axis: Axes = None, keepdims: Bool = False) -> ArrayOrScalar:
    """Maximum over axis; ties share the gradient evenly."""
    return np.max(a, axis=axis, keepdims=keepdims)


@op(vjp=(_extreme_grad,), saves="inputs output", grad_fn=_over_axes("MinBackward1", "AminBackward0"),
    aliases=("amin",), torch="torch.amin", batched=True)
def min(a: ArrayOrNumber, *, axis: Axes = None, keepdims: Bool = False) -> ArrayOrScalar:
    """Minimum over axis; ties share the gradient evenly."""
    return np.min(a, axis=axis, keepdims=keepdims)


def _floats(a: ArrayOrNumber) -> NDArray[Any]:
    a = np.asarray(a)
    return a if a.dtype.kind == "f" else a.astype(np.float32)


def _centered(F, a, axis):
    return a - F.mean(a, axis=axis, keepdims=True)


def _var_grad(F, g, ans, a, axis, keepdims, ddof):
    dof = _count(a.shape, axis) - ddof
    centered = _centered(F, a, axis)
    if dof <= 0 and axis is None and not keepdims:
        centered = F.abs(centered)  # torch's full variance without degrees of freedom: +-inf by g's sign
    with np.errstate(invalid="ignore"):
        return _expand(F, g, a.shape, axis, keepdims) * centered * (2.0 / dof if dof > 0 else math.inf)


def _std_grad(F, g, ans, a, axis, keepdims, ddof):
    zero = F.eq(ans, 0)  # a constant slice: torch gives 0, not 0 / 0
    return _var_grad(F, F.where(zero, 0.0, g / F.where(zero, 1.0, ans * 2.0)), None, a, axis, keepdims, ddof)


@op(vjp=(_var_grad,), saves="inputs", batched=True)
def var(a: ArrayOrNumber, *, axis: Axes = None, keepdims: Bool = False, ddof: Int = 0) -> ArrayOrScalar:
    """Variance over axis with ddof degrees of freedom removed (numpy's default ddof=0)."""
    return np.var(a, axis=axis, keepdims=keepdims, ddof=ddof)


@op(vjp=(_std_grad,), saves="inputs output", batched=True)
def std(a: ArrayOrNumber, *, axis: Axes = None, keepdims: Bool = False, ddof: Int = 0) -> ArrayOrScalar:
    """Standard deviation over axis with ddof degrees of freedom removed."""
    return np.std(a, axis=axis, keepdims=keepdims, ddof=ddof)


@op(vjp=(lambda F, g, ans, a, axis, keepdims:
         _expand(F, F.where(F.eq(ans, 0), 0.0, g / F.where(F.eq(ans, 0), 1.0, ans)), a.shape, axis, keepdims) * a,),
    saves="inputs output", grad_fn="LinalgVectorNormBackward0", torch="torch.linalg.vector_norm", batched=True)
def norm(a: ArrayOrNumber, *, axis: Axes = None, keepdims: Bool = False) -> ArrayOrScalar:
    """Euclidean (2-)norm over axis, all elements when null; the gradient at 0 is 0."""
    return np.sqrt(np.sum(np.square(a), axis=axis, keepdims=keepdims))


@op(vjp=(lambda F, g, ans, a, axis, keepdims:
         _expand(F, g, a.shape, axis, keepdims) * F.exp(a - _expand(F, ans, a.shape, axis, keepdims)),),
    saves="inputs output", batched=True)
def logsumexp(a: ArrayOrNumber, *, axis: Axes = None, keepdims: Bool = False) -> ArrayOrScalar:
    """log(sum(exp(a))) over axis, without overflow; fused, its gradient is softmax. Over nothing, -inf."""
    a = _floats(a)
    m = np.max(a, axis=axis, keepdims=True, initial=-np.inf)  # initial: a 0-size axis has no maximum
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


# ---------------------------------------------------------------------------- linear algebra

family("linear algebra")


# Each case also takes g with batch axes in front (a batched backward): they broadcast like matmul's own
# leading axes, and vector-times-matrix cases are one matrix product over the whole batch.
def _matmul_grad_a(F, g, ans, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return _batch_col(F, g, 1) * b
    if b.ndim == 1:
        return F.unsqueeze(g, axis=-1) * b
    if a.ndim == 1:
        if b.ndim == 2:
            return F.matmul(g, _mT(F, b))
        return F.squeeze(F.matmul(F.unsqueeze(g, axis=-2), _mT(F, b)), axis=-2)
    return F.matmul(g, _mT(F, b))


def _matmul_grad_b(F, g, ans, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return _batch_col(F, g, 1) * a
    if a.ndim == 1:
        return F.unsqueeze(a, axis=-1) * F.unsqueeze(g, axis=-2)
    if b.ndim == 1:
        if a.ndim == 2:
            return F.matmul(g, a)
        return F.squeeze(F.matmul(_mT(F, a), F.unsqueeze(g, axis=-1)), axis=-1)
    return F.matmul(_mT(F, a), g)


@op(vjp=(_matmul_grad_a, _matmul_grad_b), saves="inputs", shape=_matmul_shape, grad_fn=_matmul_name,
    batched=True, jvp="bilinear")
def matmul(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """Matrix product with numpy's rules: 1-D operands are vectors, leading dimensions broadcast."""
    return np.matmul(a, b)


def _dot_shape(a, b, **_):
    if len(a) != 1 or len(b) != 1 or a[0] != b[0]:
        raise ValueError(f"dot takes two 1-D tensors of the same length, got shapes {tuple(a)} and {tuple(b)}")
    return ()


@op(vjp=(lambda F, g, ans, a, b: _batch_col(F, g, 1) * b, lambda F, g, ans, a, b: _batch_col(F, g, 1) * a),
    saves="inputs", shape=_dot_shape,
    check_shape=True, batched=True, jvp="bilinear")
def dot(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """Inner product of two 1-D tensors (torch.dot)."""
    return np.dot(a, b)


@op(vjp=(lambda F, g, ans, a, b: F.reshape(F.matmul(g, F.flatten(b)), shape=_lead(g, 2) + tuple(a.shape)),
         lambda F, g, ans, a, b: F.reshape(F.matmul(F.flatten(a), g), shape=_lead(g, 2) + tuple(b.shape))),
    saves="inputs", shape=lambda a, b, **_: (math.prod(a), math.prod(b)), grad_fn="MulBackward0",
    batched=True, jvp="bilinear")
def outer(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """Outer product of the flattened tensors."""
    return np.outer(a, b)


def _inverse(axes, ndim):
    if axes is None:
        return None
    inv = [0] * ndim
    for i, ax in enumerate(axes):
        inv[ax % ndim] = i
    return inv


def _transpose_grad(F, g, ans, a, axes):
    lead = g.ndim - a.ndim
    if not lead:
        return F.transpose(g, axes=_inverse(axes, a.ndim))
    inverse = _inverse(axes, a.ndim) or list(range(a.ndim))[::-1]  # None reverses: its own inverse
    return F.transpose(g, axes=list(range(lead)) + [lead + i for i in inverse])


@op(vjp=(_transpose_grad,), grad_fn="PermuteBackward0", aliases=("permute",), torch="torch.permute",
    batched=True, jvp="linear")
def transpose(a: ArrayOrNumber, *, axes: Ints = None) -> ArrayOrScalar:
    """Permute axes (reverse them when null), as numpy.transpose."""
    return np.transpose(a, axes)


# ---------------------------------------------------------------------------- shape

family("shape")


@op(vjp=(lambda F, g, ans, a, shape: F.reshape(g, shape=_lead(g, len(shape)) + tuple(a.shape)),),
    grad_fn="ViewBackward0", aliases=("view",), batched=True, jvp="linear")
def reshape(a: ArrayOrNumber, *, shape: Shape) -> ArrayOrScalar:
    """Give a new shape with the same number of elements (one size may be -1)."""
    return np.reshape(a, shape)


@op(vjp=(lambda F, g, ans, a: F.reshape(g, shape=_lead(g, 1) + tuple(a.shape)),), grad_fn="ViewBackward0",
    aliases=("ravel",), batched=True, jvp="linear")
def flatten(a: ArrayOrNumber) -> ArrayOrScalar:
    """Reshape to 1-D."""
    return np.reshape(a, (-1,))


def _squeeze_name(kwargs, inputs):
    axis = kwargs.get("axis")  # torch: squeeze(), squeeze(dim), squeeze(dims)
    return "SqueezeBackward0" if axis is None else "SqueezeBackward2" if isinstance(axis, tuple) else "SqueezeBackward1"


def _squeezed_ndim(shape: tuple[int, ...], axis: int | tuple[int, ...] | None) -> int:
    if axis is None:
        return builtins.sum(1 for s in shape if s != 1)
    return len(shape) - (1 if isinstance(axis, int) else len(set(_reduced_axes(shape, axis))))


@op(vjp=(lambda F, g, ans, a, axis: F.reshape(g, shape=_lead(g, _squeezed_ndim(a.shape, axis)) + tuple(a.shape)),),
    grad_fn=_squeeze_name, batched=True, jvp="linear")
def squeeze(a: ArrayOrNumber, *, axis: Axes = None) -> ArrayOrScalar:
    """Remove axes of size 1 (all of them when null)."""
    return np.squeeze(a, axis=axis)


@op(vjp=(lambda F, g, ans, a, **_: F.reshape(g, shape=_lead(g, a.ndim + 1) + tuple(a.shape)),),
    aliases=("expand_dims",), batched=True, jvp="linear")
def unsqueeze(a: ArrayOrNumber, *, axis: Int) -> ArrayOrScalar:
    """Insert an axis of size 1 at position axis."""
    return np.expand_dims(a, axis)


def _broadcast_to_shape(a, shape, **_):
    shape = tuple(shape)
    if len(shape) < len(a) or any(s != t and s != 1 for s, t in zip(a[::-1], shape[::-1])):
        raise ValueError(f"shape {tuple(a)} cannot be broadcast to {shape}")
    return shape


@op(vjp=(lambda F, g, ans, a, **_: g,), shape=_broadcast_to_shape, check_shape=True,
    grad_fn="ExpandBackward0", aliases=("expand",), batched=True, jvp="linear")
def broadcast_to(a: ArrayOrNumber, *, shape: Shape) -> ArrayOrScalar:
    """Repeat size-1 axes to reach shape (numpy's broadcasting rules)."""
    return np.broadcast_to(a, shape)


def _sum_to_shape(a, shape, **_):
    shape = tuple(shape)
    try:
        _broadcast_to_shape(shape, a)
    except ValueError:
        raise ValueError(f"shape {tuple(a)} cannot be summed to {shape}") from None
    return shape


def _sum_to_grad(F, g, ans, a, shape):
    lead = _lead(g, len(shape))
    if lead:  # the batch axes stay in front of the axes sum_to removed
        g = F.reshape(g, shape=lead + (1,) * (a.ndim - len(shape)) + tuple(shape))
    return F.broadcast_to(g, shape=lead + tuple(a.shape))


@op(vjp=(_sum_to_grad,), shape=_sum_to_shape,
    check_shape=True, grad_fn="SumBackward1", aliases=("sum_to_size",), torch="torch.Tensor.sum_to_size",
    batched=True, jvp="linear")
def sum_to(a: ArrayOrNumber, *, shape: Shape) -> ArrayOrScalar:
    """Sum broadcast axes away to reach shape (the reverse of broadcast_to)."""
    return sum_to_shape(np.asarray(a), tuple(shape))


@op(vjp=(lambda F, g, ans, a, **_: F.astype(g, dtype=a.dtype.name),), grad_fn="ToCopyBackward0",
    torch="torch.Tensor.to", batched=True, jvp="linear")
def astype(a: ArrayOrNumber, *, dtype: DType) -> ArrayOrScalar:
    """Convert to dtype (float32, float64, int64, bool); gradients flow between float dtypes."""
    return np.asarray(a).astype(dtype_of(dtype))


@op()
def detach(a: ArrayOrNumber) -> ArrayOrScalar:
    """The same data outside the graph: no grad flows back (torch.detach). It shares the data and its
    version counter, so an optimizer step on the original is seen through it."""
    return a


def _concat_shape(*shapes, axis=0):
    first = shapes[0]
    if len(first) == 0:
        raise ValueError("concat cannot join 0-D tensors; use stack")
    ax = axis % len(first) if -len(first) <= axis < len(first) else None
    if ax is None:
        raise ValueError(f"axis {axis} is out of range for tensors of {len(first)} dimension(s)")
    for s in shapes[1:]:
        if len(s) != len(first) or any(x != y for i, (x, y) in enumerate(zip(s, first)) if i != ax):
            raise ValueError(f"concat along axis {axis} needs equal other sizes, got shapes "
                             + " and ".join(str(tuple(t)) for t in shapes))
    return first[:ax] + (builtins.sum(s[ax] for s in shapes),) + first[ax + 1:]


def _concat_grad(F, g, ans, *arrays, axis):
    ndim = arrays[0].ndim
    ax = axis % ndim
    lead = g.ndim - ndim  # batch axes, if any, in front
    grads, start = [], 0
    for x in arrays:
        n = x.shape[ax]
        grads.append(F.index(g, key=(slice(None),) * (lead + ax) + (slice(start, start + n),)))
        start += n
    return tuple(grads)


@op(vjp=_concat_grad, shape=_concat_shape, check_shape=True, method=False, grad_fn="CatBackward0",
    aliases=("cat", "concatenate"), torch="torch.cat", batched=True, jvp="linear")
def concat(*arrays: ArrayOrNumber, axis: Int = 0) -> ArrayOrScalar:
    """Join tensors along an existing axis."""
    return np.concatenate(arrays, axis=axis)


def _stack_shape(*shapes, axis=0):
    first = tuple(shapes[0])
    if any(tuple(s) != first for s in shapes):
        raise ValueError("stack needs tensors of one shape, got shapes " + " and ".join(str(tuple(s)) for s in shapes))
    n = len(first) + 1
    if not -n <= axis < n:
        raise ValueError(f"axis {axis} is out of range for stacking tensors of {len(first)} dimension(s)")
    ax = axis % n
    return first[:ax] + (len(shapes),) + first[ax:]


def _stack_grad(F, g, ans, *arrays, axis):
    ndim = arrays[0].ndim + 1
    ax = axis % ndim + (g.ndim - ndim)  # batch axes, if any, in front
    return tuple(F.index(g, key=(slice(None),) * ax + (i,)) for i in range(len(arrays)))


@op(vjp=_stack_grad, shape=_stack_shape, check_shape=True, method=False, grad_fn="StackBackward0",
    batched=True, jvp="linear")
def stack(*arrays: ArrayOrNumber, axis: Int = 0) -> ArrayOrScalar:
    """Join tensors of one shape along a new axis."""
    return np.stack(arrays, axis=axis)


def _indexed_ndim(ndim: int, key: tuple[Any, ...]) -> int:
    return ndim - builtins.sum(1 for k in key if type(k) is int) + builtins.sum(1 for k in key if k is None)


def _batch_key(lead: tuple[int, ...], key: tuple[Any, ...]) -> tuple[Any, ...]:
    """An index key that leaves the batch axes in front alone (basic indexing: a full slice for each)."""
    return (slice(None),) * len(lead) + tuple(key)


def _index_grad(F, g, ans, a, key):
    lead = _lead(g, _indexed_ndim(a.ndim, key))
    return F.index_backward(g, shape=lead + tuple(a.shape), key=_batch_key(lead, key))


@op(vjp=(_index_grad,), grad_fn=_index_name,
    torch="torch.Tensor.__getitem__", batched=True, jvp="linear")
def index(a: ArrayOrNumber, *, key: Key) -> ArrayOrScalar:
    """Basic indexing a[key]: key items are ints, null (new axis), "..." or "start:stop:step" slices."""
    try:
        return np.asarray(a)[key]
    except IndexError as e:
        raise ShapeError(f"index {_show_key(key)} does not fit shape {np.shape(a)}: {e}") from None


def _show_key(key):
    def one(k):
        if k is None:
            return "None"
        if k is Ellipsis:
            return "..."
        if isinstance(k, slice):
            return ":".join("" if v is None else str(v) for v in (k.start, k.stop, k.step)).rstrip(":") or ":"
        return str(k)

    return "[" + ", ".join(one(k) for k in key) + "]"


@op(vjp=(lambda F, g, ans, gout, shape, key: F.index(g, key=_batch_key(_lead(g, len(shape)), key)),),
    method=False, public=False, grad_fn="IndexBackwardBackward0", batched=True, jvp="linear")
def index_backward(g: ArrayOrNumber, *, shape: Shape, key: Key) -> ArrayOrScalar:
    """Scatter g into zeros of shape at key (the gradient of index)."""
    g = np.asarray(g)
    out = np.zeros(shape, dtype=g.dtype)
    out[key] = g
    return out


def _take_shape(a, indices, axis=None):
    if axis is None:
        return tuple(indices)
    ax = _axis(axis, len(a))
    return tuple(a[:ax]) + tuple(indices) + tuple(a[ax + 1:])


def _check_bounds(a, indices, axis):
    n = np.size(a) if axis is None else np.shape(a)[_axis(axis, np.ndim(a))]
    if indices.size and (indices.max() >= n or indices.min() < -n):
        bad = indices.max() if indices.max() >= n else indices.min()
        where = "the flattened tensor" if axis is None else f"axis {axis}"
        raise ShapeError(f"index {bad} is out of bounds for {where} with size {n}")


def _take_grad(F, g, ans, a, indices, axis):
    indices = np.asarray(_data(indices))
    lead = _lead(g, indices.ndim if axis is None else a.ndim - 1 + indices.ndim)
    if not lead:
        return F.take_backward(g, indices, shape=a.shape, axis=axis)
    if axis is None:  # of the flattened input: one flat row per batch item
        flat = F.reshape(g, shape=lead + (indices.size,))
        rows = F.take_backward(flat, indices.reshape(-1), shape=lead + (math.prod(a.shape),), axis=len(lead))
        return F.reshape(rows, shape=lead + tuple(a.shape))
    return F.take_backward(g, indices, shape=lead + tuple(a.shape), axis=_axis(axis, a.ndim) + len(lead))


@op(vjp=(_take_grad, None),
    saves="inputs", shape=_take_shape, int_args=(1,), grad_fn=_over_axes("TakeBackward0", "IndexSelectBackward0"),
    batched=True, jvp="linear")
def take(a: ArrayOrNumber, indices: NDArray[np.int64], *, axis: OptInt = None) -> ArrayOrScalar:
    """Gather a's elements at integer indices along axis (of the flattened tensor when null), as numpy.take."""
    _check_bounds(a, indices, axis)
    return np.take(a, indices, axis=axis)


def _take_backward_grad(F, g, ans, gout, indices, shape, axis):
    indices = np.asarray(_data(indices))
    lead = _lead(g, len(shape))
    if not lead:
        return F.take(g, indices, axis=axis)
    if axis is None:
        rows = F.take(F.reshape(g, shape=lead + (math.prod(shape),)), indices.reshape(-1), axis=len(lead))
        return F.reshape(rows, shape=lead + indices.shape)
    return F.take(g, indices, axis=_axis(axis, len(shape)) + len(lead))


@op(vjp=(_take_backward_grad, None), saves="inputs", method=False, public=False, int_args=(1,),
    batched=True, jvp="linear")
def take_backward(g: ArrayOrNumber, indices: NDArray[np.int64], *, shape: Shape, axis: OptInt = None) -> ArrayOrScalar:
    """Scatter-add g into zeros of shape at indices (the gradient of take)."""
    g = np.asarray(g)
    out = np.zeros(shape, dtype=g.dtype)
    if axis is None:
        np.add.at(out.reshape(-1), np.asarray(indices).reshape(-1), g.reshape(-1))
    else:
        # (numpy's stubs take indices as one array, not a tuple of slices and arrays)
        np.add.at(out, (slice(None),) * _axis(axis, len(shape)) + (indices,), g)  # type: ignore[arg-type]
    return out


# ---------------------------------------------------------------------------- nn

family("nn")


def _from_end(axis: int, ndim: int) -> int:
    """An axis counted from the end, so that it names the same axis with batch axes in front."""
    return _axis(axis, ndim) - ndim if ndim else axis


@op(vjp=(lambda F, g, ans, a, axis: ans * (g - F.sum(g * ans, axis=_from_end(axis, ans.ndim), keepdims=True)),),
    saves="output", batched=True)
def softmax(a: ArrayOrNumber, *, axis: Int = -1) -> ArrayOrScalar:
    """exp(a) / sum(exp(a)) along axis, without overflow; fused forward and vjp."""
    a = _floats(a)
    e = np.exp(a - np.max(a, axis=axis, keepdims=True, initial=-np.inf))
    return e / np.sum(e, axis=axis, keepdims=True)


@op(vjp=(lambda F, g, ans, a, axis: g - F.exp(ans) * F.sum(g, axis=_from_end(axis, ans.ndim), keepdims=True),),
    saves="output", batched=True)
def log_softmax(a: ArrayOrNumber, *, axis: Int = -1) -> ArrayOrScalar:
    """a - logsumexp(a) along axis, without overflow; fused forward and vjp."""
    a = _floats(a)
    m = np.max(a, axis=axis, keepdims=True, initial=-np.inf)
    shifted = a - m
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _class_axis(shape: tuple[int, ...]) -> int:
    return 1 if len(shape) >= 2 else 0


def _is_probabilities(logits: Any, target: Any) -> bool:  # arrays, or Tensors in a recorded backward
    """torch's rule, read off shapes: a target of the logits' own shape holds class probabilities."""
    return len(np.shape(target)) > 0 and np.shape(target) == np.shape(logits)


def _class_indices(name, logits, target, ignore_index):
    shape, target = np.shape(logits), np.asarray(_data(target))
    ax = _class_axis(shape)
    if len(shape) == 0 or target.shape != shape[:ax] + shape[ax + 1:]:
        raise ShapeError(f"'{name}' takes input (N, C, ...) with class indices (N, ...), or (C,) with one index"
                         f"{', or probabilities of the input shape' if name == 'cross_entropy' else ''}; "
                         f"got shapes {tuple(shape)} and {target.shape}")
    if target.dtype.kind not in "iu":
        if target.dtype.kind != "f" or not np.all(target == np.round(target)):
            raise DTypeError(f"'{name}' class indices must be integers, got {target.dtype}")
        target = target.astype(np.int64)
    live = target != ignore_index
    classes = shape[ax]
    bad = live & ((target < 0) | (target >= classes))
    if np.any(bad):
        raise ShapeError(f"label {target[bad].flat[0]} is out of range for {classes} classes")
    return target, live


def _class_weights(name, shape, weight, dtype):
    """The class weights (C,) shaped to broadcast along the class axis, and the count of samples."""
    ax = _class_axis(shape)
    classes = shape[ax]
    w = np.ones(classes, dtype) if weight is None else np.asarray(_data(weight), dtype)
    if w.shape != (classes,):
        raise ShapeError(f"'{name}' takes a class weight of shape ({classes},), got {w.shape}")
    along = [1] * len(shape)
    along[ax] = classes
    return w.reshape(along), builtins.max(math.prod(shape) // builtins.max(classes, 1), 1)


def nll_coefficients(name, logits, target, weight=None, ignore_index=-100, label_smoothing=0.0):
    """c with loss = -sum(c * log_probabilities), the mean losses of cross_entropy and nll_loss with torch's
    weighting, ignore_index and label smoothing: a constant for class indices, and for probabilities an
    expression in target (a Tensor under create_graph, so that the target's gradient is differentiable too)."""
    shape, dtype = np.shape(logits), getattr(logits, "dtype", np.float32)
    w, n = _class_weights(name, shape, weight, dtype)
    eps = label_smoothing
    ax = _class_axis(shape)
    classes = builtins.max(shape[ax], 1)  # no classes at all: nothing to smooth over, and no division by 0
    if _is_probabilities(logits, target):
        return target * ((1.0 - eps) / n * w) + eps / classes / n * w if eps else target * (w / n)
    target, live = _class_indices(name, logits, target, ignore_index)
    # built with the classes last (one comparison and a few products on small arrays), then put in place
    w = w.reshape(-1)
    picked = np.where(live, target, 0)[..., None]
    weights = w[picked] * live[..., None]
    total = weights.sum()
    coef = (picked == np.arange(shape[ax])) * (weights * ((1.0 - eps) / (total if total else 1.0)))
    if eps:
        coef = coef + (eps / classes / (total if total else 1.0)) * (w * live[..., None])
    return (coef if ax == len(shape) - 1 else np.moveaxis(coef, -1, ax)).astype(dtype, copy=False)


def nll_mean(name, logits, logp, target, coef):
    """-sum(coef * logp), and torch's NaN (0 / 0) when every class index is ignored or weighs nothing."""
    if not np.any(coef) and not _is_probabilities(logits, target):
        return np.array(np.nan, dtype=logp.dtype)
    return -np.sum(coef * logp, dtype=logp.dtype)


def _cross_entropy_name(kwargs, inputs):
    if inputs is not None and _is_probabilities(inputs[0], inputs[1]):
        return "DivBackward1"  # torch: a sum divided by the batch size
    if kwargs.get("label_smoothing"):
        return "AddBackward0"  # torch: the smoothed term added to the nll term
    return "NllLoss2DBackward0" if inputs is not None and inputs[0].ndim >= 3 else "NllLossBackward0"


def _cross_entropy_grad(F, g, ans, logits, target, weight, ignore_index, label_smoothing):
    c = nll_coefficients("cross_entropy", logits, target, weight, ignore_index, label_smoothing)
    ax = _class_axis(logits.shape)
    return (F.softmax(logits, axis=ax) * F.sum(c, axis=ax, keepdims=True) - c) * g


def _cross_entropy_target_grad(F, g, ans, logits, target, weight, ignore_index, label_smoothing):
    if not _is_probabilities(logits, target):
        return None
    w, n = _class_weights("cross_entropy", logits.shape, weight, logits.dtype)
    return F.log_softmax(logits, axis=_class_axis(logits.shape)) * ((label_smoothing - 1.0) / n * w) * g


@op(vjp=(_cross_entropy_grad, _cross_entropy_target_grad, None), saves="inputs", grad_fn=_cross_entropy_name)
def cross_entropy(logits: ArrayOrNumber, target: ArrayOrNumber, weight: ArrayOrNumber | None = None, *,
                  ignore_index: Int = -100, label_smoothing: Number = 0.0) -> ArrayOrScalar:
    """Mean negative log-likelihood under softmax(logits) over the class axis (1, or 0 for a single (C,) sample),
    as torch's: target holds class indices (N, ...) or probabilities of the logits' shape; weight (C,) weighs
    classes, ignore_index drops targets, label_smoothing mixes in the uniform distribution. Fused forward and vjp."""
    if not 0.0 <= label_smoothing <= 1.0:
        raise OpError(f"'cross_entropy' label_smoothing must be between 0 and 1, got {label_smoothing}")
    logits = np.asarray(logits)
    if logits.dtype.kind != "f":
        logits = logits.astype(np.float32)
    if logits.ndim == 0:
        raise ShapeError("'cross_entropy' takes input (N, C, ...) or (C,), got a 0-d tensor")
    c = nll_coefficients("cross_entropy", logits, target, weight, ignore_index, label_smoothing)
    return nll_mean("cross_entropy", logits, log_softmax.forward(logits, axis=_class_axis(logits.shape)), target, c)


def _mse_grad(F, g, ans, a, b):
    shape = np.broadcast_shapes(np.shape(a), np.shape(b))
    return (a - b) * _batch_col(F, g * (2.0 / builtins.max(math.prod(shape), 1)), len(shape))


@op(vjp=(_mse_grad, lambda F, g, ans, a, b: -_mse_grad(F, g, ans, a, b)), saves="inputs", shape=mean_of_broadcast,
    grad_fn="MseLossBackward0", promote_0d=True, batched=True)
def mse_loss(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """Mean of (a - b) ** 2, broadcasting."""
    return np.mean(np.square(np.subtract(a, b)))
