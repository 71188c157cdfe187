"""Typed dependencies of the routes: engine limits, the session store and the session of a path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from engine.program import Limits

from .errors import Problem
from .sessions import Session, SessionStore
from .settings import Settings


def limits_of(settings: Settings) -> Limits:
    return Limits(max_ops=settings.MAX_OPS, max_tensor_elements=settings.MAX_TENSOR_ELEMENTS,
                  max_session_bytes=settings.MAX_SESSION_BYTES)


async def get_limits(request: Request) -> Limits:
    return request.app.state.limits


LimitsDep = Annotated[Limits, Depends(get_limits)]


async def get_store(request: Request) -> SessionStore:
    store = getattr(request.app.state, "store", None)
    if store is None:
        raise Problem(503, "store-unavailable", "the session store is not started")
    return store


StoreDep = Annotated[SessionStore, Depends(get_store)]


async def get_session(session_id: Annotated[str, Path(description="the id returned by create_session")],
                      store: StoreDep) -> Session:
    return store.get(session_id)


SessionDep = Annotated[Session, Depends(get_session)]
