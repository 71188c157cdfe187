"""Engine budgets: memory charged from shapes before allocating, deadlines and cancel flags obeyed between ops
and backward nodes, all-or-nothing when any of them stops the work."""

from __future__ import annotations

import time

import numpy as np
import pytest

from engine.errors import CancelledError, DeadlineError, LimitError
from engine.governance import Budget, governed
from engine.program import Namespace
from engine.structure import DerivativeCall, Program

MB = 1_000_000


def run(ns: Namespace, document: dict) -> dict:
    return ns.run(Program.from_dict(document))


def _big(n: int) -> dict:
    return {"inputs": {"s": {"data": 0.5, "requires_grad": True}},
            "ops": [{"name": "y", "op": "broadcast_to", "args": ["s"], "kwargs": {"shape": [n]}},
                    {"name": "y", "op": "mul", "args": ["y", 2.0]}]}


def test_an_op_over_the_budget_is_refused_and_nothing_is_kept():
    ns = Namespace()
    budget = Budget(limit=1 * MB)
    with governed(budget), pytest.raises(LimitError, match="over the limit of 1000000 bytes"):
        run(ns, _big(1_000_000))  # the mul's result alone is 4 MB
    assert ns.bindings == {}


def test_temporaries_that_died_are_not_held_against_the_limit():
    """200 rebindings of a 400 KB tensor charge 80 MB, but only ~800 KB is ever alive (no graph is kept)."""
    ns = Namespace()
    program = {"inputs": {"x": {"data": np.ones(100_000, np.float32)}},
               "ops": [{"name": "x", "op": "mul", "args": ["x", 1.0]}] * 200}
    with governed(Budget(limit=2 * MB)):
        run(ns, program)
    assert ns.bindings["x"].shape == (100_000,)


def test_a_kept_graph_is_held_against_the_limit():
    ns = Namespace()
    program = {"inputs": {"x": {"data": np.ones(100_000, np.float32), "requires_grad": True}},
               "ops": [{"name": "x", "op": "mul", "args": ["x", 1.0]}] * 200}  # mul saves its input: 80 MB
    with governed(Budget(limit=2 * MB)), pytest.raises(LimitError):
        run(ns, program)
    assert ns.bindings == {}


def test_backward_charges_its_gradients_and_changes_nothing_when_refused():
    ns = Namespace()
    with governed(Budget(limit=64 * MB)):
        run(ns, {"inputs": {"x": {"data": np.ones(1_000_000, np.float32), "requires_grad": True}},
                "ops": [{"name": "y", "expr": "sum(x * x)"}]})
    held = ns.held_bytes()
    with governed(Budget(limit=held + MB, used=held)), pytest.raises(LimitError):
        ns.backward("y")  # the gradient of x alone is 4 MB
    assert ns.bindings["x"].grad is None
    with governed(Budget(limit=held + 64 * MB, used=held)):
        ns.backward("y")
    assert ns.bindings["x"].grad is not None


def test_a_passed_deadline_stops_the_work_between_ops():
    ns = Namespace()
    with governed(Budget(deadline=time.monotonic() - 1)), pytest.raises(DeadlineError):
        run(ns, _big(10))
    assert ns.bindings == {}


def test_a_cancelled_budget_stops_the_work():
    ns = Namespace()
    budget = Budget()
    budget.cancelled = True
    with governed(budget), pytest.raises(CancelledError):
        run(ns, _big(10))
    assert ns.bindings == {}


def test_the_pool_is_asked_before_the_budget_grows():
    asked: list[int] = []

    def reserve(n: int) -> int:
        if sum(asked) + n > 3 * MB:
            raise LimitError("pool full")
        asked.append(n)
        return n

    with governed(Budget(reserve=reserve)), pytest.raises(LimitError, match="pool full"):
        run(Namespace(), _big(1_000_000))  # 4 MB for the mul's result
    assert sum(asked) <= 3 * MB


def test_an_optimizer_step_is_charged_before_it_writes():
    """Adam's first step makes two buffers the size of its params: over the budget, nothing changes."""
    ns = Namespace()
    run(ns, {"inputs": {"w": {"data": np.ones(250_000, np.float32), "requires_grad": True}},
             "ops": [{"name": "y", "expr": "sum(w * w)"}], "backward": [{"output": "y"}]})
    ns.create_optimizer("opt", "adam", "w", {"lr": 0.1})
    before = ns.bindings["w"].data.copy()
    with governed(Budget(limit=ns.held_bytes() + 2 * MB)), pytest.raises(LimitError):
        ns.step("opt")  # 1 MB of params: their state and temporaries are charged at 5 MB
    np.testing.assert_array_equal(ns.bindings["w"].data, before)
    assert ns.optimizer("opt").optimizer.steps == 0
    with governed(Budget(limit=ns.held_bytes() + 6 * MB)):
        ns.step("opt")
    assert not np.array_equal(ns.bindings["w"].data, before)


def test_the_op_list_alone_is_refused_before_any_formula_is_parsed():
    ops = [{"name": f"y{i}", "expr": "x +"} for i in range(5)]  # unparseable: the count must come first
    with pytest.raises(LimitError, match="5 ops or more") as info:
        Program.from_dict({"ops": ops}, max_ops=4)
    assert info.value.pointer == "/ops"
    with pytest.raises(LimitError, match="over the limit of 4"):  # 2 + 3 ops, known once the second is parsed
        Program.from_dict({"ops": [{"name": "a", "expr": "x + 1 + 2"}, {"name": "b", "expr": "x * 2 * 3 * 4"}]},
                          max_ops=4)
    with pytest.raises(LimitError, match="backward and derivative calls included"):
        Program.from_dict({"ops": [{"name": "a", "expr": "x"}], "backward": [{"output": "a"}] * 2}, max_ops=2)


def test_derivative_calls_count_toward_the_op_limit():
    doc = {"ops": [{"name": "y", "expr": "sum(x * x)"}], "derivatives": [{"kind": "grad", "outputs": ["y"],
                                                                         "inputs": ["x"]}] * 2}
    with pytest.raises(LimitError, match="derivative calls included"):
        Program.from_dict(doc, max_ops=3)  # 2 ops in the expr, and one per derivative call
    assert Program.from_dict(doc, max_ops=4).op_count == 4


def test_a_jacobian_is_charged_before_it_is_computed():
    """The batched pass of a 500 x 500 Jacobian carries 500 gradients at once: over the budget, refused."""
    ns = Namespace()
    run(ns, {"inputs": {"x": {"data": np.ones(500, np.float32), "requires_grad": True}},
             "ops": [{"name": "y", "expr": "x * x"}]})
    call = DerivativeCall("jacobian", ("y",), ("x",))
    with governed(Budget(limit=ns.held_bytes() + 500_000)), pytest.raises(LimitError):
        ns.derivative(call)  # the answer alone is 1 MB
    with governed(Budget(limit=ns.held_bytes() + 20 * MB)):
        answer = ns.derivative(call)
    np.testing.assert_allclose(answer["jacobian"]["y"]["x"].data, np.diag(np.full(500, 2.0)))


def test_a_batched_backward_is_charged_per_row():
    ns = Namespace()
    run(ns, {"inputs": {"x": {"data": np.ones(1000, np.float32), "requires_grad": True}},
             "ops": [{"name": "y", "expr": "x * 3"}]})
    rows = np.eye(1000, dtype=np.float32)[:400]  # 400 gradients of 4 KB: 1.6 MB through each node
    call = DerivativeCall("grad", ("y",), ("x",), (rows,), is_grads_batched=True)
    with governed(Budget(limit=ns.held_bytes() + 2 * MB)), pytest.raises(LimitError):
        ns.derivative(call)
    with governed(Budget(limit=ns.held_bytes() + 20 * MB)):
        assert ns.derivative(call)["grads"]["x"].shape == (400, 1000)


def test_operators_and_engine_functions_are_charged_too():
    """Library code under a budget (no element limit set) is refused before the 4 MB result is made."""
    import engine as E

    x = E.Tensor(np.ones(1_000_000, np.float32))
    for call in (lambda: x * 2.0, lambda: 2.0 * x, lambda: E.add(x, x), lambda: E.exp(x)):
        with governed(Budget(limit=1 * MB)), pytest.raises(LimitError):
            call()
    assert (x * 2.0).shape == (1_000_000,)  # without a budget, as before
