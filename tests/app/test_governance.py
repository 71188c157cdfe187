"""Resource governance against a real `gradserve` process: memory admitted before it is taken (peaks read from
/proc), CPU bounded (op counts, deadlines, clients that hang up), an event loop that stays free, sessions that do
not starve each other, DELETE and TTL without races, slow clients, SIGTERM, and no 500 for hostile input.

Limits are set small through GRADSERVE_* so that every case is fast and light; thresholds are generous in time
and strict in what a user would notice (status codes, lost writes, unanswered requests).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def status(self, field: str) -> int:
        """A /proc/<pid>/status figure (VmHWM, VmRSS) in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def logged(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def gradserve(tmp_path: Path, nofile: int | None = None, **settings: object) -> Iterator[Server]:
    """`python -m app.cli` (the `gradserve` command) on a free port with these GRADSERVE_* settings."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "GRADSERVE_HOST": "127.0.0.1", "GRADSERVE_PORT": str(port),
           **{f"GRADSERVE_{k}": str(v) for k, v in settings.items()}}

    def limit_files() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    log = tmp_path / f"server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, preexec_fn=limit_files)
    server = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"gradserve exited with {proc.returncode}:\n{server.logged()}")
            try:
                if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("gradserve did not answer /healthz within 30 s")
            time.sleep(0.1)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def sins(n: int, size: int = 1_000_000) -> dict:
    """A program that costs about 2 ms per op on a 1M-element tensor: n of them keep a thread busy."""
    return {"inputs": {"s": 0.5},
            "ops": [{"name": "x", "op": "broadcast_to", "args": ["s"], "kwargs": {"shape": [size]}},
                    *[{"name": "x", "op": "sin", "args": ["x"]}] * n],
            "return": ["s"]}


def new_session(url: str, program: dict | None = None) -> str:
    r = httpx.post(f"{url}/v1/sessions", json=program or {"inputs": {"w": {"data": [1.0], "requires_grad": True}}},
                   timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def is_problem(r: httpx.Response, status: int, kind: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == f"/problems/{kind}", r.text


# ---------------------------------------------------------------------------- memory

PEAK_FACTOR = 3  # what docs/design.md guarantees: a hostile request adds at most 3x MAX_MEMORY_BYTES


def test_a_chain_of_big_results_is_refused_before_it_is_allocated(tmp_path):
    """broadcast_to a 4M-element float32, then 40 multiplications that each save a 16 MB buffer (640 MB in
    all): refused from shapes, with the process's peak a small factor of its limits."""
    limits = {"MAX_MEMORY_BYTES": 128 * MiB, "MAX_SESSION_BYTES": 32 * MiB, "MAX_TENSOR_ELEMENTS": 4 * MiB}
    with gradserve(tmp_path, **limits) as server:
        sid = new_session(server.url, {"inputs": {"s": {"data": 0.5, "requires_grad": True}}})
        base = server.status("VmHWM")
        program = {"ops": [{"name": "y", "op": "broadcast_to", "args": ["s"], "kwargs": {"shape": [4 * MiB]}},
                           *[{"name": "y", "op": "mul", "args": ["y", 1.0001]}] * 40]}
        with httpx.Client(timeout=60) as client:
            answers = [client.post(f"{server.url}/v1/sessions/{sid}/run", json=program) for _ in range(3)]
        for r in answers:
            is_problem(r, 413, "limit-exceeded")
        assert server.status("VmHWM") - base <= PEAK_FACTOR * limits["MAX_MEMORY_BYTES"]
        # nothing kept: the session is as it was
        r = httpx.get(f"{server.url}/v1/sessions/{sid}")
        assert set(r.json()["variables"]) == {"s"}


def test_a_big_json_body_is_admitted_by_its_parse_cost(tmp_path):
    """A 16 MB body of nested empty lists costs ~600 MB once parsed: refused with 503 before parsing, while a
    small request still passes; the process's peak stays a small factor of the budget."""
    with gradserve(tmp_path, MAX_MEMORY_BYTES=96 * MiB, MAX_BODY_BYTES=32 * MiB) as server:
        base = server.status("VmHWM")
        body = b'{"inputs": {"x": {"data": [' + b",".join([b"[[]]"] * (16 * MiB // 5)) + b"]}}}"
        r = httpx.post(f"{server.url}/v1/evaluate", content=body, headers={"content-type": "application/json"},
                       timeout=60)
        is_problem(r, 503, "memory-budget-full")
        assert int(r.headers["retry-after"]) >= 1
        assert server.status("VmHWM") - base <= PEAK_FACTOR * 96 * MiB
        ok = httpx.post(f"{server.url}/v1/evaluate", json={"ops": [{"name": "y", "expr": "2 * 3.0"}]})
        assert ok.status_code == 200 and ok.json()["variables"]["y"]["data"] == 6.0


def test_concurrent_bodies_share_the_process_budget(tmp_path):
    """Four 6 MB float bodies at once against a 160 MB budget: each needs ~10x its size to parse and decode,
    so some wait their turn (503 with Retry-After) and none takes the process past its budget's factor."""
    with gradserve(tmp_path, MAX_MEMORY_BYTES=160 * MiB) as server:
        base = server.status("VmHWM")
        body = json.dumps({"inputs": {"x": [0.25] * (6 * MiB // 6)}, "return": []}).encode()

        async def fire() -> list[int]:
            async with httpx.AsyncClient(timeout=60) as client:
                rs = await asyncio.gather(*[client.post(f"{server.url}/v1/evaluate", content=body,
                                                        headers={"content-type": "application/json"})
                                            for _ in range(4)])
            return [r.status_code for r in rs]

        statuses = asyncio.run(fire())
        assert set(statuses) <= {200, 503} and 200 in statuses and 503 in statuses, statuses
        assert server.status("VmHWM") - base <= PEAK_FACTOR * 160 * MiB


def test_graph_bookkeeping_counts_toward_the_session_limit(tmp_path):
    """40,000 scalar nodes hold ~20 MB of Python objects but only 160 KB of data: an 8 MB session refuses them."""
    with gradserve(tmp_path, MAX_SESSION_BYTES=8 * MiB, MAX_OPS=50_000) as server:
        sid = new_session(server.url, {"inputs": {"y": {"data": 1.0, "requires_grad": True}}})
        program = {"ops": [{"name": "y", "op": "mul", "args": ["y", 1.0001]}] * 40_000, "return": []}
        r = httpx.post(f"{server.url}/v1/sessions/{sid}/run", json=program, timeout=60)
        is_problem(r, 413, "limit-exceeded")
        small = {"ops": [{"name": "y", "op": "mul", "args": ["y", 1.0001]}] * 1_000, "return": []}
        assert httpx.post(f"{server.url}/v1/sessions/{sid}/run", json=small, timeout=60).status_code == 200


# ---------------------------------------------------------------------------- CPU

def test_backward_calls_count_toward_max_ops(tmp_path):
    with gradserve(tmp_path, MAX_OPS=100) as server:
        program = {"inputs": {"x": {"data": [1.0, 2.0], "requires_grad": True}},
                   "ops": [{"name": "y", "expr": "sum(x * x)"}],
                   "backward": [{"output": "y", "retain_graph": True}] * 200}
        r = httpx.post(f"{server.url}/v1/evaluate", json=program, timeout=30)
        is_problem(r, 413, "limit-exceeded")
        assert "backward and derivative calls included" in r.json()["detail"]


def test_an_over_long_program_is_refused_before_its_expressions_are_parsed(tmp_path):
    """1,000 expressions of 500 additions each (2 MB): the count passes MAX_OPS within the first few."""
    with gradserve(tmp_path, MAX_OPS=2_000) as server:
        ops = [{"name": f"y{i}", "expr": "+".join(["x"] * 500) + f" + {i}"} for i in range(1_000)]
        start = time.monotonic()
        r = httpx.post(f"{server.url}/v1/evaluate", json={"inputs": {"x": 1.0}, "ops": ops}, timeout=60)
        elapsed = time.monotonic() - start
        is_problem(r, 413, "limit-exceeded")
        assert elapsed < 3, f"took {elapsed:.1f} s to refuse"
        # and a program whose entries alone are too many is refused without parsing any
        r = httpx.post(f"{server.url}/v1/evaluate", json={"ops": [{"name": "y", "expr": "1"}] * 2_001})
        is_problem(r, 413, "limit-exceeded")


def test_a_request_past_its_deadline_answers_504_and_keeps_nothing(tmp_path):
    with gradserve(tmp_path, REQUEST_TIMEOUT_SECONDS=1) as server:
        sid = new_session(server.url)
        start = time.monotonic()
        r = httpx.post(f"{server.url}/v1/sessions/{sid}/run", json=sins(5_000), timeout=60)
        elapsed = time.monotonic() - start
        is_problem(r, 504, "deadline-exceeded")
        assert elapsed < 3.5, f"answered after {elapsed:.1f} s"
        variables = httpx.get(f"{server.url}/v1/sessions/{sid}").json()["variables"]
        assert set(variables) == {"w"}  # neither s nor x was kept


def test_work_stops_soon_after_its_client_hangs_up(tmp_path):
    with gradserve(tmp_path) as server:
        body = json.dumps(sins(5_000)).encode()  # ~10 s of work
        with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as s:
            s.sendall(b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            time.sleep(0.5)
        hung_up = server.cpu_seconds()
        time.sleep(1.5)
        settled = server.cpu_seconds()
        time.sleep(1.5)
        assert server.cpu_seconds() - settled < 0.3, "the server kept working for a client that hung up"
        assert settled - hung_up < 1.5
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        assert " 500" not in server.logged() and "Traceback" not in server.logged()


# ---------------------------------------------------------------------------- the event loop

def _healthz_stalls(url: str, during: threading.Event) -> list[float]:
    stalls: list[float] = []
    with httpx.Client(timeout=30) as client:
        while not during.is_set():
            start = time.monotonic()
            client.get(f"{url}/healthz")
            stalls.append(time.monotonic() - start)
            time.sleep(0.01)
    return stalls


def test_small_evaluate_bodies_do_not_hold_the_event_loop(tmp_path):
    """A 14 KB program of 64 ops on 16K elements plus 340 backward calls, eight at once: /healthz stays fast."""
    with gradserve(tmp_path, MAX_OPS=1_000) as server:
        ops = [{"name": "y", "op": "broadcast_to", "args": ["x"], "kwargs": {"shape": [128, 128]}},
               *[{"name": "y", "op": "tanh", "args": ["y"]}] * 62, {"name": "out", "op": "sum", "args": ["y"]}]
        program = {"inputs": {"x": {"data": 0.5, "requires_grad": True}}, "ops": ops,
                   "backward": [{"output": "out", "retain_graph": True}] * 340, "return": ["out"]}
        body = json.dumps(program, separators=(",", ":")).encode()
        assert len(body) < 16 * 1024
        done = threading.Event()
        stalls: list[float] = []
        watcher = threading.Thread(target=lambda: stalls.extend(_healthz_stalls(server.url, done)))
        watcher.start()
        time.sleep(0.2)

        async def fire() -> list[int]:
            async with httpx.AsyncClient(timeout=60) as client:
                rs = await asyncio.gather(*[client.post(f"{server.url}/v1/evaluate", content=body,
                                                        headers={"content-type": "application/json"})
                                            for _ in range(8)])
            return [r.status_code for r in rs]

        try:
            statuses = asyncio.run(fire())
        finally:
            done.set()
            watcher.join()
        assert statuses == [200] * 8
        assert max(stalls) < 0.25, f"/healthz stalled {max(stalls):.2f} s"


# ---------------------------------------------------------------------------- sessions: starvation and races

async def _busy(url: str, sid: str, n: int, program: dict, client: httpx.AsyncClient) -> list[httpx.Response]:
    return await asyncio.gather(*[client.post(f"{url}/v1/sessions/{sid}/run", json=program) for _ in range(n)])


def test_requests_queued_on_one_session_do_not_starve_another(tmp_path):
    with gradserve(tmp_path, SESSION_QUEUE_LENGTH=200) as server:
        a, b = new_session(server.url), new_session(server.url)

        async def scenario() -> tuple[float, list[int]]:
            limits = httpx.Limits(max_connections=200)
            async with httpx.AsyncClient(timeout=120, limits=limits) as client:
                queued = asyncio.ensure_future(_busy(server.url, a, 80, sins(25), client))
                await asyncio.sleep(1.0)
                start = time.monotonic()
                r = await client.get(f"{server.url}/v1/sessions/{b}")
                took = time.monotonic() - start
                assert r.status_code == 200
                return took, [x.status_code for x in await queued]

        took, statuses = asyncio.run(scenario())
        assert statuses == [200] * 80
        assert took < 1.0, f"a GET on another session took {took:.1f} s"


def test_a_session_queue_is_bounded(tmp_path):
    with gradserve(tmp_path, SESSION_QUEUE_LENGTH=4) as server:
        sid = new_session(server.url)

        async def scenario() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=50)) as client:
                return await _busy(server.url, sid, 20, sins(50), client)

        answers = asyncio.run(scenario())
        statuses = [r.status_code for r in answers]
        assert set(statuses) == {200, 429}, statuses
        busy = next(r for r in answers if r.status_code == 429)
        is_problem(busy, 429, "session-queue-full")
        assert int(busy.headers["retry-after"]) >= 1


def test_after_delete_answers_no_request_on_the_session_answers_200(tmp_path):
    with gradserve(tmp_path) as server:
        sid = new_session(server.url)

        async def scenario() -> tuple[float, list[tuple[float, int]]]:
            async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=50)) as client:
                async def run() -> tuple[float, int]:
                    r = await client.post(f"{server.url}/v1/sessions/{sid}/run", json=sins(100))
                    return time.monotonic(), r.status_code

                runs = [asyncio.ensure_future(run()) for _ in range(10)]
                await asyncio.sleep(0.5)
                r = await client.delete(f"{server.url}/v1/sessions/{sid}")
                deleted_at = time.monotonic()
                assert r.status_code == 204
                return deleted_at, list(await asyncio.gather(*runs))

        deleted_at, answers = asyncio.run(scenario())
        assert [status for at, status in answers if at > deleted_at and status == 200] == [], answers
        statuses = [status for _, status in answers]
        assert set(statuses) == {200, 404}, statuses  # the queued ones were refused, not run
        is_problem(httpx.get(f"{server.url}/v1/sessions/{sid}"), 404, "session-not-found")


def test_a_request_admitted_before_the_ttl_keeps_its_session(tmp_path):
    """Requests queued on session A (more than there are worker threads) make a write on session S wait longer
    than S's TTL: once answered, the write must still be there."""
    with gradserve(tmp_path, SESSION_TTL_SECONDS=1, SESSION_QUEUE_LENGTH=100) as server:
        a, s = new_session(server.url), new_session(server.url)

        async def scenario() -> tuple[httpx.Response, httpx.Response]:
            async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=100)) as client:
                busy = asyncio.ensure_future(_busy(server.url, a, 42, sins(300), client))
                await asyncio.sleep(0.5)
                write = await client.post(f"{server.url}/v1/sessions/{s}/run",
                                          json={"ops": [{"name": "kept", "expr": "w * 2"}]})
                read = await client.get(f"{server.url}/v1/sessions/{s}")
                busy.cancel()  # hanging up stops the rest of A's queue
                return write, read

        write, read = asyncio.run(scenario())
        assert write.status_code == 200, write.text
        assert read.status_code == 200 and "kept" in read.json()["variables"], "an answered write was lost"


# ---------------------------------------------------------------------------- HTTP

def test_idle_slow_connections_cannot_lock_out_other_clients(tmp_path):
    with gradserve(tmp_path, nofile=256, READ_TIMEOUT_SECONDS=2) as server:
        port = int(server.url.rsplit(":", 1)[1])
        idle = []
        try:
            for _ in range(300):  # more than the server's open-file limit
                s = socket.socket()
                s.settimeout(5)
                with contextlib.suppress(OSError):
                    s.connect(("127.0.0.1", port))
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the end of the head
                idle.append(s)
            time.sleep(0.2)
            r = httpx.get(f"{server.url}/healthz", timeout=5)
            assert r.status_code == 200
        finally:
            for s in idle:
                s.close()


def test_a_stalled_body_is_cut_off(tmp_path):
    with gradserve(tmp_path, READ_TIMEOUT_SECONDS=1) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 100\r\n\r\n{\"ops\": ")
            start = time.monotonic()
            answer = s.recv(4096)
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
            assert time.monotonic() - start < 5


def test_a_client_hanging_up_mid_upload_is_not_a_server_error(tmp_path):
    with gradserve(tmp_path) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000000\r\n\r\n" + b"[" * 1000)
            time.sleep(0.3)
        time.sleep(0.5)
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        log = server.logged()
        assert "Traceback" not in log and " 500" not in log, log[-2000:]


def test_sigterm_answers_every_request_it_received(tmp_path):
    with gradserve(tmp_path, SHUTDOWN_TIMEOUT_SECONDS=3, SESSION_QUEUE_LENGTH=100) as server:
        sid = new_session(server.url)
        answers: list[object] = []

        async def scenario() -> None:
            async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=50)) as client:
                async def one(i: int) -> object:
                    try:
                        if i % 2:
                            return (await client.post(f"{server.url}/v1/sessions/{sid}/run", json=sins(3_000))
                                    ).status_code
                        return (await client.post(f"{server.url}/v1/evaluate", json=sins(3_000))).status_code
                    except httpx.TransportError as e:
                        return e

                tasks = [asyncio.ensure_future(one(i)) for i in range(20)]
                await asyncio.sleep(1.0)
                server.proc.send_signal(signal.SIGTERM)
                answers.extend(await asyncio.gather(*tasks))

        start = time.monotonic()
        asyncio.run(scenario())
        server.proc.wait(timeout=20)
        assert time.monotonic() - start < 10
        assert all(isinstance(a, int) for a in answers), answers  # every request got an HTTP answer
        assert set(answers) <= {200, 503, 504}, answers


# ---------------------------------------------------------------------------- no 500 for any input

class Raw(str):
    """JSON text put into a body as it is (the client's encoder cannot write a list nested 1,000 deep)."""


def _body(value: object) -> bytes:
    if isinstance(value, Raw):
        return value.encode()
    if isinstance(value, dict):
        return b"{" + b",".join(json.dumps(k).encode() + b":" + _body(v) for k, v in value.items()) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(_body(v) for v in value) + b"]"
    return json.dumps(value).encode()


def _nested(depth: int) -> Raw:
    return Raw("[" * depth + "0" + "]" * depth)


HOSTILE = {
    "axis 1e30": (422, {"inputs": {"x": [1.0]}, "ops": [{"name": "y", "op": "sum", "args": ["x"],
                                                           "kwargs": {"axis": 1e30}}]}),
    "broadcast_to [0, 1e30]": (422, {"inputs": {"x": [1.0]}, "ops": [{"name": "y", "op": "broadcast_to",
                                                                       "args": ["x"],
                                                                       "kwargs": {"shape": [0, 1e30]}}]}),
    "kwargs 1,000 deep": (422, {"inputs": {"x": [1.0]}, "ops": [{"name": "y", "op": "sum", "args": ["x"],
                                                                 "kwargs": {"axis": _nested(1000)}}]}),
    "9,000-digit hex literal": (422, {"ops": [{"name": "y", "expr": "0x" + "f" * 9000}]}),
    "9 ** 9 ** 9": (422, {"ops": [{"name": "y", "expr": "9 ** 9 ** 9"}]}),
    "fullwidth names": (422, {"inputs": {"x": [1.0]}, "ops": [{"name": "y", "expr": "ｓｕｍ(ｘ)"}]}),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_programs_get_a_clear_4xx(governed_server, case):
    status, program = HOSTILE[case]
    r = httpx.post(f"{governed_server.url}/v1/evaluate", content=_body(program),
                   headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if case == "fullwidth names":
        assert "U+FF53" in r.json()["detail"]
    if case == "9 ** 9 ** 9":
        assert "overflows int64" in r.json()["detail"]
    assert "Recursion" not in r.text


def test_a_number_too_large_for_a_double_is_422_not_400(governed_server):
    body = b'{"inputs": {"x": [' + str(10 ** 400).encode() + b"]}}"
    r = httpx.post(f"{governed_server.url}/v1/evaluate", content=body, headers={"content-type": "application/json"})
    is_problem(r, 422, "validation-error")
    assert "too large" in r.json()["detail"]


def test_a_compressed_body_is_415(governed_server):
    import gzip

    body = gzip.compress(json.dumps({"ops": [{"name": "y", "expr": "1.0"}]}).encode())
    r = httpx.post(f"{governed_server.url}/v1/evaluate", content=body,
                   headers={"content-type": "application/json", "content-encoding": "gzip"})
    is_problem(r, 415, "unsupported-media-type")
    assert "gzip" in r.json()["detail"]


@pytest.fixture(scope="module")
def governed_server(tmp_path_factory) -> Iterator[Server]:
    with gradserve(tmp_path_factory.mktemp("governed")) as server:
        yield server
    assert "Traceback" not in server.logged()


# ---------------------------------------------------------------------------- the pool's accounting

@pytest.mark.anyio
async def test_the_memory_pool_returns_to_what_sessions_hold(make_client):
    """Every byte a request reserves comes back when it ends; what a session keeps comes back when it goes."""
    async with make_client(MAX_SESSION_BYTES=64 * MiB) as c:
        pool = c.app.state.pool
        program = {"inputs": {"x": {"data": [[1.0] * 256] * 256, "requires_grad": True}},
                   "ops": [{"name": "y", "expr": "sum(tanh(x) * x)"}]}
        assert (await c.post("/v1/evaluate", json={**program, "backward": [{"output": "y"}]})).status_code == 200
        assert pool.used == 0
        sid = (await c.post("/v1/sessions", json=program)).json()["id"]
        held = pool.used
        assert held >= 3 * 256 * 256 * 4  # x, tanh(x) and the product are kept (saved for backward)
        assert (await c.post(f"/v1/sessions/{sid}/backward", json={"output": "y"})).status_code == 200
        assert (await c.get(f"/v1/sessions/{sid}", params={"data": True})).status_code == 200
        assert pool.used >= held
        assert (await c.delete(f"/v1/sessions/{sid}")).status_code == 204
        assert pool.used == 0
