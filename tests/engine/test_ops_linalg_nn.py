"""Linear algebra and nn ops beyond their gradients: clear errors, limits from shapes, dtypes, call forms."""

import itertools
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import engine as E
from engine.errors import LimitError, LinAlgError, OpError, ShapeError
from engine.program import Namespace
from engine.structure import Program

rng = np.random.default_rng(7)


def run(ns: Namespace, document: dict):
    return ns.run(Program.from_dict(document))


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
    out = run(ns, {"inputs": {"a": {"data": [[1.0, 2.0], [3.0, 4.0]], "requires_grad": True}},
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


# ---------------------------------------------------------------------------- nn: call forms


def test_optional_tensors_may_be_left_out_or_given_by_name():
    x, w, b = T(4, 3), T(2, 3), T(2)
    expected = x.data @ w.data.T + b.data
    for out in (E.linear(x, w, b), E.linear(x, w, bias=b), x.linear(w, b)):
        np.testing.assert_allclose(out.data, expected, rtol=1e-6)
    np.testing.assert_allclose(E.linear(x, w).data, x.data @ w.data.T, rtol=1e-6)
    with pytest.raises(OpError, match=r"'linear' takes 2 to 3 arguments \(x, weight, bias=null\), got 1"):
        E.linear(x)
    entry = E.OPS["conv2d"].describe()
    assert entry["args"] == ["x", "weight", "bias=null"] and entry["arity"] == 3


def test_nn_ops_in_expressions_and_programs():
    ns = Namespace()
    out = run(ns, {"inputs": {"x": {"data": np.ones((1, 1, 4, 4)).tolist(), "requires_grad": True},
                             "w": {"data": np.ones((2, 1, 3, 3)).tolist(), "requires_grad": True}},
                  "ops": [{"name": "c", "expr": "conv2d(x, w, padding=1, stride=2)"},
                          {"name": "p", "op": "max_pool2d", "args": ["c"], "kwargs": {"kernel_size": 2}},
                          {"name": "y", "expr": "linear(flatten(p), reshape(w, shape=[2, 9])[:, 0:2])"},
                          {"name": "loss", "expr": 'cross_entropy(y, 1, label_smoothing=0.1)'}],
                  "backward": [{"output": "loss"}]})
    assert out["c"].shape == (1, 2, 2, 2) and out["p"].shape == (1, 2, 1, 1) and out["y"].shape == (2,)
    assert out["loss"].grad_fn.name == "AddBackward0"
    assert ns.variable("x").grad.shape == (1, 1, 4, 4) and ns.variable("w").grad.shape == (2, 1, 3, 3)
    with pytest.raises(OpError, match=r"'layer_norm' takes 1 to 3 arguments"):
        run(ns, {"ops": [{"name": "z", "expr": "layer_norm(normalized_shape=[4])"}]})


@pytest.mark.parametrize("call, error, words", [
    (lambda: E.linear(T(4, 3), T(2, 4)), ShapeError, ["(4, 3)", "(2, 4)"]),
    (lambda: E.linear(T(4, 3), T(2, 3), T(3)), ShapeError, ["bias", "(2,)", "(3,)"]),
    (lambda: E.conv2d(T(1, 3, 5, 5), T(2, 2, 3, 3)), ShapeError, ["3 input channels", "(2, 2, 3, 3)"]),
    (lambda: E.conv2d(T(1, 1, 2, 2), T(2, 1, 3, 3)), ShapeError, ["smaller than the kernel"]),
    (lambda: E.conv2d(T(5, 5), T(2, 1, 3, 3)), ShapeError, ["(5, 5)", "(2, 1, 3, 3)"]),
    (lambda: E.conv1d(T(1, 1, 5), T(1, 1, 2), stride=0), OpError, ["stride"]),
    (lambda: E.conv1d(T(1, 1, 5), T(1, 1, 2), stride=2, padding="same"), OpError, ["'same' needs stride 1"]),
    (lambda: E.conv2d(T(1, 1, 5, 5), T(1, 1, 2, 2), stride=[1, 1, 1]), OpError, ["stride", "2 value(s)"]),
    (lambda: E.conv2d(T(1, 1, 5, 5), T(1, 1, 2, 2), padding="full"), OpError, ["padding", "'same'"]),
    (lambda: E.max_pool2d(T(1, 1, 4, 4), kernel_size=2, padding=2), OpError, ["half of the kernel size"]),
    (lambda: E.avg_pool2d(T(4, 4), kernel_size=2), ShapeError, ["(4, 4)"]),
    (lambda: E.layer_norm(T(2, 3), normalized_shape=[2]), ShapeError, ["[2]", "(2, 3)"]),
    (lambda: E.layer_norm(T(2, 3), T(2), normalized_shape=[3]), ShapeError, ["weight", "(2,)"]),
    (lambda: E.batch_norm(T(1, 3)), ShapeError, ["more than 1 value per channel"]),
    (lambda: E.batch_norm(T(4, 3), T(4)), ShapeError, ["weight", "(4,)"]),
    (lambda: E.embedding(E.Tensor([0, 3]), T(3, 2)), ShapeError, ["index 3", "3 embeddings"]),
    (lambda: E.dropout(T(3), p=1.5, seed=0), OpError, ["between 0 and 1"]),
    (lambda: E.dropout(T(3), p=0.5), OpError, ["seed"]),
    (lambda: E.binary_cross_entropy(E.Tensor([0.5, 1.5]), E.Tensor([0.0, 1.0])), OpError, ["between 0 and 1"]),
    (lambda: E.binary_cross_entropy(E.Tensor([0.5, 0.5]), E.Tensor([1.0])), ShapeError, ["(2,)", "(1,)"]),
    (lambda: E.nll_loss(T(3, 4), E.Tensor([0, 4, 1])), ShapeError, ["label 4", "4 classes"]),
    (lambda: E.cross_entropy(T(3, 4), E.Tensor([0, 1])), ShapeError, ["(3, 4)", "(2,)"]),
    (lambda: E.cross_entropy(T(3, 4), E.Tensor([0, 1, 2]), T(3)), ShapeError, ["class weight", "(4,)"]),
    (lambda: E.cross_entropy(T(3, 4), E.Tensor([0, 1, 2]), label_smoothing=1.5), OpError, ["label_smoothing"]),
    (lambda: E.cross_entropy(T(3, 4), E.Tensor([0.5, 1.0, 2.0])), E.DTypeError, ["integers"]),
    (lambda: E.huber_loss(T(3), T(3), delta=0.0), OpError, ["delta"]),
    (lambda: E.cosine_similarity(T(2, 3), T(2, 4)), ShapeError, ["(2, 3)", "(2, 4)"]),
    (lambda: E.normalize(T(2, 3), axis=2), ShapeError, ["axis 2"]),
])
def test_nn_errors_say_what_is_wrong(call, error, words):
    with pytest.raises(error) as e:
        call()
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("call", [
    lambda: E.conv2d(E.Tensor(np.ones((1, 1, 10, 10))), E.Tensor(np.ones((100, 1, 1, 1))), padding=20),
    lambda: E.conv1d(E.Tensor(np.ones((1, 1, 10))), E.Tensor(np.ones((2, 1, 1))), padding=5000),
    lambda: E.embedding(E.Tensor(np.zeros(1000, dtype=np.int64)), E.Tensor(np.ones((2, 1000)))),
    lambda: E.linear(E.Tensor(np.ones((100, 2))), E.Tensor(np.ones((100, 2)))),
])
def test_growing_nn_ops_are_refused_from_their_shapes(call):
    with E.limit_elements(5_000), pytest.raises(LimitError, match="over the limit of 5000"):
        call()


def test_dropout_is_a_function_of_seed_and_shape():
    x = E.Tensor(np.ones((4, 50)), requires_grad=True)
    a, b, c = E.dropout(x, p=0.5, seed=1), E.dropout(x, p=0.5, seed=1), E.dropout(x, p=0.5, seed=2)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, c.data)
    assert set(np.unique(a.data)) == {0.0, 2.0} and 60 < np.count_nonzero(a.data) < 140
    a.sum().backward()
    np.testing.assert_array_equal(x.grad, a.data)  # the gradient is the same scaled mask
    np.testing.assert_array_equal(E.dropout(x, p=0.0, seed=3).data, x.data)
    np.testing.assert_array_equal(E.dropout(x, 0.5, 1).data, a.data)  # by position, as torch's p comes first
    assert not E.dropout(x, p=1.0, seed=3).data.any()


def test_nn_results_keep_float32():
    x = E.Tensor(rng.standard_normal((1, 2, 4, 4)), dtype="float32", requires_grad=True)
    w = E.Tensor(np.ones((3, 2, 2, 2)), dtype="float32")
    for out in (E.conv2d(x, w), E.max_pool2d(x, kernel_size=2), E.avg_pool2d(x, kernel_size=2),
                E.batch_norm(x), E.layer_norm(x, normalized_shape=[4]), E.dropout(x, seed=0, p=0.5),
                E.cross_entropy(E.flatten(x)[:4], 1), E.normalize(x)):
        assert out.dtype == np.float32
        out.sum().backward()
        assert x.grad.dtype == np.float32
    assert E.embedding(E.Tensor([1, 0]), E.Tensor([[1, 2], [3, 4]])).dtype == np.int64


@pytest.mark.parametrize("kwargs", [{"padding": 1}, {"stride": [2, 1], "dilation": [1, 2], "groups": 2},
                                    {"padding": "same", "groups": 4}])
def test_convolution_by_kernel_offsets_agrees_with_im2col(monkeypatch, kwargs):
    """Large convolutions run one product per kernel offset instead of one im2col product: same numbers."""
    import engine.ops_nn as nn

    x, w, b = rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((4, 4 // kwargs.get("groups", 1), 3, 2)), \
        rng.standard_normal(4)

    def run():
        xs, ws, bs = (E.Tensor(a, requires_grad=True) for a in (x, w, b))
        out = E.conv2d(xs, ws, bs, **kwargs)
        out.backward(np.cos(out.data))
        return out.data, xs.grad, ws.grad, bs.grad

    fast = run()
    monkeypatch.setattr(nn, "_IM2COL_MAX", 0)
    for a, b_ in zip(fast, run()):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)


def test_convolution_by_kernel_offsets_has_second_derivatives(monkeypatch):
    import engine.ops_nn as nn

    monkeypatch.setattr(nn, "_IM2COL_MAX", 0)
    x, w = rng.standard_normal((1, 2, 3, 3)), rng.standard_normal((2, 1, 2, 2))
    assert E.gradgradcheck(lambda a, b: E.conv2d(a, b, groups=2, padding=[1, 0], stride=2), [x, w])


def test_a_singular_matrix_in_a_program_is_a_linalg_error_at_its_op_and_changes_nothing():
    ns = Namespace()
    run(ns, {"inputs": {"m": {"data": [[1.0, 2.0], [2.0, 4.0]], "requires_grad": True}}})
    with pytest.raises(LinAlgError) as e:
        run(ns, {"ops": [{"name": "d", "expr": "det(m)"}, {"name": "i", "op": "inv", "args": ["m"]}]})
    assert e.value.kind == "linalg-error" and e.value.op_index == 1 and "singular" in e.value.detail
    with pytest.raises(E.UnknownNameError):
        ns.variable("d")  # all or nothing: the det before it was not kept


@pytest.mark.parametrize("make", [
    lambda x: E.cross_entropy(x, E.Tensor(np.full((2, 3), 1 / 3))),
    lambda x: E.cross_entropy(x, E.Tensor([0, 2]), label_smoothing=0.1),
    lambda x: E.linear(x, E.Tensor(np.ones((4, 3))), E.Tensor(np.ones(4))),
    lambda x: E.einsum("ij->j", x),
    lambda x: E.conv1d(x, E.Tensor(np.ones((1, 2, 2)))),
    lambda x: E.trace(x, offset=1),
])
def test_grad_fn_names_survive_the_backward_that_frees_the_node(make):
    x = E.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    out = make(x)
    before = out.grad_fn.name
    out.sum().backward()
    assert out.grad_fn.name == before


@st.composite
def einsum_problem(draw):
    """Random subscripts over a few letters (repeats, sums, outer products, broadcast 1s) and operands."""
    sizes = {c: draw(st.integers(1, 3)) for c in "abcd"}
    terms = [draw(st.lists(st.sampled_from("abcd"), min_size=0, max_size=3)) for _ in range(draw(st.integers(1, 3)))]
    seen = sorted({c for t in terms for c in t})
    out = draw(st.permutations(seen).map(lambda p: p[:draw(st.integers(0, len(p)))])) if seen else []
    shapes = [[1 if draw(st.booleans()) and draw(st.booleans()) else sizes[c] for c in t] for t in terms]
    for t, s in zip(terms, shapes):  # a repeated letter takes one size within its operand
        for i, c in enumerate(t):
            s[i] = s[t.index(c)]
    return ",".join("".join(t) for t in terms) + "->" + "".join(out), shapes


@settings(max_examples=40, deadline=None)
@given(problem=einsum_problem(), seed=st.integers(0, 99))
def test_einsum_matches_torch_on_random_subscripts(problem, seed):
    subscripts, shapes = problem
    r = np.random.default_rng(seed)
    arrays = [r.standard_normal(s) for s in shapes]
    expected = torch.einsum(subscripts, *[torch.tensor(a) for a in arrays])
    xs = [E.Tensor(a, requires_grad=True) for a in arrays]
    out = E.einsum(subscripts, *xs)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = r.standard_normal(out.shape)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    torch.einsum(subscripts, *ts).backward(torch.from_numpy(g))
    out.backward(g)
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-9, atol=1e-12)


FUZZ_SHAPES = [(), (3,), (2, 3), (3, 3), (1, 2, 3), (1, 1, 4, 4), (0,), (2, 0)]
FUZZ_KWARGS = [{}, {"k": 1}, {"axes": 5}, {"subscripts": "ij,jk"}, {"subscripts": "...i->"}, {"kernel_size": 2},
               {"kernel_size": 9}, {"normalized_shape": [3]}, {"seed": 1}, {"seed": 1, "p": 2.0}, {"padding": "same"},
               {"stride": 0}, {"axis": 5}, {"groups": 2}, {"offset": 9}, {"ignore_index": 0}, {"label_smoothing": 0.5},
               {"beta": 0.0}, {"delta": -1.0}, {"p": 0.0}]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # means of empty tensors are NaN, as torch's
@pytest.mark.parametrize("name", sorted(n for n, o in E.OPS.items() if o.public and (
    o.forward.__module__ in ("engine.ops_linalg", "engine.ops_nn") or n == "cross_entropy")))
def test_any_shapes_and_kwargs_give_an_answer_or_an_engine_error(name):
    """Never a numpy exception (a 500 in the service): every refusal is a typed engine error."""
    o = E.OPS[name]
    counts = [1, 2, 3] if o.variadic else range(max(o.min_arity, 1), o.arity + 1)
    r = np.random.default_rng(0)
    for n in counts:
        for shapes in list(itertools.product(FUZZ_SHAPES, repeat=n))[::max(1, len(FUZZ_SHAPES) ** n // 60)]:
            for kwargs in FUZZ_KWARGS:
                args = [E.Tensor(r.uniform(0.1, 0.9, s), requires_grad=True) for s in shapes]
                try:
                    out = getattr(E, name)(*args, **kwargs)
                    if out.requires_grad:
                        out.backward(np.ones(out.shape))
                except E.EngineError:
                    pass


@pytest.mark.parametrize("create_graph", [False, True])
def test_integral_float_indices_that_require_grad_are_read_as_indices_backward_too(create_graph):
    w = E.Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    idx = E.Tensor([2.0, 0.0, 2.0], requires_grad=True)
    for out in (E.embedding(idx, w), E.take(w, idx, axis=0)):
        (gw,) = E.grad(out.sum(), w, create_graph=create_graph)
        np.testing.assert_array_equal(gw.data, [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]])


@pytest.mark.parametrize("name", ["l1_loss", "smooth_l1_loss", "huber_loss", "kl_div",
                                  "binary_cross_entropy_with_logits", "cosine_similarity"])
def test_a_float64_0d_operand_promotes_as_torch_decides_per_loss(name):
    # torch broadcasts some losses' operands before promoting (a 0-d float64 then counts) and not others
    a, b = np.full((2, 3), 0.25, np.float32), np.array(0.5)
    tb = torch.tensor(b).expand(2, 3) if name == "binary_cross_entropy_with_logits" else torch.tensor(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = getattr(torch.nn.functional, name)(torch.tensor(a), tb)
    ours = getattr(E, name)(E.Tensor(a), E.Tensor(b) if name != "binary_cross_entropy_with_logits"
                            else E.Tensor(np.full((2, 3), 0.5)))
    assert str(ours.dtype) == str(expected.dtype).removeprefix("torch.")


def test_torch_spellings_of_the_linear_algebra_kwargs():
    x = T(2, 3, 3)
    np.testing.assert_array_equal(E.diagonal(x, offset=1, dim1=1, dim2=2).data,
                                  E.diagonal(x, offset=1, axis1=1, axis2=2).data)
    np.testing.assert_array_equal(E.tril(x, diagonal=-1).data, np.tril(x.data, -1))
    y = T(3, 2)
    np.testing.assert_array_equal(E.tensordot(x, y, dims=1).data, np.tensordot(x.data, y.data, axes=1))
    np.testing.assert_allclose(E.normalize(x, dim=-1).data, torch.nn.functional.normalize(
        torch.tensor(x.data), dim=-1).numpy(), rtol=1e-12)
    assert E.inverse(T(2, 2)).grad_fn.name == "LinalgInvExBackward0"


SNAPSHOT_PROGRAM = {
    "inputs": {"a": {"data": (np.eye(3) * 2 + 0.1).tolist(), "requires_grad": True, "dtype": "float64"},
               "b": {"data": np.arange(6.0).reshape(3, 2).tolist(), "requires_grad": True},
               "x": {"data": np.linspace(-1, 1, 64).reshape(2, 2, 4, 4).tolist(), "requires_grad": True},
               "w": {"data": np.linspace(-1, 1, 24).reshape(3, 2, 2, 2).tolist(), "requires_grad": True},
               "v": {"data": [[0.2, 0.5, 0.7], [0.9, 0.1, 0.4]], "requires_grad": True},
               "lab": {"data": [0, 2], "dtype": "int64"}},
    "ops": [{"name": f"r{i}", "expr": e} for i, e in enumerate([
        'einsum("ij,jk->ik", a, b)', "tensordot(a, b, axes=1)", "kron(a, b)", "inv(a)", "det(a)", "logdet(a)",
        "solve(a, b)", "cholesky(a)", "eigvalsh(a)", "diagonal(a, offset=1)", "trace(a)", "diag(a)", "tril(a)",
        "linear(v, transpose(b))", "conv2d(x, w, padding=1)", "conv1d(x[0, :, 0], w[:, :, 0], sum(w, axis=[1, 2, 3]))",
        "max_pool2d(x, kernel_size=2)", "avg_pool2d(x, kernel_size=3, stride=1, padding=1)",
        "layer_norm(v, normalized_shape=[3])", "batch_norm(x)", "embedding(lab, a)", "dropout(v, p=0.5, seed=1)",
        "binary_cross_entropy(v, v * 0 + 0.5)", "binary_cross_entropy_with_logits(v, v)",
        "nll_loss(log_softmax(v), lab)", "l1_loss(v, 1)", "smooth_l1_loss(v, 1)", "huber_loss(v, 1)", "kl_div(v, v)",
        "cosine_similarity(v, v + 1)", "normalize(v)", "cross_entropy(v, lab, label_smoothing=0.1)",
        "cross_entropy(v, softmax(v))", "mse_loss(v, 1)"])],
}


def test_sessions_with_every_linear_algebra_and_nn_op_survive_a_snapshot():
    """A snapshot checks each node's shape rule against its output: a loss's rule gives its one number."""
    from engine.state import dump, load

    ns = Namespace()
    run(ns, SNAPSHOT_PROGRAM)
    state = dump(ns)
    restored = load(state.manifest, {k: v.tobytes() for k, v in state.blobs.items()})
    for op in SNAPSHOT_PROGRAM["ops"]:
        t, u = ns.variable(op["name"]), restored.variable(op["name"])
        assert t.grad_fn.name == u.grad_fn.name
        for space in (ns, restored):
            space.backward(op["name"], gradient=np.ones(t.shape, t.dtype), retain_graph=True)
    for name in ("a", "b", "x", "w", "v"):
        np.testing.assert_array_equal(ns.variable(name).grad, restored.variable(name).grad)
