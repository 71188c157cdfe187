"""Snapshots: a session downloaded as a safetensors file and restored, in both stores; hostile files refused."""

from __future__ import annotations

import contextlib
import json
import struct
from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest
from safetensors.numpy import load as safetensors_load

from app.main import create_app
from app.settings import Settings

pytestmark = pytest.mark.anyio

OCTETS = {"content-type": "application/octet-stream"}
FIRST = {"inputs": {"x": {"data": [[1.0, 2.0], [3.0, 4.0]], "requires_grad": True},
                    "w": {"data": [[0.5, -1.0], [2.0, 0.25]], "dtype": "float64", "requires_grad": True}},
         "ops": [{"name": "y", "expr": "exp(x) * 2", "retain_grad": True},
                 {"name": "m", "expr": "mean(y)"},
                 {"name": "t", "expr": "sum(tanh(w @ transpose(w)))"},
                 {"name": "c", "expr": "sum(w ** 3)"}],
         "backward": [{"output": "m"}]}  # frees m's graph: a later backward through it is a 409

CONTINUE = [
    ("/backward", {"output": "m"}),
    ("/grad", {"outputs": "c", "inputs": "w", "create_graph": True, "bind": ["gw"]}),
    ("/run", {"ops": [{"name": "h", "expr": "sum(gw * gw)"}], "backward": [{"output": "h"}], "encoding": "base64"}),
    ("/backward", {"output": "t", "retain_graph": True, "encoding": "base64"}),
    ("/run", {"ops": [{"name": "z", "expr": "y * x"}], "backward": [{"output": "z", "gradient": [[1, 1], [1, 1]]}],
              "encoding": "base64"}),
]


@contextlib.asynccontextmanager
async def client_for(store: str, url: str | None, **settings) -> AsyncIterator[httpx.AsyncClient]:
    extra = {"SESSION_STORE": "redis", "REDIS_URL": url} if store == "redis" else {}
    app = create_app(Settings(**extra, **settings))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gradserve.test") as c:
            yield c


@pytest.fixture(params=["memory", "redis"])
async def http(request) -> AsyncIterator[httpx.AsyncClient]:
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        async with client_for("redis", server.url) as c:
            yield c
    else:
        async with client_for("memory", None) as c:
            yield c


async def answers(http: httpx.AsyncClient, sid: str) -> list:
    out = []
    for path, body in CONTINUE:
        r = await http.post(f"/v1/sessions/{sid}{path}", json=body)
        out.append((r.status_code, {k: v for k, v in r.json().items() if k != "request_id"}))
    r = await http.get(f"/v1/sessions/{sid}?data=true&encoding=base64")
    out.append({k: v for k, v in r.json().items() if k not in ("id", "created_at", "expires_at")})
    out.append((await http.get(f"/v1/sessions/{sid}/graph")).json())
    return out


async def test_a_restored_session_continues_bit_identically(http):
    sid = (await http.post("/v1/sessions", json=FIRST)).json()["id"]
    r = await http.get(f"/v1/sessions/{sid}/snapshot")
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    assert "attachment" in r.headers["content-disposition"]
    snapshot = r.content
    r = await http.post("/v1/sessions/restore", content=snapshot, headers=OCTETS)
    assert r.status_code == 201, r.text
    copy = r.json()["id"]
    assert r.headers["location"] == f"/v1/sessions/{copy}" and copy != sid
    assert r.json()["variables"]["y"]["grad_fn"] == "MulBackward0" and "data" not in r.json()["variables"]["y"]
    original, restored = await answers(http, sid), await answers(http, copy)
    assert original[0][0] == 409 and original[0][1]["type"] == "/problems/graph-freed"  # freed stays freed
    assert restored == original


async def test_the_snapshot_is_a_safetensors_file_with_every_array_and_the_graph(http):
    sid = (await http.post("/v1/sessions", json=FIRST)).json()["id"]
    snapshot = (await http.get(f"/v1/sessions/{sid}/snapshot")).content
    arrays = safetensors_load(snapshot)
    (n,) = struct.unpack_from("<Q", snapshot)
    manifest = json.loads(json.loads(snapshot[8:8 + n])["__metadata__"]["gradserve"])
    x = manifest["arrays"][manifest["tensors"][manifest["bindings"]["x"]][0]]
    assert np.array_equal(arrays[x[0]], np.array([[1, 2], [3, 4]], np.float32))
    grad = manifest["arrays"][manifest["tensors"][manifest["bindings"]["x"]][1]]
    assert np.allclose(arrays[grad[0]], np.exp([[1, 2], [3, 4]]) / 2)
    assert {node["op"] for node in manifest["nodes"]} >= {"exp", "mul", "mean", "matmul", "tanh", "pow"}
    assert any(node["retained"] is not None for node in manifest["nodes"])
    saved = [node["out"] for node in manifest["nodes"] if node["op"] == "tanh"]
    assert saved and saved[0] is not None  # saved buffers travel too


def hostile_from(snapshot: bytes, edit) -> bytes:
    (n,) = struct.unpack_from("<Q", snapshot)
    header = json.loads(snapshot[8:8 + n])
    manifest = json.loads(header["__metadata__"]["gradserve"])
    edit(header, manifest)
    header["__metadata__"]["gradserve"] = json.dumps(manifest)
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + snapshot[8 + n:]


def first_blob(header) -> str:
    return next(k for k in header if k != "__metadata__")


@pytest.mark.parametrize("make, status", [
    (lambda s: b"", 422),
    (lambda s: b"\x00" * 7, 422),
    (lambda s: b"not a snapshot at all, just text", 422),
    (lambda s: struct.pack("<Q", 1 << 60) + s[8:], 422),  # a header length past the end
    (lambda s: s[: len(s) // 2], 422),  # truncated
    (lambda s: s[:8] + b"[" + s[9:], 422),
    (lambda s: hostile_from(s, lambda h, m: m["nodes"][0].update(op="system")), 422),
    (lambda s: hostile_from(s, lambda h, m: h[first_blob(h)].update(dtype="F8_E4M3")), 422),
    (lambda s: hostile_from(s, lambda h, m: (m["blobs"][first_blob(h)].update(dtype="object"))), 422),
    (lambda s: hostile_from(s, lambda h, m: (h[first_blob(h)].update(shape=[1 << 31, 1 << 31]),
                                             m["blobs"][first_blob(h)].update(shape=[1 << 31, 1 << 31]))), 413),
    (lambda s: hostile_from(s, lambda h, m: (h[first_blob(h)].update(shape=[4000, 4000]),
                                             m["blobs"][first_blob(h)].update(shape=[4000, 4000]))), 413),
    (lambda s: hostile_from(s, lambda h, m: h[first_blob(h)].update(data_offsets=[0, 1 << 40])), 422),
    (lambda s: s.replace(b'"gradserve"', b'"something"', 1), 422),  # a safetensors file, not a session
    (lambda s: hostile_from(s, lambda h, m: m["tensors"].append([0, None, True, 10 ** 6])), 422),
])
async def test_hostile_snapshots_are_refused_before_allocation(make, status, problem):
    async with client_for("memory", None, MAX_TENSOR_ELEMENTS=1_000_000, MAX_SESSION_BYTES=8_000_000) as http:
        sid = (await http.post("/v1/sessions", json=FIRST)).json()["id"]
        snapshot = (await http.get(f"/v1/sessions/{sid}/snapshot")).content
        r = await http.post("/v1/sessions/restore", content=make(snapshot), headers=OCTETS)
        problem(r, status, "invalid-snapshot" if status == 422 else "limit-exceeded")
        r = await http.post("/v1/sessions/restore", content=snapshot, headers=OCTETS)
        assert r.status_code == 201  # the server is none the worse


async def test_restore_takes_only_octet_streams_within_the_body_limit(problem):
    async with client_for("memory", None, MAX_BODY_BYTES=64) as http:
        problem(await http.post("/v1/sessions/restore", json={"not": "a file"}), 415, "unsupported-media-type")
        problem(await http.post("/v1/sessions/restore", content=b"\x00" * 100, headers=OCTETS), 413,
                "limit-exceeded")


async def test_a_snapshot_moves_a_session_between_stores(redis_server):
    async with client_for("memory", None) as memory, client_for("redis", redis_server.url) as shared:
        sid = (await memory.post("/v1/sessions", json=FIRST)).json()["id"]
        snapshot = (await memory.get(f"/v1/sessions/{sid}/snapshot")).content
        copy = (await shared.post("/v1/sessions/restore", content=snapshot, headers=OCTETS)).json()["id"]
        assert await answers(shared, copy) == await answers(memory, sid)
