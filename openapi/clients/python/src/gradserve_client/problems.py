"""Error answers (application/problem+json) raised as exceptions: one class per family, chosen by status and type.

Hand-written (not made by the generator): regeneration keeps this file as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx


class GradserveError(Exception):
    """An error answer of the server. `problem` is its whole body (RFC 9457); the common fields are attributes.

    `type` is the problem's stable slug (`/problems/graph-freed`, `/problems/invalid-op` ...); `detail` is the
    server's message, which names what is wrong and where.
    """

    def __init__(self, problem: Mapping[str, Any], headers: Mapping[str, str] | None = None):
        self.problem: dict[str, Any] = dict(problem)
        self.status: int = int(self.problem.get("status", 0))
        self.type: str = str(self.problem.get("type", "about:blank"))
        self.title: str = str(self.problem.get("title", ""))
        self.detail: str = str(self.problem.get("detail", ""))
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(f"{self.status} {self.type}: {self.detail}")

    @property
    def request_id(self) -> str | None:
        """The server's id for the request (in its logs), from the body or the X-Request-ID header."""
        rid = self.problem.get("request_id") or self.headers.get("x-request-id")
        return None if rid is None else str(rid)

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asks to wait before trying again (429, 503), when it said so."""
        return retry_after(self.headers)


class BadRequestError(GradserveError):
    """400: the body is not JSON."""


class UnauthorizedError(GradserveError):
    """401: an API key is needed and was missing or wrong."""


class NotFoundError(GradserveError):
    """404: unknown (expired, deleted or another key's) session, unknown variable or optimizer."""


class ConflictError(GradserveError):
    """409: the graph cannot be used as asked."""


class GraphFreedError(ConflictError):
    """409: backward through a graph whose saved buffers an earlier backward freed (retain_graph was not set)."""


class ModifiedInPlaceError(ConflictError):
    """409: backward through a node that saved a value an optimizer step has since changed in place."""


class LimitExceededError(GradserveError):
    """413: a body, tensor, result or session over one of the server's limits."""


class UnsupportedMediaTypeError(GradserveError):
    """415: a content type or encoding the endpoint does not take."""


class UnprocessableError(GradserveError):
    """422: the request was read but refused; `type` says why (/problems/validation-error, /problems/invalid-op,
    /problems/unknown-name, /problems/shape-mismatch, /problems/invalid-backward, ...) and `errors` where."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.problem.get("errors") or [])


class RateLimitedError(GradserveError):
    """429: a rate limit or quota was reached (`retry_after` says when to try again)."""


class UnavailableError(GradserveError):
    """503: the session store is unreachable or the server's memory budget is full for now."""


class DeadlineExceededError(GradserveError):
    """504: the request ran past the server's time limit; nothing it did was kept."""


BY_STATUS: dict[int, type[GradserveError]] = {
    400: BadRequestError, 401: UnauthorizedError, 404: NotFoundError, 409: ConflictError, 413: LimitExceededError,
    415: UnsupportedMediaTypeError, 422: UnprocessableError, 429: RateLimitedError, 503: UnavailableError,
    504: DeadlineExceededError,
}
BY_TYPE: dict[str, type[GradserveError]] = {
    "/problems/graph-freed": GraphFreedError,
    "/problems/modified-in-place": ModifiedInPlaceError,
}


def retry_after(headers: Mapping[str, str]) -> float | None:
    value = {k.lower(): v for k, v in headers.items()}.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:  # an HTTP date: rare from this server; treat as "no hint"
        return None


def error_for(response: httpx.Response) -> GradserveError:
    """The exception for an error answer; a body that is not problem+json (a proxy's page) still gets one."""
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not (isinstance(body, dict) and isinstance(body.get("type"), str) and isinstance(body.get("status"), int)):
        text = response.text.strip()[:500]
        body = {"type": "about:blank", "title": response.reason_phrase or "HTTP error", "status": response.status_code,
                "detail": text or f"HTTP {response.status_code} from {response.request.url}"}
    cls = BY_TYPE.get(body["type"]) or BY_STATUS.get(body["status"], GradserveError)
    return cls(body, response.headers)
