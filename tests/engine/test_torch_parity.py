"""PyTorch as the oracle: forward values, gradients and grad_fn names of every catalog op, and the
semantics of backward (accumulation, retain_graph, freed graphs, errors, grad, dtypes)."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import engine as E
from engine.errors import GRAPH_FREED_MESSAGE, BackwardError, DTypeError, GraphFreedError

rng = np.random.default_rng(2024)
D = torch.float64


def normal(*shape):
    return np.asarray(rng.standard_normal(shape))


def pos(*shape):
    return np.asarray(rng.uniform(0.5, 2.0, size=shape))


def away(*shape):
    return np.asarray(rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.3, 1.5, size=shape))


def ints(*values):
    return np.array(values, dtype=np.int64)


def P(ours, theirs, *inputs, name=None, label=""):
    """One parity case. name: the grad_fn we report where it knowingly differs from torch's."""
    return (ours, theirs, list(inputs), name, label)


def _to_engine(x):
    if isinstance(x, np.ndarray):
        return E.Tensor(x, requires_grad=x.dtype.kind == "f")
    return x


def _to_torch(x):
    if isinstance(x, np.ndarray):
        return torch.tensor(x, requires_grad=x.dtype.kind == "f")
    return x


def run_both(ours, theirs, inputs, name=None):
    xs, ts = [_to_engine(x) for x in inputs], [_to_torch(x) for x in inputs]
    out, expected = ours(*xs), theirs(*ts)
    assert out.shape == tuple(expected.shape)
    assert out.dtype == np.dtype(str(expected.dtype).removeprefix("torch.").replace("bool", "bool_"))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert out.requires_grad == expected.requires_grad
    if expected.grad_fn is not None:
        assert out.grad_fn.name == (name or type(expected.grad_fn).__name__)
    if expected.requires_grad:
        g = rng.standard_normal(out.shape)
        out.backward(g)
        expected.backward(torch.from_numpy(g))
        for i, (x, t) in enumerate(zip(xs, ts)):
            if isinstance(x, E.Tensor) and x.requires_grad:
                assert (x.grad is None) == (t.grad is None), f"input {i}"
                if x.grad is not None:
                    assert x.grad.dtype == x.dtype
                    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=f"input {i}")
    return out


def binary(name, theirs, make_a=normal, make_b=normal):
    ours = getattr(E, name)
    shapes = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((), (2,))]
    return [P(ours, theirs, make_a(*sa), make_b(*sb), label=f"{sa}x{sb}") for sa, sb in shapes]


def unary(name, theirs, make=normal):
    return [P(getattr(E, name), theirs, make(2, 3)), P(getattr(E, name), theirs, make(), label="0-d")]


def reduction(name, theirs_all, theirs_dims, make=normal, **extra):
    """Cases over all axes, one axis, a negative axis and a tuple, with and without keepdims."""
    ours = getattr(E, name)
    cases = [P(lambda x: ours(x, **extra), theirs_all, make(2, 3, 4), label="all")]
    for axis in (0, -1, (0, 2)):
        for keepdims in (False, True):
            cases.append(P(lambda x, a=axis, k=keepdims: ours(x, axis=a, keepdims=k, **extra),
                           lambda t, a=axis, k=keepdims: theirs_dims(t, a, k), make(2, 3, 4),
                           label=f"axis={axis},keepdims={keepdims}"))
    return cases


def _prod_dims(t, axis, keepdims):
    for a in sorted((axis,) if isinstance(axis, int) else axis, key=lambda a: -(a % 3)):
        t = torch.prod(t, dim=a, keepdim=keepdims)  # torch.prod takes one dim at a time
    return t


def _scatter(shape, key):
    def f(g):
        out = torch.zeros(shape, dtype=D)
        out[key] = g  # differentiable through CopySlices
        return out
    return f


LABELS = ints(0, 3, 3, 1)

PARITY = {
    "add": binary("add", torch.add) + [P(lambda x: x + 2, lambda t: t + 2, normal(3), label="scalar")],
    "sub": binary("sub", torch.sub) + [
        P(lambda x: 1.5 - x, lambda t: 1.5 - t, normal(3), name="SubBackward0", label="scalar first (torch: rsub)")],
    "mul": binary("mul", torch.mul),
    "div": binary("div", torch.div, make_b=away) + [
        P(lambda x: 2.0 / x, lambda t: 2.0 / t, away(3), name="DivBackward0", label="scalar first (torch: mul)")],
    "pow": binary("pow", torch.pow, make_a=pos) + [
        P(lambda x: x ** 3, lambda t: t ** 3, away(4), label="negative base"),
        P(lambda x: 2.0 ** x, lambda t: 2.0 ** t, normal(3), label="scalar base"),
        P(lambda x, y: x ** y, lambda t, u: t ** u, np.array([0.0, 0.0, 2.0]), np.array([0.0, 2.0, 0.0]),
          label="zeros"),
        P(lambda x: x ** 0, lambda t: t ** 0, np.array([0.0, 1.0]), label="zero exponent at zero"),
        P(lambda x, y: x ** y, lambda t, u: t ** u, np.array([0.0, 0.0]), np.array([-1.0, 0.5]),
          label="zero base, negative exponent"),
    ],
    "neg": unary("neg", torch.neg),
    "maximum": binary("maximum", torch.maximum) + [
        P(E.maximum, torch.maximum, np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0]), label="ties")],
    "minimum": binary("minimum", torch.minimum) + [
        P(E.minimum, torch.minimum, np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0]), label="ties")],
    "abs": unary("abs", torch.abs, away) + [P(E.abs, torch.abs, np.array([0.0, -1.0]), label="at 0")],
    "exp": unary("exp", torch.exp),
    "log": unary("log", torch.log, pos),
    "log1p": unary("log1p", torch.log1p, pos),
    "expm1": unary("expm1", torch.expm1),
    "sqrt": unary("sqrt", torch.sqrt, pos),
    "square": unary("square", torch.square),
    "reciprocal": unary("reciprocal", torch.reciprocal, away),
    "sin": unary("sin", torch.sin),
    "cos": unary("cos", torch.cos),
    "tan": unary("tan", torch.tan),
    "tanh": unary("tanh", torch.tanh),
    "sigmoid": unary("sigmoid", torch.sigmoid) + [P(E.sigmoid, torch.sigmoid, np.array([-40.0, 40.0]), label="big")],
    "relu": unary("relu", torch.relu, away) + [P(E.relu, torch.relu, np.array([0.0, -1.0, 2.0]), label="at 0")],
    "softplus": unary("softplus", TF.softplus) + [P(E.softplus, TF.softplus, np.array([-40.0, 40.0]), label="big")],
    "clip": [
        P(lambda x: E.clip(x, min=-0.5, max=0.5), lambda t: t.clamp(-0.5, 0.5), np.array([-1.0, -0.5, 0.0, 0.5, 2.0]),
          label="both, at the bounds"),
        P(lambda x: E.clip(x, min=0.0), lambda t: t.clamp(min=0.0), normal(2, 3), label="min"),
        P(lambda x: E.clip(x, max=0.0), lambda t: t.clamp(max=0.0), normal(2, 3), label="max"),
    ],
    "where": [
        P(lambda c, x, y: E.where(c, x, y), torch.where, normal(2, 3) > 0, normal(2, 3), normal(3)),
        P(lambda c, x: E.where(c, x, 0.0), lambda c, t: torch.where(c, t, 0.0), np.array([True, False]), normal(2),
          label="scalar branch"),
    ],
    "sign": unary("sign", torch.sign) + [P(E.sign, torch.sign, np.array([0.0, -2.0]), label="at 0")],
    "floor": unary("floor", torch.floor),
    "ceil": unary("ceil", torch.ceil),
    "round": [P(E.round, torch.round, np.array([0.5, 1.5, 2.5, -0.5, -1.7, 0.2]), label="half to even")],
    **{name: [P(getattr(E, name), getattr(torch, name), np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])),
              P(getattr(E, name), getattr(torch, name), normal(2, 3), normal(3), label="broadcast")]
       for name in ("gt", "ge", "lt", "le", "eq", "ne")},
    "logical_and": [P(E.logical_and, torch.logical_and, np.array([True, True, False]), np.array([True, False, False]))],
    "logical_or": [P(E.logical_or, torch.logical_or, np.array([True, True, False]), np.array([True, False, False]))],
    "logical_not": [P(E.logical_not, torch.logical_not, np.array([True, False]))],
    "sum": reduction("sum", torch.sum, lambda t, a, k: t.sum(dim=a, keepdim=k)),
    "mean": reduction("mean", torch.mean, lambda t, a, k: t.mean(dim=a, keepdim=k)),
    "prod": reduction("prod", torch.prod, _prod_dims, make=away) + [
        P(E.prod, torch.prod, np.array([2.0, 0.0, 3.0]), label="one zero"),
        P(E.prod, torch.prod, np.array([2.0, 0.0, 0.0]), label="two zeros"),
        P(lambda x: E.prod(x, axis=1), lambda t: t.prod(1), np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0]]),
          label="zeros by row")],
    "max": reduction("max", torch.max, lambda t, a, k: t.amax(dim=a, keepdim=k)) + [
        P(E.max, torch.max, np.array([1.0, 3.0, 3.0, 2.0]), label="ties"),
        P(lambda x: E.max(x, axis=1), lambda t: t.amax(1), np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]),
          label="ties by row")],
    "min": reduction("min", torch.min, lambda t, a, k: t.amin(dim=a, keepdim=k)) + [
        P(E.min, torch.min, np.array([1.0, -3.0, -3.0, 2.0]), label="ties")],
    "var": reduction("var", lambda t: t.var(correction=0), lambda t, a, k: t.var(dim=a, keepdim=k, correction=0))
    + reduction("var", lambda t: t.var(), lambda t, a, k: t.var(dim=a, keepdim=k), ddof=1),
    "std": reduction("std", lambda t: t.std(correction=0), lambda t, a, k: t.std(dim=a, keepdim=k, correction=0))
    + reduction("std", lambda t: t.std(), lambda t, a, k: t.std(dim=a, keepdim=k), ddof=1),
    "norm": reduction("norm", torch.linalg.vector_norm, lambda t, a, k: torch.linalg.vector_norm(t, dim=a, keepdim=k))
    + [P(E.norm, torch.linalg.vector_norm, np.zeros(3), label="at 0")],
    "logsumexp": reduction("logsumexp", lambda t: torch.logsumexp(t, dim=(0, 1, 2)),
                           lambda t, a, k: torch.logsumexp(t, dim=a, keepdim=k))
    + [P(lambda x: E.logsumexp(x, axis=-1), lambda t: torch.logsumexp(t, -1), np.array([[1000.0, 1000.0], [-2.0, 1.0]]),
         label="large")],
    # torch ends some batched products in a copy (CloneBackward0) instead of a view, depending on which
    # operand requires grad; ours is always UnsafeViewBackward0
    "matmul": [P(E.matmul, torch.matmul, normal(*sa), normal(*sb), label=f"{sa}@{sb}",
                 name="UnsafeViewBackward0" if max(len(sa), len(sb)) > 2 else None) for sa, sb in [
        ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)), ((2, 2, 3), (2, 3, 4)), ((2, 3), (5, 3, 4)),
        ((1, 2, 3), (4, 3, 2)), ((3,), (2, 3, 4)), ((2, 3, 4), (4,)), ((2, 1, 2, 3), (3, 3, 2))]],
    "dot": [P(E.dot, torch.dot, normal(3), normal(3))],
    "outer": [P(E.outer, torch.outer, normal(3), normal(4))],
    "transpose": [P(E.transpose, lambda t: t.permute(2, 1, 0), normal(2, 3, 4)),
                  P(lambda x: E.transpose(x, axes=[1, -1, 0]), lambda t: t.permute(1, 2, 0), normal(2, 3, 4))],
    "reshape": [P(lambda x: E.reshape(x, shape=[3, -1]), lambda t: t.reshape(3, -1), normal(2, 3))],
    "flatten": [P(E.flatten, torch.flatten, normal(2, 3))],
    "squeeze": [P(E.squeeze, torch.squeeze, normal(1, 3, 1)),
                P(lambda x: E.squeeze(x, axis=-1), lambda t: t.squeeze(-1), normal(1, 3, 1), label="int"),
                P(lambda x: E.squeeze(x, axis=(0, 2)), lambda t: t.squeeze((0, 2)), normal(1, 3, 1), label="tuple")],
    "unsqueeze": [P(lambda x: E.unsqueeze(x, axis=1), lambda t: t.unsqueeze(1), normal(2, 3))],
    "broadcast_to": [P(lambda x: E.broadcast_to(x, shape=[2, 3]), lambda t: t.broadcast_to((2, 3)), normal(3))],
    "sum_to": [P(lambda x: E.sum_to(x, shape=[1, 3]), lambda t: t.sum_to_size(1, 3), normal(2, 3))],
    "astype": [P(lambda x: E.astype(x, dtype="float32"), lambda t: t.to(torch.float32), normal(2, 3))],
    "detach": [P(E.detach, torch.detach, normal(2, 3))],
    "concat": [P(lambda x, y, a=a: E.concat(x, y, axis=a), lambda t, u, a=a: torch.cat([t, u], dim=a),
                 normal(2, 3), normal(2, 3), label=f"axis={a}") for a in (0, 1, -1)],
    "stack": [P(lambda x, y, a=a: E.stack(x, y, axis=a), lambda t, u, a=a: torch.stack([t, u], dim=a),
                normal(2, 3), normal(2, 3), label=f"axis={a}") for a in (0, 1, -1, 2)],
    "index": [P(lambda x, k=key: x[k], lambda t, k=key: t[k], normal(3, 4, 5), label=str(key)) for key in [
        (0,), (slice(1, 3),), (None,), (Ellipsis,), (Ellipsis, 1), (0, slice(1, 3)), (None, 1, Ellipsis, None),
        (slice(1, None), None, -2), (1, 2, 3), (slice(None, None, 2), slice(None), 0), (slice(None),)]],
    "index_backward": [P(lambda g: E.index_backward(g, shape=[3, 4], key=[1, "1:3"]),
                         _scatter((3, 4), (1, slice(1, 3))), normal(2), name="IndexBackwardBackward0",
                         label="torch: CopySlices")],
    "take": [P(lambda x: E.take(x, ints(0, 5, 5, 1)), lambda t: torch.take(t, torch.tensor([0, 5, 5, 1])),
               normal(2, 3)),
             P(lambda x: E.take(x, np.array([[0, -1], [2, 2]])),
               lambda t: torch.take(t, torch.tensor([[0, -1], [2, 2]])), normal(2, 3), label="2-d, negative"),
             P(lambda x: E.take(x, ints(2, 0, 2), axis=1), lambda t: t.index_select(1, torch.tensor([2, 0, 2])),
               normal(2, 3), label="axis"),
             P(lambda x: E.take(x, ints(1, 1), axis=-2), lambda t: t.index_select(-2, torch.tensor([1, 1])),
               normal(2, 3), label="negative axis")],
    "take_backward": [P(lambda g: E.take_backward(g, ints(1, 1, 0), shape=[3]),
                        lambda g: torch.zeros(3, dtype=D).index_add(0, torch.tensor([1, 1, 0]), g), normal(3),
                        name="TakeBackwardBackward0", label="torch: index_add")],
    "softmax": [P(lambda x, a=a: E.softmax(x, axis=a), lambda t, a=a: torch.softmax(t, a), normal(2, 3, 4),
                  label=f"axis={a}") for a in (-1, 0, 1)],
    "log_softmax": [P(lambda x, a=a: E.log_softmax(x, axis=a), lambda t, a=a: torch.log_softmax(t, a), normal(2, 3, 4),
                      label=f"axis={a}") for a in (-1, 0, 1)],
    "cross_entropy": [P(E.cross_entropy, TF.cross_entropy, normal(4, 5), LABELS),
                      P(E.cross_entropy, TF.cross_entropy, normal(5), np.array(3), label="(C,)")],
    "mse_loss": [P(E.mse_loss, TF.mse_loss, normal(2, 3), normal(2, 3)),
                 P(E.mse_loss, lambda t, u: TF.mse_loss(t, u.expand(2, 3)), normal(2, 3), normal(3), label="bcast")],
}

# ---------------------------------------------------------------------------- unary, activations, binary, scans
# and order, shape (the second part of the catalog)


def unit(*shape):
    return np.asarray(rng.uniform(-0.8, 0.8, size=shape))


def distinct(*shape):
    return rng.permutation(np.linspace(-2, 2, int(np.prod(shape)))).reshape(shape)


def _pad_torch(t, pad, mode="constant", value=0.0, batch=0):
    """torch pads the last dimensions first, with a flat list, and (reflect, replicate) wants batch dims."""
    for _ in range(batch):
        t = t.unsqueeze(0)
    out = TF.pad(t, pad, mode=mode, value=value) if mode == "constant" else TF.pad(t, pad, mode=mode)
    for _ in range(batch):
        out = out.squeeze(0)
    return out


ERF_POINTS = np.array([-30.0, -6.0, -4.5, -4.0, -1.3, -0.46875, -0.2, 0.0, 1e-10, 0.3, 0.46876, 0.9, 2.7, 3.99,
                       4.01, 5.5, 9.0, 26.0, 27.5])

PARITY.update({
    "arcsin": unary("arcsin", torch.asin, unit),
    "arccos": unary("arccos", torch.acos, unit),
    "arctan": unary("arctan", torch.atan),
    "sinh": unary("sinh", torch.sinh),
    "cosh": unary("cosh", torch.cosh),
    "arcsinh": unary("arcsinh", torch.asinh),
    "arccosh": unary("arccosh", torch.acosh, lambda *s: np.asarray(1.2 + pos(*s))),
    "arctanh": unary("arctanh", torch.atanh, unit),
    "log2": unary("log2", torch.log2, pos),
    "log10": unary("log10", torch.log10, pos),
    "exp2": unary("exp2", torch.exp2),
    "erf": unary("erf", torch.special.erf) + [P(E.erf, torch.special.erf, ERF_POINTS, label="every range")],
    "erfc": unary("erfc", torch.special.erfc) + [P(E.erfc, torch.special.erfc, ERF_POINTS, label="every range")],
    "trunc": unary("trunc", torch.trunc),
    "gelu": unary("gelu", TF.gelu) + [P(lambda x: E.gelu(x, approximate="tanh"),
                                        lambda t: TF.gelu(t, approximate="tanh"), normal(2, 3), label="tanh")],
    "silu": unary("silu", TF.silu),
    "mish": unary("mish", TF.mish),
    "leaky_relu": unary("leaky_relu", TF.leaky_relu, away) + [
        P(lambda x: E.leaky_relu(x, negative_slope=0.3), lambda t: TF.leaky_relu(t, 0.3), away(4), label="0.3")],
    "elu": unary("elu", TF.elu, away) + [
        P(lambda x: E.elu(x, alpha=0.5), lambda t: TF.elu(t, 0.5), away(4), label="alpha")],
    "selu": unary("selu", TF.selu, away),
    "celu": unary("celu", TF.celu, away) + [P(lambda x: E.celu(x, alpha=2.0), lambda t: TF.celu(t, 2.0), away(4),
                                              label="alpha")],
    "hardtanh": [P(E.hardtanh, TF.hardtanh, np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 3.0]), label="at the bounds"),
                 P(lambda x: E.hardtanh(x, min_val=-0.5, max_val=2.0), lambda t: TF.hardtanh(t, -0.5, 2.0),
                   normal(2, 3),
                   label="bounds")],
    "relu6": [P(E.relu6, TF.relu6, np.array([-1.0, 0.0, 3.0, 6.0, 7.0]))],
    "hardsigmoid": [P(E.hardsigmoid, TF.hardsigmoid, np.array([-4.0, -3.0, -1.0, 0.5, 3.0, 4.0]))],
    "hardswish": [P(E.hardswish, TF.hardswish, np.array([-4.0, -3.0, -1.0, 0.5, 3.0, 4.0]))],
    "softsign": unary("softsign", TF.softsign, away),
    "logsigmoid": unary("logsigmoid", TF.logsigmoid) + [
        P(E.logsigmoid, TF.logsigmoid, np.array([-40.0, 40.0]), label="big")],
    "arctan2": binary("arctan2", torch.atan2, make_b=away),
    "hypot": binary("hypot", torch.hypot, make_a=away, make_b=away),
    "logaddexp": binary("logaddexp", torch.logaddexp),
    "fmod": binary("fmod", torch.fmod, make_b=away) + [
        P(lambda x: E.fmod(x, 0.7), lambda t: torch.fmod(t, 0.7), normal(2, 3), label="scalar")],
    "remainder": binary("remainder", torch.remainder, make_b=away) + [
        P(lambda x: E.remainder(x, 0.7), lambda t: torch.remainder(t, 0.7), normal(2, 3), label="scalar")],
    "cumsum": [P(lambda x, a=a: E.cumsum(x, axis=a), lambda t, a=a: torch.cumsum(t, a), normal(2, 3), label=f"axis={a}")
               for a in (0, 1, -1)] + [P(E.cumsum, lambda t: torch.cumsum(t.flatten(), 0), normal(2, 3), label="null")],
    "cumprod": [P(lambda x, a=a: E.cumprod(x, axis=a), lambda t, a=a: torch.cumprod(t, a), normal(2, 3),
                  label=f"axis={a}") for a in (0, 1)]
    + [P(lambda x: E.cumprod(x, axis=0), lambda t: torch.cumprod(t, 0), np.array([2.0, 0.0, 3.0, 0.0, 1.5]),
         label="zeros"),
       P(lambda x: E.cumprod(x, axis=1), lambda t: torch.cumprod(t, 1),
         np.array([[1.5, 0.0, 2.0, 0.5], [0.0, 2.0, 0.0, 3.0], [1.0, 2.0, 3.0, 0.0], [1.0, -2.0, 3.0, 0.5]]),
         label="a zero in some rows")],
    "sort": [P(lambda x: E.sort(x), lambda t: torch.sort(t).values, distinct(3, 4)),
             P(lambda x: E.sort(x, axis=0, descending=True), lambda t: torch.sort(t, 0, descending=True).values,
               distinct(3, 4), label="descending"),
             P(lambda x: E.sort(x, dim=0), lambda t: torch.sort(t, 0).values, np.array([2.0, np.nan, -1.0, 0.0]),
               label="NaN last")],
    "argsort": [P(lambda x: E.argsort(x), lambda t: torch.argsort(t, stable=True), np.array([[3.0, 1.0, 2.0, 1.0]])),
                P(lambda x: E.argsort(x, axis=0, descending=True), lambda t: torch.argsort(t, 0, descending=True),
                  distinct(3, 2), label="descending")],
    "argmax": [P(E.argmax, torch.argmax, distinct(3, 4)),
               P(lambda x: E.argmax(x, dim=1, keepdim=True), lambda t: torch.argmax(t, 1, keepdim=True), distinct(3, 4),
                 label="keepdim")],
    "argmin": [P(E.argmin, torch.argmin, distinct(3, 4)),
               P(lambda x: E.argmin(x, axis=0), lambda t: torch.argmin(t, 0), distinct(3, 4), label="axis")],
    "topk": [P(lambda x: E.topk(x, 2), lambda t: torch.topk(t, 2).values, distinct(3, 4)),
             P(lambda x: E.topk(x, k=1, axis=0, largest=False), lambda t: torch.topk(t, 1, 0, largest=False).values,
               distinct(3, 4), label="smallest")],
    "any": [P(E.any, torch.any, np.array([[0.0, 0.0], [0.0, 1.0]])),
            P(lambda x: E.any(x, dim=1), lambda t: torch.any(t, 1), np.array([[0.0, 0.0], [0.0, 1.0]]), label="dim")],
    "all": [P(E.all, torch.all, np.array([[1.0, 2.0], [0.0, 1.0]])),
            P(lambda x: E.all(x, axis=0, keepdims=True), lambda t: torch.all(t, 0, keepdim=True),
              np.array([[1.0, 2.0], [0.0, 1.0]]), label="axis")],
    "pad": [P(lambda x: E.pad(x, pad_width=[[1, 2], [0, 3]], value=1.5),
              lambda t: _pad_torch(t, (0, 3, 1, 2), value=1.5), normal(2, 3), label="constant"),
            P(lambda x: E.pad(x, pad_width=[[0, 0], [2, 1]], mode="reflect"),
              lambda t: _pad_torch(t, (2, 1), mode="reflect"), normal(2, 3), label="reflect 1-d"),
            P(lambda x: E.pad(x, pad_width=[[1, 1], [2, 1]], mode="reflect"),
              lambda t: _pad_torch(t, (2, 1, 1, 1), mode="reflect", batch=1), normal(2, 3), label="reflect 2-d",
              name="ReflectionPad2DBackward0"),
            P(lambda x: E.pad(x, pad_width=[[0, 0], [0, 0], [2, 2]], mode="replicate"),
              lambda t: _pad_torch(t, (2, 2), mode="replicate"), normal(2, 2, 3), label="replicate 1-d"),
            P(lambda x: E.pad(x, pad_width=[[0, 0], [1, 2], [2, 0]], mode="replicate"),
              lambda t: _pad_torch(t, (2, 0, 1, 2), mode="replicate"), normal(2, 2, 3), label="replicate 2-d")],
    "flip": [P(lambda x: E.flip(x, axis=(0, 2)), lambda t: torch.flip(t, (0, 2)), normal(2, 3, 2)),
             P(E.flip, lambda t: torch.flip(t, (0, 1)), normal(2, 3), label="all axes")],
    "roll": [P(lambda x: E.roll(x, shift=1, axis=1), lambda t: torch.roll(t, 1, 1), normal(2, 3)),
             P(lambda x: E.roll(x, shifts=-2), lambda t: torch.roll(t, -2), normal(2, 3), label="flattened"),
             P(lambda x: E.roll(x, shift=[1, 2], axis=[0, 1]), lambda t: torch.roll(t, (1, 2), (0, 1)), normal(2, 3),
               label="two axes")],
    "tile": [P(lambda x: E.tile(x, reps=[2, 3]), lambda t: torch.tile(t, (2, 3)), normal(2, 3)),
             P(lambda x: E.tile(x, reps=[2, 1, 1]), lambda t: torch.tile(t, (2, 1, 1)), normal(2, 3), label="more"),
             P(lambda x: E.tile(x, dims=2), lambda t: torch.tile(t, (2,)), normal(2, 3), label="fewer")],
    "repeat": [P(lambda x: E.repeat(x, repeats=2, axis=0), lambda t: torch.repeat_interleave(t, 2, dim=0),
                 normal(2, 3)),
               P(lambda x: E.repeat(x, 3), lambda t: torch.repeat_interleave(t, 3), normal(2, 3), label="flattened"),
               P(lambda x: E.repeat_interleave(x, repeats=[1, 0, 2], dim=1),
                 lambda t: torch.repeat_interleave(t, torch.tensor([1, 0, 2]), dim=1), normal(2, 3), label="counts")],
    "swapaxes": [P(lambda x: E.swapaxes(x, axis1=0, axis2=2), lambda t: torch.swapaxes(t, 0, 2), normal(2, 3, 4))],
    "moveaxis": [P(lambda x: E.moveaxis(x, source=0, destination=-1), lambda t: torch.moveaxis(t, 0, -1),
                   normal(2, 3, 4)),
                 P(lambda x: E.movedim(x, source=[0, 1], destination=[2, 0]),
                   lambda t: torch.movedim(t, (0, 1), (2, 0)), normal(2, 3, 4), label="two")],
    "gather": [P(lambda x: E.gather(x, ints(*[2, 0, 1, 1, 0, 0, 2, 1]).reshape(2, 4), axis=0),
                 lambda t: torch.gather(t, 0, torch.tensor([[2, 0, 1, 1], [0, 0, 2, 1]])), normal(3, 4)),
               P(lambda x: E.gather(x, ints(1, 0).reshape(1, 2), dim=1),
                 lambda t: torch.gather(t, 1, torch.tensor([[1, 0]])), normal(2, 3), label="smaller indices")],
    "scatter_add": [P(lambda x, s: E.scatter_add(x, ints(*[2, 0, 1, 1, 0, 0, 2, 1]).reshape(2, 4), s, axis=0),
                      lambda t, u: torch.scatter_add(t, 0, torch.tensor([[2, 0, 1, 1], [0, 0, 2, 1]]), u),
                      normal(3, 4), normal(2, 4))],
    "masked_fill": [P(lambda x: E.masked_fill(x, np.array([True, False, True]), value=-1.0),
                      lambda t: t.masked_fill(torch.tensor([True, False, True]), -1.0), normal(2, 3))],
})


# ---------------------------------------------------------------------------- linear algebra and nn families


def well_conditioned(*shape):
    return normal(*shape) + 3.0 * np.eye(shape[-1])


def spd(*shape):
    m = normal(*shape)
    return m @ np.swapaxes(m, -1, -2) + 3.0 * np.eye(shape[-1])


EINSUMS = [("ij,jk->ik", [(2, 3), (3, 4)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("ij->j", [(2, 3)]),
           ("ij->ji", [(2, 3)]), ("...ij,...jk", [(2, 1, 2, 3), (3, 3, 2)]), ("ij,ij->ij", [(1, 3), (2, 3)]),
           ("i,j", [(2,), (3,)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]), ("ij,jk,k->i", [(2, 3), (3, 4), (4,)]),
           ("i,i,i->i", [(3,), (3,), (3,)]), ("iij,j->i", [(2, 2, 3), (3,)])]

PARITY.update({
    "einsum": [P(lambda *xs, eq=eq: E.einsum(eq, *xs), lambda *ts, eq=eq: torch.einsum(eq, *ts),
                 *[normal(*s) for s in shapes], label=eq) for eq, shapes in EINSUMS],
    "tensordot": [P(E.tensordot, torch.tensordot, normal(2, 3, 4), normal(3, 4, 2), label="axes=2"),
                  P(lambda a, b: E.tensordot(a, b, axes=[[0, 2], [2, 0]]),
                    lambda a, b: torch.tensordot(a, b, dims=([0, 2], [2, 0])), normal(2, 3, 4), normal(4, 2, 2),
                    label="lists"),
                  P(lambda a, b: E.tensordot(a, b, axes=0), lambda a, b: torch.tensordot(a, b, dims=0), normal(2),
                    normal(3), label="outer")],
    "kron": [P(E.kron, torch.kron, normal(2, 3), normal(3, 2)),
             P(E.kron, torch.kron, normal(2), normal(2, 3), label="ranks differ")],
    "inv": [P(E.inv, torch.linalg.inv, well_conditioned(3, 3)),
            P(E.inv, torch.linalg.inv, well_conditioned(2, 3, 3), label="batched")],
    "det": [P(E.det, torch.linalg.det, normal(3, 3)), P(E.det, torch.linalg.det, normal(2, 2, 2), label="batched"),
            P(E.det, torch.linalg.det, np.array([[[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, 1.0, 2.0]], np.eye(3)]),
              label="singular (rank 2) in a batch")],
    "logdet": [P(E.logdet, torch.logdet, spd(3, 3)), P(E.logdet, torch.logdet, spd(2, 2, 2), label="batched"),
               P(E.logdet, torch.logdet, np.array([[[-1.0, 0.0], [0.0, 2.0]], [[1.0, 0.5], [0.5, 2.0]]]),
                 label="negative determinant: NaN")],
    "solve": [P(E.solve, torch.linalg.solve, well_conditioned(3, 3), normal(3, 2), label="matrix"),
              P(E.solve, torch.linalg.solve, well_conditioned(3, 3), normal(3), label="vector"),
              P(E.solve, torch.linalg.solve, well_conditioned(2, 3, 3), normal(2, 3), label="batch of vectors"),
              P(E.solve, torch.linalg.solve, well_conditioned(3, 3), normal(2, 3, 2), label="broadcast batch")],
    "cholesky": [P(E.cholesky, torch.linalg.cholesky, spd(3, 3)),
                 P(E.cholesky, torch.linalg.cholesky, spd(2, 2, 2), label="batched")],
    "eigvalsh": [P(E.eigvalsh, torch.linalg.eigvalsh, spd(3, 3)),
                 P(E.eigvalsh, torch.linalg.eigvalsh, spd(2, 3, 3), label="batched")],
    "eigvecsh": [P(lambda x: E.eigvecsh(x) ** 2, lambda t: torch.linalg.eigh(t)[1] ** 2, spd(3, 3),
                   label="squared: free of the sign choice")],
    "trace": [P(E.trace, torch.trace, normal(3, 4)),
              P(lambda x: E.trace(x, offset=1, axis1=1, axis2=2), lambda t: t.diagonal(1, 1, 2).sum(-1),
                normal(2, 3, 3), label="offset, axes")],
    "diag": [P(E.diag, torch.diag, normal(3), label="1-d"), P(lambda x: E.diag(x, k=-1), lambda t: torch.diag(t, -1),
                                                               normal(3), label="1-d, k=-1"),
             P(E.diag, torch.diag, normal(3, 4), label="2-d"),
             P(lambda x: E.diag(x, k=1), lambda t: torch.diag(t, 1), normal(3, 4), label="2-d, k=1")],
    "diagonal": [P(E.diagonal, torch.diagonal, normal(3, 4)),
                 P(lambda x: E.diagonal(x, offset=-1, axis1=2, axis2=0),
                   lambda t: torch.diagonal(t, -1, 2, 0), normal(3, 2, 4), label="offset, axes")],
    "diagonal_backward": [P(lambda g: E.diagonal_backward(g, shape=[3, 4], offset=1),
                            lambda g: torch.diagonal_scatter(torch.zeros(3, 4, dtype=D), g, 1), normal(3),
                            name="DiagonalBackwardBackward0", label="torch: diagonal_scatter")],
    "tril": [P(E.tril, torch.tril, normal(3, 3)), P(lambda x: E.tril(x, k=-1), lambda t: torch.tril(t, -1),
                                                      normal(2, 3, 4), label="batched, k=-1")],
    "triu": [P(E.triu, torch.triu, normal(3, 3)), P(lambda x: E.triu(x, k=1), lambda t: torch.triu(t, 1),
                                                      normal(2, 3, 4), label="batched, k=1")],
})


def probs(*shape):
    return rng.uniform(0.1, 0.9, size=shape)


def distinct(*shape):
    return rng.permutation(np.linspace(-2.0, 2.0, int(np.prod(shape)))).reshape(shape)


def dropout_mask(shape, p, seed):
    """The contract of dropout: keep where numpy's default generator, seeded, draws at least p."""
    return torch.from_numpy((np.random.default_rng(seed).random(shape) >= p) / (1.0 - p))


def quiet(fn):
    """torch's function without its advisory warnings (kl_div's 'mean', padding='same' with an even kernel)."""
    def call(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(*args, **kwargs)
    return call


CLASS_WEIGHT = np.array([1.0, 2.0, 0.5, 1.5])
WEIGHT_T = torch.tensor(CLASS_WEIGHT)
NN_LABELS = ints(0, 2, 1)


GEOMETRY = {"padding": [1, 1, 0, 0], "stride": [2, 1], "dilation": [1, 2], "groups": 1}  # (1, 2, 3, 4) -> 2 x 2
TORCH_GEOMETRY = {"padding": (1, 0), "stride": (2, 1), "dilation": (1, 2)}


PARITY.update({
    "linear": [P(E.linear, TF.linear, normal(4, 3), normal(2, 3), normal(2), label="bias"),
               P(E.linear, TF.linear, normal(4, 3), normal(2, 3), label="no bias"),
               P(E.linear, TF.linear, normal(2, 4, 3), normal(2, 3), normal(2), label="3-d"),
               P(E.linear, TF.linear, normal(2, 4, 3), normal(2, 3), label="3-d, no bias"),
               P(E.linear, TF.linear, normal(3), normal(2, 3), normal(2), label="1-d"),
               P(E.linear, TF.linear, normal(3), normal(2, 3), label="1-d, no bias")],
    "conv1d": [P(lambda x, w, b: E.conv1d(x, w, b, stride=2, padding=1),
                 lambda x, w, b: TF.conv1d(x, w, b, stride=2, padding=1), normal(2, 2, 5), normal(3, 2, 2), normal(3),
                 label="stride, padding"),
               P(lambda x, w: E.conv1d(x, w, dilation=2, padding="same"),
                 lambda x, w: TF.conv1d(x, w, dilation=2, padding="same"), normal(1, 2, 6), normal(2, 2, 2),
                 label="dilation, same (uneven)"),
               P(lambda x, w: E.conv1d(x, w, groups=2), lambda x, w: TF.conv1d(x, w, groups=2), normal(2, 4),
                 normal(2, 1, 2), label="unbatched, groups")],
    "conv2d": [P(lambda x, w, b: E.conv2d(x, w, b, padding=1), lambda x, w, b: TF.conv2d(x, w, b, padding=1),
                 normal(2, 2, 4, 4), normal(3, 2, 3, 3), normal(3), label="padding"),
               P(lambda x, w: E.conv2d(x, w, stride=[2, 1], dilation=[1, 2], padding=[0, 1]),
                 lambda x, w: TF.conv2d(x, w, stride=(2, 1), dilation=(1, 2), padding=(0, 1)), normal(1, 1, 5, 5),
                 normal(2, 1, 2, 2), label="stride, dilation, padding per axis"),
               P(lambda x, w: E.conv2d(x, w, groups=2, padding="same"),
                 lambda x, w: quiet(TF.conv2d)(x, w, groups=2, padding="same"), normal(1, 4, 4, 3), normal(4, 2, 3, 2),
                 label="groups, same"),
               P(E.conv2d, TF.conv2d, normal(2, 3, 3), normal(1, 2, 2, 2), label="unbatched")],
    "conv_batched": [P(lambda x, w: E.conv_batched(x, w, **GEOMETRY), lambda x, w: TF.conv2d(x, w, **TORCH_GEOMETRY),
                       normal(1, 2, 3, 4), normal(2, 2, 2, 2))],
    "conv_input_grad": [P(lambda g, w: E.conv_input_grad(g, w, shape=[1, 2, 3, 4], **GEOMETRY),
                          lambda g, w: torch.nn.grad.conv2d_input((1, 2, 3, 4), w, g, **TORCH_GEOMETRY),
                          normal(1, 2, 2, 2), normal(2, 2, 2, 2))],
    "conv_weight_grad": [P(lambda g, x: E.conv_weight_grad(g, x, kernel=[2, 2], **GEOMETRY),
                           lambda g, x: torch.nn.grad.conv2d_weight(x, (2, 2, 2, 2), g, **TORCH_GEOMETRY),
                           normal(1, 2, 2, 2), normal(1, 2, 3, 4))],
    "max_pool2d": [P(lambda x: E.max_pool2d(x, kernel_size=2), lambda t: TF.max_pool2d(t, 2), distinct(2, 2, 4, 4)),
                   P(lambda x: E.max_pool2d(x, kernel_size=3, stride=2, padding=1),
                     lambda t: TF.max_pool2d(t, 3, 2, 1), distinct(2, 5, 5), label="unbatched, stride, padding"),
                   P(lambda x: E.max_pool2d(x, kernel_size=[2, 1], stride=1), lambda t: TF.max_pool2d(t, (2, 1), 1),
                     np.array([[[[1.0, 2.0], [1.0, 0.0], [3.0, 3.0]]]]), label="ties go to the first")],
    "avg_pool2d": [P(lambda x: E.avg_pool2d(x, kernel_size=2), lambda t: TF.avg_pool2d(t, 2), normal(2, 2, 4, 4)),
                   P(lambda x: E.avg_pool2d(x, kernel_size=3, stride=2, padding=1),
                     lambda t: TF.avg_pool2d(t, 3, 2, 1), normal(2, 5, 5), label="unbatched, stride, padding")],
    "layer_norm": [P(lambda x, w, b: E.layer_norm(x, w, b, normalized_shape=[3]),
                     lambda x, w, b: TF.layer_norm(x, (3,), w, b), normal(2, 3), normal(3), normal(3), label="affine"),
                   P(lambda x: E.layer_norm(x, normalized_shape=[2, 3], eps=1e-3),
                     lambda t: TF.layer_norm(t, (2, 3), eps=1e-3), normal(4, 2, 3), label="two axes")],
    "batch_norm": [P(E.batch_norm, lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True), normal(4, 3),
                     normal(3), normal(3), label="(N, C), affine"),
                   P(E.batch_norm, lambda t: TF.batch_norm(t, None, None, training=True), normal(2, 3, 2, 2),
                     label="(N, C, H, W)")],
    "embedding": [P(E.embedding, TF.embedding, ints(0, 2, 2, 1), normal(3, 4)),
                  P(E.embedding, TF.embedding, np.array([[0, 1], [1, 1]]), normal(2, 3), label="2-d indices")],
    "dropout": [P(lambda x: E.dropout(x, p=0.3, seed=5), lambda t: t * dropout_mask((3, 4), 0.3, 5), normal(3, 4)),
                P(lambda x: E.dropout(x, p=0.9, seed=1), lambda t: t * dropout_mask((50,), 0.9, 1), normal(50),
                  label="p=0.9")],
    "binary_cross_entropy": [
        P(E.binary_cross_entropy, TF.binary_cross_entropy, probs(2, 3), probs(2, 3)),
        P(lambda p: E.binary_cross_entropy(p, np.full(3, 0.3), CLASS_WEIGHT[:3]),
          lambda p: TF.binary_cross_entropy(p, torch.full((3,), 0.3, dtype=D), weight=WEIGHT_T[:3]), probs(3),
          label="weight"),
        P(lambda p: E.binary_cross_entropy(p, np.array([1.0, 0.0, 0.0])),
          lambda p: TF.binary_cross_entropy(p, torch.tensor([1.0, 0.0, 0.0], dtype=D)), np.array([0.0, 1.0, 0.5]),
          label="log clamped at -100")],
    "binary_cross_entropy_with_logits": [
        P(E.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits, normal(2, 3), probs(2, 3)),
        P(lambda x, t: E.binary_cross_entropy_with_logits(x, t, CLASS_WEIGHT[:3], CLASS_WEIGHT[1:]),
          lambda x, t: TF.binary_cross_entropy_with_logits(x, t, weight=WEIGHT_T[:3], pos_weight=WEIGHT_T[1:]),
          normal(2, 3), probs(2, 3), label="weight, pos_weight"),
        P(E.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits, np.array([-800.0, 800.0]),
          np.array([1.0, 0.0]), label="large logits")],
    "nll_loss": [P(E.nll_loss, TF.nll_loss, normal(3, 4), NN_LABELS),
                 P(lambda x, y: E.nll_loss(x, y, CLASS_WEIGHT, ignore_index=2),
                   lambda x, y: TF.nll_loss(x, y, WEIGHT_T, ignore_index=2), normal(3, 4), NN_LABELS,
                   label="weight, ignore_index"),
                 P(E.nll_loss, TF.nll_loss, normal(2, 3, 2), np.array([[0, 1], [2, 2]]), label="(N, C, d)"),
                 P(E.nll_loss, TF.nll_loss, normal(4), np.array(3), label="(C,)")],
    "l1_loss": [P(E.l1_loss, TF.l1_loss, normal(2, 3), normal(2, 3)),
                P(E.l1_loss, lambda t, u: TF.l1_loss(t, u.expand(2, 3)), normal(2, 3), normal(3), label="bcast"),
                P(E.l1_loss, TF.l1_loss, np.array([1.0, 2.0]), np.array([1.0, 0.0]), label="at 0")],
    "smooth_l1_loss": [P(lambda a, b: E.smooth_l1_loss(a, b, beta=0.5), lambda a, b: TF.smooth_l1_loss(a, b, beta=0.5),
                         normal(2, 3), normal(2, 3)),
                       P(lambda a, b: E.smooth_l1_loss(a, b, beta=0.0), lambda a, b: TF.smooth_l1_loss(a, b, beta=0.0),
                         normal(2, 3), normal(2, 3), label="beta=0")],
    "huber_loss": [P(lambda a, b: E.huber_loss(a, b, delta=0.5), lambda a, b: TF.huber_loss(a, b, delta=0.5),
                     normal(2, 3), normal(2, 3)),
                   P(E.huber_loss, TF.huber_loss, 2.0 * normal(4), normal(4), label="delta=1")],
    "kl_div": [P(E.kl_div, lambda x, t: quiet(TF.kl_div)(x, t, reduction="mean"), normal(2, 3), probs(2, 3)),
               P(lambda x, t: E.kl_div(x, t, log_target=True),
                 lambda x, t: quiet(TF.kl_div)(x, t, reduction="mean", log_target=True), normal(2, 3), normal(2, 3),
                 label="log_target"),
               P(lambda x: E.kl_div(x, np.array([0.0, 0.5])),
                 lambda x: quiet(TF.kl_div)(x, torch.tensor([0.0, 0.5], dtype=D), reduction="mean"), normal(2),
                 label="zero target")],
    "cosine_similarity": [P(E.cosine_similarity, TF.cosine_similarity, normal(2, 3), normal(2, 3)),
                          P(lambda a, b: E.cosine_similarity(a, b, axis=-1),
                            lambda a, b: TF.cosine_similarity(a, b, dim=-1), normal(2, 3), normal(3), label="bcast")],
    "normalize": [P(E.normalize, TF.normalize, normal(2, 3)),
                  P(lambda x: E.normalize(x, p=1.0, axis=0), lambda t: TF.normalize(t, p=1.0, dim=0), away(2, 3),
                    label="p=1"),
                  P(lambda x: E.normalize(x, p=3.0, axis=-1), lambda t: TF.normalize(t, p=3.0, dim=-1), normal(2, 3),
                    label="p=3")],
})
PARITY["cross_entropy"] += [
    P(lambda x, y: E.cross_entropy(x, y, CLASS_WEIGHT), lambda x, y: TF.cross_entropy(x, y, WEIGHT_T), normal(3, 4),
      NN_LABELS, label="weight"),
    P(lambda x, y: E.cross_entropy(x, y, ignore_index=1), lambda x, y: TF.cross_entropy(x, y, ignore_index=1),
      normal(3, 4), NN_LABELS, label="ignore_index"),
    P(lambda x, y: E.cross_entropy(x, y, CLASS_WEIGHT, ignore_index=1, label_smoothing=0.2),
      lambda x, y: TF.cross_entropy(x, y, WEIGHT_T, ignore_index=1, label_smoothing=0.2), normal(3, 4), NN_LABELS,
      label="weight, ignore_index, label_smoothing"),
    P(lambda x, y: E.cross_entropy(x, y, label_smoothing=0.3), lambda x, y: TF.cross_entropy(x, y, label_smoothing=0.3),
      normal(4), np.array(2), label="(C,), label_smoothing"),
    P(E.cross_entropy, TF.cross_entropy, normal(3, 4), probs(3, 4), label="probabilities"),
    P(lambda x, t: E.cross_entropy(x, t, CLASS_WEIGHT, label_smoothing=0.1),
      lambda x, t: TF.cross_entropy(x, t, WEIGHT_T, label_smoothing=0.1), normal(3, 4), probs(3, 4),
      label="probabilities, weight, label_smoothing"),
    P(E.cross_entropy, TF.cross_entropy, normal(2, 4, 2), np.array([[0, 3], [1, 1]]), label="(N, C, d)"),
    P(E.cross_entropy, TF.cross_entropy, normal(2, 3, 2), probs(2, 3, 2), label="(N, C, d) probabilities"),
    P(lambda x, y: E.cross_entropy(x, y, ignore_index=0), lambda x, y: TF.cross_entropy(x, y, ignore_index=0),
      normal(2, 3), ints(0, 0), label="all ignored: NaN")]


def test_every_catalog_op_has_a_parity_case():
    assert set(PARITY) == set(E.OPS), sorted(set(E.OPS) ^ set(PARITY))


@pytest.mark.parametrize("ours, theirs, inputs, name", [
    pytest.param(o, t, i, n, id=f"{op}-{k}-{label}") for op, cases in PARITY.items()
    for k, (o, t, i, n, label) in enumerate(cases)])
def test_forward_backward_and_grad_fn_match_torch(ours, theirs, inputs, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0 ** -1 and log(0) on purpose
        run_both(ours, theirs, inputs, name)


def test_grad_fn_names_of_common_ops():
    x = E.Tensor(pos(2, 3), requires_grad=True)
    m = E.Tensor(normal(3, 2), requires_grad=True)
    names = {
        "AddBackward0": x + 1, "SubBackward0": x - x, "MulBackward0": x * 2, "DivBackward0": x / 2,
        "MeanBackward0": x.mean(), "SumBackward0": x.sum(), "ExpBackward0": E.exp(x), "MmBackward0": x @ m,
        "PowBackward0": x ** 2, "NegBackward0": -x, "ReluBackward0": E.relu(x), "SigmoidBackward0": E.sigmoid(x),
        "TanhBackward0": E.tanh(x), "LogBackward0": E.log(x), "SoftmaxBackward0": E.softmax(x),
        "LogSoftmaxBackward0": E.log_softmax(x), "LogsumexpBackward0": E.logsumexp(x, axis=1),
        "WhereBackward0": E.where(x.data > 1, x, 0.0), "ClampBackward1": E.clip(x, min=0.0),
        "SumBackward1": x.sum(axis=0), "MeanBackward1": x.mean(axis=(0, 1)), "ViewBackward0": x.reshape(shape=[6]),
        "PermuteBackward0": x.T, "ExpandBackward0": E.broadcast_to(x, shape=[2, 2, 3]),
    }
    for expected, t in names.items():
        assert t.grad_fn.name == expected
        assert repr(t).endswith(f"grad_fn=<{expected}>)")
    assert x.grad_fn is None


# ---------------------------------------------------------------------------- backward semantics


def test_leaf_grads_accumulate_across_backward_calls():
    x, t = E.Tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    y, u = (x * x).sum(), (t * t).sum()
    for _ in range(3):
        y.backward(retain_graph=True)
        u.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad, t.grad.numpy())
    np.testing.assert_allclose(x.grad, [6.0, 12.0])
    x.zero_grad()
    y.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_second_backward_through_freed_buffers_fails_with_torchs_message():
    x, t = E.Tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    y, u = E.exp(x).sum(), torch.exp(t).sum()
    y.backward()
    u.backward()
    with pytest.raises(RuntimeError) as torch_error:
        u.backward()
    with pytest.raises(GraphFreedError) as ours:
        y.backward()
    assert str(ours.value) == str(torch_error.value) == GRAPH_FREED_MESSAGE
    assert ours.value.kind == "graph-freed"


GRAPHS = {
    "add": (lambda x: (x + 1).sum(), lambda t: (t + 1).sum()),
    "sub": (lambda x: (x - 1).sum(), lambda t: (t - 1).sum()),
    "neg": (lambda x: (-x).sum(), lambda t: (-t).sum()),
    "sum": (lambda x: x.sum(), lambda t: t.sum()),
    "sum_axis": (lambda x: x.sum(axis=0).sum(), lambda t: t.sum(0).sum()),
    "mean": (lambda x: x.mean(), lambda t: t.mean()),
    "mean_axis": (lambda x: x.mean(axis=1).mean(), lambda t: t.mean(1).mean()),
    "reshape": (lambda x: x.reshape(shape=[6]).sum(), lambda t: t.reshape(6).sum()),
    "transpose": (lambda x: x.T.sum(), lambda t: t.T.sum()),
    "index": (lambda x: x[0].sum(), lambda t: t[0].sum()),
    "concat": (lambda x: E.concat(x, x).sum(), lambda t: torch.cat([t, t]).sum()),
    "stack": (lambda x: E.stack(x, x).sum(), lambda t: torch.stack([t, t]).sum()),
    "broadcast_to": (lambda x: E.broadcast_to(x, shape=[4, 2, 3]).sum(), lambda t: t.expand(4, 2, 3).sum()),
    "unsqueeze": (lambda x: E.unsqueeze(x, axis=0).sum(), lambda t: t.unsqueeze(0).sum()),
    "astype": (lambda x: E.astype(x, dtype="float32").sum(), lambda t: t.to(torch.float32).sum()),
    "mul_const": (lambda x: (x * 2).sum(), lambda t: (t * 2).sum()),
    "div_const": (lambda x: (x / 2).sum(), lambda t: (t / 2).sum()),
    "mul_self": (lambda x: (x * x).sum(), lambda t: (t * t).sum()),
    "pow": (lambda x: (x ** 2).sum(), lambda t: (t ** 2).sum()),
    "exp": (lambda x: E.exp(x).sum(), lambda t: t.exp().sum()),
    "relu": (lambda x: E.relu(x).sum(), lambda t: t.relu().sum()),
    "where": (lambda x: E.where(x.data > 0, x, 0.0).sum(), lambda t: torch.where(t > 0, t, 0.0).sum()),
    "clip": (lambda x: E.clip(x, min=0.0).sum(), lambda t: t.clamp(min=0.0).sum()),
    "softmax": (lambda x: (E.softmax(x) * 2.0).sum(), lambda t: (t.softmax(-1) * 2.0).sum()),
    "take": (lambda x: E.take(x, ints(0, 1)).sum(), lambda t: torch.take(t, torch.tensor([0, 1])).sum()),
    "matmul": (lambda x: (x @ x.T).sum(), lambda t: (t @ t.T).sum()),
    "maximum": (lambda x: E.maximum(x, 0.0).sum(), lambda t: torch.maximum(t, torch.zeros(()).double()).sum()),
}


@pytest.mark.parametrize("name", GRAPHS)
def test_second_backward_without_retain_graph_works_exactly_when_torch_allows_it(name):
    ours, theirs = GRAPHS[name]
    data = normal(2, 3)
    x, t = E.Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, u = ours(x), theirs(t)
    y.backward()
    u.backward()
    try:
        u.backward()
        torch_allows = True
    except RuntimeError:
        torch_allows = False
    if torch_allows:
        y.backward()
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-6)
    else:
        before = x.grad.copy()
        with pytest.raises(GraphFreedError):
            y.backward()
        np.testing.assert_array_equal(x.grad, before)


def test_retain_graph_allows_a_second_backward():
    x = E.Tensor([1.0, 2.0], requires_grad=True)
    y = E.exp(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_error_messages_match_torch():
    x, t = E.Tensor([1.0, 2.0, 3.0], requires_grad=True), torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError) as theirs:
        (t * 2).backward()
    with pytest.raises(BackwardError) as ours:
        (x * 2).backward()
    assert str(ours.value) == str(theirs.value) == "grad can be implicitly created only for scalar outputs"

    with pytest.raises(RuntimeError) as theirs:
        torch.ones(2).sum().backward()
    with pytest.raises(BackwardError) as ours:
        E.Tensor([1.0, 1.0]).sum().backward()
    assert str(ours.value) == str(theirs.value) == \
        "element 0 of tensors does not require grad and does not have a grad_fn"

    # the same sentence, with numpy's way of writing shapes instead of torch.Size([...])
    with pytest.raises(RuntimeError) as theirs:
        (t * 2).backward(torch.ones(2, 3))
    with pytest.raises(BackwardError) as ours:
        (x * 2).backward(np.ones((2, 3)))
    assert str(theirs.value) == "Mismatch in shape: grad_output[0] has a shape of torch.Size([2, 3]) and " \
                                "output[0] has a shape of torch.Size([3])."
    assert str(ours.value) == "Mismatch in shape: grad_output[0] has a shape of (2, 3) and " \
                              "output[0] has a shape of (3,)."

    w, s = E.Tensor([1.0], requires_grad=True), torch.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError) as theirs:
        torch.autograd.grad((t * 2).sum(), [t, s])
    with pytest.raises(BackwardError) as ours:
        E.grad((x * 2).sum(), [x, w])
    assert str(ours.value) == str(theirs.value)


def test_requires_grad_only_for_floating_point():
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor([1, 2]).requires_grad_()
    with pytest.raises(DTypeError, match="only Tensors of floating point dtype can require gradients"):
        E.Tensor([1, 2], requires_grad=True)
    with pytest.raises(DTypeError):
        E.Tensor([True], requires_grad=True)
    assert E.Tensor([1.0], dtype="float64", requires_grad=True).requires_grad


def test_retain_grad_keeps_a_non_leaf_grad_and_others_stay_none():
    x, t = E.Tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    y, u = x * 3, t * 3
    z, v = y * y, u * u
    y.retain_grad()
    u.retain_grad()
    assert y.retains_grad and u.retains_grad and not z.retains_grad
    z.sum().backward()
    v.sum().backward()
    np.testing.assert_allclose(y.grad, u.grad.numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch warns that a non-leaf's .grad is read
        assert z.grad is None and v.grad is None
    np.testing.assert_allclose(x.grad, t.grad.numpy())
    x.retain_grad()  # a leaf keeps its grad anyway; asking is harmless, as in torch
    t.retain_grad()
    with pytest.raises(E.EngineError, match="requires_grad=False"):
        E.Tensor([1.0]).retain_grad()


def test_no_grad_records_nothing():
    x = E.Tensor([1.0, 2.0], requires_grad=True)
    with E.no_grad():
        assert not E.is_grad_enabled()
        y = x * 2 + 1
    assert E.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    with torch.no_grad():
        u = torch.tensor([1.0], requires_grad=True) * 2
    assert u.requires_grad == y.requires_grad


def test_detach_shares_data_and_cuts_the_graph():
    x = E.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.data, y.data)
    z = (d * x).sum()
    z.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])  # d is a constant: no gradient through it


def test_grad_with_grad_outputs_and_allow_unused():
    data = normal(2, 3)
    x, t = E.Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    w, s = E.Tensor([1.0], requires_grad=True), torch.tensor([1.0], requires_grad=True)
    g = normal(2, 3)
    (gx, gw) = E.grad(E.sin(x) * x, [x, w], grad_outputs=g, allow_unused=True)
    (tx, tw) = torch.autograd.grad(torch.sin(t) * t, [t, s], grad_outputs=torch.from_numpy(g), allow_unused=True)
    np.testing.assert_allclose(gx.data, tx.numpy(), rtol=1e-10)
    assert gw is None and tw is None
    assert x.grad is None  # grad never accumulates


def test_grad_wrt_a_non_leaf():
    x, t = E.Tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    y, u = x * 3, t * 3
    (gy,) = E.grad((y * y).sum(), y)
    (ty,) = torch.autograd.grad((u * u).sum(), u)
    np.testing.assert_allclose(gy.data, ty.numpy())


def test_hessian_vector_product_with_create_graph():
    data, v = normal(4), normal(4)
    x, t = E.Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)

    def f(lib, a):
        return lib.sum(lib.exp(a) * a ** 3) + lib.logsumexp(a * a, 0)

    (gx,) = E.grad(f(E, x), x, create_graph=True)
    (tx,) = torch.autograd.grad(f(torch, t), t, create_graph=True)
    np.testing.assert_allclose(gx.data, tx.detach().numpy(), rtol=1e-10)
    assert gx.requires_grad and gx.grad_fn is not None
    (hv,) = E.grad((gx * v).sum(), x)
    (th,) = torch.autograd.grad((tx * torch.from_numpy(v)).sum(), t)
    np.testing.assert_allclose(hv.data, th.numpy(), rtol=1e-10)

    # backward on a create_graph gradient accumulates the second derivative into the leaf
    (gx,) = E.grad(f(E, x), x, create_graph=True)
    (gx * v).sum().backward()
    np.testing.assert_allclose(x.grad, th.numpy(), rtol=1e-10)


def test_diamond_and_reused_tensor():
    data = normal(3)
    x, t = E.Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)

    def f(a):
        b = a * 2
        c, d = b + 1, b * b  # b feeds two branches that meet again
        return (c * d + a * a).sum()

    f(x).backward()
    f(t).backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


def test_dtype_rules():
    assert E.Tensor([1.0, 2.0]).dtype == np.float32  # the default float, as torch.tensor
    assert E.Tensor([1, 2]).dtype == np.int64
    assert E.Tensor(np.array([1.0]), dtype="float64").dtype == np.float64
    x = E.Tensor([1.0, 2.0], requires_grad=True)
    x64 = E.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    t64 = torch.tensor([1.0, 2.0], dtype=D, requires_grad=True)
    i, ti = E.Tensor([1, 2]), torch.tensor([1, 2])
    cases = [
        (x * 2.5, t * 2.5), (x + np.float64(1.0), t + 1.0), (x64 * 2.5, t64 * 2.5), (x * i, t * ti),
        (i * 2.5, ti * 2.5), (i / E.Tensor([2, 4]), ti / torch.tensor([2, 4])), (E.exp(i), torch.exp(ti)),
        (i + i, ti + ti), (x * x64, t * t64), (x + E.Tensor(np.array(1.0)), t + torch.tensor(1.0, dtype=D)),
        (E.mse_loss(x, [1, 2]), TF.mse_loss(t, ti.float())), (E.sigmoid(x), torch.sigmoid(t)),
        (E.where(x.data > 1, x, 0.0), torch.where(t > 1, t, 0.0)),
    ]
    for k, (ours, theirs) in enumerate(cases):
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), k
    (x * x64).sum().backward()
    assert x.grad.dtype == np.float32 and x64.grad.dtype == np.float64  # grads have their leaf's dtype


def test_long_chain_backward_has_no_recursion_limit():
    x = E.Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y + 1.0
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]


def test_failed_backward_leaves_every_grad_unchanged():
    x = E.Tensor([1.0, 2.0], requires_grad=True)
    w = E.Tensor([3.0, 4.0], requires_grad=True)
    h = x * w
    h.retain_grad()
    h.sum().backward()  # frees h's saved inputs
    before = x.grad.copy(), w.grad.copy(), h.grad.copy()
    out = (E.exp(w) + x * 2 + h * 5).sum()  # exp and x * 2 are fresh; h's node is deep and freed
    with pytest.raises(GraphFreedError):
        out.backward()
    for old, new in zip(before, (x.grad, w.grad, h.grad)):
        np.testing.assert_array_equal(old, new)
    with pytest.raises(GraphFreedError):
        E.grad(out, [x, w])
    np.testing.assert_array_equal(x.grad, before[0])


def test_unused_input_error_frees_nothing():
    x = E.Tensor([1.0, 2.0], requires_grad=True)
    w = E.Tensor([1.0], requires_grad=True)
    y = E.exp(x).sum()
    with pytest.raises(BackwardError, match="index 1 appears to not have been used"):
        E.grad(y, [x, w])
    y.backward()  # the failed call did not free the graph
    np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0]), rtol=1e-6)


# ---------------------------------------------------------------------------- edges where the engine once
# differed from torch: each test takes torch's own answer


def both(ours, theirs, data, gradient=None, dtype=None):
    """(value, grad) of ours on an engine leaf and of theirs on a torch leaf, as arrays (grad None without one)."""
    data = np.asarray(data, dtype=dtype or np.float64)
    x = E.Tensor(data, requires_grad=data.dtype.kind == "f")
    t = torch.tensor(data, requires_grad=data.dtype.kind == "f")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, expected = ours(x), theirs(t)
        if expected.requires_grad:
            g = np.ones(out.shape) if gradient is None else np.asarray(gradient, dtype=np.float64)
            out.backward(g)
            expected.backward(torch.as_tensor(g, dtype=expected.dtype))
    assert out.dtype == np.dtype(str(expected.dtype).removeprefix("torch.").replace("bool", "bool_"))
    if expected.grad_fn is not None:
        assert out.grad_fn.name == type(expected.grad_fn).__name__
    rtol = 1e-12 if out.dtype == np.float64 else 1e-6  # float32: numpy's and torch's libm differ by an ulp
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, equal_nan=True)
    if t.requires_grad:
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=rtol, equal_nan=True)
    return out


def test_grad_with_respect_to_a_non_leaf_neither_runs_nor_frees_its_node():
    x, t = E.Tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    y, u = E.exp(x), torch.exp(t)
    (gy,) = E.grad((y * y).sum(), y)
    (gu,) = torch.autograd.grad((u * u).sum(), u)
    np.testing.assert_allclose(gy.data, gu.numpy(), rtol=1e-6)
    y.backward(np.ones(2))  # y's own node was not run, so not freed: torch allows this too
    u.backward(torch.ones(2))
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-6)
    # y's graph is freed now; grad(y, y) still only hands grad_outputs back
    (gy,) = E.grad(y, y, grad_outputs=np.full(2, 3.0))
    (gu,) = torch.autograd.grad(u, u, grad_outputs=torch.full((2,), 3.0))
    np.testing.assert_array_equal(gy.data, gu.numpy())
    with pytest.raises(GraphFreedError):
        E.grad(y.sum(), x)  # through y's freed node: refused as torch does
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        torch.autograd.grad(u.sum(), t)


def test_grad_with_respect_to_a_non_leaf_and_a_leaf_below_it():
    x, t = E.Tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    y, u = E.exp(x), torch.exp(t)
    ours = E.grad((y * y).sum(), [y, x])
    theirs = torch.autograd.grad((u * u).sum(), [u, t])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-6)


@pytest.mark.parametrize("ours, theirs, data", [
    (lambda x: E.var(x, ddof=2), lambda t: t.var(correction=2), [1.0, 2.0]),
    (lambda x: E.var(x, ddof=2), lambda t: t.var(correction=2), [1.0, 1.0]),
    (lambda x: E.var(x, ddof=3), lambda t: t.var(correction=3), [3.0, 1.0]),
    (lambda x: E.var(x, axis=0, ddof=2), lambda t: t.var(0, correction=2), [3.0, 1.0]),
    (lambda x: E.var(x, axis=1, ddof=2), lambda t: t.var(1, correction=2), [[1.0, 2.0], [3.0, 3.0]]),
    (lambda x: E.var(x, axis=1), lambda t: t.var(1, correction=0), np.zeros((2, 0))),
    (lambda x: E.std(x, axis=1, ddof=1), lambda t: t.std(1), np.zeros((2, 0))),
    (lambda x: E.std(x, ddof=2), lambda t: t.std(correction=2), [3.0, 1.0]),
], ids=["full", "full constant", "negative dof", "axis", "axis, rows", "0-size axis", "std, 0-size axis",
        "std"])
def test_var_and_std_without_degrees_of_freedom_are_inf_or_nan_as_in_torch(ours, theirs, data):
    both(ours, theirs, data)


@pytest.mark.parametrize("ours, theirs", [
    (E.std, lambda t: t.std(correction=0)), (lambda x: E.std(x, axis=1, ddof=1), lambda t: t.std(1)),
    (lambda x: E.std(x, axis=0, keepdims=True), lambda t: t.std(0, correction=0, keepdim=True))])
def test_std_of_a_constant_has_a_zero_gradient(ours, theirs):
    both(ours, theirs, [[3.0, 3.0, 3.0], [1.0, 2.0, 4.0]])
    x = E.Tensor([3.0, 3.0, 3.0], requires_grad=True)
    E.std(x).backward()
    np.testing.assert_array_equal(x.grad, np.zeros(3, dtype=np.float32))


@pytest.mark.parametrize("name", ["exp", "sin", "sqrt", "log", "sigmoid", "tanh", "expm1", "log1p", "reciprocal",
                                  "arcsin", "erf", "square", "sign"])
def test_functions_of_bools_have_torchs_dtypes(name):
    both(getattr(E, name), getattr(torch, {"arcsin": "asin"}.get(name, name)), [True, False], dtype=np.bool_)


@pytest.mark.parametrize("data, dtype, kwargs", [
    ([1, 2, 3], np.int64, {"min": 1.5}), ([1, 2, 3], np.int64, {"min": 1}),
    ([1, 2, 3], np.int64, {"min": 1, "max": 2.5}),
    ([True, False], np.bool_, {"min": 0}), ([True, False], np.bool_, {"min": 0.5}),
    ([True, False], np.bool_, {"min": 0, "max": 0.5}), ([1.0, 2.0], np.float32, {"min": 1}),
])
def test_clip_of_integers_and_bools_promotes_as_torch(data, dtype, kwargs):
    both(lambda x: E.clip(x, **kwargs), lambda t: torch.clamp(t, **kwargs), data, dtype=dtype)


@pytest.mark.parametrize("ours, theirs", [
    (lambda x: E.softmax(x, axis=1), lambda t: torch.softmax(t, 1)),
    (lambda x: E.log_softmax(x, axis=1), lambda t: torch.log_softmax(t, 1)),
    (lambda x: E.logsumexp(x, axis=1), lambda t: torch.logsumexp(t, 1)),
    (lambda x: E.logsumexp(x, axis=1, keepdims=True), lambda t: torch.logsumexp(t, 1, keepdim=True)),
])
def test_softmax_family_over_a_0_size_axis(ours, theirs):
    both(ours, theirs, np.zeros((2, 0)))


@pytest.mark.parametrize("ours, theirs", [
    (lambda x: E.sum(x, keepdims=True), lambda t: t.sum((0, 1), keepdim=True)),
    (lambda x: E.mean(x, keepdims=True), lambda t: t.mean((0, 1), keepdim=True)),
    (lambda x: E.max(x, keepdims=True), lambda t: t.amax((0, 1), keepdim=True)),
    (lambda x: E.min(x, keepdims=True), lambda t: t.amin((0, 1), keepdim=True)),
    (lambda x: E.sum(x), lambda t: t.sum()),
    (lambda x: E.max(x), lambda t: t.max()),
])
def test_full_reductions_keeping_dims_are_named_as_torchs_dims_overload(ours, theirs):
    both(ours, theirs, [[1.0, 5.0, 2.0], [0.5, -1.0, 3.0]])


def test_mse_loss_promotes_after_broadcasting():
    x, t = E.Tensor(np.ones((2, 3), dtype=np.float32)), torch.ones(2, 3)
    y, u = E.Tensor(np.array(0.5)), torch.tensor(0.5, dtype=D)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about the broadcast
        expected = TF.mse_loss(t, u)
    out = E.mse_loss(x, y)
    assert out.dtype == np.float64 and str(expected.dtype) == "torch.float64"
    np.testing.assert_allclose(out.data, expected.numpy())
    assert (x + y).dtype == np.float32  # elsewhere a 0-d float64 does not promote, as in torch


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("ours, theirs, data, gradient", [
    (E.relu, torch.relu, [NAN, 1.0, -1.0, 0.0], None),
    (E.abs, torch.abs, [NAN, 0.0, -2.0], None),
    (E.sign, torch.sign, [NAN, -0.0, 2.0], None),
    (E.max, torch.max, [NAN, 1.0, NAN], None),
    (E.min, torch.min, [NAN, 1.0, NAN], None),
    (lambda x: E.max(x, axis=1), lambda t: t.amax(1), [[NAN, 1.0], [1.0, 2.0]], None),
    (lambda x: E.maximum(x, E.Tensor([1.0, 1.0, NAN], dtype="float64")),
     lambda t: torch.maximum(t, torch.tensor([1.0, 1.0, NAN], dtype=D)), [NAN, 1.0, 2.0], None),
    (lambda x: E.minimum(x, E.Tensor([1.0, 1.0, NAN], dtype="float64")),
     lambda t: torch.minimum(t, torch.tensor([1.0, 1.0, NAN], dtype=D)), [NAN, 1.0, 2.0], None),
    (E.floor, torch.floor, [1.5, 2.5], [INF, NAN]),
    (E.ceil, torch.ceil, [1.5, 2.5], [INF, NAN]),
    (E.round, torch.round, [1.5, 2.5], [INF, NAN]),
    (E.sign, torch.sign, [1.5, -2.5], [INF, NAN]),
    (E.trunc, torch.trunc, [1.5, -2.5], [INF, NAN]),
    (E.prod, torch.prod, [INF, 0.0, 2.0], None),
    (E.prod, torch.prod, [INF, 1.0, 2.0], None),
    (E.prod, torch.prod, [INF, 0.0, 0.0], None),
    (lambda x: E.prod(x, axis=0), lambda t: t.prod(0), [INF, 0.0, 2.0], None),
    (lambda x: E.prod(x, axis=1), lambda t: t.prod(1), [[INF, 1.0], [0.0, 2.0]], None),
], ids=["relu", "abs", "sign", "max", "min", "amax", "maximum", "minimum", "floor", "ceil", "round", "sign grad",
        "trunc", "prod inf zero", "prod inf", "prod inf two zeros", "prod axis", "prod zero elsewhere"])
def test_nan_and_inf_edges_as_torch(ours, theirs, data, gradient):
    both(ours, theirs, data, gradient)


@pytest.mark.parametrize("name, theirs", [("sum", torch.sum), ("mean", torch.mean), ("prod", torch.prod),
                                          ("max", torch.amax), ("min", torch.amin),
                                          ("logsumexp", torch.logsumexp)])
@pytest.mark.parametrize("axis", [0, -1])
def test_reductions_of_a_0d_tensor_over_axis_0_or_minus_1_as_torch(name, theirs, axis):
    x = E.Tensor(2.5, requires_grad=True, dtype="float64")
    y = getattr(E, name)(x, axis=axis)
    y.backward()
    t = torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
    u = theirs(t, dim=axis)
    u.backward()
    assert y.shape == tuple(u.shape) and float(y.data) == u.item()
    assert float(x.grad) == t.grad.item()
    with pytest.raises(E.ShapeError):
        getattr(E, name)(x, axis=1)
