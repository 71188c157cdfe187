"""Request counts and latencies by route and status, in the Prometheus text exposition format.

Routes are labelled by their template (/v1/sessions/{session_id}), never by the raw path, so that session ids
and unknown URLs cannot blow up the number of series.
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from typing import Any

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self.sums: dict[tuple[str, str], float] = defaultdict(float)
        self.counts: dict[tuple[str, str], int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, str(status))] += 1
            key = (method, route)
            counts = self.buckets[key]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            self.sums[key] += seconds
            self.counts[key] += 1

    def render(self, sessions: int) -> str:
        lines = ["# HELP gradserve_requests_total HTTP requests handled, by method, route and status.",
                 "# TYPE gradserve_requests_total counter"]
        with self._lock:
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append(f'gradserve_requests_total{{method="{method}",route="{route}",status="{status}"}} '
                             f"{n}")
            lines += ["# HELP gradserve_request_duration_seconds Time to handle a request, by method and route.",
                      "# TYPE gradserve_request_duration_seconds histogram"]
            for key in sorted(self.counts):
                method, route = key
                labels = f'method="{method}",route="{route}"'
                for bound, n in zip(BUCKETS, self.buckets[key], strict=True):
                    lines.append(f'gradserve_request_duration_seconds_bucket{{{labels},le="{bound}"}} {n}')
                lines.append(f'gradserve_request_duration_seconds_bucket{{{labels},le="+Inf"}} '
                             f"{self.counts[key]}")
                lines.append(f"gradserve_request_duration_seconds_sum{{{labels}}} {self.sums[key]:.6f}")
                lines.append(f"gradserve_request_duration_seconds_count{{{labels}}} {self.counts[key]}")
        lines += ["# HELP gradserve_sessions Live sessions in the store.", "# TYPE gradserve_sessions gauge",
                  f"gradserve_sessions {sessions}"]
        return "\n".join(lines) + "\n"


def route_template(scope: Scope) -> str:
    """The template of the route a request went to, also for /v1 requests answered before routing (401, 429)."""
    template = getattr(scope.get("route"), "path", None)
    if template is None and (app := scope.get("app")) is not None:
        template = next((t for t, regex in _api_templates(app) if regex.match(scope["path"])), None)
    return template or "(unmatched)"


def _api_templates(app: Any) -> list[tuple[str, re.Pattern[str]]]:
    """The path templates of the app's API (its OpenAPI paths), compiled once."""
    if not hasattr(app.state, "api_templates"):
        app.state.api_templates = [(t, compile_path(t)[0]) for t in app.openapi().get("paths", {})]
    return app.state.api_templates


class MetricsMiddleware:
    """Times every HTTP request and counts it under its route template and final status."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.observe(scope["method"], route_template(scope), status, time.perf_counter() - start)
