"""The engine's public functions: one per declared op, plus backward and grad.

Also gives Tensor its operators and methods, all derived from the op table.
"""

from __future__ import annotations

import numpy as np

from . import ops as _ops  # noqa: F401  (declares every op)
from .autograd import run_backward
from .errors import BackwardError, OpError
from .registry import OPS, OpDef, apply
from .tensor import Tensor, as_array


def _function(opdef: OpDef):
    if opdef.variadic:
        def fn(*tensors, **kwargs):
            if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
                tensors = tuple(tensors[0])  # numpy style: concat([a, b], axis=0)
            return apply(opdef, tensors, kwargs)
    else:
        def fn(*args, **kwargs):
            return apply(opdef, args, kwargs)
    fn.__name__ = fn.__qualname__ = opdef.name
    fn.__doc__ = opdef.doc
    return fn


for _name, _opdef in OPS.items():
    globals()[_name] = _function(_opdef)

__all__ = [*OPS, "backward", "grad"]


# ---------------------------------------------------------------------------- backward and grad

def _root_grad(output: Tensor, gradient, position: int, create_graph: bool):
    if gradient is None:
        if output.data.size != 1:
            raise BackwardError("grad can be implicitly created only for scalar outputs")
        g = np.ones_like(output.data)
    else:
        g = as_array(gradient, output.data.dtype)
        if g.shape != output.data.shape:
            raise BackwardError(f"Mismatch in shape: grad_output[{position}] has a shape of {g.shape} and "
                                f"output[{position}] has a shape of {output.data.shape}.")
    if create_graph:
        return gradient if isinstance(gradient, Tensor) and gradient.shape == g.shape else Tensor._make(g, None)
    return g


def _check_output(output, position: int) -> Tensor:
    if not isinstance(output, Tensor):
        raise BackwardError(f"element {position} of outputs is not a tensor")
    if not output.requires_grad:
        raise BackwardError(f"element {position} of tensors does not require grad and does not have a grad_fn")
    return output


def backward(tensor: Tensor, gradient=None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
    """Accumulate d tensor / d leaf into every leaf's grad (Tensor.backward)."""
    _check_output(tensor, 0)
    g = _root_grad(tensor, gradient, 0, create_graph)
    run_backward([tensor], [g], retain_graph=create_graph if retain_graph is None else retain_graph,
                 create_graph=create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of outputs with respect to inputs, without touching any .grad (torch.autograd.grad)."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)) and len(outputs) == 1:
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise BackwardError(f"grad_outputs has {len(grad_outputs)} items for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise BackwardError(f"One of the differentiated Tensors (input {i}) does not require grad")
    roots = [_check_output(o, i) for i, o in enumerate(outputs)]
    gs = [_root_grad(o, g, i, create_graph) for i, (o, g) in enumerate(zip(roots, grad_outputs))]
    result = run_backward(roots, gs, retain_graph=create_graph if retain_graph is None else retain_graph,
                          create_graph=create_graph, inputs=inputs, allow_unused=allow_unused)
    return tuple(None if g is None else g if isinstance(g, Tensor) else Tensor._make(np.asarray(g), None)
                 for g in result)


# ---------------------------------------------------------------------------- Tensor operators and methods

def _index_key(key) -> tuple:
    return key if isinstance(key, tuple) else (key,)


def _getitem(self: Tensor, key):
    items = _index_key(key)
    arrays = [k for k in items if isinstance(k, (Tensor, np.ndarray, list))]
    if arrays:
        if len(items) != 1:
            raise OpError("tensor indices are supported alone (x[idx]); use take(x, idx, axis=...) otherwise")
        idx = arrays[0]
        return globals()["take"](self, idx if isinstance(idx, Tensor) else as_array(idx), axis=0)
    return globals()["index"](self, key=items)


def _binary(name: str, reflected: bool = False):
    opdef = OPS[name]  # straight to apply: operators are the hot path of small-tensor code
    if reflected:
        return lambda self, other: apply(opdef, (other, self), {})
    return lambda self, other: apply(opdef, (self, other), {})


for _dunder, _op in [("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "div"), ("pow", "pow"),
                     ("matmul", "matmul")]:
    setattr(Tensor, f"__{_dunder}__", _binary(_op))
    setattr(Tensor, f"__r{_dunder}__", _binary(_op, reflected=True))
for _dunder, _op in [("lt", "lt"), ("le", "le"), ("gt", "gt"), ("ge", "ge")]:
    setattr(Tensor, f"__{_dunder}__", _binary(_op))
Tensor.__neg__ = lambda self: globals()["neg"](self)
Tensor.__abs__ = lambda self: globals()["abs"](self)
Tensor.__getitem__ = _getitem
Tensor.T = property(lambda self: globals()["transpose"](self))

for _name, _opdef in OPS.items():
    if _opdef.method and _opdef.public and _opdef.name != "where" and not hasattr(Tensor, _name):
        setattr(Tensor, _name, globals()[_name])
