"""Limits: each is refused with 413 before the memory is taken, and leaves sessions unchanged."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

pytestmark = pytest.mark.anyio


async def test_body_over_the_limit_by_content_length(make_client, problem):
    async with make_client(MAX_BODY_BYTES=1000) as c:
        body = json.dumps({"inputs": {"x": [0.5] * 400}}).encode()
        assert len(body) > 1000
        detail = problem(await c.post("/v1/evaluate", content=body, headers={"content-type": "application/json"}),
                         413, "limit-exceeded")["detail"]
        assert "1000 bytes" in detail
        assert (await c.post("/v1/evaluate", json={"inputs": {"x": [0.5] * 10}})).status_code == 200


async def test_body_over_the_limit_while_streaming(make_client, problem):
    async def chunks():
        for _ in range(50):
            yield b" " * 100  # no Content-Length: the body is counted as it arrives

    async with make_client(MAX_BODY_BYTES=1000) as c:
        problem(await c.post("/v1/evaluate", content=chunks(), headers={"content-type": "application/json"}),
                413, "limit-exceeded")


async def test_tensor_elements_in_inputs_lists_and_base64(make_client, problem):
    async with make_client(MAX_TENSOR_ELEMENTS=100) as c:
        body = problem(await c.post("/v1/evaluate", json={"inputs": {"x": [[0.0] * 11] * 10}}), 413, "limit-exceeded")
        assert body["name"] == "x" and body["errors"][0]["pointer"] == "/inputs/x"
        big = {"b64": base64.b64encode(np.zeros(8, np.float32).tobytes()).decode(), "shape": [1000, 1000]}
        problem(await c.post("/v1/evaluate", json={"inputs": {"x": big}}), 413, "limit-exceeded")
        const = {"ops": [{"name": "y", "op": "neg", "args": [[1.0] * 101]}]}
        body = problem(await c.post("/v1/evaluate", json=const), 413, "limit-exceeded")
        assert body["errors"][0]["pointer"] == "/ops/0/args/0"


async def test_broadcast_to_a_huge_shape_is_refused_from_shapes_alone(client, problem):
    # 10^12 float32 would be 4 TB: the refusal must come before any allocation
    program = {"inputs": {"x": [1.0]}, "ops": [{"name": "y", "op": "broadcast_to", "args": ["x"],
                                                 "kwargs": {"shape": [1000000, 1000000]}}]}
    body = problem(await client.post("/v1/evaluate", json=program), 413, "limit-exceeded")
    assert body["op_index"] == 0 and "16777216" in body["detail"]
    outer = {"inputs": {"a": {"data": [0.0], "shape": [1]}},
             "ops": [{"name": "a", "op": "broadcast_to", "args": ["a"], "kwargs": {"shape": [100000]}},
                     {"name": "o", "op": "outer", "args": ["a", "a"]}]}
    problem(await client.post("/v1/evaluate", json=outer), 413, "limit-exceeded")


async def test_ops_per_request(make_client, problem):
    async with make_client(MAX_OPS=5) as c:
        ops = [{"name": "y", "op": "neg", "args": ["x"]}] * 6
        body = problem(await c.post("/v1/evaluate", json={"inputs": {"x": 1.0}, "ops": ops}), 413, "limit-exceeded")
        assert "5" in body["detail"]
        # an expr counts every op it applies
        problem(await c.post("/v1/evaluate", json={"inputs": {"x": 1.0},
                                                    "ops": [{"name": "y", "expr": "-(-(-(-(-(-x)))))"}]}),
                413, "limit-exceeded")
        assert (await c.post("/v1/evaluate", json={"inputs": {"x": 1.0}, "ops": ops[:5]})).status_code == 200


async def test_session_bytes(make_client, problem):
    async with make_client(MAX_SESSION_BYTES=4096) as c:
        sid = (await c.post("/v1/sessions", json={"inputs": {"x": [0.0] * 100}})).json()["id"]
        before = (await c.get(f"/v1/sessions/{sid}")).json()["variables"]
        body = problem(await c.post(f"/v1/sessions/{sid}/run", json={"inputs": {"w": [0.0] * 1000}}), 413,
                       "limit-exceeded")
        assert "4096" in body["detail"]
        assert (await c.get(f"/v1/sessions/{sid}")).json()["variables"] == before


async def test_session_count(make_client, problem):
    async with make_client(MAX_SESSIONS=2) as c:
        first = (await c.post("/v1/sessions")).json()["id"]
        await c.post("/v1/sessions")
        body = problem(await c.post("/v1/sessions"), 413, "limit-exceeded")
        assert "GRADSERVE_MAX_SESSIONS" in body["detail"]
        await c.delete(f"/v1/sessions/{first}")
        assert (await c.post("/v1/sessions")).status_code == 201
