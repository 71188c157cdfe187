"""The seed tutorial (PyTorch 0.x Variables) replayed through the engine, cell by cell."""

import numpy as np
import pytest

import engine as E


def test_mean_of_squares():
    x = E.Tensor([[1.0, 1.0], [1.0, 1.0]], requires_grad=True)
    assert x.dtype == np.float32 and x.grad is None and x.grad_fn is None and x.is_leaf
    y = x + 2
    assert y.grad_fn.name == "AddBackward0"
    np.testing.assert_array_equal(y.data, np.full((2, 2), 3.0))
    z = y * y * 3
    assert z.grad_fn.name == "MulBackward0"
    np.testing.assert_array_equal(z.data, np.full((2, 2), 27.0))
    out = z.mean()
    assert out.grad_fn.name == "MeanBackward0"
    assert out.shape == () and out.item() == 27.0
    out.backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 4.5))
    assert x.grad.dtype == np.float32
    assert x.grad_fn is None
    assert y.grad is None  # a non-leaf keeps no grad


def test_backward_with_a_gradient_and_retain_graph_accumulates():
    x = E.Tensor([[1.0, 1.0], [1.0, 1.0]], requires_grad=True)
    y = 4 * x + 2
    np.testing.assert_array_equal(y.data, np.full((2, 2), 6.0))
    y.backward(np.ones((2, 2)), retain_graph=True)
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 4.0))
    z = y * y
    np.testing.assert_array_equal(z.data, np.full((2, 2), 36.0))
    gradient = np.array([[1.0932, 1.9507], [-1.0305, -0.7468]], dtype=np.float32)
    y.backward(gradient, retain_graph=True)
    np.testing.assert_allclose(x.grad, 4 + 4 * gradient, rtol=1e-6)
    np.testing.assert_allclose(x.grad, [[8.3728, 11.8028], [-0.122, 1.0128]], rtol=1e-4)


def test_backward_on_a_non_scalar_needs_a_gradient():
    x = E.Tensor([[1.0, 1.0], [1.0, 1.0]], requires_grad=True)
    with pytest.raises(E.BackwardError, match="grad can be implicitly created only for scalar outputs"):
        (4 * x + 2).backward()


def test_doubling_loop():
    x = E.Tensor([1.3570, -0.3653, 0.6265], requires_grad=True)
    y = x * 2
    np.testing.assert_allclose(y.data, [2.7140, -0.7306, 1.2530], rtol=1e-6)
    steps = 0
    while y.norm().item() < 1000:
        y = y * 2
        steps += 1
    assert steps == 9
    np.testing.assert_allclose(y.data, [1389.568, -374.0672, 641.536], rtol=1e-5)
    y.backward(E.Tensor([0.1, 1.0, 0.0001]))
    np.testing.assert_allclose(x.grad, [102.4, 1024.0, 0.1024], rtol=1e-6)
    assert x.grad.dtype == np.float32


def test_second_derivative_through_create_graph():
    x = E.Tensor(3.0, requires_grad=True)
    y = x ** 3
    (dy,) = E.grad(y, x, create_graph=True)
    assert dy.item() == 27.0
    assert dy.requires_grad and dy.grad_fn is not None
    dy.backward()
    assert x.grad.item() == 18.0
