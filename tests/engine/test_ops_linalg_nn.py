"""Linear algebra and nn ops beyond their gradients: clear errors, limits from shapes, dtypes, call forms."""

import numpy as np
import pytest
import torch

import engine as E
from engine.errors import LimitError, LinAlgError, OpError, ShapeError
from engine.program import Namespace

rng = np.random.default_rng(7)


def T(*shape, requires_grad=True):
    return E.Tensor(rng.standard_normal(shape), requires_grad=requires_grad)


# ---------------------------------------------------------------------------- linear algebra: call forms


def test_einsum_takes_its_subscripts_first_or_by_name():
    a, b = T(2, 3), T(3, 4)
    expected = a.data @ b.data
    for out in (E.einsum("ij,jk->ik", a, b), E.einsum(a, b, subscripts="ij,jk->ik"),
                E.einsum("ij, jk", a, b)):
        np.testing.assert_allclose(out.data, expected, rtol=1e-6)


def test_einsum_in_expressions_and_programs():
    ns = Namespace()
    out = ns.run({"inputs": {"a": {"data": [[1.0, 2.0], [3.0, 4.0]], "requires_grad": True}},
                  "ops": [{"name": "t", "expr": 'einsum("ii", a)'},
                          {"name": "u", "op": "einsum", "args": ["a", "a"], "kwargs": {"subscripts": "ij,ij->"}}],
                  "backward": [{"output": "u"}]})
    assert out["t"].data == 5.0 and out["u"].data == 30.0
    np.testing.assert_allclose(ns.variable("a").grad, [[2.0, 4.0], [6.0, 8.0]])


@pytest.mark.parametrize("call, error, words", [
    (lambda a, b: E.einsum("ij,jk->ik", a), ShapeError, ["2 operand(s), got 1", "(2, 3)"]),
    (lambda a, b: E.einsum("ij,jk->ik", a, a), ShapeError, ["letter 'j'", "(2, 3) and (2, 3)"]),
    (lambda a, b: E.einsum("ijk->i", a), ShapeError, ["'ijk'", "(2, 3)"]),
    (lambda a, b: E.einsum("ij->iz", a), ShapeError, ["'z'"]),
    (lambda a, b: E.einsum("ij->ii", a), ShapeError, ["repeats"]),
    (lambda a, b: E.einsum("i1->i", a), OpError, ["subscripts"]),
    (lambda a, b: E.einsum(a, b), OpError, ["subscripts"]),
    (lambda a, b: E.tensordot(a, b, axes=[[0], [0]]), ShapeError, ["(2, 3)", "(4, 5)", "2 != 4"]),
    (lambda a, b: E.tensordot(a, b, axes=3), ShapeError, ["(2, 3) and (4, 5)"]),
    (lambda a, b: E.tensordot(a, b, axes="x"), OpError, ["axes"]),
    (lambda a, b: E.inv(a), ShapeError, ["square", "(2, 3)"]),
    (lambda a, b: E.det(b[0]), ShapeError, ["square", "(5,)"]),
    (lambda a, b: E.solve(E.Tensor(np.eye(3)), b), ShapeError, ["(3, 3)", "(4, 5)"]),
    (lambda a, b: E.tril(b[0]), ShapeError, ["(5,)"]),
    (lambda a, b: E.diag(E.Tensor(np.ones((2, 2, 2)))), ShapeError, ["1-D or 2-D", "(2, 2, 2)"]),
    (lambda a, b: E.diagonal(a, axis1=0, axis2=-2), ShapeError, ["distinct"]),
    (lambda a, b: E.trace(b[0]), ShapeError, ["(5,)"]),
])
def test_linear_algebra_errors_name_the_shapes(call, error, words):
    a, b = T(2, 3), T(4, 5)
    with pytest.raises(error) as e:
        call(a, b)
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("call, words", [
    (lambda: E.inv(E.Tensor([[1.0, 2.0], [2.0, 4.0]])), "singular"),
    (lambda: E.solve(E.Tensor([[0.0, 0.0], [0.0, 1.0]]), E.Tensor([1.0, 1.0])), "singular"),
    (lambda: E.cholesky(E.Tensor([[1.0, 2.0], [2.0, 1.0]])), "positive-definite"),
])
def test_singular_and_indefinite_matrices_are_clear_errors(call, words):
    with pytest.raises(LinAlgError, match=words) as e:
        call()
    assert e.value.kind == "linalg-error"


def test_determinants_of_singular_and_negative_matrices_match_torch():
    m = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert E.det(E.Tensor(m)).item() == 0.0
    assert E.logdet(E.Tensor(m)).item() == torch.logdet(torch.tensor(m)).item() == -np.inf
    assert np.isnan(E.logdet(E.Tensor([[-1.0, 0.0], [0.0, 1.0]])).item())


@pytest.mark.parametrize("call", [
    lambda: E.einsum("i,j->ij", E.Tensor(np.ones(100)), E.Tensor(np.ones(100))),
    lambda: E.einsum("i,j,k->ijk", E.Tensor(np.ones(30)), E.Tensor(np.ones(30)), E.Tensor(np.ones(30))),
    lambda: E.tensordot(E.Tensor(np.ones(100)), E.Tensor(np.ones(100)), axes=0),
    lambda: E.kron(E.Tensor(np.ones((10, 10))), E.Tensor(np.ones((10, 10)))),
    lambda: E.diag(E.Tensor(np.ones(100))),
])
def test_growing_linear_algebra_ops_are_refused_from_their_shapes(call):
    with E.limit_elements(5_000), pytest.raises(LimitError, match="over the limit of 5000"):
        call()


def test_integer_matrices_give_float32_like_torch():
    m = E.Tensor([[2, 1], [1, 3]])
    assert E.inv(m).dtype == np.float32 and E.det(m).dtype == np.float32
    assert E.einsum("ij->", m).dtype == np.int64
    assert E.tril(m).dtype == np.int64 and E.trace(m).dtype == np.int64
