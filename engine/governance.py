"""Governed engine work: a memory budget, a deadline and a cancel flag that ops and backward passes obey.

A caller (such as a service) sets one `Budget` for a thread with `governed(budget)`; every op then charges the
bytes its result may take *before* numpy allocates it, every backward node charges its gradients before its
vjp runs, and both check the deadline and the cancel flag. Without a budget (the library default) the checks
are one attribute read.

The figure charged is an upper bound of what the work holds: every allocation counts and nothing is given
back when a temporary dies. When the bound passes the limit, the budget asks its `recount` callback for the
exact figure (a walk of what is still reachable) and carries on from there; so a loop of temporaries is not
refused for memory it already gave back, and the walk runs at most once per `limit / RECOUNT_SLACK` bytes
charged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .errors import CancelledError, DeadlineError, LimitError

# Bookkeeping counted beside the data: a result's Tensor and ndarray headers, and a recorded graph node (its
# Node, kwargs, tuples and input metadata). Measured on CPython 3.11: 600,000 scalar nodes held ~460 B each.
RESULT_OVERHEAD = 160
NODE_OVERHEAD = 384
RECOUNT_SLACK = 16


class Budget:
    """What one unit of work (a request) may still take: bytes, time, and whether its caller still wants it.

    `used` starts at what the work's namespace already holds; `limit` is the most it may hold (None: no limit
    of its own). `reserve(n)` is asked for at least n more bytes whenever `used` grows past what it has
    reserved so far (a process-wide pool): it returns how many it took, or raises to refuse. `deadline` is a
    time.monotonic() value; `cancelled` is set from another thread to stop the work.
    """

    __slots__ = ("limit", "used", "deadline", "cancelled", "recount", "reserve", "reserved", "pinned",
                 "_since_recount", "what")

    def __init__(self, *, limit: int | None = None, used: int = 0, deadline: float | None = None,
                 reserve: Callable[[int], int] | None = None, recount: Callable[[], int] | None = None,
                 what: str = "the session"):
        self.limit = limit
        self.used = used
        self.deadline = deadline
        self.cancelled = False
        self.recount = recount
        self.reserve = reserve
        self.reserved = used  # what the pool already counts for this work
        self.pinned = 0  # charged since the current step began: live even if no walk can see it
        self._since_recount = limit or 0  # the first overflow always recounts: `used` may be a stale bound
        self.what = what

    # ------------------------------------------------------------------ time

    def check(self) -> None:
        """Stop here if the deadline passed or the caller went away."""
        if self.cancelled:
            raise CancelledError("the client went away; the work was stopped and nothing was kept")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlineError("the request ran past its time limit; nothing it did was kept")

    # ------------------------------------------------------------------ memory

    def charge(self, nbytes: int) -> None:
        """Count nbytes about to be allocated; refuse (LimitError, or the pool's error) before they are."""
        if self.cancelled or (self.deadline is not None and time.monotonic() > self.deadline):
            self.check()
        used = self.used + nbytes
        limit = self.limit
        if limit is not None and used > limit:
            used = self._overflow(nbytes)
        self.used = used
        self.pinned += nbytes
        self._since_recount += nbytes
        if used > self.reserved and self.reserve is not None:
            self.reserved += self.reserve(used - self.reserved)

    def _overflow(self, nbytes: int) -> int:
        limit = self.limit
        assert limit is not None
        if self.recount is not None and self._since_recount * RECOUNT_SLACK >= limit:
            self._since_recount = 0
            exact = self.recount() + self.pinned
            if exact + nbytes <= limit:
                return exact + nbytes
            self.used = exact
        raise LimitError(f"this needs {nbytes} more bytes while {self.what} holds about {self.used}, over the "
                         f"limit of {limit} bytes")

    def step(self) -> None:
        """A step (an op of a program, a backward call) ended: what it made is now reachable or garbage."""
        self.pinned = 0


class _State(threading.local):
    budget: Budget | None = None  # every thread's default; a plain attribute read on the hot path


state = _State()


def current() -> Budget | None:
    return state.budget


class governed:
    """Within this block, engine work on this thread obeys `budget` (None: no budget)."""

    def __init__(self, budget: Budget | None):
        self.budget = budget

    def __enter__(self) -> Budget | None:
        self.previous = state.budget
        state.budget = self.budget
        return self.budget

    def __exit__(self, *exc: object) -> None:
        state.budget = self.previous


def check() -> None:
    """A deadline and cancel check for loops outside ops (parsing, walks); free without a budget."""
    budget = state.budget
    if budget is not None:
        budget.check()


def charge(nbytes: int) -> None:
    budget = state.budget
    if budget is not None:
        budget.charge(nbytes)
