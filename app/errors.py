"""Every error the service returns, as application/problem+json (RFC 9457), from one set of handlers.

Engine errors keep their kind as the problem type; the HTTP layer adds its own few (not found, bad JSON, ...).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from engine.errors import EngineError
from engine.structure import pointer

from .schemas import Problem as ProblemModel

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("gradserve")

# Engine kinds that are not plain input errors; every other kind is a 422.
# A cancelled request's client is gone: 499 (nginx's "client closed request") only reaches logs and metrics.
ENGINE_STATUS = {"graph-freed": 409, "modified-in-place": 409, "limit-exceeded": 413, "deadline-exceeded": 504,
                 "request-cancelled": 499}

# The HTTP layer's own problem types, with the title each always carries.
TITLES = {
    "invalid-json": "Body is not JSON",
    "validation-error": "Request does not match the schema",
    "not-found": "Not found",
    "session-not-found": "Unknown session",
    "variable-not-found": "Unknown variable",
    "optimizer-not-found": "Unknown optimizer",
    "method-not-allowed": "Method not allowed",
    "unsupported-media-type": "Unsupported media type",
    "limit-exceeded": "Limit exceeded",
    "svg-unavailable": "SVG rendering unavailable",
    "store-unavailable": "Session store unavailable",
    "unauthorized": "Unauthorized",
    "rate-limited": "Too many requests",
    "quota-exceeded": "Quota exceeded",
    "cors-refused": "Cross-origin request refused",
    "session-busy": "Session busy",
    "corrupt-session": "Stored session is corrupt",
    "invalid-snapshot": "Invalid snapshot",
    "memory-budget-full": "Server memory budget full",
    "session-queue-full": "Session queue full",
    "request-timeout": "Request not received in time",
    "deadline-exceeded": "Deadline exceeded",
    "request-cancelled": "Request cancelled",
    "internal-error": "Internal server error",
    "http-error": "HTTP error",
}


def problem_type(kind: str) -> str:
    return f"/problems/{kind}"


class Problem(StarletteHTTPException):
    """An error the HTTP layer raises itself.

    It is an HTTPException so that FastAPI passes it through unchanged when it happens while the body is read.
    """

    def __init__(self, status: int, kind: str, detail: str, *, title: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.kind = kind
        self.title = title or TITLES[kind]
        self.extra = {k: v for k, v in extra.items() if v is not None}


def problem_response(status: int, kind: str, title: str, detail: str, headers: dict[str, str] | None = None,
                     **extra: Any) -> Response:
    body = {"type": problem_type(kind), "title": title, "status": status, "detail": detail}
    body.update((k, v) for k, v in extra.items() if v is not None)
    if (request_id := correlation_id.get()) is not None:
        body["request_id"] = request_id
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def engine_problem(e: EngineError) -> Response:
    errors = [{"detail": e.detail, "pointer": e.pointer}] if e.pointer is not None else None
    return problem_response(ENGINE_STATUS.get(e.kind, 422), e.kind, e.title, e.detail,
                            op_index=e.op_index, name=e.name, errors=errors)


def _validation_item(err: dict) -> dict[str, str]:
    loc = list(err.get("loc") or ())
    where = loc.pop(0) if loc else "body"
    msg = err.get("msg", "invalid value")
    if where == "body":
        return {"detail": msg, "pointer": pointer(*loc)}
    # query, path and header values are not in the body: RFC 9457 names them as parameters
    return {"detail": msg, "parameter": ".".join(str(p) for p in loc) or str(where)}


async def _on_problem(request: Request, exc: Problem) -> Response:
    return problem_response(exc.status_code, exc.kind, exc.title, str(exc.detail), headers=exc.headers,
                            **exc.extra)


async def _on_engine_error(request: Request, exc: EngineError) -> Response:
    return engine_problem(exc)


async def _on_validation_error(request: Request, exc: RequestValidationError) -> Response:
    items = [_validation_item(e) for e in exc.errors()]
    first = items[0] if items else {"detail": "invalid request"}
    where = first.get("pointer") or first.get("parameter") or "body"
    more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
    return problem_response(422, "validation-error", TITLES["validation-error"],
                            f"{where}: {first['detail']}{more}", errors=items)


async def _on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    status = exc.status_code
    if status == 404:
        return problem_response(404, "not-found", TITLES["not-found"],
                                f"no such resource: {request.method} {request.url.path}")
    if status == 405:
        allowed = (exc.headers or {}).get("Allow") or (exc.headers or {}).get("allow", "")
        return problem_response(405, "method-not-allowed", TITLES["method-not-allowed"],
                                f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}",
                                headers=exc.headers)
    return problem_response(status, "http-error", TITLES["http-error"], str(exc.detail), headers=exc.headers)


async def _on_memory_error(request: Request, exc: MemoryError) -> Response:
    return problem_response(413, "limit-exceeded", TITLES["limit-exceeded"],
                            "the request needs more memory than the server has")


async def _on_client_disconnect(request: Request, exc: ClientDisconnect) -> Response:
    # the client hung up while sending its body: nobody will read this answer, and it is no server error
    return problem_response(499, "request-cancelled", TITLES["request-cancelled"],
                            "the client closed the connection before its body arrived")


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    # the route's template, not the path: a path may hold a session id
    log.exception("unexpected error on %s %s", request.method, getattr(request.scope.get("route"), "path", "?"))
    # this answer is sent from outside the middlewares, so it carries its request id itself
    request_id = correlation_id.get()
    return problem_response(500, "internal-error", TITLES["internal-error"],
                            "the server failed to handle this request; the error has been logged",
                            headers={"X-Request-ID": request_id} if request_id else None)


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(EngineError, _on_engine_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(MemoryError, _on_memory_error)
    app.add_exception_handler(ClientDisconnect, _on_client_disconnect)
    app.add_exception_handler(Exception, _on_unexpected)


DESCRIPTIONS = {
    400: "The body is not JSON",
    404: "Unknown session (or expired, or deleted), variable or optimizer",
    409: "Backward through a graph whose saved buffers were freed, or whose saved tensors were written in place",
    413: "A body, tensor, result or session over a limit",
    406: "format=svg asked of a server without Graphviz; format=dot works everywhere",
    415: "The body is not application/json",
    422: "The request is invalid: schema, names, ops, shapes, dtypes or backward calls",
    429: "Too many requests: the key's rate limit or session quota, or too many already waiting for this session "
         "(Retry-After given)",
    503: "The session store is unreachable, the session stayed held by another request for too long, or the "
         "server's memory budget is full (Retry-After given)",
    504: "The request ran past GRADSERVE_REQUEST_TIMEOUT_SECONDS; nothing it did was kept",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the problems a route can return (published as application/problem+json)."""
    return {s: {"model": ProblemModel, "description": DESCRIPTIONS[s]} for s in statuses}
