"""Scans, sorting and selection, and the shape ops beyond reshape: pad, flip, roll, tile, gather, scatter ...

Declared like the ops of `ops.py`. Ops that move elements around are differentiated by moving the
gradient back with other ops of the table (take_backward, gather, scatter_add), so that their
gradients are differentiable again.
"""

import builtins
import math
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from .errors import ShapeError
from .registry import ArrayOrNumber, ArrayOrScalar, Axes, Bool, Int, IntOrInts, Number, OptInt, PadWidth, family, op
from .tensor import Tensor


def _data(x):
    return x.data if isinstance(x, Tensor) else x  # (an ndarray's .data is its buffer)


def _axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ShapeError(f"axis {axis} is out of range for a tensor of {ndim} dimension(s)")
    return axis % ndim


# ---------------------------------------------------------------------------- scans, order

family("scans and order")


def _reverse_cumsum(F, g, axis):
    return F.flip(F.cumsum(F.flip(g, axis=axis), axis=axis), axis=axis)


def _cumsum_grad(F, g, ans, a, axis):
    if axis is None:  # numpy: the scan runs over the flattened tensor
        return F.reshape(_reverse_cumsum(F, g, 0), shape=a.shape)
    return _reverse_cumsum(F, g, axis)


@op(vjp=(_cumsum_grad,))
def cumsum(a: ArrayOrNumber, *, axis: OptInt = None) -> ArrayOrScalar:
    """Running sum along axis (over the flattened tensor when null, as numpy)."""
    a = np.asarray(a)
    return np.cumsum(a, axis=axis, dtype=np.int64 if a.dtype.kind == "b" else None)


def _cumprod_grad(F, g, ans, a, axis):
    shape = a.shape
    if axis is None:
        a, g, axis = F.flatten(a), F.flatten(g), 0
    data = _data(a)
    zero = data == 0
    if not zero.any():
        out = _reverse_cumsum(F, g * ans, axis) / a
    elif type(a) is Tensor:
        # differentiated again (create_graph): a form that is a polynomial in a, exact to any order:
        # d out_j / d a_k = prod(a_i for i <= j, i != k) for j >= k, as n cumprods of a with a_k set to 1
        # (n ** 2 products per slice, made through ops, so the size limit of a request applies)
        n = a.shape[axis]
        am, gm = F.moveaxis(a, source=axis, destination=-1), F.moveaxis(g, source=axis, destination=-1)
        partial = F.cumprod(F.where(np.eye(n, dtype=bool), 1.0, F.unsqueeze(am, axis=-2)), axis=-1)  # [.., k, j]
        later = np.triu(np.ones((n, n), dtype=bool))  # j >= k
        out = F.moveaxis(F.sum(F.where(later, partial * F.unsqueeze(gm, axis=-2), 0.0), axis=-1),
                         source=-1, destination=axis)
    else:
        # exact with zeros, as torch, in O(n): with z the first zero of a slice, an element before z gets
        # sum(g_j * out_j for k <= j < z) / a_k; the element at z gets prod(a_i, i < z) times
        # sum(g_j * prod(a_i, z < i <= j) for j >= z); the elements after z get 0
        seen = np.cumsum(zero, axis=axis) > 0  # from the first zero on
        before, first = ~seen, zero & (np.cumsum(zero, axis=axis) == 1)
        part = _reverse_cumsum(F, F.where(before, g * ans, 0.0), axis) / F.where(before, a, 1.0)
        after = F.cumprod(F.where(seen & ~first, a, 1.0), axis=axis)  # prod(a_i, z < i <= j) from z on
        at_zero = F.prod(F.where(before, a, 1.0), axis=axis, keepdims=True) * \
            F.sum(F.where(seen, g * after, 0.0), axis=axis, keepdims=True)
        out = F.where(before, part, 0.0) + F.where(first, at_zero, 0.0)
    return F.reshape(out, shape=shape) if out.shape != shape else out


@op(vjp=(_cumprod_grad,), saves="inputs output")
def cumprod(a: ArrayOrNumber, *, axis: OptInt = None) -> ArrayOrScalar:
    """Running product along axis (over the flattened tensor when null, as numpy)."""
    a = np.asarray(a)
    return np.cumprod(a, axis=axis, dtype=np.int64 if a.dtype.kind == "b" else None)


def _order(a, axis, descending):
    """Indices that sort a along axis: stable ascending; descending is its reverse (NaN first, as torch)."""
    idx = np.argsort(a, axis=axis, kind="stable")
    return np.flip(idx, axis=axis) if descending else idx


def _scalar(a, axis):
    """A 0-d tensor has one axis to sort along, as in torch: 0 (or -1)."""
    if axis not in (0, -1):
        raise ShapeError(f"axis {axis} is out of range for a 0-d tensor (0 or -1)")
    return a.copy()


def _sort_grad(F, g, ans, a, axis, descending):
    if not a.ndim:
        return g
    idx = _order(_data(a), axis, descending)
    return F.gather(g, np.argsort(idx, axis=axis, kind="stable"), axis=axis)  # the inverse permutation


@op(vjp=(_sort_grad,), saves="inputs")
def sort(a: ArrayOrNumber, *, axis: Int = -1, descending: Bool = False) -> ArrayOrScalar:
    """The values of a sorted along axis (NaN counts as the largest); gradients go back to where they came from."""
    a = np.asarray(a)
    return np.take_along_axis(a, _order(a, axis, descending), axis=axis) if a.ndim else _scalar(a, axis)


@op()
def argsort(a: ArrayOrNumber, *, axis: Int = -1, descending: Bool = False) -> ArrayOrScalar:
    """The int64 indices that sort a along axis (stable: ties keep their order, reversed when descending)."""
    a = np.asarray(a)
    return _order(a, axis, descending) if a.ndim else np.zeros_like(_scalar(a, axis), dtype=np.int64)


@op()
def argmax(a: ArrayOrNumber, *, axis: OptInt = None, keepdims: Bool = False) -> ArrayOrScalar:
    """Index (int64) of the first maximum along axis, of the flattened tensor when null."""
    return np.argmax(a, axis=axis, keepdims=keepdims)


@op()
def argmin(a: ArrayOrNumber, *, axis: OptInt = None, keepdims: Bool = False) -> ArrayOrScalar:
    """Index (int64) of the first minimum along axis, of the flattened tensor when null."""
    return np.argmin(a, axis=axis, keepdims=keepdims)


def _top(a, k, axis, largest):
    n = np.shape(a)[axis] if np.ndim(a) else 1
    if not 0 <= k <= n:
        raise ShapeError(f"topk: k={k} is out of range for an axis of size {n}")
    idx = _order(a, axis, largest)
    return np.take(idx, np.arange(k), axis=axis)


def _topk_grad(F, g, ans, a, k, axis, largest):
    a = _data(a)
    zeros = np.zeros(a.shape, dtype=g.dtype)
    if not a.ndim:
        return g
    return F.scatter_add(zeros, _top(a, k, axis, largest), g, axis=axis)


@op(vjp=(_topk_grad,), saves="inputs")
def topk(a: ArrayOrNumber, *, k: Int, axis: Int = -1, largest: Bool = True) -> ArrayOrScalar:
    """The k largest (or smallest) values along axis, in order; gradients go back to where they came from."""
    a = np.asarray(a)
    if not a.ndim:
        _top(a.reshape(1), k, 0, largest)
        return a.copy()
    return np.take_along_axis(a, _top(a, k, axis, largest), axis=axis)


@op()
def any(a: ArrayOrNumber, *, axis: Axes = None, keepdims: Bool = False) -> ArrayOrScalar:
    """Whether any element along axis is true (non-zero); bool."""
    return np.any(a, axis=axis, keepdims=keepdims)


@op()
def all(a: ArrayOrNumber, *, axis: Axes = None, keepdims: Bool = False) -> ArrayOrScalar:
    """Whether every element along axis is true (non-zero); bool."""
    return np.all(a, axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------------------- shape

family("shape")


def _pairs(pad_width: int | tuple[int, ...] | tuple[tuple[int, ...], ...], ndim: int) -> np.ndarray:
    """numpy's reading of pad_width: one (before, after) per axis."""
    if ndim == 0:
        raise ShapeError("pad: a 0-d tensor has no axis to pad")
    try:
        pairs = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (ndim, 2))
    except ValueError:
        raise ShapeError(f"pad_width {_plain(pad_width)} does not fit a tensor of {ndim} dimension(s): give n, "
                         f"[before, after] or one [before, after] per axis") from None
    if (pairs < 0).any():
        raise ShapeError(f"pad_width {_plain(pad_width)} must not be negative")
    return pairs


def _plain(v):
    return [_plain(x) for x in v] if isinstance(v, (list, tuple)) else v


def _pad_shape(a, *, pad_width, **_):
    return tuple(int(s + b + f) for s, (b, f) in zip(a, _pairs(pad_width, len(a))))


def _source(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each position of a padded axis, the position of the input it copies."""
    pos = np.arange(-before, n + after)
    if mode == "reflect":
        if n == 1:
            return np.zeros_like(pos)
        period = 2 * (n - 1)
        pos = np.mod(pos, period)
        return np.where(pos < n, pos, period - pos)
    return np.clip(pos, 0, n - 1)


def _padded_axes(shape, pad_width, mode):
    """(axis, source indices, shape before that axis is padded) for each axis that grows."""
    steps, cur = [], list(shape)
    for ax, (b, f) in enumerate(_pairs(pad_width, len(shape))):
        if b or f:
            if shape[ax] == 0:
                raise ShapeError(f"pad: mode '{mode}' cannot extend axis {ax} of size 0")
            steps.append((ax, _source(shape[ax], int(b), int(f), mode), tuple(cur)))
            cur[ax] += int(b + f)
    return steps


def _pad_grad(F, g, ans, a, pad_width, mode, **_):
    if mode == "constant":
        pairs = _pairs(pad_width, a.ndim)
        return F.index(g, key=tuple(slice(int(b), int(b) + s) for (b, _), s in zip(pairs, a.shape)))
    for ax, src, shape in reversed(_padded_axes(a.shape, pad_width, mode)):
        g = F.take_backward(g, src, shape=shape, axis=ax)
    return g


def _pad_name(kwargs, inputs):
    mode = kwargs.get("mode", "constant")
    if mode == "constant" or inputs is None:
        return "ConstantPadNdBackward0"
    pairs = _pairs(kwargs["pad_width"], inputs[0].ndim)
    first = next((i for i, (b, f) in enumerate(pairs) if b or f), len(pairs) - 1)
    dims = max(1, min(3, len(pairs) - first))  # torch pads the last 1 to 3 dimensions
    return f"{'ReflectionPad' if mode == 'reflect' else 'ReplicationPad'}{dims}DBackward0"


@op(vjp=(_pad_grad,), shape=_pad_shape, check_shape=True, grad_fn=_pad_name, torch="torch.nn.functional.pad")
def pad(a: ArrayOrNumber, *, pad_width: PadWidth,
        mode: Literal["constant", "reflect", "replicate", "edge"] = "constant", value: Number = 0) -> ArrayOrScalar:
    """Pad with numpy's pad_width (n, [before, after], or one pair per axis, first axis first): mode
    "constant" fills with value, "reflect" mirrors without repeating the edge, "replicate" (numpy's "edge")
    repeats the edge."""
    a = np.asarray(a)
    if mode == "constant":
        return np.pad(a, _pairs(pad_width, a.ndim), mode="constant", constant_values=value)
    mode = "replicate" if mode == "edge" else mode
    for ax, src, _ in _padded_axes(a.shape, pad_width, mode):
        a = np.take(a, src, axis=ax)
    return np.array(a, copy=True)


@op(vjp=(lambda F, g, ans, a, axis: F.flip(g, axis=axis),))
def flip(a: ArrayOrNumber, *, axis: Axes = None) -> ArrayOrScalar:
    """Reverse the order of elements along axis (all axes when null)."""
    return np.flip(a, axis=axis).copy()


def _negated(shift):
    return tuple(-s for s in shift) if isinstance(shift, tuple) else -shift


@op(vjp=(lambda F, g, ans, a, shift, axis: F.roll(g, shift=_negated(shift), axis=axis),))
def roll(a: ArrayOrNumber, *, shift: IntOrInts, axis: Axes = None) -> ArrayOrScalar:
    """Shift elements along axis, wrapping around (over the flattened tensor when null)."""
    return np.roll(a, shift, axis=axis)


def _tile_layout(shape, reps):
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    d = max(len(shape), len(reps))
    return (1,) * (d - len(shape)) + tuple(shape), (1,) * (d - len(reps)) + reps


def _tile_shape(a, *, reps):
    shape, reps = _tile_layout(a, reps)
    if builtins.any(r < 0 for r in reps):
        raise ValueError(f"tile: reps {list(reps)} must not be negative")
    return tuple(s * r for s, r in zip(shape, reps))


def _tile_grad(F, g, ans, a, reps):
    shape, reps = _tile_layout(a.shape, reps)
    split = [n for pair in zip(reps, shape) for n in pair]  # (r0, s0, r1, s1, ...)
    summed = F.sum(F.reshape(g, shape=split), axis=tuple(range(0, len(split), 2)))
    return F.reshape(summed, shape=a.shape)


@op(vjp=(_tile_grad,), shape=_tile_shape, check_shape=True, grad_fn="RepeatBackward0")
def tile(a: ArrayOrNumber, *, reps: IntOrInts) -> ArrayOrScalar:
    """Repeat the whole tensor reps times along each axis (numpy.tile; torch.tile, Tensor.repeat)."""
    return np.tile(a, reps)


def _repeat_source(shape, repeats, axis):
    n = math.prod(shape) if axis is None else shape[_axis(axis, len(shape))]
    counts = np.asarray(repeats, dtype=np.int64)
    if counts.ndim > 1 or counts.ndim == 1 and counts.size not in (1, n):
        raise ShapeError(f"repeat: {counts.size} repeats for an axis of size {n}")
    if (counts < 0).any():
        raise ShapeError("repeat: repeats must not be negative")
    return np.repeat(np.arange(n), np.broadcast_to(counts, (n,)))


def _repeat_shape(a, *, repeats, axis):
    counts = np.asarray(repeats, dtype=np.int64)
    n = math.prod(a) if axis is None else a[_axis(axis, len(a))]
    total = int(counts.sum()) if counts.ndim else int(counts) * n
    return (total,) if axis is None else tuple(a[:axis % len(a)]) + (total,) + tuple(a[axis % len(a) + 1:])


@op(vjp=(lambda F, g, ans, a, repeats, axis:
         F.take_backward(g, _repeat_source(a.shape, repeats, axis), shape=a.shape, axis=axis),),
    shape=_repeat_shape, check_shape=True, aliases=("repeat_interleave",), torch="torch.repeat_interleave",
    grad_fn=lambda kwargs, inputs: "IndexSelectBackward0" if isinstance(kwargs.get("repeats"), tuple)
    else "ViewBackward0")
def repeat(a: ArrayOrNumber, *, repeats: IntOrInts, axis: OptInt = None) -> ArrayOrScalar:
    """Repeat each element repeats times along axis (over the flattened tensor when null); repeats is a
    count or one count per element (numpy.repeat, torch.repeat_interleave)."""
    a = np.asarray(a)
    src = _repeat_source(a.shape, repeats, axis)
    return np.take(a, src, axis=axis)


@op(vjp=(lambda F, g, ans, a, axis1, axis2: F.swapaxes(g, axis1=axis1, axis2=axis2),),
    grad_fn="TransposeBackward0", aliases=("swapdims",))
def swapaxes(a: ArrayOrNumber, *, axis1: Int, axis2: Int) -> ArrayOrScalar:
    """Exchange two axes (torch.transpose(a, dim0, dim1))."""
    return np.swapaxes(a, axis1, axis2)


@op(vjp=(lambda F, g, ans, a, source, destination: F.moveaxis(g, source=destination, destination=source),),
    grad_fn="PermuteBackward0", aliases=("movedim",))
def moveaxis(a: ArrayOrNumber, *, source: IntOrInts, destination: IntOrInts) -> ArrayOrScalar:
    """Move axes to new positions; the others keep their order."""
    return np.moveaxis(np.asarray(a), source, destination)


def _check_scatter_index(name, a_shape, indices, axis, src_shape=None):
    ndim = len(a_shape)
    ax = _axis(axis, ndim) if ndim else 0
    if indices.ndim != ndim or src_shape is not None and len(src_shape) != ndim:
        raise ShapeError(f"{name}: the tensor, indices{' and src' if src_shape is not None else ''} must have "
                         f"the same number of dimensions, got shapes {tuple(a_shape)}, {indices.shape}"
                         + (f" and {tuple(src_shape)}" if src_shape is not None else ""))
    for d, (n, m) in enumerate(zip(a_shape, indices.shape)):
        if d != ax and m > n or src_shape is not None and m > src_shape[d]:
            raise ShapeError(f"{name}: indices of shape {indices.shape} do not fit shape {tuple(a_shape)} "
                             f"along axis {d}" + (f" (src {tuple(src_shape)})" if src_shape is not None else ""))
    n = a_shape[ax] if ndim else 1
    if indices.size and (indices.max() >= n or indices.min() < -n):
        bad = indices.max() if indices.max() >= n else indices.min()
        raise ShapeError(f"{name}: index {bad} is out of bounds for axis {axis} with size {n}")
    return ax


def _full_index(indices, ax):
    """The index tuple that puts indices[..] at position (.., indices[..], ..) along ax."""
    grids = np.indices(indices.shape, sparse=True)
    return tuple(indices if d == ax else grid for d, grid in enumerate(grids))


@op(vjp=(lambda F, g, ans, a, indices, axis:
         F.scatter_add(np.zeros(a.shape, dtype=g.dtype), indices, g, axis=axis), None),
    saves="inputs", int_args=(1,))
def gather(a: ArrayOrNumber, indices: NDArray[np.int64], *, axis: Int) -> ArrayOrScalar:
    """out[i][j] = a[indices[i][j]][j] along axis 0 (and so on): torch.gather, indices as large as a at
    most along the other axes; the result has the indices' shape."""
    a = np.asarray(a)
    if not a.ndim:
        _check_scatter_index("gather", (1,), indices.reshape(-1), 0)
        return a.copy() if indices.ndim == 0 else np.broadcast_to(a, indices.shape).copy()
    ax = _check_scatter_index("gather", a.shape, indices, axis)
    return a[_full_index(indices, ax)]


def _scatter_src_grad(F, g, ans, a, indices, src, axis):
    picked = F.gather(g, indices, axis=axis)
    shape = np.shape(src)
    if picked.shape == tuple(shape):
        return picked
    return F.index_backward(picked, shape=shape, key=tuple(slice(0, m) for m in indices.shape))


@op(vjp=(lambda F, g, ans, a, indices, src, axis: g, None, _scatter_src_grad), saves="inputs", int_args=(1,))
def scatter_add(a: ArrayOrNumber, indices: NDArray[np.int64], src: ArrayOrNumber, *, axis: Int) -> ArrayOrScalar:
    """A copy of a with src[i][j] added at [indices[i][j]][j] along axis 0 (and so on), repeated indices
    adding up: torch.scatter_add."""
    a, src = np.asarray(a), np.asarray(src)
    if not a.ndim:
        out = np.array(a, dtype=np.result_type(a, src), copy=True)
        _check_scatter_index("scatter_add", (1,), indices.reshape(-1), 0)
        return out + np.sum(src.reshape(-1)[:indices.size])
    ax = _check_scatter_index("scatter_add", a.shape, indices, axis, src.shape)
    out = np.array(a, dtype=np.result_type(a, src), copy=True)
    np.add.at(out, _full_index(indices, ax), src[tuple(slice(0, m) for m in indices.shape)])
    return out


@op(vjp=(lambda F, g, ans, a, mask, **_: F.where(mask, 0.0, g), None), saves="inputs")
def masked_fill(a: ArrayOrNumber, mask: ArrayOrNumber, *, value: Number) -> ArrayOrScalar:
    """A copy of a with value where mask (read as booleans, broadcast to a's shape) is true."""
    a = np.asarray(a)
    mask = np.asarray(mask).astype(bool, copy=False)
    try:
        mask = np.broadcast_to(mask, a.shape)
    except ValueError:
        raise ShapeError(f"masked_fill: a mask of shape {mask.shape} does not broadcast to shape {a.shape}") from None
    return np.where(mask, np.asarray(value).astype(a.dtype), a)

