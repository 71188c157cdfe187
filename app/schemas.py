"""Request and response schemas of the API, as published in the OpenAPI document.

Tensor-valued fields are typed loosely (validated and decoded by app.codec, never item by item by pydantic),
and publish the exact tensor forms through named components (TENSOR_COMPONENTS). The wire's constants (dtypes,
the dimension cap, the non-finite tokens, the encodings) come from the engine and the codec, never restated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from engine.tensor import DTYPES

from .codec import ENCODINGS, MAX_NDIM, NONFINITE
from .examples import SEED_PROGRAM

DType = Literal[tuple(DTYPES)]  # type: ignore[valid-type]
Encoding = Literal[ENCODINGS]  # type: ignore[valid-type]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_NUMBER = {"type": "number"}
_BOOLEAN = {"type": "boolean"}
_SHAPE = {"type": "array", "items": {"type": "integer", "minimum": 0}, "maxItems": MAX_NDIM,
          "description": "dimensions, row-major"}
_DTYPE = {"type": "string", "enum": list(DTYPES),
          "description": "float32 unless given (bool when every item is a JSON boolean)"}


def _object_forms(extra: dict[str, Any], what: str) -> dict[str, dict]:
    data = {
        "type": "object",
        "description": f"{what} given as data (a number or nested list) with an optional dtype; `shape` "
                       "may reshape flat data",
        "properties": {"data": {"anyOf": [_NUMBER, _BOOLEAN, _ref("NonFinite"), _ref("TensorList")]},
                       "dtype": _DTYPE, "shape": _SHAPE, **extra},
        "required": ["data"],
        "additionalProperties": False,
    }
    b64 = {
        "type": "object",
        "description": f"{what} given as base64 of its little-endian, C-order bytes; the length must match "
                       "shape × the dtype's item size",
        "properties": {"b64": {"type": "string", "contentEncoding": "base64"}, "dtype": _DTYPE,
                       "shape": _SHAPE, **extra},
        "required": ["b64", "shape"],
        "additionalProperties": False,
    }
    return {"data": data, "b64": b64}


_tensor_objects = _object_forms({}, "A tensor")
_input_objects = _object_forms(
    {"requires_grad": {"type": "boolean", "default": False,
                       "description": "record operations on this leaf for backward (floating dtypes only)"}},
    "An input")

TENSOR_COMPONENTS: dict[str, dict[str, Any]] = {
    "NonFinite": {"type": "string", "enum": list(NONFINITE),
                  "description": "a non-finite float, written as in the proto3 JSON mapping"},
    "TensorList": {
        "type": "array",
        "description": "a nested list, row-major; every row of a level has the same length",
        "items": {"anyOf": [_NUMBER, _BOOLEAN, _ref("NonFinite"), _ref("TensorList")]},
    },
    "TensorData": _tensor_objects["data"],
    "TensorBase64": _tensor_objects["b64"],
    "Tensor": {
        "description": "A tensor: a number, a nested list, {data, dtype} or {b64, dtype, shape}",
        "oneOf": [_NUMBER, _BOOLEAN, _ref("TensorList"), _ref("TensorData"), _ref("TensorBase64")],
    },
    "InputData": _input_objects["data"],
    "InputBase64": _input_objects["b64"],
    "Input": {
        "description": "A program input: a tensor (a constant leaf), or an object that may set requires_grad",
        "oneOf": [_NUMBER, _BOOLEAN, _ref("TensorList"), _ref("InputData"), _ref("InputBase64")],
    },
    "Arg": {
        "description": "An op argument: a string names a variable (its current binding); a number, list or "
                       "tensor object is a constant",
        "oneOf": [{"type": "string"}, _NUMBER, _BOOLEAN, _ref("TensorList"), _ref("TensorData"),
                  _ref("TensorBase64")],
    },
    "TensorValue": {
        "description": "A tensor's values in a response: a number (shape []) or nested list for the json "
                       "encoding, {b64} for the base64 encoding",
        "anyOf": [_NUMBER, _BOOLEAN, _ref("NonFinite"), _ref("TensorList"),
                  {"type": "object", "properties": {"b64": {"type": "string", "contentEncoding": "base64"}},
                   "required": ["b64"], "additionalProperties": False}],
    },
}

Tensor = Annotated[Any, WithJsonSchema(_ref("Tensor"))]
Input = Annotated[Any, WithJsonSchema(_ref("Input"))]
Arg = Annotated[Any, WithJsonSchema(_ref("Arg"))]
# allOf: pydantic cannot resolve a bare $ref to a component it did not make when it is a field's whole schema
TensorValue = Annotated[Any, WithJsonSchema({"allOf": [_ref("TensorValue")]})]
_VARIABLE_NAME = {"type": "string", "description": "the name of a variable: its current binding (kept in the "
                                                   "graph, so differentiable under create_graph)"}
_TENSOR_OR_NAME = {"anyOf": [_VARIABLE_NAME, _ref("Tensor")]}
TensorOrName = Annotated[Any, WithJsonSchema({"description": "a tensor, or the name of a variable",
                                              **_TENSOR_OR_NAME})]
GradOutputs = Annotated[Any, WithJsonSchema({
    "description": "one tensor or variable name per output (null for the default of ones on a single-element "
                   "output): a list when `outputs` is a list, a single one when it is a string; with "
                   "is_grads_batched each has a leading batch axis",
    "anyOf": [{"type": "array", "items": {"anyOf": [*_TENSOR_OR_NAME["anyOf"], {"type": "null"}]}},
              *_TENSOR_OR_NAME["anyOf"], {"type": "null"}],
})]
Vectors = Annotated[dict[str, Any], WithJsonSchema({
    "type": "object", "description": "one tensor (of the input's shape) or variable name per input, by input name",
    "additionalProperties": _TENSOR_OR_NAME,
})]

Name = Annotated[str, Field(min_length=1, max_length=256, description="a variable name (an identifier)")]
Names = Annotated[list[Name], Field(max_length=100_000)]
NameOrNames = Name | Names

_ENCODING = Field("json", description="how `data` and `grad` are returned: nested lists, or base64 of the "
                                      "little-endian bytes")
_RETURN = Field(None, alias="return", description="names to return (default: every name bound by this request, "
                                                  "plus every leaf that has a grad)")


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# ---------------------------------------------------------------------------- programs

class OpCall(RequestModel):
    """One step of a program: bind `name` to `op(*args, **kwargs)` or to the value of `expr`."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"name": "y", "op": "add", "args": ["x", 2]},
        {"name": "s", "op": "sum", "args": ["x"], "kwargs": {"axis": 0, "keepdims": True}},
        {"name": "out", "expr": "mean(z)"},
    ]})

    name: Name
    op: str | None = Field(None, description="a catalog op (GET /v1/ops); give either `op` or `expr`")
    args: list[Arg] = Field(default_factory=list, max_length=100_000)
    kwargs: dict[str, Any] = Field(default_factory=dict, description="the op's keyword attributes")
    expr: str | None = Field(None, max_length=10_000,
                             description="a formula: numbers, names, + - * / ** @, unary minus, parentheses, "
                                         "calls of catalog ops and subscripts such as x[0, 1:3]")
    retain_grad: bool = Field(False, description="keep this non-leaf's grad after backward")
    no_grad: bool = Field(False, description="compute without recording a graph (torch.no_grad): the result is "
                                             "a leaf")
    requires_grad: bool | None = Field(None, description="make the result a leaf that requires grad (or not), as "
                                                         "requires_grad_(); a computed (non-leaf) result is a 422")


class BackwardCall(RequestModel):
    """A backward call: accumulate d output / d leaf into every leaf's grad."""

    output: Name
    gradient: TensorOrName | None = Field(None, description="the upstream gradient, of the output's shape (a "
                                                            "tensor or a variable's name); may be left out only "
                                                            "for a single-element output")
    retain_graph: bool | None = Field(None, description="keep the graph's saved buffers for another backward "
                                                        "(default: create_graph)")
    create_graph: bool = Field(False, description="record the backward pass, making the grads differentiable")


class GradFields(RequestModel):
    """torch.autograd.grad by names: gradients of outputs with respect to inputs, without accumulating."""

    outputs: NameOrNames
    inputs: NameOrNames
    grad_outputs: GradOutputs = None
    retain_graph: bool | None = Field(None, description="default: create_graph")
    create_graph: bool = Field(False, description="record the backward pass, making the grads differentiable")
    allow_unused: bool = Field(False, description="leave out inputs the outputs do not depend on instead of "
                                                  "failing")
    is_grads_batched: bool = Field(False, description="each grad_outputs item has a leading batch axis B, and "
                                                      "each grad comes back with it: B vector-Jacobian products "
                                                      "in one batched backward pass")
    bind: NameOrNames | None = Field(None, description="bind the grads in the session under these names, one "
                                                       "per input")


_CHUNK = Field(None, ge=1, description="rows of the identity per batched backward pass (default: all at once, "
                                       "or fewer where a batched gradient would pass the per-tensor limit); "
                                       "the answer is the same, memory is bounded")


class JacobianFields(RequestModel):
    """The Jacobian of outputs with respect to inputs (torch.autograd.functional.jacobian)."""

    outputs: NameOrNames
    inputs: NameOrNames
    chunk_size: int | None = _CHUNK


class JvpFields(RequestModel):
    """J·v: the derivative of outputs along `tangents`, one per input (torch.autograd.functional.jvp)."""

    outputs: NameOrNames
    inputs: NameOrNames
    tangents: Vectors


class HvpFields(RequestModel):
    """H·v for a single-element output, v one per input (torch.autograd.functional.hvp)."""

    output: Name
    inputs: NameOrNames
    v: Vectors


class HessianFields(RequestModel):
    """The Hessian of a single-element output with respect to inputs (torch.autograd.functional.hessian)."""

    output: Name
    inputs: NameOrNames
    chunk_size: int | None = _CHUNK


class GradRequest(GradFields):
    encoding: Encoding = _ENCODING


class JacobianRequest(JacobianFields):
    encoding: Encoding = _ENCODING


class JvpRequest(JvpFields):
    encoding: Encoding = _ENCODING


class HvpRequest(HvpFields):
    encoding: Encoding = _ENCODING


class HessianRequest(HessianFields):
    encoding: Encoding = _ENCODING


class GradCall(GradFields):
    kind: Literal["grad"]


class JacobianCall(JacobianFields):
    kind: Literal["jacobian"]


class JvpCall(JvpFields):
    kind: Literal["jvp"]


class HvpCall(HvpFields):
    kind: Literal["hvp"]


class HessianCall(HessianFields):
    kind: Literal["hessian"]


DerivativeCall = Annotated[GradCall | JacobianCall | JvpCall | HvpCall | HessianCall, Field(discriminator="kind")]


class Program(RequestModel):
    """Inputs, ops and backward calls, run in that order, all or nothing."""

    model_config = ConfigDict(json_schema_extra={"examples": [SEED_PROGRAM]})

    zero_grad: bool = Field(False, description="first of all, set every grad in the session to null")
    inputs: dict[Name, Input] = Field(default_factory=dict,
                                      description="leaves to bind (rebinding an existing name makes a new leaf)")
    ops: list[OpCall] = Field(default_factory=list, max_length=1_000_000)
    backward: list[BackwardCall] = Field(default_factory=list, max_length=100_000)
    derivatives: list[DerivativeCall] = Field(default_factory=list, max_length=10_000,
                                              description="derivative calls, run in order after the backward "
                                                          "calls; the response holds their answers in order")
    step: Names = Field(default_factory=list, description="optimizers of the session to step, in order, after "
                                                          "the backward calls (one request is a training step)")
    return_: Names | None = _RETURN
    encoding: Encoding = _ENCODING


class BackwardRequest(BackwardCall):
    return_: Names | None = Field(None, alias="return",
                                  description="names to return (default: every variable that has a grad)")
    encoding: Encoding = _ENCODING


# ---------------------------------------------------------------------------- optimizers

OptimizerType = Literal["sgd", "adam", "adamw", "rmsprop", "adagrad"]
_NONNEG = {"ge": 0}


class OptimizerRequest(RequestModel):
    """An optimizer of some of the session's params, with torch.optim's hyperparameter names and defaults.

    Hyperparameters sit at the top level; each type takes its own (`momentum` is for sgd and rmsprop, `betas`
    for adam and adamw...), and one it does not take is a 422.
    """

    name: Name
    type: OptimizerType
    params: NameOrNames = Field(description="the names of leaves that require grad")
    lr: float | None = Field(None, ge=0, description="learning rate (sgd, adam, adamw: 0.001; rmsprop, "
                                                     "adagrad: 0.01)")
    momentum: float | None = Field(None, **_NONNEG, description="sgd, rmsprop (default 0)")
    dampening: float | None = Field(None, description="sgd (default 0)")
    nesterov: bool | None = Field(None, description="sgd (default false)")
    weight_decay: float | None = Field(None, **_NONNEG, description="L2 penalty (adamw: decoupled, default 0.01; "
                                                                   "others 0)")
    betas: tuple[float, float] | None = Field(None, description="adam, adamw (default [0.9, 0.999])")
    eps: float | None = Field(None, **_NONNEG, description="adam, adamw, rmsprop (1e-8); adagrad (1e-10)")
    amsgrad: bool | None = Field(None, description="adam, adamw (default false)")
    alpha: float | None = Field(None, **_NONNEG, description="rmsprop smoothing constant (default 0.99)")
    centered: bool | None = Field(None, description="rmsprop (default false)")
    lr_decay: float | None = Field(None, **_NONNEG, description="adagrad (default 0)")
    initial_accumulator_value: float | None = Field(None, **_NONNEG, description="adagrad (default 0)")
    maximize: bool | None = Field(None, description="maximize instead of minimize (default false)")

    def hyperparameters(self) -> dict[str, Any]:
        fixed = {"name", "type", "params"}
        return {k: getattr(self, k) for k in self.model_fields_set - fixed if getattr(self, k) is not None}


class Optimizer(BaseModel):
    """An optimizer of the session: every hyperparameter (defaults included) and how many steps it took."""

    name: str
    type: OptimizerType
    params: list[str]
    hyperparameters: dict[str, Any]
    steps: int


class StepRequest(RequestModel):
    return_: Names | None = Field(None, alias="return", description="names to return (default: the params)")
    encoding: Encoding = _ENCODING


# ---------------------------------------------------------------------------- variables and sessions

class VariableInfo(BaseModel):
    """A variable's metadata, without its values."""

    shape: list[int]
    dtype: DType
    requires_grad: bool
    is_leaf: bool
    grad_fn: str | None = Field(description="the node that made it, as PyTorch names it (MulBackward0); null "
                                            "for leaves")
    has_grad: bool


class Variable(BaseModel):
    """A variable: its values, its grad (null until a backward reaches it) and its place in the graph."""

    # the seed's y = x + 2 with retain_grad (an example without nulls: the OpenAPI export drops them)
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"shape": [2, 2], "dtype": "float32", "requires_grad": True, "is_leaf": False, "grad_fn": "AddBackward0",
         "data": [[3.0, 3.0], [3.0, 3.0]], "grad": [[4.5, 4.5], [4.5, 4.5]]}]})

    shape: list[int]
    dtype: DType
    requires_grad: bool
    is_leaf: bool
    grad_fn: str | None
    data: TensorValue
    grad: TensorValue | None


class GradsResponse(BaseModel):
    """Gradients by the bind name, else the input's name."""

    grads: dict[str, Variable]


class JacobianResponse(BaseModel):
    """jacobian[output][input] has shape output.shape + input.shape."""

    jacobian: dict[str, dict[str, Variable]]


class JvpResponse(BaseModel):
    """jvp[output] is J·v, of the output's shape."""

    jvp: dict[str, Variable]


class HvpResponse(BaseModel):
    """hvp[input] is H·v, of the input's shape."""

    hvp: dict[str, Variable]


class HessianResponse(BaseModel):
    """hessian[input_i][input_j] has shape input_i.shape + input_j.shape."""

    hessian: dict[str, dict[str, Variable]]


class VariablesResponse(BaseModel):
    variables: dict[str, Variable]
    derivatives: list[GradsResponse | JacobianResponse | JvpResponse | HvpResponse | HessianResponse] | None = Field(
        None, description="the answers of the program's derivative calls, in order (only when it had any)")


class Session(BaseModel):
    """A session: bindings and their graph, kept between requests until deleted or idle for the TTL."""

    id: str
    created_at: datetime
    expires_at: datetime = Field(description="when the session expires if it stays idle (ISO 8601, UTC)")
    variables: dict[str, Variable | VariableInfo]


# ---------------------------------------------------------------------------- ops, graph, health, problems

class KwargInfo(BaseModel):
    name: str
    type: str
    required: bool
    default: Any = None
    aliases: list[str] = Field(description="other spellings of the kwarg (PyTorch's: dim for axis, ...)")


class OpInfo(BaseModel):
    """A catalog entry: how to call an op."""

    name: str
    arity: int | Literal["variadic"]
    args: list[str]
    kwargs: list[KwargInfo]
    differentiable: bool
    grad_fn: str | None
    method: bool
    doc: str
    aliases: list[str] = Field(description="other names of the op (PyTorch's or numpy's: clamp for clip, ...), "
                                           "accepted wherever an op is named")
    family: str = Field(description="the group of ops it belongs to (unary, reductions, shape, ...)")
    torch: str = Field(description="its PyTorch counterpart")


class OpsResponse(BaseModel):
    ops: list[OpInfo]


class SavedBuffer(BaseModel):
    shape: list[int]
    dtype: str


class GraphNode(BaseModel):
    """A tensor (kind leaf or output) or a grad_fn node."""

    id: str
    kind: Literal["leaf", "output", "grad_fn"]
    label: str
    names: list[str] | None = None
    shape: list[int] | None = None
    dtype: str | None = None
    requires_grad: bool | None = None
    has_grad: bool | None = None
    op: str | None = None
    saved: list[SavedBuffer] | None = None
    freed: bool | None = None


class GraphEdge(BaseModel):
    source: str
    target: str


class Graph(BaseModel):
    """The autograd graph, edges in the forward direction (input to the node that used it)."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]


class Health(BaseModel):
    status: Literal["ok"]


class ProblemItem(BaseModel):
    detail: str
    pointer: str | None = Field(None, description="JSON pointer into the request body")
    parameter: str | None = Field(None, description="query or path parameter")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"type": "/problems/shape-mismatch", "title": "Shapes do not match", "status": 422,
         "detail": "shapes (2, 2) and (3,) do not broadcast in op 1 'add'", "op_index": 1, "name": "y",
         "errors": [{"detail": "shapes (2, 2) and (3,) do not broadcast in op 1 'add'", "pointer": "/ops/1"}]}]})

    type: str = Field(description="a stable URI per kind of error, /problems/<kind>")
    title: str
    status: int
    detail: str
    op_index: int | None = Field(None, description="the op that failed")
    name: str | None = Field(None, description="the variable or input concerned")
    errors: list[ProblemItem] | None = None
    request_id: str | None = Field(None, description="the request's X-Request-ID, to quote when reporting it")
