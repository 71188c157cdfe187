"""The HTTP server around the app: uvicorn, with a connection cap, a deadline for request heads, and a shutdown
that answers every request it received.

uvicorn alone waits forever for a request head that never completes, so idle connections can use up every file
descriptor; and on shutdown it closes connections whose request bytes have arrived but are not yet read. The
protocol below fixes both; request bodies are timed by the app (GovernanceMiddleware).
"""

from __future__ import annotations

import asyncio
import resource
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from . import governance
from .settings import Settings

# What a file-descriptor limit keeps for everything but client connections (logs, sockets to a store, ...).
FD_MARGIN = 64
# On shutdown, an idle connection stays open this long, so that a request already on its way is still read.
SHUTDOWN_READ_GRACE = 0.5
_REFUSED_BODY = (b'{"type":"/problems/too-many-connections","title":"Too many connections","status":503,'
                 b'"detail":"the server is at its connection limit (GRADSERVE_MAX_CONNECTIONS); retry shortly"}')
_REFUSED = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\n"
            b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_REFUSED_BODY), _REFUSED_BODY))


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit (a common default of 1,024 is low for a
    server); return the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 65_536
    if soft == resource.RLIM_INFINITY or soft >= hard:
        return soft if soft != resource.RLIM_INFINITY else hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    except (ValueError, OSError):
        return soft


def max_connections(settings: Settings) -> int:
    """MAX_CONNECTIONS, or by default what the open-file limit leaves for clients."""
    if settings.MAX_CONNECTIONS:
        return settings.MAX_CONNECTIONS
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(16, min(soft, 65_536) - FD_MARGIN)


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a connection cap, a head deadline and a shutdown that reads first."""

    # READ_TIMEOUT_SECONDS and the connection cap, read once per process (workers too)
    read_timeout: float | None = None
    max_connections: int = 0

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if GuardedProtocol.read_timeout is None:
            settings = Settings()
            GuardedProtocol.max_connections = max_connections(settings)
            GuardedProtocol.read_timeout = settings.READ_TIMEOUT_SECONDS
        self.opened = time.monotonic()
        self.head_timer: asyncio.TimerHandle | None = None
        self.closing = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.max_connections and not self._evict_one():
            transport.write(_REFUSED)
            transport.close()
            return
        super().connection_made(transport)
        self._await_head()

    def _evict_one(self) -> bool:
        """At the cap, make room by closing the connection that has waited longest without sending a full
        request head: a well-behaved client sends its head at once, a slow one loses its place."""
        idle = [c for c in self.connections if isinstance(c, GuardedProtocol) and c.head_timer is not None]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c.opened)
        oldest.transport.close()
        self.connections.discard(oldest)
        return True

    def _await_head(self) -> None:
        if self.head_timer is None:
            self.opened = time.monotonic()
            self.head_timer = self.loop.call_later(self.read_timeout, self._head_timed_out)

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()

    def on_headers_complete(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        super().on_headers_complete()
        if self.closing:
            self.cycle.keep_alive = False

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_head()  # the next request's head is due within the read timeout too

    def connection_lost(self, exc: Exception | None) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        super().connection_lost(exc)

    def shutdown(self) -> None:
        if not self.closing:
            grace = max(0.5, (self.config.timeout_graceful_shutdown or 30) - 1.0)
            governance.drain(grace)  # running requests end (504 at worst) in time to be answered
        self.closing = True
        if self.cycle is None or self.cycle.response_complete:
            # bytes of a request may be in flight or unread: read them before closing
            self.loop.call_later(SHUTDOWN_READ_GRACE, self._close_if_idle)
        else:
            self.cycle.keep_alive = False

    def _close_if_idle(self) -> None:
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()


def serve(settings: Settings, **uvicorn_options: Any) -> None:
    import uvicorn

    raise_fd_limit()
    uvicorn.run("app.main:app", host=settings.HOST, port=settings.PORT, workers=settings.WORKERS,
                http=GuardedProtocol, timeout_graceful_shutdown=settings.SHUTDOWN_TIMEOUT_SECONDS,
                **uvicorn_options)
