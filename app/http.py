"""HTTP plumbing: request bodies read within the size limit and parsed with orjson, the route class that
takes only JSON bodies, and JSON responses rendered to bytes once.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from .errors import Problem
from .governance import current, parse_estimate

# bodies from this size on are parsed in a worker thread, not on the event loop
PARSE_INLINE_BYTES = 256 * 1024


class JSONBytes(Response):
    """A JSON response whose body is already rendered (by `render`)."""

    media_type = "application/json"


def render(payload: Any) -> bytes:
    return orjson.dumps(payload)


def loads(body: bytes) -> Any:
    return orjson.loads(body)



def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class BoundedRequest(Request):
    """A request whose body is read within MAX_BODY_BYTES, and parsed with orjson when it is JSON.

    The size is checked from Content-Length before reading and counted while streaming, so an oversized body
    is refused before it is held in memory, whatever its headers say.
    """

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            limit = self.app.state.settings.MAX_BODY_BYTES
            encoding = self.headers.get("content-encoding", "identity").strip().lower()
            if encoding not in ("", "identity"):
                raise Problem(415, "unsupported-media-type",
                              f"the body is {encoding}-encoded; send it uncompressed (Content-Encoding: identity)")
            declared = self.headers.get("content-length")
            governor = current()
            admitted = 0
            if declared is not None and declared.isdigit():
                if int(declared) > limit:
                    raise _too_large(int(declared), limit)
                if governor is not None:  # admitted by its declared size before a byte of it is read
                    admitted = int(declared)
                    governor.take(admitted, "the request's body")
            chunks, size = [], 0
            async for chunk in self.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(size, limit)
                if size > admitted and governor is not None:  # a streamed body is counted as it comes
                    governor.take(size - admitted, "the request's body")
                    admitted = size
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            governor = current()
            # a big body takes long enough to size and parse that it would stall every other request on the loop
            inline = len(body) < PARSE_INLINE_BYTES
            if governor is not None:  # parsing takes a multiple of the body: admitted before it is parsed
                need = parse_estimate(body) if inline else await run_in_threadpool(parse_estimate, body)
                governor.take(need, "parsing the request's body")
            try:
                self._json = loads(body) if inline else await run_in_threadpool(loads, body)
            except orjson.JSONDecodeError as e:
                if "infinity when parsed as double" in str(e):  # valid JSON, a number out of range
                    raise Problem(422, "validation-error", f"the body has a number too large for a double "
                                                           f"(at {str(e).split(': ', 1)[-1]})") from None
                raise Problem(400, "invalid-json", f"the body is not valid JSON: {e}") from None
            _check_entries(self._json, self.app.state.settings.MAX_OPS)
        return self._json


def _check_entries(doc: Any, limit: int) -> None:
    """Refuse a program with more ops, backward and derivative calls than MAX_OPS before its schema is checked
    (which runs on the event loop and costs ~8 µs an op): each one counts at least one op."""
    if not isinstance(doc, dict):
        return
    n = sum(len(doc[k]) for k in ("ops", "backward", "derivatives") if isinstance(doc.get(k), list))
    if n > limit:
        detail = (f"the program applies {n} ops or more (backward and derivative calls included), over the limit of "
                  f"{limit} per request")
        raise Problem(413, "limit-exceeded", detail, errors=[{"detail": detail, "pointer": "/ops"}])


def _too_large(size: int, limit: int) -> Problem:
    return Problem(413, "limit-exceeded", f"the body has {size} bytes or more, over the limit of {limit} bytes "
                                          f"(GRADSERVE_MAX_BODY_BYTES)")


class JSONRoute(APIRoute):
    """An API route that reads JSON bodies through BoundedRequest and refuses other media types (415)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        if self.body_field is None:
            return handle

        async def handle_json(request: Request) -> Response:
            request = BoundedRequest(request.scope, request.receive)
            if await request.body():
                content_type = request.headers.get("content-type", "")
                if not _is_json(content_type):
                    raise Problem(415, "unsupported-media-type",
                                  f"send the body as application/json (got {content_type or 'no Content-Type'})")
                await request.json()
            return await handle(request)

        return handle_json
