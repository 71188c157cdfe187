"""Every op's gradient against central finite differences, first and second order.

The case table is keyed by op name and checked against the registry, so an op
declared without a gradient test fails the suite.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine as E
from engine import gradcheck, gradgradcheck

rng = np.random.default_rng(1234)


def away(*shape, lo=0.3, hi=1.5):
    """Random values with |x| >= lo: away from the kinks of abs, relu, sign and division at 0."""
    return np.asarray(rng.choice([-1.0, 1.0], size=shape) * rng.uniform(lo, hi, size=shape))


def pos(*shape, lo=0.5, hi=2.0):
    return np.asarray(rng.uniform(lo, hi, size=shape))


def normal(*shape):
    return np.asarray(rng.standard_normal(shape))


def apart(a, lo=0.1):
    """A partner for a whose entries differ from a's by at least lo (no ties for maximum/minimum)."""
    a = np.asarray(a)
    return a + rng.choice([-1.0, 1.0], size=a.shape) * rng.uniform(lo, 1.0, size=a.shape)


def f(name, **kwargs):
    """The engine function of an op with fixed kwargs."""
    fn = getattr(E, name)
    return lambda *args: fn(*args, **kwargs)


def C(fn, *inputs, label="", **opts):
    """One case: fn, its inputs, a label for the test id, and gradcheck options (eps, atol, rtol)."""
    return (fn, list(inputs), label, opts)


BROADCAST_PAIRS = [((), ()), ((4,), (4,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((), (2, 3)),
                   ((3, 1, 2), (4, 1))]


def binary(name, make_a=normal, make_b=normal):
    cases = [C(f(name), make_a(*sa), make_b(*sb), label=f"{sa}x{sb}") for sa, sb in BROADCAST_PAIRS]
    cases.append(C(lambda a: getattr(E, name)(a, 1.5), make_a(2, 3), label="python-float"))
    cases.append(C(lambda b: getattr(E, name)(1.5, b), make_b(2, 3), label="python-float-first"))
    return cases


def extremum(name):
    # random normals tie with probability 0, and a fixed seed keeps every gap far above gradcheck's eps
    return binary(name) + [C(lambda a: getattr(E, name)(a, 0.0), away(2, 3), label="python-float zero")]


def unary(name, make=normal, shapes=((), (5,), (2, 3))):
    return [C(f(name), make(*s), label=str(s)) for s in shapes]


def reduction(name, make=normal, shape=(2, 3, 4), extra=None, scalar=True):
    extra = extra or {}
    cases = []
    for axis in (None, 0, -1, 1, (0, 2), (-1, 0)):
        for keepdims in (False, True):
            cases.append(C(f(name, axis=axis, keepdims=keepdims, **extra), make(*shape),
                           label=f"axis={axis},keepdims={keepdims}"))
    if scalar:
        cases.append(C(f(name, **extra), make(), label="0-d"))
        cases.append(C(f(name, axis=0, **extra), make(4), label="1-d axis 0"))
    return cases


def no_tie_values(*shape, r=rng):
    """Distinct values (no ties for max/min), shuffled."""
    n = int(np.prod(shape))
    return r.permutation(np.linspace(-2, 2, n) + r.uniform(0, 0.01, n)).reshape(shape)


def prod_cases():
    one_zero = pos(2, 3, 4)
    one_zero[0, 1, 2] = 0.0
    two_zeros = pos(2, 3, 4)
    two_zeros[1, 0, 0] = two_zeros[1, 2, 0] = 0.0
    return reduction("prod", make=away) + [
        C(f("prod"), one_zero, label="one zero, all axes"),
        C(f("prod", axis=1), one_zero, label="one zero, axis 1"),
        C(f("prod", axis=1), two_zeros, label="two zeros in one slice"),
        C(f("prod", axis=(0, 2), keepdims=True), two_zeros, label="two zeros, tuple axis"),
    ]


def index_cases():
    cases = []
    for key in ([0], [-1], ["1:3"], ["::2"], ["::-1"], [None], ["..."], ["...", 1], [0, "1:3"], [None, 1, "...", None],
                ["1:", None, -2], [1, 2, 3], ["...", None], ["-3:-1", "...", "::2"]):
        cases.append(C(f("index", key=key), normal(3, 4, 5), label=str(key)))
    cases.append(C(lambda x: x[1, ..., None, 0:2], normal(3, 4, 5), label="getitem"))
    cases.append(C(f("index", key=[None]), normal(), label="0-d new axis"))
    cases.append(C(f("index", key=["..."]), normal(), label="0-d ellipsis"))
    return cases


def take_cases():
    rep = np.array([1, 1, 0, 3, 1])
    return [
        C(lambda x: E.take(x, rep), normal(2, 3), label="flat, repeated"),
        C(lambda x: E.take(x, np.array([[0, 5], [5, 5]])), normal(2, 3), label="flat, 2-d indices"),
        C(lambda x: E.take(x, np.array([-1, 0])), normal(2, 3), label="flat, negative"),
        C(lambda x: E.take(x, np.array([2, 0, 2, 2]), axis=1), normal(2, 3), label="axis 1, repeated"),
        C(lambda x: E.take(x, np.array([1, 1]), axis=0), normal(2, 3), label="axis 0, repeated"),
        C(lambda x: E.take(x, np.array([[0, 1], [1, 1]]), axis=-1), normal(3, 2), label="axis -1, 2-d indices"),
        C(lambda x: E.take(x, np.array(2), axis=0), normal(3, 2), label="0-d index"),
        C(lambda x: x[np.array([0, 0, 2])], normal(3, 2), label="getitem with an index array"),
    ]


LABELS = np.array([0, 3, 3, 1])
MASK = np.array([[True, False, False], [False, True, True]])

CASES = {
    "add": binary("add"),
    "sub": binary("sub"),
    "mul": binary("mul"),
    "div": binary("div", make_b=away),
    "pow": binary("pow", make_a=pos) + [
        C(lambda a: E.pow(a, 3), away(2, 3), label="negative base, int exponent"),
        C(lambda a: E.pow(a, 2.0), away(2, 3), label="negative base, float exponent 2.0"),
        C(lambda a, b: E.pow(a, b), away(3), np.array([2, 3, 1]), label="negative base, int tensor exponent"),
        C(lambda a: a ** -2, away(4), label="negative power"),
        C(lambda b: E.pow(0.0, b), pos(3), label="zero base"),
    ],
    "neg": unary("neg"),
    "maximum": extremum("maximum"),
    "minimum": extremum("minimum"),
    "abs": unary("abs", away),
    "exp": unary("exp"),
    "log": unary("log", pos),
    "log1p": unary("log1p", lambda *s: rng.uniform(-0.5, 2.0, size=s)),
    "expm1": unary("expm1"),
    "sqrt": unary("sqrt", pos),
    "square": unary("square"),
    "reciprocal": unary("reciprocal", away),
    "sin": unary("sin"),
    "cos": unary("cos"),
    "tan": unary("tan", lambda *s: rng.uniform(-1.2, 1.2, size=s)),
    "tanh": unary("tanh"),
    "sigmoid": unary("sigmoid") + [C(f("sigmoid"), np.array([-30.0, -5.0, 5.0, 30.0]), label="large")],
    "relu": unary("relu", away),
    "softplus": unary("softplus") + [C(f("softplus"), np.array([-30.0, 30.0]), label="large")],
    "clip": [
        C(f("clip", min=-0.5, max=0.5), np.array([-1.0, -0.3, 0.0, 0.4, 0.9, 2.0]), label="both"),
        C(f("clip", min=0.2), np.array([[-1.0, 0.0], [0.5, 3.0]]), label="min only"),
        C(f("clip", max=0.2), np.array([[-1.0, 0.0], [0.5, 3.0]]), label="max only"),
        C(f("clip"), normal(2, 3), label="no bounds"),
        C(lambda a: E.clip(a, 0.0, 1.0), np.array(0.5), label="0-d, positional bounds"),
    ],
    "where": [
        C(lambda a, b: E.where(MASK, a, b), normal(2, 3), normal(2, 3), label="same shapes"),
        C(lambda a, b: E.where(np.array([True, False, True]), a, b), normal(2, 1), normal(), label="broadcast"),
        C(lambda a: E.where(np.array([[True], [False]]), a, 0.0), normal(3), label="constant branch"),
        C(lambda a, b: E.where(a > b, a, b), normal(2, 3), apart(normal(2, 3)), label="tensor condition"),
    ],
    "sign": unary("sign", away),
    "floor": unary("floor", lambda *s: rng.uniform(0.1, 0.9, size=s) + rng.integers(-3, 3, size=s)),
    "ceil": unary("ceil", lambda *s: rng.uniform(0.1, 0.9, size=s) + rng.integers(-3, 3, size=s)),
    "round": unary("round", lambda *s: rng.uniform(-0.4, 0.4, size=s) + rng.integers(-3, 3, size=s)),
    "sum": reduction("sum"),
    "mean": reduction("mean"),
    "prod": prod_cases(),
    "max": reduction("max", make=no_tie_values),
    "min": reduction("min", make=no_tie_values),
    "var": reduction("var") + reduction("var", extra={"ddof": 1}, scalar=False)
    + [C(f("var", ddof=1), normal(5), label="1-d ddof=1"), C(f("var", ddof=2, axis=-1), normal(2, 4), label="ddof=2")],
    "std": reduction("std", scalar=False) + reduction("std", extra={"ddof": 1}, scalar=False)
    + [C(f("std", ddof=1), normal(5), label="1-d ddof=1")],
    "norm": reduction("norm", make=away),
    "logsumexp": reduction("logsumexp") + [C(f("logsumexp", axis=1), np.array([[1000.0, 1001.0], [-5.0, 3.0]]),
                                             label="large")],
    "matmul": [C(f("matmul"), normal(*sa), normal(*sb), label=f"{sa}@{sb}") for sa, sb in [
        ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)), ((2, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)),
        ((1, 2, 3), (4, 3, 2)), ((3,), (2, 3, 4)), ((2, 3, 4), (4,)), ((2, 1, 2, 3), (3, 3, 2))]]
    + [C(lambda a: a @ np.ones((3, 2)), normal(2, 3), label="constant right"),
       C(lambda b: np.ones(3) @ b, normal(3, 2), label="constant left, 1-d")],
    "dot": [C(f("dot"), normal(3), normal(3))],
    "outer": [C(f("outer"), normal(3), normal(4)), C(f("outer"), normal(2, 2), normal(3), label="flattens")],
    "transpose": [C(f("transpose"), normal(2, 3, 4), label="reverse"),
                  C(f("transpose", axes=[1, 0, 2]), normal(2, 3, 4), label="(1,0,2)"),
                  C(f("transpose", axes=[-1, 0, 1]), normal(2, 3, 4), label="negative axes"),
                  C(lambda x: x.T, normal(2, 3), label=".T"),
                  C(f("transpose"), normal(), label="0-d")],
    "reshape": [C(f("reshape", shape=[3, -1]), normal(2, 3)), C(f("reshape", shape=[]), normal(1, 1)),
                C(f("reshape", shape=[1, 1, 1]), normal(), label="0-d up")],
    "flatten": [C(f("flatten"), normal(2, 3)), C(f("flatten"), normal(), label="0-d")],
    "squeeze": [C(f("squeeze"), normal(1, 3, 1)), C(f("squeeze", axis=0), normal(1, 3, 1)),
                C(f("squeeze", axis=(0, 2)), normal(1, 3, 1)), C(f("squeeze", axis=-1), normal(1, 3, 1))],
    "unsqueeze": [C(f("unsqueeze", axis=0), normal(2, 3)), C(f("unsqueeze", axis=-1), normal(2, 3)),
                  C(f("unsqueeze", axis=0), normal(), label="0-d")],
    "broadcast_to": [C(f("broadcast_to", shape=[2, 3]), normal(3)), C(f("broadcast_to", shape=[2, 2]), normal()),
                     C(f("broadcast_to", shape=[3, 2, 4]), normal(2, 1))],
    "sum_to": [C(f("sum_to", shape=[3]), normal(2, 3)), C(f("sum_to", shape=[1, 3]), normal(2, 3)),
               C(f("sum_to", shape=[]), normal(2, 3)), C(f("sum_to", shape=[2, 1, 4]), normal(2, 3, 4))],
    "astype": [C(f("astype", dtype="float64"), normal(2, 3)),
               C(lambda a: E.astype(E.astype(a, dtype="float32"), dtype="float64"), normal(2, 3),
                 label="through float32", eps=1e-3, atol=1e-3, rtol=1e-2)],
    "concat": [C(lambda a, b: E.concat(a, b, axis=0), normal(2, 3), normal(1, 3), label="axis 0"),
               C(lambda a, b, c: E.concat([a, b, c], axis=1), normal(2, 1), normal(2, 3), normal(2, 2),
                 label="axis 1, three"),
               C(lambda a, b: E.concat(a, b, axis=-1), normal(2, 2, 3), normal(2, 2, 1), label="axis -1"),
               C(lambda a: E.concat(a, a, axis=0), normal(2), label="same tensor twice"),
               C(lambda a: E.concat(a, np.ones((1, 3))), normal(2, 3), label="with a constant")],
    "stack": [C(lambda a, b: E.stack(a, b), normal(2, 3), normal(2, 3), label="axis 0"),
              C(lambda a, b, c: E.stack([a, b, c], axis=1), normal(2, 3), normal(2, 3), normal(2, 3),
                label="axis 1, three"),
              C(lambda a, b: E.stack(a, b, axis=-1), normal(2, 3), normal(2, 3), label="axis -1"),
              C(lambda a, b: E.stack(a, b), normal(), normal(), label="0-d")],
    "index": index_cases(),
    "index_backward": [C(f("index_backward", shape=[3, 4], key=[1]), normal(4)),
                       C(f("index_backward", shape=[3, 4], key=["...", None, "1:3"]), normal(3, 1, 2))],
    "take": take_cases(),
    "take_backward": [C(lambda g: E.take_backward(g, np.array([1, 1, 0]), shape=[2, 2]), normal(3)),
                      C(lambda g: E.take_backward(g, np.array([1, 1]), shape=[2, 3], axis=1), normal(2, 2))],
    "softmax": [C(f("softmax"), normal(4)), C(f("softmax", axis=0), normal(3, 4)),
                C(f("softmax", axis=1), normal(2, 3, 4)),
                C(f("softmax"), np.array([1000.0, 0.0, -1000.0]), label="large")],
    "log_softmax": [C(f("log_softmax"), normal(4)), C(f("log_softmax", axis=0), normal(3, 4)),
                    C(f("log_softmax", axis=1), normal(2, 3, 4)), C(f("log_softmax"), np.array([50.0, 0.0, -50.0]))],
    "cross_entropy": [C(lambda x: E.cross_entropy(x, LABELS), normal(4, 5), label="(N,C), repeated labels"),
                      C(lambda x: E.cross_entropy(x, np.array(2)), normal(5), label="(C,)"),
                      C(lambda x: E.cross_entropy(x, np.array([1])), normal(1, 3), label="N=1")],
    "mse_loss": [C(f("mse_loss"), normal(2, 3), normal(2, 3)), C(f("mse_loss"), normal(2, 3), normal(3), label="bcast"),
                 C(f("mse_loss"), normal(), normal(), label="0-d")],
}

# ---------------------------------------------------------------------------- unary, activations, binary, scans
# and order, shape (the second part of the catalog)


def kinked(*shape, kinks=(0.0,), gap=0.2):
    """Normal values at least gap away from every kink of a piecewise op."""
    x = normal(*shape)
    for k in kinks:
        near = np.abs(x - k) < gap
        x[near] = k + np.where(x[near] >= k, gap, -gap) * 1.5
    return x


def unit(*shape):
    return np.asarray(rng.uniform(-0.8, 0.8, size=shape))


def zero_in_slice():
    x = pos(2, 4)
    x[0, 1] = 0.0
    return x


PERM = np.array([[2, 0, 1, 1], [0, 0, 2, 1]])

CASES.update({
    "arcsin": unary("arcsin", unit),
    "arccos": unary("arccos", unit),
    "arctan": unary("arctan"),
    "sinh": unary("sinh"),
    "cosh": unary("cosh"),
    "arcsinh": unary("arcsinh"),
    "arccosh": unary("arccosh", lambda *s: 1.2 + pos(*s)),
    "arctanh": unary("arctanh", unit),
    "log2": unary("log2", pos),
    "log10": unary("log10", pos),
    "exp2": unary("exp2"),
    "erf": unary("erf") + [C(f("erf"), np.array([-3.0, -0.4, 0.1, 0.47, 2.0, 5.0]), label="every range")],
    "erfc": unary("erfc") + [C(f("erfc"), np.array([-3.0, -0.4, 0.1, 0.47, 2.0, 5.0]), label="every range")],
    "trunc": unary("trunc", lambda *s: rng.uniform(0.1, 0.9, size=s) + rng.integers(-3, 3, size=s)),
    "gelu": unary("gelu") + [C(f("gelu", approximate="tanh"), normal(2, 3), label="tanh")],
    "silu": unary("silu"),
    "mish": unary("mish"),
    "leaky_relu": unary("leaky_relu", kinked) + [C(f("leaky_relu", negative_slope=0.2), kinked(4), label="0.2")],
    "elu": unary("elu", kinked) + [C(f("elu", alpha=0.5), kinked(4), label="alpha")],
    "selu": unary("selu", kinked),
    "celu": unary("celu", kinked) + [C(f("celu", alpha=2.0), kinked(4), label="alpha")],
    "hardtanh": unary("hardtanh", lambda *s: kinked(*s, kinks=(-1.0, 1.0)))
    + [C(f("hardtanh", min_val=-0.5, max_val=2.0), kinked(5, kinks=(-0.5, 2.0)), label="bounds")],
    "relu6": [C(f("relu6"), kinked(6, kinks=(0.0, 6.0)) * 4)],
    "hardsigmoid": [C(f("hardsigmoid"), kinked(6, kinks=(-3.0, 3.0)) * 3)],
    "hardswish": [C(f("hardswish"), kinked(6, kinks=(-3.0, 3.0)) * 3)],
    "softsign": unary("softsign", away),
    "logsigmoid": unary("logsigmoid") + [C(f("logsigmoid"), np.array([-30.0, 30.0]), label="large")],
    "arctan2": binary("arctan2", make_b=away),
    "hypot": binary("hypot", make_a=away, make_b=away),
    "logaddexp": binary("logaddexp"),
    # away from the jumps: a / b well inside (k, k + 1)
    "fmod": [C(f("fmod"), np.array([2.3, -2.3, 5.5, -0.7]), np.array([1.0, 1.0, -2.0, 0.4])),
             C(lambda a: E.fmod(a, 0.7), np.array([2.0, -2.0, 0.3]), label="python float")],
    "remainder": [C(f("remainder"), np.array([2.3, -2.3, 5.5, -0.7]), np.array([1.0, 1.0, -2.0, 0.4])),
                  C(lambda a: E.remainder(a, 0.7), np.array([2.0, -2.0, 0.3]), label="python float")],
    "cumsum": [C(f("cumsum"), normal(2, 3), label="flattened"), C(f("cumsum", axis=1), normal(2, 3)),
               C(f("cumsum", axis=-2), normal(3, 2)), C(f("cumsum", axis=0), normal(), label="0-d")],
    "cumprod": [C(f("cumprod"), away(2, 3), label="flattened"), C(f("cumprod", axis=1), away(2, 3)),
                C(f("cumprod", axis=1), zero_in_slice(), label="a zero"),
                C(f("cumprod", axis=0), np.array([0.5, 0.0, 2.0, 0.0]), label="two zeros")],
    "sort": [C(f("sort"), no_tie_values(2, 4)), C(f("sort", axis=0, descending=True), no_tie_values(3, 2)),
             C(f("sort"), no_tie_values(), label="0-d")],
    "topk": [C(f("topk", k=2), no_tie_values(2, 4)), C(f("topk", k=1, axis=0, largest=False), no_tie_values(3, 2)),
             C(f("topk", k=3), no_tie_values(3), label="k = n")],
    "pad": [C(f("pad", pad_width=1), normal(2, 3), label="int"),
            C(f("pad", pad_width=[[0, 1], [2, 0]], value=3.0), normal(2, 3), label="pairs"),
            C(f("pad", pad_width=[[1, 0], [2, 3]], mode="reflect"), normal(2, 3), label="reflect"),
            C(f("pad", pad_width=[[0, 0], [4, 5]], mode="reflect"), normal(2, 3), label="reflect twice over"),
            C(f("pad", pad_width=[1, 2], mode="replicate"), normal(2, 3), label="replicate"),
            C(f("pad", pad_width=[[0, 0], [1, 1]], mode="edge"), normal(2, 3), label="edge")],
    "flip": [C(f("flip"), normal(2, 3)), C(f("flip", axis=1), normal(2, 3)),
             C(f("flip", axis=(0, -1)), normal(2, 2, 2))],
    "roll": [C(f("roll", shift=2), normal(2, 3), label="flattened"), C(f("roll", shift=-1, axis=1), normal(2, 3)),
             C(f("roll", shift=[1, 2], axis=[0, 1]), normal(2, 3))],
    "tile": [C(f("tile", reps=2), normal(3)), C(f("tile", reps=[2, 1, 2]), normal(2, 3), label="more reps"),
             C(f("tile", reps=[3]), normal(2, 2), label="fewer reps")],
    "repeat": [C(f("repeat", repeats=2), normal(2, 2), label="flattened"),
               C(f("repeat", repeats=2, axis=1), normal(2, 3)),
               C(f("repeat", repeats=[1, 0, 3], axis=-1), normal(2, 3), label="counts")],
    "swapaxes": [C(f("swapaxes", axis1=0, axis2=2), normal(2, 3, 4)),
                 C(f("swapaxes", axis1=-1, axis2=0), normal(2, 3))],
    "moveaxis": [C(f("moveaxis", source=0, destination=-1), normal(2, 3, 4)),
                 C(f("moveaxis", source=[0, 1], destination=[2, 0]), normal(2, 3, 4))],
    "gather": [C(lambda x: E.gather(x, PERM, axis=0), normal(3, 4), label="axis 0, repeated"),
               C(lambda x: E.gather(x, PERM[:, :2], axis=1), normal(2, 3), label="axis 1"),
               C(lambda x: E.gather(x, np.array([[1]]), axis=0), normal(2, 3), label="smaller indices")],
    "scatter_add": [C(lambda a, s: E.scatter_add(a, PERM, s, axis=0), normal(3, 4), normal(2, 4), label="repeated"),
                    C(lambda a, s: E.scatter_add(a, PERM[:, :2], s, axis=1), normal(2, 3), normal(2, 3),
                      label="larger src")],
    "masked_fill": [C(lambda a: E.masked_fill(a, MASK, value=2.0), normal(2, 3)),
                    C(lambda a: E.masked_fill(a, np.array([True, False, True]), 0.0), normal(2, 3), label="broadcast")],
})


# ---------------------------------------------------------------------------- linear algebra and nn families


def well_conditioned(*shape):
    """Square matrices far from singular (inv, solve and det gradients stay tame)."""
    return normal(*shape) + 3.0 * np.eye(shape[-1])


def mT(x):
    return E.transpose(x, axes=list(range(x.ndim - 2)) + [x.ndim - 1, x.ndim - 2])


def sym(x):
    """Symmetric input built inside the checked function: cholesky and eigvalsh read one triangle only."""
    return x + mT(x)


def spd(x):
    return x @ mT(x) + 3.0 * np.eye(x.shape[-1], dtype=x.dtype)


def einsum_cases():
    return [C(lambda *xs, eq=eq: E.einsum(eq, *xs), *[normal(*s) for s in shapes], label=eq) for eq, shapes in [
        ("ij,jk->ik", [(2, 3), (3, 2)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("ij->", [(2, 3)]),
        ("ij->ji", [(2, 3)]), ("...ij,...jk", [(2, 1, 2, 3), (3, 3, 2)]), ("ij,ij->ij", [(1, 3), (2, 3)]),
        ("iij,j->i", [(2, 2, 3), (3,)]), ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]), ("i,j", [(2,), (3,)]),
        ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]), ("i,i->", [(3,), (3,)])]] + [
        C(lambda a, b: E.einsum(a, b, subscripts="ij,j->i"), normal(2, 3), normal(3), label="subscripts kwarg"),
        C(lambda a: E.einsum("ij,jk->ik", a, np.ones((3, 2))), normal(2, 3), label="constant right")]


CASES.update({
    "einsum": einsum_cases(),
    "tensordot": [C(f("tensordot"), normal(2, 3, 2), normal(3, 2, 2), label="axes=2"),
                  C(f("tensordot", axes=[[0, 2], [1, 0]]), normal(2, 3, 4), normal(4, 2, 2), label="lists"),
                  C(f("tensordot", axes=0), normal(2), normal(3), label="outer"),
                  C(f("tensordot", axes=1), normal(2, 3), normal(3), label="axes=1")],
    "kron": [C(f("kron"), normal(2, 3), normal(3, 2)), C(f("kron"), normal(2), normal(2, 3), label="ranks differ"),
             C(f("kron"), normal(), normal(3), label="0-d")],
    "inv": [C(f("inv"), well_conditioned(3, 3)), C(f("inv"), well_conditioned(2, 2, 2), label="batched")],
    "det": [C(f("det"), normal(3, 3)), C(f("det"), normal(2, 2, 2), label="batched")],
    "logdet": [C(lambda x: E.logdet(spd(x)), normal(3, 3)), C(f("logdet"), well_conditioned(2, 2, 2), label="batched")],
    "solve": [C(f("solve"), well_conditioned(3, 3), normal(3, 2), label="matrix"),
              C(f("solve"), well_conditioned(3, 3), normal(3), label="vector"),
              C(f("solve"), well_conditioned(2, 3, 3), normal(2, 3), label="batch of vectors"),
              C(f("solve"), well_conditioned(3, 3), normal(2, 3, 1), label="broadcast batch")],
    "cholesky": [C(lambda x: E.cholesky(spd(x)), normal(3, 3)),
                 C(lambda x: E.cholesky(spd(x)), normal(2, 2, 2), label="batched")],
    "eigvalsh": [C(lambda x: E.eigvalsh(sym(x)), normal(3, 3)),
                 C(lambda x: E.eigvalsh(sym(x)), normal(2, 2, 2), label="batched")],
    "eigvecsh": [C(lambda x: E.eigvecsh(sym(x)) ** 2, normal(3, 3), label="squared: free of the sign choice")],
    "trace": [C(f("trace"), normal(3, 3)), C(f("trace"), normal(2, 3), label="wide"),
              C(f("trace", offset=1, axis1=1, axis2=2), normal(2, 3, 3), label="offset, axes")],
    "diag": [C(f("diag"), normal(3)), C(f("diag", k=-1), normal(2), label="1-d, k=-1"),
             C(f("diag"), normal(3, 2), label="2-d"), C(f("diag", k=1), normal(3, 3), label="2-d, k=1")],
    "diagonal": [C(f("diagonal"), normal(3, 3)), C(f("diagonal", offset=-1, axis1=2, axis2=0), normal(3, 2, 2),
                                                  label="offset, axes")],
    "diagonal_backward": [C(f("diagonal_backward", shape=[3, 4], offset=1), normal(3))],
    "tril": [C(f("tril"), normal(3, 3)), C(f("tril", k=-1), normal(2, 2, 3), label="batched, k=-1")],
    "triu": [C(f("triu"), normal(3, 3)), C(f("triu", k=1), normal(2, 2, 3), label="batched, k=1")],
})


def probs(*shape):
    return rng.uniform(0.1, 0.9, size=shape)


NN_LABELS = np.array([0, 2, 1])
CLASS_WEIGHT = np.array([1.0, 2.0, 0.5, 1.5])
WEIGHT32 = np.float32([1.0, 2.0, 3.0])  # float32 constants: the float32 tests keep their dtype
GEOMETRY = {"padding": [1, 0, 0, 1], "stride": [2, 1], "dilation": [1, 2], "groups": 1}  # (1, 2, 3, 4) -> 2 x 3
GROUPED = {**GEOMETRY, "groups": 2}

CASES.update({
    "linear": [C(f("linear"), normal(4, 3), normal(2, 3), normal(2), label="bias"),
               C(f("linear"), normal(4, 3), normal(2, 3), label="no bias"),
               C(f("linear"), normal(2, 2, 3), normal(2, 3), normal(2), label="3-d"),
               C(f("linear"), normal(3), normal(2, 3), label="1-d"),
               C(lambda x, w, b: E.linear(x, w, bias=b), normal(2, 3), normal(2, 3), normal(2), label="bias by name")],
    "conv1d": [C(f("conv1d", stride=2, padding=1), normal(2, 2, 5), normal(3, 2, 2), normal(3),
                 label="stride, padding"),
               C(f("conv1d", dilation=2, padding="same"), normal(1, 2, 5), normal(2, 2, 3), label="dilation, same"),
               C(f("conv1d", groups=2), normal(2, 4), normal(2, 1, 2), label="unbatched, groups")],
    "conv2d": [C(f("conv2d", padding=1), normal(1, 2, 3, 3), normal(2, 2, 2, 2), normal(2), label="padding"),
               C(f("conv2d", stride=[2, 1], dilation=[1, 2]), normal(1, 1, 4, 4), normal(2, 1, 2, 2),
                 label="stride, dilation"),
               C(f("conv2d", groups=2, padding="same"), normal(1, 4, 3, 3), normal(2, 2, 3, 2), label="groups, same"),
               C(f("conv2d"), normal(2, 3, 3), normal(1, 2, 2, 2), label="unbatched")],
    "conv_batched": [C(f("conv_batched", **GEOMETRY), normal(1, 2, 3, 4), normal(2, 2, 2, 2)),
                     C(f("conv_batched", **GROUPED), normal(1, 2, 3, 4), normal(2, 1, 2, 2), label="groups")],
    "conv_input_grad": [C(f("conv_input_grad", shape=[1, 2, 3, 4], **GEOMETRY), normal(1, 2, 2, 3), normal(2, 2, 2, 2)),
                        C(f("conv_input_grad", shape=[1, 2, 3, 4], **GROUPED), normal(1, 2, 2, 3), normal(2, 1, 2, 2),
                          label="groups")],
    "conv_weight_grad": [C(f("conv_weight_grad", kernel=[2, 2], **GEOMETRY), normal(1, 2, 2, 3), normal(1, 2, 3, 4)),
                         C(f("conv_weight_grad", kernel=[2, 2], **GROUPED), normal(1, 2, 2, 3), normal(1, 2, 3, 4),
                           label="groups")],
    "max_pool2d": [C(f("max_pool2d", kernel_size=2), no_tie_values(1, 2, 4, 4), label="kernel 2"),
                   C(f("max_pool2d", kernel_size=3, stride=2, padding=1), no_tie_values(2, 5, 5),
                     label="unbatched, stride, padding"),
                   C(f("max_pool2d", kernel_size=[2, 1], stride=1), no_tie_values(1, 1, 3, 2), label="overlapping")],
    "avg_pool2d": [C(f("avg_pool2d", kernel_size=2), normal(1, 2, 4, 4), label="kernel 2"),
                   C(f("avg_pool2d", kernel_size=3, stride=2, padding=1), normal(2, 5, 5),
                     label="unbatched, stride, padding")],
    "layer_norm": [C(f("layer_norm", normalized_shape=[3]), normal(2, 3), normal(3), normal(3), label="affine"),
                   C(f("layer_norm", normalized_shape=[2, 3]), normal(2, 2, 3), label="two axes, plain")],
    "batch_norm": [C(f("batch_norm"), normal(4, 3), normal(3), normal(3), label="(N, C), affine"),
                   C(f("batch_norm", eps=1e-3), normal(2, 2, 2, 2), label="(N, C, H, W)")],
    "embedding": [C(lambda w: E.embedding(np.array([[0, 2], [1, 1]]), w), normal(3, 4), label="repeated"),
                  C(lambda w: E.embedding(np.array(1), w), normal(3, 2), label="0-d index")],
    "dropout": [C(f("dropout", p=0.3, seed=3), normal(3, 4)), C(f("dropout", p=0.0, seed=1), normal(2), label="p=0"),
                C(f("dropout", p=1.0, seed=1), normal(2), label="p=1")],
    "binary_cross_entropy": [C(f("binary_cross_entropy"), probs(2, 3), probs(2, 3), label="target too"),
                             C(lambda p: E.binary_cross_entropy(p, np.full((2, 3), 0.25, np.float32), WEIGHT32),
                               probs(2, 3), label="weight")],
    "binary_cross_entropy_with_logits": [
        C(f("binary_cross_entropy_with_logits"), normal(2, 3), probs(2, 3), label="target too"),
        C(lambda x, t: E.binary_cross_entropy_with_logits(x, t, WEIGHT32, WEIGHT32[::-1]),
          normal(2, 3), probs(2, 3), label="weight, pos_weight")],
    "nll_loss": [C(lambda x: E.nll_loss(x, NN_LABELS), normal(3, 4)),
                 C(lambda x: E.nll_loss(x, NN_LABELS, CLASS_WEIGHT, ignore_index=2), normal(3, 4),
                   label="weight, ignore_index"),
                 C(lambda x: E.nll_loss(x, np.array([[0, 1], [2, 2]])), normal(2, 3, 2), label="(N, C, d)")],
    "l1_loss": [C(f("l1_loss"), normal(2, 3), apart(normal(2, 3))),
                C(f("l1_loss"), normal(2, 3), normal(3), label="bcast")],
    "smooth_l1_loss": [C(f("smooth_l1_loss", beta=0.5), normal(2, 3), normal(2, 3)),
                       C(f("smooth_l1_loss", beta=0.0), normal(2, 3), normal(2, 3), label="beta=0")],
    "huber_loss": [C(f("huber_loss", delta=0.5), normal(2, 3), normal(2, 3)), C(f("huber_loss"), normal(3), normal(3))],
    "kl_div": [C(f("kl_div"), normal(2, 3), probs(2, 3)), C(f("kl_div", log_target=True), normal(2, 3), normal(2, 3),
                                                            label="log_target")],
    "cosine_similarity": [C(f("cosine_similarity"), normal(2, 3), normal(2, 3)),
                          C(f("cosine_similarity", axis=-1), normal(2, 3), normal(3), label="broadcast")],
    "normalize": [C(f("normalize"), normal(2, 3)), C(f("normalize", p=1.0, axis=0), away(2, 3), label="p=1"),
                  C(f("normalize", p=3.0, axis=-1), normal(2, 3), label="p=3")],
})
CASES["cross_entropy"] += [
    C(lambda x: E.cross_entropy(x, NN_LABELS, CLASS_WEIGHT, ignore_index=1, label_smoothing=0.2), normal(3, 4),
      label="weight, ignore_index, label_smoothing"),
    C(lambda x, t: E.cross_entropy(x, t, label_smoothing=0.1), normal(3, 4), probs(3, 4), label="probabilities"),
    C(lambda x, t: E.cross_entropy(x, t, CLASS_WEIGHT), normal(3, 4), probs(3, 4), label="probabilities, weight"),
    C(lambda x: E.cross_entropy(x, np.array([[0, 1], [2, 2]])), normal(2, 3, 2), label="(N, C, d)")]

NON_DIFFERENTIABLE = {"gt", "ge", "lt", "le", "eq", "ne", "logical_and", "logical_or", "logical_not", "detach"}
ZERO_GRADIENT = {"sign", "floor", "ceil", "round"}


def _params(table):
    return [pytest.param(fn, inputs, opts, id=f"{name}-{i}-{label}")
            for name, cases in table.items() for i, (fn, inputs, label, opts) in enumerate(cases)]


def test_every_differentiable_op_has_gradcheck_cases():
    differentiable = {name for name, o in E.OPS.items() if o.differentiable}
    missing = differentiable - set(CASES)
    assert not missing, f"ops without a gradcheck case in tests/engine/test_ops.py: {sorted(missing)}"
    assert not set(CASES) - differentiable, "cases for ops that are not differentiable (or not declared)"
    assert set(E.OPS) == differentiable | NON_DIFFERENTIABLE, "an op is neither differentiable nor listed here"


@pytest.mark.parametrize("fn, inputs, opts", _params(CASES))
def test_gradcheck(fn, inputs, opts):
    assert gradcheck(fn, inputs, **opts)


GRADGRAD = {
    "mul": [C(f("mul"), normal(2, 3), normal(3))],
    "div": [C(f("div"), normal(2, 3), away(3))],
    "pow": [C(f("pow"), pos(2, 3), normal(3)), C(lambda a: a ** 3, away(4))],
    "exp": [C(f("exp"), normal(2, 3))],
    "log": [C(f("log"), pos(2, 3))],
    "sin": [C(f("sin"), normal(2, 3))],
    "tanh": [C(f("tanh"), normal(2, 3))],
    "sigmoid": [C(f("sigmoid"), normal(2, 3))],
    "softplus": [C(f("softplus"), normal(2, 3))],
    "sqrt": [C(f("sqrt"), pos(4))],
    "reciprocal": [C(f("reciprocal"), away(4))],
    "matmul": [C(f("matmul"), normal(2, 3), normal(3, 2)), C(f("matmul"), normal(3), normal(2, 3, 2), label="1-d@3-d"),
               C(f("matmul"), normal(2, 3), normal(3), label="2-d@1-d")],
    "sum": [C(lambda x: E.sum(x * x, axis=1), normal(2, 3))],
    "mean": [C(lambda x: E.mean(x * x, axis=(0, 1), keepdims=True), normal(2, 3))],
    "softmax": [C(f("softmax", axis=0), normal(3, 2))],
    "log_softmax": [C(f("log_softmax"), normal(2, 3))],
    "logsumexp": [C(f("logsumexp", axis=1), normal(2, 3)), C(f("logsumexp", axis=(0, 2)), normal(2, 2, 2))],
    "cross_entropy": [C(lambda x: E.cross_entropy(x, np.array([2, 0])), normal(2, 3))],
    "mse_loss": [C(f("mse_loss"), normal(2, 3), normal(3))],
    "norm": [C(f("norm", axis=-1), away(2, 3)), C(f("norm"), away(3))],
    "var": [C(f("var", axis=0), normal(3, 2)), C(f("var", ddof=1), normal(4))],
    "std": [C(f("std", axis=1, ddof=1), normal(2, 3))],
    "prod": [C(f("prod", axis=1), away(2, 3)), C(f("prod"), np.array([0.5, 0.0, 2.0]), label="one zero"),
             C(f("prod", axis=0), np.array([[0.5, 0.0], [0.0, 3.0], [2.0, 1.5]]), label="one zero per slice")],
    "index": [C(lambda x: E.index(x * x, key=[1, "...", None]), normal(3, 2))],
    "take": [C(lambda x: E.take(x * x, np.array([0, 2, 2]), axis=1), normal(2, 3))],
    "concat": [C(lambda a, b: E.concat(a * b, b, axis=1), normal(2, 2), normal(2, 2))],
    "stack": [C(lambda a, b: E.stack(a * b, b, axis=-1), normal(2), normal(2))],
    "broadcast_to": [C(lambda x: E.broadcast_to(x * x, shape=[2, 3]), normal(3))],
    "maximum": [C(lambda a, b: E.maximum(a * a, b), normal(3), 5.0 + normal(3))],
    "clip": [C(lambda a: E.clip(a * a, min=0.5), np.array([0.2, 1.0, -1.5]))],
    "where": [C(lambda a, b: E.where(np.array([True, False]), a * a, b * a), normal(2), normal(2))],
    "abs": [C(lambda a: E.abs(a) * a, away(3))],
    "transpose": [C(lambda a: E.transpose(a * a) @ a, normal(2, 2))],
    "outer": [C(f("outer"), normal(2), normal(3))],
    "dot": [C(f("dot"), normal(3), normal(3))],
}

# second derivatives of the catalog's second part
GRADGRAD.update({
    **{name: [C(f(name), make(2, 2))] for name, make in [
        ("arcsin", unit), ("arccos", unit), ("arctan", normal), ("sinh", normal), ("cosh", normal), ("arcsinh", normal),
        ("arccosh", lambda *s: 1.2 + pos(*s)), ("arctanh", unit), ("log2", pos), ("log10", pos), ("exp2", normal),
        ("erf", normal), ("erfc", normal), ("trunc", lambda *s: 0.5 + rng.integers(-3, 3, size=s)), ("gelu", normal),
        ("silu", normal), ("mish", normal), ("leaky_relu", kinked), ("elu", kinked), ("selu", kinked), ("celu", kinked),
        ("hardtanh", lambda *s: kinked(*s, kinks=(-1.0, 1.0))), ("softsign", away), ("logsigmoid", normal),
        ("cumsum", normal), ("cumprod", away), ("flip", normal)]},
    "tile": [C(lambda a: E.tile(a * a, reps=[2, 1]), normal(2))],
    "gelu": [C(f("gelu"), normal(2, 2)), C(f("gelu", approximate="tanh"), normal(2, 2), label="tanh")],
    "relu6": [C(lambda a: E.relu6(a * a) * a, np.array([0.5, -1.0, 3.0]))],
    "hardsigmoid": [C(lambda a: E.hardsigmoid(a) * a, np.array([0.5, -1.0, 4.0]))],
    "hardswish": [C(f("hardswish"), np.array([0.5, -1.0, 2.5, -4.0, 4.0]))],
    "arctan2": [C(f("arctan2"), normal(2, 2), away(2))],
    "hypot": [C(f("hypot"), away(2, 2), away(2))],
    "logaddexp": [C(f("logaddexp"), normal(2, 2), normal(2))],
    "fmod": [C(lambda a, b: E.fmod(a * a, b), np.array([1.5, -1.2]), np.array([1.0, 0.9]))],
    "remainder": [C(lambda a, b: E.remainder(a * a, b), np.array([1.5, -1.2]), np.array([1.0, 0.9]))],
    "cumprod": [C(f("cumprod", axis=1), away(2, 3)), C(f("cumprod"), np.array([0.5, 0.0, 2.0]), label="a zero")],
    "sort": [C(lambda a: E.sort(a * a, axis=0), no_tie_values(3, 2) + 3.0)],
    "topk": [C(lambda a: E.topk(a * a, k=2), no_tie_values(4) + 3.0)],
    "pad": [C(lambda a: E.pad(a * a, pad_width=1), normal(2)),
            C(lambda a: E.pad(a * a, pad_width=[[1, 0], [2, 1]], mode="reflect"), normal(2, 3), label="reflect")],
    "roll": [C(lambda a: E.roll(a * a, shift=1, axis=0), normal(3))],
    "repeat": [C(lambda a: E.repeat(a * a, repeats=[2, 1], axis=0), normal(2, 2))],
    "swapaxes": [C(lambda a: E.swapaxes(a * a, axis1=0, axis2=1), normal(2, 3))],
    "moveaxis": [C(lambda a: E.moveaxis(a * a, source=0, destination=1), normal(2, 3))],
    "gather": [C(lambda a: E.gather(a * a, PERM[:, :2], axis=1), normal(2, 3))],
    "scatter_add": [C(lambda a, s: E.scatter_add(a * s, PERM[:, :2], s * s, axis=1), normal(2, 3), normal(2, 3))],
    "masked_fill": [C(lambda a: E.masked_fill(a * a, MASK, value=1.0), normal(2, 3))],
})
SELECTION = {"argsort", "argmax", "argmin", "any", "all"}  # no gradient, int64 or bool results
NON_DIFFERENTIABLE |= SELECTION
ZERO_GRADIENT |= {"trunc"}


# linear algebra and nn families
GRADGRAD.update({
    "einsum": [C(lambda a, b: E.einsum("ij,jk->ik", a, b), normal(2, 3), normal(3, 2)),
               C(lambda a: E.einsum("iij->ij", a * a), normal(2, 2, 2), label="diagonal"),
               C(lambda a, b: E.einsum("...i,i", a, b), normal(2, 1, 3), normal(3), label="ellipsis")],
    "tensordot": [C(f("tensordot", axes=[[1], [0]]), normal(2, 3), normal(3, 2))],
    "kron": [C(f("kron"), normal(2), normal(2, 2))],
    "inv": [C(f("inv"), well_conditioned(2, 2))],
    "det": [C(f("det"), normal(3, 3))],
    "logdet": [C(f("logdet"), well_conditioned(2, 2))],
    "solve": [C(f("solve"), well_conditioned(2, 2), normal(2, 2)), C(f("solve"), well_conditioned(2, 2), normal(2))],
    "cholesky": [C(lambda x: E.cholesky(spd(x)), normal(2, 2))],
    "eigvalsh": [C(lambda x: E.eigvalsh(sym(x)), normal(3, 3))],
    "eigvecsh": [C(lambda x: E.eigvecsh(sym(x)) ** 2, normal(2, 2))],
    "diagonal_backward": [C(lambda g: E.diagonal_backward(g * g, shape=[2, 3], offset=1), normal(2))],
    "trace": [C(lambda x: E.trace(x * x), normal(2, 2))],
    "diag": [C(lambda x: E.diag(x * x), normal(2)), C(lambda x: E.diag(x * x), normal(2, 2), label="2-d")],
    "diagonal": [C(lambda x: E.diagonal(x * x, offset=1), normal(2, 3))],
    "tril": [C(lambda x: E.tril(x * x), normal(2, 2))],
    "triu": [C(lambda x: E.triu(x * x), normal(2, 2))],
    "linear": [C(lambda x, w, b: E.linear(x * x, w, b), normal(2, 3), normal(2, 3), normal(2))],
    "conv1d": [C(lambda x, w: E.conv1d(x * x, w, padding=1, stride=2), normal(1, 2, 4), normal(2, 2, 2))],
    "conv2d": [C(lambda x, w, b: E.conv2d(x * x, w, b, groups=2, dilation=[2, 1]), normal(1, 2, 3, 3),
                 normal(2, 1, 2, 2), normal(2))],
    "conv_batched": [C(f("conv_batched", **GROUPED), normal(1, 2, 3, 4), normal(2, 1, 2, 2))],
    "conv_input_grad": [C(f("conv_input_grad", shape=[1, 2, 3, 4], **GROUPED), normal(1, 2, 2, 3), normal(2, 1, 2, 2))],
    "conv_weight_grad": [C(f("conv_weight_grad", kernel=[2, 2], **GROUPED), normal(1, 2, 2, 3), normal(1, 2, 3, 4))],
    "max_pool2d": [C(lambda x: E.max_pool2d(x * x, kernel_size=2), no_tie_values(1, 1, 2, 4) + 3.0)],
    "avg_pool2d": [C(lambda x: E.avg_pool2d(x * x, kernel_size=2, padding=1), normal(1, 1, 2, 2))],
    "layer_norm": [C(f("layer_norm", normalized_shape=[3]), normal(2, 3), normal(3), normal(3))],
    "batch_norm": [C(f("batch_norm"), normal(3, 2), normal(2), normal(2))],
    "embedding": [C(lambda w: E.embedding(np.array([0, 0, 1]), w * w), normal(2, 2))],
    "dropout": [C(lambda x: E.dropout(x * x, p=0.5, seed=0), normal(4))],
    "binary_cross_entropy": [C(f("binary_cross_entropy"), probs(2, 2), probs(2, 2))],
    "binary_cross_entropy_with_logits": [C(f("binary_cross_entropy_with_logits"), normal(2, 2), probs(2, 2))],
    "nll_loss": [C(lambda x: E.nll_loss(x * x, NN_LABELS, CLASS_WEIGHT), normal(3, 4))],
    "l1_loss": [C(lambda a, b: E.l1_loss(a * a, b), normal(3), 5.0 + normal(3))],
    "smooth_l1_loss": [C(f("smooth_l1_loss", beta=0.5), normal(2, 3), normal(2, 3))],
    "huber_loss": [C(f("huber_loss", delta=0.5), normal(2, 3), normal(2, 3))],
    "kl_div": [C(f("kl_div"), normal(2, 2), probs(2, 2))],
    "cosine_similarity": [C(f("cosine_similarity"), normal(2, 3), normal(2, 3))],
    "normalize": [C(f("normalize", p=3.0), normal(2, 3)), C(f("normalize"), normal(2, 3), label="p=2")],
    "cross_entropy": GRADGRAD["cross_entropy"] + [
        C(lambda x: E.cross_entropy(x, NN_LABELS, CLASS_WEIGHT, label_smoothing=0.2), normal(3, 4),
          label="weight, label_smoothing"),
        C(lambda x, t: E.cross_entropy(x, t, label_smoothing=0.1), normal(2, 3), probs(2, 3), label="probabilities")],
})


def test_every_op_of_the_second_part_has_gradgradcheck_cases():
    ours = {name for name, o in E.OPS.items() if o.differentiable and o.forward.__module__ in
            ("engine.ops_math", "engine.ops_shape", "engine.ops_linalg", "engine.ops_nn")}
    missing = ours - set(GRADGRAD)
    assert not missing, f"ops without a gradgradcheck case: {sorted(missing)}"


@pytest.mark.parametrize("fn, inputs, opts", _params(GRADGRAD))
def test_gradgradcheck(fn, inputs, opts):
    assert gradgradcheck(fn, inputs, **opts)


@pytest.mark.parametrize("name", sorted(NON_DIFFERENTIABLE - SELECTION - {"detach"}))
def test_non_differentiable_ops_return_bool_without_grad(name):
    x = E.Tensor([[0.5, -1.0, 0.0]], requires_grad=True)
    args = (x,) if E.OPS[name].arity == 1 else (x, E.Tensor([0.0, -1.0, 1.0], requires_grad=True))
    out = getattr(E, name)(*args)
    assert out.dtype == np.bool_
    assert out.shape == (1, 3)
    assert not out.requires_grad and out.grad_fn is None
    assert not E.OPS[name].differentiable and E.OPS[name].describe()["grad_fn"] is None


@pytest.mark.parametrize("name, dtype", [("argsort", np.int64), ("argmax", np.int64), ("argmin", np.int64),
                                         ("any", np.bool_), ("all", np.bool_)])
def test_selection_ops_give_indices_or_bools_without_grad(name, dtype):
    x = E.Tensor([[0.5, -1.0, 0.0], [2.0, 1.0, 3.0]], requires_grad=True)
    out = getattr(E, name)(x, axis=1)
    assert out.dtype == dtype and not out.requires_grad and out.grad_fn is None
    expected = {"argsort": [[1, 2, 0], [1, 0, 2]], "argmax": [0, 2], "argmin": [1, 1], "any": [True, True],
                "all": [False, True]}[name]
    np.testing.assert_array_equal(out.data, expected)
    assert E.OPS[name].describe()["grad_fn"] is None


@pytest.mark.parametrize("name", sorted(ZERO_GRADIENT))
def test_piecewise_constant_ops_have_zero_gradient(name):
    x = E.Tensor([1.7, -0.2, 3.0, -2.5], requires_grad=True)
    (getattr(E, name)(x) * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros(4, dtype=np.float32))
    assert x.grad.dtype == np.float32


# ---------------------------------------------------------------------------- property tests

_shape = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast: a random shape, and a suffix of it with some sizes set to 1."""
    out = draw(_shape)
    cut = draw(st.integers(0, len(out)))
    other = tuple(1 if draw(st.booleans()) else s for s in out[cut:])
    return (out, other) if draw(st.booleans()) else (other, out)


@settings(max_examples=15, deadline=None)
@given(pair=broadcast_pair(), name=st.sampled_from(["add", "sub", "mul", "div", "maximum"]), seed=st.integers(0, 99))
def test_broadcasting_binary_ops(pair, name, seed):
    r = np.random.default_rng(seed)
    a = r.uniform(0.5, 1.5, pair[0])
    b = -r.uniform(0.5, 1.5, pair[1])  # opposite signs: no ties for maximum, no division by 0
    assert gradcheck(f(name), [a, b])


@settings(max_examples=15, deadline=None)
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple), data=st.data(),
       name=st.sampled_from(["sum", "mean", "var", "logsumexp", "norm", "prod", "max"]))
def test_reductions_on_random_axes(shape, data, name):
    ndim = len(shape)
    axes = data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                              unique_by=lambda a: a % ndim))
    axis = data.draw(st.sampled_from([None, axes[0], tuple(axes)]))
    keepdims = data.draw(st.booleans())
    x = no_tie_values(*shape, r=np.random.default_rng(len(shape))) + 3.0  # positive, distinct: smooth
    out = getattr(E, name)(E.Tensor(x), axis=axis, keepdims=keepdims)
    expected = {"sum": np.sum, "mean": np.mean, "var": np.var, "norm": None, "prod": np.prod, "max": np.max,
                "logsumexp": None}[name]
    if expected is not None:
        np.testing.assert_allclose(out.data, expected(x, axis=axis, keepdims=keepdims), rtol=1e-6)
    assert gradcheck(f(name, axis=axis, keepdims=keepdims), [x])


# ---------------------------------------------------------------------------- dtypes and constants

FLOAT64_CONSTANTS = {"constant right", "constant left, 1-d", "with a constant"}  # float64 arrays win, as in torch


@pytest.mark.parametrize("name, fn, inputs, label", [
    pytest.param(name, fn, inputs, label, id=f"{name}-{i}-{label}")
    for name, cases in CASES.items() for i, (fn, inputs, label, _) in enumerate(cases)])
def test_float32_stays_float32(name, fn, inputs, label):
    xs = [E.Tensor(np.asarray(x, dtype=np.float32), requires_grad=True) if np.asarray(x).dtype.kind == "f"
          else E.Tensor(x) for x in inputs]
    out = fn(*xs)
    if label not in FLOAT64_CONSTANTS and name != "astype":
        assert out.dtype == np.float32
    leaves = [x for x in xs if x.requires_grad]
    g = np.ones(out.shape, dtype=out.dtype)
    for create_graph in (False, True):
        for gx in E.grad(fn(*xs), leaves, grad_outputs=g, create_graph=create_graph, allow_unused=True):
            assert gx is None or gx.dtype == np.float32


@pytest.mark.parametrize("make", [
    lambda x: x @ [[1.0, 2.0], [3.0, 4.0]],
    lambda x: E.matmul([1.0, 2.0], x),
    lambda x: x ** [1.0, 2.0],
    lambda x: E.mse_loss(x, [1, 2]),
    lambda x: E.cross_entropy(x, [0, 1]),
    lambda x: E.where([True, False], x, [0.0, 1.0]),
    lambda x: E.maximum(x, [1.5, 2.5]),
    lambda x: E.take(x, [0.0, 3.0]),
])
def test_list_constants_are_read_as_arrays_and_saved_for_backward(make):
    x = E.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    out = make(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.shape == (2, 2) and x.grad.dtype == np.float32
    assert gradcheck(make, [x])


def test_grad_fn_names_follow_the_overload():
    x = E.Tensor([[1.0, 2.0]], requires_grad=True)
    assert E.sum(x).grad_fn.name == "SumBackward0" and E.sum(x, axis=0).grad_fn.name == "SumBackward1"
    assert E.max(x).grad_fn.name == "MaxBackward1" and E.max(x, axis=1).grad_fn.name == "AmaxBackward0"
    assert (x ** 2).grad_fn.name == "PowBackward0" and (x ** x).grad_fn.name == "PowBackward1"
    assert (2 ** x).grad_fn.name == "PowBackward2"
    assert x[0].grad_fn.name == "SelectBackward0" and x[:, 1:].grad_fn.name == "SliceBackward0"
    assert x[None].grad_fn.name == "UnsqueezeBackward0" and x[...].grad_fn.name == "AliasBackward0"
    y = E.exp(x ** 2)
    y.sum().backward()  # frees the saved inputs: the name must not change
    assert y.grad_fn.next[0].name == "PowBackward0"
    catalog = {name: o.describe()["grad_fn"] for name, o in E.OPS.items()}
    assert catalog["sum"] == "SumBackward0" and catalog["matmul"] == "MmBackward0" and catalog["gt"] is None


# ---------------------------------------------------------------------------- the checkers themselves


def test_gradcheck_reports_a_wrong_gradient(monkeypatch):
    monkeypatch.setattr(E.OPS["sin"], "vjp", (lambda F, g, ans, a: g * F.sin(a),))
    with pytest.raises(AssertionError, match=r"input 1, index \(0,\): analytic .* != numeric"):
        gradcheck(lambda a, b: a * E.sin(b), [np.array([1.0, 2.0]), np.array([0.3, 0.7])])


def test_gradgradcheck_reports_a_vjp_that_is_not_differentiable(monkeypatch):
    # right values, but computed outside the graph: the first derivative passes, the second does not
    monkeypatch.setattr(E.OPS["sin"], "vjp", (lambda F, g, ans, a: g * np.cos(getattr(a, "data", a)),))
    x = np.array([0.3, 1.0])
    assert gradcheck(E.sin, [x])
    with pytest.raises(AssertionError, match="analytic"):
        gradgradcheck(E.sin, [x])


def test_gradcheck_leaves_the_callers_tensors_alone():
    x = E.Tensor([1.0, 2.0], requires_grad=True)
    assert gradcheck(lambda a: (a * a).sum(), [x])
    assert x.grad is None and x.dtype == np.float32


def test_binary_ops_take_a_python_number_on_either_side():
    # a number constant has no .shape: vjps must read shapes with np.shape
    for name in ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "mse_loss"]:
        fn = getattr(E, name)
        assert gradcheck(lambda x, fn=fn: fn(x, 0.5), [np.array([1.0, 2.0, 3.0])]), name
        assert gradcheck(lambda x, fn=fn: fn(0.5, x), [np.array([1.0, 2.0, 3.0])]), name


def test_cumprod_gradient_with_zeros_takes_linear_memory_and_a_second_order_one_respects_limits():
    from engine.program import Limits, Namespace
    from engine.structure import Program

    x = np.ones(100_000)
    x[[3, 50_000]] = 0.0
    t = E.Tensor(x, requires_grad=True)
    E.cumprod(t, axis=0).sum().backward()  # an n ** 2 formula would need 10 ** 10 products here
    assert t.grad[3] == 49_997.0  # one for each j from 3 up to the next zero
    assert t.grad[:3].tolist() == [3.0, 2.0, 1.0] and not t.grad[4:].any()
    program = {"inputs": {"x": {"data": [1.0] * 3000 + [0.0], "requires_grad": True}},
               "ops": [{"name": "y", "expr": "cumprod(x, axis=0).sum()"}],
               "backward": [{"output": "y", "create_graph": True}]}
    with pytest.raises(E.LimitError, match="over the limit"):
        Namespace().run(Program.from_dict(program), Limits(max_tensor_elements=1_000_000))


@pytest.mark.parametrize("call, fragment", [
    (lambda x: E.pad(E.Tensor(1.0), pad_width=[[1, 2]]), "no axis to pad"),
    (lambda x: E.pad(x, pad_width=[[1, 2], [1, 2], [1, 2]]), "does not fit a tensor of 2 dimension"),
    (lambda x: E.pad(x, pad_width=-1), "must not be negative"),
    (lambda x: E.sort(E.Tensor(1.0), axis=1), "0-d tensor"),
    (lambda x: E.celu(x, alpha=0), "alpha"),
    (lambda x: E.astype(x, dtype=[1, 2]), "dtype"),
    (lambda x: E.topk(x, k=4), "k=4"),
    (lambda x: E.gather(x, np.array([[5]]), axis=0), "out of bounds"),
    (lambda x: E.repeat(x, repeats=[1, 2], axis=1), "repeats"),
    (lambda x: E.tile(x, reps=-1), "negative"),
])
def test_bad_arguments_of_the_new_ops_are_engine_errors_naming_the_problem(call, fragment):
    with pytest.raises(E.EngineError, match=fragment):
        call(E.Tensor(np.arange(6.0).reshape(2, 3)))
