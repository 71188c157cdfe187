"""PyTorch's (and numpy's) spellings of ops and kwargs: one op under several names, everywhere an op is named."""

import numpy as np
import pytest

import engine as E
from engine.program import Namespace
from engine.registry import ALIASES, KWARG_ALIASES
from engine.structure import Program

X = np.arange(6.0).reshape(2, 3)


def test_every_alias_is_the_same_function_and_method_as_its_op():
    assert ALIASES, "no aliases declared"
    for alias, name in ALIASES.items():
        assert getattr(E, alias) is getattr(E, name), alias
        assert alias in E.__all__
        if E.OPS[name].method:
            assert getattr(E.Tensor, alias) is getattr(E.Tensor, name), alias
    assert not set(ALIASES) & set(E.OPS), "an alias shadows an op"


@pytest.mark.parametrize("alias, name", [("clamp", "clip"), ("cat", "concat"), ("permute", "transpose"),
                                         ("view", "reshape"), ("expand", "broadcast_to"), ("absolute", "abs"),
                                         ("atan", "arctan"), ("asin", "arcsin"), ("atan2", "arctan2"),
                                         ("repeat_interleave", "repeat"), ("movedim", "moveaxis"), ("amax", "max")])
def test_the_torch_spellings_the_catalog_promises(alias, name):
    assert ALIASES[alias] == name
    assert alias in E.OPS[name].describe()["aliases"]


def test_torch_style_calls_give_torch_style_results():
    x = E.Tensor(X, requires_grad=True)
    np.testing.assert_array_equal(x.sum(dim=1, keepdim=True).data, X.sum(axis=1, keepdims=True))
    assert x.sum(dim=1).grad_fn.name == "SumBackward1"
    assert x.view(3, 2).shape == (3, 2) and x.view(6).shape == (6,) and x.permute(1, 0).shape == (3, 2)
    assert x.expand(4, 2, 3).shape == (4, 2, 3)
    assert E.cat([x, x], dim=1).shape == (2, 6)
    np.testing.assert_array_equal(x.clamp(min=1.5, max=4).data, np.clip(X, 1.5, 4))
    np.testing.assert_array_equal(E.var(x, dim=1, correction=1).data, X.var(axis=1, ddof=1))
    np.testing.assert_array_equal(E.flip(x, dim=0).data, X[::-1])
    np.testing.assert_array_equal(E.roll(x, shifts=1, dim=1).data, np.roll(X, 1, axis=1))
    np.testing.assert_array_equal(E.tile(x, dims=[1, 2]).data, np.tile(X, [1, 2]))


def test_a_kwarg_given_twice_under_two_spellings_is_refused():
    with pytest.raises(E.OpError, match="'sum' got kwarg 'axis' twice \\(also as 'dim'\\)"):
        E.sum(E.Tensor(X), axis=0, dim=1)
    with pytest.raises(E.OpError, match="unknown kwarg 'dim'"):
        E.exp(E.Tensor(X), dim=0)  # only ops with an axis take dim


def test_the_catalog_lists_kwarg_spellings_where_they_apply():
    kwargs = {k["name"]: k for k in E.OPS["sum"].describe()["kwargs"]}
    assert kwargs["axis"]["aliases"] == ["dim"] and kwargs["keepdims"]["aliases"] == ["keepdim"]
    assert {k["name"]: k["aliases"] for k in E.OPS["transpose"].describe()["kwargs"]} == {"axes": ["dims"]}
    assert all(k["aliases"] == [] for k in E.OPS["clip"].describe()["kwargs"])
    for alias, targets in KWARG_ALIASES.items():
        assert alias not in {k for o in E.OPS.values() for k in o.kwargs}, f"{alias} is a kwarg of its own"
        assert targets


def test_aliases_work_as_op_names_in_programs_and_in_expressions():
    ns = Namespace()
    out = ns.run(Program.from_dict({
        "inputs": {"x": {"data": X.tolist(), "requires_grad": True}},
        "ops": [{"name": "a", "op": "clamp", "args": ["x"], "kwargs": {"min": 1.0}},
                {"name": "b", "op": "cat", "args": ["a", "a"], "kwargs": {"dim": 1}},
                {"name": "c", "expr": "b.permute(1, 0).sum(dim=0)"},
                {"name": "out", "op": "sum", "args": ["c"], "kwargs": {"keepdim": True, "dim": 0}}],
        "backward": [{"output": "out"}]}))
    assert out["a"].grad_fn.name == "ClampBackward1" and out["b"].grad_fn.name == "CatBackward0"
    np.testing.assert_array_equal(out["x"].grad, np.where(X >= 1.0, 2.0, 0.0))


def test_an_unknown_name_suggests_aliases_too():
    with pytest.raises(E.OpError, match="did you mean 'clamp'"):
        Namespace().run(Program.from_dict({"inputs": {"x": [1.0]},
                                           "ops": [{"name": "y", "op": "clamps", "args": ["x"]}]}))

