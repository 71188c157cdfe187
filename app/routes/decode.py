"""Request models to the engine's program structure, built once per request: wire tensors decoded by the
codec, every other rule (names, op or expr, what an argument is) checked by the engine's constructors."""

from __future__ import annotations

from typing import Any

from engine import structure
from engine.errors import TensorError
from engine.structure import pointer

from .. import schemas
from ..codec import INPUT_KEYS, decode_tensor


def decode_program(program: schemas.Program, limit: int, max_ops: int | None = None) -> structure.Program:
    """The engine's Program for a request's program; `limit` bounds every tensor's element count. With
    `max_ops`, a program that applies more ops is refused as soon as the count shows it: its entries are
    counted before any formula is parsed, then each formula's ops as it is parsed."""
    count = len(program.ops) + len(program.backward) + len(program.derivatives)  # every entry counts one op at least
    structure.check_op_count(count, max_ops)
    inputs = tuple(decode_input(name, value, limit) for name, value in program.inputs.items())
    ops = []
    for i, op in enumerate(program.ops):
        decoded = decode_op(i, op, limit)
        count += decoded.op_count - 1
        structure.check_op_count(count, max_ops)
        ops.append(decoded)
    return structure.Program(
        inputs,
        tuple(ops),
        tuple(decode_backward(call, f"/backward/{j}", limit) for j, call in enumerate(program.backward)),
        None if program.return_ is None else tuple(program.return_),
        program.zero_grad,
        structure.steps(program.step),
        tuple(decode_derivative(call, f"/derivatives/{k}", limit) for k, call in enumerate(program.derivatives)),
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


def decode_vector(value: Any, at: str, limit: int) -> Any:
    """A gradient, tangent or v: a string names a variable (kept as the name); anything else is a tensor."""
    if value is None or isinstance(value, str):
        return value
    return decode_tensor(value, at, None, limit)[0]


def decode_backward(call: schemas.BackwardCall, at: str, limit: int) -> structure.BackwardCall:
    return structure.BackwardCall(call.output, decode_vector(call.gradient, f"{at}/gradient", limit),
                                  call.retain_graph, call.create_graph)


def decode_derivative(call: Any, at: str, limit: int, kind: str | None = None) -> structure.DerivativeCall:
    """The engine's DerivativeCall for a derivative request (`kind` given by its endpoint) or a program's
    derivative call."""
    fields = call.model_dump(exclude={"encoding", "kind"}, exclude_none=True)
    fields["kind"] = kind or call.kind
    if isinstance(call, schemas.GradFields):
        given = _decode_grad_outputs(call.grad_outputs, call.outputs, limit, f"{at}/grad_outputs")
        fields["grad_outputs"] = given[0] if given is not None and isinstance(call.outputs, str) else given
    for field in ("tangents", "v"):
        if field in fields:
            fields[field] = {name: decode_vector(value, f"{at}/{field}/{name}", limit)
                             for name, value in getattr(call, field).items()}
    return structure.DerivativeCall.from_value(fields, at)


def _decode_grad_outputs(value: Any, outputs: str | list[str], limit: int, at: str) -> list[Any] | None:
    """One gradient (a tensor, or a variable's name) per output: a list when `outputs` is a list, else one."""
    if value is None:
        return None
    if isinstance(outputs, str):
        return [decode_vector(value, at, limit)]
    if not isinstance(value, list):
        raise TensorError("'grad_outputs' must be a list with one tensor, name or null per output", pointer=at)
    return [decode_vector(v, f"{at}/{k}", limit) for k, v in enumerate(value)]
