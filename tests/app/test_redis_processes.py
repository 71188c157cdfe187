"""Real gradserve processes sharing one real Redis: any process serves any session, as one server would."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.examples import SEED_PROGRAM, TUTORIAL_GRADIENT

PROCESSES = 3


def strip_times(body):
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if k not in ("id", "created_at", "expires_at", "request_id")}
    return body


@contextlib.contextmanager
def gradserve_processes(live_server_process, redis_url: str, n: int, tmp_path, **settings) -> Iterator[list]:
    """n `uvicorn app.main:app` processes on one Redis; yields their URLs (each with its `.proc`)."""
    env = {**os.environ, "GRADSERVE_SESSION_STORE": "redis", "GRADSERVE_REDIS_URL": redis_url,
           **{f"GRADSERVE_{k}": str(v) for k, v in settings.items()}}

    def command(port: int) -> tuple[list[str], dict[str, str]]:
        return [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
                "--log-level", "warning"], env

    with contextlib.ExitStack() as stack:
        urls = []
        for i in range(n):
            log = stack.enter_context(open(tmp_path / f"gradserve-{i}.log", "w+b"))
            urls.append(stack.enter_context(live_server_process(command, log)))
        yield urls


@pytest.fixture(scope="module")
def shared_redis(make_redis):
    with make_redis() as server:
        yield server


@pytest.fixture(scope="module")
def cluster(shared_redis, live_server_process, tmp_path_factory) -> Iterator[list[str]]:
    with gradserve_processes(live_server_process, shared_redis.url, PROCESSES,
                             tmp_path_factory.mktemp("cluster")) as urls:
        yield urls


class Rotating:
    """An HTTP client that sends each request to the next process in turn."""

    def __init__(self, urls: list[str]):
        self.clients = [httpx.Client(base_url=u, timeout=60) for u in urls]
        self.turn = itertools.cycle(self.clients)

    def request(self, method: str, path: str, **kw) -> httpx.Response:
        return next(self.turn).request(method, path, **kw)

    def close(self) -> None:
        for c in self.clients:
            c.close()


def tutorial(http) -> list:
    """The seed tutorial as a client drives it; every answer, without ids and times."""
    seen = []
    sid = "(none yet)"

    def call(method, path, body=None):
        r = http.request(method, path, json=body) if body is not None else http.request(method, path)
        seen.append((r.status_code, strip_times(json.loads(r.text.replace(sid, "SID"))) if r.content else None))
        return r

    call("POST", "/v1/evaluate", {**SEED_PROGRAM, "return": None, "encoding": "base64"})
    sid = call("POST", "/v1/sessions", SEED_PROGRAM).json()["id"]
    call("POST", f"/v1/sessions/{sid}/run", {"inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}},
                                             "ops": [{"name": "y", "expr": "4 * x + 2"}]})
    call("POST", f"/v1/sessions/{sid}/backward", {"output": "y", "gradient": [[1, 1], [1, 1]], "retain_graph": True})
    call("POST", f"/v1/sessions/{sid}/run", {"ops": [{"name": "z", "expr": "y * y"}]})
    call("POST", f"/v1/sessions/{sid}/backward", {"output": "y", "gradient": TUTORIAL_GRADIENT, "retain_graph": True,
                                                  "encoding": "base64"})
    call("POST", f"/v1/sessions/{sid}/run", {"inputs": {"x": {"data": [1.357, -0.3653, 0.6265],
                                                              "requires_grad": True}},
                                             "ops": [{"name": "y", "op": "mul", "args": ["x", 2]}]})
    y = call("GET", f"/v1/sessions/{sid}/variables/y").json()["data"]
    while math.hypot(*y) < 1000:
        y = call("POST", f"/v1/sessions/{sid}/run", {"ops": [{"name": "y", "op": "mul", "args": ["y", 2]}],
                                                     "return": ["y"]}).json()["variables"]["y"]["data"]
    call("POST", f"/v1/sessions/{sid}/backward", {"output": "y", "gradient": [0.1, 1.0, 0.0001]})
    call("POST", f"/v1/sessions/{sid}/run", {"inputs": {"s": {"data": 3.0, "requires_grad": True}},
                                             "ops": [{"name": "c", "expr": "s ** 3"}]})
    call("POST", f"/v1/sessions/{sid}/grad", {"outputs": "c", "inputs": "s", "create_graph": True, "bind": ["g"]})
    call("POST", f"/v1/sessions/{sid}/backward", {"output": "g"})
    call("POST", f"/v1/sessions/{sid}/run", {"ops": [{"name": "q", "expr": "x * x"}, {"name": "m", "expr": "mean(q)"}]})
    call("POST", f"/v1/sessions/{sid}/backward", {"output": "q"})  # non-scalar: 422
    call("POST", f"/v1/sessions/{sid}/backward", {"output": "m"})
    call("POST", f"/v1/sessions/{sid}/backward", {"output": "m"})  # freed: 409
    call("GET", f"/v1/sessions/{sid}?data=true")
    call("GET", f"/v1/sessions/{sid}/graph")
    call("DELETE", f"/v1/sessions/{sid}")
    call("GET", f"/v1/sessions/{sid}")
    return seen


def test_the_tutorial_across_three_processes_is_bit_identical_to_one_memory_server(cluster, server):
    spread = Rotating(cluster)
    try:
        shared = tutorial(spread)
    finally:
        spread.close()
    with httpx.Client(base_url=server, timeout=60) as alone:
        single = tutorial(alone)
    statuses = [s for s, _ in shared]
    assert statuses.count(409) == 1 and statuses.count(422) == 1 and statuses[-2:] == [204, 404]
    assert shared == single


def test_concurrent_backward_calls_spread_over_processes_accumulate_exactly(cluster):
    with httpx.Client(base_url=cluster[0], timeout=60) as c:
        sid = c.post("/v1/sessions", json={"inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}},
                                           "ops": [{"name": "y", "expr": "4 * x + 2"}]}).json()["id"]
    threads, each = 6, 8

    def hammer(k: int) -> list[int]:
        with httpx.Client(base_url=cluster[k % len(cluster)], timeout=60) as c:
            return [c.post(f"/v1/sessions/{sid}/backward",
                           json={"output": "y", "gradient": [[1, 1], [1, 1]], "retain_graph": True}).status_code
                    for _ in range(each)]

    with ThreadPoolExecutor(threads) as pool:
        statuses = [s for batch in pool.map(hammer, range(threads)) for s in batch]
    assert statuses == [200] * (threads * each)
    for url in cluster:  # every process sees the same, exact sum
        with httpx.Client(base_url=url, timeout=60) as c:
            assert c.get(f"/v1/sessions/{sid}/variables/x").json()["grad"] == [[4.0 * threads * each] * 2] * 2


def test_a_process_killed_mid_sequence_loses_nothing_it_answered(shared_redis, live_server_process, tmp_path):
    with gradserve_processes(live_server_process, shared_redis.url, 2, tmp_path, REQUEST_TIMEOUT_SECONDS=2) as urls:
        victim, survivor = urls
        with httpx.Client(base_url=victim, timeout=60) as v:
            sid = v.post("/v1/sessions", json={"inputs": {"x": {"data": [1.0, 1.0], "requires_grad": True}},
                                               "ops": [{"name": "y", "expr": "3 * x"}]}).json()["id"]
        answered = 0
        stop = threading.Event()

        def stream(url: str) -> tuple[int, int]:
            ok = failed = 0
            with httpx.Client(base_url=url, timeout=30) as c:
                while not stop.is_set():
                    try:
                        r = c.post(f"/v1/sessions/{sid}/backward",
                                   json={"output": "y", "gradient": [1, 1], "retain_graph": True})
                    except httpx.TransportError:
                        failed += 1  # sent but never answered: it may or may not have been applied
                        break
                    assert r.status_code == 200, r.text
                    ok += 1
            return ok, failed

        with ThreadPoolExecutor(2) as pool:
            runs = [pool.submit(stream, victim), pool.submit(stream, survivor)]
            threading.Event().wait(1.5)
            os.kill(victim.proc.pid, signal.SIGKILL)
            threading.Event().wait(1.0)
            stop.set()
            (ok_v, lost_v), (ok_s, _) = (f.result() for f in runs)
        answered = ok_v + ok_s
        assert ok_v > 0 and ok_s > 0
        with httpx.Client(base_url=survivor, timeout=60) as c:
            # the dead process may have held the session: it is free again within the request timeout + a bit
            r = c.post(f"/v1/sessions/{sid}/backward", json={"output": "y", "gradient": [1, 1], "retain_graph": True})
            assert r.status_code == 200
            count = r.json()["variables"]["x"]["grad"][0] / 3
        assert answered + 1 <= count <= answered + 1 + lost_v


def test_gradserve_with_two_workers_serves_every_session_and_counts_in_one_registry(
        shared_redis, live_server_process, tmp_path):
    env = {**os.environ, "GRADSERVE_SESSION_STORE": "redis", "GRADSERVE_REDIS_URL": shared_redis.url,
           "GRADSERVE_WORKERS": "2"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)

    def command(port: int) -> tuple[list[str], dict[str, str]]:
        return [sys.executable, "-m", "app.cli", "--port", str(port)], env

    with open(tmp_path / "workers.log", "w+b") as log, live_server_process(command, log) as url:
        with httpx.Client(base_url=url, timeout=60) as c:
            sid = c.post("/v1/sessions", json=SEED_PROGRAM).json()["id"]
            statuses = [c.get(f"/v1/sessions/{sid}", headers={"connection": "close"}).status_code
                        for _ in range(20)]
            assert statuses == [200] * 20  # never a 404 from the worker that did not make it
            families = {f.name: f for f in text_string_to_metric_families(c.get("/metrics").text)}
    served = sum(s.value for s in families["gradserve_requests"].samples
                 if s.name == "gradserve_requests_total" and s.labels["route"] == "/v1/sessions/{session_id}")
    assert served == 20  # one registry across workers, whichever answered the scrape
    hydrations = {s.labels["result"]: s.value for s in families["gradserve_session_hydrations"].samples
                  if s.name.endswith("_total")}
    assert sum(hydrations.values()) == 20


def test_limits_hold_across_processes_and_they_ride_out_a_redis_restart(redis_server, live_server_process, tmp_path):
    with gradserve_processes(live_server_process, redis_server.url, 2, tmp_path, SESSION_TTL_SECONDS=1,
                             MAX_SESSIONS=2) as urls, \
            httpx.Client(base_url=urls[0], timeout=30) as a, httpx.Client(base_url=urls[1], timeout=30) as b:
        first = a.post("/v1/sessions", json=SEED_PROGRAM).json()["id"]
        assert b.post("/v1/sessions").status_code == 201
        r = a.post("/v1/sessions")
        assert r.status_code == 413 and r.json()["type"] == "/problems/limit-exceeded"
        assert b.get(f"/v1/sessions/{first}").status_code == 200
        threading.Event().wait(1.5)  # idle past the TTL, whichever process served it last
        assert a.get(f"/v1/sessions/{first}").status_code == 404
        assert b.post("/v1/sessions").status_code == 201

        redis_server.stop()
        for c in (a, b):
            r = c.post("/v1/sessions", json=SEED_PROGRAM)
            assert r.status_code == 503 and r.json()["type"] == "/problems/store-unavailable"
            assert c.get("/readyz").status_code == 503
            assert c.get("/healthz").status_code == 200
            assert c.post("/v1/evaluate", json=SEED_PROGRAM).status_code == 200
        redis_server.start()
        for c in (a, b):
            assert c.get("/readyz").status_code == 200
            sid = c.post("/v1/sessions", json=SEED_PROGRAM).json()["id"]
            assert (a if c is b else b).post(f"/v1/sessions/{sid}/backward",
                                             json={"output": "out"}).status_code == 409  # freed, as it should be
