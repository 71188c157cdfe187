"""Fixtures for the service's tests: in-process apps with chosen settings, and one real uvicorn server."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from app.sessions import SessionStore
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextlib.asynccontextmanager
async def serve(store: SessionStore | None = None, **settings) -> AsyncIterator[httpx.AsyncClient]:
    """An app with these settings, started (lifespan) and reached in-process."""
    app = create_app(Settings(**settings), store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gradserve.test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with serve() as c:
        yield c


@pytest.fixture
def make_client() -> Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]:
    return serve


@pytest.fixture(scope="session")
def server_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("uvicorn") / "server.log"


@pytest.fixture(scope="session")
def server(server_log: Path, live_server_process) -> Iterator[str]:
    """A real `uvicorn app.main:app` on a free port; yields its base URL and always stops it."""

    def command(port: int) -> tuple[list[str], dict[str, str]]:
        return ([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
                 "--log-level", "warning"], {**os.environ, "GRADSERVE_SESSION_TTL_SECONDS": "600"})

    with open(server_log, "w+b") as log, live_server_process(command, log) as url:
        yield url


def assert_problem(r: httpx.Response, status: int, kind: str) -> dict:
    """Assert an RFC 9457 problem of this status and type; return its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json", r.headers
    body = r.json()
    assert body["type"] == f"/problems/{kind}", body
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


@pytest.fixture
def problem() -> Callable[[httpx.Response, int, str], dict]:
    return assert_problem
