"""GET /v1/ops: the op catalog, read off the engine's registry."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from engine import OPS

from ..schemas import OpsResponse
from ..wire import JSONBytes, WireRoute, render

router = APIRouter(prefix="/v1", tags=["ops"], route_class=WireRoute)

_catalog: bytes | None = None


@router.get("/ops", operation_id="list_ops", response_model=OpsResponse, summary="List the ops a program can use")
async def list_ops() -> Response:
    """Every op: its arguments, kwargs with types and defaults, whether it has a gradient, and its doc."""
    global _catalog
    if _catalog is None:  # the registry is fixed once the engine is imported
        _catalog = render({"ops": [o.describe() for o in OPS.values() if o.public]})
    return JSONBytes(_catalog)
