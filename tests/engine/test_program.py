"""The program interpreter: rebinding, constants, kwargs, every error kind, all-or-nothing runs."""

import threading
import time

import numpy as np
import pytest

import engine as E
from engine.program import NO_LIMITS, Limits, Namespace, saved_buffers
from engine.structure import Program


def f32(*values):
    return np.array(values, dtype=np.float32)


def leaf(data, requires_grad=True):
    return {"data": np.asarray(data, dtype=np.float32), "requires_grad": requires_grad}


def run(ns: Namespace, document: dict, limits: Limits = NO_LIMITS) -> dict:
    """Run a program written as a dict, as a library user would."""
    return ns.run(Program.from_dict(document), limits)


def fails(error, call, *args, **kwargs) -> E.EngineError:
    with pytest.raises(error) as info:
        call(*args, **kwargs)
    return info.value


SEED_PROGRAM = {
    "inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}},
    "ops": [
        {"name": "y", "op": "add", "args": ["x", 2]},
        {"name": "z", "op": "mul", "args": ["y", "y"]},
        {"name": "z", "op": "mul", "args": ["z", 3]},
        {"name": "out", "expr": "mean(z)"},
    ],
    "backward": [{"output": "out"}],
    "return": ["x", "out"],
}


# ---------------------------------------------------------------------------- the seed program and defaults

def test_seed_program():
    result = run(Namespace(), SEED_PROGRAM)
    assert list(result) == ["x", "out"]
    x, out = result["x"], result["out"]
    assert x.dtype == np.float32 and x.is_leaf and x.grad_fn is None and x.requires_grad
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 4.5))
    assert x.grad.dtype == np.float32
    assert out.shape == () and out.item() == 27.0 and out.grad is None
    assert out.grad_fn.name == "MeanBackward0" and not out.is_leaf


def test_grad_fn_names_and_default_return_in_binding_order():
    ns = Namespace()
    result = run(ns, {k: v for k, v in SEED_PROGRAM.items() if k != "return"})
    assert list(result) == ["x", "y", "z", "out"]  # z was bound twice, listed once
    assert [result[n].grad_fn and result[n].grad_fn.name for n in result] == [
        None, "AddBackward0", "MulBackward0", "MeanBackward0"]
    np.testing.assert_array_equal(result["z"].data, np.full((2, 2), 27.0))
    run(ns, {"inputs": {"c": [1.0, 2.0]}})  # a leaf without grad
    # a later request returns what it bound, plus every named leaf with a grad (x), not c
    assert list(run(ns, {"ops": [{"name": "k", "op": "neg", "args": ["c"]}]})) == ["k", "x"]


def test_wire_style_inputs_are_float32_unless_given():
    ns = Namespace()
    result = run(ns, {"inputs": {"a": [1, 2], "b": 3, "c": {"data": [1, 2], "dtype": "int64"},
                                "d": [True, False], "e": {"data": [1, 2], "dtype": "float64"}}})
    assert {n: t.dtype.name for n, t in result.items()} == {
        "a": "float32", "b": "float32", "c": "int64", "d": "bool", "e": "float64"}
    assert not any(t.requires_grad for t in result.values())  # requires_grad defaults to false


# ---------------------------------------------------------------------------- rebinding

def test_rebinding_refers_to_the_new_value_in_later_ops():
    ns = Namespace()
    result = run(ns, {"inputs": {"x": leaf([1.0, 2.0])},
                     "ops": [{"name": "y", "op": "add", "args": ["x", 1]},
                             {"name": "y", "op": "mul", "args": ["y", 2]},
                             {"name": "s", "expr": "sum(y * y)"}],
                     "backward": [{"output": "s"}]})
    np.testing.assert_array_equal(result["y"].data, f32(4, 6))
    assert result["s"].item() == 52.0
    np.testing.assert_array_equal(result["x"].grad, f32(16, 24))  # d/dx sum(4 (x+1)^2) = 8 (x+1)


def test_seed_rebinds_x_to_a_fresh_leaf_and_retain_graph_accumulates_across_runs():
    ns = Namespace()
    run(ns, SEED_PROGRAM)
    old_x = ns.bindings["x"]
    result = run(ns, {"inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}},
                     "ops": [{"name": "y", "expr": "4 * x + 2"}],
                     "backward": [{"output": "y", "gradient": np.ones((2, 2), np.float32), "retain_graph": True}]})
    x = result["x"]
    assert x is not old_x and x.is_leaf
    np.testing.assert_array_equal(old_x.grad, np.full((2, 2), 4.5))  # the old leaf is untouched
    np.testing.assert_array_equal(result["y"].data, np.full((2, 2), 6.0))
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 4.0))
    g = np.array([[1.0932, 1.9507], [-1.0305, -0.7468]], dtype=np.float32)
    run(ns, {"backward": [{"output": "y", "gradient": g, "retain_graph": True}]})
    np.testing.assert_allclose(ns.bindings["x"].grad, 4 + 4 * g, rtol=1e-6)
    np.testing.assert_allclose(ns.bindings["x"].grad, [[8.3728, 11.8028], [-0.122, 1.0128]], rtol=1e-4)


def test_rebinding_an_input_makes_a_leaf_without_grad():
    ns = Namespace()
    run(ns, SEED_PROGRAM)
    x = run(ns, {"inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}}})["x"]
    assert x.grad is None and x.is_leaf and x.requires_grad


def test_while_loop_driven_from_outside():
    ns = Namespace()
    y = run(ns, {"inputs": {"x": leaf([1.3570, -0.3653, 0.6265])},
                "ops": [{"name": "y", "op": "mul", "args": ["x", 2]}]})["y"]
    steps = 0
    while np.linalg.norm(y.data) < 1000:
        y = run(ns, {"ops": [{"name": "y", "op": "mul", "args": ["y", 2]}]})["y"]
        steps += 1
    assert steps == 9
    np.testing.assert_allclose(y.data, [1389.568, -374.0672, 641.536], rtol=1e-5)
    run(ns, {"backward": [{"output": "y", "gradient": f32(0.1, 1.0, 0.0001)}]})
    np.testing.assert_allclose(ns.bindings["x"].grad, [102.4, 1024.0, 0.1024], rtol=1e-6)
    assert ns.bindings["x"].grad.dtype == np.float32


# ---------------------------------------------------------------------------- constants, kwargs, retain_grad

@pytest.mark.parametrize("const", [2, 2.5, [1, 2, 3], [0.5, 0.25, 1.0], f32(1, 2, 3), np.array([1, 2, 3])])
def test_constants_keep_float32(const):
    ns = Namespace()
    r = run(ns, {"inputs": {"x": leaf([1.0, 2.0, 3.0])}, "ops": [{"name": "y", "op": "mul", "args": ["x", const]},
                                                                 {"name": "s", "op": "sum", "args": ["y"]}],
                "backward": [{"output": "s"}]})
    assert r["y"].dtype == np.float32 and r["x"].grad.dtype == np.float32
    np.testing.assert_allclose(r["y"].data, f32(1, 2, 3) * np.asarray(const, np.float32))
    np.testing.assert_allclose(r["x"].grad, np.broadcast_to(np.asarray(const, np.float32), (3,)))


def test_constants_never_require_grad():
    r = run(Namespace(), {"ops": [{"name": "c", "op": "add", "args": [[1.0, 2.0], 3]},
                                 {"name": "n", "expr": "2"}]})
    assert not r["c"].requires_grad and r["c"].is_leaf and r["c"].grad_fn is None
    np.testing.assert_array_equal(r["c"].data, f32(4, 5))
    assert r["n"].dtype == np.float32 and r["n"].item() == 2.0 and not r["n"].requires_grad


def test_kwargs_by_name_and_by_position():
    ns = Namespace()
    run(ns, {"inputs": {"x": leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])}})
    r = run(ns, {"ops": [{"name": "a", "op": "sum", "args": ["x"], "kwargs": {"axis": 0, "keepdims": True}},
                        {"name": "b", "op": "sum", "args": ["x", 0]},
                        {"name": "c", "expr": "sum(x, 1)"},
                        {"name": "d", "expr": "sum(x, axis=1, keepdims=True)"}]})
    np.testing.assert_array_equal(r["a"].data, [[5.0, 7.0, 9.0]])
    np.testing.assert_array_equal(r["b"].data, f32(5, 7, 9))
    np.testing.assert_array_equal(r["c"].data, f32(6, 15))
    assert r["d"].shape == (2, 1)
    e = fails(E.OpError, run, ns, {"ops": [{"name": "e", "op": "sum", "args": ["x", 0], "kwargs": {"axis": 1}}]})
    assert "both by position and by name" in e.detail and e.op_index == 0


def test_retain_grad_keeps_a_non_leaf_grad():
    ns = Namespace()
    r = run(ns, {"inputs": {"x": leaf([1.0, 2.0])},
                "ops": [{"name": "y", "op": "mul", "args": ["x", 3], "retain_grad": True},
                        {"name": "z", "op": "mul", "args": ["y", "y"]},
                        {"name": "s", "op": "sum", "args": ["z"]}],
                "backward": [{"output": "s"}]})
    np.testing.assert_array_equal(r["y"].grad, f32(6, 12))  # 2y
    assert r["z"].grad is None  # not asked for
    np.testing.assert_array_equal(r["x"].grad, f32(18, 36))
    assert set(ns.with_grad()) == {"x", "y"}


def test_retain_grad_on_a_constant_result_is_refused():
    e = fails(E.BackwardError, run, Namespace(),
              {"ops": [{"name": "c", "op": "neg", "args": [[1.0]], "retain_grad": True}]})
    assert "requires_grad=False" in e.detail and e.op_index == 0 and e.name == "c"


def test_requires_grad_on_an_integer_input_is_refused():
    ns = Namespace()
    for spec in ({"data": [1, 2], "dtype": "int64", "requires_grad": True},
                 {"data": np.array([1, 2]), "requires_grad": True}):
        e = fails(E.DTypeError, run, ns, {"inputs": {"labels": spec}})
        assert e.kind == "invalid-dtype" and e.name == "labels" and e.pointer == "/inputs/labels"
        assert "floating point" in e.detail
    assert ns.bindings == {}


# ---------------------------------------------------------------------------- every error kind

@pytest.fixture
def ns():
    ns = Namespace()
    run(ns, {"inputs": {"x": leaf([1.0, 2.0]), "v": leaf([1.0, 2.0, 3.0]), "m": leaf(np.ones((2, 2)))},
            "ops": [{"name": "sq", "op": "mul", "args": ["x", "x"]}]})
    return ns


def op_error(ns, ops, error):
    before = snapshot(ns)
    e = fails(error, run, ns, {"ops": ops})
    assert_unchanged(ns, before)
    return e


def test_unknown_op_suggests_a_name(ns):
    e = op_error(ns, [{"name": "y", "op": "ad", "args": ["x", "x"]}], E.OpError)
    assert (e.kind, e.op_index, e.name, e.pointer) == ("invalid-op", 0, "y", "/ops/0")
    assert "unknown op 'ad'" in e.detail and "did you mean" in e.detail and "'add'" in e.detail


def test_unknown_name_points_at_the_argument(ns):
    e = op_error(ns, [{"name": "y", "op": "neg", "args": ["x"]}, {"name": "z", "op": "add", "args": ["x", "xx"]}],
                 E.UnknownNameError)
    assert (e.kind, e.op_index, e.name, e.pointer) == ("unknown-name", 1, "xx", "/ops/1/args/1")
    assert "unknown name 'xx'" in e.detail and "did you mean 'x'" in e.detail


def test_unknown_name_inside_an_expr_points_at_the_expr(ns):
    e = op_error(ns, [{"name": "y", "expr": "x + qq"}], E.UnknownNameError)
    assert (e.op_index, e.name, e.pointer) == (0, "qq", "/ops/0/expr")


@pytest.mark.parametrize("spec, words", [
    ({"op": "add", "args": ["x"]}, "'add' takes 2 arguments (a, b), got 1"),
    ({"op": "sum", "args": ["x"], "kwargs": {"axes": 0}}, "unknown kwarg 'axes' (known: axis, keepdims)"),
    ({"op": "sum", "args": ["x"], "kwargs": {"keepdims": "yes"}}, "'keepdims' must be true or false"),
    ({"op": "sum", "args": ["x"], "kwargs": {"axis": 0.5}}, "'axis'"),
    ({"op": "reshape", "args": ["x"]}, "needs kwarg shape"),
])
def test_arity_and_kwargs_are_checked(ns, spec, words):
    e = op_error(ns, [{"name": "y", **spec}], E.OpError)
    assert (e.kind, e.op_index, e.name, e.pointer) == ("invalid-op", 0, "y", "/ops/0")
    assert words in e.detail and f"in op 0 '{spec['op']}'" in e.detail


def test_shapes_that_do_not_broadcast(ns):
    e = op_error(ns, [{"name": "a", "op": "neg", "args": ["x"]}, {"name": "b", "op": "add", "args": ["a", "v"]}],
                 E.ShapeError)
    assert (e.kind, e.op_index, e.name, e.pointer) == ("shape-mismatch", 1, "b", "/ops/1")
    assert "(2,)" in e.detail and "(3,)" in e.detail and "in op 1 'add'" in e.detail


def test_matmul_mismatch(ns):
    e = op_error(ns, [{"name": "p", "op": "matmul", "args": ["m", "v"]}], E.ShapeError)
    assert (e.op_index, e.name, e.pointer) == (0, "p", "/ops/0")
    assert "(2, 2)" in e.detail and "(3,)" in e.detail


def test_malformed_expr(ns):
    e = op_error(ns, [{"name": "a", "op": "neg", "args": ["x"]}, {"name": "b", "expr": "x +* 2"}], E.ExprError)
    assert (e.kind, e.op_index, e.name, e.pointer) == ("invalid-expr", 1, "b", "/ops/1/expr")
    assert "a" not in ns.bindings  # refused before any op ran


@pytest.mark.parametrize("spec, words", [
    ({"op": "add", "args": ["x", "x"], "expr": "x + x"}, "both 'op' and 'expr'"),
    ({"args": ["x"]}, "needs 'op'"),
])
def test_op_needs_exactly_one_of_op_and_expr(ns, spec, words):
    e = op_error(ns, [{"name": "y", **spec}], E.OpError)
    assert (e.op_index, e.name, e.pointer) == (0, "y", "/ops/0") and words in e.detail


@pytest.mark.parametrize("name", ["1y", "a-b", "", "x y", 3, None])
def test_names_must_be_identifiers(ns, name):
    e = op_error(ns, [{"name": "ok", "op": "neg", "args": ["x"]}, {"name": name, "op": "neg", "args": ["x"]}],
                 E.OpError)
    assert (e.op_index, e.pointer) == (1, "/ops/1/name") and "identifier" in e.detail
    if isinstance(name, str):
        before = snapshot(ns)
        e = fails(E.OpError, run, ns, {"inputs": {"fine": [1.0], name: [1.0]}})
        assert e.pointer == f"/inputs/{name}" and "identifier" in e.detail
        assert_unchanged(ns, before)


def test_backward_errors_in_a_program(ns):
    cases = [
        ({"output": "sq"}, E.BackwardError, "grad can be implicitly created only for scalar outputs"),
        ({"output": "sq", "gradient": f32(1, 2, 3)}, E.BackwardError,
         "Mismatch in shape: grad_output[0] has a shape of (3,) and output[0] has a shape of (2,)."),
        ({"output": "c"}, E.BackwardError, "does not require grad and does not have a grad_fn"),
        ({"output": "nope"}, E.UnknownNameError, "unknown name 'nope'"),
    ]
    run(ns, {"inputs": {"c": [1.0]}})
    for call, error, words in cases:
        before = snapshot(ns)
        e = fails(error, run, ns, {"ops": [{"name": "w", "op": "neg", "args": ["x"]}], "backward": [call]})
        assert words in e.detail and "in backward call 0" in e.detail
        assert e.name == call["output"] and e.op_index is None
        assert e.pointer == ("/backward/0/output" if error is E.UnknownNameError else "/backward/0")
        assert_unchanged(ns, before)


def test_backward_through_a_freed_graph(ns):
    run(ns, {"ops": [{"name": "s", "op": "sum", "args": ["sq"]}], "backward": [{"output": "s"}]})
    e = fails(E.GraphFreedError, ns.backward, "s")
    assert e.kind == "graph-freed" and e.name == "s"
    assert e.detail.startswith("Trying to backward through the graph a second time (or directly access saved "
                               "tensors after they have already been freed).")
    assert "Specify retain_graph=True" in e.detail
    # nodes that saved nothing may be traversed again (torch does the same)
    run(ns, {"ops": [{"name": "t", "expr": "sum(x + 1)"}], "backward": [{"output": "t"}, {"output": "t"}]})
    np.testing.assert_array_equal(ns.bindings["x"].grad, f32(2, 4) + 2)


def test_unknown_return_name(ns):
    before = snapshot(ns)
    e = fails(E.UnknownNameError, run, ns, {"ops": [{"name": "y", "op": "neg", "args": ["x"]}], "return": ["y", "yy"]})
    assert (e.name, e.pointer) == ("yy", "/return/1") and "did you mean 'y'" in e.detail
    assert_unchanged(ns, before)


def test_max_ops_counts_the_ops_inside_exprs(ns):
    ops = [{"name": "a", "expr": "sum(x * x + 1)"}, {"name": "b", "op": "neg", "args": ["x"]}]  # 3 + 1 ops
    assert set(run(ns, {"ops": ops}, Limits(max_ops=4))) == {"a", "b"}
    before = snapshot(ns)
    # every entry counts at least one op (so that the op list bounds the work before any expr is parsed)
    e = fails(E.LimitError, run, ns, {"ops": [*ops, {"name": "c", "expr": "x"}, {"name": "d", "expr": "-x"}]},
              Limits(max_ops=5))
    assert e.kind == "limit-exceeded" and e.pointer == "/ops" and "6 ops" in e.detail and "limit of 5" in e.detail
    assert_unchanged(ns, before)


def test_max_tensor_elements_on_an_input(ns):
    before = snapshot(ns)
    e = fails(E.LimitError, run, ns, {"inputs": {"big": np.zeros(11, np.float32)}}, Limits(max_tensor_elements=10))
    assert (e.name, e.pointer) == ("big", "/inputs/big") and "11 elements" in e.detail and "10" in e.detail
    assert_unchanged(ns, before)
    assert "ok" in run(ns, {"inputs": {"ok": np.zeros(10, np.float32)}}, Limits(max_tensor_elements=10))


@pytest.mark.parametrize("op", [
    {"op": "broadcast_to", "args": ["one"], "kwargs": {"shape": [100000, 100000]}},
    {"expr": "broadcast_to(one, shape=[100000, 100000])"},
    {"op": "outer", "args": ["long", "long"]},
    {"op": "add", "args": ["col", "long"]},
    {"op": "matmul", "args": ["col", "row"]},
])
def test_max_tensor_elements_on_an_op_result_is_checked_before_allocating(op):
    ns = Namespace()
    run(ns, {"inputs": {"one": leaf([1.0]), "long": leaf(np.ones(2000)), "col": leaf(np.ones((2000, 1))),
                       "row": leaf(np.ones((1, 2000)))}})
    before = snapshot(ns)
    start = time.perf_counter()
    e = fails(E.LimitError, run, ns, {"ops": [{"name": "ok", "op": "neg", "args": ["long"]}, {"name": "huge", **op}]},
              Limits(max_tensor_elements=1_000_000))
    assert time.perf_counter() - start < 0.5
    assert (e.op_index, e.name) == (1, "huge") and "over the limit of 1000000 elements" in e.detail
    assert_unchanged(ns, before)


def test_max_session_bytes(ns):
    before = snapshot(ns)
    limit = ns.nbytes() + 100
    e = fails(E.LimitError, run, ns, {"inputs": {"big": np.zeros(1000, np.float32)},
                                     "ops": [{"name": "x", "op": "neg", "args": ["big"]}]},
              Limits(max_session_bytes=limit))
    assert e.kind == "limit-exceeded" and f"over the limit of {limit} bytes" in e.detail
    assert_unchanged(ns, before)
    run(ns, {"inputs": {"small": np.zeros(20, np.float32)}}, Limits(max_session_bytes=limit))
    assert ns.nbytes() == before["nbytes"] + 80


# ---------------------------------------------------------------------------- all-or-nothing

def snapshot(ns):
    return {"bindings": dict(ns.bindings), "grads": {n: t.grad for n, t in ns.bindings.items()},
            "retains": {n: t.retains_grad for n, t in ns.bindings.items()},
            "graph": graph_state(ns), "nbytes": ns.nbytes()}


def graph_state(ns):
    """What a failed call must not change in the graph: which grads exist, which nodes are freed, what they
    saved."""
    tensors, nodes = ns.reachable()
    return ([(t, t.grad is not None) for t in tensors],
            [(n, n.freed, [(a.shape, a.dtype) for a in saved_buffers(n)]) for n in nodes])


def assert_unchanged(ns, before):
    assert list(ns.bindings) == list(before["bindings"])
    for name, t in before["bindings"].items():
        assert ns.bindings[name] is t, name
        assert ns.bindings[name].grad is before["grads"][name], name
        assert ns.bindings[name].retains_grad == before["retains"][name], name
    assert graph_state(ns) == before["graph"]  # freed flags, saved buffers, has_grad
    assert ns.nbytes() == before["nbytes"]


@pytest.fixture
def session():
    """x with a grad, out = sum(x * x) whose graph is still retained."""
    ns = Namespace()
    run(ns, {"inputs": {"x": leaf([1.0, 2.0, 3.0])},
            "ops": [{"name": "y", "expr": "x * x"}, {"name": "out", "op": "sum", "args": ["y"]}],
            "backward": [{"output": "out", "retain_graph": True}]})
    np.testing.assert_array_equal(ns.bindings["x"].grad, f32(2, 4, 6))
    return ns


FAILING_PROGRAMS = {
    "input": ({"inputs": {"x": leaf([5.0]), "bad": {"data": [[1.0, 2.0], [3.0]]}}}, E.TensorError),
    "op 3 of 5": ({"inputs": {"w": leaf([1.0, 1.0, 1.0])},
                   "ops": [{"name": "y", "op": "add", "args": ["y", 1], "retain_grad": True},
                           {"name": "x", "op": "neg", "args": ["x"]},
                           {"name": "fresh", "expr": "sum(x * w)"},
                           {"name": "bad", "op": "add", "args": ["x", [1.0, 2.0]]},
                           {"name": "later", "op": "neg", "args": ["x"]}]}, E.ShapeError),
    "backward call 2 of 2": ({"ops": [{"name": "y", "expr": "y", "retain_grad": True}],
                              "backward": [{"output": "out"}, {"output": "out"}]}, E.GraphFreedError),
    "return": ({"ops": [{"name": "z", "op": "mul", "args": ["y", 2]}],
                "backward": [{"output": "out"}], "return": ["z", "missing"]}, E.UnknownNameError),
    "session bytes": ({"ops": [{"name": "z", "expr": "exp(broadcast_to(x, shape=[100, 3]))"},
                               {"name": "t", "expr": "sum(z * z)"}],
                       "backward": [{"output": "out"}]}, E.LimitError),
}


@pytest.mark.parametrize("stage", FAILING_PROGRAMS)
def test_a_failing_program_changes_nothing(session, stage):
    program, error = FAILING_PROGRAMS[stage]
    before = snapshot(session)
    fails(error, run, session, program, Limits(max_session_bytes=before["nbytes"] + 200))
    assert_unchanged(session, before)
    # the graph was not freed: a backward that worked before still works, and accumulates onto the old grad
    session.backward("out")
    np.testing.assert_array_equal(session.bindings["x"].grad, f32(4, 8, 12))
    assert session.bindings["y"].grad is None and not session.bindings["y"].retains_grad


def test_backward_call_2_fails_after_call_1_accumulated(session):
    before = snapshot(session)
    e = fails(E.BackwardError, run, session, {"backward": [{"output": "out"}, {"output": "y"}]})
    assert e.pointer == "/backward/1" and "in backward call 1" in e.detail
    assert_unchanged(session, before)
    np.testing.assert_array_equal(session.bindings["x"].grad, f32(2, 4, 6))


def test_a_failing_backward_call_changes_nothing(session):
    run(session, {"ops": [{"name": "e", "expr": "sum(exp(x))"}, {"name": "t", "expr": "e + out"}]})
    session.backward("out")  # frees x * x; exp's node is still whole
    for args, error in [(("t",), E.GraphFreedError), (("y",), E.BackwardError),
                        (("out", f32(1, 2)), E.BackwardError), (("nope",), E.UnknownNameError)]:
        before = snapshot(session)
        fails(error, session.backward, *args)
        assert_unchanged(session, before)
    grad = session.bindings["x"].grad.copy()
    session.backward("e")  # exp's buffers were not freed by the failed call
    np.testing.assert_allclose(session.bindings["x"].grad, grad + np.exp(f32(1, 2, 3)), rtol=1e-6)


def test_a_failing_grad_call_changes_nothing(session):
    run(session, {"inputs": {"unused": leaf([1.0])}})
    before = snapshot(session)
    cases = [
        (dict(outputs="out", inputs=["x", "unused"]), E.BackwardError, "appears to not have been used"),
        (dict(outputs="out", inputs=["x"], bind=["g", "h"]), E.OpError, "give one per input"),
        (dict(outputs="out", inputs="x", bind="1g"), E.OpError, "identifier"),
        (dict(outputs="out", inputs="nope"), E.UnknownNameError, "unknown name"),
        (dict(outputs="out", inputs="x", bind="g", create_graph=True,
              limits=Limits(max_session_bytes=before["nbytes"])), E.LimitError, "bytes"),
    ]
    for kwargs, error, words in cases:
        e = fails(error, session.grad, **kwargs)
        assert words in e.detail
        assert_unchanged(session, before)
    assert fails(E.OpError, session.grad, "out", "x", bind=["g", "h"]).pointer == "/bind"
    session.backward("out")
    np.testing.assert_array_equal(session.bindings["x"].grad, f32(4, 8, 12))


# ---------------------------------------------------------------------------- grad, zero_grad, lookups

def test_grad_by_name_does_not_accumulate():
    ns = Namespace()
    run(ns, {"inputs": {"x": leaf([1.0, 2.0, 3.0]), "w": leaf([2.0])},
            "ops": [{"name": "y", "expr": "x * x * w"}, {"name": "s1", "op": "sum", "args": ["y"]},
                    {"name": "s2", "expr": "sum(x) * w"}]})
    r = ns.grad("y", "x", grad_outputs=[f32(1.0, 0.5, 0.0)], retain_graph=True)
    assert list(r) == ["x"]
    np.testing.assert_array_equal(r["x"].data, f32(4.0, 4.0, 0.0))  # 2 x w v
    r = ns.grad(["s1", "s2"], ["x", "w"])
    np.testing.assert_array_equal(r["x"].data, f32(6, 10, 14))  # 2 x w + w
    np.testing.assert_array_equal(r["w"].data, f32(20))  # sum(x^2) + sum(x)
    assert ns.with_grad() == {} and ns.bindings["x"].grad is None
    assert "g" not in ns.bindings


def test_grad_with_create_graph_and_bind_can_be_differentiated_again():
    ns = Namespace()
    run(ns, {"inputs": {"x": leaf(3.0)}, "ops": [{"name": "y", "expr": "x ** 3"}]})
    r = ns.grad("y", "x", create_graph=True, bind="g")
    assert list(r) == ["g"] and r["g"] is ns.bindings["g"]
    assert r["g"].item() == 27.0 and r["g"].requires_grad and r["g"].grad_fn is not None
    assert ns.bindings["x"].grad is None
    ns.backward("g", retain_graph=True)
    assert ns.bindings["x"].grad.item() == 18.0  # d(3 x^2)/dx = 6 x
    # and by a program, as a session would
    ns.zero_grad()
    run(ns, {"ops": [{"name": "gg", "expr": "g * x"}], "backward": [{"output": "gg"}]})
    assert ns.bindings["x"].grad.item() == 81.0  # d(3 x^3)/dx = 9 x^2


def test_zero_grad_clears_every_grad(session):
    run(session, {"ops": [{"name": "r", "op": "mul", "args": ["x", 2], "retain_grad": True},
                         {"name": "s", "op": "sum", "args": ["r"]}], "backward": [{"output": "s"}]})
    assert set(session.with_grad()) == {"x", "r"}
    session.zero_grad()
    assert session.with_grad() == {}
    assert all(t.grad is None for t in session.bindings.values())
    session.backward("out")  # the graph is untouched: grads start from zero again
    np.testing.assert_array_equal(session.bindings["x"].grad, f32(2, 4, 6))


def test_variable_lookup(session):
    assert session.variable("out") is session.bindings["out"]
    e = fails(E.UnknownNameError, session.variable, "ot")
    assert e.kind == "unknown-name" and e.name == "ot" and "did you mean 'out'" in e.detail
    e = fails(E.UnknownNameError, Namespace().variable, "x")
    assert "nothing is bound yet" in e.detail


# ---------------------------------------------------------------------------- nbytes and the reachable graph

def test_nbytes_counts_data_grads_and_saved_buffers():
    ns = Namespace()
    run(ns, {"inputs": {"x": leaf(np.ones(1000))}})
    assert ns.nbytes() == 4000
    run(ns, {"ops": [{"name": "out", "expr": "sum(exp(x) * exp(x + 1))"}]})
    assert ns.nbytes() == 4000 + 2 * 4000 + 4  # x, the two saved exp outputs, out
    ns.backward("out", retain_graph=True)
    assert ns.nbytes() == 4000 + 2 * 4000 + 4 + 4000  # plus x.grad
    ns.backward("out")  # frees the saved buffers
    assert ns.nbytes() == 4000 + 4 + 4000
    ns.zero_grad()
    assert ns.nbytes() == 4004


def test_reachable_walks_bound_tensors_their_leaves_and_nodes_once():
    ns = Namespace()
    run(ns, {"inputs": {"x": leaf([1.0, 2.0])},
             "ops": [{"name": "y", "expr": "exp(x)"}, {"name": "out", "expr": "sum(y * y)"}]})
    old_x = ns.bindings["x"]
    run(ns, {"inputs": {"x": leaf([5.0])}})  # the old leaf is unnamed now, but still in the graph
    tensors, nodes = ns.reachable()
    assert len(tensors) == 4 and any(t is old_x for t in tensors) and any(t is ns.bindings["x"] for t in tensors)
    assert sorted(n.name for n in nodes) == ["ExpBackward0", "MulBackward0", "SumBackward0"]
    saved = {n.name: saved_buffers(n) for n in nodes}
    assert [a.shape for a in saved["MulBackward0"]] == [(2,), (2,)] and saved["SumBackward0"] == []
    assert saved["ExpBackward0"][-1] is ns.bindings["y"].data  # exp keeps its output
    ns.backward("out")
    assert all(saved_buffers(n) == [] for n in ns.reachable()[1])  # freed


# ---------------------------------------------------------------------------- threads

def test_two_namespaces_in_two_threads_do_not_interfere():
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def limited():
        # grad mode off and a tiny element limit in this thread only; every program here fails
        ns = Namespace()
        run(ns, {"inputs": {"a": leaf([1.0])}})
        barrier.wait()
        with E.no_grad():
            for _ in range(300):
                with pytest.raises(E.LimitError):
                    run(ns, {"ops": [{"name": "b", "expr": "a * 2"},
                                    {"name": "c", "op": "broadcast_to", "args": ["b"], "kwargs": {"shape": [50]}}]},
                           Limits(max_tensor_elements=10))
        assert list(ns.bindings) == ["a"]

    def free():
        ns = Namespace()
        run(ns, {"inputs": {"x": leaf([1.0, 2.0])}})
        barrier.wait()
        for i in range(300):
            run(ns, {"ops": [{"name": "y", "op": "broadcast_to", "args": ["x"], "kwargs": {"shape": [50, 2]}},
                            {"name": "s", "expr": "sum(y * y)"}], "backward": [{"output": "s"}]})
            np.testing.assert_allclose(ns.bindings["x"].grad, (i + 1) * 100 * f32(1, 2))

    def guarded(fn):
        def body():
            try:
                fn()
            except BaseException as e:  # reported by the main thread
                errors.append(e)
        return body

    threads = [threading.Thread(target=guarded(f)) for f in (limited, free)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
