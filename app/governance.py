"""Resource governance of the service: the process memory pool, per-request admission, deadlines, cancellation.

Every HTTP request gets a `Governor` (from `GovernanceMiddleware`, reachable anywhere in the request through a
context variable, worker threads included). It holds the request's reservation in the process-wide
`MemoryPool` (bodies by their declared size before they are read, their parse by an estimate before they are
parsed, engine work as it is charged, responses before they are rendered), its deadline, and whether its client
went away. Engine work runs through `run_governed`, which gives the engine a `Budget` bound to the governor.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import os
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.errors import CancelledError, DeadlineError
from engine.governance import Budget, governed
from engine.governance import current as engine_current

from . import errors  # as a module: errors -> schemas -> codec, which charges responses here
from .settings import Settings

T = TypeVar("T")

RETRY_AFTER_SECONDS = 1
# Engine work reserves from the pool in steps of at least this much, so that small ops do not each take its lock.
RESERVE_STEP = 1024 * 1024
# What orjson builds from JSON, beyond the body's own bytes: per item (a pointer and a number object), per
# list or object, per string. Measured worst cases: 20x the body for a list of floats, 38x for nested empty
# lists; the estimate is an upper bound of those from counts of commas, brackets and quotes.
PARSE_BYTES_PER_ITEM = 40
PARSE_BYTES_PER_CONTAINER = 104
PARSE_BYTES_PER_QUOTE = 40
PARSE_BYTES_PER_BODY_BYTE = 4  # strings and base64 text, and the arrays decoded from them
# A JSON response: at most ~24 characters per number, twice (rendered, then the body sent); base64 is 4/3.
RESPONSE_BYTES_PER_ITEM = 48


class MemoryPool:
    """The process's memory budget (GRADSERVE_MAX_MEMORY_BYTES): what sessions hold plus what requests have
    reserved. A reservation that does not fit is refused with 503 and Retry-After."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, n: int, what: str) -> None:
        with self._lock:
            if self.used + n > self.limit:
                raise errors.Problem(503, "memory-budget-full",
                              f"the server's memory budget is full: {what} needs {n} bytes, {self.used} of "
                              f"{self.limit} are in use (GRADSERVE_MAX_MEMORY_BYTES); retry shortly",
                              headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
            self.used += n

    def give(self, n: int) -> None:
        with self._lock:
            self.used -= n



class Governor:
    """One request's reservation, deadline and cancel flag."""

    def __init__(self, pool: MemoryPool, deadline: float, settings: Settings):
        self.pool = pool
        self.settings = settings
        self.deadline = deadline
        self.reserved = 0
        self.cancelled = False
        self.budgets: list[Budget] = []
        self.watch: Callable[[], None] = _nothing  # starts watching for the client going away
        self.moved: asyncio.Event | None = None  # set when the deadline moves or the client goes away

    def take(self, n: int, what: str) -> None:
        if n > 0:
            self.pool.take(n, what)
            self.reserved += n

    def _reserve(self, n: int) -> int:
        if n < RESERVE_STEP:
            try:
                self.take(RESERVE_STEP, "this request")
                return RESERVE_STEP
            except errors.Problem:
                pass  # the pool may still have room for what is needed now
        self.take(n, "this request")
        return n

    def keep(self, held_before: int, held_after: int) -> None:
        """The request's session now holds held_after: that much of the reservation stays when it ends."""
        self.reserved -= held_after - held_before

    def cancel(self) -> None:
        self.cancelled = True
        for budget in self.budgets:
            budget.cancelled = True
        self._wake()

    def shorten(self, deadline: float) -> None:
        self.deadline = min(self.deadline, deadline)
        for budget in self.budgets:
            budget.deadline = min(budget.deadline or deadline, deadline)
        self._wake()

    def _wake(self) -> None:
        if self.moved is not None:
            self.moved.set()
            self.moved = None

    async def wait(self, take: Callable[[], Awaitable[Any]], give: Callable[[], Any], what: str) -> None:
        """`await take()` (a place in a queue), but no later than the deadline, which a shutdown may bring
        forward, and not after the client went away: a request that can no longer run stops waiting at once,
        so that one waiting behind a long queue still gets its answer (504) in time. `give()` undoes `take()`
        when it succeeded too late."""
        task = asyncio.ensure_future(take())
        try:
            while not task.done():
                if self.cancelled:
                    raise CancelledError("the client went away while the request waited; nothing was done")
                remaining = self.remaining()
                if remaining <= 0:
                    raise DeadlineError(f"the request waited for {what} past its time limit "
                                        "(GRADSERVE_REQUEST_TIMEOUT_SECONDS); nothing was done")
                if self.moved is None:
                    self.moved = asyncio.Event()
                moved = asyncio.ensure_future(self.moved.wait())
                try:
                    await asyncio.wait((task, moved), timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    moved.cancel()
            task.result()
        except BaseException:
            if task.done() and not task.cancelled() and task.exception() is None:
                give()
            else:
                task.cancel()
            raise

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def budget(self, limit: int | None, held: int = 0) -> Budget:
        budget = Budget(limit=limit, used=held, deadline=self.deadline, reserve=self._reserve)
        budget.cancelled = self.cancelled
        self.budgets.append(budget)
        return budget


def _nothing() -> None:
    return None


_current: contextvars.ContextVar[Governor | None] = contextvars.ContextVar("gradserve_governor", default=None)
_live: weakref.WeakSet[Governor] = weakref.WeakSet()
_draining: list[float] = []  # the deadline every request gets once the server is shutting down


def current() -> Governor | None:
    return _current.get()


def drain(grace: float) -> None:
    """The server is shutting down: every request, running or yet to come, must end within `grace` seconds,
    so that each one still gets its answer before the server stops."""
    deadline = time.monotonic() + grace
    if not _draining:
        _draining.append(deadline)
    for governor in list(_live):
        governor.shorten(deadline)


def parse_estimate(body: bytes) -> int:
    """An upper bound of the memory orjson takes for `body`, counted without parsing it."""
    items = body.count(b",") + 1
    containers = body.count(b"[") + body.count(b"{")
    quotes = body.count(b'"')
    return (PARSE_BYTES_PER_BODY_BYTE * len(body) + PARSE_BYTES_PER_ITEM * items
            + PARSE_BYTES_PER_CONTAINER * containers + PARSE_BYTES_PER_QUOTE * quotes)


def charge_response(variables: Iterable[Any], encoding: str, with_data: bool = True) -> None:
    """Reserve what rendering these tensors (data and grad) will take, before it is rendered."""
    governor = current()
    if governor is None or not with_data:
        return
    n = 0
    for t in variables:
        items = t.data.size * (2 if t.grad is not None else 1)
        n += items * RESPONSE_BYTES_PER_ITEM if encoding == "json" else 3 * items * t.data.itemsize
    governor.take(n, "the response")


# ---------------------------------------------------------------------------- running engine work

# Engine work is Python-heavy and holds the GIL most of the time: more threads at it than cores do not finish
# sooner, and each one makes the event loop wait longer for its turn (at 8 threads, /healthz waited 0.5 s).
# Requests beyond this wait on the event loop, holding no thread.
ENGINE_THREADS = max(2, os.cpu_count() or 2)
_engine_threads: list[anyio.CapacityLimiter] = []
_spare: list[anyio.CapacityLimiter] = []


def _limiter() -> anyio.CapacityLimiter:
    if not _engine_threads:
        _engine_threads.append(anyio.CapacityLimiter(ENGINE_THREADS))
    return _engine_threads[0]


def _spare_threads() -> anyio.CapacityLimiter:
    """The threads of work that already holds its place in `_limiter()`: never a second wait."""
    if not _spare:
        _spare.append(anyio.CapacityLimiter(ENGINE_THREADS))
    return _spare[0]


async def run_governed(work: Callable[[], T], *, limit: int | None, held: int = 0,
                       done: Callable[[Budget], None] | None = None) -> T:
    """Run engine work in a worker thread under a budget of `limit` bytes (the work's namespace already holds
    `held`), the request's deadline and its cancel flag; `done(budget)` runs in the thread after success."""
    budget = _budget(limit, held)
    governor = current()

    def governed_work() -> T:
        with governed(budget):
            result = work()
            if done is not None:
                done(budget)
            return result

    if governor is None:
        return await anyio.to_thread.run_sync(governed_work, limiter=_limiter())
    governor.watch()
    limiter, turn = _limiter(), object()
    await governor.wait(lambda: limiter.acquire_on_behalf_of(turn), lambda: limiter.release_on_behalf_of(turn),
                        "an engine thread")
    try:
        return await anyio.to_thread.run_sync(governed_work, limiter=_spare_threads())
    finally:
        limiter.release_on_behalf_of(turn)


def restart_deadline() -> None:
    """In engine work: give it the request's whole time limit from now (unless the server is shutting down)."""
    budget, governor = engine_current(), current()
    if budget is not None and governor is not None and not _draining and budget.deadline is not None:
        budget.deadline = max(budget.deadline, time.monotonic() + governor.settings.REQUEST_TIMEOUT_SECONDS)


def run_inline(work: Callable[[], T], *, limit: int | None, seconds: float) -> T:
    """Run small engine work on the event loop, stopped (DeadlineError) after `seconds`."""
    budget = _budget(limit, 0)
    budget.deadline = min(budget.deadline or math.inf, time.monotonic() + seconds)
    with governed(budget):
        return work()


def _budget(limit: int | None, held: int) -> Budget:
    governor = current()
    if governor is None:  # outside a request (tests of the app object without its middleware)
        return Budget(limit=limit, used=held)
    return governor.budget(limit, held)


# ---------------------------------------------------------------------------- the middleware

class GovernanceMiddleware:
    """Gives each HTTP request its governor; cuts off slow uploads; stops work whose client went away."""

    def __init__(self, app: ASGIApp, settings: Settings, pool: MemoryPool):
        self.app = app
        self.pool = pool
        self.settings = settings
        self.timeout = settings.REQUEST_TIMEOUT_SECONDS
        self.read_timeout = settings.READ_TIMEOUT_SECONDS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.timeout
        if _draining:
            deadline = min(deadline, _draining[0])
        governor = Governor(self.pool, deadline, self.settings)
        _live.add(governor)
        token = _current.set(governor)
        body_done = False
        disconnected: list[Message] = []
        watcher: asyncio.Task | None = None
        started = False

        async def wait_for_disconnect() -> None:
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected.append(message)
                governor.cancel()

        def watch() -> None:
            # only once the body is in (the only message left is then the disconnect), and only for work that
            # runs off the event loop: a request answered at once does not pay for a task
            nonlocal watcher
            if body_done and watcher is None and not disconnected:
                watcher = asyncio.ensure_future(wait_for_disconnect())

        governor.watch = watch

        async def receiving() -> Message:
            nonlocal body_done
            if body_done:
                if watcher is not None:
                    await asyncio.shield(watcher)
                if disconnected:
                    return disconnected[0]
                return await receive()
            # a bare timer that cancels this task: asyncio.timeout() costs ~15 µs a call, this a few
            task = asyncio.current_task()
            stalled: list[bool] = []

            def stall() -> None:
                stalled.append(True)
                task.cancel()

            timer = asyncio.get_running_loop().call_later(self.read_timeout, stall)
            try:
                message = await receive()
            except asyncio.CancelledError:
                if not stalled or task.uncancel():
                    raise
                raise errors.Problem(408, "request-timeout",
                              f"the body did not arrive within {self.read_timeout:g} seconds "
                              f"(GRADSERVE_READ_TIMEOUT_SECONDS)", headers={"Connection": "close"}) from None
            finally:
                timer.cancel()
            if message["type"] == "http.disconnect":
                disconnected.append(message)
                governor.cancel()
                body_done = True
            elif not message.get("more_body", False):
                body_done = True
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        except errors.Problem as e:  # raised while the body was read, outside any route (a slow upload)
            if started:
                raise
            await errors.problem_response(e.status_code, e.kind, e.title, str(e.detail), headers=e.headers)(
                scope, receive, send)
        finally:
            _current.reset(token)
            if watcher is not None:
                watcher.cancel()
            if governor.reserved:
                self.pool.give(governor.reserved)
                governor.reserved = 0
            _live.discard(governor)
