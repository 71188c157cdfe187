"""Batched backward: every op's batch vjp against a loop of plain backward passes, and against torch.

The op list comes from the registry and the inputs from the gradcheck case table, so an op declared later
(with its gradcheck cases) is checked here too, whether it has a batch rule or runs the per-row fallback.
"""

import numpy as np
import pytest
import torch
from test_ops import CASES

import engine as E
from engine.gradcheck import _as_inputs

B = 3
DIFFERENTIABLE = sorted(name for name, o in E.OPS.items() if o.differentiable)


def _case_graph(fn, inputs):
    """A case's float64 leaves that require grad, and its float outputs that require grad."""
    xs = _as_inputs(inputs)
    outs = fn(*xs)
    outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    return [x for x in xs if isinstance(x, E.Tensor) and x.requires_grad], \
        [o for o in outs if o.dtype.kind == "f" and o.requires_grad]


def _batched_vs_rows(fn, inputs, seed, create_graph=False):
    leaves, outs = _case_graph(fn, inputs)
    if not outs:
        pytest.skip("no output requires grad")
    rng = np.random.default_rng(seed)
    vs = [rng.standard_normal((B, *o.shape)) for o in outs]
    batched = E.grad(outs, leaves, [E.Tensor(v) for v in vs], retain_graph=True, create_graph=create_graph,
                     allow_unused=True, is_grads_batched=True)
    for b in range(B):
        row = E.grad(outs, leaves, [E.Tensor(np.asarray(v[b])) for v in vs], retain_graph=True, allow_unused=True)
        for x, gb, g in zip(leaves, batched, row, strict=True):
            if g is None:
                assert gb is None
                continue
            assert gb.shape == (B, *x.shape) and gb.dtype == x.dtype
            np.testing.assert_allclose(gb.data[b], g.data, rtol=1e-10, atol=1e-12)
    return batched


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_every_op_batched_vjp_equals_its_per_row_loop(name):
    for i, (fn, inputs, _label, _opts) in enumerate(CASES[name]):
        _batched_vs_rows(fn, inputs, seed=i)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_every_op_per_row_fallback_equals_its_batch_rule(name, monkeypatch):
    """The fallback a new op gets without a batch rule: the same numbers, row by row."""
    for i, (fn, inputs, _label, _opts) in enumerate(CASES[name]):
        with_rule = _batched_vs_rows(fn, inputs, seed=i)
        monkeypatch.setattr(E.OPS[name], "batch_vjp", None)
        fallback = _batched_vs_rows(fn, inputs, seed=i)
        monkeypatch.undo()
        for a, b in zip(with_rule, fallback, strict=True):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_every_op_batched_vjp_under_create_graph(name):
    """Recorded (create_graph) batch rules give the same values as plain ones."""
    for i, (fn, inputs, _label, _opts) in enumerate(CASES[name]):
        _batched_vs_rows(fn, inputs, seed=i, create_graph=True)


def test_second_order_through_a_batched_backward():
    """A batched backward of a create_graph gradient: rows of the Hessian of sum(x**3 * y), in one pass."""
    x = E.Tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    y = E.Tensor(np.array([0.3, 0.7, 2.0]), requires_grad=True)
    (gx,) = E.grad(E.sum(x ** 3 * y), x, create_graph=True)
    hx, hy = E.grad(gx, [x, y], np.eye(3), is_grads_batched=True)
    np.testing.assert_allclose(hx.data, np.diag(6 * x.data * y.data))
    np.testing.assert_allclose(hy.data, np.diag(3 * x.data ** 2))


def test_batched_backward_is_one_pass_not_a_loop(monkeypatch):
    """Each node's vjp runs once for the whole batch (an op with a batch rule never sees a single row)."""
    calls = []
    tanh = E.OPS["tanh"]
    original = tanh.call_batch_vjp
    monkeypatch.setattr(tanh, "call_batch_vjp", lambda *a: calls.append(a[1].shape) or original(*a))
    monkeypatch.setattr(tanh, "call_vjp", lambda *a: pytest.fail("a batched backward ran a plain vjp"))
    x = E.Tensor(np.ones(4), requires_grad=True)
    (g,) = E.grad(E.tanh(x * 2), x, np.eye(4), is_grads_batched=True)
    assert calls == [(4, 4)] and g.shape == (4, 4)


def test_batched_backward_checks_its_grad_outputs():
    x = E.Tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2
    with pytest.raises(E.BackwardError, match="batch axis followed by output\\[0\\]'s shape"):
        E.grad(y, x, np.ones((2, 3)), is_grads_batched=True)
    with pytest.raises(E.BackwardError, match="needs grad_outputs"):
        E.grad(E.sum(y), x, is_grads_batched=True)
    with pytest.raises(E.BackwardError, match="same batch size"):
        E.grad([y, E.sum(y)], x, [np.ones((4, 2, 3)), np.ones(5)], is_grads_batched=True)


def test_batched_backward_frees_the_graph_as_a_plain_one_does():
    x = E.Tensor(np.ones(3), requires_grad=True)
    y = E.exp(x)
    E.grad(y, x, np.eye(3), is_grads_batched=True)
    with pytest.raises(E.GraphFreedError):
        E.grad(y, x, np.eye(3), is_grads_batched=True)


# ---------------------------------------------------------------------------- random programs vs torch

# (engine function, torch function) over one tensor; shapes chosen so that each can follow any other
_UNARY = [
    (E.tanh, torch.tanh), (E.sin, torch.sin),
    (lambda x: E.exp(x * 0.3), lambda t: torch.exp(t * 0.3)),
    (lambda x: E.softmax(x, axis=0), lambda t: torch.softmax(t, dim=0)),
    (lambda x: E.log_softmax(x, axis=-1), lambda t: torch.log_softmax(t, dim=-1)),
    (lambda x: x.T, lambda t: t.T),
    (lambda x: E.sum(x, axis=0, keepdims=True) * x, lambda t: t.sum(0, keepdim=True) * t),
    (lambda x: E.mean(x * x, axis=1, keepdims=True) + x, lambda t: (t * t).mean(1, keepdim=True) + t),
    (lambda x: E.concat([x, x[0:1] * 2.0], axis=0)[1:], lambda t: torch.cat([t, t[0:1] * 2.0], 0)[1:]),
    (lambda x: E.stack([x, x * x], axis=0)[1], lambda t: torch.stack([t, t * t], 0)[1]),
    (lambda x: E.reshape(E.flatten(x), shape=x.shape) * 1.5, lambda t: t.flatten().reshape(t.shape) * 1.5),
    (lambda x: E.take(x, np.array([2, 0, 1]), axis=0) * x, lambda t: t[[2, 0, 1]] * t),
    (lambda x: E.maximum(x, 0.1) + E.relu(x), lambda t: torch.clamp(t, min=0.1) + torch.relu(t)),
]


def _binary(seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((3, 3))
    return (lambda x, y: x @ (y + w), lambda t, u: t @ (u + torch.from_numpy(w)))


@pytest.mark.parametrize("seed", range(20))
def test_random_programs_match_torch_is_grads_batched(seed):
    rng = np.random.default_rng(seed)
    x0, y0 = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    x, y = E.Tensor(x0, requires_grad=True), E.Tensor(y0, requires_grad=True)
    tx, ty = torch.tensor(x0, requires_grad=True), torch.tensor(y0, requires_grad=True)
    a, ta = x, tx
    for k in rng.integers(0, len(_UNARY), size=5):
        f, tf = _UNARY[k]
        a, ta = f(a), tf(ta)
    f2, tf2 = _binary(seed)
    outs, touts = [f2(a, y), E.sum(a * y)], [tf2(ta, ty), (ta * ty).sum()]
    vs = [rng.standard_normal((5, 3, 3)), rng.standard_normal(5)]
    got = E.grad(outs, [x, y], vs, is_grads_batched=True)
    want = torch.autograd.grad(touts, [tx, ty], [torch.from_numpy(v) for v in vs], is_grads_batched=True)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.data, w.numpy(), rtol=1e-6, atol=1e-10)
