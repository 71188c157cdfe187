"""The ASGI application: `uvicorn app.main:app` serves it; `create_app` builds one with given settings."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.concurrency import run_in_threadpool

from . import docs
from .access import CORS, AccessMiddleware, declare_access, load_keys, rate_limit_of
from .deps import limits_of
from .errors import Problem, install_handlers
from .governance import GovernanceMiddleware, MemoryPool
from .logs import REQUEST_ID, AccessLogMiddleware, quiet_uvicorn_access_log, request_id_middleware
from .metrics import Metrics
from .routes import api_router
from .schemas import TENSOR_COMPONENTS
from .sessions import SessionStore, make_store
from .settings import Settings

DESCRIPTION = """\
Automatic differentiation as a service. Send a program (tensor inputs, ops, backward calls) and get every
variable's `data` and `grad` back, with PyTorch autograd semantics. Sessions keep the graph alive between
requests for repeated backward calls, loops driven from the client and higher-order gradients.

Every error is `application/problem+json` (RFC 9457) with a stable `type` such as `/problems/graph-freed`.
"""

try:
    VERSION = version("gradserve")
except PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0.0.0"


async def _sweep(store: SessionStore, every: float) -> None:
    """Drop expired sessions now and then, so their memory goes back even when nobody asks for them."""
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(store.sweep)
        except Problem:
            pass  # the store is unreachable; it is tried again next time


def create_app(settings: Settings | None = None, store: SessionStore | None = None) -> FastAPI:
    settings = settings or Settings()
    # NaN and Infinity are legal results, not incidents worth a log line each
    np.seterr(all="ignore")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.store is None:
            app.state.store = make_store(settings, observer=app.state.metrics,
                                         on_drop=lambda session: app.state.pool.give(session.held))
        sweeper = asyncio.create_task(_sweep(app.state.store, max(1.0, min(60.0, settings.SESSION_TTL_SECONDS))))
        try:
            yield
        finally:
            sweeper.cancel()
            close = getattr(app.state.store, "close", None)
            if close is not None:
                close()

    app = FastAPI(title="gradserve", version=VERSION, description=DESCRIPTION, lifespan=lifespan,
                  separate_input_output_schemas=False, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.limits = limits_of(settings)
    app.state.store = store
    app.state.metrics = Metrics()
    app.state.pool = MemoryPool(settings.MAX_MEMORY_BYTES)
    app.include_router(api_router)
    app.include_router(docs.router)
    # Outermost last: a request gets its id, then is timed for the log and the metrics, then CORS answers
    # preflights, then its key and rate limit are checked before its body is read, then it gets its governor.
    app.add_middleware(GovernanceMiddleware, settings=settings, pool=app.state.pool)
    app.add_middleware(AccessMiddleware, keys=load_keys(settings), rate_limit=rate_limit_of(settings))
    if origins := settings.cors_origins():
        app.add_middleware(CORS, allow_origins=origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type", REQUEST_ID],
                           expose_headers=[REQUEST_ID, "Retry-After", "Location", "WWW-Authenticate"],
                           max_age=600)
    app.add_middleware(AccessLogMiddleware, metrics=app.state.metrics)
    app.add_middleware(request_id_middleware)
    quiet_uvicorn_access_log()
    install_handlers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the tensor forms as named components and problems under their media type."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes, separate_input_output_schemas=False)
        schema.setdefault("components", {}).setdefault("schemas", {}).update(TENSOR_COMPONENTS)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[0] in "45" and "application/json" in content:
                        content["application/problem+json"] = content.pop("application/json")
        declare_access(schema)
        app.openapi_schema = schema
    return app.openapi_schema


app = create_app()
