"""Request models to the engine's program structure, built once per request: wire tensors decoded by the
codec, every other rule (names, op or expr, what an argument is) checked by the engine's constructors."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine import structure
from engine.errors import TensorError
from engine.structure import pointer

from .. import schemas
from ..codec import INPUT_KEYS, decode_optional, decode_tensor


def decode_program(program: schemas.Program, limit: int) -> structure.Program:
    """The engine's Program for a request's program; `limit` bounds every tensor's element count."""
    return structure.Program(
        tuple(decode_input(name, value, limit) for name, value in program.inputs.items()),
        tuple(decode_op(i, op, limit) for i, op in enumerate(program.ops)),
        tuple(decode_backward(call, f"/backward/{j}", limit) for j, call in enumerate(program.backward)),
        None if program.return_ is None else tuple(program.return_),
        program.zero_grad,
        structure.steps(program.step),
    )


def decode_input(name: str, value: Any, limit: int) -> structure.Input:
    arr, extra = decode_tensor(value, pointer("inputs", name), name, limit, INPUT_KEYS)
    return structure.Input.make(name, arr, requires_grad=extra.get("requires_grad", False))


_TENSOR_FORMS = (list, dict)  # as JSON parses them


def decode_op(index: int, op: schemas.OpCall, limit: int) -> structure.OpCall:
    # lists and objects are wire tensors; names and numbers are the engine's to read
    args = [decode_tensor(a, f"/ops/{index}/args/{k}", None, limit)[0] if type(a) in _TENSOR_FORMS else a
            for k, a in enumerate(op.args)] if op.args else None
    return structure.OpCall.make(index, op.name, op.op, args, op.kwargs, op.expr, op.retain_grad, op.no_grad,
                                 op.requires_grad)


def decode_backward(call: schemas.BackwardCall, at: str, limit: int) -> structure.BackwardCall:
    return structure.BackwardCall(call.output, decode_optional(call.gradient, f"{at}/gradient", limit),
                                  call.retain_graph, call.create_graph)


def decode_grad(call: schemas.GradRequest, limit: int) -> structure.GradCall:
    return structure.GradCall.make(call.outputs, call.inputs, _decode_grad_outputs(call, limit),
                                   call.retain_graph, call.create_graph, call.allow_unused, call.bind)


def _decode_grad_outputs(call: schemas.GradRequest, limit: int) -> list[np.ndarray | None] | None:
    """One gradient per output: a list when `outputs` is a list, else a single tensor."""
    value = call.grad_outputs
    if value is None:
        return None
    if isinstance(call.outputs, str):
        return [decode_tensor(value, "/grad_outputs", None, limit)[0]]
    if not isinstance(value, list):
        raise TensorError("'grad_outputs' must be a list with one tensor (or null) per output",
                          pointer="/grad_outputs")
    return [decode_optional(v, f"/grad_outputs/{k}", limit) for k, v in enumerate(value)]
