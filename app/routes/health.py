"""Liveness, readiness and metrics, for orchestrators and Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..deps import StoreDep
from ..errors import Problem, log, problems
from ..http import JSONBytes, JSONRoute, render
from ..schemas import Health

router = APIRouter(tags=["health"], route_class=JSONRoute)

_OK = render({"status": "ok"})


@router.get("/healthz", operation_id="healthz", response_model=Health, summary="Liveness")
async def healthz() -> Response:
    """The process serves requests."""
    return JSONBytes(_OK)


@router.get("/readyz", operation_id="readyz", response_model=Health, responses=problems(503),
            summary="Readiness")
async def readyz(store: StoreDep) -> Response:
    """The process serves requests and reaches its session store."""
    try:
        await run_in_threadpool(store.ping)
    except Problem:
        raise
    except Exception as e:
        log.warning("session store ping failed: %s", e)
        raise Problem(503, "store-unavailable", "the session store does not answer") from None
    return JSONBytes(_OK)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, store: StoreDep) -> Response:
    try:
        sessions = await run_in_threadpool(store.count)
    except Problem:
        sessions = None  # the store is down: every other metric is still worth having
    text = request.app.state.metrics.render(sessions)
    return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")
