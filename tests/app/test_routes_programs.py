"""POST /v1/evaluate and /v1/sessions/{id}/run: programs in, variables out."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from app.examples import SEED_PROGRAM

pytestmark = pytest.mark.anyio


async def test_evaluate_runs_the_seed_tutorial(client):
    r = await client.post("/v1/evaluate", json=SEED_PROGRAM)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    v = r.json()["variables"]
    assert list(v) == ["x", "out"]
    assert v["x"] == {"shape": [2, 2], "dtype": "float32", "requires_grad": True, "is_leaf": True, "grad_fn": None,
                      "data": [[1.0, 1.0], [1.0, 1.0]], "grad": [[4.5, 4.5], [4.5, 4.5]]}
    assert v["out"]["data"] == 27.0 and v["out"]["shape"] == [] and v["out"]["grad_fn"] == "MeanBackward0"


async def test_evaluate_returns_every_bound_name_and_graded_leaf_by_default(client):
    program = {k: v for k, v in SEED_PROGRAM.items() if k != "return"}
    v = (await client.post("/v1/evaluate", json=program)).json()["variables"]
    assert list(v) == ["x", "y", "z", "out"]
    assert [v[n]["grad_fn"] for n in v] == [None, "AddBackward0", "MulBackward0", "MeanBackward0"]
    assert v["y"]["grad"] is None  # non-leaf grads are not kept unless retain_grad


async def test_retain_grad_keeps_a_non_leaf_grad(client):
    program = {"inputs": {"x": {"data": [1.0, 2.0], "requires_grad": True}},
               "ops": [{"name": "y", "expr": "x * 3", "retain_grad": True}, {"name": "s", "op": "sum", "args": ["y"]}],
               "backward": [{"output": "s"}], "return": ["y"]}
    v = (await client.post("/v1/evaluate", json=program)).json()["variables"]
    assert v["y"]["grad"] == [1.0, 1.0]


async def test_constants_kwargs_and_dtypes(client):
    program = {"inputs": {"x": {"data": [[1, 2], [3, 4]], "dtype": "float64", "requires_grad": True},
                          "labels": {"data": [1, 0], "dtype": "int64"}},
               "ops": [{"name": "s", "op": "sum", "args": ["x"], "kwargs": {"axis": 0, "keepdims": True}},
                       {"name": "w", "op": "mul", "args": ["x", {"data": [10, 100], "dtype": "float64"}]},
                       {"name": "loss", "op": "cross_entropy", "args": ["x", "labels"]}],
               "backward": [{"output": "loss"}]}
    r = await client.post("/v1/evaluate", json=program)
    assert r.status_code == 200, r.text
    v = r.json()["variables"]
    assert v["s"]["data"] == [[4.0, 6.0]] and v["s"]["dtype"] == "float64"
    assert v["w"]["data"] == [[10.0, 200.0], [30.0, 400.0]]
    assert v["labels"]["dtype"] == "int64" and v["labels"]["requires_grad"] is False
    assert v["x"]["grad"] is not None


async def test_non_finite_values_travel_both_ways(client):
    program = {"inputs": {"x": [1.0, "NaN", "Infinity"]}, "ops": [{"name": "y", "expr": "x * -1"},
                                                                  {"name": "z", "expr": "log(x - 1)"}]}
    r = await client.post("/v1/evaluate", json=program)
    assert r.status_code == 200
    assert "NaN," not in r.text and "null" not in r.text.replace('"grad":null', "").replace('"grad_fn":null', "")
    v = r.json()["variables"]
    assert v["y"]["data"] == [-1.0, "NaN", "-Infinity"]
    assert v["z"]["data"] == ["-Infinity", "NaN", "Infinity"]


async def test_base64_in_and_out(client):
    x = np.array([[1, 2], [3, 4]], dtype=np.float32)
    program = {"inputs": {"x": {"b64": base64.b64encode(x.tobytes()).decode(), "dtype": "float32",
                                "shape": [2, 2], "requires_grad": True}},
               "ops": [{"name": "s", "expr": "sum(x * x)"}], "backward": [{"output": "s"}], "encoding": "base64"}
    r = await client.post("/v1/evaluate", json=program)
    assert r.status_code == 200, r.text
    v = r.json()["variables"]
    grad = np.frombuffer(base64.b64decode(v["x"]["grad"]["b64"]), "<f4").reshape(v["x"]["shape"])
    np.testing.assert_array_equal(grad, 2 * x)
    assert np.frombuffer(base64.b64decode(v["s"]["data"]["b64"]), "<f4")[0] == 30


async def test_run_rebinds_names_to_drive_loops(client):
    created = (await client.post("/v1/sessions", json={
        "inputs": {"x": {"data": [1.0, 2.0], "requires_grad": True}},
        "ops": [{"name": "y", "op": "mul", "args": ["x", 2]}]})).json()
    sid = created["id"]
    for _ in range(3):
        r = await client.post(f"/v1/sessions/{sid}/run", json={"ops": [{"name": "y", "op": "mul", "args": ["y", 2]}]})
        assert r.status_code == 200
        assert list(r.json()["variables"]) == ["y"]
    r = await client.post(f"/v1/sessions/{sid}/backward", json={"output": "y", "gradient": [1.0, 1.0]})
    assert r.json()["variables"]["x"]["grad"] == [16.0, 16.0]


async def test_run_on_an_unknown_session_is_404(client, problem):
    problem(await client.post("/v1/sessions/nope/run", json={}), 404, "session-not-found")


async def test_a_failing_program_leaves_the_session_exactly_as_it_was(client, problem):
    sid = (await client.post("/v1/sessions", json={
        "inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}},
        "ops": [{"name": "y", "expr": "4 * x + 2"}],
        "backward": [{"output": "y", "gradient": [[1, 1], [1, 1]], "retain_graph": True}]})).json()["id"]
    before = (await client.get(f"/v1/sessions/{sid}", params={"data": True})).json()
    graph_before = (await client.get(f"/v1/sessions/{sid}/graph")).json()
    bad = {"inputs": {"x": [5.0, 6.0], "w": {"data": [1.0], "requires_grad": True}},
           "ops": [{"name": "y", "op": "mul", "args": ["y", 3]},
                   {"name": "q", "expr": "y * w"},
                   {"name": "r", "op": "sum", "args": ["q"]},
                   {"name": "bad", "op": "add", "args": ["y", [1.0, 2.0, 3.0]]}],
           "backward": [{"output": "r"}]}
    body = problem(await client.post(f"/v1/sessions/{sid}/run", json=bad), 422, "shape-mismatch")
    assert body["op_index"] == 3 and body["name"] == "bad"
    assert body["errors"][0]["pointer"].startswith("/ops/3")
    after = (await client.get(f"/v1/sessions/{sid}", params={"data": True})).json()
    assert after["variables"] == before["variables"]
    assert (await client.get(f"/v1/sessions/{sid}/graph")).json() == graph_before
    # the graph still works: a failed backward inside the program freed nothing
    r = await client.post(f"/v1/sessions/{sid}/backward", json={"output": "y", "gradient": [[1, 1], [1, 1]]})
    assert r.json()["variables"]["x"]["grad"] == [[8.0, 8.0], [8.0, 8.0]]


async def test_small_bodies_with_big_work_still_run(client):
    # a short body may still ask for many ops or a big tensor: it is run off the event loop, to the end
    chain = {"inputs": {"x": {"data": 1.0, "requires_grad": True}},
             "ops": [{"name": "x", "expr": "x * 1"} for _ in range(200)], "backward": [{"output": "x"}]}
    r = await client.post("/v1/evaluate", json=chain)
    assert r.status_code == 200, r.text
    big = {"inputs": {"x": [1.0]}, "ops": [{"name": "y", "op": "broadcast_to", "args": ["x"],
                                            "kwargs": {"shape": [300, 300]}}, {"name": "s", "expr": "sum(y)"}],
           "return": ["s"]}
    r = await client.post("/v1/evaluate", json=big)
    assert r.status_code == 200 and r.json()["variables"]["s"]["data"] == 90000.0


async def test_a_program_failing_in_its_second_backward_rolls_back_the_first(client, problem):
    sid = (await client.post("/v1/sessions", json={
        "inputs": {"x": {"data": [1.0, 2.0], "requires_grad": True}},
        "ops": [{"name": "s", "expr": "sum(x * x)"}]})).json()["id"]
    before = (await client.get(f"/v1/sessions/{sid}", params={"data": True})).json()["variables"]
    program = {"ops": [{"name": "t", "expr": "sum(x * 3)"}, {"name": "v", "expr": "x * 2"}],
               "backward": [{"output": "s"}, {"output": "t"}, {"output": "v"}]}
    body = problem(await client.post(f"/v1/sessions/{sid}/run", json=program), 422, "invalid-backward")
    assert body["errors"][0]["pointer"] == "/backward/2"
    assert (await client.get(f"/v1/sessions/{sid}", params={"data": True})).json()["variables"] == before
    # s's graph was not freed by the rolled-back backward
    r = await client.post(f"/v1/sessions/{sid}/backward", json={"output": "s"})
    assert r.status_code == 200 and r.json()["variables"]["x"]["grad"] == [2.0, 4.0]
