"""engine.optim against torch.optim: 20 steps on small problems give the same params."""

import numpy as np
import pytest
import torch

import engine
from engine import Tensor
from engine.optim import OPTIMIZERS

CASES = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "maximize": True}),
    ("adam", {}),
    ("adam", {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.1}),
    ("adam", {"lr": 0.01, "amsgrad": True, "maximize": True}),
    ("adamw", {"lr": 0.01}),
    ("adamw", {"lr": 0.02, "weight_decay": 0.1, "amsgrad": True}),
    ("rmsprop", {}),
    ("rmsprop", {"lr": 0.01, "alpha": 0.9, "centered": True}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.05, "centered": True, "eps": 1e-6}),
    ("adagrad", {}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.02, "initial_accumulator_value": 0.1}),
    ("adagrad", {"lr": 0.1, "eps": 1e-6, "maximize": True}),
]
TORCH = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
         "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}
TOLERANCE = {"float64": 1e-6, "float32": 1e-4}


def problem(dtype):
    rng = np.random.default_rng(0)
    return (rng.normal(size=(3, 4)).astype(dtype), rng.normal(size=(4,)).astype(dtype),
            rng.normal(size=(5, 3)).astype(dtype), rng.normal(size=(5, 4)).astype(dtype))


def loss_of(lib, W, b, x, y):
    h = lib.tanh(x @ W + b)
    return ((h - y) ** 2).mean()


def ours(kind, hyper, dtype, steps=20):
    W0, b0, x, y = problem(dtype)
    W, b = Tensor(W0.copy(), requires_grad=True), Tensor(b0.copy(), requires_grad=True)
    opt = OPTIMIZERS[kind]([W, b], **hyper)
    for _ in range(steps):
        opt.zero_grad()
        loss_of(engine, W, b, Tensor(x), Tensor(y)).backward()
        opt.step()
    return W.data, b.data, opt


def theirs(kind, hyper, dtype, steps=20):
    W0, b0, x, y = problem(dtype)
    W, b = torch.tensor(W0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    hyper = {k: tuple(v) if isinstance(v, list) else v for k, v in hyper.items()}
    opt = TORCH[kind]([W, b], foreach=False, **hyper)
    for _ in range(steps):
        opt.zero_grad()
        loss_of(torch, W, b, torch.tensor(x), torch.tensor(y)).backward()
        opt.step()
    return W.detach().numpy(), b.detach().numpy()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind,hyper", CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
def test_twenty_steps_equal_torch(kind, hyper, dtype):
    W, b, opt = ours(kind, hyper, dtype)
    tW, tb = theirs(kind, hyper, dtype)
    assert W.dtype == np.dtype(dtype)
    np.testing.assert_allclose(W, tW, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype] * 1e-2)
    np.testing.assert_allclose(b, tb, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype] * 1e-2)
    assert opt.steps == 20
    assert not np.allclose(W, problem(dtype)[0])  # the params did move


def test_step_writes_the_same_array_and_bumps_the_version():
    w = Tensor([1.0, 2.0], requires_grad=True)
    view = w.detach()
    array = w.data
    (w * w).sum().backward()
    engine.optim.SGD([w], lr=0.5).step()
    assert w.data is array and w._version == 1
    np.testing.assert_allclose(view.data, [0.0, 0.0])  # a detached tensor shares the data, as in torch
    assert view._version == 1


def test_params_without_grad_are_skipped_and_zero_grad_sets_none():
    w, v = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    opt = engine.optim.Adam([w, v], lr=0.1)
    (w * 3).sum().backward()
    opt.step()
    assert v.data.tolist() == [1.0] and v._version == 0 and w._version == 1
    opt.zero_grad()
    assert w.grad is None


def test_manual_loop_equals_torch():
    W0, b0, x, y = problem("float64")
    W, b = Tensor(W0.copy(), requires_grad=True), Tensor(b0.copy(), requires_grad=True)
    tW, tb = torch.tensor(W0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    for _ in range(20):
        loss_of(engine, W, b, Tensor(x), Tensor(y)).backward()
        W = Tensor(W.data - 0.1 * W.grad, requires_grad=True)
        b = Tensor(b.data - 0.1 * b.grad, requires_grad=True)
        loss_of(torch, tW, tb, torch.tensor(x), torch.tensor(y)).backward()
        with torch.no_grad():
            tW.sub_(0.1 * tW.grad)
            tb.sub_(0.1 * tb.grad)
        tW.grad = tb.grad = None
    np.testing.assert_allclose(W.data, tW.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(b.data, tb.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("kind,hyper,message", [
    ("sgd", {"lr": -0.1}, "Invalid learning rate: -0.1"),
    ("sgd", {"lr": 0.1, "nesterov": True}, "Nesterov"),
    ("adam", {"betas": [0.9, 1.5]}, "Invalid beta parameter at index 1"),
    ("adam", {"momentum": 0.9}, "no hyperparameter 'momentum'"),
    ("rmsprop", {"centered": 1}, "must be true or false"),
    ("adagrad", {"lr": "fast"}, "must be a number"),
])
def test_bad_hyperparameters_are_refused(kind, hyper, message):
    with pytest.raises(engine.OptimizerError, match=message):
        OPTIMIZERS[kind]([Tensor([1.0], requires_grad=True)], **hyper)


def test_params_must_be_leaves_that_require_grad():
    w = Tensor([1.0], requires_grad=True)
    with pytest.raises(engine.OptimizerError, match="can't optimize a non-leaf Tensor"):
        engine.optim.SGD([w * 2], lr=0.1)
    with pytest.raises(engine.OptimizerError, match="does not require grad"):
        engine.optim.SGD([Tensor([1.0])], lr=0.1)


def test_a_failed_transaction_undoes_the_step():
    from engine.graph import transaction
    w = Tensor([1.0, 2.0], requires_grad=True)
    opt = engine.optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    array = w.data
    with pytest.raises(RuntimeError), transaction():
        opt.step()
        raise RuntimeError("later part of the program failed")
    assert w.data is array and w.data.tolist() == [1.0, 2.0] and w._version == 0
    assert opt.steps == 0 and opt.state[0].step is None
    opt.step()  # and the next step is the first one, as if nothing had happened
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    topt = torch.optim.Adam([t], lr=0.1)
    (t * t).sum().backward()
    topt.step()
    np.testing.assert_allclose(w.data, t.detach().numpy(), rtol=1e-6)


def test_optimizer_state_and_versions_survive_dump_and_load():
    """A session's optimizers (state, step count) and version counters leave a process and come back: the
    loaded copy continues exactly as the original does, and refuses the same stale backward."""
    from engine.program import Namespace
    from engine.state import dump, load
    from engine.structure import Program

    step = Program.from_dict({"zero_grad": True, "ops": [{"name": "loss", "expr": "sum(w * w * x)"}],
                              "backward": [{"output": "loss"}], "step": ["opt"]})
    ns = Namespace()
    ns.run(Program.from_dict({"inputs": {"w": {"data": [1.0, -2.0], "dtype": "float64", "requires_grad": True},
                                         "x": {"data": [0.5, 3.0], "dtype": "float64"}}}))
    ns.create_optimizer("opt", "adam", ["w"], {"lr": 0.1, "amsgrad": True})
    for _ in range(3):
        ns.run(step)
    ns.run(Program.from_dict({"ops": [{"name": "kept", "expr": "sum(w * w)"}, {"name": "d", "op": "detach",
                                                                               "args": ["w"]}],
                              "backward": [{"output": "kept", "retain_graph": True}], "step": ["opt"]}))
    state = dump(ns)
    copy = load(state.manifest, {k: v.tobytes() for k, v in state.blobs.items()})
    made = copy.optimizers["opt"]
    assert made.describe() == ns.optimizers["opt"].describe()
    assert copy.bindings["w"]._version == ns.bindings["w"]._version == 4
    assert copy.bindings["d"]._vc is copy.bindings["w"]._vc  # the detached view still shares the counter
    with pytest.raises(engine.ModifiedInPlaceError) as theirs:
        ns.backward("kept")
    with pytest.raises(engine.ModifiedInPlaceError) as ours:
        copy.backward("kept")
    assert str(ours.value) == str(theirs.value)
    for _ in range(3):
        ns.run(step)
        copy.run(step)
    np.testing.assert_array_equal(copy.bindings["w"].data, ns.bindings["w"].data)
    np.testing.assert_array_equal(made.optimizer.state[0].max_exp_avg_sq,
                                  ns.optimizers["opt"].optimizer.state[0].max_exp_avg_sq)
    assert made.optimizer.steps == 7
