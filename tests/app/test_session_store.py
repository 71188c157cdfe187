"""The memory session store: ids, idle TTL, capacity, sweeping, and per-session pins."""

from __future__ import annotations

import asyncio

import pytest

from app.errors import Problem
from app.sessions import MemoryStore
from engine.program import Namespace


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_sessions_expire_after_idle_ttl_and_touch_extends():
    clock = Clock()
    store = MemoryStore(max_sessions=10, ttl=60, clock=clock)
    s = store.create(Namespace())
    clock.now += 50
    assert store.get(s.id) is s  # a request keeps the session alive
    clock.now += 50
    assert store.get(s.id) is s
    clock.now += 61
    with pytest.raises(Problem) as info:
        store.get(s.id)
    assert info.value.status_code == 404 and info.value.kind == "session-not-found"
    assert store.count() == 0


def test_sweep_drops_expired_sessions_and_frees_capacity():
    clock = Clock()
    store = MemoryStore(max_sessions=2, ttl=10, clock=clock)
    a = store.create(Namespace())
    clock.now += 5
    store.create(Namespace())
    with pytest.raises(Problem) as info:
        store.create(Namespace())
    assert info.value.status_code == 413
    clock.now += 6  # a expired, b did not
    assert store.create(Namespace()).id != a.id
    assert store.count() == 2
    clock.now += 100
    assert store.sweep() == 2 and store.count() == 0


def test_ids_are_unique_and_unguessable():
    store = MemoryStore(max_sessions=1000, ttl=10)
    ids = {store.create(Namespace()).id for _ in range(500)}
    assert len(ids) == 500 and min(len(i) for i in ids) == 32  # 24 bytes = 192 bits


@pytest.mark.anyio
async def test_a_tiny_ttl_expires_sessions_over_http(make_client, problem):
    async with make_client(SESSION_TTL_SECONDS=0.3) as c:
        sid = (await c.post("/v1/sessions")).json()["id"]
        await asyncio.sleep(0.15)
        assert (await c.get(f"/v1/sessions/{sid}")).status_code == 200
        await asyncio.sleep(0.15)
        assert (await c.get(f"/v1/sessions/{sid}")).status_code == 200  # the last request reset the clock
        await asyncio.sleep(0.4)
        problem(await c.get(f"/v1/sessions/{sid}"), 404, "session-not-found")


def test_a_busy_session_is_not_swept():
    clock = Clock()
    store = MemoryStore(max_sessions=10, ttl=10, clock=clock)
    s = store.create(Namespace())
    s.pins += 1  # a request admitted on it (queued or running) that takes longer than the TTL
    clock.now += 100
    assert store.sweep() == 0
    s.pins -= 1
    store.touch(s)
    assert store.get(s.id) is s


def test_a_session_of_another_owner_is_not_found_exactly_like_an_unknown_one():
    store = MemoryStore(max_sessions=10, ttl=60)
    mine = store.create(Namespace(), owner="alice")
    store.create(Namespace(), owner="bob")
    store.create(Namespace())
    assert store.get(mine.id, owner="alice") is mine
    for call in (lambda: store.get(mine.id, owner="bob"), lambda: store.get(mine.id),
                 lambda: store.delete(mine.id, owner="bob")):
        with pytest.raises(Problem) as info:
            call()
        assert info.value.status_code == 404 and info.value.kind == "session-not-found"
    assert (store.count_owned("alice"), store.count_owned("bob"), store.count_owned(None)) == (1, 1, 1)
    store.delete(mine.id, owner="alice")
    assert store.count_owned("alice") == 0
