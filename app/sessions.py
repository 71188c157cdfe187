"""Sessions: a namespace of bindings kept between requests, behind a small store interface.

The memory store keeps sessions in this process (the Redis store, in `redis_store.py`, shares them between
processes). Requests on one session run one at a time (a Namespace is not thread-safe) while different sessions
run in parallel: each session id has a queue on the event loop, so that a request waiting for its session holds
no worker thread; only the running one does, under the session's lock. A request's work runs between the
store's `begin` (which may load the session) and `commit` (which may write what changed), or `abort` when it
fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from starlette.concurrency import run_in_threadpool

from engine.program import Namespace

from . import governance
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
    held: int = 0  # bytes the namespace holds by the engine's measure (an upper bound, kept as requests end)
    pins: int = 0  # requests admitted on it and not yet answered: while any, it does not expire
    deleted: bool = False

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

    def __init__(self, max_sessions: int, ttl: float, clock: Callable[[], float] = time.time,
                 on_drop: Callable[[Session], None] | None = None):
        self.max_sessions = max_sessions
        self.ttl = ttl
        self.clock = clock
        self.on_drop = on_drop  # told of every session deleted or expired (to give its memory back)
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
                    self._drop(session)
                raise session_not_found(session_id)
            if session.owner != owner:
                raise session_not_found(session_id)
            session.expires_at = now + self.ttl
            return session

    def delete(self, session_id: str, owner: str | None = None) -> None:
        session = self.get(session_id, owner)
        with self._lock:
            if self._sessions.get(session_id) is session:
                self._drop(session)

    def _drop(self, session: Session) -> None:
        del self._sessions[session.id]
        session.deleted = True
        if self.on_drop is not None:
            self.on_drop(session)

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
        expired = [s for s in self._sessions.values() if _expired(s, now)]
        for session in expired:
            self._drop(session)
        return len(expired)

    def ping(self) -> None:
        return None


def _expired(session: Session, now: float) -> bool:
    # a session with a request admitted (queued or running) is not idle, however long that takes
    return session.expires_at <= now and not session.pins and not session.lock.locked()


def make_store(settings: Settings, observer: Any = None,
               on_drop: Callable[[Session], None] | None = None) -> SessionStore:
    """The store the settings name; `observer` hears of store calls, hydrations and conflicts (metrics);
    `on_drop` of every session the memory store deletes or expires."""
    if settings.SESSION_STORE == "memory":
        return MemoryStore(settings.MAX_SESSIONS, settings.SESSION_TTL_SECONDS, on_drop=on_drop)
    if settings.SESSION_STORE == "redis":
        from .redis_store import RedisStore  # redis-py is imported only by servers that use it

        return RedisStore.from_settings(settings, observer=observer)
    raise ValueError(f"unsupported session store {settings.SESSION_STORE!r}")  # Settings already refuses it


class Gate:
    """The event loop's queue for one session id: requests wait here, holding no thread."""

    __slots__ = ("lock", "waiting", "users", "deleted")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0
        self.users = 0
        self.deleted = False


# By id, not on the Session: a shared store hands every request a Session object of its own.
_gates: dict[str, Gate] = {}


@contextlib.asynccontextmanager
async def _gate(session: Session, queue: int | None = None) -> AsyncIterator[Gate]:
    gate = _gates.get(session.id)
    if gate is None:
        gate = _gates[session.id] = Gate()
    if queue is not None and gate.waiting >= queue:
        raise Problem(429, "session-queue-full",
                      f"{gate.waiting} requests are already waiting for this session "
                      f"(GRADSERVE_SESSION_QUEUE_LENGTH); retry shortly",
                      headers={"Retry-After": str(governance.RETRY_AFTER_SECONDS)})
    gate.users += 1
    try:
        gate.waiting += 1
        try:
            await _acquire(gate.lock)
        finally:
            gate.waiting -= 1
        try:
            yield gate
        finally:
            gate.lock.release()
    finally:
        gate.users -= 1
        if not gate.users and _gates.get(session.id) is gate:
            del _gates[session.id]


async def run_locked(store: SessionStore, session: Session, work: Callable[[], T]) -> T:
    """Run engine work in a worker thread, alone on its session, under the request's budget.

    Requests wait for the session on the event loop, holding no thread, at most SESSION_QUEUE_LENGTH of them
    (429 past that); a session deleted meanwhile answers 404, even to the request that was running when it
    went. What the work adds is charged before it is allocated against MAX_SESSION_BYTES, and (memory store)
    the session's figure is kept up to date when it ends. The store's begin/commit bracket the work: with a
    shared store they hold the session across processes and write what the work changed, so an answer is only
    given for work that was kept.
    """
    governor = governance.current()
    if governor is not None:
        governor.watch()  # a client that hangs up while queued is not run for
    queue = None if governor is None else governor.settings.SESSION_QUEUE_LENGTH
    limit = None if governor is None else governor.settings.MAX_SESSION_BYTES
    kept_here = isinstance(store, MemoryStore)  # what a shared store holds is not this process's to count
    async with _gate(session, queue) as gate:
        if session.deleted or gate.deleted:
            raise session_not_found(session.id)
        before = session.held

        def locked() -> T:
            with session.lock:
                store.begin(session)
                # a shared store may have waited for another process's hold on the session (one that died
                # holds it until its lease ends): the request's own time limit runs for its work from here
                governance.restart_deadline()
                try:
                    result = work()
                except BaseException as e:
                    store.abort(session, e)
                    raise
                store.commit(session)
                return result

        def keep(budget: Any) -> None:
            if kept_here:
                session.held = budget.used
                if governor is not None:
                    governor.keep(before, budget.used)

        result = await governance.run_governed(locked, limit=limit, held=session.held, done=keep)
        if session.deleted or gate.deleted:  # deleted while it ran: its effect went with the session
            raise session_not_found(session.id)
        return result


async def delete_when_idle(store: SessionStore, session: Session) -> None:
    """Delete a session once the request running on it (if any) is done; the queued ones answer 404."""
    session.deleted = True
    gate = _gates.get(session.id)
    if gate is not None:
        gate.deleted = True
    async with _gate(session):
        await run_in_threadpool(store.delete, session.id, session.owner)  # a shared store answers over the network


async def _acquire(lock: asyncio.Lock) -> None:
    governor = governance.current()
    if governor is None:
        await lock.acquire()
        return
    await governor.wait(lock.acquire, lock.release, "its session")
