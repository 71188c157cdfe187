"""The session endpoints: create, describe, delete, backward, grad, zero_grad, variables, graph."""

from __future__ import annotations

import asyncio
import re

import pytest

pytestmark = pytest.mark.anyio

LINEAR = {"inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}},
          "ops": [{"name": "y", "expr": "4 * x + 2"}]}
ONES = [[1, 1], [1, 1]]


async def new_session(client, program=LINEAR) -> str:
    r = await client.post("/v1/sessions", json=program)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_create_returns_201_location_and_variables(client):
    r = await client.post("/v1/sessions", json=LINEAR)
    assert r.status_code == 201
    body = r.json()
    assert r.headers["location"] == f"/v1/sessions/{body['id']}"
    assert set(body) == {"id", "created_at", "expires_at", "variables"}
    assert body["variables"]["y"]["data"] == [[6.0, 6.0], [6.0, 6.0]]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["expires_at"])
    assert body["expires_at"] > body["created_at"]


async def test_create_without_body_makes_an_empty_session(client):
    r = await client.post("/v1/sessions")
    assert r.status_code == 201 and r.json()["variables"] == {}


async def test_session_ids_are_long_and_random(client):
    ids = {(await client.post("/v1/sessions")).json()["id"] for _ in range(20)}
    assert len(ids) == 20
    assert all(len(i) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids)  # 24 random bytes


async def test_a_failing_first_program_makes_no_session(client, problem):
    problem(await client.post("/v1/sessions", json={"ops": [{"name": "y", "expr": "nope + 1"}]}), 422,
            "unknown-name")
    assert client.app.state.store.count() == 0


async def test_get_session_gives_metadata_unless_data_is_asked(client):
    sid = await new_session(client)
    body = (await client.get(f"/v1/sessions/{sid}")).json()
    assert body["id"] == sid
    assert body["variables"]["y"] == {"shape": [2, 2], "dtype": "float32", "requires_grad": True,
                                      "is_leaf": False, "grad_fn": "AddBackward0", "has_grad": False}
    full = (await client.get(f"/v1/sessions/{sid}", params={"data": "true"})).json()
    assert full["variables"]["x"]["data"] == ONES and full["variables"]["x"]["grad"] is None


async def test_delete_then_404(client, problem):
    sid = await new_session(client)
    r = await client.delete(f"/v1/sessions/{sid}")
    assert r.status_code == 204 and r.content == b""
    problem(await client.get(f"/v1/sessions/{sid}"), 404, "session-not-found")
    problem(await client.delete(f"/v1/sessions/{sid}"), 404, "session-not-found")
    problem(await client.post(f"/v1/sessions/{sid}/backward", json={"output": "y"}), 404, "session-not-found")


async def test_backward_accumulates_like_the_tutorial(client):
    sid = await new_session(client)
    r = await client.post(f"/v1/sessions/{sid}/backward", json={"output": "y", "gradient": ONES,
                                                                "retain_graph": True})
    assert r.status_code == 200
    assert r.json()["variables"] == {"x": {"shape": [2, 2], "dtype": "float32", "requires_grad": True,
                                           "is_leaf": True, "grad_fn": None, "data": ONES,
                                           "grad": [[4.0, 4.0], [4.0, 4.0]]}}
    g = [[1.0932, 1.9507], [-1.0305, -0.7468]]
    r = await client.post(f"/v1/sessions/{sid}/backward", json={"output": "y", "gradient": g, "retain_graph": True})
    grad = r.json()["variables"]["x"]["grad"]
    for row, grow in zip(grad, g, strict=True):
        for a, b in zip(row, grow, strict=True):
            assert a == pytest.approx(4 + 4 * b, abs=1e-5)  # float32


async def test_backward_return_and_encoding(client):
    sid = await new_session(client)
    r = await client.post(f"/v1/sessions/{sid}/backward",
                          json={"output": "y", "gradient": ONES, "return": ["y"], "encoding": "base64"})
    y = r.json()["variables"]["y"]
    assert set(r.json()["variables"]) == {"y"} and "b64" in y["data"] and y["grad"] is None


async def test_backward_with_an_unknown_return_name_changes_nothing(client, problem):
    sid = await new_session(client)
    body = problem(await client.post(f"/v1/sessions/{sid}/backward",
                                     json={"output": "y", "gradient": ONES, "return": ["x", "nope"]}),
                   422, "unknown-name")
    assert body["errors"][0]["pointer"] == "/return/1"
    x = (await client.get(f"/v1/sessions/{sid}/variables/x")).json()
    assert x["grad"] is None  # the failed call accumulated nothing and freed nothing
    r = await client.post(f"/v1/sessions/{sid}/backward", json={"output": "y", "gradient": ONES})
    assert r.json()["variables"]["x"]["grad"] == [[4.0, 4.0], [4.0, 4.0]]


async def test_backward_through_a_freed_graph_is_409_with_pytorchs_message(client, problem):
    sid = await new_session(client, {"inputs": {"x": {"data": [1.0, 2.0], "requires_grad": True}},
                                     "ops": [{"name": "y", "expr": "sum(x * x)"}]})
    assert (await client.post(f"/v1/sessions/{sid}/backward", json={"output": "y"})).status_code == 200
    body = problem(await client.post(f"/v1/sessions/{sid}/backward", json={"output": "y"}), 409, "graph-freed")
    assert body["detail"].startswith("Trying to backward through the graph a second time")
    assert body["title"] == "Graph already freed"


async def test_non_scalar_backward_without_gradient_is_422(client, problem):
    sid = await new_session(client)
    body = problem(await client.post(f"/v1/sessions/{sid}/backward", json={"output": "y"}), 422, "invalid-backward")
    assert "grad can be implicitly created only for scalar outputs" in body["detail"]
    assert body["name"] == "y"


async def test_grad_with_create_graph_and_bind_gives_higher_order(client):
    sid = await new_session(client, {"inputs": {"x": {"data": 3.0, "requires_grad": True}},
                                     "ops": [{"name": "y", "expr": "x ** 3"}]})
    r = await client.post(f"/v1/sessions/{sid}/grad", json={"outputs": "y", "inputs": "x", "create_graph": True,
                                                            "bind": ["g"]})
    assert r.status_code == 200, r.text
    g = r.json()["grads"]["g"]
    assert g["data"] == 27.0 and g["requires_grad"] is True and g["grad_fn"] is not None
    # grad does not accumulate into x
    assert (await client.get(f"/v1/sessions/{sid}/variables/x")).json()["grad"] is None
    r = await client.post(f"/v1/sessions/{sid}/backward", json={"output": "g"})
    assert r.json()["variables"]["x"]["grad"] == 18.0


async def test_grad_with_lists_and_grad_outputs(client):
    sid = await new_session(client, {"inputs": {"a": {"data": [1.0, 2.0], "requires_grad": True},
                                                "b": {"data": [3.0, 4.0], "requires_grad": True}},
                                     "ops": [{"name": "p", "expr": "a * b"}]})
    r = await client.post(f"/v1/sessions/{sid}/grad", json={"outputs": ["p"], "inputs": ["a", "b"],
                                                            "grad_outputs": [[1.0, 10.0]]})
    v = r.json()["grads"]
    assert v["a"]["data"] == [3.0, 40.0] and v["b"]["data"] == [1.0, 20.0]


async def test_zero_grad_sets_every_grad_to_null(client):
    sid = await new_session(client)
    await client.post(f"/v1/sessions/{sid}/backward", json={"output": "y", "gradient": ONES})
    r = await client.post(f"/v1/sessions/{sid}/zero_grad")
    assert r.status_code == 204
    assert (await client.get(f"/v1/sessions/{sid}/variables/x")).json()["grad"] is None


async def test_get_variable_and_unknown_variable(client, problem):
    sid = await new_session(client)
    r = await client.get(f"/v1/sessions/{sid}/variables/y")
    assert r.status_code == 200 and r.json()["data"] == [[6.0, 6.0], [6.0, 6.0]]
    r = await client.get(f"/v1/sessions/{sid}/variables/y", params={"encoding": "base64"})
    assert "b64" in r.json()["data"]
    body = problem(await client.get(f"/v1/sessions/{sid}/variables/yy"), 404, "variable-not-found")
    assert body["name"] == "yy" and "did you mean 'y'" in body["detail"]


async def test_graph_as_json_and_dot(client):
    sid = await new_session(client)
    g = (await client.get(f"/v1/sessions/{sid}/graph")).json()
    kinds = sorted(n["kind"] for n in g["nodes"])
    assert kinds.count("grad_fn") >= 1 and "leaf" in kinds and "output" in kinds
    assert any(n.get("label") == "AddBackward0" for n in g["nodes"])
    assert all({"source", "target"} == set(e) for e in g["edges"])
    r = await client.get(f"/v1/sessions/{sid}/graph", params={"format": "dot"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/vnd.graphviz")
    assert r.text.startswith("digraph") and "AddBackward0" in r.text


async def test_requests_on_one_session_run_one_at_a_time(client):
    sid = await new_session(client)
    n = 40
    rs = await asyncio.gather(*[
        client.post(f"/v1/sessions/{sid}/backward", json={"output": "y", "gradient": ONES, "retain_graph": True})
        for _ in range(n)])
    assert all(r.status_code == 200 for r in rs)
    assert (await client.get(f"/v1/sessions/{sid}/variables/x")).json()["grad"] == [[4.0 * n] * 2] * 2
