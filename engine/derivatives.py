"""Derivatives beyond one vector-Jacobian product, on tensors of an existing graph: Jacobian, JVP, HVP, Hessian.

A Jacobian is one batched backward pass (engine.grad) with the rows of an identity as cotangents (in
chunks of `chunk_size` rows, to bound memory); a Hessian is the Jacobian of the gradient, taken with
create_graph; an HVP is reverse-over-reverse; a JVP is forward mode over the recorded graph, each op by the
forward-mode rule of its declaration (or, without one, by its own vjp differentiated with respect to the
cotangent). Forward mode was chosen over the double-vjp trick on the whole graph by a measurement
(bench/derivatives.py): the trick records a backward pass and runs another through it, 2.8x to 5.5x one
backward pass of tanh(W @ x) over runs, at or over the 3x target; forward mode costs about 1.5x.

None of them accumulates into any .grad or frees the graph: they can be called again, and backward still
works afterwards. An input the outputs do not reach gets zeros (torch.autograd.functional's strict=False).
Results nest as torch.autograd.functional's do: a Tensor for one output and one input, a tuple for a
sequence, a tuple of tuples for sequences of both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias, overload

import numpy as np
from numpy.typing import DTypeLike

from . import governance
from .autograd import _check_versions as check_versions  # torch's version counters, as backward checks them
from .autograd import grad, vjp_namespace, walk
from .errors import GRAPH_FREED_MESSAGE, BackwardError, GraphFreedError
from .graph import Meta, Node, enable_grad
from .tensor import Tensor, as_array

__all__ = ["jacobian", "jvp", "hvp", "hessian", "jacobian_elements"]

# one tensor or a sequence of them, as the outputs and inputs of a derivative are given
Tensors: TypeAlias = Tensor | Sequence[Tensor]
# an answer: a Tensor, or tuples of them nested as torch.autograd.functional nests them
Nested: TypeAlias = Tensor | tuple[Any, ...]


def _as_list(value: Any, what: str) -> tuple[list[Tensor], bool]:
    """A Tensor or a sequence of them, and whether it was a sequence (for nesting the answer)."""
    is_seq = not isinstance(value, Tensor)
    items = list(value) if is_seq else [value]
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise BackwardError(f"{what}[{i}] is {type(t).__name__}, not a Tensor")
    return items, is_seq


def _check_inputs(inputs: list[Tensor]) -> None:
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            # a tensor that does not require grad has no recorded uses: its derivative cannot be known
            raise BackwardError(f"input {i} does not require grad, so the graph did not record its uses "
                                "(make it with requires_grad=True)")


def _nest(rows: list[list[Tensor]], outer_seq: bool, inner_seq: bool) -> Nested:
    inner = [tuple(r) if inner_seq else r[0] for r in rows]
    return tuple(inner) if outer_seq else inner[0]


def _zeros(shape: tuple[int, ...], dtype: DTypeLike) -> Tensor:
    return Tensor._make(np.zeros(shape, dtype=dtype), None)


def jacobian_elements(outputs: Sequence[Tensor], inputs: Sequence[Tensor]) -> int:
    """How many elements a Jacobian of outputs by inputs holds (sum of out.size * in.size)."""
    return sum(o.size for o in outputs) * sum(x.size for x in inputs)


def _jacobian_rows(outputs: list[Tensor], inputs: list[Tensor], chunk_size: int | None) -> list[list[Tensor]]:
    """J[k][j] of shape outputs[k].shape + inputs[j].shape, by batched backward passes over identity rows.

    Row r of the identity is a one-hot cotangent in one output's block (zeros for the others), so a pass over
    rows lo..hi gives exactly those rows of the stacked Jacobian, whatever outputs they fall in."""
    sizes = [o.size for o in outputs]
    starts = [0, *np.cumsum(sizes, dtype=np.int64).tolist()]
    total = starts[-1]
    chunk = max(total if chunk_size is None else chunk_size, 1)
    flat: list[list[np.ndarray | None]] = [[None] * len(inputs) for _ in outputs]
    for lo in range(0, total, chunk):
        hi = min(lo + chunk, total)
        outs, cotangents, spans = [], [], []
        for k, o in enumerate(outputs):
            a, b = max(lo, starts[k]), min(hi, starts[k + 1])
            if a >= b or not o.requires_grad:
                continue
            v = np.zeros((hi - lo, sizes[k]), dtype=o.dtype)
            v[np.arange(a - lo, b - lo), np.arange(a - starts[k], b - starts[k])] = 1
            outs.append(o)
            cotangents.append(v.reshape((hi - lo, *o.shape)))
            spans.append((k, a, b))
        if not outs:
            continue
        grads = grad(outs, inputs, cotangents, retain_graph=True, allow_unused=True, is_grads_batched=True)
        for j, (x, g) in enumerate(zip(inputs, grads)):
            if g is None:
                continue
            for k, a, b in spans:
                if a == starts[k] and b == starts[k + 1] and a - lo == 0 and b - lo == g.shape[0]:
                    flat[k][j] = g.data  # the whole pass is this output's block: no copy
                    continue
                block = flat[k][j]
                if block is None:
                    block = flat[k][j] = np.zeros((sizes[k], *x.shape), dtype=x.dtype)
                block[a - starts[k]:b - starts[k]] = g.data[a - lo:b - lo]
    return [[_zeros((*o.shape, *x.shape), x.dtype) if block is None else
             Tensor._make(block.reshape((*o.shape, *x.shape)), None) for block, x in zip(flat[k], inputs)]
            for k, o in enumerate(outputs)]


# (the answer's nesting follows the arguments': sequences of both give a tuple of tuples)
@overload
def jacobian(outputs: Sequence[Tensor], inputs: Sequence[Tensor],
             chunk_size: int | None = None) -> tuple[tuple[Tensor, ...], ...]: ...


@overload
def jacobian(outputs: Tensors, inputs: Tensors, chunk_size: int | None = None) -> Nested: ...


def jacobian(outputs: Tensors, inputs: Tensors, chunk_size: int | None = None) -> Nested:
    """d outputs / d inputs of an existing graph (torch.autograd.functional.jacobian's answer).

    J[k][j] has shape outputs[k].shape + inputs[j].shape and inputs[j]'s dtype. One batched backward pass
    per `chunk_size` rows of the identity (all rows at once when None): fewer rows, less memory, more passes.
    """
    outs, outs_seq = _as_list(outputs, "outputs")
    ins, ins_seq = _as_list(inputs, "inputs")
    _check_inputs(ins)
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise BackwardError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    return _nest(_jacobian_rows(outs, ins, chunk_size), outs_seq, ins_seq)


def _tangents(values: Any, inputs: list[Tensor], what: str) -> list[Any]:
    """One tangent per input, of its shape (Tensors kept as they are: a JVP by a tensor is differentiable)."""
    items = [values] if isinstance(values, (Tensor, np.ndarray)) or not isinstance(values, (list, tuple)) \
        else list(values)
    if len(items) != len(inputs):
        raise BackwardError(f"{what} has {len(items)} items for {len(inputs)} inputs")
    out: list[Any] = []  # Tensors or arrays
    for i, (v, x) in enumerate(zip(items, inputs)):
        arr = as_array(v, x.dtype)
        if arr.shape != x.shape:
            raise BackwardError(f"{what}[{i}] has shape {arr.shape}, but input {i} has shape {x.shape}")
        out.append(v if isinstance(v, Tensor) and v.dtype == x.dtype else arr)
    return out


@overload
def jvp(outputs: Tensor, inputs: Tensors, tangents: Any) -> Tensor: ...


@overload
def jvp(outputs: Sequence[Tensor], inputs: Tensors, tangents: Any) -> tuple[Tensor, ...]: ...


def jvp(outputs: Tensors, inputs: Tensors, tangents: Any) -> Tensor | tuple[Tensor, ...]:
    """J·v for each output: the derivative of outputs along the direction `tangents` (one per input).

    Forward mode over the recorded graph: tangents flow from the inputs to the outputs, node by node, each by
    its op's forward-mode rule (its declaration's `jvp`), or for an op without one by differentiating its
    own vjp with respect to the cotangent (double_vjp_jvp does that for the whole graph at once).
    """
    outs, outs_seq = _as_list(outputs, "outputs")
    ins, _ = _as_list(inputs, "inputs")
    _check_inputs(ins)
    vs = _tangents(tangents, ins, "tangents")
    found = _forward_tangents(outs, ins, [np.asarray(getattr(v, "data", v)) for v in vs])
    result = [_zeros(o.shape, o.dtype) if t is None else
              Tensor._make(np.asarray(np.broadcast_to(t, o.shape), dtype=o.dtype), None) for o, t in zip(outs, found)]
    return tuple(result) if outs_seq else result[0]


def _forward_tangents(outs: list[Tensor], ins: list[Tensor], vs: list[np.ndarray]) -> list[Any]:
    """The tangent of each output (None where no input reaches it), pushed node by node from the inputs."""
    tangent: dict[Any, Any] = {}  # a leaf Tensor or Node -> the tangent of its value
    seeded: set[Node] = set()
    for x, v in zip(ins, vs):
        key = x if x.grad_fn is None else x.grad_fn
        tangent[key] = v if key not in tangent else tangent[key] + v
        if x.grad_fn is not None:
            seeded.add(x.grad_fn)  # an intermediate input: its tangent is given, not computed
    for node in walk([o.grad_fn for o in outs if o.grad_fn is not None]):  # inputs before their users
        if node in seeded:
            continue
        ts = [None if n is None else tangent.get(n) for n in node.next]
        if all(t is None for t in ts):
            continue
        if node.freed and node.op.saves:
            raise GraphFreedError(GRAPH_FREED_MESSAGE)
        if node.op.saves_inputs:
            check_versions(node)  # a saved input written in place since (an optimizer step) is refused
        # a tangent is the size of its node's output, and its products take as much again
        governance.charge(2 * sum(getattr(t, "nbytes", 0) for t in ts if t is not None))
        tangent[node] = _node_jvp(node, ts)
    return [tangent.get(o if o.grad_fn is None else o.grad_fn) for o in outs]


_PLAIN = vjp_namespace(False)


def _value(x: Any) -> Any:
    """A saved input as the forward reads it (a Meta, for inputs the node did not save, stays a Meta)."""
    return x.data if type(x) is Tensor else x


def _zeros_like(x: Any, dtype: DTypeLike) -> np.ndarray:
    return np.zeros(np.shape(x) if not isinstance(x, Meta) else x.shape, dtype=dtype)


def _node_jvp(node: Node, ts: list[Any]) -> Any:
    """The tangent of one node's output from its inputs' tangents (None for inputs no tangent reaches): an
    array, or a numpy scalar where the op's forward gives one."""
    op, kw = node.op, node.kwargs
    values = [_value(x) for x in node.inputs]
    dtype = next(t.dtype for t in ts if t is not None)
    if op.jvp == "linear":  # the op itself, on tangents (zeros where none arrives), constants kept
        rules = op.vjp if type(op.vjp) is tuple else (op.vjp,) * len(values)
        args = [t if t is not None else _zeros_like(v, dtype) if rule is not None else v
                for t, v, rule in zip(ts, values, rules)]
        return op.forward(*args, **kw)
    total: Any = None
    if op.jvp == "bilinear":  # one term per input that has a tangent
        for i, t in enumerate(ts):
            if t is not None:
                term = op.forward(*values[:i], t, *values[i + 1:], **kw)
                total = term if total is None else total + term
        return total
    if op.jvp == "elementwise":  # a diagonal Jacobian: each vjp rule, applied to its input's tangent
        for rule, t in zip(op.vjp, ts):
            if t is not None and rule is not None:
                term = rule(_PLAIN, t, node.out, *values, **kw)
                total = term if total is None else total + term
        shape = np.broadcast_shapes(*[np.shape(v) if not isinstance(v, Meta) else v.shape for v in values])
        return np.broadcast_to(total, shape)
    return _vjp_transposed(node, ts, dtype)


def _vjp_transposed(node: Node, ts: list[Any], dtype: DTypeLike) -> np.ndarray:
    """J·t for an op without a forward-mode rule: its vjp u -> J^T u is linear in u, so the gradient of
    <vjp(u), t> with respect to u is J t (the double-vjp trick, on this one node)."""
    out = node.out if node.out is not None else np.asarray(node.op.forward(
        *[np.zeros(x.shape, x.dtype) if isinstance(x, Meta) else x for x in map(_value, node.inputs)],
        **node.kwargs))
    u = Tensor(np.zeros(out.shape, dtype=out.dtype if out.dtype.kind == "f" else dtype), requires_grad=True)
    F = vjp_namespace(True)
    with enable_grad():
        gs = node.op.call_vjp(F, u, node, True)
        total = None
        for g, t in zip(gs, ts):
            if g is not None and t is not None and isinstance(g, Tensor):
                term = F.sum(g * t)
                total = term if total is None else total + term
        if total is None or not total.requires_grad:
            return np.zeros(out.shape, dtype=dtype)
        (jt,) = grad(total, u, allow_unused=True)
    return np.zeros(out.shape, dtype=dtype) if jt is None else jt.data


def double_vjp_jvp(outputs: Tensors, inputs: Tensors, tangents: Any) -> Tensor | tuple[Tensor, ...]:
    """J·v by the double-vjp trick over the whole graph: the vjp u -> J^T u is linear in u, so its derivative
    with respect to u along v is J v (u is a zero cotangent that only carries the graph). The reference
    forward mode is checked against, and what bench/derivatives.py compares it with."""
    outs, outs_seq = _as_list(outputs, "outputs")
    ins, _ = _as_list(inputs, "inputs")
    _check_inputs(ins)
    vs = _tangents(tangents, ins, "tangents")
    reached = [o for o in outs if o.requires_grad]
    us = [Tensor(np.zeros(o.shape, dtype=o.dtype), requires_grad=True) for o in reached]
    answers: dict[int, Tensor] = {}
    if reached:
        with enable_grad():
            vjps = grad(reached, ins, us, retain_graph=True, create_graph=True, allow_unused=True)
            pairs = [(g, v) for g, v in zip(vjps, vs) if g is not None and g.requires_grad]
            if pairs:
                jvs = grad([g for g, _ in pairs], us, [v for _, v in pairs], retain_graph=True, allow_unused=True)
                answers = {id(o): g for o, g in zip(reached, jvs) if g is not None}
    result = [answers[id(o)] if id(o) in answers else _zeros(o.shape, o.dtype) for o in outs]
    return tuple(_plain(r) for r in result) if outs_seq else _plain(result[0])


def _plain(t: Tensor) -> Tensor:
    return t if t.grad_fn is None else t.detach()


def _scalar_output(output: object) -> Tensor:
    if not isinstance(output, Tensor):
        raise BackwardError(f"output is {type(output).__name__}, not a Tensor")
    if output.size != 1:
        raise BackwardError(f"the output must hold a single element (a scalar function), but it has shape "
                            f"{output.shape}")
    return output


@overload
def hvp(output: Tensor, inputs: Tensor, v: Any) -> Tensor: ...


@overload
def hvp(output: Tensor, inputs: Sequence[Tensor], v: Any) -> tuple[Tensor, ...]: ...


def hvp(output: Tensor, inputs: Tensors, v: Any) -> Tensor | tuple[Tensor, ...]:
    """H·v, the Hessian of a single-element output times v (one tensor per input), reverse-over-reverse:
    the gradient of <grad output, v>."""
    out = _scalar_output(output)
    ins, ins_seq = _as_list(inputs, "inputs")
    _check_inputs(ins)
    vs = _tangents(v, ins, "v")
    result: list[Tensor | None] = [None] * len(ins)
    if out.requires_grad:
        with enable_grad():
            gs = grad(out, ins, retain_graph=True, create_graph=True, allow_unused=True)
            pairs = [(g, w) for g, w in zip(gs, vs) if g is not None and g.requires_grad]
            if pairs:
                result = list(grad([g for g, _ in pairs], ins, [w for _, w in pairs], retain_graph=True,
                                   allow_unused=True))
    answers = [_zeros(x.shape, x.dtype) if r is None else _plain(r) for r, x in zip(result, ins)]
    return tuple(answers) if ins_seq else answers[0]


@overload
def hessian(output: Tensor, inputs: Tensor, chunk_size: int | None = None) -> Tensor: ...


@overload
def hessian(output: Tensor, inputs: Sequence[Tensor],
            chunk_size: int | None = None) -> tuple[tuple[Tensor, ...], ...]: ...


def hessian(output: Tensor, inputs: Tensors, chunk_size: int | None = None) -> Nested:
    """The Hessian of a single-element output: H[i][j] of shape inputs[i].shape + inputs[j].shape, the
    Jacobian of the gradient (taken with create_graph), in batched backward passes."""
    out = _scalar_output(output)
    ins, ins_seq = _as_list(inputs, "inputs")
    _check_inputs(ins)
    if out.requires_grad:
        with enable_grad():
            gs = grad(out, ins, retain_graph=True, create_graph=True, allow_unused=True)
    else:
        gs = (None,) * len(ins)
    firsts = [_zeros(x.shape, x.dtype) if g is None else g for g, x in zip(gs, ins)]
    return _nest(_jacobian_rows(firsts, ins, chunk_size), ins_seq, ins_seq)
