"""Version counters: a backward through a node that saved a tensor written in place since is refused
exactly where torch refuses it, with torch's message."""

import numpy as np
import pytest
import torch

import engine
from engine import Tensor

# (description, f(lib, w, c) -> scalar): w is the param stepped, c a constant that does not require grad
GRAPHS = [
    ("w * const saves only const", lambda lib, w, c: (w * c).sum()),
    ("w * w saves w", lambda lib, w, c: (w * w).sum()),
    ("w @ w saves w", lambda lib, w, c: (w @ w).sum()),
    ("w @ const saves only const", lambda lib, w, c: (w @ c).sum()),
    ("const @ w saves only const", lambda lib, w, c: (c @ w).sum()),
    ("w / const saves only const", lambda lib, w, c: (w / c).sum()),
    ("const / w saves w", lambda lib, w, c: (c / w).sum()),
    ("w + const saves nothing", lambda lib, w, c: (w + c).mean()),
    ("exp saves its result", lambda lib, w, c: lib.exp(w).sum()),
    ("sin saves w", lambda lib, w, c: lib.sin(w).sum()),
    ("tanh(w * w)", lambda lib, w, c: lib.tanh(w * w).sum()),
    ("log saves w", lambda lib, w, c: lib.log(w).sum()),
    ("w ** 3 saves w", lambda lib, w, c: (w ** 3).sum()),
    ("relu saves its result", lambda lib, w, c: lib.relu(w).sum()),
    ("sum and reshape save nothing", lambda lib, w, c: (w.reshape(4) * 2).sum()),
    ("a view of w shares its version", lambda lib, w, c: (w.T * w).sum()),
    ("a slice of w shares its version", lambda lib, w, c: (w[0] * w[1]).sum()),
    ("a view of w, saved second", lambda lib, w, c: (w * w.T).sum()),
    ("matmul with a view", lambda lib, w, c: (w.T @ w).sum()),
    ("division by a view", lambda lib, w, c: (w / w.T).sum()),
    ("a detached w shares its version", lambda lib, w, c: (w.detach() * w).sum()),
]


def torch_outcome(f, dtype):
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=dtype, requires_grad=True)
    c = torch.tensor([[0.5, 1.5], [2.5, 3.5]], dtype=dtype)
    out = f(torch, w, c)
    out.backward(retain_graph=True)
    torch.optim.SGD([w], lr=0.1).step()
    try:
        out.backward()
    except RuntimeError as e:
        return str(e), None
    return None, w.grad.numpy()


def our_outcome(f, dtype):
    w = Tensor([[1.0, 2.0], [3.0, 4.0]], dtype=dtype, requires_grad=True)
    c = Tensor([[0.5, 1.5], [2.5, 3.5]], dtype=dtype)
    out = f(engine, w, c)
    out.backward(retain_graph=True)
    engine.optim.SGD([w], lr=0.1).step()
    try:
        out.backward()
    except engine.ModifiedInPlaceError as e:
        return str(e), None
    return None, w.grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("what,f", GRAPHS, ids=[g[0] for g in GRAPHS])
def test_refused_exactly_where_torch_refuses(what, f, dtype):
    theirs, their_grad = torch_outcome(f, getattr(torch, dtype))
    ours, our_grad = our_outcome(f, dtype)
    assert ours == theirs
    if theirs is None:
        np.testing.assert_allclose(our_grad, their_grad, rtol=1e-6)


def test_a_detached_tensor_shares_the_version():
    w = Tensor([1.0, 2.0], requires_grad=True)
    v = Tensor([3.0, 4.0], requires_grad=True)
    out = (w.detach() * v).sum()  # saves the detached w for v's grad
    (w * 1.0).sum().backward()
    engine.optim.SGD([w], lr=0.1).step()
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    tv = torch.tensor([3.0, 4.0], requires_grad=True)
    tout = (tw.detach() * tv).sum()
    (tw * 1.0).sum().backward()
    torch.optim.SGD([tw], lr=0.1).step()
    with pytest.raises(RuntimeError) as theirs:
        tout.backward()
    with pytest.raises(engine.ModifiedInPlaceError) as ours:
        out.backward()
    assert str(ours.value) == str(theirs.value)


def test_a_graph_built_after_the_step_works_and_records_the_new_version():
    w = Tensor([1.0, 2.0], requires_grad=True)
    opt = engine.optim.SGD([w], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        out = (w * w).sum()
        out.backward(retain_graph=True)
        opt.step()
    assert w._version == 3
    out = (w * w).sum()
    out.backward(retain_graph=True)
    out.backward(retain_graph=True)  # same version as when saved
    with pytest.raises(engine.ModifiedInPlaceError, match="is at version 4; expected version 3 instead"):
        opt.step()
        out.backward()


def test_rebinding_is_not_an_in_place_write():
    w = Tensor([1.0, 2.0], requires_grad=True)
    out = (w * w).sum()
    out.backward(retain_graph=True)
    w2 = Tensor(w.data - 0.1 * w.grad, requires_grad=True)
    out.backward()  # the old w is untouched
    assert w._version == 0 and w2._version == 0
