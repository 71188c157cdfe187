"""Training in programs: detach, no_grad, requires_grad, zero_grad and step, all or nothing."""

import numpy as np
import pytest
import torch

import engine
from engine.errors import EngineError
from engine.program import Namespace
from engine.structure import Program

X = [[1.0], [2.0], [3.0], [4.0], [5.0]]
Y = [[3.1], [4.9], [7.2], [8.8], [11.1]]


def run(ns: Namespace, document: dict):
    return ns.run(Program.from_dict(document))


def regression(ns: Namespace, optimizer: str = "sgd", **hyper) -> None:
    run(ns, {"inputs": {"w": {"data": [[0.0]], "requires_grad": True, "dtype": "float64"},
                       "b": {"data": [0.0], "requires_grad": True, "dtype": "float64"},
                       "x": {"data": X, "dtype": "float64"}, "y": {"data": Y, "dtype": "float64"}}})
    ns.create_optimizer("opt", optimizer, ["w", "b"], hyper)


STEP = {"zero_grad": True, "ops": [{"name": "loss", "expr": "mean((x @ w + b - y) ** 2)"}],
        "backward": [{"output": "loss"}], "step": ["opt"], "return": ["w", "b", "loss"]}


def torch_regression(cls, steps, **hyper):
    w = torch.zeros(1, 1, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    x, y = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64)
    opt = cls([w, b], **hyper)
    for _ in range(steps):
        opt.zero_grad()
        ((x @ w + b - y) ** 2).mean().backward()
        opt.step()
    return w.detach().numpy(), b.detach().numpy()


@pytest.mark.parametrize("kind,cls,hyper", [
    ("sgd", torch.optim.SGD, {"lr": 0.02, "momentum": 0.9}),
    ("adam", torch.optim.Adam, {"lr": 0.1}),
])
def test_a_training_step_is_one_program(kind, cls, hyper):
    ns = Namespace()
    regression(ns, kind, **hyper)
    for _ in range(20):
        out = run(ns, STEP)
    tw, tb = torch_regression(cls, 20, **hyper)
    np.testing.assert_allclose(out["w"].data, tw, rtol=1e-6)
    np.testing.assert_allclose(out["b"].data, tb, rtol=1e-6)
    assert ns.optimizers["opt"].optimizer.steps == 20


def test_without_zero_grad_grads_accumulate_as_in_torch():
    ns = Namespace()
    regression(ns, "sgd", lr=0.01)
    step = {k: v for k, v in STEP.items() if k != "zero_grad"}
    for _ in range(3):
        run(ns, step)
    w = torch.zeros(1, 1, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=0.01)
    for _ in range(3):
        ((torch.tensor(X, dtype=torch.float64) @ w + b - torch.tensor(Y, dtype=torch.float64)) ** 2).mean().backward()
        opt.step()
    np.testing.assert_allclose(ns.bindings["w"].data, w.detach().numpy(), rtol=1e-6)


def test_a_failing_program_undoes_the_step():
    ns = Namespace()
    regression(ns, "adam", lr=0.1)
    run(ns, STEP)
    w = ns.bindings["w"]
    before, version = w.data.copy(), w._version
    state = ns.optimizers["opt"].optimizer.state[0].exp_avg.copy()
    bad = {**STEP, "return": ["w", "nope"]}  # fails after the step, when choosing what to return
    with pytest.raises(EngineError, match="unknown name 'nope'"):
        run(ns, bad)
    assert ns.bindings["w"] is w and np.array_equal(w.data, before) and w._version == version
    assert ns.optimizers["opt"].optimizer.steps == 1
    np.testing.assert_array_equal(ns.optimizers["opt"].optimizer.state[0].exp_avg, state)
    assert w.grad is not None  # zero_grad undone too


def test_backward_through_a_graph_made_before_the_step_is_refused():
    ns = Namespace()
    regression(ns, "sgd", lr=0.01)
    run(ns, {"ops": [{"name": "loss", "expr": "mean((x @ w + b - y) ** 2)"}, {"name": "sq", "expr": "sum(w * w)"}],
            "backward": [{"output": "sq", "retain_graph": True}], "step": ["opt"]})
    with pytest.raises(engine.ModifiedInPlaceError, match="is at version 1; expected version 0"):
        ns.backward("sq")
    out = ns.backward("loss")  # x @ w saved x only, and b's add saved nothing: as in torch, this works
    assert out["w"].grad is not None


def test_no_grad_makes_a_leaf_and_requires_grad_turns_it_into_a_param():
    ns = Namespace()
    run(ns, {"inputs": {"w": {"data": [1.0, 2.0], "requires_grad": True}},
            "ops": [{"name": "loss", "expr": "sum(w * w)"}], "backward": [{"output": "loss"}]})
    old = ns.bindings["w"]
    run(ns, {"ops": [{"name": "g", "op": "mul", "args": ["w", 2], "no_grad": True},
                    {"name": "w", "expr": "w - 0.1 * g", "no_grad": True, "requires_grad": True}]})
    w = ns.bindings["w"]
    assert w is not old and w.is_leaf and w.requires_grad and w.grad is None and w._version == 0
    assert ns.bindings["g"].grad_fn is None and not ns.bindings["g"].requires_grad
    np.testing.assert_allclose(w.data, [0.8, 1.6])


def test_requires_grad_on_a_computed_tensor_is_refused_with_torchs_message():
    ns = Namespace()
    run(ns, {"inputs": {"w": {"data": [1.0], "requires_grad": True}}})
    t = torch.ones(1, requires_grad=True) * 2
    with pytest.raises(RuntimeError) as theirs:
        t.requires_grad_(False)
    with pytest.raises(engine.LeafError) as ours:
        run(ns, {"ops": [{"name": "v", "expr": "w * 2", "requires_grad": True}]})
    assert ours.value.detail.startswith(str(theirs.value))
    assert ours.value.op_index == 0 and "MulBackward0" in ours.value.detail
    assert "v" not in ns.bindings


def test_requires_grad_on_integers_is_refused():
    ns = Namespace()
    with pytest.raises(engine.DTypeError, match="floating point"):
        run(ns, {"inputs": {"i": {"data": [1], "dtype": "int64"}},
                "ops": [{"name": "j", "op": "add", "args": ["i", 1], "requires_grad": True}]})


def test_detach_shares_data_and_stops_gradients():
    ns = Namespace()
    run(ns, {"inputs": {"w": {"data": [1.0, 2.0], "requires_grad": True}},
            "ops": [{"name": "d", "op": "detach", "args": ["w"]}, {"name": "out", "expr": "sum(detach(w) * w)"}],
            "backward": [{"output": "out"}]})
    d, w = ns.bindings["d"], ns.bindings["w"]
    assert d.data is w.data and not d.requires_grad and d.is_leaf
    np.testing.assert_allclose(w.grad, [1.0, 2.0])  # d(sum(c * w))/dw with c = w held constant


def test_step_names_an_optimizer_that_exists():
    ns = Namespace()
    regression(ns, "sgd", lr=0.1)
    with pytest.raises(engine.UnknownNameError, match="unknown optimizer 'otp'; did you mean 'opt'") as e:
        run(ns, {**STEP, "step": ["otp"]})
    assert e.value.pointer == "/step/0"
    assert ns.bindings["w"].grad is None and "loss" not in ns.bindings


@pytest.mark.parametrize("args,message,pointer", [
    (("opt", "sgd", ["w"], {"lr": 0.1}), "exists already", "/name"),
    (("o2", "sgdd", ["w"], {}), "unknown optimizer type 'sgdd'", "/type"),
    (("o2", "sgd", ["w"], {"lr": -1}), "Invalid learning rate", "/lr"),
    (("o2", "adam", ["w"], {"nesterov": True}), "no hyperparameter 'nesterov'", "/nesterov"),
    (("o2", "sgd", ["x"], {}), "param 'x' does not require grad", "/params/0"),
    (("o2", "sgd", ["w", "loss"], {}), "param 'loss' is not a leaf", "/params/1"),
    (("o2", "sgd", ["q"], {}), "unknown name 'q'", "/params/0"),
])
def test_bad_optimizers_are_refused_and_nothing_is_made(args, message, pointer):
    ns = Namespace()
    regression(ns, "sgd", lr=0.1)
    run(ns, {"ops": [{"name": "loss", "expr": "sum(w * 2)"}]})
    with pytest.raises(EngineError, match=message) as e:
        ns.create_optimizer(*args)
    assert e.value.pointer == pointer
    assert list(ns.optimizers) == ["opt"]


def test_optimizer_state_counts_toward_the_session_size():
    ns = Namespace()
    regression(ns, "adam", lr=0.1)
    before = ns.nbytes()
    run(ns, STEP)
    assert ns.nbytes() >= before + 2 * (8 + 8)  # exp_avg and exp_avg_sq of w and b
