"""Every endpoint as a Call: the request to send and how to read its answer, shared by the sync and async clients.

Requests carry tensors as base64 and ask for base64 answers; answers become numpy-backed Variables.
Hand-written (not made by the generator): regeneration keeps this file as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from .problems import retry_after
from .tensors import Variable, VariableInfo, decode, info_from_wire, input_to_wire, to_wire

T = TypeVar("T")
Names = str | Sequence[str]
# a tensor-valued argument: an ndarray, a Tensor, a list or number, or the name of a binding in the session
TensorArg = Any


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    read: Callable[[httpx.Response], T]
    body: Any = None
    content: bytes | None = None
    params: Mapping[str, str] | None = None

    def request_args(self) -> dict[str, Any]:
        headers = {}
        content = self.content
        if self.body is not None:
            # compact, and strict JSON: a NaN in a body fails here, not as a 422 from the server
            content = json.dumps(self.body, separators=(",", ":"), allow_nan=False).encode()
            headers["Content-Type"] = "application/json"
        elif content is not None:
            headers["Content-Type"] = "application/octet-stream"
        return {"method": self.method, "url": self.path, "content": content, "params": self.params,
                "headers": headers}


def retry_wait(response: httpx.Response, attempt: int, max_retries: int, max_wait: float) -> float | None:
    """Seconds to wait before sending again, or None to give up. 503 and 429 answers mean nothing was done, so
    sending again is safe; a 429 is retried only when the server says when, a 503 also with a short backoff."""
    if attempt >= max_retries or response.status_code not in (429, 503):
        return None
    wait = retry_after(response.headers)
    if wait is None:
        if response.status_code == 429:
            return None
        wait = 0.5 * 2**attempt
    return wait if wait <= max_wait else None


# ---------------------------------------------------------------------------- answers

class Result(Mapping[str, Variable]):
    """The variables a request returned, by name (`r["x"].grad`), plus `derivatives` when the program had any."""

    def __init__(self, variables: dict[str, Variable], derivatives: list[dict[str, Any]] | None = None):
        self.variables = variables
        self.derivatives: list[dict[str, Any]] = derivatives or []

    def __getitem__(self, name: str) -> Variable:
        try:
            return self.variables[name]
        except KeyError:
            raise KeyError(f"{name!r} was not returned (returned: {', '.join(self.variables) or 'nothing'}); "
                           "ask for it with return_=[...]") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.variables)

    def __len__(self) -> int:
        return len(self.variables)

    def __repr__(self) -> str:
        return f"Result({self.variables!r})"


@dataclass(frozen=True)
class SessionInfo:
    id: str
    created_at: datetime
    expires_at: datetime
    variables: dict[str, VariableInfo]


@dataclass(frozen=True)
class OptimizerInfo:
    name: str
    type: str
    params: list[str]
    hyperparameters: dict[str, Any]
    steps: int


@dataclass(frozen=True)
class Created:
    """A new session: its id and times, and what its first program returned."""

    id: str
    created_at: datetime
    expires_at: datetime
    result: Result = field(default_factory=lambda: Result({}))


def _json(response: httpx.Response) -> Any:
    return json.loads(response.content)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def variables_of(doc: Mapping[str, Any]) -> dict[str, Variable]:
    return {name: Variable.from_wire(name, v) for name, v in (doc or {}).items()}


def read_result(response: httpx.Response) -> Result:
    doc = _json(response)
    return Result(variables_of(doc.get("variables", {})),
                  [read_derivative(d) for d in doc.get("derivatives", [])])


def read_derivative(answer: Mapping[str, Any]) -> dict[str, Any]:
    """One derivative answer with its Variables as arrays (`grads` as Variables, since they may be bound)."""
    out: dict[str, Any] = {}
    for key, value in answer.items():
        out[key] = variables_of(value) if key == "grads" else _arrays(value)
    return out


def _arrays(node: Any) -> Any:
    if isinstance(node, Mapping):
        if "shape" in node and "dtype" in node and "data" in node:
            return decode(node["data"], node["dtype"], list(node["shape"]))
        return {k: _arrays(v) for k, v in node.items()}
    return node


def read_created(response: httpx.Response) -> Created:
    """A new session; a restored one lists its variables without values, and has no result."""
    doc = _json(response)
    returned = {n: v for n, v in doc.get("variables", {}).items() if "data" in v}
    return Created(doc["id"], _time(doc["created_at"]), _time(doc["expires_at"]), Result(variables_of(returned)))


def read_info(response: httpx.Response) -> SessionInfo:
    doc = _json(response)
    return SessionInfo(doc["id"], _time(doc["created_at"]), _time(doc["expires_at"]),
                       {n: info_from_wire(n, v) for n, v in doc["variables"].items()})


def read_session_variables(response: httpx.Response) -> dict[str, Variable]:
    return variables_of(_json(response)["variables"])


def read_grads(response: httpx.Response) -> dict[str, Variable]:
    """`{"grads": {...}}`, or `{"variables": {...}}` as servers before the derivatives endpoints answer."""
    doc = _json(response)
    return variables_of(doc["grads"] if "grads" in doc else doc["variables"])


def read_optimizer(response: httpx.Response) -> OptimizerInfo:
    doc = _json(response)
    return OptimizerInfo(doc["name"], doc["type"], list(doc["params"]), dict(doc.get("hyperparameters", {})),
                         int(doc.get("steps", 0)))


def read_nothing(response: httpx.Response) -> None:
    return None


def read_bytes(response: httpx.Response) -> bytes:
    return response.content


def read_text(response: httpx.Response) -> str:
    return response.text


# ---------------------------------------------------------------------------- requests

def _names(value: Names) -> str | list[str]:
    return value if isinstance(value, str) else list(value)


def _at(session_id: str, *rest: str) -> str:
    return "/".join(["/v1/sessions", quote(session_id, safe=""), *(quote(p, safe="") for p in rest)])


def _op(op: Mapping[str, Any]) -> dict[str, Any]:
    body = dict(op)
    if "args" in body:
        body["args"] = [to_wire(a) for a in body["args"]]
    if "kwargs" in body:
        body["kwargs"] = {k: to_wire(v) for k, v in body["kwargs"].items()}
    return body


def _backward_call(call: Mapping[str, Any]) -> dict[str, Any]:
    body = dict(call)
    if body.get("gradient") is not None:
        body["gradient"] = to_wire(body["gradient"])
    return body


def _grad_outputs(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [None if v is None else to_wire(v) for v in value]
    return None if value is None else to_wire(value)


def _derivative(call: Mapping[str, Any]) -> dict[str, Any]:
    body = dict(call)
    if "grad_outputs" in body:
        body["grad_outputs"] = _grad_outputs(body["grad_outputs"])
    for key in ("tangents", "v"):
        if isinstance(body.get(key), Mapping):
            body[key] = {k: to_wire(v) for k, v in body[key].items()}
    return body


def _requires_grad(value: Any) -> bool:
    if isinstance(value, Mapping):
        return bool(value.get("requires_grad"))
    return bool(getattr(value, "requires_grad", False))


def default_return(inputs: Mapping[str, Any], ops: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """What a program returns unless told: the names it binds, less the inputs that do not require grad (a
    batch of data is not sent back). A program that binds nothing returns, as the server does, every leaf
    that has a grad."""
    if not inputs and not ops:
        return None
    names = [n for n, v in inputs.items() if _requires_grad(v)] + [str(op["name"]) for op in ops if "name" in op]
    return list(dict.fromkeys(names))


def program(inputs: Mapping[str, Any] | None = None, ops: Sequence[Mapping[str, Any]] | None = None,
            backward: Sequence[Mapping[str, Any]] | None = None, *, zero_grad: bool = False,
            derivatives: Sequence[Mapping[str, Any]] | None = None, step: Sequence[str] | None = None,
            return_: Sequence[str] | None = None) -> dict[str, Any]:
    inputs, ops = dict(inputs or {}), list(ops or [])
    body: dict[str, Any] = {"encoding": "base64"}
    if zero_grad:
        body["zero_grad"] = True
    if inputs:
        body["inputs"] = {name: input_to_wire(v) for name, v in inputs.items()}
    if ops:
        body["ops"] = [_op(op) for op in ops]
    if backward:
        body["backward"] = [_backward_call(b) for b in backward]
    if derivatives:
        body["derivatives"] = [_derivative(d) for d in derivatives]
    if step:
        body["step"] = list(step)
    returns = list(return_) if return_ is not None else default_return(inputs, ops)
    if returns is not None:
        body["return"] = returns
    return body


def ops() -> Call[list[dict[str, Any]]]:
    return Call("GET", "/v1/ops", lambda r: list(_json(r)["ops"]))


def evaluate(body: dict[str, Any]) -> Call[Result]:
    return Call("POST", "/v1/evaluate", read_result, body)


def create_session(body: dict[str, Any] | None) -> Call[Created]:
    return Call("POST", "/v1/sessions", read_created, body if body is not None else {"encoding": "base64"})


def restore(snapshot: bytes) -> Call[Created]:
    return Call("POST", "/v1/sessions/restore", read_created, content=snapshot)


def session_info(sid: str) -> Call[SessionInfo]:
    return Call("GET", _at(sid), read_info)


def session_variables(sid: str) -> Call[dict[str, Variable]]:
    return Call("GET", _at(sid), read_session_variables, params={"data": "true", "encoding": "base64"})


def delete_session(sid: str) -> Call[None]:
    return Call("DELETE", _at(sid), read_nothing)


def run(sid: str, body: dict[str, Any]) -> Call[Result]:
    return Call("POST", _at(sid, "run"), read_result, body)


def backward(sid: str, output: str, gradient: TensorArg, retain_graph: bool | None, create_graph: bool,
             return_: Sequence[str] | None) -> Call[Result]:
    body: dict[str, Any] = {"output": output, "create_graph": create_graph, "encoding": "base64"}
    if gradient is not None:
        body["gradient"] = to_wire(gradient)
    if retain_graph is not None:
        body["retain_graph"] = retain_graph
    if return_ is not None:
        body["return"] = list(return_)
    return Call("POST", _at(sid, "backward"), read_result, body)


def grad(sid: str, outputs: Names, inputs: Names, grad_outputs: Any, retain_graph: bool | None,
         create_graph: bool, allow_unused: bool, is_grads_batched: bool, bind: Names | None,
         ) -> Call[dict[str, Variable]]:
    body: dict[str, Any] = {"outputs": _names(outputs), "inputs": _names(inputs), "create_graph": create_graph,
                            "allow_unused": allow_unused, "encoding": "base64"}
    if grad_outputs is not None:
        body["grad_outputs"] = _grad_outputs(grad_outputs)
    if retain_graph is not None:
        body["retain_graph"] = retain_graph
    if is_grads_batched:
        body["is_grads_batched"] = True
    if bind is not None:
        body["bind"] = _names(bind)
    return Call("POST", _at(sid, "grad"), read_grads, body)


def zero_grad(sid: str) -> Call[None]:
    return Call("POST", _at(sid, "zero_grad"), read_nothing)


def variable(sid: str, name: str) -> Call[Variable]:
    return Call("GET", _at(sid, "variables", name), lambda r: Variable.from_wire(name, _json(r)),
                params={"encoding": "base64"})


def graph(sid: str) -> Call[dict[str, Any]]:
    return Call("GET", _at(sid, "graph"), _json)


def graph_text(sid: str, format: str) -> Call[str]:
    return Call("GET", _at(sid, "graph"), read_text, params={"format": format})


def _one_or_all(answer: Mapping[str, Any], names: Names) -> Any:
    """The answer for one name as it is, for a list of names the mapping by name (as torch's functional API
    gives one tensor for one input and a tuple for a tuple)."""
    return answer[names] if isinstance(names, str) else dict(answer)


def _one_or_all2(answer: Mapping[str, Any], rows: Names, cols: Names) -> Any:
    table = {r: _one_or_all(v, cols) for r, v in answer.items()}
    return _one_or_all(table, rows)


def derivative(sid: str, kind: str, body: dict[str, Any], pick: Callable[[Mapping[str, Any]], Any]) -> Call[Any]:
    body = {**_derivative(body), "encoding": "base64"}
    return Call("POST", _at(sid, kind), lambda r: pick(_arrays(_json(r)[kind])), body)


def jacobian(sid: str, outputs: Names, inputs: Names, chunk_size: int | None) -> Call[Any]:
    body: dict[str, Any] = {"outputs": _names(outputs), "inputs": _names(inputs)}
    if chunk_size is not None:
        body["chunk_size"] = chunk_size
    return derivative(sid, "jacobian", body, lambda a: _one_or_all2(a, outputs, inputs))


def jvp(sid: str, outputs: Names, inputs: Names, tangents: Mapping[str, TensorArg]) -> Call[Any]:
    body = {"outputs": _names(outputs), "inputs": _names(inputs), "tangents": dict(tangents)}
    return derivative(sid, "jvp", body, lambda a: _one_or_all(a, outputs))


def hvp(sid: str, output: str, inputs: Names, v: Mapping[str, TensorArg]) -> Call[Any]:
    body = {"output": output, "inputs": _names(inputs), "v": dict(v)}
    return derivative(sid, "hvp", body, lambda a: _one_or_all(a, inputs))


def hessian(sid: str, output: str, inputs: Names) -> Call[Any]:
    body = {"output": output, "inputs": _names(inputs)}
    return derivative(sid, "hessian", body, lambda a: _one_or_all2(a, inputs, inputs))


def create_optimizer(sid: str, name: str, type: str, params: Sequence[str], hyperparameters: Mapping[str, Any],
                     ) -> Call[OptimizerInfo]:
    body = {"name": name, "type": type, "params": list(params), **hyperparameters}
    return Call("POST", _at(sid, "optimizers"), read_optimizer, body)


def optimizer(sid: str, name: str) -> Call[OptimizerInfo]:
    return Call("GET", _at(sid, "optimizers", name), read_optimizer)


def read_step(response: httpx.Response) -> Result:
    """The params a step updated, under `variables` (or `params`), in whichever encoding they come."""
    doc = _json(response)
    return Result(variables_of(doc["variables"] if "variables" in doc else doc.get("params", {})))


def optimizer_step(sid: str, name: str) -> Call[Result]:
    # an empty body: a step takes no arguments
    return Call("POST", _at(sid, "optimizers", name, "step"), read_step, {})


def optimizer_zero_grad(sid: str, name: str) -> Call[None]:
    return Call("POST", _at(sid, "optimizers", name, "zero_grad"), read_nothing)


def snapshot(sid: str) -> Call[bytes]:
    return Call("GET", _at(sid, "snapshot"), read_bytes)


__all__ = ["Call", "Created", "OptimizerInfo", "Result", "SessionInfo"]
