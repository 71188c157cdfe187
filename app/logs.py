"""Request ids and the log: one line per request on stderr, as text or JSON.

No line holds a key or a whole session id: requests are logged by route template (/v1/sessions/{session_id})
and key name, and uvicorn's own access log, which prints raw paths, is kept quiet.
"""

from __future__ import annotations

import logging
import logging.config
import re
import time
from typing import Any

from asgi_correlation_id import CorrelationIdMiddleware, correlation_id
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import Metrics, route_template
from .settings import Settings

REQUEST_ID = "X-Request-ID"
# a client's id is echoed only when it is short and plain, so that it cannot forge log lines or headers
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=@-]{1,128}")

access_log = logging.getLogger("gradserve.access")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = ["levelname", "name", "request_id", "message"]


def request_id_middleware(app: ASGIApp) -> CorrelationIdMiddleware:
    """X-Request-ID on every response: the client's when it is sane, else a new uuid4 hex."""
    return CorrelationIdMiddleware(app, header_name=REQUEST_ID,
                                   validator=lambda value: SANE_REQUEST_ID.fullmatch(value) is not None)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (`outside` when a line is not about a request)."""

    def __init__(self, outside: str | None = None):
        super().__init__()
        self.outside = outside

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = correlation_id.get() or self.outside
        return True


def json_formatter() -> JsonFormatter:
    """One JSON object a line: time (ISO 8601, UTC), level, logger, request_id, message, then any extra fields."""
    return JsonFormatter(JSON_FIELDS, timestamp="time", rename_fields={"levelname": "level", "name": "logger"},
                         reserved_attrs=[*RESERVED_ATTRS, "color_message"])


def logging_config(settings: Settings) -> dict[str, Any]:
    """A logging.config.dictConfig for the service's and uvicorn's loggers, all on stderr in one format."""
    level = settings.LOG_LEVEL.upper()
    if settings.LOG_FORMAT == "json":
        formatter, outside = {"()": json_formatter}, None
    else:
        formatter, outside = {"format": TEXT_FORMAT}, "-"
    handler = {"handlers": ["stderr"], "level": level, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter, "outside": outside}},
        "formatters": {"default": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "default", "filters": ["request_id"]}},
        "loggers": {
            "gradserve": handler,
            "uvicorn": handler,
            "asgi_correlation_id": handler,
            "uvicorn.error": {"level": level},
            # every request already has its line from AccessLogMiddleware, without the raw path
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def configure_logging(settings: Settings) -> None:
    logging.config.dictConfig(logging_config(settings))


def quiet_uvicorn_access_log() -> None:
    """Keep uvicorn's access log (raw paths, session ids in them) quiet however the server was started."""
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


class AccessLogMiddleware:
    """Times every HTTP request once: one log line (request id, key name, method, route template, status and
    duration) and one metrics sample under the route template and final status."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client gets when the app fails before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - start
            duration_ms = round(seconds * 1000, 3)
            route = route_template(scope)
            self.metrics.observe(scope["method"], route, status, seconds)
            key_name = scope.get("state", {}).get("key_name")
            access_log.info("%s %s %d %.1fms key=%s", scope["method"], route, status, duration_ms, key_name or "-",
                            extra={"key_name": key_name, "method": scope["method"], "route": route,
                                   "status": status, "duration_ms": duration_ms})
