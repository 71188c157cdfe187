"""The program structure: what Program.from_dict builds, each rule of a program, and where refusals point."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import engine as E
from engine.program import Namespace
from engine.structure import BackwardCall, GradCall, Input, OpCall, Program, Ref, program_array


def refused(error, document) -> E.EngineError:
    with pytest.raises(error) as info:
        Program.from_dict(document)
    return info.value


def test_from_dict_builds_typed_values():
    p = Program.from_dict({
        "inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}, "c": 3},
        "ops": [{"name": "y", "op": "add", "args": ["x", 2, [0.5, 1]]},
                {"name": "s", "op": "sum", "args": ["y"], "kwargs": {"axis": 0}},
                {"name": "out", "expr": "mean(s)", "retain_grad": True}],
        "backward": [{"output": "out", "retain_graph": True}],
        "return": "out"})
    x, c = p.inputs
    assert (x.name, x.requires_grad, x.data.dtype, x.data.shape) == ("x", True, np.float32, (2, 2))
    assert (c.name, c.requires_grad, c.data.dtype) == ("c", False, np.float32)
    y, s, out = p.ops
    assert y.op == "add" and y.args[:2] == (Ref("x"), 2) and y.args[2].dtype == np.float32
    assert s.kwargs == {"axis": 0} and s.expr is None
    assert out.op is None and out.expr.text == "mean(s)" and out.retain_grad and out.args == ()
    assert p.backward == (BackwardCall("out", None, True, False),)
    assert p.returns == ("out",)
    assert p.op_count == 4  # three ops and a backward call


def test_structures_are_immutable():
    p = Program.from_dict({"ops": [{"name": "y", "expr": "1 + 2"}]})
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.ops[0].name = "z"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.returns = ("y",)  # type: ignore[misc]


def test_an_expr_counts_each_op_it_applies():
    p = Program.from_dict({"ops": [{"name": "a", "expr": "sum(x * x + 1)"}, {"name": "b", "op": "neg", "args": ["x"]}]})
    assert [op.op_count for op in p.ops] == [3, 1] and p.op_count == 4


@pytest.mark.parametrize("data, dtype, expected", [
    (2, None, "float32"), ([1, 2], None, "float32"), ([1.5], None, "float32"), ([True, False], None, "bool"),
    ([1, 2], "int64", "int64"), ([1, 2], "float64", "float64"),
    (np.array([1, 2]), None, "int64"), (np.array([1.0]), None, "float64"),  # an ndarray keeps its dtype
    (E.Tensor([1.0], dtype="float64"), None, "float64"),
])
def test_numbers_are_float32_unless_a_dtype_is_given(data, dtype, expected):
    assert program_array(data, dtype).dtype == np.dtype(expected)
    assert Input.make("x", data, dtype).data.dtype == np.dtype(expected)


def test_a_string_argument_is_a_name_and_the_rest_are_constants():
    op = OpCall.make(0, "y", "where", ["mask", 1, {"data": [1, 2], "dtype": "int64"}])
    assert op.args[0] == Ref("mask") and op.args[1] == 1 and op.args[2].dtype == np.int64


@pytest.mark.parametrize("document, error, at, words", [
    ({"ops": [{"name": "y", "op": "add", "args": ["x", "x"], "expr": "x + x"}]}, E.OpError, "/ops/0",
     "both 'op' and 'expr'"),
    ({"ops": [{"name": "y", "args": ["x"]}]}, E.OpError, "/ops/0", "needs 'op'"),
    ({"ops": [{"name": "y", "expr": "x + 1", "args": ["x"]}]}, E.OpError, "/ops/0", "inside the formula"),
    ({"ops": [{"name": "y", "expr": "x +* 1"}]}, E.ExprError, "/ops/0/expr", "invalid syntax"),
    ({"ops": [{"name": "1y", "op": "neg", "args": ["x"]}]}, E.OpError, "/ops/0/name", "identifier"),
    ({"ops": [{"name": "y", "op": "neg", "args": "x"}]}, E.OpError, "/ops/0", "'args' must be a list"),
    ({"ops": [{"name": "y", "op": "sum", "args": ["x"], "kwargs": [0]}]}, E.OpError, "/ops/0",
     "'kwargs' must be an object"),
    ({"ops": [{"name": "y", "op": "neg", "args": [None]}]}, E.TensorError, "/ops/0/args/0", "null"),
    ({"ops": [{"name": "y", "op": "neg", "args": [[[1], [2, 3]]]}]}, E.TensorError, "/ops/0/args/0", "ragged"),
    ({"ops": [{"name": "y", "op": "neg", "args": ["x"], "retain": True}]}, E.OpError, "/ops/0/retain",
     "unknown key 'retain'"),
    ({"ops": ["neg(x)"]}, E.OpError, "/ops/0", "must be an object"),
    ({"inputs": {"x": {"data": [1.0], "requires_grad": "yes"}}}, E.TensorError, "/inputs/x/requires_grad",
     "true or false"),
    ({"inputs": {"x": {"dtype": "float32"}}}, E.OpError, "/inputs/x", "no data"),
    ({"inputs": {"x": {"data": [1.0], "grad": [1.0]}}}, E.TensorError, "/inputs/x/grad", "unknown key"),
    ({"inputs": {"a/b": [1.0]}}, E.OpError, "/inputs/a~1b", "identifier"),
    ({"inputs": {"x": [1.0]}, "backward": [{"output": "x", "grad": [1.0]}]}, E.EngineError,
     "/backward/0/grad", "unknown key 'grad'"),
    ({"input": {"x": [1.0]}}, E.EngineError, "/input", "unknown key 'input'"),
    ({"ops": {"name": "y"}}, E.EngineError, "/ops", "must be a list"),
])
def test_refusals_name_their_place(document, error, at, words):
    e = refused(error, document)
    assert e.pointer == at and words in e.detail, (e.pointer, e.detail)


def test_op_errors_carry_the_op_index_and_name():
    e = refused(E.OpError, {"ops": [{"name": "a", "op": "neg", "args": ["x"]},
                                    {"name": "b", "op": "neg", "args": ["x"], "expr": "-x"}]})
    assert (e.op_index, e.name) == (1, "b")


def test_grad_call_checks_bind_and_grad_outputs():
    call = GradCall.make("y", ["x", "w"], bind=["gx", "gw"])
    assert call.outputs == ("y",) and call.inputs == ("x", "w") and call.bind == ("gx", "gw")
    with pytest.raises(E.OpError) as info:
        GradCall.make("y", ["x", "w"], bind="g")
    assert info.value.pointer == "/bind"
    with pytest.raises(E.OpError) as info:
        GradCall.make("y", "x", bind="2g")
    assert info.value.pointer == "/bind/0"
    with pytest.raises(E.OpError) as info:
        GradCall.make(["y", "z"], "x", grad_outputs=[None])
    assert info.value.pointer == "/grad_outputs"


def test_run_takes_a_program_not_a_dict():
    with pytest.raises(TypeError, match="Program.from_dict"):
        Namespace().run({"inputs": {"x": [1.0]}})  # type: ignore[arg-type]


def test_one_program_runs_in_many_namespaces():
    p = Program.from_dict({"inputs": {"x": {"data": [1.0, 2.0], "requires_grad": True}},
                           "ops": [{"name": "s", "expr": "sum(x * x)"}], "backward": [{"output": "s"}]})
    a, b = Namespace(), Namespace()
    a.run(p)
    b.run(p)
    np.testing.assert_array_equal(a.bindings["x"].grad, [2.0, 4.0])
    np.testing.assert_array_equal(b.bindings["x"].grad, [2.0, 4.0])
    assert a.bindings["x"] is not b.bindings["x"]


def test_a_tensor_given_as_a_constant_contributes_its_data_only():
    w = E.Tensor([2.0, 3.0], requires_grad=True)
    ns = Namespace()
    ns.run(Program.from_dict({"inputs": {"x": {"data": [1.0, 1.0], "requires_grad": True}},
                              "ops": [{"name": "s", "op": "dot", "args": ["x", w]}], "backward": [{"output": "s"}]}))
    np.testing.assert_array_equal(ns.bindings["x"].grad, [2.0, 3.0])
    assert w.grad is None and ns.bindings["s"].grad_fn.next[1] is None


def test_a_failing_program_leaves_an_empty_namespace_empty_and_usable():
    ns = Namespace()
    with pytest.raises(E.ShapeError):
        ns.run(Program.from_dict({"inputs": {"x": {"data": [1.0, 2.0], "requires_grad": True}},
                                  "ops": [{"name": "y", "expr": "x * x"},
                                          {"name": "bad", "expr": "y + [1.0, 2.0, 3.0]"}]}))
    assert ns.bindings == {}
    assert ns.run(Program.from_dict({"inputs": {"a": 1.0}}))["a"].item() == 1.0
