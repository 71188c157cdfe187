"""Derivative calls of programs and sessions: grad, jacobian, jvp, hvp and hessian by variable names.

A call is an `engine.structure.DerivativeCall`, typed and checked once when built. `derive` runs it
against a lookup of names and gives the answer keyed by names, in the shape the service returns:

    grad      {"grads": {name: grad}}                 (the bind name, else the input's name)
    jacobian  {"jacobian": {output: {input: J}}}      J of shape output.shape + input.shape
    jvp       {"jvp": {output: J v}}
    hvp       {"hvp": {input: H v}}
    hessian   {"hessian": {input_i: {input_j: H}}}

`grad_outputs`, `tangents` and `v` take, for each item, a tensor or the name of a variable (its current
binding, which keeps its graph: under create_graph the result is differentiable through it too).
Sizes are checked from shapes before anything is computed; batched passes are split into chunks so that no
batched gradient holds more elements than the per-tensor limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from . import derivatives, governance
from .autograd import grad as tensor_grad
from .errors import EngineError, LimitError
from .graph import Node
from .structure import DerivativeCall, Ref
from .tensor import Tensor

# ---------------------------------------------------------------------------- running a call

Lookup = Callable[..., Tensor]  # name, pointer= -> Tensor (the namespace's `variable`)


def derive(call: DerivativeCall, variable: Lookup, at: str = "", max_elements: int | None = None,
           max_bytes: int | None = None) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """Run one call; returns its answer and the bindings it makes (grad's `bind`). An answer tensor over
    max_elements, or a Jacobian or Hessian over max_bytes in all, is refused before anything is computed."""
    field = "output" if call.kind in ("hvp", "hessian") else "outputs"
    outs = [variable(n, pointer=_at(at, field, k, call.kind in ("hvp", "hessian")))
            for k, n in enumerate(call.outputs)]
    ins = [variable(n, pointer=f"{at}/inputs/{k}") for k, n in enumerate(call.inputs)]
    vectors = None if call.vectors is None else [
        None if v is None else variable(v.name, pointer=_vector_at(call, at, k)) if isinstance(v, Ref) else v
        for k, v in enumerate(call.vectors)]
    _admit(call, outs, ins, max_elements, max_bytes, at)
    chunk = _chunk(call, outs, ins, max_elements)
    try:
        if call.kind == "grad":
            grads = tensor_grad(outs, ins, vectors, retain_graph=call.retain_graph, create_graph=call.create_graph,
                                allow_unused=call.allow_unused, is_grads_batched=call.is_grads_batched)
            names = call.bind or call.inputs
            result = {n: g for n, g in zip(names, grads, strict=True) if g is not None}
            return {"grads": result}, (result if call.bind else {})
        if call.kind == "jacobian":
            J = derivatives.jacobian(outs, ins, chunk_size=chunk)
            return {"jacobian": {o: dict(zip(call.inputs, row)) for o, row in zip(call.outputs, J)}}, {}
        if call.kind == "jvp":
            return {"jvp": dict(zip(call.outputs, derivatives.jvp(outs, ins, vectors)))}, {}
        if call.kind == "hvp":
            return {"hvp": dict(zip(call.inputs, derivatives.hvp(outs[0], ins, vectors)))}, {}
        H = derivatives.hessian(outs[0], ins, chunk_size=chunk)
        return {"hessian": {a: dict(zip(call.inputs, row)) for a, row in zip(call.inputs, H)}}, {}
    except EngineError as e:
        raise e.at(pointer=at or None) from None


def _at(at: str, field: str, k: int, single: bool) -> str:
    return f"{at}/{field}" if single else f"{at}/{field}/{k}"


def _vector_at(call: DerivativeCall, at: str, k: int) -> str:
    if call.kind == "grad":
        return f"{at}/grad_outputs" if len(call.outputs) == 1 else f"{at}/grad_outputs/{k}"
    return f"{at}/{'tangents' if call.kind == 'jvp' else 'v'}/{call.inputs[k]}"


def _admit(call: DerivativeCall, outs: list[Tensor], ins: list[Tensor], limit: int | None,
           max_bytes: int | None, at: str) -> None:
    """Refuse an answer over the limits from shapes alone, before computing anything."""
    if call.kind == "jacobian":
        blocks = [(o, x, name_o, name_x) for o, name_o in zip(outs, call.outputs)
                  for x, name_x in zip(ins, call.inputs)]
    elif call.kind == "hessian":
        blocks = [(a, x, name_a, name_x) for a, name_a in zip(ins, call.inputs) for x, name_x in zip(ins, call.inputs)]
    else:
        return
    total = sum(o.size * x.size * x.dtype.itemsize for o, x, _, _ in blocks)
    if max_bytes is not None and total > max_bytes:
        raise LimitError(f"the {call.kind} would hold {total} bytes, over the limit of {max_bytes} bytes a "
                         f"session may hold", pointer=at or None)
    governance.charge(total)  # the answer's blocks, held until it is rendered
    for o, x, name_o, name_x in blocks:
        n = o.size * x.size
        if limit is not None and n > limit:
            raise LimitError(f"the {call.kind} block d {name_o} / d {name_x} would hold {tuple(o.shape)} + "
                             f"{tuple(x.shape)} = {n} elements, over the limit of {limit} elements per tensor",
                             pointer=at or None)


def _chunk(call: DerivativeCall, outs: list[Tensor], ins: list[Tensor], limit: int | None) -> int | None:
    """The rows per batched pass: the caller's chunk_size, made smaller where a batched gradient of the
    graph's widest tensor would pass the per-tensor limit (the answer is the same, in more passes)."""
    if call.kind not in ("jacobian", "hessian") or limit is None:
        return call.chunk_size
    widest = max([widest_tensor(outs), *(x.size for x in ins)])
    fits = max(1, limit // max(widest, 1))
    return fits if call.chunk_size is None else min(call.chunk_size, fits)


def widest_tensor(outputs: list[Tensor]) -> int:
    """The most elements of any tensor in the graph below outputs (outputs, node inputs), from shapes."""
    widest = max([o.size for o in outputs] or [0])
    seen: set[Node] = set()
    stack = [o.grad_fn for o in outputs if o.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for x in node.inputs or ():
            shape = getattr(x, "shape", None)
            if shape is not None:
                widest = max(widest, math.prod(shape))
        stack.extend(n for n in node.next if type(n) is Node)
    return widest


def answer_tensors(answer: Mapping[str, Any]) -> list[Tensor]:
    """Every tensor of an answer (for counting its size)."""
    found: list[Tensor] = []
    for v in answer.values():
        if isinstance(v, Tensor):
            found.append(v)
        elif isinstance(v, Mapping):
            found += answer_tensors(v)
    return found


__all__ = ["derive", "widest_tensor", "answer_tensors"]
