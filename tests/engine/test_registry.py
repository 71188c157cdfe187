"""The op table: open to ops declared after `import engine`, checked at declaration, and one forward
result whichever path (short or general) an op call takes."""

from __future__ import annotations

import typing
from typing import Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine as E
from engine import Tensor, autograd, functions, gradcheck, gradgradcheck
from engine.dispatch import _apply_general, _apply_short
from engine.expr import evaluate, parse
from engine.graph import Meta
from engine.registry import OPS, Number, op


def _forget(name: str) -> None:
    """Undo a test op's declaration in every table derived from it, so that the catalog stays as shipped."""
    OPS.pop(name, None)
    functions.__dict__.pop(name, None)
    functions._methods.discard(name)
    for table in (Tensor, autograd.vjp_namespace(False), autograd.vjp_namespace(True)):
        if name in vars(table):
            delattr(table, name)


@pytest.fixture
def late_ops():
    """Two ops declared after `import engine`: a unary method with a kwarg and a binary function."""

    @op(vjp=(lambda F, g, ans, a, power: g * (power * a ** (power - 1.0)),), saves="inputs")
    def late_power(a, *, power: Number = 3.0):
        """a ** power, declared late."""
        return np.power(a, power)

    @op(vjp=(lambda F, g, ans, a, b: g * F.cos(a) * b, lambda F, g, ans, a, b: g * F.sin(a)), saves="inputs",
        method=False)
    def late_sinmul(a, b):
        """sin(a) * b, declared late."""
        return np.sin(a) * b

    yield late_power, late_sinmul
    _forget("late_power")
    _forget("late_sinmul")


def test_an_op_declared_after_import_runs_forward_as_function_callable_and_method(late_ops):
    late_power, late_sinmul = late_ops
    x = Tensor([1.0, 2.0, -0.5], requires_grad=True)
    want = np.array([1.0, 8.0, -0.125], dtype=np.float32)
    for out in (E.late_power(x), late_power(x), x.late_power(), OPS["late_power"](x)):
        np.testing.assert_allclose(out.data, want)
        assert out.grad_fn.name == "LatePowerBackward0"
    np.testing.assert_allclose(E.late_power(x, power=2.0).data, [1.0, 4.0, 0.25])
    assert not hasattr(x, "late_sinmul")  # declared method=False
    np.testing.assert_allclose(late_sinmul(x, 2.0).data, 2.0 * np.sin(x.data), rtol=1e-6)


def test_an_op_declared_after_import_has_backward_and_double_backward(late_ops):
    late_power, late_sinmul = late_ops
    x = Tensor([1.0, 2.0, -0.5], requires_grad=True)
    E.late_power(x).sum().backward()
    np.testing.assert_allclose(x.grad, 3.0 * x.data ** 2)
    (gx,) = E.grad(x.late_power(power=2.0).sum(), x, create_graph=True)
    assert gx.grad_fn is not None
    gx.sum().backward()
    np.testing.assert_allclose(x.grad, 3.0 * x.data ** 2 + 2.0)

    a = Tensor(np.array([0.3, -1.2], dtype=np.float64), requires_grad=True)
    b = Tensor(np.array([2.0, 0.5], dtype=np.float64), requires_grad=True)
    assert gradcheck(lambda a, b: E.late_sinmul(a, b), (a, b))
    assert gradgradcheck(lambda a, b: late_sinmul(a, b), (a, b))
    assert gradgradcheck(lambda a: a.late_power(power=4.0), (a,))


def test_an_op_declared_after_import_is_in_the_catalog_and_expressions(late_ops):
    assert OPS["late_power"].describe()["kwargs"] == [
        {"name": "power", "type": "number", "required": False, "default": 3.0, "aliases": []}]
    assert OPS["late_power"].describe()["family"] == "test registry"  # no family(): named after its module
    x = Tensor([2.0])
    out = evaluate(parse("late_power(x, power=2)"), {"x": x}.__getitem__, lambda name, a, k: OPS[name](*a, **k))
    assert out.item() == 4.0


# ---------------------------------------------------------------------------- declarations are checked


def test_a_typo_in_saves_fails_at_declaration():
    with pytest.raises(TypeError, match=r"op 'typo': saves='input' must name only 'inputs' and/or 'output'"):
        @op(vjp=(lambda F, g, ans, a: g * a,), saves="input")
        def typo(a):
            return a
    assert "typo" not in OPS


def test_a_vjp_with_the_wrong_number_of_rules_fails_at_declaration():
    with pytest.raises(TypeError, match=r"op 'two_args': vjp must be a tuple of 2 rule\(s\)"):
        @op(vjp=(lambda F, g, ans, a, b: g,))
        def two_args(a, b):
            return a + b
    assert "two_args" not in OPS


def test_a_vjp_rule_that_cannot_take_the_kwargs_fails_at_declaration():
    with pytest.raises(TypeError, match=r"op 'scaled': vjp rule '<lambda>' must take \(F, g, ans, a, by\)"):
        @op(vjp=(lambda F, g, ans, a: g,))
        def scaled(a, *, by: Number = 2.0):
            return a * by
    assert "scaled" not in OPS


def test_a_kwarg_without_a_kwarg_type_fails_at_declaration():
    with pytest.raises(TypeError, match="op 'untyped': kwarg 'by' needs a KwargType annotation"):
        @op()
        def untyped(a, *, by: float = 2.0):
            return a * by


def test_a_literal_of_strings_is_a_choice_kwarg_checked_and_shown_in_the_catalog():
    @op(vjp=(lambda F, g, ans, a, side: g,), method=False)
    def late_side(a, *, side: Literal["left", "right"] = "left"):
        """a, whichever side."""
        return np.asarray(a)

    try:
        entry = OPS["late_side"].describe()["kwargs"]
        assert entry == [{"name": "side", "type": '"left" | "right"', "required": False, "default": "left",
                          "aliases": []}]
        assert E.late_side(Tensor([1.0]), side="right").tolist() == [1.0]
        with pytest.raises(E.OpError, match="kwarg 'side' must be one of 'left', 'right'"):
            E.late_side(Tensor([1.0]), side="up")
    finally:
        _forget("late_side")


def test_kwarg_types_tell_a_type_checker_the_value_a_forward_receives():
    # (Annotated aliases: the value type for a checker, the KwargType for the registry)
    hints = typing.get_type_hints(OPS["sum"].forward, include_extras=True)
    assert typing.get_args(hints["axis"])[0] == int | tuple[int, ...] | None
    assert OPS["sum"].kwargs["axis"][0].name == "int | int[] | null"


def test_methods_are_the_ops_that_say_so():
    for name, opdef in OPS.items():
        bound = getattr(Tensor, name, None)
        if opdef.method and opdef.public:
            assert bound is opdef.function, name
        else:
            assert bound is None, name
    assert not hasattr(Tensor, "where")  # torch's Tensor.where takes its arguments in another order


def test_nodes_keep_every_kwarg_defaults_included():
    x = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    assert E.sum(x).grad_fn.kwargs == {"axis": None, "keepdims": False}  # short path
    assert E.sum(x, axis=0).grad_fn.kwargs == {"axis": 0, "keepdims": False}  # general path
    assert E.var(x, 1, ddof=1).grad_fn.kwargs == {"axis": 1, "keepdims": False, "ddof": 1}
    assert (x + 1).grad_fn.kwargs == {}


# ---------------------------------------------------------------------------- one result from both paths

PLAIN = sorted(name for name, o in OPS.items() if o.plain and o.public)
DTYPES = [np.float32, np.float64, np.int64, np.bool_]
SHAPES = [(), (3,), (2, 3)]


@st.composite
def operands(draw):
    """A Tensor (a leaf that may require grad, or a node's output) or a Python number."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.one_of(st.integers(-3, 3), st.floats(-3, 3, allow_nan=False)))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(st.sampled_from(SHAPES))
    values = draw(st.lists(st.floats(-3, 3, allow_nan=False, width=32), min_size=6, max_size=6))
    data = np.array(values[:int(np.prod(shape))], dtype=np.float64).reshape(shape).astype(dtype)
    requires_grad = dtype.kind == "f" and draw(st.booleans())
    t = Tensor(data, requires_grad=requires_grad)
    if requires_grad and draw(st.booleans()):
        t = E.mul(t, 1.5)  # not a leaf: its edge is its node
    return t


def _same_input(x, y):
    if isinstance(x, Tensor) or isinstance(y, Tensor):
        return x is y
    if isinstance(x, Meta):
        return isinstance(y, Meta) and x.shape == y.shape and x.dtype == y.dtype
    return type(x) is type(y) and x == y


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PLAIN), st.lists(operands(), min_size=2, max_size=2), st.booleans())
def test_short_and_general_paths_give_the_same_tensor_and_node(name, pair, grad_mode):
    opdef = OPS[name]
    args = tuple(pair[:opdef.arity])
    with np.errstate(all="ignore"), E.set_grad_enabled(grad_mode):
        short = _apply_short(opdef, args)
        if short is None:
            return  # the short path declined (an error to explain, a call it does not take): nothing to compare
        general = _apply_general(opdef, args, {})
    assert short.dtype == general.dtype
    np.testing.assert_array_equal(short.data, general.data)
    assert short.requires_grad == general.requires_grad
    assert (short.grad_fn is None) == (general.grad_fn is None)
    if short.grad_fn is None:
        return
    s, g = short.grad_fn, general.grad_fn
    assert s.name == g.name
    assert s.op is g.op and s.kwargs == g.kwargs
    assert len(s.next) == len(g.next) and all(a is b for a, b in zip(s.next, g.next))
    assert len(s.inputs) == len(g.inputs) and all(_same_input(a, b) for a, b in zip(s.inputs, g.inputs))
    assert (s.out is None) == (g.out is None)
    if s.out is not None:
        np.testing.assert_array_equal(s.out, g.out)


# ---------------------------------------------------------------------------- one gradient from both vjp callers

DIFFERENTIABLE = sorted(name for name, o in OPS.items() if o.plain and o.public and o.vjp is not None)


def _same_grad(x, y):
    assert (x is None) == (y is None)
    if x is not None:
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(DIFFERENTIABLE), st.lists(operands(), min_size=2, max_size=2))
def test_fitted_and_general_vjp_callers_give_the_same_gradients(name, pair):
    """A plain backward calls each op's `plain_vjp`, fitted to its declaration; `call_vjp` is the general
    caller (and the one under create_graph). Same node, same upstream gradient: the same gradients."""
    opdef = OPS[name]
    with np.errstate(all="ignore"):
        try:
            out = opdef.function(*pair[:opdef.arity])
        except E.EngineError:
            return
        node = out.grad_fn
        if node is None:
            return
        g = np.linspace(-1.0, 1.0, out.data.size).reshape(out.data.shape).astype(out.data.dtype)
        plain = autograd.vjp_namespace(False)
        fitted = opdef.plain_vjp(plain, g, node)
        general = opdef.call_vjp(plain, g, node, False)
    assert len(fitted) == len(general) == len(node.next)
    for a, b in zip(fitted, general):
        _same_grad(a, b)


def test_a_replaced_vjp_rule_is_the_one_a_plain_backward_calls(monkeypatch):
    x = Tensor(np.array([0.3, 0.7], dtype=np.float32), requires_grad=True)
    monkeypatch.setattr(OPS["sin"], "vjp", (lambda F, g, ans, a: g * 2.0,))
    E.sin(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
