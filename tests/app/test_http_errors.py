"""Every error is application/problem+json with a stable type, a title, the status and an actionable detail."""

from __future__ import annotations

import pytest

from app.errors import Problem
from app.main import create_app
from app.sessions import MemoryStore
from app.settings import Settings

pytestmark = pytest.mark.anyio


def run(ops, inputs=None, backward=None):
    return {"inputs": inputs or {"x": {"data": [[1, 2], [3, 4]], "requires_grad": True}}, "ops": ops,
            "backward": backward or []}


# ---------------------------------------------------------------------------- engine kinds

@pytest.mark.parametrize("program, kind, op_index, pointer, words", [
    (run([{"name": "y", "op": "frobnicate", "args": ["x"]}]), "invalid-op", 0, "/ops/0", "unknown op 'frobnicate'"),
    (run([{"name": "y", "op": "add", "args": ["x"]}]), "invalid-op", 0, "/ops/0", "takes 2 arguments"),
    (run([{"name": "y", "op": "sum", "args": ["x"], "kwargs": {"axes": 0}}]), "invalid-op", 0, "/ops/0",
     "unknown kwarg 'axes'"),
    (run([{"name": "y", "op": "add", "args": ["x", "w"]}]), "unknown-name", 0, "/ops/0/args/1", "unknown name 'w'"),
    (run([{"name": "y", "op": "add", "args": ["x", [1, 2, 3]]}]), "shape-mismatch", 0, "/ops/0", "(2, 2)"),
    (run([{"name": "y", "op": "matmul", "args": ["x", [[1, 2, 3]]]}]), "shape-mismatch", 0, "/ops/0", "(1, 3)"),
    (run([{"name": "y", "expr": "x +* 2"}]), "invalid-expr", 0, "/ops/0/expr", ""),
    (run([{"name": "y", "expr": "x.__class__"}]), "invalid-expr", 0, "/ops/0/expr", ""),
    (run([], inputs={"i": {"data": [1, 2], "dtype": "int64", "requires_grad": True}}), "invalid-dtype", None,
     "/inputs/i", "floating point"),
    (run([], inputs={"x": [[1, 2], [3]]}), "invalid-tensor", None, "/inputs/x/1", "ragged"),
    (run([], inputs={"x": {"data": [1], "dtype": "complex64"}}), "invalid-dtype", None, "/inputs/x/dtype",
     "complex64"),
    (run([{"name": "y", "expr": "x * 2"}], backward=[{"output": "y"}]), "invalid-backward", None, "/backward/0",
     "grad can be implicitly created only for scalar outputs"),
    (run([{"name": "y", "expr": "x * 2"}], backward=[{"output": "y", "gradient": [1, 2, 3]}]),
     "invalid-backward", None, "/backward/0", "shape"),
    (run([{"name": "y", "expr": "sum(x)"}], inputs={"x": [1.0, 2.0]}, backward=[{"output": "y"}]),
     "invalid-backward", None, "/backward/0", "does not require grad"),
    (run([{"name": "1y", "expr": "x"}]), "invalid-op", 0, "/ops/0/name", "identifier"),
])
async def test_engine_errors_are_422_with_where_they_happened(client, problem, program, kind, op_index, pointer,
                                                             words):
    body = problem(await client.post("/v1/evaluate", json=program), 422, kind)
    assert body.get("op_index") == op_index
    assert body["errors"][0]["pointer"] == pointer
    assert words in body["detail"]


async def test_shape_errors_name_both_shapes(client, problem):
    body = problem(await client.post("/v1/evaluate", json=run([{"name": "y", "op": "add", "args": ["x", [1, 2, 3]]}])),
                   422, "shape-mismatch")
    assert "(2, 2)" in body["detail"] and "(3,)" in body["detail"]
    assert body["name"] == "y" and body["title"] == "Shapes do not match"


# ---------------------------------------------------------------------------- HTTP-level problems

async def test_malformed_json_is_400(client, problem):
    r = await client.post("/v1/evaluate", content=b'{"inputs": ', headers={"content-type": "application/json"})
    body = problem(r, 400, "invalid-json")
    assert "not valid JSON" in body["detail"]


async def test_nan_tokens_are_not_json(client, problem):
    problem(await client.post("/v1/evaluate", content=b'{"inputs": {"x": NaN}}',
                              headers={"content-type": "application/json"}), 400, "invalid-json")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_wrong_content_type_is_415(client, problem, content_type):
    headers = {"content-type": content_type} if content_type else {}
    problem(await client.post("/v1/evaluate", content=b"{}", headers=headers), 415, "unsupported-media-type")


async def test_json_suffix_media_types_are_json(client):
    r = await client.post("/v1/evaluate", content=b"{}", headers={"content-type": "application/merge-patch+json"})
    assert r.status_code == 200


async def test_schema_errors_are_422_with_pointers(client, problem):
    body = problem(await client.post("/v1/evaluate", json={"ops": [{"name": "y", "op": "add", "args": ["x", 1],
                                                                     "retain_grads": True}],
                                                            "backward": [{}], "encoding": "xml"}),
                   422, "validation-error")
    pointers = {e["pointer"] for e in body["errors"]}
    assert {"/ops/0/retain_grads", "/backward/0/output", "/encoding"} <= pointers


async def test_query_errors_name_the_parameter(client, problem):
    sid = (await client.post("/v1/sessions")).json()["id"]
    body = problem(await client.get(f"/v1/sessions/{sid}/graph", params={"format": "png"}), 422, "validation-error")
    assert body["errors"][0]["parameter"] == "format"


async def test_unknown_route_and_wrong_method(client, problem):
    problem(await client.get("/v2/nothing"), 404, "not-found")
    r = await client.put("/v1/evaluate", json={})
    body = problem(r, 405, "method-not-allowed")
    assert r.headers["allow"] == "POST" and "POST" in body["detail"]


async def test_unexpected_errors_are_500_without_internals(problem):
    app = create_app(Settings())

    @app.get("/boom")
    async def boom():
        raise RuntimeError("secret internals")

    import httpx

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        body = problem(await c.get("/boom"), 500, "internal-error")
    assert "secret" not in body["detail"]


class DownStore(MemoryStore):
    """A store that cannot be reached."""

    def __init__(self):
        super().__init__(10, 60)

    def _down(self, *args, **kwargs):
        raise Problem(503, "store-unavailable", "the session store does not answer")

    get = create = delete = _down

    def ping(self):
        raise ConnectionError("no route to store")


async def test_an_unreachable_store_is_503(make_client, problem):
    async with make_client(store=DownStore()) as c:
        problem(await c.get("/readyz"), 503, "store-unavailable")
        problem(await c.post("/v1/sessions"), 503, "store-unavailable")
        problem(await c.get("/v1/sessions/abc"), 503, "store-unavailable")
        assert (await c.get("/healthz")).status_code == 200
        assert (await c.post("/v1/evaluate", json={})).status_code == 200
