"""Jacobian, JVP, HVP and Hessian of an existing graph, against torch.autograd.functional on random programs."""

import numpy as np
import pytest
import torch
import torch.autograd.functional as TAF
from test_batched import _UNARY, DIFFERENTIABLE, _case_graph
from test_ops import CASES

import engine as E
from engine.derivatives import double_vjp_jvp

RTOL = 1e-6


def _program(seed):
    """A random program of x (3, 3) and y (3,): an engine graph and the same function in torch."""
    rng = np.random.default_rng(seed)
    chain = [_UNARY[k] for k in rng.integers(0, len(_UNARY), size=4)]
    w = rng.standard_normal((3, 3))

    def build(x, y, lib):
        a = x
        for f, tf in chain:
            a = f(a) if lib is E else tf(a)
        if lib is E:
            return [E.tanh(a @ y + w @ y), E.sum(a * a) * E.sum(y)]
        return [torch.tanh(a @ y + torch.from_numpy(w) @ y), (a * a).sum() * y.sum()]

    x0, y0 = rng.standard_normal((3, 3)), rng.standard_normal(3)
    x, y = E.Tensor(x0, requires_grad=True), E.Tensor(y0, requires_grad=True)
    return (x, y), build(x, y, E), (torch.tensor(x0), torch.tensor(y0)), lambda x, y: tuple(build(x, y, torch))


def _close(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _close(g, w)
        return
    assert isinstance(got, E.Tensor) and got.shape == tuple(want.shape), (got.shape, tuple(want.shape))
    assert got.dtype == np.float64 and got.grad_fn is None
    np.testing.assert_allclose(got.data, want.numpy(), rtol=RTOL, atol=1e-10)


@pytest.mark.parametrize("seed", range(12))
def test_jacobian_matches_torch_on_random_programs(seed):
    (x, y), outs, targs, tf = _program(seed)
    _close(E.jacobian(outs, [x, y]), TAF.jacobian(tf, targs))
    _close(E.jacobian(outs[0], x), TAF.jacobian(lambda x: tf(x, targs[1])[0], targs[0]))  # Tensor, not tuple
    _close(E.jacobian(outs[0], [x, y]), TAF.jacobian(lambda x, y: tf(x, y)[0], targs))  # one output: a tuple
    _close(E.jacobian(outs, y), TAF.jacobian(lambda y: tf(targs[0], y), targs[1]))  # one input: a tuple


@pytest.mark.parametrize("seed", range(12))
def test_jvp_hvp_hessian_match_torch_on_random_programs(seed):
    (x, y), outs, targs, tf = _program(seed)
    rng = np.random.default_rng(100 + seed)
    v = (rng.standard_normal((3, 3)), rng.standard_normal(3))
    tv = tuple(torch.from_numpy(a) for a in v)
    _close(E.jvp(outs, [x, y], list(v)), TAF.jvp(tf, targs, tv)[1])
    _close(E.jvp(outs[0], x, v[0]), TAF.jvp(lambda x: tf(x, targs[1])[0], targs[0], tv[0])[1])
    scalar = lambda x, y: tf(x, y)[1]  # noqa: E731
    _close(E.hvp(outs[1], [x, y], list(v)), TAF.hvp(scalar, targs, tv)[1])
    _close(E.hvp(outs[1], y, v[1]), TAF.hvp(lambda y: scalar(targs[0], y), targs[1], tv[1])[1])
    _close(E.hessian(outs[1], [x, y]), TAF.hessian(scalar, targs))
    _close(E.hessian(outs[1], x), TAF.hessian(lambda x: scalar(x, targs[1]), targs[0]))


@pytest.mark.parametrize("chunk_size", [1, 2, 5, 12, 13, 100])
def test_jacobian_chunks_give_the_same_answer(chunk_size):
    (x, y), outs, _, _ = _program(3)
    whole = E.jacobian(outs, [x, y])
    chunked = E.jacobian(outs, [x, y], chunk_size=chunk_size)
    for row_w, row_c in zip(whole, chunked):
        for a, b in zip(row_w, row_c):
            np.testing.assert_array_equal(a.data, b.data)
    hw, hc = E.hessian(outs[1], [x, y]), E.hessian(outs[1], [x, y], chunk_size=chunk_size)
    np.testing.assert_allclose(hw[0][1].data, hc[0][1].data, rtol=1e-12)


def test_jacobian_runs_one_batched_pass_per_chunk(monkeypatch):
    from engine import derivatives
    calls = []
    real = derivatives.grad
    monkeypatch.setattr(derivatives, "grad", lambda *a, **k: calls.append(k["is_grads_batched"]) or real(*a, **k))
    x = E.Tensor(np.ones(10), requires_grad=True)
    y = E.tanh(x) * 2
    E.jacobian(y, x)
    E.jacobian(y, x, chunk_size=4)
    assert calls == [True] + [True] * 3


def test_unused_inputs_and_constant_outputs_give_zeros():
    x = E.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    unused = E.Tensor(np.ones((2, 2)), requires_grad=True)
    y = x * x
    const = E.Tensor(np.ones(3))
    J = E.jacobian([y, const], [x, unused])
    np.testing.assert_array_equal(J[0][0].data, np.diag([2.0, 4.0]))
    assert J[0][1].shape == (2, 2, 2) and not J[0][1].data.any()
    assert J[1][0].shape == (3, 2) and not J[1][0].data.any()
    np.testing.assert_array_equal(E.jvp(y, [x, unused], [np.ones(2), np.ones((2, 2))]).data, [2.0, 4.0])
    np.testing.assert_array_equal(E.jvp([y, const], [unused], [np.ones((2, 2))])[0].data, [0.0, 0.0])
    s = E.sum(y)
    H = E.hessian(s, [x, unused])
    np.testing.assert_array_equal(H[0][0].data, 2 * np.eye(2))
    assert H[1][1].shape == (2, 2, 2, 2) and not H[1][1].data.any() and not H[0][1].data.any()
    np.testing.assert_array_equal(E.hvp(s, [x, unused], [np.ones(2), np.ones((2, 2))])[1].data, np.zeros((2, 2)))
    linear = E.sum(x * 3.0)  # its gradient is a constant: the Hessian is zero
    assert not E.hessian(linear, x).data.any()


def test_they_never_touch_grads_nor_free_the_graph():
    x = E.Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    y = E.exp(x) * E.sin(x)  # saves buffers: a freed graph would fail the backward below
    s = E.sum(y * y)
    E.jacobian(y, x)
    E.jvp(y, x, np.ones(3))
    E.hvp(s, x, np.ones(3))
    E.hessian(s, x)
    E.grad(y, x, np.eye(3), is_grads_batched=True, retain_graph=True)
    assert x.grad is None
    s.backward()  # no retain_graph: it runs through buffers the calls above must have kept
    want = 2 * (np.exp(x.data) * np.sin(x.data)) * (np.exp(x.data) * (np.sin(x.data) + np.cos(x.data)))
    np.testing.assert_allclose(x.grad, want)


def test_hessian_and_jacobian_against_finite_differences():
    rng = np.random.default_rng(7)
    x0 = rng.standard_normal(4)
    f = lambda x: E.sum(E.tanh(x) * x[::-1]) + E.prod(x)  # noqa: E731

    def gradient(v):
        t = E.Tensor(v, requires_grad=True)
        return E.grad(f(t), t)[0].data

    x = E.Tensor(x0, requires_grad=True)
    eps = 1e-6
    numeric = np.stack([(gradient(x0 + eps * e) - gradient(x0 - eps * e)) / (2 * eps) for e in np.eye(4)])
    H = E.hessian(f(x), x).data
    np.testing.assert_allclose(H, numeric, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(H, H.T, rtol=1e-12)
    t = E.Tensor(x0, requires_grad=True)
    J = E.jacobian(E.grad(f(t), t, create_graph=True)[0], t).data  # the Jacobian of the gradient is H too
    np.testing.assert_allclose(J, H, rtol=1e-12)


def test_errors_name_what_is_wrong():
    x = E.Tensor(np.ones(3), requires_grad=True)
    c = E.Tensor(np.ones(3))
    y = x * 2
    with pytest.raises(E.BackwardError, match="single element"):
        E.hessian(y, x)
    with pytest.raises(E.BackwardError, match="single element"):
        E.hvp(y, x, np.ones(3))
    with pytest.raises(E.BackwardError, match="does not require grad"):
        E.jacobian(y * c, c)
    with pytest.raises(E.BackwardError, match=r"tangents\[0\] has shape \(2,\)"):
        E.jvp(y, x, np.ones(2))
    with pytest.raises(E.BackwardError, match="2 items for 1 inputs"):
        E.jvp(y, x, [np.ones(3), np.ones(3)])
    with pytest.raises(E.BackwardError, match="chunk_size must be a positive integer"):
        E.jacobian(y, x, chunk_size=0)
    z = E.exp(x)
    z.backward(np.ones(3))  # frees exp's buffer
    with pytest.raises(E.GraphFreedError):
        E.jacobian(z, x)


def _jvp_both_ways(fn, inputs, seed):
    leaves, outs = _case_graph(fn, inputs)
    if not outs:
        return
    rng = np.random.default_rng(seed)
    vs = [rng.standard_normal(x.shape) for x in leaves]
    forward = E.jvp(outs, leaves, vs)
    reference = double_vjp_jvp(outs, leaves, vs)
    for o, a, b in zip(outs, forward, reference, strict=True):
        assert a.shape == o.shape and a.dtype == o.dtype
        np.testing.assert_allclose(a.data, b.data, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_every_op_forward_mode_jvp_equals_the_double_vjp(name):
    for i, (fn, inputs, _label, _opts) in enumerate(CASES[name]):
        _jvp_both_ways(fn, inputs, seed=i)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_every_op_without_a_jvp_rule_falls_back_to_its_transposed_vjp(name, monkeypatch):
    """What an op declared without `jvp` gets: its own vjp, differentiated with respect to the cotangent."""
    monkeypatch.setattr(E.OPS[name], "jvp", None)
    for i, (fn, inputs, _label, _opts) in enumerate(CASES[name]):
        _jvp_both_ways(fn, inputs, seed=i)


def test_jvp_from_an_intermediate_tensor():
    x = E.Tensor(np.array([0.3, -0.7]), requires_grad=True)
    h = E.sin(x) * 2.0
    y = E.exp(h) + x  # x also reaches y directly: only h's tangent is given, x's is zero
    got = E.jvp(y, h, np.array([1.0, 2.0])).data
    np.testing.assert_allclose(got, np.exp(h.data) * [1.0, 2.0])


def test_jvp_refuses_a_saved_input_written_in_place_as_backward_does():
    w = E.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = E.sum(w * w)
    opt = E.optim.SGD([w], lr=0.1)
    y.backward(retain_graph=True)
    opt.step()  # writes w in place: y's graph saved the old w
    with pytest.raises(E.EngineError, match="modified by an inplace operation"):
        E.jvp(y, w, np.ones(2))
    with pytest.raises(E.EngineError, match="modified by an inplace operation"):
        E.jacobian(y, w)
