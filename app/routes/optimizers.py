"""Optimizers of a session: torch.optim's SGD, Adam, AdamW, RMSprop and Adagrad over the session's params."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from starlette.responses import Response

from engine.errors import UnknownNameError
from engine.program import NamedOptimizer, Namespace

from ..codec import variables_json
from ..deps import LimitsDep, SessionDep, StoreDep
from ..errors import Problem, problems
from ..examples import OPTIMIZER_EXAMPLES
from ..http import JSONBytes, JSONRoute, render
from ..schemas import Optimizer, OptimizerRequest, StepRequest, VariablesResponse
from ..sessions import run_locked

router = APIRouter(prefix="/v1/sessions/{session_id}/optimizers", tags=["optimizers"], route_class=JSONRoute)


def _find(namespace: Namespace, name: str) -> NamedOptimizer:
    try:
        return namespace.optimizer(name)
    except UnknownNameError as e:
        raise Problem(404, "optimizer-not-found", e.detail, name=name) from None


@router.post("", operation_id="create_optimizer", status_code=201, response_model=Optimizer,
             responses=problems(400, 404, 413, 415, 422, 429, 503, 504), summary="Create an optimizer")
async def create_optimizer(session: SessionDep, store: StoreDep,
                           call: Annotated[OptimizerRequest, Body(openapi_examples=OPTIMIZER_EXAMPLES)]) -> Response:
    """An optimizer of the named params (leaves that require grad), as `torch.optim.<Type>(params, ...)`.

    Its state (momentum buffers, moments, step counts) lives in the session. An unknown or misplaced
    hyperparameter, a negative `lr`, a param that is not a leaf requiring grad or a name already taken is a
    422, and nothing is made.
    """

    def work() -> Response:
        made = session.namespace.create_optimizer(call.name, call.type, call.params, call.hyperparameters())
        location = f"/v1/sessions/{session.id}/optimizers/{made.name}"
        return JSONBytes(render(made.describe()), status_code=201, headers={"Location": location})

    return await run_locked(store, session, work)


@router.get("/{name}", operation_id="get_optimizer", response_model=Optimizer,
            responses=problems(404, 422, 429, 503, 504), summary="Describe an optimizer")
async def get_optimizer(session: SessionDep, store: StoreDep, name: str) -> Response:
    def work() -> Response:
        return JSONBytes(render(_find(session.namespace, name).describe()))

    return await run_locked(store, session, work)


@router.post("/{name}/step", operation_id="optimizer_step", response_model=VariablesResponse,
             responses=problems(400, 404, 413, 415, 422, 429, 503, 504), summary="One optimizer step")
async def step(session: SessionDep, store: StoreDep, limits: LimitsDep, name: str,
               call: Annotated[StepRequest | None, Body()] = None) -> Response:
    """`optimizer.step()`: each param that has a grad is updated in place (params whose grad is null are
    skipped); returns the params. A graph that saved a param's old value can no longer be differentiated
    through (409 modified-in-place), as in torch."""
    call = call or StepRequest()

    def work() -> Response:
        made = _find(session.namespace, name)
        chosen = None if call.return_ is None else {  # checked before the step, which then cannot fail after
            n: session.namespace.variable(n, pointer=f"/return/{k}") for k, n in enumerate(call.return_)}
        params = session.namespace.step(made.name, limits)
        return JSONBytes(variables_json(params if chosen is None else chosen, call.encoding))

    return await run_locked(store, session, work)


@router.post("/{name}/zero_grad", operation_id="optimizer_zero_grad", status_code=204,
             responses=problems(404, 422, 429, 503, 504), summary="Set the params' grads to null")
async def zero_grad(session: SessionDep, store: StoreDep, name: str) -> Response:
    def work() -> None:
        session.namespace.optimizer_zero_grad(_find(session.namespace, name).name)

    await run_locked(store, session, work)
    return Response(status_code=204)
