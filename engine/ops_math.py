"""Elementwise ops beyond the basics: inverse and hyperbolic functions, erf, activations, binary functions.

Declared like the ops of `ops.py`; vjps are written with F's ops so that they are differentiable again.
"""

import math
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from .errors import OpError
from .ops import broadcast
from .ops import sigmoid as _sigmoid
from .registry import ArrayOrNumber, ArrayOrScalar, Number, family, op

# ---------------------------------------------------------------------------- helpers


def _float(a: ArrayOrNumber) -> NDArray[Any]:
    """a as an array of floats: ints and bools compute in the default float32, as in torch."""
    a = np.asarray(a)
    return a if a.dtype.kind == "f" else a.astype(np.float32)


def _zeros(F, g, ans, a, *rest, **kwargs):
    # exact zeros, not g * 0: an infinite or NaN upstream gradient still gives 0, as in torch
    return np.zeros(np.shape(g), dtype=g.dtype)


def _is_number(x: object) -> bool:
    return getattr(x, "dtype", None) is None  # python numbers, also once freed (their Meta has no dtype)


def _by_other(scalar_name, tensor_name):
    """torch names fmod/remainder by the divisor's overload: a Scalar or a Tensor."""
    return lambda kwargs, inputs: scalar_name if inputs is None or _is_number(inputs[1]) else tensor_name


# ---------------------------------------------------------------------------- erf
# W. J. Cody's rational Chebyshev approximations (Math. Comp. 23, 1969; netlib specfun CALERF): about
# 1e-16 relative error in float64 on the whole line, vectorized, without scipy.

_A = (3.16112374387056560e0, 1.13864154151050156e2, 3.77485237685302021e2, 3.20937758913846947e3,
      1.85777706184603153e-1)
_B = (2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3, 2.84423683343917062e3)
_C = (5.64188496988670089e-1, 8.88314979438837594e0, 6.61191906371416295e1, 2.98635138197400131e2,
      8.81952221241769090e2, 1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3,
      2.15311535474403846e-8)
_D = (1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2, 1.62138957456669019e3,
      3.29079923573345963e3, 4.36261909014324716e3, 3.43936767414372164e3, 1.23033935480374942e3)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
      6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1, 6.05183413124413191e-2,
      2.33520497626869185e-3)
_SQRT_PI_INV = 5.6418958354775628695e-1
_SMALL = 0.46875


def _exp_neg_square(y):
    # exp(-y*y) with y*y split so that large y keeps its relative accuracy (Cody's trick)
    head = np.trunc(y * 16.0) / 16.0
    return np.exp(-head * head) * np.exp(-(y - head) * (y + head))


def _erf_small(x):
    """erf(x) for |x| <= 0.46875."""
    z = x * x
    num, den = _A[4] * z, z
    for i in range(3):
        num, den = (num + _A[i]) * z, (den + _B[i]) * z
    return x * (num + _A[3]) / (den + _B[3])


def _erfc_large(y):
    """erfc(y) for y > 0.46875."""
    mid = y <= 4.0
    out = np.empty_like(y)
    x = y[mid]
    num, den = _C[8] * x, x
    for i in range(7):
        num, den = (num + _C[i]) * x, (den + _D[i]) * x
    out[mid] = _exp_neg_square(x) * (num + _C[7]) / (den + _D[7])
    x = y[~mid]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        z = 1.0 / (x * x)
        num, den = _P[5] * z, z
        for i in range(4):
            num, den = (num + _P[i]) * z, (den + _Q[i]) * z
        tail = (_SQRT_PI_INV - z * (num + _P[4]) / (den + _Q[4])) / x
        out[~mid] = np.where(np.isinf(x), 0.0, _exp_neg_square(x) * tail)
    return out


def _erf_parts(a):
    """(x, |x|, mask of the small range, erf on the small range, erfc(|x|) on the rest)."""
    x = _float(a)
    y = np.abs(x)
    small = ~(y > _SMALL)  # NaN goes the small way and stays NaN
    return x, y, small, _erf_small(x[small]), _erfc_large(y[~small])


# ---------------------------------------------------------------------------- unary

family("unary")

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@op(vjp=(lambda F, g, ans, a: g / F.sqrt(1.0 - a * a),), saves="inputs", grad_fn="AsinBackward0",
    aliases=("asin",), torch="torch.asin")
def arcsin(a: ArrayOrNumber) -> ArrayOrScalar:
    """Inverse sine, in [-pi/2, pi/2]."""
    return np.arcsin(a)


@op(vjp=(lambda F, g, ans, a: -g / F.sqrt(1.0 - a * a),), saves="inputs", grad_fn="AcosBackward0",
    aliases=("acos",), torch="torch.acos")
def arccos(a: ArrayOrNumber) -> ArrayOrScalar:
    """Inverse cosine, in [0, pi]."""
    return np.arccos(a)


@op(vjp=(lambda F, g, ans, a: g / (a * a + 1.0),), saves="inputs", grad_fn="AtanBackward0",
    aliases=("atan",), torch="torch.atan")
def arctan(a: ArrayOrNumber) -> ArrayOrScalar:
    """Inverse tangent, in (-pi/2, pi/2)."""
    return np.arctan(a)


@op(vjp=(lambda F, g, ans, a: g * F.cosh(a),), saves="inputs")
def sinh(a: ArrayOrNumber) -> ArrayOrScalar:
    """Hyperbolic sine."""
    return np.sinh(a)


@op(vjp=(lambda F, g, ans, a: g * F.sinh(a),), saves="inputs")
def cosh(a: ArrayOrNumber) -> ArrayOrScalar:
    """Hyperbolic cosine."""
    return np.cosh(a)


@op(vjp=(lambda F, g, ans, a: g / F.sqrt(a * a + 1.0),), saves="inputs", grad_fn="AsinhBackward0",
    aliases=("asinh",), torch="torch.asinh")
def arcsinh(a: ArrayOrNumber) -> ArrayOrScalar:
    """Inverse hyperbolic sine."""
    return np.arcsinh(a)


@op(vjp=(lambda F, g, ans, a: g / F.sqrt(a * a - 1.0),), saves="inputs", grad_fn="AcoshBackward0",
    aliases=("acosh",), torch="torch.acosh")
def arccosh(a: ArrayOrNumber) -> ArrayOrScalar:
    """Inverse hyperbolic cosine (a >= 1)."""
    return np.arccosh(a)


@op(vjp=(lambda F, g, ans, a: g / (1.0 - a * a),), saves="inputs", grad_fn="AtanhBackward0",
    aliases=("atanh",), torch="torch.atanh")
def arctanh(a: ArrayOrNumber) -> ArrayOrScalar:
    """Inverse hyperbolic tangent (|a| < 1)."""
    return np.arctanh(a)


@op(vjp=(lambda F, g, ans, a: g / (a * _LN2),), saves="inputs")
def log2(a: ArrayOrNumber) -> ArrayOrScalar:
    """Base-2 logarithm."""
    return np.log2(a)


@op(vjp=(lambda F, g, ans, a: g / (a * _LN10),), saves="inputs")
def log10(a: ArrayOrNumber) -> ArrayOrScalar:
    """Base-10 logarithm."""
    return np.log10(a)


@op(vjp=(lambda F, g, ans, a: g * (ans * _LN2),), saves="output")
def exp2(a: ArrayOrNumber) -> ArrayOrScalar:
    """2 ** a."""
    return np.exp2(a)


@op(vjp=(lambda F, g, ans, a: g * (F.exp(-(a * a)) * _TWO_OVER_SQRT_PI),), saves="inputs",
    torch="torch.special.erf")
def erf(a: ArrayOrNumber) -> ArrayOrScalar:
    """The error function, 2/sqrt(pi) * integral of exp(-t**2) from 0 to a (float64-accurate, no scipy)."""
    x, y, small, inner, tail = _erf_parts(a)
    out = np.empty_like(x)
    out[small] = inner
    out[~small] = np.copysign(1.0 - tail, x[~small])
    return out


@op(vjp=(lambda F, g, ans, a: g * (F.exp(-(a * a)) * -_TWO_OVER_SQRT_PI),), saves="inputs",
    torch="torch.special.erfc")
def erfc(a: ArrayOrNumber) -> ArrayOrScalar:
    """1 - erf(a), accurate where erf(a) is close to 1."""
    x, y, small, inner, tail = _erf_parts(a)
    out = np.empty_like(x)
    out[small] = 1.0 - inner
    out[~small] = np.where(x[~small] < 0, 2.0 - tail, tail)
    return out


@op(vjp=(_zeros,), aliases=("fix",))
def trunc(a: ArrayOrNumber) -> ArrayOrScalar:
    """Round toward zero; zero gradient."""
    return np.trunc(a)


# ---------------------------------------------------------------------------- activations

family("activations")

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_C = math.sqrt(2.0 / math.pi)
_TANH_K = 0.044715
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _gelu_grad(F, g, ans, a, approximate):
    if approximate == "tanh":
        inner = (a + a * a * a * _TANH_K) * _TANH_C
        t = F.tanh(inner)
        d_inner = (a * a * (3.0 * _TANH_K) + 1.0) * _TANH_C
        return g * ((t + 1.0) * 0.5 + a * 0.5 * (1.0 - t * t) * d_inner)
    cdf = (F.erf(a * _SQRT_HALF) + 1.0) * 0.5
    return g * (cdf + a * F.exp(a * a * -0.5) * _INV_SQRT_2PI)


@op(vjp=(_gelu_grad,), saves="inputs")
def gelu(a: ArrayOrNumber, *, approximate: Literal["none", "tanh"] = "none") -> ArrayOrScalar:
    """a * Phi(a), Phi the standard normal CDF; approximate="tanh" uses the tanh formula."""
    x = _float(a)
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(_TANH_C * (x + _TANH_K * x * x * x)))
    return 0.5 * x * (1.0 + erf.forward(x * _SQRT_HALF))


@op(vjp=(lambda F, g, ans, a: g * (F.sigmoid(a) * (a * (1.0 - F.sigmoid(a)) + 1.0)),), saves="inputs")
def silu(a: ArrayOrNumber) -> ArrayOrScalar:
    """a * sigmoid(a) (swish)."""
    x = _float(a)
    return x * _sigmoid.forward(x)


def _mish_grad(F, g, ans, a):
    t = F.tanh(F.softplus(a))
    return g * (t + a * (1.0 - t * t) * F.sigmoid(a))


@op(vjp=(_mish_grad,), saves="inputs")
def mish(a: ArrayOrNumber) -> ArrayOrScalar:
    """a * tanh(softplus(a))."""
    x = _float(a)
    return x * np.tanh(np.logaddexp(np.zeros((), dtype=x.dtype), x))


@op(vjp=(lambda F, g, ans, a, negative_slope: F.where(F.gt(a, 0), g, g * negative_slope),),
    saves="inputs")
def leaky_relu(a: ArrayOrNumber, *, negative_slope: Number = 0.01) -> ArrayOrScalar:
    """a where a > 0, else negative_slope * a."""
    x = _float(a)
    return np.where(x > 0, x, x * negative_slope).astype(x.dtype, copy=False)


def _elu(x, alpha, scale=1.0):
    with np.errstate(over="ignore"):
        return (scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))).astype(x.dtype, copy=False)


@op(vjp=(lambda F, g, ans, a, alpha: F.where(F.gt(a, 0), g, g * (F.exp(a) * alpha)),), saves="inputs")
def elu(a: ArrayOrNumber, *, alpha: Number = 1.0) -> ArrayOrScalar:
    """a where a > 0, else alpha * (exp(a) - 1)."""
    return _elu(_float(a), alpha)


@op(vjp=(lambda F, g, ans, a: F.where(F.gt(a, 0), g * _SELU_SCALE, g * (F.exp(a) * (_SELU_ALPHA * _SELU_SCALE))),),
    saves="inputs", grad_fn="EluBackward0")
def selu(a: ArrayOrNumber) -> ArrayOrScalar:
    """scale * elu(a, alpha), with the self-normalizing constants alpha ~ 1.6733 and scale ~ 1.0507."""
    return _elu(_float(a), _SELU_ALPHA, _SELU_SCALE)


@op(vjp=(lambda F, g, ans, a, alpha: F.where(F.gt(a, 0), g, g * F.exp(a * (1.0 / alpha))),),
    saves="inputs")
def celu(a: ArrayOrNumber, *, alpha: Number = 1.0) -> ArrayOrScalar:
    """a where a > 0, else alpha * (exp(a / alpha) - 1); alpha must not be 0."""
    if alpha == 0:
        raise OpError("'celu' kwarg 'alpha' must not be 0 (it divides by alpha)")
    x = _float(a)
    with np.errstate(over="ignore"):
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) / alpha)).astype(x.dtype, copy=False)


def _inside(F, a, lo, hi):
    return F.logical_and(F.gt(a, lo), F.lt(a, hi))


@op(vjp=(lambda F, g, ans, a, min_val, max_val: F.where(_inside(F, a, min_val, max_val), g, 0.0),),
    saves="inputs")
def hardtanh(a: ArrayOrNumber, *, min_val: Number = -1.0, max_val: Number = 1.0) -> ArrayOrScalar:
    """a clipped to [min_val, max_val]; the gradient passes strictly inside, as in torch."""
    x = _float(a)
    return np.clip(x, min_val, max_val).astype(x.dtype, copy=False)


@op(vjp=(lambda F, g, ans, a: F.where(_inside(F, a, 0.0, 6.0), g, 0.0),), saves="inputs",
    grad_fn="HardtanhBackward0")
def relu6(a: ArrayOrNumber) -> ArrayOrScalar:
    """min(max(a, 0), 6)."""
    x = _float(a)
    return np.clip(x, 0.0, 6.0).astype(x.dtype, copy=False)


_SIXTH = float(np.float32(1.0 / 6.0))  # torch's hardsigmoid gradient multiplies by 1/6 rounded to float32


@op(vjp=(lambda F, g, ans, a: F.where(_inside(F, a, -3.0, 3.0), g * _SIXTH, 0.0),), saves="inputs")
def hardsigmoid(a: ArrayOrNumber) -> ArrayOrScalar:
    """relu6(a + 3) / 6."""
    x = _float(a)
    return (np.clip(x + 3.0, 0.0, 6.0) / 6.0).astype(x.dtype, copy=False)


def _hardswish_grad(F, g, ans, a):
    # as torch: 0 up to -3 inclusive, (2a + 3) / 6 up to 3, 1 from 3 on
    return F.where(F.le(a, -3.0), 0.0, F.where(F.lt(a, 3.0), g * (a * (1.0 / 3.0) + 0.5), g))


@op(vjp=(_hardswish_grad,), saves="inputs")
def hardswish(a: ArrayOrNumber) -> ArrayOrScalar:
    """a * relu6(a + 3) / 6."""
    x = _float(a)
    return (x * np.clip(x + 3.0, 0.0, 6.0) / 6.0).astype(x.dtype, copy=False)


@op(vjp=(lambda F, g, ans, a: g / F.square(F.abs(a) + 1.0),), saves="inputs", grad_fn="DivBackward0")
def softsign(a: ArrayOrNumber) -> ArrayOrScalar:
    """a / (1 + |a|)."""
    x = _float(a)
    return x / (1.0 + np.abs(x))


@op(vjp=(lambda F, g, ans, a: g * F.sigmoid(-a),), saves="inputs", grad_fn="LogSigmoidBackward0")
def logsigmoid(a: ArrayOrNumber) -> ArrayOrScalar:
    """log(sigmoid(a)) = -softplus(-a), computed without overflow."""
    x = _float(a)
    return -np.logaddexp(np.zeros((), dtype=x.dtype), -x)


# ---------------------------------------------------------------------------- binary

family("binary")


def _atan2_grad(which):
    def rule(F, g, ans, a, b):
        scale = g / (a * a + b * b)
        return scale * b if which == 0 else -scale * a
    return rule


@op(vjp=(_atan2_grad(0), _atan2_grad(1)), saves="inputs", shape=broadcast, grad_fn="Atan2Backward0",
    aliases=("atan2",), torch="torch.atan2")
def arctan2(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """The angle of the point (b, a), in (-pi, pi], broadcasting."""
    return np.arctan2(a, b)


@op(vjp=(lambda F, g, ans, a, b: g * a / ans, lambda F, g, ans, a, b: g * b / ans), saves="inputs output",
    shape=broadcast)
def hypot(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """sqrt(a ** 2 + b ** 2) without overflow, broadcasting."""
    return np.hypot(a, b)


@op(vjp=(lambda F, g, ans, a, b: g * F.exp(a - ans), lambda F, g, ans, a, b: g * F.exp(b - ans)),
    saves="inputs output", shape=broadcast)
def logaddexp(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """log(exp(a) + exp(b)) without overflow, broadcasting."""
    return np.logaddexp(a, b)


@op(vjp=(lambda F, g, ans, a, b: g, lambda F, g, ans, a, b: -g * F.trunc(a / b)), saves="inputs",
    shape=broadcast, grad_fn=_by_other("FmodBackward0", "FmodBackward1"))
def fmod(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """Remainder of a / b with the sign of a (C's fmod), broadcasting."""
    return np.fmod(a, b)


@op(vjp=(lambda F, g, ans, a, b: g, lambda F, g, ans, a, b: -g * F.floor(a / b)), saves="inputs",
    shape=broadcast, grad_fn=_by_other("RemainderBackward0", "RemainderBackward1"), aliases=("mod",))
def remainder(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """Remainder of a / b with the sign of b (Python's %), broadcasting."""
    return np.remainder(a, b)
