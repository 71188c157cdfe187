"""nn ops: linear, convolutions and pooling, normalization, embedding, dropout, losses and similarities.

Declared like every op (see `ops.py`). Convolutions and average pooling run through three mutually
adjoint private ops (a batched convolution and its two gradients), so every gradient is differentiable
again; fused numpy forwards and vjps elsewhere (normalization, losses).
Losses reduce by the mean, as PyTorch's defaults do.
"""

import math
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray

from .errors import OpError, ShapeError
from .ops import _is_probabilities, broadcast, mean_of_broadcast, nll_coefficients, nll_mean
from .registry import ArrayOrNumber, ArrayOrScalar, Bool, Int, Ints, KwargType, Number, Shape, family, op

family("nn")

# ---------------------------------------------------------------------------- kwarg types


def _int_or_ints(v):
    if isinstance(v, np.ndarray):
        v = v.tolist()
    items = v if isinstance(v, (list, tuple)) else [v]
    out = []
    for i in items:
        if isinstance(i, float) and i.is_integer():
            i = int(i)
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i < 0:
            raise ValueError("must be a non-negative integer or a list of them")
        out.append(int(i))
    return out[0] if not isinstance(v, (list, tuple)) else tuple(out)


def _padding(v):
    if v in ("valid", "same"):
        return v
    try:
        return _int_or_ints(v)
    except ValueError:
        raise ValueError("must be a non-negative integer, a list of them, 'valid' or 'same'") from None


def _opt(check):
    return lambda v: None if v is None else check(v)


Size = Annotated[int | tuple[int, ...], KwargType("int | int[]", _int_or_ints)]
OptSize = Annotated[int | tuple[int, ...] | None, KwargType("int | int[] | null", _opt(_int_or_ints))]
Padding = Annotated[int | tuple[int, ...] | Literal["valid", "same"],
                    KwargType('int | int[] | "valid" | "same"', _padding)]


def _per_dim(name, value, n, what):
    if isinstance(value, int):
        return (value,) * n
    if len(value) == 1:
        return tuple(value) * n
    if len(value) != n:
        raise OpError(f"'{name}' kwarg '{what}' needs {n} value(s), one per spatial dimension, got {list(value)}")
    return tuple(value)


# ---------------------------------------------------------------------------- convolution kernels
# A convolution is one matrix product over im2col windows or, where that copy (kernel-size times the input)
# would be large, a sum over kernel offsets of one product each, taking no more memory than the input and
# output. Three ops are mutually adjoint, so each one's vjp is written with the other two and every order
# of derivative is available: the convolution (conv_batched), its gradient with respect to the input
# (conv_input_grad, a transposed convolution) and with respect to the weight (conv_weight_grad).


def _out_sizes(name, spatial, kernel, stride, pads, dilation):
    out = []
    for s, k, st, (lo, hi), d in zip(spatial, kernel, stride, pads, dilation):
        span = d * (k - 1) + 1
        if s + lo + hi < span:
            raise ShapeError(f"'{name}': the padded input size {s + lo + hi} is smaller than the kernel's extent "
                             f"{span} (spatial sizes {tuple(spatial)}, kernel {tuple(kernel)})")
        out.append((s + lo + hi - span) // st + 1)
    return tuple(out)


def _pairs(padding):
    return tuple(zip(padding[0::2], padding[1::2]))


def _taps(kernel, stride, dilation, out):
    """Each kernel offset, with the slices of the padded input that it reads for every output position."""
    for offsets in np.ndindex(*kernel):
        yield offsets, (slice(None), slice(None)) + tuple(
            slice(o * d, o * d + st * (m - 1) + 1, st) for o, d, st, m in zip(offsets, dilation, stride, out))


def _groups(channels_in, channels_out, groups):
    """The input and output channel slices of each group."""
    ci, co = channels_in // groups, channels_out // groups
    return [(slice(k * ci, (k + 1) * ci), slice(k * co, (k + 1) * co)) for k in range(groups)]


def _padded(x, pads, value=0.0):
    return np.pad(x, ((0, 0), (0, 0)) + pads, constant_values=value) if any(p for pr in pads for p in pr) else x


# Below this many elements the windows are copied into one im2col matrix (one large, fast product); above
# it, one product per kernel offset keeps the memory to that of the input and output.
_IM2COL_MAX = 1 << 22


def _windows(xp, kernel, stride, dilation, out):
    """(B, C, *O, *K) strided view of the padded input xp (B, C, *S): no copy."""
    st = xp.strides
    strides = st[:2] + tuple(s * k for s, k in zip(st[2:], stride)) + tuple(s * d for s, d in zip(st[2:], dilation))
    return np.lib.stride_tricks.as_strided(xp, xp.shape[:2] + tuple(out) + tuple(kernel), strides, writeable=False)


def _im2col_matrix(xp, kernel, stride, dilation, out):
    """The windows copied in their natural order (B, C, O, K), O and K flattened: a cache-friendly copy."""
    cols = np.ascontiguousarray(_windows(xp, kernel, stride, dilation, out))
    return cols.reshape(cols.shape[:2] + (math.prod(out), math.prod(kernel)))


def _im2col(x_shape, out, kernel):
    return x_shape[0] * x_shape[1] * math.prod(out) * math.prod(kernel) <= _IM2COL_MAX


def _conv(x, w, padding, stride, dilation, groups):
    """Batched convolution of x (B, C, *S) with w (P, C / groups, *K), padding as flat (lo, hi) pairs."""
    pads, kernel, n = _pairs(padding), w.shape[2:], w.ndim - 2
    out = _out_sizes("conv", x.shape[2:], kernel, stride, pads, dilation)
    xp = _padded(x, pads)
    y = np.zeros((w.shape[0], x.shape[0]) + out, np.result_type(x, w))  # (P, B, *O): tensordot's own layout
    if _im2col(x.shape, out, kernel):  # tensordot copies the windows into its im2col matrix
        cols = _windows(xp, kernel, stride, dilation, out)
        inner = [1] + list(range(2 + n, 2 + 2 * n))
        for cin, cout in _groups(x.shape[1], w.shape[0], groups):
            y[cout] = np.tensordot(w[cout], cols[:, cin], axes=(list(range(1, 2 + n)), inner))
    else:
        for offsets, where in _taps(kernel, stride, dilation, out):
            xs = xp[where]
            for cin, cout in _groups(x.shape[1], w.shape[0], groups):
                y[cout] += np.tensordot(w[(cout, slice(None)) + offsets], xs[:, cin], axes=([1], [1]))
    return np.ascontiguousarray(np.moveaxis(y, 0, 1))


def _conv_input_grad(g, w, shape, padding, stride, dilation, groups):
    pads, kernel, n = _pairs(padding), w.shape[2:], w.ndim - 2
    padded = np.zeros((shape[0],) + tuple(s + lo + hi for s, (lo, hi) in zip(shape[2:], pads)) + (shape[1],),
                      np.result_type(g, w))  # channels last: tensordot's own layout
    if _im2col(shape, g.shape[2:], kernel):
        # (B, P, *O) x (P, C, *K) -> (B, *O, C, *K) in one product, then summed back offset by offset
        cols = np.empty((shape[0],) + g.shape[2:] + (shape[1],) + tuple(kernel), padded.dtype)
        for cin, cout in _groups(shape[1], w.shape[0], groups):
            cols[(Ellipsis, cin) + (slice(None),) * n] = np.tensordot(g[:, cout], w[cout], axes=([1], [0]))
        for offsets, where in _taps(kernel, stride, dilation, g.shape[2:]):
            padded[(where[0],) + where[2:]] += cols[(Ellipsis,) + offsets]
    else:
        for offsets, where in _taps(kernel, stride, dilation, g.shape[2:]):
            target = padded[(where[0],) + where[2:]]
            for cin, cout in _groups(shape[1], w.shape[0], groups):
                # (B, P, *O) x (P, C) -> (B, *O, C)
                target[..., cin] += np.tensordot(g[:, cout], w[(cout, slice(None)) + offsets], axes=([1], [0]))
    crop = (slice(None),) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(shape[2:], pads))
    return np.ascontiguousarray(np.moveaxis(padded[crop], -1, 1))


def _conv_weight_grad(g, x, kernel, padding, stride, dilation, groups):
    pads, n = _pairs(padding), len(kernel)
    xp = _padded(x, pads)
    out = np.zeros((g.shape[1], x.shape[1] // groups) + tuple(kernel), np.result_type(g, x))
    summed = [0] + list(range(2, 2 + n))  # batch and positions
    if _im2col(x.shape, g.shape[2:], kernel):
        cols = _im2col_matrix(xp, kernel, stride, dilation, g.shape[2:])
        for cin, cout in _groups(x.shape[1], g.shape[1], groups):
            gp = g[:, cout].reshape(g.shape[:1] + (-1, cols.shape[2]))
            out[cout] = np.einsum("bpo,bcok->pck", gp, cols[:, cin], optimize=True).reshape(out[cout].shape)
        return out
    for offsets, where in _taps(kernel, stride, dilation, g.shape[2:]):
        xs = xp[where]
        for cin, cout in _groups(x.shape[1], g.shape[1], groups):
            out[(cout, slice(None)) + offsets] = np.tensordot(g[:, cout], xs[:, cin], axes=(summed, summed))
    return out


def _geometry_kwargs(kwargs):
    return {k: kwargs[k] for k in ("padding", "stride", "dilation", "groups")}


def _input_grad_shape(g, w, *, shape, padding, stride, dilation, groups):
    expected = (shape[0], w[0]) + _out_sizes("conv", tuple(shape[2:]), tuple(w[2:]), stride, _pairs(padding),
                                             dilation)
    if tuple(g) != expected or shape[1] != w[1] * groups:
        raise ValueError(f"a gradient of shape {tuple(g)} and weight {tuple(w)} do not fit an input of shape "
                         f"{tuple(shape)}")
    return tuple(shape)


@op(vjp=(lambda F, g, ans, go, w, **kw: F.conv_batched(g, w, **_geometry_kwargs(kw)),
         lambda F, g, ans, go, w, shape, **kw: F.conv_weight_grad(go, g, kernel=w.shape[2:], **_geometry_kwargs(kw))),
    saves="inputs", shape=_input_grad_shape, check_shape=True, method=False, public=False,
    grad_fn="ConvolutionBackwardBackward0")
def conv_input_grad(g: ArrayOrNumber, weight: ArrayOrNumber, *, shape: Shape, padding: Ints, stride: Ints,
                    dilation: Ints, groups: Int = 1) -> ArrayOrScalar:
    """The gradient of a convolution with respect to its input of shape (B, C, *S): a transposed convolution."""
    return _conv_input_grad(np.asarray(g), np.asarray(weight), shape, padding, stride, dilation, groups)


def _weight_grad_shape(g, x, *, kernel, padding, stride, dilation, groups):
    expected = _out_sizes("conv", tuple(x[2:]), tuple(kernel), stride, _pairs(padding), dilation)
    if tuple(g[2:]) != expected or g[0] != x[0] or g[1] % groups or x[1] % groups:
        raise ValueError(f"a gradient of shape {tuple(g)} does not fit an input of shape {tuple(x)}")
    return (g[1], x[1] // groups) + tuple(kernel)


@op(vjp=(lambda F, g, ans, go, x, **kw: F.conv_batched(x, g, **_geometry_kwargs(kw)),
         lambda F, g, ans, go, x, **kw: F.conv_input_grad(go, g, shape=x.shape, **_geometry_kwargs(kw))),
    saves="inputs", shape=_weight_grad_shape, check_shape=True, method=False, public=False,
    grad_fn="ConvolutionBackwardBackward0")
def conv_weight_grad(g: ArrayOrNumber, x: ArrayOrNumber, *, kernel: Ints, padding: Ints, stride: Ints, dilation: Ints,
                     groups: Int = 1) -> ArrayOrScalar:
    """The gradient of a convolution with respect to its weight, for an input x (B, C, *S)."""
    return _conv_weight_grad(np.asarray(g), np.asarray(x), kernel, padding, stride, dilation, groups)


def _batched_shape(x, w, *, padding, stride, dilation, groups=1):
    if len(x) != len(w) or len(x) < 3 or x[1] != w[1] * groups or w[0] % groups:
        raise ValueError(f"input of shape {tuple(x)} and weight {tuple(w)} do not convolve with groups={groups}")
    return (x[0], w[0]) + _out_sizes("conv", tuple(x[2:]), tuple(w[2:]), stride, _pairs(padding), dilation)


@op(vjp=(lambda F, g, ans, x, w, **kw: F.conv_input_grad(g, w, shape=x.shape, **kw),
         lambda F, g, ans, x, w, **kw: F.conv_weight_grad(g, x, kernel=w.shape[2:], **kw)),
    saves="inputs", shape=_batched_shape, check_shape=True, method=False, public=False,
    grad_fn="ConvolutionBackward0")
def conv_batched(x: ArrayOrNumber, weight: ArrayOrNumber, *, padding: Ints, stride: Ints, dilation: Ints,
                 groups: Int = 1) -> ArrayOrScalar:
    """A batched convolution with explicit geometry (padding as (lo, hi) pairs): the adjoint of the two above."""
    return _conv(np.asarray(x), np.asarray(weight), padding, stride, dilation, groups)


# ---------------------------------------------------------------------------- linear and convolutions


def _linear_shape(x, weight, bias=None, **_):
    if len(weight) != 2 or len(x) == 0 or x[-1] != weight[1]:
        raise ValueError(f"'linear' takes x (..., in) and weight (out, in); got shapes {tuple(x)} and {tuple(weight)}")
    return tuple(x[:-1]) + (weight[0],)


def _linear_name(kwargs, inputs):
    if inputs is None:
        return "AddmmBackward0"
    has_bias = getattr(inputs[2], "dtype", None) is not None
    if inputs[0].ndim == 2:
        return "AddmmBackward0" if has_bias else "MmBackward0"
    if inputs[0].ndim == 1 and not has_bias:
        return "SqueezeBackward4"
    return "ViewBackward0" if has_bias else "UnsafeViewBackward0"


def _check_bias(name, bias, n):
    if bias is not None and np.shape(bias) != (n,):
        raise ShapeError(f"'{name}' takes a bias of shape ({n},), got {np.shape(bias)}")


@op(vjp=(lambda F, g, ans, x, weight, bias: F.matmul(g, weight),
         lambda F, g, ans, x, weight, bias: F.einsum(g, x, subscripts="...o,...i->oi"),
         lambda F, g, ans, x, weight, bias: g),
    saves="inputs", shape=_linear_shape, check_shape=True, grad_fn=_linear_name)
def linear(x: ArrayOrNumber, weight: ArrayOrNumber, bias: ArrayOrNumber | None = None) -> ArrayOrScalar:
    """x @ weight.T + bias, as torch.nn.functional.linear: x (..., in), weight (out, in), bias (out,) or left out."""
    _check_bias("linear", bias, np.shape(weight)[0])
    out = np.matmul(x, np.swapaxes(weight, -1, -2))
    return out if bias is None else out + bias


def _conv_geometry(name, n, x, w, stride, padding, dilation, groups):
    """Checked sizes of an n-d convolution: whether x is batched, and the private ops' geometry kwargs."""
    if len(x) not in (n + 1, n + 2) or len(w) != n + 2:
        raise ShapeError(f"'{name}' takes x (N, C, {'L' if n == 1 else 'H, W'}) or unbatched, and weight "
                         f"(out, C / groups, {'kL' if n == 1 else 'kH, kW'}); got shapes {tuple(x)} and {tuple(w)}")
    batched = len(x) == n + 2
    c = x[1] if batched else x[0]
    if groups < 1 or c % groups or w[0] % groups or w[1] * groups != c:
        raise ShapeError(f"'{name}' with groups={groups} cannot take {c} input channels with weight of shape "
                         f"{tuple(w)} (x has shape {tuple(x)})")
    stride, dilation = _per_dim(name, stride, n, "stride"), _per_dim(name, dilation, n, "dilation")
    if 0 in stride or 0 in dilation:
        raise OpError(f"'{name}' needs stride and dilation of at least 1")
    kernel = tuple(w[2:])
    if padding == "valid":
        pads = ((0, 0),) * n
    elif padding == "same":
        if any(s != 1 for s in stride):
            raise OpError(f"'{name}' padding='same' needs stride 1")
        # torch puts the odd one of an uneven total on the high side
        pads = tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))
    else:
        pads = tuple((p, p) for p in _per_dim(name, padding, n, "padding"))
    out = _out_sizes(name, tuple(x[-n:]), kernel, stride, pads, dilation)
    geo = {"padding": [p for pair in pads for p in pair], "stride": list(stride), "dilation": list(dilation),
           "groups": groups}
    return batched, geo, out


def _conv_shape(n, name):
    def rule(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
        batched, _, out = _conv_geometry(name, n, tuple(x), tuple(w), stride, padding, dilation, groups)
        return ((x[0],) if batched else ()) + (w[0],) + out
    return rule


def _conv_forward(name, n, x, w, b, stride, padding, dilation, groups):
    x, w = np.asarray(x), np.asarray(w)
    batched, geo, _ = _conv_geometry(name, n, x.shape, w.shape, stride, padding, dilation, groups)
    _check_bias(name, b, w.shape[0])
    y = conv_batched.forward(x if batched else x[None], w, **geo)
    if b is not None:
        y = y + np.reshape(b, (-1,) + (1,) * n)
    return y if batched else y[0]


def _conv_grad_x(n):
    def rule(F, g, ans, x, w, b, stride, padding, dilation, groups):
        batched, geo, _ = _conv_geometry("conv", n, x.shape, w.shape, stride, padding, dilation, groups)
        if batched:
            return F.conv_input_grad(g, w, shape=x.shape, **geo)
        return F.squeeze(F.conv_input_grad(F.unsqueeze(g, axis=0), w, shape=(1,) + x.shape, **geo), axis=0)
    return rule


def _conv_grad_w(n):
    def rule(F, g, ans, x, w, b, stride, padding, dilation, groups):
        batched, geo, _ = _conv_geometry("conv", n, x.shape, w.shape, stride, padding, dilation, groups)
        if not batched:
            g, x = F.unsqueeze(g, axis=0), F.unsqueeze(x, axis=0)
        return F.conv_weight_grad(g, x, kernel=w.shape[2:], **geo)
    return rule


def _conv_grad_b(n):
    def rule(F, g, ans, x, w, b, **_):
        return F.sum(g, axis=tuple(i for i in range(g.ndim) if i != g.ndim - n - 1))
    return rule


def _conv_op(n):
    return dict(vjp=(_conv_grad_x(n), _conv_grad_w(n), _conv_grad_b(n)), saves="inputs",
                shape=_conv_shape(n, f"conv{n}d"), check_shape=True,
                # torch convolves an unbatched input as a batch of one, then squeezes it
                grad_fn=lambda kwargs, inputs: "SqueezeBackward1" if inputs is not None and inputs[0].ndim == n + 1
                else "ConvolutionBackward0")


@op(**_conv_op(1))
def conv1d(x: ArrayOrNumber, weight: ArrayOrNumber, bias: ArrayOrNumber | None = None, *, stride: Size = 1,
           padding: Padding = 0, dilation: Size = 1, groups: Int = 1) -> ArrayOrScalar:
    """1-D convolution (cross-correlation) as torch's: x (N, C, L) or (C, L), weight (out, C / groups, kL),
    bias (out,) or left out. padding: zeros on both sides (a size, or one per axis), 'valid' (none) or
    'same' (as long as the input, stride 1); stride and dilation: a size, or one per axis."""
    return _conv_forward("conv1d", 1, x, weight, bias, stride, padding, dilation, groups)


@op(**_conv_op(2))
def conv2d(x: ArrayOrNumber, weight: ArrayOrNumber, bias: ArrayOrNumber | None = None, *, stride: Size = 1,
           padding: Padding = 0, dilation: Size = 1, groups: Int = 1) -> ArrayOrScalar:
    """2-D convolution (cross-correlation) as torch's: x (N, C, H, W) or (C, H, W), weight (out, C / groups, kH, kW),
    bias (out,) or left out. padding: zeros on both sides (a size, or one per axis), 'valid' (none) or
    'same' (as large as the input, stride 1); stride and dilation: a size, or one per axis."""
    return _conv_forward("conv2d", 2, x, weight, bias, stride, padding, dilation, groups)


# ---------------------------------------------------------------------------- pooling


def _pool_geometry(name, x, kernel_size, stride, padding):
    if len(x) not in (3, 4):
        raise ShapeError(f"'{name}' takes x (N, C, H, W) or (C, H, W), got shape {tuple(x)}")
    kernel = _per_dim(name, kernel_size, 2, "kernel_size")
    stride = kernel if stride is None or stride == () else _per_dim(name, stride, 2, "stride")
    pad = _per_dim(name, padding, 2, "padding")
    if 0 in kernel or 0 in stride:
        raise OpError(f"'{name}' needs kernel_size and stride of at least 1")
    if any(p > k // 2 for p, k in zip(pad, kernel)):
        raise OpError(f"'{name}' padding {list(pad)} should be at most half of the kernel size {list(kernel)}")
    pads = tuple((p, p) for p in pad)
    out = _out_sizes(name, tuple(x[-2:]), kernel, stride, pads, (1, 1))
    return len(x) == 4, kernel, stride, pads, out


def _pool_shape(name):
    def rule(x, *, kernel_size, stride=None, padding=0):
        return tuple(x[:-2]) + _pool_geometry(name, tuple(x), kernel_size, stride, padding)[4]
    return rule


def _max_pool(x, kernel_size, stride, padding):
    """Each window's maximum and its flat index in x (the first one at ties, NaN winning, as torch's)."""
    x = np.asarray(x)
    batched, kernel, stride, pads, out = _pool_geometry("max_pool2d", x.shape, kernel_size, stride, padding)
    xb = x if batched else x[None]
    xp = _padded(xb, pads, -np.inf)
    fp = _padded(np.arange(xb.size).reshape(xb.shape), pads, -1)
    taps = iter(_taps(kernel, stride, (1, 1), out))
    _, where = next(taps)  # (a kernel has at least one tap)
    best, pos = xp[where].copy(), fp[where].copy()
    for _, where in taps:
        v, p = xp[where], fp[where]
        better = (v > best) | (np.isnan(v) & ~np.isnan(best)) | ((pos < 0) & (p >= 0))
        best[better], pos[better] = v[better], p[better]
    return (best, pos) if batched else (best[0], pos[0])


@op(vjp=(lambda F, g, ans, x, kernel_size, stride, padding:
         F.take_backward(g, _max_pool(getattr(x, "data", x), kernel_size, stride, padding)[1], shape=x.shape),),
    saves="inputs", shape=_pool_shape("max_pool2d"), check_shape=True, grad_fn="MaxPool2DWithIndicesBackward0")
def max_pool2d(x: ArrayOrNumber, *, kernel_size: Size, stride: OptSize = None, padding: Size = 0) -> ArrayOrScalar:
    """Maximum over kernel_size windows (stride defaults to kernel_size; padding counts as -inf), as torch's;
    the gradient goes to each window's maximum."""
    return _max_pool(x, kernel_size, stride, padding)[0]


def _avg_pool_parts(shape, dtype, kernel_size, stride, padding):
    """avg_pool2d as a convolution of every channel alone (a batch of B * C images) with a uniform kernel."""
    batched, kernel, stride, pads, out = _pool_geometry("avg_pool2d", tuple(shape), kernel_size, stride, padding)
    images = (math.prod(shape[:-2]), 1) + tuple(shape[-2:])
    uniform = np.full((1, 1) + kernel, 1.0 / math.prod(kernel), dtype)
    geo = {"padding": [p for pair in pads for p in pair], "stride": list(stride), "dilation": [1, 1], "groups": 1}
    return images, uniform, geo, tuple(shape[:-2]) + out


def _avg_pool_grad(F, g, ans, x, kernel_size, stride, padding):
    images, uniform, geo, out = _avg_pool_parts(x.shape, g.dtype, kernel_size, stride, padding)
    gi = F.reshape(g, shape=images[:2] + out[-2:])
    return F.reshape(F.conv_input_grad(gi, uniform, shape=images, **geo), shape=x.shape)


@op(vjp=(_avg_pool_grad,), shape=_pool_shape("avg_pool2d"), check_shape=True, grad_fn="AvgPool2DBackward0")
def avg_pool2d(x: ArrayOrNumber, *, kernel_size: Size, stride: OptSize = None, padding: Size = 0) -> ArrayOrScalar:
    """Mean over kernel_size windows (stride defaults to kernel_size; zero padding counts in the mean), as torch's."""
    x = _float(np.asarray(x))
    images, uniform, geo, out = _avg_pool_parts(x.shape, x.dtype, kernel_size, stride, padding)
    return conv_batched.forward(x.reshape(images), uniform, **geo).reshape(out)


# ---------------------------------------------------------------------------- normalization


def _standardize(F, x, axes, eps):
    """(x - mean) / sqrt(var + eps) over axes, and 1 / sqrt(var + eps), with F's ops."""
    centered = x - F.mean(x, axis=axes, keepdims=True)
    rstd = 1.0 / F.sqrt(F.mean(centered * centered, axis=axes, keepdims=True) + eps)
    return centered * rstd, rstd


def _standardize_grad(F, gxhat, xhat, rstd, axes):
    # the fused gradient of (x - mean) / std through mean and var: one expression instead of a chain of nodes
    return rstd * (gxhat - F.mean(gxhat, axis=axes, keepdims=True)
                   - xhat * F.mean(gxhat * xhat, axis=axes, keepdims=True))


def _ln_axes(x, normalized_shape):
    n = len(normalized_shape)
    return tuple(range(len(x) - n, len(x)))


def _ln_shape(x, weight=None, bias=None, *, normalized_shape, eps=1e-5):
    ns = tuple(normalized_shape)
    if len(ns) == 0 or tuple(x[len(x) - len(ns):]) != ns or len(ns) > len(x):
        raise ValueError(f"'layer_norm' normalized_shape {list(ns)} is not the trailing shape of x {tuple(x)}")
    return tuple(x)


def _ln_grad_x(F, g, ans, x, weight, bias, normalized_shape, eps):
    axes = _ln_axes(x.shape, normalized_shape)
    xhat, rstd = _standardize(F, x, axes, eps)
    return _standardize_grad(F, g if weight is None else g * weight, xhat, rstd, axes)


def _ln_grad_w(F, g, ans, x, weight, bias, normalized_shape, eps):
    return g * _standardize(F, x, _ln_axes(x.shape, normalized_shape), eps)[0]


@op(vjp=(_ln_grad_x, _ln_grad_w, lambda F, g, ans, x, weight, bias, **_: g), saves="inputs",
    shape=_ln_shape, check_shape=True, grad_fn="NativeLayerNormBackward0")
def layer_norm(x: ArrayOrNumber, weight: ArrayOrNumber | None = None, bias: ArrayOrNumber | None = None, *,
               normalized_shape: Shape, eps: Number = 1e-5) -> ArrayOrScalar:
    """(x - mean) / sqrt(var + eps) over the trailing normalized_shape axes, times weight plus bias (both of
    normalized_shape, or left out), as torch's; fused forward and vjp."""
    x = np.asarray(x)
    ns = tuple(normalized_shape)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and np.shape(t) != ns:
            raise ShapeError(f"'layer_norm' {name} must have normalized_shape {ns}, got shape {np.shape(t)}")
    xhat, _ = _standardize(_NUMPY, _float(x), _ln_axes(x.shape, ns), eps)
    out = xhat if weight is None else xhat * weight
    return out if bias is None else out + bias


def _bn_axes(x):
    return (0,) + tuple(range(2, len(x)))


def _bn_shape(x, weight=None, bias=None, *, eps=1e-5):
    if len(x) < 2:
        raise ValueError(f"'batch_norm' takes x (N, C, ...), got shape {tuple(x)}")
    if math.prod(x[i] for i in _bn_axes(x)) < 2:
        raise ValueError(f"'batch_norm' needs more than 1 value per channel to compute statistics, got shape "
                         f"{tuple(x)}")
    return tuple(x)


def _channel(F, t, ndim):
    return F.reshape(t, shape=[-1] + [1] * (ndim - 2))


def _bn_grad_x(F, g, ans, x, weight, bias, eps):
    axes = _bn_axes(x.shape)
    xhat, rstd = _standardize(F, x, axes, eps)
    return _standardize_grad(F, g if weight is None else g * _channel(F, weight, x.ndim), xhat, rstd, axes)


def _bn_grad_w(F, g, ans, x, weight, bias, eps):
    axes = _bn_axes(x.shape)
    return F.sum(g * _standardize(F, x, axes, eps)[0], axis=axes)


@op(vjp=(_bn_grad_x, _bn_grad_w, lambda F, g, ans, x, weight, bias, **_: F.sum(g, axis=_bn_axes(g.shape))),
    saves="inputs", shape=_bn_shape, check_shape=True, grad_fn="NativeBatchNormBackward0")
def batch_norm(x: ArrayOrNumber, weight: ArrayOrNumber | None = None, bias: ArrayOrNumber | None = None, *,
               eps: Number = 1e-5) -> ArrayOrScalar:
    """Normalize each channel (axis 1) of x (N, C, ...) by the batch's own mean and biased variance, times weight
    plus bias (both (C,), or left out): torch's batch_norm in training mode, without running statistics."""
    x = np.asarray(x)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and np.shape(t) != (x.shape[1],):
            raise ShapeError(f"'batch_norm' {name} must have shape ({x.shape[1]},), got shape {np.shape(t)}")
    xhat, _ = _standardize(_NUMPY, _float(x), _bn_axes(x.shape), eps)
    out = xhat if weight is None else xhat * _channel(_NUMPY, weight, x.ndim)
    return out if bias is None else out + _channel(_NUMPY, bias, x.ndim)


class _Numpy:
    """The few ops the normalization forwards share with their vjps, on plain arrays."""

    mean = staticmethod(lambda a, axis, keepdims: np.mean(a, axis=axis, keepdims=keepdims))
    sqrt = staticmethod(np.sqrt)
    reshape = staticmethod(lambda a, shape: np.reshape(a, shape))


_NUMPY = _Numpy()


def _float(x: NDArray[Any]) -> NDArray[Any]:
    return x if x.dtype.kind == "f" else x.astype(np.float32)


# ---------------------------------------------------------------------------- embedding and dropout


def _embedding_shape(indices, weight):
    if len(weight) != 2:
        raise ValueError(f"'embedding' takes a weight of shape (num_embeddings, dim), got {tuple(weight)}")
    return tuple(indices) + (weight[1],)


@op(vjp=(None, lambda F, g, ans, indices, weight: F.take_backward(g, indices, shape=weight.shape, axis=0)),
    saves="inputs", shape=_embedding_shape, check_shape=True, int_args=(0,), grad_fn="EmbeddingBackward0")
def embedding(indices: NDArray[np.int64], weight: ArrayOrNumber) -> ArrayOrScalar:
    """Rows of weight (num_embeddings, dim) at integer indices of any shape, as torch's; the result has shape
    indices.shape + (dim,)."""
    n = np.shape(weight)[0]
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        bad = indices.min() if indices.min() < 0 else indices.max()
        raise ShapeError(f"'embedding' index {bad} is out of range for {n} embeddings")
    return np.take(weight, indices, axis=0)


def _dropout_scale(shape, dtype, p, seed):
    """The kept elements scaled by 1 / (1 - p): one draw of numpy's default generator seeded with seed."""
    if p >= 1.0:
        return np.zeros(shape, dtype)
    keep = np.random.default_rng(seed).random(shape) >= p
    return keep.astype(dtype) * np.asarray(1.0 / (1.0 - p), dtype)


def _check_p(p):
    if not 0.0 <= p <= 1.0:
        raise OpError(f"'dropout' probability p must be between 0 and 1, got {p}")


@op(vjp=(lambda F, g, ans, x, p, seed: g * _dropout_scale(x.shape, g.dtype, p, seed),),
    grad_fn="MulBackward0")
def dropout(x: ArrayOrNumber, *, p: Number = 0.5, seed: Int) -> ArrayOrScalar:
    """Zero each element with probability p and scale the rest by 1 / (1 - p), as torch's in training mode;
    the mask is a function of seed and shape alone, so the same seed gives the same mask."""
    _check_p(p)
    x = _float(np.asarray(x))
    return x * _dropout_scale(x.shape, x.dtype, p, seed)


# ---------------------------------------------------------------------------- losses


def _same_shape(name, a, b):
    if np.shape(a) != np.shape(b):
        raise ShapeError(f"'{name}' takes input and target of one shape, got shapes {np.shape(a)} and {np.shape(b)}")


def _n(a):
    return max(int(np.size(a)), 1) if not hasattr(a, "shape") else max(math.prod(a.shape), 1)


_BCE_EPS = float(np.float32(1e-12))  # torch's clamp, a float32 constant also in float64


def _bce_grad_input(F, g, ans, p, t, weight):
    # torch's: (p - t) / max(p (1 - p), eps)
    d = (p - t) / F.clip(p * (1.0 - p), min=_BCE_EPS)
    return d * (g / _n(p)) if weight is None else d * weight * (g / _n(p))


def _bce_grad_target(F, g, ans, p, t, weight):
    d = F.clip(F.log(1.0 - p), min=-100.0) - F.clip(F.log(p), min=-100.0)
    return d * (g / _n(p)) if weight is None else d * weight * (g / _n(p))


@op(vjp=(_bce_grad_input, _bce_grad_target, None), saves="inputs", shape=mean_of_broadcast,
    grad_fn="BinaryCrossEntropyBackward0")
def binary_cross_entropy(input: ArrayOrNumber, target: ArrayOrNumber,
                         weight: ArrayOrNumber | None = None) -> ArrayOrScalar:
    """Mean of -weight (target log(input) + (1 - target) log(1 - input)) for probabilities input in [0, 1], logs
    clamped at -100 as torch does; weight broadcasts or is left out."""
    _same_shape("binary_cross_entropy", input, target)
    p = np.asarray(input)
    if p.size and not (np.all(p >= 0) and np.all(p <= 1)):
        raise OpError("'binary_cross_entropy' input must hold probabilities between 0 and 1")
    with np.errstate(divide="ignore"):
        loss = -(target * np.maximum(np.log(p), -100.0) + (1.0 - np.asarray(target)) * np.maximum(np.log1p(-p), -100.0))
    if weight is not None:
        loss = loss * weight
    return np.mean(loss).astype(np.result_type(p, target), copy=False)


def _bcel_grad_input(F, g, ans, x, t, weight, pos_weight):
    s = F.sigmoid(x)
    d = s - t if pos_weight is None else s * (1.0 - t + pos_weight * t) - pos_weight * t
    return d * (g / _n(x)) if weight is None else d * weight * (g / _n(x))


def _bcel_grad_target(F, g, ans, x, t, weight, pos_weight):
    # d/dt of -(pw t log s(x) + (1 - t) log s(-x)) = pw softplus(-x) - softplus(x)
    d = -x if pos_weight is None else pos_weight * F.softplus(-x) - F.softplus(x)
    return d * (g / _n(x)) if weight is None else d * weight * (g / _n(x))


@op(vjp=(_bcel_grad_input, _bcel_grad_target, None, None), saves="inputs", shape=mean_of_broadcast,
    grad_fn="BinaryCrossEntropyWithLogitsBackward0", promote_0d=True)
def binary_cross_entropy_with_logits(input: ArrayOrNumber, target: ArrayOrNumber, weight: ArrayOrNumber | None = None,
                                     pos_weight: ArrayOrNumber | None = None) -> ArrayOrScalar:
    """Mean of -weight (pos_weight target log sigmoid(input) + (1 - target) log sigmoid(-input)), computed without
    overflow from logits; weight and pos_weight broadcast or are left out."""
    _same_shape("binary_cross_entropy_with_logits", input, target)
    x, t = np.asarray(input), np.asarray(target)
    sp_neg = np.logaddexp(0, -x)  # -log sigmoid(x)
    sp_pos = np.logaddexp(0, x)  # -log sigmoid(-x)
    loss = (t * sp_neg if pos_weight is None else pos_weight * t * sp_neg) + (1.0 - t) * sp_pos
    if weight is not None:
        loss = loss * weight
    return np.mean(loss).astype(np.result_type(x, t), copy=False)


def _nll_name(kwargs, inputs):
    return "NllLoss2DBackward0" if inputs is not None and inputs[0].ndim >= 3 else "NllLossBackward0"


@op(vjp=(lambda F, g, ans, logp, target, weight, ignore_index:
         -nll_coefficients("nll_loss", logp, target, weight, ignore_index) * g, None, None),
    saves="inputs", grad_fn=_nll_name)
def nll_loss(input: ArrayOrNumber, target: ArrayOrNumber, weight: ArrayOrNumber | None = None, *,
             ignore_index: Int = -100) -> ArrayOrScalar:
    """Mean of -input[target] over the class axis (1, or 0 for one (C,) sample), input being log-probabilities,
    as torch's: weight (C,) weighs classes (the mean is divided by the weights taken), ignore_index drops targets."""
    logp = np.asarray(input)
    if logp.ndim == 0 or _is_probabilities(logp, target):
        raise ShapeError(f"'nll_loss' takes input (N, C, ...) with class indices (N, ...), or (C,) with one index; "
                         f"got shapes {logp.shape} and {np.shape(target)}")
    return nll_mean("nll_loss", logp, logp, target, nll_coefficients("nll_loss", logp, target, weight, ignore_index))


def _l1_grad(F, g, ans, a, b):
    return F.sign(a - b) * (g / _n_broadcast(a, b))


def _n_broadcast(a, b):
    return max(math.prod(np.broadcast_shapes(np.shape(a), np.shape(b))), 1)


@op(vjp=(_l1_grad, lambda F, g, ans, a, b: -_l1_grad(F, g, ans, a, b)), saves="inputs", shape=mean_of_broadcast,
    grad_fn="MeanBackward0", promote_0d=True)
def l1_loss(input: ArrayOrNumber, target: ArrayOrNumber) -> ArrayOrScalar:
    """Mean of |input - target|, broadcasting."""
    return np.mean(np.abs(np.subtract(input, target)))


def _smooth_grad(F, g, ans, a, b, beta):
    d = a - b
    inner = d * (1.0 / beta) if beta > 0 else 0.0 * d
    return F.where(F.lt(F.abs(d), beta), inner, F.sign(d)) * (g / _n_broadcast(a, b))


@op(vjp=(_smooth_grad, lambda F, g, ans, a, b, beta: -_smooth_grad(F, g, ans, a, b, beta)), saves="inputs",
    shape=mean_of_broadcast, grad_fn=lambda kwargs, inputs: "MeanBackward0" if kwargs.get("beta", 1.0) == 0
    else "SmoothL1LossBackward0", promote_0d=True)
def smooth_l1_loss(input: ArrayOrNumber, target: ArrayOrNumber, *, beta: Number = 1.0) -> ArrayOrScalar:
    """Mean of 0.5 d ** 2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target), broadcasting."""
    if beta < 0:
        raise OpError(f"'smooth_l1_loss' beta must be non-negative, got {beta}")
    d = np.abs(np.subtract(input, target))
    return np.mean(np.where(d < beta, 0.5 * d * d / (beta or 1.0), d - 0.5 * beta))


def _huber_grad(F, g, ans, a, b, delta):
    d = a - b
    return F.where(F.lt(F.abs(d), delta), d, F.sign(d) * delta) * (g / _n_broadcast(a, b))


@op(vjp=(_huber_grad, lambda F, g, ans, a, b, delta: -_huber_grad(F, g, ans, a, b, delta)), saves="inputs",
    shape=mean_of_broadcast, grad_fn="HuberLossBackward0")
def huber_loss(input: ArrayOrNumber, target: ArrayOrNumber, *, delta: Number = 1.0) -> ArrayOrScalar:
    """Mean of 0.5 d ** 2 where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target), broadcasting."""
    if delta <= 0:
        raise OpError(f"'huber_loss' delta must be positive, got {delta}")
    d = np.abs(np.subtract(input, target))
    return np.mean(np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)))


def _kl_grad_input(F, g, ans, x, t, log_target):
    return -(F.exp(t) if log_target else t) * (g / _n_broadcast(x, t))


def _kl_grad_target(F, g, ans, x, t, log_target):
    if log_target:
        return F.exp(t) * (t + 1.0 - x) * (g / _n_broadcast(x, t))
    return (F.log(t) + 1.0 - x) * (g / _n_broadcast(x, t))


@op(vjp=(_kl_grad_input, _kl_grad_target), saves="inputs", shape=mean_of_broadcast, grad_fn="MeanBackward0")
def kl_div(input: ArrayOrNumber, target: ArrayOrNumber, *, log_target: Bool = False) -> ArrayOrScalar:
    """Elementwise mean of target (log(target) - input), input being log-probabilities (target too when
    log_target), 0 where target is 0; torch's default reduction, broadcasting."""
    x, t = np.asarray(input), np.asarray(target)
    if log_target:
        return np.mean(np.exp(t) * (t - x))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(np.where(t > 0, t * np.log(np.where(t > 0, t, 1.0)), 0.0) - t * x)


# ---------------------------------------------------------------------------- similarities


def _cos_grad(F, g, ans, a, b, axis, eps):
    # torch broadcasts a and b first: the gradient comes back at the broadcast shape, summed to a's by reverse mode
    shape = np.broadcast_shapes(np.shape(a), np.shape(b))
    a, b = F.broadcast_to(a, shape=shape), F.broadcast_to(b, shape=shape)
    na = F.clip(F.norm(a, axis=axis, keepdims=True), min=eps)
    nb = F.clip(F.norm(b, axis=axis, keepdims=True), min=eps)
    ge, ce = F.unsqueeze(g, axis=axis), F.unsqueeze(ans, axis=axis)
    return ge * (b / (na * nb) - ce * a / (na * na))


def _cos_shape(a, b, axis=1, eps=1e-8):
    out = broadcast(a, b)
    if not -len(out) <= axis < len(out):
        raise ValueError(f"'cosine_similarity' axis {axis} is out of range for shapes {tuple(a)} and {tuple(b)}")
    return tuple(s for i, s in enumerate(out) if i != axis % len(out))


@op(vjp=(lambda F, g, ans, a, b, axis, eps: _cos_grad(F, g, ans, a, b, axis, eps),
         lambda F, g, ans, a, b, axis, eps: _cos_grad(F, g, ans, b, a, axis, eps)),
    saves="inputs output", shape=_cos_shape, check_shape=True, grad_fn="SumBackward1", promote_0d=True)
def cosine_similarity(a: ArrayOrNumber, b: ArrayOrNumber, *, axis: Int = 1, eps: Number = 1e-8) -> ArrayOrScalar:
    """Cosine of the angle between a and b along axis (broadcasting), each norm clamped below at eps, as torch's."""
    a, b = np.broadcast_arrays(a, b)
    na = np.maximum(np.sqrt(np.sum(a * a, axis=axis, keepdims=True)), eps)
    nb = np.maximum(np.sqrt(np.sum(b * b, axis=axis, keepdims=True)), eps)
    return np.sum((a / na) * (b / nb), axis=axis)


def _pnorm(F, a, p, axis):
    if p == 2.0:
        return F.norm(a, axis=axis, keepdims=True)
    return F.sum(F.abs(a) ** p, axis=axis, keepdims=True) ** (1.0 / p)


def _normalize_grad(F, g, ans, a, p, axis, eps):
    n = _pnorm(F, a, p, axis)
    big = F.ge(n, eps)
    nc = F.where(big, n, eps)
    dn = F.sign(a) * (F.abs(a) / F.where(big, n, 1.0)) ** (p - 1.0) if p != 1.0 else F.sign(a)
    inner = F.sum(g * a, axis=axis, keepdims=True)
    return g / nc - F.where(big, inner / (nc * nc), 0.0) * dn


@op(vjp=(_normalize_grad,), saves="inputs", grad_fn="DivBackward0")
def normalize(a: ArrayOrNumber, *, p: Number = 2.0, axis: Int = 1, eps: Number = 1e-12) -> ArrayOrScalar:
    """a divided by its p-norm along axis, the norm clamped below at eps, as torch.nn.functional.normalize."""
    a = np.asarray(a)
    if p <= 0:
        raise OpError(f"'normalize' p must be positive, got {p}")
    if not -a.ndim <= axis < max(a.ndim, 1):
        raise ShapeError(f"'normalize' axis {axis} is out of range for shape {a.shape}")
    n = np.sum(np.abs(a) ** p, axis=axis, keepdims=True) ** (1.0 / p)
    return (a / np.maximum(n, eps)).astype(_float(a).dtype, copy=False)

