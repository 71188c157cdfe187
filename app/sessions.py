"""Sessions: a namespace of bindings kept between requests, behind a small store interface.

The memory store keeps sessions in this process (the Redis store, in `redis_store.py`, shares them between
processes). Each session has its own lock, so that requests on one session run one at a time (a Namespace is
not thread-safe) while different sessions run in parallel. A request's work runs between the store's `begin`
(which may load the session) and `commit` (which may write what changed), or `abort` when it fails.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from starlette.concurrency import run_in_threadpool

from engine.program import Namespace

from .errors import Problem
from .settings import Settings

T = TypeVar("T")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(eq=False)
class Session:
    id: str
    namespace: Namespace
    created_at: float
    expires_at: float
    owner: str | None = None  # the name of the API key that made it; None when keys are off
    lock: threading.Lock = field(default_factory=threading.Lock)

    def describe(self) -> dict[str, str]:
        return {"id": self.id, "created_at": iso(self.created_at), "expires_at": iso(self.expires_at)}


class SessionStore(Protocol):
    """Where sessions live. Every method raises a 503 Problem when the store cannot be reached.

    A session of another owner is answered exactly as an unknown one (404), and left untouched.
    """

    def create(self, namespace: Namespace, owner: str | None = None) -> Session: ...

    def get(self, session_id: str, owner: str | None = None) -> Session: ...  # 404 when unknown or expired

    def delete(self, session_id: str, owner: str | None = None) -> None: ...  # 404 when unknown or expired

    def count_owned(self, owner: str | None) -> int: ...

    def begin(self, session: Session) -> None: ...  # under the session's lock, before its work

    def commit(self, session: Session) -> None: ...  # after work that succeeded: keep what it did

    def abort(self, session: Session, error: BaseException) -> None: ...  # after work that failed

    def count(self) -> int: ...

    def sweep(self) -> int: ...

    def ping(self) -> None: ...


def session_not_found(session_id: str) -> Problem:
    return Problem(404, "session-not-found", f"no session '{session_id}' (it may have expired or been deleted)")


class MemoryStore:
    """Sessions in a dict of this process, each expiring after `ttl` idle seconds."""

    def __init__(self, max_sessions: int, ttl: float, clock: Callable[[], float] = time.time):
        self.max_sessions = max_sessions
        self.ttl = ttl
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, namespace: Namespace, owner: str | None = None) -> Session:
        now = self.clock()
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                self._sweep(now)
            if len(self._sessions) >= self.max_sessions:
                raise Problem(413, "limit-exceeded",
                              f"the server holds {len(self._sessions)} sessions, its limit "
                              f"(GRADSERVE_MAX_SESSIONS); delete a session or wait for idle ones to expire")
            session = Session(secrets.token_urlsafe(24), namespace, now, now + self.ttl, owner)
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str, owner: str | None = None) -> Session:
        now = self.clock()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or _expired(session, now):
                if session is not None:
                    del self._sessions[session_id]
                raise session_not_found(session_id)
            if session.owner != owner:
                raise session_not_found(session_id)
            session.expires_at = now + self.ttl
            return session

    def delete(self, session_id: str, owner: str | None = None) -> None:
        self.get(session_id, owner)
        with self._lock:
            self._sessions.pop(session_id, None)

    def touch(self, session: Session) -> None:
        session.expires_at = self.clock() + self.ttl

    def begin(self, session: Session) -> None:
        self.touch(session)

    def commit(self, session: Session) -> None:
        self.touch(session)

    def abort(self, session: Session, error: BaseException) -> None:
        self.touch(session)

    def count(self) -> int:
        with self._lock:
            return len(self._sessions)

    def count_owned(self, owner: str | None) -> int:
        now = self.clock()
        with self._lock:
            return sum(1 for s in self._sessions.values() if s.owner == owner and not _expired(s, now))

    def sweep(self) -> int:
        with self._lock:
            return self._sweep(self.clock())

    def _sweep(self, now: float) -> int:
        expired = [sid for sid, s in self._sessions.items() if _expired(s, now)]
        for sid in expired:
            del self._sessions[sid]
        return len(expired)

    def ping(self) -> None:
        return None


def _expired(session: Session, now: float) -> bool:
    # a session busy with a request longer than the TTL is not idle
    return session.expires_at <= now and not session.lock.locked()


def make_store(settings: Settings, observer: Any = None) -> SessionStore:
    """The store the settings name; `observer` hears of store calls, hydrations and conflicts (metrics)."""
    if settings.SESSION_STORE == "memory":
        return MemoryStore(settings.MAX_SESSIONS, settings.SESSION_TTL_SECONDS)
    if settings.SESSION_STORE == "redis":
        from .redis_store import RedisStore  # redis-py is imported only by servers that use it

        return RedisStore.from_settings(settings, observer=observer)
    raise ValueError(f"unsupported session store {settings.SESSION_STORE!r}")  # Settings already refuses it


async def run_locked(store: SessionStore, session: Session, work: Callable[[], T]) -> T:
    """Run engine work off the event loop, alone on its session; the session stays alive while it runs.

    The store's begin/commit bracket the work: with a shared store they hold the session across processes
    and write what the work changed, so an answer is only given for work that was kept.
    """

    def locked() -> T:
        with session.lock:
            store.begin(session)
            try:
                result = work()
            except BaseException as e:
                store.abort(session, e)
                raise
            store.commit(session)
            return result

    return await run_in_threadpool(locked)
