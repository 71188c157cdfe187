"""Check analytic gradients against central finite differences in float64.

`gradcheck` verifies first derivatives (the vjp of every op), `gradgradcheck`
second derivatives (the vjp of the vjp, recorded with create_graph=True).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .autograd import grad
from .graph import enable_grad
from .tensor import Tensor, as_array

__all__ = ["gradcheck", "gradgradcheck"]


def _as_inputs(inputs: Any) -> list[Any]:
    """Float inputs become float64 leaves that require grad; others (labels, masks) stay constants."""
    if isinstance(inputs, (Tensor, np.ndarray)):
        inputs = [inputs]
    out: list[Any] = []
    for x in inputs:
        if isinstance(x, (Tensor, np.ndarray, list, float)):
            arr = as_array(x)
            if arr.dtype.kind == "f":
                out.append(Tensor(np.array(arr, dtype=np.float64), requires_grad=True))
            else:
                out.append(Tensor(arr))
        else:
            out.append(x)  # ints and other python values pass through to fn untouched
    return out


def _outputs(result: object) -> list[Tensor]:
    outs: list[Tensor] = []
    for i, o in enumerate(list(result) if isinstance(result, (tuple, list)) else [result]):
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: output {i} of fn is {type(o).__name__}, not a Tensor")
        outs.append(o)
    return outs


def _differentiable(x: object) -> bool:
    return isinstance(x, Tensor) and x.requires_grad


def _weighted_sum(fn: Callable[..., Any], inputs: Sequence[Any], kwargs: dict[str, Any],
                  weights: Sequence[NDArray[np.float64] | None]) -> float:
    """sum_k <weights[k], fn(inputs)[k]>: the scalar whose gradient is the vjp with those weights."""
    with enable_grad():  # fn may itself differentiate (gradgradcheck's first gradient)
        outs = _outputs(fn(*inputs, **kwargs))
    return float(sum(np.sum(w * o.data.astype(np.float64)) for w, o in zip(weights, outs) if w is not None))


def _fresh(inputs: Sequence[Any], i: int, data: NDArray[Any]) -> list[Any]:
    """A copy of inputs where input i is a new leaf holding data (so no graph is shared between calls)."""
    copy = [Tensor(x.data.copy(), requires_grad=True) if _differentiable(x) else x for x in inputs]
    copy[i] = Tensor(data, requires_grad=True)
    return copy


def gradcheck(fn: Callable[..., Any], inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0, **kwargs: Any) -> bool:
    """Compare d<v, fn(*inputs)>/d input, as backward computes it, with central finite differences.

    inputs are Tensors, arrays or lists; float ones are checked (as float64 leaves), integer and
    bool ones are passed as constants. v is a random upstream gradient with a fixed seed. Extra
    kwargs go to fn. Returns True, or raises AssertionError naming the input and element that differ.
    """
    inputs = _as_inputs(inputs)
    outs = _outputs(fn(*inputs, **kwargs))
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(o.shape) if o.dtype.kind == "f" else None for o in outs]
    wanted = [i for i, x in enumerate(inputs) if _differentiable(x)]
    if not wanted:
        raise ValueError("gradcheck: no input is a floating point tensor")

    roots = [(o, w) for o, w in zip(outs, weights) if w is not None and o.requires_grad]
    analytic: list[Tensor | None] = [None] * len(wanted)
    if roots:
        analytic = list(grad([o for o, _ in roots], [inputs[i] for i in wanted],
                             grad_outputs=[Tensor(w.astype(o.dtype)) for o, w in roots], allow_unused=True))

    for pos, i in enumerate(wanted):
        x = inputs[i]
        found = analytic[pos]
        a = np.zeros_like(x.data) if found is None else found.data
        if a.shape != x.shape:
            raise AssertionError(f"gradcheck: grad of input {i} has shape {a.shape}, input has {x.shape}")
        if a.dtype != x.dtype:
            raise AssertionError(f"gradcheck: grad of input {i} has dtype {a.dtype}, input has {x.dtype}")
        numeric = np.zeros_like(x.data)
        flat = numeric.reshape(-1)
        for k in range(x.data.size):
            plus, minus = x.data.copy(), x.data.copy()
            plus.reshape(-1)[k] += eps
            minus.reshape(-1)[k] -= eps
            f_plus = _weighted_sum(fn, _fresh(inputs, i, plus), kwargs, weights)
            f_minus = _weighted_sum(fn, _fresh(inputs, i, minus), kwargs, weights)
            flat[k] = (f_plus - f_minus) / (2 * eps)
        bad = ~(np.abs(a - numeric) <= atol + rtol * np.abs(numeric))
        if np.any(bad):
            at = tuple(int(j) for j in np.argwhere(bad)[0])
            raise AssertionError(f"gradcheck: input {i}, index {at}: analytic {float(a[at])!r} != "
                                 f"numeric {float(numeric[at])!r} (atol={atol}, rtol={rtol})\n"
                                 f"analytic:\n{a}\nnumeric:\n{numeric}")
    return True


def gradgradcheck(fn: Callable[..., Any], inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  seed: int = 0, **kwargs: Any) -> bool:
    """Check second derivatives: gradcheck the vjp of fn, taken with create_graph=True.

    The vjp is a function of the inputs and of the upstream gradient v, and is checked against
    finite differences with respect to both, as torch.autograd.gradgradcheck does.
    """
    inputs = _as_inputs(inputs)
    outs = _outputs(fn(*inputs, **kwargs))
    rng = np.random.default_rng(seed + 1)
    float_outs = [k for k, o in enumerate(outs) if o.dtype.kind == "f"]
    vs = [rng.standard_normal(outs[k].shape) for k in float_outs]
    wanted = [i for i, x in enumerate(inputs) if _differentiable(x)]
    n = len(inputs)

    def first_grad(*args: Any) -> tuple[Tensor, ...]:
        xs, v = list(args[:n]), args[n:]
        res = _outputs(fn(*xs, **kwargs))
        pairs = [(res[k], g) for k, g in zip(float_outs, v) if res[k].requires_grad]
        if not pairs:
            return tuple(Tensor(np.zeros_like(xs[i].data)) for i in wanted)
        gs = grad([o for o, _ in pairs], [xs[i] for i in wanted], grad_outputs=[g for _, g in pairs],
                  create_graph=True, allow_unused=True)
        return tuple(Tensor(np.zeros_like(xs[i].data)) if g is None else g for i, g in zip(wanted, gs))

    return gradcheck(first_grad, [*inputs, *vs], eps=eps, atol=atol, rtol=rtol, seed=seed)
