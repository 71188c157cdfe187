"""Derivatives over HTTP: /grad (batched), /jacobian, /jvp, /hvp, /hessian and programs' derivative calls,
against torch.autograd.functional, in-process and on a real server."""

from __future__ import annotations

import base64

import httpx
import numpy as np
import pytest
import torch
import torch.autograd.functional as TAF

from app.examples import (
    GRAD_EXAMPLES,
    HESSIAN_EXAMPLES,
    HVP_EXAMPLES,
    JACOBIAN_EXAMPLES,
    JVP_EXAMPLES,
    PROGRAM_EXAMPLES,
    SESSION_EXAMPLES,
)

pytestmark = pytest.mark.anyio

rng = np.random.default_rng(5)
W0, X0, B0 = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)
F64 = "float64"

# y = tanh(W @ x + b); s = sum(y * y) * sum(x); u is bound but unused
PROGRAM = {
    "inputs": {"W": {"data": W0.tolist(), "dtype": F64, "requires_grad": True},
               "x": {"data": X0.tolist(), "dtype": F64, "requires_grad": True},
               "b": {"data": B0.tolist(), "dtype": F64, "requires_grad": True},
               "u": {"data": [1.0, 2.0], "dtype": F64, "requires_grad": True}},
    "ops": [{"name": "y", "expr": "tanh(W @ x + b)"}, {"name": "s", "expr": "sum(y * y) * sum(x)"}],
}


def torch_y(W, x, b):
    return torch.tanh(W @ x + b)


def torch_s(W, x, b):
    return (torch_y(W, x, b) ** 2).sum() * x.sum()


T = tuple(torch.tensor(a) for a in (W0, X0, B0))


def data(variable) -> np.ndarray:
    return np.asarray(variable["data"], dtype=float)


def close(variable, want, shape=None):
    want = want.numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert variable["shape"] == list(shape if shape is not None else want.shape)
    np.testing.assert_allclose(data(variable), want, rtol=1e-6, atol=1e-12)


async def new_session(client, program=PROGRAM) -> str:
    r = await client.post("/v1/sessions", json=program)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def session_state(client, sid):
    """Everything a failed call must leave as it was: variables with data and grads, and the graph."""
    variables = (await client.get(f"/v1/sessions/{sid}", params={"data": "true"})).json()["variables"]
    return variables, (await client.get(f"/v1/sessions/{sid}/graph")).json()


async def test_jacobian_values_shapes_and_nesting_by_name(client):
    sid = await new_session(client)
    r = await client.post(f"/v1/sessions/{sid}/jacobian", json={"outputs": ["y", "s"], "inputs": ["W", "x", "u"]})
    assert r.status_code == 200, r.text
    J = r.json()["jacobian"]
    assert set(J) == {"y", "s"} and all(set(row) == {"W", "x", "u"} for row in J.values())
    jy = TAF.jacobian(lambda W, x: torch_y(W, x, T[2]), T[:2])
    js = TAF.jacobian(lambda W, x: torch_s(W, x, T[2]), T[:2])
    close(J["y"]["W"], jy[0], (3, 3, 4))
    close(J["y"]["x"], jy[1], (3, 4))
    close(J["s"]["W"], js[0], (3, 4))
    close(J["s"]["x"], js[1], (4,))
    close(J["y"]["u"], np.zeros((3, 2)))  # not reached: zeros
    assert J["y"]["W"]["dtype"] == "float64" and J["y"]["W"]["grad"] is None
    one = (await client.post(f"/v1/sessions/{sid}/jacobian", json={"outputs": "y", "inputs": "x",
                                                                    "chunk_size": 1})).json()["jacobian"]
    close(one["y"]["x"], jy[1])


async def test_jvp_hvp_hessian_match_torch(client):
    sid = await new_session(client)
    v = {"W": rng.standard_normal((3, 4)).tolist(), "x": rng.standard_normal(4).tolist()}
    tv = (torch.tensor(v["W"]), torch.tensor(v["x"]))
    r = await client.post(f"/v1/sessions/{sid}/jvp", json={"outputs": ["y", "s"], "inputs": ["W", "x"],
                                                          "tangents": v})
    assert r.status_code == 200, r.text
    want = TAF.jvp(lambda W, x: (torch_y(W, x, T[2]), torch_s(W, x, T[2])), T[:2], tv)[1]
    close(r.json()["jvp"]["y"], want[0])
    close(r.json()["jvp"]["s"], want[1])
    r = await client.post(f"/v1/sessions/{sid}/hvp", json={"output": "s", "inputs": ["W", "x"], "v": v})
    want = TAF.hvp(lambda W, x: torch_s(W, x, T[2]), T[:2], tv)[1]
    close(r.json()["hvp"]["W"], want[0])
    close(r.json()["hvp"]["x"], want[1])
    r = await client.post(f"/v1/sessions/{sid}/hessian", json={"output": "s", "inputs": ["x", "b", "u"]})
    H = r.json()["hessian"]
    want = TAF.hessian(lambda x, b: torch_s(T[0], x, b), T[1:])
    close(H["x"]["x"], want[0][0])
    close(H["x"]["b"], want[0][1], (4, 3))
    close(H["b"]["x"], want[1][0], (3, 4))
    close(H["u"]["x"], np.zeros((2, 4)))
    assert set(H) == {"x", "b", "u"}


async def test_batched_grad_is_one_request_for_many_cotangents(client):
    sid = await new_session(client)
    vs = rng.standard_normal((5, 3))
    r = await client.post(f"/v1/sessions/{sid}/grad", json={"outputs": "y", "inputs": ["W", "x"],
                                                           "grad_outputs": vs.tolist(), "is_grads_batched": True})
    assert r.status_code == 200, r.text
    tW, tx = (t.clone().requires_grad_() for t in T[:2])
    want = torch.autograd.grad(torch_y(tW, tx, T[2]), [tW, tx], torch.tensor(vs), is_grads_batched=True)
    close(r.json()["grads"]["W"], want[0], (5, 3, 4))
    close(r.json()["grads"]["x"], want[1], (5, 4))


async def test_the_graph_survives_and_no_grad_changes(client):
    sid = await new_session(client)
    before = await session_state(client, sid)
    for path, body in [("jacobian", {"outputs": "y", "inputs": "x"}),
                       ("jvp", {"outputs": "y", "inputs": "x", "tangents": {"x": [1, 1, 1, 1]}}),
                       ("hvp", {"output": "s", "inputs": "x", "v": {"x": [1, 0, 0, 0]}}),
                       ("hessian", {"output": "s", "inputs": ["W", "x"]}),
                       ("grad", {"outputs": "y", "inputs": "x", "grad_outputs": np.eye(3).tolist(),
                                 "is_grads_batched": True, "retain_graph": True})]:
        r = await client.post(f"/v1/sessions/{sid}/{path}", json=body)
        assert r.status_code == 200, (path, r.text)
    assert await session_state(client, sid) == before  # nothing freed, no grad set
    r = await client.post(f"/v1/sessions/{sid}/backward", json={"output": "s"})  # the graph is all there
    assert r.status_code == 200, r.text


async def test_errors_are_problems_and_leave_the_session_unchanged(client):
    sid = await new_session(client)
    before = await session_state(client, sid)
    cases = [
        ("jacobian", {"outputs": "y", "inputs": "nope"}, 422, "unknown name 'nope'", "/inputs/0"),
        ("hessian", {"output": "y", "inputs": "x"}, 422, "single element", None),
        ("hvp", {"output": "s", "inputs": "x", "v": {"x": [1, 2]}}, 422, "v[0] has shape (2,)", None),
        ("jvp", {"outputs": "y", "inputs": ["x", "W"], "tangents": {"x": [1, 1, 1, 1]}}, 422,
         "'tangents' needs a tensor or a name for input 'W'", "/tangents/W"),
        ("jvp", {"outputs": "y", "inputs": "x", "tangents": {"x": "missing"}}, 422, "unknown name 'missing'",
         "/tangents/x"),
        ("jacobian", {"outputs": "y", "inputs": "x", "chunk_size": 0}, 422, None, None),
        ("grad", {"outputs": "y", "inputs": "x", "grad_outputs": [1, 1, 1], "is_grads_batched": True}, 422,
         "batch axis", None),
        ("grad", {"outputs": "y", "inputs": ["x", "W"], "grad_outputs": [[1, 1]], "bind": ["gx", "gW"],
                  "is_grads_batched": True}, 422, "batch axis", None),
    ]
    for path, body, status, detail, pointer in cases:
        r = await client.post(f"/v1/sessions/{sid}/{path}", json=body)
        assert r.status_code == status, (path, r.text)
        problem = r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
        if detail:
            assert detail in problem["detail"], problem
        if pointer:
            assert any(e.get("pointer") == pointer for e in problem.get("errors", [])), problem
    assert await session_state(client, sid) == before


async def test_a_failing_derivative_in_a_program_undoes_the_whole_program(client):
    sid = await new_session(client)
    before = await session_state(client, sid)
    r = await client.post(f"/v1/sessions/{sid}/run", json={
        "ops": [{"name": "z", "expr": "y * 2"}], "backward": [{"output": "s", "retain_graph": True}],
        "derivatives": [{"kind": "grad", "outputs": "z", "inputs": "x", "grad_outputs": [1, 1, 1],
                         "bind": "gz", "retain_graph": True},
                        {"kind": "hessian", "output": "z", "inputs": "x"}]})
    assert r.status_code == 422 and "single element" in r.json()["detail"]
    assert any(e.get("pointer", "").startswith("/derivatives/1") for e in r.json()["errors"]), r.json()
    assert await session_state(client, sid) == before  # no z, no gz, no grads, nothing freed


async def test_names_as_gradients_tangents_and_v(client):
    sid = await new_session(client)
    r = await client.post(f"/v1/sessions/{sid}/run", json={
        "inputs": {"g": {"data": [1.0, -2.0, 0.5], "dtype": F64},
                   "t": {"data": [0.5, 0.5, 0.5, 0.5], "dtype": F64}},
        "derivatives": [{"kind": "grad", "outputs": "y", "inputs": "x", "grad_outputs": "g", "retain_graph": True},
                        {"kind": "jvp", "outputs": "y", "inputs": "x", "tangents": {"x": "t"}},
                        {"kind": "hvp", "output": "s", "inputs": "x", "v": {"x": "t"}}],
        "return": ["g"]})
    assert r.status_code == 200, r.text
    grad, jvp, hvp = r.json()["derivatives"]
    J = TAF.jacobian(lambda x: torch_y(T[0], x, T[2]), T[1]).numpy()
    close(grad["grads"]["x"], np.array([1.0, -2.0, 0.5]) @ J)
    close(jvp["jvp"]["y"], J @ np.full(4, 0.5))
    close(hvp["hvp"]["x"], TAF.hvp(lambda x: torch_s(T[0], x, T[2]), T[1], torch.full((4,), 0.5))[1])
    # backward's gradient by name
    r = await client.post(f"/v1/sessions/{sid}/backward", json={"output": "y", "gradient": "g", "return": ["x"]})
    np.testing.assert_allclose(r.json()["variables"]["x"]["grad"], np.array([1.0, -2.0, 0.5]) @ J, rtol=1e-6)


async def test_a_name_as_gradient_is_differentiable_under_create_graph(client):
    sid = await new_session(client, {"inputs": {"x": {"data": [1.0, 2.0], "dtype": F64, "requires_grad": True}},
                                     "ops": [{"name": "y", "expr": "x * x"}, {"name": "w", "expr": "x * 3"}]})
    # g = (dy/dx)^T w = 2x * 3x = 6x^2 elementwise; its backward gives 12x
    r = await client.post(f"/v1/sessions/{sid}/grad", json={"outputs": "y", "inputs": "x", "grad_outputs": "w",
                                                           "create_graph": True, "bind": "g"})
    assert r.json()["grads"]["g"]["data"] == [6.0, 24.0]
    r = await client.post(f"/v1/sessions/{sid}/backward", json={"output": "g", "gradient": [1.0, 1.0]})
    assert r.json()["variables"]["x"]["grad"] == [12.0, 24.0]


async def test_evaluate_gives_a_jacobian_and_a_hessian_statelessly(client):
    r = await client.post("/v1/evaluate", json={
        **PROGRAM, "derivatives": [{"kind": "jacobian", "outputs": "y", "inputs": "x"},
                                   {"kind": "hessian", "output": "s", "inputs": "x"}],
        "return": ["y"], "encoding": "base64"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"variables", "derivatives"}
    jac, hess = body["derivatives"]
    got = np.frombuffer(base64.b64decode(jac["jacobian"]["y"]["x"]["data"]["b64"]), "<f8")
    np.testing.assert_allclose(got.reshape(3, 4), TAF.jacobian(lambda x: torch_y(T[0], x, T[2]), T[1]).numpy(),
                               rtol=1e-6)
    assert hess["hessian"]["x"]["x"]["shape"] == [4, 4]
    plain = await client.post("/v1/evaluate", json=PROGRAM)
    assert "derivatives" not in plain.json()  # only programs that asked


async def test_sizes_are_admitted_from_shapes_before_computing(make_client):
    async with make_client(MAX_TENSOR_ELEMENTS=100) as c:
        sid = await new_session(c, {"inputs": {"x": {"data": list(range(20)), "requires_grad": True}},
                                    "ops": [{"name": "y", "expr": "x * 2"}, {"name": "s", "expr": "sum(y * y)"}]})
        r = await c.post(f"/v1/sessions/{sid}/jacobian", json={"outputs": "y", "inputs": "x"})
        assert r.status_code == 413 and "400 elements" in r.json()["detail"], r.text
        r = await c.post(f"/v1/sessions/{sid}/hessian", json={"output": "s", "inputs": "x"})
        assert r.status_code == 413
    async with make_client(MAX_SESSION_BYTES=100_000) as c:
        sid = await new_session(c, {"inputs": {"x": {"data": [0.0] * 200, "requires_grad": True}},
                                    "ops": [{"name": "y", "expr": "x * 2"}]})
        r = await c.post(f"/v1/sessions/{sid}/jacobian", json={"outputs": "y", "inputs": "x"})
        assert r.status_code == 413 and "160000 bytes" in r.json()["detail"], r.text
    async with make_client(MAX_TENSOR_ELEMENTS=100) as c:
        # under the limit, the batched passes are chunked so no batched gradient passes it: same answer
        sid = await new_session(c, {"inputs": {"x": {"data": list(range(8)), "dtype": F64, "requires_grad": True}},
                                    "ops": [{"name": "y", "expr": "x * x"}]})
        r = await c.post(f"/v1/sessions/{sid}/jacobian", json={"outputs": "y", "inputs": "x"})
        assert r.status_code == 200 and data(r.json()["jacobian"]["y"]["x"]).tolist() == np.diag(
            2.0 * np.arange(8)).tolist()


async def test_a_constant_operand_is_not_charged_for_a_gradient_it_never_gets(make_client):
    # y = tanh(W @ x) with a constant 256 x 256 W: the batched passes of the Jacobian carry 256 rows of x's
    # gradient, never W's (which would be 256 x 256 x 256 float64, 134 MB a pass)
    W, x = rng.standard_normal((256, 256)) / 16, rng.standard_normal(256)
    async with make_client(MAX_SESSION_BYTES=64 * 2**20) as c:
        sid = await new_session(c, {"inputs": {"W": {"data": W.tolist(), "dtype": F64},
                                               "x": {"data": x.tolist(), "dtype": F64, "requires_grad": True}},
                                    "ops": [{"name": "y", "expr": "tanh(W @ x)"}]})
        r = await c.post(f"/v1/sessions/{sid}/jacobian", json={"outputs": "y", "inputs": "x"})
        assert r.status_code == 200, r.text
        expected = (1 - np.tanh(W @ x) ** 2)[:, None] * W
        np.testing.assert_allclose(data(r.json()["jacobian"]["y"]["x"]), expected, rtol=1e-12)


EXAMPLE_SESSIONS = {"grad": {"higher_order": "cube"}, "hvp": {}, "hessian": {}}  # the rest: "linear"


@pytest.mark.parametrize("path, examples", [("grad", GRAD_EXAMPLES), ("jacobian", JACOBIAN_EXAMPLES),
                                            ("jvp", JVP_EXAMPLES), ("hvp", HVP_EXAMPLES),
                                            ("hessian", HESSIAN_EXAMPLES)])
async def test_the_docs_examples_run(client, path, examples):
    for name, example in examples.items():
        start = EXAMPLE_SESSIONS.get(path, {}).get(name, "cube" if path in ("hvp", "hessian") else "linear")
        sid = await new_session(client, SESSION_EXAMPLES[start]["value"])
        r = await client.post(f"/v1/sessions/{sid}/{path}", json=example["value"])
        assert r.status_code == 200, (path, name, r.text)
    r = await client.post("/v1/evaluate", json=PROGRAM_EXAMPLES["jacobian"]["value"])
    assert r.status_code == 200 and len(r.json()["derivatives"]) == 2


async def test_the_examples_numbers(client):
    sid = await new_session(client, SESSION_EXAMPLES["cube"]["value"])
    r = await client.post(f"/v1/sessions/{sid}/hessian", json=HESSIAN_EXAMPLES["cube"]["value"])
    assert r.json()["hessian"]["x"]["x"]["data"] == 18.0
    sid = await new_session(client, SESSION_EXAMPLES["linear"]["value"])
    r = await client.post(f"/v1/sessions/{sid}/grad", json=GRAD_EXAMPLES["batched"]["value"])
    assert r.json()["grads"]["x"]["data"] == [[[4.0, 0.0], [0.0, 0.0]], [[2.0, 2.0], [2.0, 2.0]]]


def test_derivatives_on_a_real_server(server):
    with httpx.Client(base_url=server) as http:
        r = http.post("/v1/sessions", json=PROGRAM)
        sid = r.json()["id"]
        r = http.post(f"/v1/sessions/{sid}/run", json={
            "derivatives": [{"kind": "jacobian", "outputs": "y", "inputs": ["x"]},
                            {"kind": "hessian", "output": "s", "inputs": "b"}]})
        assert r.status_code == 200, r.text
        jac, hess = r.json()["derivatives"]
        close(jac["jacobian"]["y"]["x"], TAF.jacobian(lambda x: torch_y(T[0], x, T[2]), T[1]))
        close(hess["hessian"]["b"]["b"], TAF.hessian(lambda b: torch_s(T[0], T[1], b), T[2]))
        r = http.post(f"/v1/sessions/{sid}/hvp", json={"output": "s", "inputs": "x", "v": {"x": [1, 0, 0, 0]}})
        close(r.json()["hvp"]["x"], TAF.hvp(lambda x: torch_s(T[0], x, T[2]), T[1],
                                            torch.tensor([1.0, 0, 0, 0], dtype=torch.float64))[1])
        http.delete(f"/v1/sessions/{sid}")
