"""The seed tutorial, end to end, against a real `uvicorn app.main:app` over HTTP."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from app.examples import SEED_PROGRAM, TUTORIAL_GRADIENT


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server, timeout=30) as c:
        yield c


def new_session(http, program) -> str:
    r = http.post("/v1/sessions", json=program)
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith(r.json()["id"])
    return r.json()["id"]


def test_in_2_to_12_evaluate(http):
    r = http.post("/v1/evaluate", json={**SEED_PROGRAM, "return": None})
    assert r.status_code == 200
    v = r.json()["variables"]
    assert v["x"]["grad"] == [[4.5, 4.5], [4.5, 4.5]] and v["x"]["grad_fn"] is None
    assert v["out"]["data"] == 27.0
    assert v["z"]["data"] == [[27.0, 27.0], [27.0, 27.0]]
    assert [v[n]["grad_fn"] for n in ("y", "z", "out")] == ["AddBackward0", "MulBackward0", "MeanBackward0"]


def test_in_14_to_20_repeated_backward_with_retain_graph(http):
    sid = new_session(http, {"inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}},
                             "ops": [{"name": "y", "expr": "4 * x + 2"}]})
    r = http.post(f"/v1/sessions/{sid}/backward", json={"output": "y", "gradient": [[1, 1], [1, 1]],
                                                        "retain_graph": True})
    assert r.json()["variables"]["x"]["grad"] == [[4.0, 4.0], [4.0, 4.0]]
    z = http.post(f"/v1/sessions/{sid}/run", json={"ops": [{"name": "z", "expr": "y * y"}]}).json()["variables"]["z"]
    assert z["data"] == [[36.0, 36.0], [36.0, 36.0]]
    r = http.post(f"/v1/sessions/{sid}/backward", json={"output": "y", "gradient": TUTORIAL_GRADIENT,
                                                        "retain_graph": True})
    grad = r.json()["variables"]["x"]["grad"]
    expected = [[4 + 4 * g for g in row] for row in TUTORIAL_GRADIENT]  # In [20]: 8.3728 11.8028 -0.122 1.0128
    assert all(math.isclose(a, b, abs_tol=1e-5) for ra, rb in zip(grad, expected, strict=True)
               for a, b in zip(ra, rb, strict=True))
    assert http.delete(f"/v1/sessions/{sid}").status_code == 204


def test_in_21_to_25_while_loop_driven_by_the_client(http):
    sid = new_session(http, {"inputs": {"x": {"data": [1.357, -0.3653, 0.6265], "requires_grad": True}},
                             "ops": [{"name": "y", "op": "mul", "args": ["x", 2]}]})
    y = http.get(f"/v1/sessions/{sid}/variables/y").json()["data"]
    turns = 0
    while math.hypot(*y) < 1000:
        r = http.post(f"/v1/sessions/{sid}/run", json={"ops": [{"name": "y", "op": "mul", "args": ["y", 2]}],
                                                       "return": ["y"]})
        y = r.json()["variables"]["y"]["data"]
        turns += 1
    assert turns == 9  # y = x * 1024, as in the tutorial
    r = http.post(f"/v1/sessions/{sid}/backward", json={"output": "y", "gradient": [0.1, 1.0, 0.0001]})
    grad = r.json()["variables"]["x"]["grad"]
    assert grad == pytest.approx([102.4, 1024.0, 0.1024], rel=1e-6)


def test_higher_order_through_grad_and_bind(http):
    sid = new_session(http, {"inputs": {"x": {"data": 3.0, "requires_grad": True}},
                             "ops": [{"name": "y", "expr": "x ** 3"}]})
    r = http.post(f"/v1/sessions/{sid}/grad", json={"outputs": "y", "inputs": "x", "create_graph": True,
                                                    "bind": ["g"]})
    assert r.json()["grads"]["g"]["data"] == 27.0
    r = http.post(f"/v1/sessions/{sid}/backward", json={"output": "g"})
    assert r.json()["variables"]["x"]["grad"] == 18.0


def test_freed_graph_is_409_and_non_scalar_backward_is_422(http):
    sid = new_session(http, {"inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}},
                             "ops": [{"name": "y", "expr": "x * x"}, {"name": "out", "expr": "mean(y)"}]})
    r = http.post(f"/v1/sessions/{sid}/backward", json={"output": "y"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "/problems/invalid-backward"
    assert "grad can be implicitly created only for scalar outputs" in r.json()["detail"]
    assert http.post(f"/v1/sessions/{sid}/backward", json={"output": "out"}).status_code == 200
    r = http.post(f"/v1/sessions/{sid}/backward", json={"output": "out"})
    assert r.status_code == 409 and r.json()["type"] == "/problems/graph-freed"
    assert r.json()["detail"].startswith("Trying to backward through the graph a second time")


def test_many_threads_backward_on_one_session(http, server):
    sid = new_session(http, {"inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}},
                             "ops": [{"name": "y", "expr": "4 * x + 2"}]})
    n_threads, per_thread = 8, 10

    def hammer(_: int) -> list[int]:
        with httpx.Client(base_url=server, timeout=30) as c:
            return [c.post(f"/v1/sessions/{sid}/backward",
                           json={"output": "y", "gradient": [[1, 1], [1, 1]], "retain_graph": True}).status_code
                    for _ in range(per_thread)]

    with ThreadPoolExecutor(n_threads) as pool:
        statuses = [s for batch in pool.map(hammer, range(n_threads)) for s in batch]
    assert statuses == [200] * (n_threads * per_thread)
    grad = http.get(f"/v1/sessions/{sid}/variables/x").json()["grad"]
    assert grad == [[4.0 * n_threads * per_thread] * 2] * 2


def test_the_server_speaks_problem_json_for_unknown_routes(http):
    r = http.get("/v1/nothing")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert http.get("/readyz").json() == {"status": "ok"}
    assert "gradserve_requests_total" in http.get("/metrics").text


def test_non_finite_results_are_values_not_log_noise(http, server_log):
    sid = new_session(http, {"inputs": {"x": [-1.0, 0.0, 1e30]}, "ops": [{"name": "y", "expr": "log(x) * x * x"}]})
    r = http.post(f"/v1/sessions/{sid}/run", json={"ops": [{"name": "z", "expr": "exp(y) / 0"}]})
    assert r.status_code == 200
    assert r.json()["variables"]["z"]["data"] == ["NaN", "NaN", "Infinity"]
    r = http.post("/v1/evaluate", json={"inputs": {"x": [-1.0, 0.0]}, "ops": [{"name": "y", "expr": "sqrt(x) / x"}]})
    assert r.json()["variables"]["y"]["data"] == ["NaN", "NaN"]
    assert "RuntimeWarning" not in server_log.read_text(errors="replace")
