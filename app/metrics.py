"""Request counts and latencies by route and status, and the session store's figures, for Prometheus.

Routes are labelled by their template (/v1/sessions/{session_id}), never by the raw path, so that session ids
and unknown URLs cannot blow up the number of series.
"""

from __future__ import annotations

import os
import re
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.routing import compile_path
from starlette.types import Scope

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STORE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
# With several worker processes, each writes its counts under this folder and /metrics sums them all
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

prometheus_client.disable_created_metrics()  # *_created series say when a process started counting: noise here


class Metrics:
    """The service's metrics (one registry across processes in multiprocess mode), and what the session store
    reports to: store call latency, hydrations, conflicts."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("gradserve_requests", "HTTP requests handled, by method, route and status.",
                                ["method", "route", "status"], registry=self.registry)
        self.durations = Histogram("gradserve_request_duration_seconds", "Time to handle a request, by method and "
                                   "route.", ["method", "route"], buckets=BUCKETS, registry=self.registry)
        self.store_seconds = Histogram("gradserve_store_seconds", "Time of each call to the session store, by "
                                       "operation.", ["operation"], buckets=STORE_BUCKETS, registry=self.registry)
        self.hydrations = Counter("gradserve_session_hydrations", "Sessions made ready for a request: hit (this "
                                  "process's live copy was current) or miss (loaded from the store).", ["result"],
                                  registry=self.registry)
        self.conflicts = Counter("gradserve_store_conflicts", "Commits refused because the session's version had "
                                 "moved (the request was not applied).", registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.durations.labels(method, route).observe(seconds)

    # the session store's observer
    def store_call(self, operation: str, seconds: float) -> None:
        self.store_seconds.labels(operation).observe(seconds)

    def hydration(self, result: str) -> None:
        self.hydrations.labels(result).inc()

    def conflict(self) -> None:
        self.conflicts.inc()

    def render(self, sessions: int | None) -> str:
        registry = self.registry
        if os.environ.get(MULTIPROCESS_ENV):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
        text = generate_latest(registry).decode()
        if sessions is not None:  # None: the store is down, and every other metric is still worth having
            # the session count is asked of the store when scraped, which every process sees whole
            text += ("# HELP gradserve_sessions Live sessions in the store.\n"
                     f"# TYPE gradserve_sessions gauge\ngradserve_sessions {sessions}\n")
        return text


def route_template(scope: Scope) -> str:
    """The template of the route a request went to, also for /v1 requests answered before routing (401, 429)."""
    template = getattr(scope.get("route"), "path", None)
    if template is None and (app := scope.get("app")) is not None:
        template = next((t for t, regex in _api_templates(app) if regex.match(scope["path"])), None)
    return template or "(unmatched)"


def _api_templates(app: Any) -> list[tuple[str, re.Pattern[str]]]:
    """The path templates of the app's API (its OpenAPI paths, and the document's own), compiled once."""
    if not hasattr(app.state, "api_templates"):
        templates = [*app.openapi().get("paths", {}), app.openapi_url]
        app.state.api_templates = [(t, compile_path(t)[0]) for t in templates if t]
    return app.state.api_templates
