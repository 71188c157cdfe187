"""Service benchmarks against their anchors, measured against a real server in one run.

    .venv/bin/python bench/service.py [--quick]

Starts `uvicorn app.main:app` (one worker, on a free loopback port), waits for /healthz, measures with one
keep-alive httpx client, prints a markdown table and always stops the server. Cases:

1. The seed program through POST /v1/evaluate, against GET /healthz on the same server: at most 2x, as the
   client sees it (bodies pre-encoded) and timed inside the server (means of /metrics). Beside them the same
   two requests through the app called in this process (medians, no sockets).
2. A 1M-element float32 tensor sent and returned (y = x * 1), nested JSON lists against base64, client-side
   encoding and decoding included (tolist + json.dumps, json.loads + np.asarray; base64 of tobytes,
   b64decode + frombuffer): base64 at least 5x faster. Request-only and response-only splits beside it.
3. Repeated POST /v1/sessions/{id}/backward (retain_graph) on a session holding a 256x256 program of 20 ops,
   against POST /v1/evaluate of the same program with its backward; beside them the same backward request on
   a session whose graph costs nothing (out = sum(x): the same request and 256x256 grad in the response), and
   the engine's own forward (Namespace.run) and backward (Namespace.backward) in this process. Met when the
   backward request costs at most the trivial one plus the engine's backward and half a forward: no forward
   rerun hides in it.
4. A training step in one POST /v1/sessions/{id}/run (zero_grad, a two-layer network's forward, backward,
   an Adam step on its four params) against the same /run without the step, on two sessions holding the same
   params: at most 1.2x.

Times are medians of samples taken round-robin (each case once per round, so noise hits all alike), after
warm-up rounds, with the client's garbage collector paused inside a sample. Not pass/fail: exit code 0.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gc
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.program import Namespace  # noqa: E402
from engine.structure import Program  # noqa: E402

SEED_PROGRAM = {
    "inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}},
    "ops": [{"name": "y", "op": "add", "args": ["x", 2]},
            {"name": "z", "op": "mul", "args": ["y", "y"]},
            {"name": "z", "op": "mul", "args": ["z", 3]},
            {"name": "out", "expr": "mean(z)"}],
    "backward": [{"output": "out"}],
}
TRANSPORT_ELEMENTS = 1_000_000
JSON_HEADERS = {"content-type": "application/json"}
METRIC = re.compile(r'gradserve_request_duration_seconds_(?P<what>sum|count)\{method="\w+",route="(?P<route>[^"]+)"\} '
                    r"(?P<value>\S+)")

# 20 ops on 256x256 float32, four of them matmuls, down to a scalar
CHAIN_OPS = [
    {"name": "h", "op": "matmul", "args": ["x", "w"]},
    {"name": "h", "op": "tanh", "args": ["h"]},
    {"name": "h", "op": "mul", "args": ["h", 0.5]},
    {"name": "h", "op": "add", "args": ["h", "x"]},
    {"name": "h", "op": "matmul", "args": ["h", "w"]},
    {"name": "h", "op": "sigmoid", "args": ["h"]},
    {"name": "g", "op": "exp", "args": ["h"]},
    {"name": "h", "op": "mul", "args": ["h", "g"]},
    {"name": "h", "op": "sub", "args": ["h", 1.0]},
    {"name": "h", "op": "matmul", "args": ["w", "h"]},
    {"name": "h", "op": "relu", "args": ["h"]},
    {"name": "h", "op": "square", "args": ["h"]},
    {"name": "h", "op": "add", "args": ["h", "x"]},
    {"name": "h", "op": "softplus", "args": ["h"]},
    {"name": "h", "op": "matmul", "args": ["h", "w"]},
    {"name": "h", "op": "tanh", "args": ["h"]},
    {"name": "h", "op": "div", "args": ["h", 3.0]},
    {"name": "h", "op": "sin", "args": ["h"]},
    {"name": "h", "op": "mul", "args": ["h", "h"]},
    {"name": "out", "op": "mean", "args": ["h"]},
]


# ---------------------------------------------------------------------------- timing

def measure(samplers: dict[str, Callable[[], object]], rounds: int, warmup: int) -> dict[str, float]:
    """Median seconds per case; each sampler runs once per round."""
    times: dict[str, list[float]] = {name: [] for name in samplers}
    for r in range(warmup + rounds):
        gc.collect()  # outside the clock: no sample pays for an earlier round's garbage
        for name, sample in samplers.items():
            gc.disable()
            try:
                t0 = time.perf_counter()
                sample()
                elapsed = time.perf_counter() - t0
            finally:
                gc.enable()
            if r >= warmup:
                times[name].append(elapsed)
    return {name: statistics.median(ts) for name, ts in times.items()}


# ---------------------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(env: dict[str, str] | None = None) -> Iterator[str]:
    """A real uvicorn process serving app.main:app (in `env`, else this environment); its base URL while the
    block runs, stopped after."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1", "--log-level", "warning"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with code {proc.returncode} before it answered")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer /healthz within 60 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def post(client: httpx.Client, path: str, body: bytes, status: int = 200) -> httpx.Response:
    response = client.post(path, content=body, headers=JSON_HEADERS)
    if response.status_code != status:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
    return response


# ---------------------------------------------------------------------------- 1. seed program

def server_seconds(client: httpx.Client) -> dict[str, tuple[float, int]]:
    """Total seconds and count of requests by route, as the server's own /metrics timed them."""
    found: dict[str, list] = {}
    for m in METRIC.finditer(client.get("/metrics").text):
        found.setdefault(m["route"], [0.0, 0])[m["what"] == "count"] = float(m["value"])
    return {route: (total, int(count)) for route, (total, count) in found.items()}


def seed_case(client: httpx.Client, rounds: int, warmup: int) -> dict[str, float]:
    body = json.dumps(SEED_PROGRAM).encode()
    got = post(client, "/v1/evaluate", body).json()["variables"]
    assert got["x"]["grad"] == [[4.5, 4.5], [4.5, 4.5]], got

    def healthz() -> bytes:
        return client.get("/healthz").content

    def evaluate() -> bytes:
        return post(client, "/v1/evaluate", body).content

    before = server_seconds(client)
    times = measure({"healthz": healthz, "evaluate": evaluate}, rounds, warmup)
    after = server_seconds(client)
    # the server's view: from the app's first middleware to the last byte handed to uvicorn (means, not medians)
    for name, route in (("healthz", "/healthz"), ("evaluate", "/v1/evaluate")):
        total, count = after[route]
        total0, count0 = before.get(route, (0.0, 0))
        times[f"server {name}"] = (total - total0) / (count - count0)
    return times


def in_process_case(rounds: int, warmup: int) -> dict[str, float]:
    """The seed program and /healthz through the app called directly as an ASGI callable in this process:
    every middleware, FastAPI's routing and the route, without sockets or HTTP parsing. Medians, so a
    busy machine's outliers (which the server's means of case 1 keep) do not decide the ratio."""
    import asyncio

    from app.main import create_app

    app = create_app()
    body = json.dumps(SEED_PROGRAM).encode()

    async def call(method: str, path: str, payload: bytes = b"") -> int:
        headers = [(b"host", b"bench")]
        if payload:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "path": path, "raw_path": path.encode(), "query_string": b"", "headers": headers,
                 "scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "root_path": ""}
        messages = [{"type": "http.request", "body": payload, "more_body": False}]
        status = 0

        async def receive() -> dict:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            nonlocal status
            status = message.get("status", status)

        await app(scope, receive, send)
        return status

    async def run() -> dict[str, float]:
        async with app.router.lifespan_context(app):
            assert await call("POST", "/v1/evaluate", body) == 200
            samplers = {"healthz": lambda: call("GET", "/healthz"),
                        "evaluate": lambda: call("POST", "/v1/evaluate", body)}
            times: dict[str, list[float]] = {name: [] for name in samplers}
            for r in range(warmup + rounds):
                for name, sample in samplers.items():
                    gc.disable()
                    try:
                        t0 = time.perf_counter()
                        await sample()
                        elapsed = time.perf_counter() - t0
                    finally:
                        gc.enable()
                    if r >= warmup:
                        times[name].append(elapsed)
            return {f"app {name}": statistics.median(ts) for name, ts in times.items()}

    return asyncio.run(run())


# ---------------------------------------------------------------------------- 2. tensor transport

def json_tensor(x: np.ndarray) -> dict:
    return {"data": x.tolist(), "dtype": x.dtype.name}


def b64_tensor(x: np.ndarray) -> dict:
    return {"b64": base64.b64encode(x.tobytes()).decode(), "dtype": x.dtype.name, "shape": list(x.shape)}


def from_json(variable: dict) -> np.ndarray:
    return np.asarray(variable["data"], dtype=variable["dtype"])


def from_b64(variable: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(variable["data"]["b64"]), variable["dtype"]).reshape(variable["shape"])


def transport_case(client: httpx.Client, rounds: int, warmup: int) -> dict[str, float]:
    x = np.random.default_rng(0).standard_normal(TRANSPORT_ELEMENTS, dtype=np.float32)
    to_wire = {"json": json_tensor, "base64": b64_tensor}
    from_wire = {"json": from_json, "base64": from_b64}

    def round_trip(encoding: str) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            program = {"inputs": {"x": to_wire[encoding](x)}, "ops": [{"name": "y", "op": "mul", "args": ["x", 1]}],
                       "return": ["y"], "encoding": encoding}
            response = post(client, "/v1/evaluate", json.dumps(program).encode())
            return from_wire[encoding](json.loads(response.content)["variables"]["y"])
        return run

    def request_only(encoding: str) -> Callable[[], object]:
        def run() -> object:
            program = {"inputs": {"x": to_wire[encoding](x)}, "ops": [], "return": []}
            return json.loads(post(client, "/v1/evaluate", json.dumps(program).encode()).content)
        return run

    # the response-only split reads x back from a session that holds it
    made = post(client, "/v1/sessions", json.dumps({"inputs": {"x": b64_tensor(x)}, "return": []}).encode(), 201)
    sid = made.json()["id"]

    def response_only(encoding: str) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            response = client.get(f"/v1/sessions/{sid}/variables/x", params={"encoding": encoding})
            return from_wire[encoding](json.loads(response.content))
        return run

    for encoding in ("json", "base64"):
        for check in (round_trip(encoding), response_only(encoding)):
            assert np.array_equal(check(), x), encoding
    try:
        return measure({f"{what} {enc}": make(enc) for what, make in
                        (("round trip", round_trip), ("request", request_only), ("response", response_only))
                        for enc in ("json", "base64")}, rounds, warmup)
    finally:
        client.delete(f"/v1/sessions/{sid}")


# ---------------------------------------------------------------------------- 3. repeated backward

def chain_inputs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((256, 256), dtype=np.float32) * np.float32(0.1)
    w = rng.standard_normal((256, 256), dtype=np.float32) * np.float32(1 / 16)
    return x, w


def backward_case(client: httpx.Client, rounds: int, warmup: int) -> dict[str, float]:
    x, w = chain_inputs()
    inputs = {"x": {**b64_tensor(x), "requires_grad": True}, "w": b64_tensor(w)}
    made = post(client, "/v1/sessions", json.dumps({"inputs": inputs, "ops": CHAIN_OPS, "return": []}).encode(),
                201)
    sid = made.json()["id"]
    # the same request and the same 256x256 grad in the response, through a graph that costs nothing: what a
    # backward request costs besides the backward pass (HTTP, the session, encoding the grad)
    trivial = {"inputs": {"x": inputs["x"]}, "ops": [{"name": "out", "op": "sum", "args": ["x"]}], "return": []}
    tid = post(client, "/v1/sessions", json.dumps(trivial).encode(), 201).json()["id"]
    backward_body = json.dumps({"output": "out", "retain_graph": True, "return": ["x"],
                                "encoding": "base64"}).encode()
    evaluate_body = json.dumps({"inputs": inputs, "ops": CHAIN_OPS, "backward": [{"output": "out"}],
                                "return": ["x"], "encoding": "base64"}).encode()
    one = from_b64(post(client, "/v1/evaluate", evaluate_body).json()["variables"]["x"])
    first = from_b64(post(client, f"/v1/sessions/{sid}/backward", backward_body).json()["variables"]["x"])
    assert np.allclose(one, first, rtol=1e-4, atol=1e-7)

    # the engine alone, in this process: forward without backward, and one retained backward
    document = Program.from_dict({"inputs": {"x": {"data": x, "requires_grad": True}, "w": {"data": w}},
                                  "ops": CHAIN_OPS, "return": []})
    held = Namespace()
    held.run(document)

    requests = {
        "trivial backward request": lambda: post(client, f"/v1/sessions/{tid}/backward", backward_body).content,
        "backward request": lambda: post(client, f"/v1/sessions/{sid}/backward", backward_body).content,
        "evaluate request": lambda: post(client, "/v1/evaluate", evaluate_body).content,
    }
    try:
        times = measure(requests, rounds, warmup)
    finally:
        client.delete(f"/v1/sessions/{sid}")
        client.delete(f"/v1/sessions/{tid}")
    # apart from the requests: BLAS threads spin a while after a matmul, and on a small machine the client's
    # would steal the server's cores (and the server's the client's)
    time.sleep(0.5)
    engine = {"engine forward": lambda: Namespace().run(document),
              "engine backward": lambda: held.backward("out", retain_graph=True)}
    return times | measure(engine, rounds, warmup)


# ---------------------------------------------------------------------------- 4. training step

TRAIN_OPS = [{"name": "h", "expr": "tanh(x @ W1 + b1)"}, {"name": "loss", "expr": "mse_loss(h @ W2 + b2, y)"}]


def training_case(client: httpx.Client, rounds: int, warmup: int) -> dict[str, float]:
    rng = np.random.default_rng(2)
    params = {"W1": rng.standard_normal((32, 64)) * 0.2, "b1": np.zeros(64), "W2": rng.standard_normal((64, 1)) * 0.2,
              "b2": np.zeros(1)}
    data = {"x": rng.standard_normal((128, 32)), "y": rng.standard_normal((128, 1))}
    inputs = {**{k: {**b64_tensor(v.astype(np.float32)), "requires_grad": True} for k, v in params.items()},
              **{k: b64_tensor(v.astype(np.float32)) for k, v in data.items()}}
    sessions = {}
    for case in ("with step", "without step"):
        sid = post(client, "/v1/sessions", json.dumps({"inputs": inputs, "return": []}).encode(), 201).json()["id"]
        sessions[case] = sid
    post(client, f"/v1/sessions/{sessions['with step']}/optimizers",
         json.dumps({"name": "adam", "type": "adam", "params": list(params), "lr": 1e-3}).encode(), 201)
    program = {"zero_grad": True, "ops": TRAIN_OPS, "backward": [{"output": "loss"}], "return": ["loss"]}
    bodies = {"with step": json.dumps({**program, "step": ["adam"]}).encode(),
              "without step": json.dumps(program).encode()}
    try:
        return measure({f"training {case}": lambda c=case: post(client, f"/v1/sessions/{sessions[c]}/run",
                                                                 bodies[c]).content
                        for case in sessions}, rounds, warmup)
    finally:
        for sid in sessions.values():
            client.delete(f"/v1/sessions/{sid}")


# ---------------------------------------------------------------------------- report

def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 0.01 else f"{seconds * 1e3:.1f} ms"


def table(seed: dict, transport: dict, back: dict, train: dict) -> str:
    rows = ["| case | gradserve | anchor | ratio | target | met? |", "|---|---|---|---|---|---|"]

    def row(case: str, ours: str, anchor: str, ratio: str, target: str, met: bool | None) -> None:
        rows.append(f"| {case} | {ours} | {anchor} | {ratio} | {target} | "
                    f"{'' if met is None else 'yes' if met else 'NO'} |")

    r = seed["evaluate"] / seed["healthz"]
    row("seed program, POST /v1/evaluate vs GET /healthz", ms(seed["evaluate"]), ms(seed["healthz"]),
        f"{r:.2f}x", "<= 2x", r <= 2)
    r = seed["server evaluate"] / seed["server healthz"]
    row("(the same, timed inside the server: mean of /metrics)", ms(seed["server evaluate"]),
        ms(seed["server healthz"]), f"{r:.2f}x", "<= 2x", r <= 2)
    r = seed["app evaluate"] / seed["app healthz"]
    row("(the same, the app called in-process: medians)", ms(seed["app evaluate"]), ms(seed["app healthz"]),
        f"{r:.2f}x", "(split)", None)
    for what, target in (("round trip", ">= 5x"), ("request", ""), ("response", "")):
        r = transport[f"{what} json"] / transport[f"{what} base64"]
        row(f"1M float32 {what}, base64 vs nested JSON lists", ms(transport[f"{what} base64"]),
            ms(transport[f"{what} json"]), f"{r:.1f}x faster", target or "(split)", r >= 5 if target else None)
    r = back["backward request"] / back["evaluate request"]
    excess = back["backward request"] - back["trivial backward request"]
    met = excess <= back["engine backward"] + back["engine forward"] / 2
    row("repeated backward on a session vs evaluate of the same program", ms(back["backward request"]),
        ms(back["evaluate request"]), f"{r:.2f}x", "backward pass only", met)
    row("(that backward request minus the same on a trivial graph, vs engine backward)", ms(excess),
        ms(back["engine backward"]), f"{excess / back['engine backward']:.2f}x",
        f"<= bwd + fwd/2 = {ms(back['engine backward'] + back['engine forward'] / 2)}", None)
    row("(engine forward; backward request on a trivial graph)", ms(back["engine forward"]),
        ms(back["trivial backward request"]), "", "(split)", None)
    r = train["training with step"] / train["training without step"]
    row("training step in one /run (Adam, 2-layer net) vs the same /run without step",
        ms(train["training with step"]), ms(train["training without step"]), f"{r:.2f}x", "<= 1.2x", r <= 1.2)
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke run")
    args = parser.parse_args(argv)
    small, big, mid = ((300, 50), (3, 1), (40, 5)) if args.quick else ((3000, 300), (11, 2), (200, 20))
    with server() as base, httpx.Client(base_url=base, timeout=120) as client:
        seed = seed_case(client, *small)
        transport = transport_case(client, *big)
        back = backward_case(client, *mid)
        train = training_case(client, *small)
    seed |= in_process_case(*small)
    print(table(seed, transport, back, train))
    print(f"\nmedians of round-robin samples; Python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"{os.cpu_count()} cpus")
    return 0


if __name__ == "__main__":
    sys.exit(main())
