"""POST /v1/evaluate: run a program in a throwaway namespace."""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Body, Request
from starlette.responses import Response

from engine import structure
from engine.errors import DeadlineError, LimitError
from engine.program import Limits, Namespace

from .. import governance
from ..codec import variables_json
from ..errors import problems
from ..examples import PROGRAM_EXAMPLES
from ..http import JSONBytes, JSONRoute
from ..schemas import Program, VariablesResponse
from .decode import decode_program

router = APIRouter(prefix="/v1", tags=["programs"], route_class=JSONRoute)

# A small program runs on the event loop, because handing it to a thread costs more than running it. These
# limits bound how long it may hold the loop: few ops (backward calls included), small tensors, and a few
# milliseconds, checked between ops and between backward nodes. A program that reaches one runs again in a
# thread with the real limits (a failed run leaves nothing behind, so the retry starts clean from the same
# decoded program).
INLINE_BODY_BYTES = 16 * 1024
INLINE_OPS = 64
INLINE_ELEMENTS = 16 * 1024
INLINE_SECONDS = 0.004


@router.post("/evaluate", operation_id="evaluate", response_model=VariablesResponse,
             responses=problems(400, 409, 413, 415, 422, 503, 504), summary="Run a program once")
async def evaluate(request: Request, program: Annotated[Program, Body(openapi_examples=PROGRAM_EXAMPLES)],
                   ) -> Response:
    """Run inputs, ops and backward calls in a fresh namespace; return the variables asked for."""

    # the app's limits, read without a dependency: resolving one through FastAPI costs about 5 % of this request
    limits: Limits = request.app.state.limits
    memory = request.app.state.settings.MAX_SESSION_BYTES

    def answer(document: structure.Program, limits: Limits) -> Response:
        variables, answers = Namespace().execute(document, limits)
        return JSONBytes(variables_json(variables, program.encoding, answers))

    entries = len(program.ops) + len(program.backward) + len(program.derivatives)
    if entries > INLINE_OPS or len(await request.body()) > INLINE_BODY_BYTES:
        return await governance.run_governed(
            lambda: answer(decode_program(program, limits.max_tensor_elements, limits.max_ops), limits),
            limit=memory)
    document = decode_program(program, limits.max_tensor_elements, limits.max_ops)
    try:
        return governance.run_inline(lambda: answer(document, inline_limits(limits)), limit=memory,
                                     seconds=INLINE_SECONDS)
    except (LimitError, DeadlineError):
        return await governance.run_governed(lambda: answer(document, limits), limit=memory)


@functools.lru_cache(maxsize=8)
def inline_limits(limits: Limits) -> Limits:
    return replace(limits, max_ops=min(limits.max_ops or INLINE_OPS, INLINE_OPS),
                   max_tensor_elements=min(limits.max_tensor_elements or INLINE_ELEMENTS, INLINE_ELEMENTS))
