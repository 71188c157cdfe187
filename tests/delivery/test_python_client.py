"""The Python client's numpy layer against a live server: the documented example (sync and async), typed errors,
base64 both ways on the wire, sessions deleted by their context manager, retries, and the endpoints of the
derivatives, optimizers and snapshots where the server has them."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from gradserve_client import (
    AsyncGradserve,
    ConflictError,
    Gradserve,
    GradserveError,
    GraphFreedError,
    LimitExceededError,
    ModifiedInPlaceError,
    NotFoundError,
    RateLimitedError,
    UnauthorizedError,
    UnavailableError,
    UnprocessableError,
)
from gradserve_client import calls as client_calls


class Wire(httpx.HTTPTransport):
    """A real HTTP transport that also keeps every request and answer body as sent and received."""

    def __init__(self, answer_first: httpx.Response | None = None) -> None:
        super().__init__()
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []
        self.answer_first = answer_first

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if self.answer_first is not None:  # a refusal as the server gives it, before the real answer
            response, self.answer_first = self.answer_first, None
        else:
            response = super().handle_request(request)
        response.read()
        self.exchanges.append((request, response))
        return response


@pytest.fixture(scope="module")
def endpoints(live_server: str) -> set[str]:
    """The server's paths: the derivative, optimizer and snapshot tests run where the server has them."""
    return set(httpx.get(f"{live_server}/openapi.json").json()["paths"])


def needs(endpoints: set[str], path: str) -> None:
    if path not in endpoints:
        pytest.skip(f"this server has no {path}")


@pytest.fixture
def gs(live_server: str) -> Iterator[Gradserve]:
    with Gradserve(live_server) as client:
        yield client


def test_the_documented_example(live_server: str, endpoints: set[str]) -> None:
    # the client README's example, word for word but for the server's address
    gs = Gradserve(live_server, api_key=None)
    r = gs.evaluate(inputs={"x": gs.tensor(np.ones((2, 2)), requires_grad=True)},
                    ops=[{"name": "out", "expr": "mean((x + 2) * (x + 2) * 3)"}],
                    backward=[{"output": "out"}])
    np.testing.assert_array_equal(r["x"].grad, np.full((2, 2), 4.5))
    assert isinstance(r["x"].grad, np.ndarray) and r["out"].grad_fn == "MeanBackward0"
    with gs.session(inputs={"x": gs.tensor([[1.0, 1.0], [1.0, 1.0]], requires_grad=True)},
                    ops=[{"name": "y", "expr": "4 * x + 2"}]) as s:
        s.backward("y", gradient=np.ones((2, 2)), retain_graph=True)
        np.testing.assert_array_equal(s["x"].grad, np.full((2, 2), 4.0))
        assert s["x"].dtype == np.float32 and s["x"].shape == (2, 2) and s["x"].requires_grad
        if "/v1/sessions/{session_id}/jacobian" in endpoints:
            J = s.jacobian("y", "x")
            np.testing.assert_allclose(J, 4 * np.eye(4).reshape(2, 2, 2, 2))
    with pytest.raises(NotFoundError):
        gs.attach(s.id)
    gs.close()


def test_the_documented_example_async(live_server: str, endpoints: set[str]) -> None:
    async def example() -> str:
        gs = AsyncGradserve(live_server, api_key=None)
        r = await gs.evaluate(inputs={"x": gs.tensor(np.ones((2, 2)), requires_grad=True)},
                              ops=[{"name": "out", "expr": "mean((x + 2) * (x + 2) * 3)"}],
                              backward=[{"output": "out"}])
        np.testing.assert_array_equal(r["x"].grad, np.full((2, 2), 4.5))
        async with gs.session(inputs={"x": gs.tensor([[1.0, 1.0], [1.0, 1.0]], requires_grad=True)},
                              ops=[{"name": "y", "expr": "4 * x + 2"}]) as s:
            await s.backward("y", gradient=np.ones((2, 2)), retain_graph=True)
            np.testing.assert_array_equal((await s["x"]).grad, np.full((2, 2), 4.0))
            if "/v1/sessions/{session_id}/jacobian" in endpoints:
                J = await s.jacobian("y", "x")
                np.testing.assert_allclose(J, 4 * np.eye(4).reshape(2, 2, 2, 2))
        with pytest.raises(NotFoundError):
            await gs.attach(s.id)
        # awaited instead of entered: the session stays until deleted
        kept = await gs.session()
        assert (await gs.attach(kept.id)).id == kept.id
        await kept.delete()
        await gs.aclose()
        return s.id

    assert asyncio.run(example())


# ---------------------------------------------------------------------------- errors

def test_errors_carry_status_type_detail_and_the_problem(gs: Gradserve) -> None:
    with pytest.raises(NotFoundError) as e404:
        gs.attach("no-such-session")
    assert (e404.value.status, e404.value.type) == (404, "/problems/session-not-found")
    assert "no-such-session" in e404.value.detail and e404.value.problem["status"] == 404

    with pytest.raises(UnprocessableError) as e422:
        gs.evaluate(inputs={"x": np.ones(3)}, ops=[{"name": "out", "expr": "meen(x)"}])
    err = e422.value
    assert (err.status, err.type) == (422, "/problems/invalid-op")
    assert "did you mean 'mean'" in err.detail and err.problem["op_index"] == 0
    assert err.errors[0]["pointer"] == "/ops/0/expr"

    with pytest.raises(UnprocessableError) as schema:
        gs.evaluate(ops=[{"name": "y", "op": "add", "args": ["x", 1], "colour": "red"}])
    assert schema.value.type == "/problems/validation-error" and schema.value.errors

    with pytest.raises(LimitExceededError) as e413:
        gs.evaluate(inputs={"a": np.ones((5000, 1)), "b": np.ones((1, 5000))}, ops=[{"name": "c", "expr": "a @ b"}])
    assert (e413.value.status, e413.value.type) == (413, "/problems/limit-exceeded")
    assert "(5000, 5000)" in e413.value.detail

    with gs.session(inputs={"x": gs.tensor([1.0, 2.0], requires_grad=True)},
                    ops=[{"name": "out", "expr": "sum(x * x)"}]) as s:
        s.backward("out")
        with pytest.raises(GraphFreedError) as e409:
            s.backward("out")
        assert isinstance(e409.value, ConflictError) and isinstance(e409.value, GradserveError)
        assert (e409.value.status, e409.value.type) == (409, "/problems/graph-freed")
        assert "second time" in e409.value.detail
        with pytest.raises(NotFoundError) as unknown:
            s["nope"]
        assert unknown.value.type == "/problems/variable-not-found"


KEY = "gs-test-key"


@pytest.fixture(scope="module")
def guarded_server(live_server_process: Any) -> Iterator[str]:
    """A server that needs an API key and allows a few requests a minute per key."""
    from app.settings import Settings

    if not {"API_KEYS", "RATE_LIMIT"} <= Settings.model_fields.keys():
        pytest.skip("this server has no API keys or rate limits")

    def command(port: int) -> tuple[list[str], dict[str, str]]:
        return ([str(Path(sys.executable).parent / "gradserve")],
                {**os.environ, "GRADSERVE_HOST": "127.0.0.1", "GRADSERVE_PORT": str(port),
                 "GRADSERVE_API_KEYS": f"tester:{hashlib.sha256(KEY.encode()).hexdigest()}",
                 "GRADSERVE_RATE_LIMIT": "3/minute"})

    with tempfile.TemporaryFile() as log, live_server_process(command, log) as url:
        yield url


def test_a_missing_or_wrong_key_is_unauthorized_and_too_many_requests_are_rate_limited(guarded_server: str) -> None:
    for key in ("", "not-the-key"):
        with Gradserve(guarded_server, api_key=key) as anonymous, pytest.raises(UnauthorizedError) as e401:
            anonymous.ops()
        assert (e401.value.status, e401.value.type) == (401, "/problems/unauthorized")
    with Gradserve(guarded_server, api_key=KEY, max_retries=0) as gs:
        assert gs.ops()
        with pytest.raises(RateLimitedError) as e429:
            for _ in range(10):
                gs.ops()
    assert (e429.value.status, e429.value.type) == (429, "/problems/rate-limited")
    assert e429.value.retry_after is not None and e429.value.retry_after > 0


def test_a_failed_program_in_a_with_block_still_deletes_the_session(gs: Gradserve) -> None:
    with pytest.raises(UnprocessableError), gs.session(inputs={"x": [1.0, 2.0]}) as s:
        s.run(ops=[{"name": "y", "expr": "x @ x @ x"}])
    with pytest.raises(NotFoundError):
        s.info()


def test_an_answer_that_is_not_a_problem_still_raises_with_its_status(live_server: str) -> None:
    proxy_page = httpx.Response(502, headers={"Content-Type": "text/html"}, text="<html>Bad gateway</html>")
    with Gradserve(live_server, httpx_args={"transport": Wire(answer_first=proxy_page)}) as gs, \
            pytest.raises(GradserveError) as e:
        gs.ops()
    assert (e.value.status, e.value.type) == (502, "about:blank") and "Bad gateway" in e.value.detail


# ---------------------------------------------------------------------------- the wire

def test_a_million_elements_travel_as_base64_both_ways_and_come_back_exact(live_server: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1000, 1000))
    x[0, :3] = [np.nan, np.inf, -np.inf]
    wire = Wire()
    with Gradserve(live_server, httpx_args={"transport": wire}) as gs:
        r = gs.evaluate(inputs={"x": x}, ops=[{"name": "y", "expr": "x * 2"}])
        back = gs.evaluate(inputs={"x": x}, ops=[{"name": "y", "expr": "x * 2"}], return_=["x", "y"])
    # a constant input is not echoed unless asked for
    assert set(r) == {"y"} and set(back) == {"x", "y"}
    assert back["x"].data.dtype == np.float64 and back["x"].shape == (1000, 1000)
    np.testing.assert_array_equal(back["x"].data, x)
    np.testing.assert_array_equal(back["y"].data, 2 * x)
    assert back["x"].data.tobytes() == x.tobytes()  # bit for bit, NaN included

    (q1, a1), (q2, a2) = wire.exchanges
    raw = x.size * 8
    for request in (q1, q2):
        body = request.content
        assert b'"b64":' in body and b'"encoding":"base64"' in body
        assert raw * 4 / 3 <= len(body) < raw * 4 / 3 + 4096  # base64 of the bytes, nothing more
    assert len(a1.content) < raw * 4 / 3 + 4096  # y only
    assert raw * 8 / 3 <= len(a2.content) < raw * 8 / 3 + 4096  # x and y, base64
    assert a2.json()["variables"]["x"]["data"].keys() == {"b64"}


def test_dtypes_follow_the_arrays_and_the_servers_rule_for_lists(gs: Gradserve) -> None:
    r = gs.evaluate(inputs={"f64": np.arange(3.0), "f32": [1, 2, 3], "labels": np.array([0, 2], dtype=np.int32),
                            "mask": [True, False], "scalar": 2.5},
                    ops=[{"name": "y", "expr": "f64 * scalar"}],
                    return_=["f64", "f32", "labels", "mask", "scalar", "y"])
    assert {n: str(v.dtype) for n, v in r.items()} == {"f64": "float64", "f32": "float32", "labels": "int64",
                                                      "mask": "bool", "scalar": "float32", "y": "float64"}
    assert r["scalar"].shape == () and float(r["scalar"].data) == 2.5
    np.testing.assert_array_equal(r["mask"].data, [True, False])
    np.testing.assert_array_equal(r["y"].data, [0.0, 2.5, 5.0])
    r["y"].data[0] = 7  # arrays are the caller's to change
    # a non-finite constant, which JSON has no number for, goes as a tensor
    z = gs.evaluate(inputs={"x": [1.0, 2.0]}, ops=[{"name": "z", "op": "add", "args": ["x", float("-inf")]}])["z"]
    np.testing.assert_array_equal(z.data, [-np.inf, -np.inf])
    with pytest.raises(TypeError, match="complex128"):
        gs.tensor(np.ones(2, dtype=complex))


def test_the_api_key_goes_as_a_bearer_token(live_server: str) -> None:
    wire = Wire()
    with Gradserve(live_server, api_key="k-123", httpx_args={"transport": wire}) as gs:
        gs.ops()
    assert wire.exchanges[0][0].headers["Authorization"] == "Bearer k-123"


def busy(retry_after: str) -> httpx.Response:
    return httpx.Response(503, headers={"Retry-After": retry_after, "Content-Type": "application/problem+json"},
                          json={"type": "/problems/memory-budget", "title": "Server busy", "status": 503,
                                "detail": "the server's memory budget is full; try again"})


def test_a_503_with_retry_after_is_sent_again_after_the_wait(live_server: str) -> None:
    wire = Wire(answer_first=busy("0.3"))
    with Gradserve(live_server, httpx_args={"transport": wire}) as gs:
        start = time.monotonic()
        ops = gs.ops()
        waited = time.monotonic() - start
    assert any(o["name"] == "add" for o in ops)
    assert len(wire.exchanges) == 2 and waited >= 0.3


def test_a_wait_over_the_bound_is_not_retried(live_server: str) -> None:
    wire = Wire(answer_first=busy("120"))
    with Gradserve(live_server, max_retry_wait=5, httpx_args={"transport": wire}) as gs, \
            pytest.raises(UnavailableError) as e:
        gs.ops()
    assert e.value.retry_after == 120 and len(wire.exchanges) == 1


def test_the_generated_functions_share_the_layers_connection(gs: Gradserve) -> None:
    from gradserve_client.api.ops import list_ops
    from gradserve_client.models import OpsResponse

    ops = list_ops.sync(client=gs.client)
    assert isinstance(ops, OpsResponse) and "mean" in {o.name for o in ops.ops}


# ---------------------------------------------------------------------------- sessions and grads

def test_session_methods(gs: Gradserve) -> None:
    with gs.session(inputs={"x": gs.tensor(3.0, requires_grad=True)}, ops=[{"name": "y", "expr": "x ** 3"}]) as s:
        assert set(s.result) == {"x", "y"} and float(s.result["y"].data) == 27
        dydx = s.grad("y", "x", create_graph=True, bind="dydx")
        assert dydx.grad_fn == "MulBackward0" and float(dydx.data) == 27
        assert s.info().variables["dydx"].grad_fn == "MulBackward0"
        s.backward("dydx")
        assert float(s["x"].grad) == 18  # d2y/dx2 = 6x
        s.zero_grad()
        assert s["x"].grad is None
        (g, unused) = s.grad("y", ["x", "dydx"], allow_unused=True, retain_graph=True)
        assert g is not None and float(g.data) == 27 and unused is None
        assert {n["label"] for n in s.graph()["nodes"]} >= {"PowBackward0"}
        assert s.graph_dot().startswith("digraph")
        assert set(s.variables()) == {"x", "y", "dydx"}
        assert gs.attach(s.id).info().id == s.id


def test_a_while_loop_driven_from_numpy(gs: Gradserve) -> None:
    x = np.array([1.3570, -0.3653, 0.6265], dtype=np.float32)
    with gs.session(inputs={"x": gs.tensor(x, requires_grad=True)}, ops=[{"name": "y", "expr": "x * 2"}]) as s:
        y = s.result["y"]
        while np.linalg.norm(y.data) < 1000:
            y = s.run(ops=[{"name": "y", "expr": "y * 2"}])["y"]
        np.testing.assert_allclose(y.data, 1024 * x)
        s.backward("y", gradient=np.array([0.1, 1.0, 0.0001], dtype=np.float32))
        np.testing.assert_allclose(s["x"].grad, [102.4, 1024.0, 0.1024], rtol=1e-6)


def test_grad_reads_both_answer_shapes() -> None:
    """`/grad` answers {"grads": ...}; servers before the derivatives endpoints answered {"variables": ...}."""
    v = {"shape": [], "dtype": "float64", "requires_grad": False, "is_leaf": True, "grad_fn": None,
         "data": 2.0, "grad": None}
    for doc in ({"grads": {"g": v}}, {"variables": {"g": v}}):
        grads = client_calls.read_grads(httpx.Response(200, json=doc))
        assert float(grads["g"].data) == 2.0


# ---------------------------------------------------------------------------- derivatives, optimizers, snapshots

def cubic(gs: Gradserve) -> Any:
    return gs.session(inputs={"x": gs.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)},
                      ops=[{"name": "y", "expr": "x ** 3"}, {"name": "out", "expr": "sum(y)"}])


def test_jacobian_jvp_hvp_hessian(gs: Gradserve, endpoints: set[str]) -> None:
    needs(endpoints, "/v1/sessions/{session_id}/hessian")
    x = np.array([1.0, 2.0, 3.0])
    with cubic(gs) as s:
        np.testing.assert_allclose(s.jacobian("y", "x"), np.diag(3 * x**2))
        table = s.jacobian(["y", "out"], ["x"])
        np.testing.assert_allclose(table["out"]["x"], 3 * x**2)
        np.testing.assert_allclose(s.jvp("y", "x", {"x": np.ones(3)}), 3 * x**2)
        np.testing.assert_allclose(s.hvp("out", "x", {"x": np.ones(3)}), 6 * x)
        np.testing.assert_allclose(s.hessian("out", "x"), np.diag(6 * x))
        assert s["x"].grad is None  # nothing accumulated
    # the same inside a program, statelessly
    r = gs.evaluate(inputs={"x": gs.tensor(x, requires_grad=True)}, ops=[{"name": "y", "expr": "x ** 3"}],
                    derivatives=[{"kind": "jacobian", "outputs": "y", "inputs": "x"}])
    np.testing.assert_allclose(r.derivatives[0]["jacobian"]["y"]["x"], np.diag(3 * x**2))


def test_batched_grad(gs: Gradserve, endpoints: set[str]) -> None:
    needs(endpoints, "/v1/sessions/{session_id}/jacobian")
    with cubic(gs) as s:
        rows = s.grad("y", "x", grad_outputs=np.eye(3), is_grads_batched=True, retain_graph=True)
        np.testing.assert_allclose(rows.data, np.diag(3 * np.array([1.0, 2.0, 3.0]) ** 2))


def test_optimizer_steps_and_modified_in_place(gs: Gradserve, endpoints: set[str]) -> None:
    needs(endpoints, "/v1/sessions/{session_id}/optimizers")
    w0 = np.array([1.0, -2.0])
    with gs.session(inputs={"w": gs.tensor(w0, requires_grad=True)},
                    ops=[{"name": "loss", "expr": "sum(w * w)"}]) as s:
        opt = s.optimizer("opt", "sgd", ["w"], lr=0.1)
        assert opt.info.type == "sgd" and opt.info.steps == 0
        s.backward("loss", retain_graph=True)
        stepped = opt.step()
        np.testing.assert_allclose(stepped["w"].data, w0 - 0.1 * 2 * w0)
        assert opt.refresh().steps == 1 and s.get_optimizer("opt").info.steps == 1
        with pytest.raises(ModifiedInPlaceError) as e:
            s.backward("loss")
        assert e.value.status == 409 and e.value.type == "/problems/modified-in-place"
        opt.zero_grad()
        assert s["w"].grad is None


def test_snapshot_and_restore(gs: Gradserve, endpoints: set[str]) -> None:
    needs(endpoints, "/v1/sessions/restore")
    with cubic(gs) as s:
        s.backward("out", retain_graph=True)
        snapshot = s.snapshot()
        with gs.restore(snapshot) as copy:
            assert copy.id != s.id
            copy.backward("out")
            np.testing.assert_allclose(copy["x"].grad, 2 * 3 * np.array([1.0, 2.0, 3.0]) ** 2)
        np.testing.assert_allclose(s["x"].grad, 3 * np.array([1.0, 2.0, 3.0]) ** 2)
