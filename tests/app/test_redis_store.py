"""The Redis session store against a real redis-server: apps sharing one Redis behave as one memory store."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

import httpx
import numpy as np
import orjson
import pytest
import redis

from app.examples import SEED_PROGRAM
from app.main import create_app
from app.redis_store import Observer, RedisStore
from app.settings import Settings
from engine.structure import Program

pytestmark = pytest.mark.anyio


def strip_times(body):
    """An answer without what differs between any two servers: session and request ids, and times."""
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if k not in ("id", "created_at", "expires_at", "request_id")}
    return body


class Counting(Observer):
    def __init__(self) -> None:
        self.hydrations: list[str] = []
        self.conflicts = 0

    def hydration(self, result: str) -> None:
        self.hydrations.append(result)

    def conflict(self) -> None:
        self.conflicts += 1


@contextlib.asynccontextmanager
async def app_on(url: str, **settings) -> AsyncIterator[httpx.AsyncClient]:
    """One app (as one process would run it) on the Redis at `url`."""
    s = Settings(SESSION_STORE="redis", REDIS_URL=url, **settings)
    observer = Counting()
    app = create_app(s, store=RedisStore.from_settings(s, observer=observer))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gradserve.test") as c:
            c.store = app.state.store  # type: ignore[attr-defined]
            c.observer = observer  # type: ignore[attr-defined]
            yield c


@contextlib.asynccontextmanager
async def apps(url: str, n: int = 2, **settings) -> AsyncIterator[list[httpx.AsyncClient]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(app_on(url, **settings)) for _ in range(n)]


STEPS = [
    ("post", "/v1/sessions/{sid}/backward", {"output": "y", "gradient": [[1, 1], [1, 1]], "retain_graph": True}),
    ("post", "/v1/sessions/{sid}/run", {"ops": [{"name": "z", "expr": "y * y"}, {"name": "m", "expr": "mean(z)"}],
                                        "encoding": "base64"}),
    ("post", "/v1/sessions/{sid}/grad", {"outputs": "y", "inputs": "x", "grad_outputs": [[1, 2], [3, 4]],
                                         "create_graph": True, "bind": ["g"]}),
    ("post", "/v1/sessions/{sid}/run", {"ops": [{"name": "h", "expr": "sum(g * g * x)"}],
                                        "backward": [{"output": "h"}]}),
    ("post", "/v1/sessions/{sid}/backward", {"output": "m"}),
    ("post", "/v1/sessions/{sid}/backward", {"output": "m"}),  # freed: 409
    ("get", "/v1/sessions/{sid}?data=true&encoding=base64", None),
    ("get", "/v1/sessions/{sid}/graph", None),
    ("post", "/v1/sessions/{sid}/zero_grad", None),
    ("get", "/v1/sessions/{sid}/variables/x", None),
]


async def run_steps(clients: list[httpx.AsyncClient]) -> list[tuple[int, object]]:
    first = {"inputs": {"x": {"data": [[1, 2], [3, 4]], "requires_grad": True}},
             "ops": [{"name": "y", "expr": "4 * x + 2", "retain_grad": True}]}
    r = await clients[0].post("/v1/sessions", json=first)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    seen: list[tuple[int, object]] = [(r.status_code, strip_times(r.json()))]
    for k, (method, path, body) in enumerate(STEPS):
        c = clients[(k + 1) % len(clients)]
        r = await (c.post(path.format(sid=sid), json=body) if method == "post" else c.get(path.format(sid=sid)))
        seen.append((r.status_code, strip_times(r.json()) if r.content else None))
    return seen


async def test_apps_sharing_redis_answer_as_one_memory_store(redis_server):
    async with apps(redis_server.url, 3) as clients:
        shared = await run_steps(clients)
    memory_app = create_app(Settings())
    async with memory_app.router.lifespan_context(memory_app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=memory_app), base_url="http://t") as c:
            alone = await run_steps([c])
    assert [s for s, _ in shared] == [201, 200, 200, 200, 200, 200, 409, 200, 200, 204, 200]
    assert shared == alone


async def test_a_process_reuses_its_live_copy_until_another_moves_the_version(redis_server):
    async with apps(redis_server.url, 2) as (a, b):
        sid = (await a.post("/v1/sessions", json=SEED_PROGRAM)).json()["id"]
        for _ in range(3):
            assert (await a.post(f"/v1/sessions/{sid}/zero_grad")).status_code == 204
        assert a.observer.hydrations == ["hit"] * 3
        assert (await b.get(f"/v1/sessions/{sid}")).status_code == 200
        assert b.observer.hydrations == ["miss"]
        await b.post(f"/v1/sessions/{sid}/run", json={"inputs": {"k": 1.0}})
        await a.get(f"/v1/sessions/{sid}")
        assert a.observer.hydrations[-1] == "miss"


async def test_a_request_writes_only_the_arrays_it_made(redis_server):
    r = redis.Redis.from_url(redis_server.url)
    async with app_on(redis_server.url) as c:
        big = np.ones((256, 256), np.float32).tolist()
        sid = (await c.post("/v1/sessions", json={"inputs": {"w": {"data": big, "requires_grad": True}},
                                                  "ops": [{"name": "y", "expr": "sum(exp(w))"}]})).json()["id"]
        version = int(r.hget(f"gradserve:s:{sid}", "v"))
        assert (await c.get(f"/v1/sessions/{sid}")).status_code == 200
        assert int(r.hget(f"gradserve:s:{sid}", "v")) == version  # a read writes nothing
        before = set(r.hkeys(f"gradserve:b:{sid}"))
        await c.post(f"/v1/sessions/{sid}/backward", json={"output": "y"})
        after = set(r.hkeys(f"gradserve:b:{sid}"))
        assert int(r.hget(f"gradserve:s:{sid}", "v")) == version + 1
        new = after - before
        assert len(new) == 1  # w's grad; w and y stay as they were written
        assert len(r.hget(f"gradserve:b:{sid}", new.pop())) == 256 * 256 * 4
        assert len(before - after) == 1  # exp's saved output, freed by the backward, is dropped


async def test_a_tampered_record_is_a_clean_problem_and_others_keep_working(redis_server, problem):
    r = redis.Redis.from_url(redis_server.url)
    async with apps(redis_server.url, 2) as (a, b):
        sid = (await a.post("/v1/sessions", json=SEED_PROGRAM)).json()["id"]
        other = (await a.post("/v1/sessions", json=SEED_PROGRAM)).json()["id"]
        manifest = orjson.loads(r.hget(f"gradserve:s:{sid}", "m"))
        manifest["nodes"][0]["op"] = "__import__"
        r.hset(f"gradserve:s:{sid}", mapping={"m": orjson.dumps(manifest), "v": 99})
        body = problem(await b.get(f"/v1/sessions/{sid}"), 422, "corrupt-session")
        assert "__import__" in body["detail"]
        r.hset(f"gradserve:s:{sid}", mapping={"m": b"\x80\x03cos\nsystem\n", "v": 100})  # a pickle
        problem(await b.post(f"/v1/sessions/{sid}/backward", json={"output": "out"}), 422, "corrupt-session")
        blob = r.hkeys(f"gradserve:b:{other}")[0]
        r.hset(f"gradserve:b:{other}", blob, b"\x00")  # truncated array
        r.hincrby(f"gradserve:s:{other}", "v", 1)
        problem(await b.get(f"/v1/sessions/{other}"), 422, "corrupt-session")
        assert (await b.post("/v1/sessions", json=SEED_PROGRAM)).status_code == 201


async def test_ttl_and_max_sessions_hold_across_processes(redis_server, problem):
    async with apps(redis_server.url, 2, SESSION_TTL_SECONDS=1, MAX_SESSIONS=2) as (a, b):
        s1 = (await a.post("/v1/sessions")).json()["id"]
        assert (await b.post("/v1/sessions")).status_code == 201
        problem(await a.post("/v1/sessions"), 413, "limit-exceeded")
        problem(await b.post("/v1/sessions"), 413, "limit-exceeded")
        for _ in range(3):  # requests keep s1 alive past its TTL
            time.sleep(0.4)
            assert (await b.get(f"/v1/sessions/{s1}")).status_code == 200
        time.sleep(1.2)
        problem(await a.get(f"/v1/sessions/{s1}"), 404, "session-not-found")
        assert (await a.post("/v1/sessions")).status_code == 201  # expired ones free their places
        assert a.store.count() == 1


async def test_owners_see_only_their_sessions(redis_server):
    s = Settings(SESSION_STORE="redis", REDIS_URL=redis_server.url)
    store = RedisStore.from_settings(s)
    from engine.program import Namespace

    mine = store.create(Namespace(), owner="alice")
    store.create(Namespace(), owner="bob")
    assert store.count_owned("alice") == 1 and store.count_owned("bob") == 1 and store.count() == 2
    from app.errors import Problem

    theirs = store.get(mine.id, owner="bob")
    with pytest.raises(Problem) as info:
        store.begin(theirs)
    assert info.value.status_code == 404
    with pytest.raises(Problem):
        store.delete(mine.id, owner="bob")
    session = store.get(mine.id, owner="alice")
    store.begin(session)
    store.commit(session)
    store.delete(mine.id, owner="alice")
    assert store.count_owned("alice") == 0


async def test_a_lease_left_by_a_dead_process_expires_and_a_stale_commit_is_fenced(redis_server, problem):
    r = redis.Redis.from_url(redis_server.url)
    async with apps(redis_server.url, 2, REQUEST_TIMEOUT_SECONDS=1) as (a, b):
        sid = (await a.post("/v1/sessions", json=SEED_PROGRAM)).json()["id"]
        r.set(f"gradserve:l:{sid}", "a-dead-process", px=1500)
        start = time.monotonic()
        assert (await b.post(f"/v1/sessions/{sid}/zero_grad")).status_code == 204
        assert 1.0 < time.monotonic() - start < 4.0

        # a process whose hold expired while another committed: its commit is refused, never applied
        store: RedisStore = a.store
        stale = store.get(sid)
        store.begin(stale)
        stale.namespace.zero_grad()
        stale.namespace.run(Program.from_dict({"inputs": {"lost": 1.0}}))
        r.delete(f"gradserve:l:{sid}")  # as if its lease ran out
        assert (await b.post(f"/v1/sessions/{sid}/run", json={"inputs": {"kept": 2.0}})).status_code == 200
        from app.errors import Problem

        with pytest.raises(Problem) as info:
            store.commit(stale)
        assert info.value.status_code == 503 and info.value.kind == "session-busy"
        assert a.observer.conflicts == 1
        names = (await a.get(f"/v1/sessions/{sid}")).json()["variables"]
        assert "kept" in names and "lost" not in names


async def test_redis_down_is_503_for_sessions_only_and_service_comes_back(redis_server, problem):
    async with app_on(redis_server.url) as c:
        sid = (await c.post("/v1/sessions", json=SEED_PROGRAM)).json()["id"]
        redis_server.stop()
        problem(await c.get(f"/v1/sessions/{sid}"), 503, "store-unavailable")
        problem(await c.post("/v1/sessions", json=SEED_PROGRAM), 503, "store-unavailable")
        problem(await c.delete(f"/v1/sessions/{sid}"), 503, "store-unavailable")
        problem(await c.get("/readyz"), 503, "store-unavailable")
        assert (await c.get("/healthz")).status_code == 200
        assert (await c.post("/v1/evaluate", json=SEED_PROGRAM)).status_code == 200
        assert (await c.get("/metrics")).status_code == 200
        redis_server.start()
        assert (await c.get("/readyz")).status_code == 200
        assert (await c.post("/v1/sessions", json=SEED_PROGRAM)).status_code == 201
        # without persistence the old session is gone: an honest 404, not a stale live copy
        problem(await c.get(f"/v1/sessions/{sid}"), 404, "session-not-found")


async def test_a_parameter_updated_in_place_is_written_again(redis_server):
    # optimizers update a parameter's array in place: the stored copy must follow, under a new blob id
    async with apps(redis_server.url, 2) as (a, b):
        sid = (await a.post("/v1/sessions", json={"inputs": {"w": {"data": [1.0, 2.0], "requires_grad": True}},
                                                  "ops": [{"name": "y", "expr": "sum(w * 3)"}]})).json()["id"]
        store: RedisStore = a.store
        session = store.get(sid)
        store.begin(session)
        session.namespace.bindings["w"].data[...] = [5.0, 6.0]
        store.commit(session)
        assert (await b.get(f"/v1/sessions/{sid}/variables/w")).json()["data"] == [5.0, 6.0]
