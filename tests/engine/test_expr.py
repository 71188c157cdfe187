"""The expression language: what it computes on real tensors, and how it refuses everything else."""

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine import ExprError, OpError, Tensor, UnknownNameError
from engine.dispatch import apply
from engine.expr import Expr, count_ops, evaluate, parse


def apply_op(name, args, kwargs):
    return apply(engine.OPS[name], tuple(args), kwargs)


def lookup_in(env):
    def lookup(name):
        if name not in env:
            raise UnknownNameError(f"unknown name '{name}'", name=name)
        return env[name]

    return lookup


def run(text, **env):
    return evaluate(parse(text), lookup_in(env), apply_op)


def recorded(text, **env):
    """The op calls evaluating text makes, as (op, args, kwargs)."""
    calls = []

    def call(name, args, kwargs):
        calls.append((name, list(args), kwargs))
        return apply_op(name, args, kwargs)

    evaluate(parse(text), lookup_in(env), call)
    return calls


def value(result):
    return np.asarray(result.data if isinstance(result, Tensor) else result)


A = np.arange(60, dtype=np.float64).reshape(4, 5, 3)


# ---------------------------------------------------------------------------- the seed and arithmetic

def test_seed_program_values_grad_fns_and_gradient():
    x = Tensor([[1.0, 1.0], [1.0, 1.0]], requires_grad=True)
    z = run("(x + 2) * (x + 2) * 3", x=x)
    assert z.grad_fn.name == "MulBackward0"
    np.testing.assert_array_equal(z.data, np.full((2, 2), 27, np.float32))
    out = run("mean(z)", z=z)
    assert out.grad_fn.name == "MeanBackward0"
    assert out.item() == 27
    out.backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 4.5, np.float32))


X = np.arange(1.0, 4.0)


@pytest.mark.parametrize("text, expected", [
    ("-x ** 2", -(X ** 2)),
    ("2 * x + 1", 2 * X + 1),
    ("1 + 2 * x", 1 + 2 * X),
    ("(1 + 2) * x", 3 * X),
    ("x - 1 - 1", X - 2),
    ("x / 2 / 2", X / 4),
    ("2 ** 3 ** 2", np.float64(512)),
    ("-2 ** 2", np.float64(-4)),
    ("(-2) ** 2", np.float64(4)),
    ("- -x", X),
    ("+x * 2", X * 2),
    ("x ** -1", 1 / X),
])
def test_precedence_and_associativity_are_python_s(text, expected):
    np.testing.assert_array_equal(value(run(text, x=Tensor(X))), expected)


def test_unary_minus_is_neg_and_negative_literals_fold():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert run("-x ** 2", x=x).grad_fn.name == "NegBackward0"
    assert parse("-2").code == parse("-(2)").code
    assert run("-2") == -2 and run("-2.5") == -2.5
    assert [c[0] for c in recorded("x * -2", x=x)] == ["mul"]


def test_matmul_operator():
    a = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    b = Tensor(np.arange(12.0).reshape(3, 4))
    out = run("a @ b", a=a, b=b)
    assert out.grad_fn.name == "MmBackward0"
    np.testing.assert_array_equal(out.data, a.data @ b.data)


def test_comparisons_give_bool_tensors():
    x = Tensor([-1.0, 0.0, 2.0])
    for text, want in [("x < 0", [True, False, False]), ("x <= 0", [True, True, False]),
                       ("x > 0", [False, False, True]), ("x >= 0", [False, True, True]),
                       ("x == 0", [False, True, False]), ("x != 0", [True, False, True])]:
        np.testing.assert_array_equal(run(text, x=x).data, want)
    np.testing.assert_array_equal(run("where(x > 0, x, 0)", x=x).data, [0, 0, 2])


# ---------------------------------------------------------------------------- calls and kwargs

@pytest.mark.parametrize("text, expected", [
    ("sum(a, axis=0, keepdims=True)", A.sum(axis=0, keepdims=True)),
    ("sum(a, 0, True)", A.sum(axis=0, keepdims=True)),
    ("sum(a, axis=(0, 2))", A.sum(axis=(0, 2))),
    ("mean(a, axis=-1)", A.mean(axis=-1)),
    ("clip(a, min=10, max=20.5)", np.clip(A, 10, 20.5)),
    ("clip(a, min=-1)", np.clip(A, -1, None)),
    ("clip(a, 3, 4)", np.clip(A, 3, 4)),
    ("reshape(a, shape=[6, -1])", A.reshape(6, -1)),
    ("reshape(a, [6, -1])", A.reshape(6, -1)),
    ("transpose(a, axes=(2, 0, 1))", A.transpose(2, 0, 1)),
    ("concat(a, a, axis=1)", np.concatenate([A, A], axis=1)),
    ("stack(a, a)", np.stack([A, A])),
    ("var(a, axis=None, ddof=1)", A.var(ddof=1)),
    ("add(a, [1, 2, 3])", A + [1, 2, 3]),
    ("exp(a / 60) * 2", np.exp(A / 60) * 2),
])
def test_calls_with_positional_and_keyword_arguments(text, expected):
    np.testing.assert_allclose(run(text, a=Tensor(A)).data, expected)


def test_string_kwarg_for_dtype():
    out = run('astype(x, dtype="float64")', x=Tensor([1.0, 2.0]))
    assert out.dtype == np.float64
    assert run('astype(x, "int64")', x=Tensor([1.5])).dtype == np.int64


def test_kwargs_reach_the_op_as_written_in_json():
    calls = recorded("reshape(x, shape=(2, -1))", x=Tensor(np.zeros(4)))
    assert calls == [("reshape", calls[0][1], {"shape": [2, -1]})]


# ---------------------------------------------------------------------------- subscripts

@pytest.mark.parametrize("text, expected", [
    ("a[0]", A[0]),
    ("a[-1]", A[-1]),
    ("a[1:3]", A[1:3]),
    ("a[::2]", A[::2]),
    ("a[::-1]", A[::-1]),
    ("a[1:]", A[1:]),
    ("a[:-1, ::2]", A[:-1, ::2]),
    ("a[:, 1]", A[:, 1]),
    ("a[0, 1:3, None, ...]", A[0, 1:3, None, ...]),
    ("a[..., -1]", A[..., -1]),
    ("a[None]", A[None]),
    ("a[-3:-1:1, 4, -2]", A[-3:-1:1, 4, -2]),
    ("a[()]", A[()]),
    ("a[1][2]", A[1][2]),
    ("a[(0, 1)]", A[0, 1]),
])
def test_subscripts_equal_numpy(text, expected):
    out = run(text, a=Tensor(A, requires_grad=True))
    np.testing.assert_array_equal(out.data, expected)
    assert out.grad_fn.op.name == "index"  # its grad_fn name follows torch's overloads (Select, Slice...)


def test_subscript_key_is_the_wire_form_of_index():
    calls = recorded("a[0, 1:3, None, ..., ::2]", a=Tensor(np.zeros((2, 3, 4))))
    assert calls[0][0] == "index" and calls[0][2] == {"key": [0, "1:3", None, "...", "::2"]}
    assert recorded("a[:]", a=Tensor(np.zeros(3)))[0][2] == {"key": [":"]}


def test_subscript_by_a_tensor_takes_along_axis_0():
    a = Tensor(A, requires_grad=True)
    i = Tensor([2, 0, 2])
    out = run("a[i]", a=a, i=i)
    np.testing.assert_array_equal(out.data, A[[2, 0, 2]])
    assert recorded("a[i]", a=a, i=i)[0][0] == "take"
    np.testing.assert_array_equal(run("a[i - 1]", a=a, i=i).data, A[[1, -1, 1]])
    np.testing.assert_array_equal(run("a[[3, 1]]", a=a).data, A[[3, 1]])


def test_every_evaluation_gets_fresh_kwargs():
    expr = parse("a[0, ::2]")

    def call(name, args, kwargs):
        out = apply_op(name, args, kwargs)
        kwargs["key"].append(99)  # a careless callee must not change the parsed expression
        return out

    a = Tensor(np.arange(12.0).reshape(3, 4))
    for _ in range(2):
        np.testing.assert_array_equal(evaluate(expr, lookup_in({"a": a}), call).data, [0, 2])


# ---------------------------------------------------------------------------- names and counting

def test_unknown_names_come_from_lookup_and_inf_nan_are_just_names():
    with pytest.raises(UnknownNameError, match="'y'"):
        run("x + y", x=Tensor([1.0]))
    with pytest.raises(UnknownNameError, match="'inf'"):
        run("x + inf", x=Tensor([1.0]))
    assert value(run("x * nan", x=Tensor([1.0]), nan=float("nan"))).item() != 0


def test_names_are_listed_in_order_of_first_use():
    assert parse("mean(b * a + b[0])").names == ("b", "a")


@pytest.mark.parametrize("text, n", [
    ("mean((x + 2) * (x + 2) * 3)", 5), ("x", 0), ("+x", 0), ("-2", 0), ("- -2", 0), ("-x", 1),
    ("x[0]", 1), ("x[i]", 1), ("sum(x, axis=0) @ x", 2), ("3", 0),
])
def test_count_ops_counts_op_applications(text, n):
    assert count_ops(parse(text)) == n
    env = {"x": Tensor(np.ones((2, 2))), "i": Tensor([0])}
    if text != "3" and not text.lstrip("- ").isdigit():
        assert len(recorded(text, **env)) == n


def test_expr_is_immutable_and_prints_as_its_text():
    expr = parse("x + 1")
    assert isinstance(expr, Expr) and str(expr) == "x + 1"
    with pytest.raises(AttributeError):
        expr.code = ()


# ---------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("text, error, fragment", [
    ("x.shape", ExprError, "attribute access is not allowed: '.shape' (allowed: x.T, x.data, x.grad"),
    ("np.sum(x)", ExprError, "attribute access"),
    ("x.__class__", ExprError, "attribute access"),
    ("lambda: x", ExprError, "lambda"),
    ("import os", ExprError, "invalid syntax"),
    ("__import__('os')", OpError, "unknown op '__import__'"),
    ("[i for i in x]", ExprError, "comprehensions"),
    ("(i for i in x)", ExprError, "generator"),
    ("{i: i for i in x}", ExprError, "comprehensions"),
    ('f"{x}"', ExprError, "f-strings"),
    ("(y := x)", ExprError, "walrus"),
    ("mean(*x)", ExprError, "starred"),
    ("mean(**x)", ExprError, "'**'"),
    ("'abc'", ExprError, "strings are only allowed as keyword values"),
    ("x + 'a'", ExprError, 'strings are only allowed as keyword values (dtype="float64") (column 5)'),
    ("b'abc'", ExprError, "bytes"),
    ("x + 1j", ExprError, "complex"),
    ("True", ExprError, "True is only allowed as a keyword value"),
    ("x * None", ExprError, "None is only allowed"),
    ("...", ExprError, "'...' is only allowed in subscripts"),
    ("x if x else x", ExprError, "conditional"),
    ("{1, 2}", ExprError, "set"),
    ("{'a': 1}", ExprError, "dict"),
    ("x and x", ExprError, "'and' is not allowed"),
    ("not x", ExprError, "'not'"),
    ("~x", ExprError, "'~'"),
    ("x // 2", ExprError, "'//'"),
    ("x % 2", ExprError, "'%'"),
    ("x in x", ExprError, "'in'"),
    ("x is x", ExprError, "'is'"),
    ("0 < x < 1", ExprError, "chained comparison"),
    ("x(1)", OpError, "unknown op 'x'"),
    ("sine(x)", OpError, "did you mean 'sin'"),
    ("index_backward(x, shape=[1], key=[0])", OpError, "unknown op 'index_backward'"),
    ("x[0](1)", ExprError, "only catalog ops can be called"),
    ("exp(x, x)", OpError, "'exp' takes 1 argument"),
    ("take(x)", OpError, "'take' takes 2 arguments"),
    ("concat()", OpError, "at least one tensor"),
    ("sum(x, axs=0)", OpError, "unknown kwarg 'axs'"),
    ("sum(x, axis=0.5)", OpError, "'axis' must be an integer"),
    ("sum(x, 0, axis=1)", OpError, "both by position and by name"),
    ("sum(x, axis=1, axis=2)", ExprError, "'axis' repeated"),
    ("sum(x, axis=y)", ExprError, "kwarg 'axis' must be a literal"),
    ("clip(x, lo)", ExprError, "kwarg 'min' must be a literal"),
    ('astype(x, dtype="float16")', OpError, "'dtype' must be one of"),
    ("add(x, [y, 1])", ExprError, "list items must be numbers"),
    ("x[1.5]", ExprError, "subscripts must be integers"),
    ("x[True]", ExprError, "True"),
    ("x['a']", ExprError, "strings"),
    ("x[i:3]", ExprError, "slice bounds must be integers written out"),
    ("x[::0]", ExprError, "slice step cannot be zero"),
    ("x[..., 0, ...]", ExprError, "single ellipsis"),
    ("x[i, 0]", ExprError, "must stand alone"),
    ("x[0:2.5]", ExprError, "slice bounds must be integers"),
    ("x + 99999999999999999999", ExprError, "does not fit in int64"),
    ("x +", ExprError, "invalid syntax (at the end)"),
    ("mean(x", ExprError, "'(' was never closed (column 5)"),
    ("x y", ExprError, "invalid syntax (column 3)"),
    ("x\x00", ExprError, "null bytes"),
    ("x; y", ExprError, "invalid syntax"),
    ("x = 1", ExprError, "invalid syntax"),
    ("1" * 5000, ExprError, "digits"),
    ("", ExprError, "empty"),
    ("  \n\t ", ExprError, "empty"),
])
def test_refusals_are_typed_and_say_what_is_wrong(text, error, fragment):
    with pytest.raises(error) as info:
        parse(text)
    assert type(info.value) is error
    assert fragment in info.value.detail


def test_columns_count_characters_across_leading_blanks_and_lines():
    with pytest.raises(ExprError, match=r"\(column 7\)$"):
        parse("  é + x.y")
    with pytest.raises(ExprError, match=r"\(line 2, column 3\)$"):
        parse("mean(\n  x.y)")
    with pytest.raises(ExprError, match=r"\(line 3, column 1\)$"):
        parse("\n\nx.y")


def test_leading_and_trailing_blanks_are_fine():
    assert value(run("  x + 1\n", x=Tensor([1.0]))).item() == 2


def test_non_string_input():
    for bad in (None, 3, b"x", ["x"]):
        with pytest.raises(ExprError, match="must be a string"):
            parse(bad)


def test_length_limit():
    with pytest.raises(ExprError, match="over the limit of 10000"):
        parse("x" * 10_001)
    with pytest.raises(ExprError, match="over the limit of 5"):
        parse("x + xx", max_length=5)


def test_nesting_attacks_fail_cleanly():
    with pytest.raises(ExprError, match="too many nested parentheses"):
        parse("(" * 5000 + "x" + ")" * 5000, max_length=20_000)
    with pytest.raises(ExprError, match="too many nested parentheses"):
        parse("x" + "[x" * 3000 + "]" * 3000, max_length=20_000)
    with pytest.raises(ExprError, match="too deeply nested"):
        parse("-" * 5000 + "x")


def test_node_limit_names_the_limit():
    with pytest.raises(ExprError, match="more than 2000 nodes"):
        parse("+".join(["x"] * 20_000), max_length=10**6)
    with pytest.raises(ExprError, match="more than 2000 nodes"):
        parse("+".join(["x"] * 1001))
    with pytest.raises(ExprError, match="more than 10 nodes"):
        parse("sum(x, axis=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9])", max_nodes=10)
    with pytest.raises(ExprError, match="more than 2000 nodes"):
        parse("add(x, [" + ", ".join(["1"] * 3000) + "])", max_length=10**6)


def test_deep_expressions_compile_and_evaluate_without_recursion():
    expr = parse("+".join(["x"] * 1000))  # 1999 nodes, a left-nested chain 1000 deep
    x = Tensor([1.0, 2.0], requires_grad=True)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        out = evaluate(expr, lookup_in({"x": x}), apply_op)
    finally:
        sys.setrecursionlimit(limit)
    np.testing.assert_array_equal(out.data, [1000, 2000])
    assert count_ops(expr) == 999
    deep = parse("-" * 500 + "x")
    assert count_ops(deep) == 500 and value(evaluate(deep, lookup_in({"x": x}), apply_op)).tolist() == [1, 2]


# ---------------------------------------------------------------------------- property: same as numpy

# A formula is (precedence, text, numpy function of x, whether it reads x). Every op reads x, a float64
# vector, so that numpy's dtype rules and the engine's (torch's: numbers alone make float32) agree.
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4, "atom": 9}
_NP = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide}
_X = (_PREC["atom"], "x", lambda x: x, True)


def _number(n):
    return _PREC["atom"], repr(n), lambda x: n, False


_leaves = st.one_of(st.just(_X), st.integers(0, 9).map(_number), st.floats(0.25, 10).map(_number))


def _wrap(node, needed, extra=False):
    return f"({node[1]})" if needed or extra else node[1]


def _extend(children):
    def binary(op, left, right, extra):
        if not (left[3] or right[3]):
            right = _X
        p = _PREC[op]
        text = f"{_wrap(left, left[0] < p, extra)} {op} {_wrap(right, right[0] <= p)}"
        return p, text, lambda x: _NP[op](left[2](x), right[2](x)), True

    def power(base, exponent):
        # literal exponents keep powers defined; the right operand's own grammar is tested above
        base = base if base[3] else _X
        text = f"{_wrap(base, base[0] <= _PREC['**'])} ** {exponent!r}"
        return _PREC["**"], text, lambda x: np.power(base[2](x), exponent), True

    def negate(operand):
        if not operand[3]:  # -2 is a literal, as in Python
            n = -operand[2](None)
            return _PREC["neg"], f"-{operand[1]}", lambda x: n, False
        text = f"-{_wrap(operand, operand[0] < _PREC['neg'])}"
        return _PREC["neg"], text, lambda x: np.negative(operand[2](x)), True

    return st.one_of(
        st.builds(binary, st.sampled_from(list(_NP)), children, children, st.booleans()),
        st.builds(power, children, st.sampled_from([2, 3, 0.5])),
        st.builds(negate, children),
    )


@settings(max_examples=300, deadline=None)
@given(st.recursive(_leaves, _extend, max_leaves=12), st.lists(st.floats(-5, 5), min_size=3, max_size=3))
def test_random_arithmetic_matches_numpy(tree, xs):
    _, text, fn, _ = tree
    x = np.array(xs, dtype=np.float64)
    with np.errstate(all="ignore"):
        want = fn(x)
        got = value(run(text, x=Tensor(x)))
    np.testing.assert_array_equal(got, want, err_msg=text)


# ---------------------------------------------------------------------------- PyTorch spellings: methods, .T,
# .data, .grad, aliases

@pytest.mark.parametrize("text, expected", [
    ("a.sum(dim=0)", A.sum(axis=0)),
    ("a.sum(0, keepdim=True)", A.sum(axis=0, keepdims=True)),
    ("a.mean()", A.mean()),
    ("(a / 60).exp()", np.exp(A / 60)),
    ("a.exp().sum(axis=-1)", np.exp(A).sum(axis=-1)),
    ("a[0].T", A[0].T),
    ("a.T", A.T),
    ("(a @ a[0].T).T", (A @ A[0].T).T),
    ("a.view(6, 10)", A.reshape(6, 10)),
    ("a.view([6, -1])", A.reshape(6, -1)),
    ("a.permute(2, 0, 1)", A.transpose(2, 0, 1)),
    ("a.expand(2, 4, 5, 3)", np.broadcast_to(A, (2, 4, 5, 3))),
    ("clamp(a, min=10, max=20)", np.clip(A, 10, 20)),
    ("a.clamp(max=3)", np.clip(A, None, 3)),
    ("cat([a, a], dim=1)", np.concatenate([A, A], axis=1)),
    ("stack([a, a])", np.stack([A, A])),
    ("stack((a, a + 1), axis=-1)", np.stack([A, A + 1], axis=-1)),
    ("absolute(-a)", A),
    ("atan(a / 60)", np.arctan(A / 60)),
    ("a.amax(dim=(0, 2))", A.max(axis=(0, 2))),
    ("a.swapdims(0, 2)", A.swapaxes(0, 2)),
    ("a.flip(0)", A[::-1]),
    ("a.cumsum(dim=1)", A.cumsum(axis=1)),
])
def test_torch_spellings_mean_the_catalog_op(text, expected):
    np.testing.assert_allclose(run(text, a=Tensor(A)).data, expected)


def test_a_method_is_the_op_with_the_receiver_first():
    assert recorded("x.sum(dim=0)", x=Tensor(A))[0][0] == "sum"
    assert recorded("x.sum(dim=0)", x=Tensor(A))[0][2] == {"dim": 0}  # resolved by the op, as any kwarg
    assert [c[0] for c in recorded("x.clamp(min=0).T", x=Tensor(A))] == ["clip", "transpose"]
    assert count_ops(parse("x.T.sum()")) == 2
    assert parse("x.grad + y.data").names == ("x", "y")


def test_data_and_grad_are_detached_constants():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = run("x * x", x=x)
    y.sum().backward()
    d = run("y.data", y=y)
    assert not d.requires_grad and d.is_leaf and np.shares_memory(d.data, y.data)
    g = run("x.grad", x=x)
    np.testing.assert_array_equal(g.data, [2.0, 4.0])
    assert not g.requires_grad and g.grad_fn is None
    step = run("x.data - 0.25 * x.grad", x=x)  # an SGD step, as a program writes it
    np.testing.assert_array_equal(step.data, [0.5, 1.0])
    assert not step.requires_grad
    assert run("y.data.norm()", y=y).item() == pytest.approx(np.sqrt(17.0))
    assert not run("(x * 2).data", x=x).requires_grad


def test_grad_of_a_name_without_one_is_an_error_naming_it():
    with pytest.raises(ExprError, match=r"'w' has no grad \(column 5\)"):
        run("1 + w.grad", w=Tensor([1.0], requires_grad=True))
    with pytest.raises(ExprError, match="only a name has a grad"):
        run("(w * 2).grad", w=Tensor([1.0], requires_grad=True))


@pytest.mark.parametrize("text, error, fragment", [
    ("x.shape", ExprError, "attribute access is not allowed: '.shape'"),
    ("x.sum", ExprError, "attribute access is not allowed: '.sum'"),
    ("x.data.grad", ExprError, "only a name has a grad"),
    ("np.exp(x)", ExprError, "call ops by name (exp(x)) or as methods of a tensor (x.exp())"),
    ("torch.nn.functional.gelu(x)", ExprError, "call ops by name (gelu(x))"),
    ("x.where(x, x)", OpError, "'where' is not a method"),
    ("x.stack(x)", OpError, "'stack' is not a method"),
    ("x.sine()", OpError, "unknown op 'sine'"),
    ("x.exp(x)", OpError, "'exp' takes 1 argument"),
    ("sum(x, 0, dim=1)", OpError, "got kwarg 'axis' twice (also as 'dim')"),
    ("x.sum(dim=0, axis=1)", OpError, "twice"),
    ("x.view(2, y)", ExprError, "must be a literal"),
    ("stack([x, y], y)", ExprError, "list items must be numbers"),
])
def test_attribute_and_method_refusals(text, error, fragment):
    with pytest.raises(error) as e:
        run(text, x=Tensor(A), y=Tensor(A))
    assert fragment in str(e.value)
