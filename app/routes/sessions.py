"""Sessions: bindings and their graph kept between requests, for repeated backward calls and loops."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from engine import governance as engine_governance
from engine.errors import UnknownNameError
from engine.program import Limits, Namespace

from .. import governance, snapshots
from ..codec import encode_answer, encode_variable, encode_variables, variables_json
from ..deps import CreatorDep, LimitsDep, SessionDep, StoreDep
from ..errors import Problem, problems
from ..examples import (
    BACKWARD_EXAMPLES,
    GRAD_EXAMPLES,
    HESSIAN_EXAMPLES,
    HVP_EXAMPLES,
    JACOBIAN_EXAMPLES,
    JVP_EXAMPLES,
    RUN_EXAMPLES,
    SESSION_EXAMPLES,
)
from ..graphviz import graph_dot, graph_json, render_svg
from ..http import BoundedRequest, JSONBytes, JSONRoute, render
from ..schemas import (
    BackwardRequest,
    Encoding,
    GradRequest,
    GradsResponse,
    Graph,
    HessianRequest,
    HessianResponse,
    HvpRequest,
    HvpResponse,
    JacobianRequest,
    JacobianResponse,
    JvpRequest,
    JvpResponse,
    Program,
    Session,
    Variable,
    VariablesResponse,
)
from ..sessions import Session as SessionState
from ..sessions import SessionStore, delete_when_idle, run_locked
from .decode import decode_derivative, decode_program, decode_vector

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], route_class=JSONRoute)

EncodingQuery = Annotated[Encoding, Query(description="json: nested lists; base64: little-endian bytes")]


@router.post("", operation_id="create_session", status_code=201, response_model=Session,
             responses=problems(400, 409, 413, 415, 422, 503, 504), summary="Create a session")
async def create_session(request: Request, store: StoreDep, limits: LimitsDep, owner: CreatorDep,
                         program: Annotated[Program | None, Body(openapi_examples=SESSION_EXAMPLES)] = None,
                         ) -> Response:
    """Create a session, optionally running a first program in it (if that fails, no session is made)."""

    def work() -> Response:
        namespace = Namespace()
        variables, answers, encoding = {}, [], "json"
        if program is not None:
            document = decode_program(program, limits.max_tensor_elements, limits.max_ops)
            variables, answers = namespace.execute(document, limits)
            encoding = program.encoding
        session = store.create(namespace, owner=owner)
        budget, governor = engine_governance.current(), governance.current()
        if budget is not None and governor is not None:  # the new session keeps what the program made
            session.held = budget.used
            governor.keep(0, budget.used)
        body = {**session.describe(), "variables": encode_variables(variables, encoding)}
        if answers:
            body["derivatives"] = [encode_answer(a, encoding) for a in answers]
        return JSONBytes(render(body), status_code=201, headers={"Location": f"/v1/sessions/{session.id}"})

    return await governance.run_governed(work, limit=request.app.state.settings.MAX_SESSION_BYTES)


SNAPSHOT_CONTENT = {snapshots.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}


@router.post("/restore", operation_id="restore_session", status_code=201, response_model=Session,
             responses=problems(413, 415, 422, 503), summary="Make a session from a snapshot",
             openapi_extra={"requestBody": {"required": True, "content": SNAPSHOT_CONTENT,
                                            "description": "a file from GET /v1/sessions/{id}/snapshot"}})
async def restore_session(request: Request, store: StoreDep, limits: LimitsDep, owner: CreatorDep) -> Response:
    """A new session that continues exactly where the snapshot's session was (freed buffers stay freed,
    retain_grad is kept); the answer lists its variables without data."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != snapshots.MEDIA_TYPE:
        raise Problem(415, "unsupported-media-type",
                      f"send the snapshot as {snapshots.MEDIA_TYPE} (got {content_type or 'no Content-Type'})")
    body = await BoundedRequest(request.scope, request.receive).body()  # within MAX_BODY_BYTES

    def work() -> Response:
        session = store.create(snapshots.read(body, limits), owner=owner)
        payload = {**session.describe(), "variables": encode_variables(session.namespace.bindings, with_data=False)}
        return JSONBytes(render(payload), status_code=201, headers={"Location": f"/v1/sessions/{session.id}"})

    return await run_in_threadpool(work)


@router.get("/{session_id}", operation_id="get_session", response_model=Session,
            responses=problems(404, 422, 429, 503, 504), summary="Describe a session")
async def get_session(session: SessionDep, store: StoreDep,
                      data: Annotated[bool, Query(description="include every variable's data and grad")] = False,
                      encoding: EncodingQuery = "json") -> Response:
    """The session's variables (metadata only, unless `data=true`) and when it expires."""

    def work() -> Response:
        variables = encode_variables(session.namespace.bindings, encoding, with_data=data)
        return JSONBytes(render({**session.describe(), "variables": variables}))

    return await run_locked(store, session, work)


@router.get("/{session_id}/snapshot", operation_id="get_snapshot", response_class=Response,
            responses={200: {"content": SNAPSHOT_CONTENT,
                             "description": "a safetensors file: every array of the session, the graph in its "
                                            "metadata"},
                       **problems(404, 422, 429, 503, 504)},
            summary="Download the session as a file")
async def get_snapshot(session: SessionDep, store: StoreDep) -> Response:
    """Every array of the session (data, grads, saved buffers) with its graph, as one safetensors file that
    POST /v1/sessions/restore turns back into a session, here or on another server."""

    def work() -> bytes:
        return snapshots.write(session.namespace)

    data = await run_locked(store, session, work)
    return Response(data, media_type=snapshots.MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{session.id}.safetensors"'})


@router.delete("/{session_id}", operation_id="delete_session", status_code=204,
               responses=problems(404, 422, 503, 504), summary="Delete a session")
async def delete_session(session: SessionDep, store: StoreDep) -> Response:
    # Requests still queued on it will answer 404, and so will the one running now: once this answers, no
    # request on the session answers 200.
    await delete_when_idle(store, session)
    return Response(status_code=204)


@router.post("/{session_id}/run", operation_id="run_program", response_model=VariablesResponse,
             responses=problems(400, 404, 409, 413, 415, 422, 429, 503, 504), summary="Run a program in a session")
async def run_program(session: SessionDep, store: StoreDep, limits: LimitsDep,
                      program: Annotated[Program, Body(openapi_examples=RUN_EXAMPLES)]) -> Response:
    """Run a program against the session's bindings and graph; names refer to their current bindings."""

    def work() -> Response:
        document = decode_program(program, limits.max_tensor_elements, limits.max_ops)
        variables, answers = session.namespace.execute(document, limits)
        return JSONBytes(variables_json(variables, program.encoding, answers))

    return await run_locked(store, session, work)


@router.post("/{session_id}/backward", operation_id="backward", response_model=VariablesResponse,
             responses=problems(400, 404, 409, 413, 415, 422, 429, 503, 504), summary="Backward from one output")
async def backward(session: SessionDep, store: StoreDep, limits: LimitsDep,
                   call: Annotated[BackwardRequest, Body(openapi_examples=BACKWARD_EXAMPLES)]) -> Response:
    """Accumulate gradients into the leaves, as `output.backward(gradient)`; return the variables with a grad."""

    def work() -> Response:
        gradient = decode_vector(call.gradient, "/gradient", limits.max_tensor_elements)
        variables = session.namespace.backward(call.output, gradient, retain_graph=call.retain_graph,
                                               create_graph=call.create_graph, limits=limits, returns=call.return_)
        return JSONBytes(variables_json(variables, call.encoding))

    return await run_locked(store, session, work)


DERIVATIVE_PROBLEMS = problems(400, 404, 409, 413, 415, 422, 429, 503, 504)


async def _derivative(store: SessionStore, session: SessionState, limits: Limits, call, kind: str) -> Response:
    """Run one derivative call on the session, all or nothing, and answer it as its endpoint does."""

    def work() -> Response:
        answer = session.namespace.derivative(decode_derivative(call, "", limits.max_tensor_elements, kind), limits)
        return JSONBytes(render(encode_answer(answer, call.encoding)))

    return await run_locked(store, session, work)


@router.post("/{session_id}/grad", operation_id="grad", response_model=GradsResponse,
             responses=DERIVATIVE_PROBLEMS, summary="Gradients without accumulating")
async def grad(session: SessionDep, store: StoreDep, limits: LimitsDep,
               call: Annotated[GradRequest, Body(openapi_examples=GRAD_EXAMPLES)]) -> Response:
    """Like torch.autograd.grad: `{"grads": {name: grad}}` of `outputs` with respect to `inputs`, named by `bind`
    or by input, never accumulated into any grad.

    With `bind` they are also bound in the session; made with `create_graph`, they can be differentiated again.
    With `is_grads_batched`, every `grad_outputs` item has a leading batch axis and so does every grad: one
    batched backward pass instead of one request per row.
    """
    return await _derivative(store, session, limits, call, "grad")


@router.post("/{session_id}/jacobian", operation_id="jacobian", response_model=JacobianResponse,
             responses=DERIVATIVE_PROBLEMS, summary="Jacobian of outputs by inputs")
async def jacobian(session: SessionDep, store: StoreDep, limits: LimitsDep,
                   call: Annotated[JacobianRequest, Body(openapi_examples=JACOBIAN_EXAMPLES)]) -> Response:
    """`{"jacobian": {output: {input: J}}}`, J of shape output.shape + input.shape (as
    torch.autograd.functional.jacobian), in batched backward passes; the graph is kept and no grad changes.
    An input the outputs do not reach gets zeros."""
    return await _derivative(store, session, limits, call, "jacobian")


@router.post("/{session_id}/jvp", operation_id="jvp", response_model=JvpResponse,
             responses=DERIVATIVE_PROBLEMS, summary="Jacobian-vector product")
async def jvp(session: SessionDep, store: StoreDep, limits: LimitsDep,
              call: Annotated[JvpRequest, Body(openapi_examples=JVP_EXAMPLES)]) -> Response:
    """`{"jvp": {output: J·v}}`: the derivative of each output along `tangents` (one tensor or variable name per
    input), as torch.autograd.functional.jvp."""
    return await _derivative(store, session, limits, call, "jvp")


@router.post("/{session_id}/hvp", operation_id="hvp", response_model=HvpResponse,
             responses=DERIVATIVE_PROBLEMS, summary="Hessian-vector product")
async def hvp(session: SessionDep, store: StoreDep, limits: LimitsDep,
              call: Annotated[HvpRequest, Body(openapi_examples=HVP_EXAMPLES)]) -> Response:
    """`{"hvp": {input: H·v}}` for a single-element `output`, v one tensor or variable name per input (as
    torch.autograd.functional.hvp)."""
    return await _derivative(store, session, limits, call, "hvp")


@router.post("/{session_id}/hessian", operation_id="hessian", response_model=HessianResponse,
             responses=DERIVATIVE_PROBLEMS, summary="Hessian of a scalar output")
async def hessian(session: SessionDep, store: StoreDep, limits: LimitsDep,
                  call: Annotated[HessianRequest, Body(openapi_examples=HESSIAN_EXAMPLES)]) -> Response:
    """`{"hessian": {input_i: {input_j: H}}}`, H of shape input_i.shape + input_j.shape, for a single-element
    `output` (as torch.autograd.functional.hessian): the Jacobian of the gradient, in batched passes."""
    return await _derivative(store, session, limits, call, "hessian")


@router.post("/{session_id}/zero_grad", operation_id="zero_grad", status_code=204,
             responses=problems(404, 422, 429, 503, 504), summary="Set every grad to null")
async def zero_grad(session: SessionDep, store: StoreDep) -> Response:
    await run_locked(store, session, lambda: session.namespace.zero_grad())
    return Response(status_code=204)


@router.get("/{session_id}/variables/{name}", operation_id="get_variable", response_model=Variable,
            responses=problems(404, 422, 429, 503, 504), summary="One variable with its data and grad")
async def get_variable(session: SessionDep, store: StoreDep, name: str, encoding: EncodingQuery = "json",
                       ) -> Response:
    def work() -> Response:
        try:
            tensor = session.namespace.variable(name)
        except UnknownNameError as e:
            raise Problem(404, "variable-not-found", e.detail, name=name) from None
        return JSONBytes(render(encode_variable(tensor, encoding)))

    return await run_locked(store, session, work)


GRAPH_RESPONSES = {200: {"content": {"text/vnd.graphviz": {"schema": {"type": "string"}},
                                     "image/svg+xml": {"schema": {"type": "string"}}},
                         "description": "The graph as JSON, as Graphviz DOT with format=dot, or as an SVG picture "
                                        "with format=svg (drawn by Graphviz on the server)"},
                   **problems(404, 406, 413, 422, 429, 503, 504)}


@router.get("/{session_id}/graph", operation_id="get_graph", response_model=Graph, responses=GRAPH_RESPONSES,
            summary="The autograd graph")
async def get_graph(session: SessionDep, store: StoreDep,
                    format: Annotated[Literal["json", "dot", "svg"],
                                      Query(description="json, Graphviz dot, or an svg picture (406 "
                                                        "svg-unavailable where the server has no Graphviz)")] = "json",
                    ) -> Response:
    """Leaves, named outputs and grad_fn nodes (with what they saved, and whether it was freed), and edges."""
    if format == "svg":
        # draw outside the session's lock: the picture needs only the DOT text
        source = await run_locked(store, session, lambda: graph_dot(session.namespace))
        return Response(await run_in_threadpool(render_svg, source), media_type="image/svg+xml")

    def work() -> Response:
        if format == "dot":
            return Response(graph_dot(session.namespace), media_type="text/vnd.graphviz")
        return JSONBytes(render(graph_json(session.namespace)))

    return await run_locked(store, session, work)
