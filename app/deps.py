"""Typed dependencies of the routes: engine limits, the session store, the caller's key and the session of a path."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
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


async def get_key_name(request: Request) -> str | None:
    """The name of the API key the request came with (set by the access middleware); None when keys are off."""
    return getattr(request.state, "key_name", None)


KeyNameDep = Annotated[str | None, Depends(get_key_name)]


async def get_session(session_id: Annotated[str, Path(description="the id returned by create_session")],
                      store: StoreDep, key_name: KeyNameDep) -> AsyncIterator[Session]:
    """The session, pinned until the request is answered: admitted before its TTL, it cannot expire under it."""
    session = store.get(session_id, owner=key_name)
    session.pins += 1
    try:
        yield session
    finally:
        session.pins -= 1
        touch = getattr(store, "touch", None)  # the memory store's idle clock starts again when a request ends
        if touch is not None:
            touch(session)


SessionDep = Annotated[Session, Depends(get_session)]


async def get_creator(request: Request, store: StoreDep, key_name: KeyNameDep) -> str | None:
    """The owner of a session about to be made: the request's key name, once its key's session quota is checked."""
    quota = request.app.state.settings.MAX_SESSIONS_PER_KEY
    if quota and key_name is not None and store.count_owned(key_name) >= quota:
        # a session frees up when the client deletes one, or at the latest one idle TTL from now
        retry = math.ceil(request.app.state.settings.SESSION_TTL_SECONDS)
        raise Problem(429, "quota-exceeded", f"the key '{key_name}' holds {quota} sessions, its limit "
                      "(GRADSERVE_MAX_SESSIONS_PER_KEY); delete a session or wait for idle ones to expire",
                      headers={"Retry-After": str(retry)})
    return key_name


CreatorDep = Annotated[str | None, Depends(get_creator)]
