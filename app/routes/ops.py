"""GET /v1/ops: the op catalog, read off the engine's registry."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from engine import OPS

from ..http import JSONBytes, JSONRoute, render
from ..schemas import OpsResponse

router = APIRouter(prefix="/v1", tags=["ops"], route_class=JSONRoute)

# the registry is fixed once the engine is imported
_CATALOG = render({"ops": [o.describe() for o in OPS.values() if o.public]})


@router.get("/ops", operation_id="list_ops", response_model=OpsResponse, summary="List the ops a program can use")
async def list_ops() -> Response:
    """Every op: its arguments, kwargs with types and defaults, whether it has a gradient, and its doc."""
    return JSONBytes(_CATALOG)
