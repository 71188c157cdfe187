"""POST /v1/evaluate: run a program in a throwaway namespace."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Body, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from engine.errors import LimitError
from engine.program import Limits, Namespace

from ..codec import variables_json
from ..deps import LimitsDep
from ..errors import problems
from ..examples import PROGRAM_EXAMPLES
from ..http import JSONBytes, JSONRoute
from ..schemas import Program, VariablesResponse
from .decode import decode_program

router = APIRouter(prefix="/v1", tags=["programs"], route_class=JSONRoute)

# A small program runs on the event loop, because handing it to a thread costs more than running it. These
# limits bound how long it may hold the loop; a program that reaches one runs again in a thread with the real
# limits (a failed run leaves nothing behind, so the retry starts clean).
INLINE_BODY_BYTES = 16 * 1024
INLINE_OPS = 64
INLINE_ELEMENTS = 16 * 1024


@router.post("/evaluate", operation_id="evaluate", response_model=VariablesResponse,
             responses=problems(400, 409, 413, 415, 422), summary="Run a program once")
async def evaluate(request: Request, program: Annotated[Program, Body(openapi_examples=PROGRAM_EXAMPLES)],
                   limits: LimitsDep) -> Response:
    """Run inputs, ops and backward calls in a fresh namespace; return the variables asked for."""

    document = decode_program(program, limits.max_tensor_elements)

    def work(limits: Limits) -> Response:
        return JSONBytes(variables_json(Namespace().run(document, limits), program.encoding))

    if len(await request.body()) <= INLINE_BODY_BYTES:
        inline = replace(limits, max_ops=min(limits.max_ops or INLINE_OPS, INLINE_OPS),
                         max_tensor_elements=min(limits.max_tensor_elements or INLINE_ELEMENTS, INLINE_ELEMENTS))
        try:
            return work(inline)
        except LimitError:
            pass
    return await run_in_threadpool(work, limits)
