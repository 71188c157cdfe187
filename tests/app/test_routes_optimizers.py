"""Optimizers over HTTP: create, read, step, zero_grad, a training step in one /run; torch.optim parity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.anyio

RNG = np.random.default_rng(1)
W0, B0 = RNG.normal(size=(3, 2)), RNG.normal(size=(2,))
X, Y = RNG.normal(size=(6, 3)), RNG.normal(size=(6, 2))
LOSS = "mean((tanh(x @ w + b) - y) ** 2)"
TORCH = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
         "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}
CASES = [
    ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"lr": 0.1, "momentum": 0.5, "dampening": 0.1, "weight_decay": 0.01, "maximize": True}),
    ("adam", {"lr": 0.05, "betas": [0.8, 0.95], "amsgrad": True}),
    ("adamw", {"lr": 0.05, "weight_decay": 0.1}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9, "centered": True}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
]


async def training_session(client, dtype="float64") -> str:
    tensor = {"dtype": dtype}
    r = await client.post("/v1/sessions", json={"inputs": {
        "w": {**tensor, "data": W0.tolist(), "requires_grad": True},
        "b": {**tensor, "data": B0.tolist(), "requires_grad": True},
        "x": {**tensor, "data": X.tolist()}, "y": {**tensor, "data": Y.tolist()}}})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def torch_run(kind, hyper, dtype, steps=20):
    dt = getattr(torch, dtype)
    w, b = torch.tensor(W0, dtype=dt, requires_grad=True), torch.tensor(B0, dtype=dt, requires_grad=True)
    x, y = torch.tensor(X, dtype=dt), torch.tensor(Y, dtype=dt)
    opt = TORCH[kind]([w, b], **{k: tuple(v) if isinstance(v, list) else v for k, v in hyper.items()})
    for _ in range(steps):
        opt.zero_grad()
        ((torch.tanh(x @ w + b) - y) ** 2).mean().backward()
        opt.step()
    return w.detach().numpy(), b.detach().numpy()


@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-6), ("float32", 1e-4)])
@pytest.mark.parametrize("kind,hyper", CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
async def test_twenty_training_steps_in_one_run_each_equal_torch(client, kind, hyper, dtype, rtol):
    sid = await training_session(client, dtype)
    r = await client.post(f"/v1/sessions/{sid}/optimizers", json={"name": "opt", "type": kind, "params": ["w", "b"],
                                                                  **hyper})
    assert r.status_code == 201, r.text
    step = {"zero_grad": True, "ops": [{"name": "loss", "expr": LOSS}], "backward": [{"output": "loss"}],
            "step": ["opt"], "return": ["w", "b"]}
    for _ in range(20):
        r = await client.post(f"/v1/sessions/{sid}/run", json=step)
        assert r.status_code == 200, r.text
    tw, tb = torch_run(kind, hyper, dtype)
    body = r.json()["variables"]
    assert body["w"]["dtype"] == dtype
    np.testing.assert_allclose(body["w"]["data"], tw, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(body["b"]["data"], tb, rtol=rtol, atol=rtol * 1e-2)
    assert (await client.get(f"/v1/sessions/{sid}/optimizers/opt")).json()["steps"] == 20


async def test_separate_backward_step_and_zero_grad_calls_equal_torch(client):
    sid = await training_session(client)
    hyper = {"lr": 0.05, "betas": [0.9, 0.99]}
    r = await client.post(f"/v1/sessions/{sid}/optimizers", json={"name": "adam", "type": "adam",
                                                                  "params": ["w", "b"], **hyper})
    assert r.status_code == 201
    assert r.headers["location"] == f"/v1/sessions/{sid}/optimizers/adam"
    assert r.json() == {"name": "adam", "type": "adam", "params": ["w", "b"], "steps": 0, "hyperparameters": {
        "lr": 0.05, "betas": [0.9, 0.99], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False, "maximize": False}}
    await client.post(f"/v1/sessions/{sid}/run", json={"ops": [{"name": "loss", "expr": LOSS}]})
    for _ in range(20):
        assert (await client.post(f"/v1/sessions/{sid}/optimizers/adam/zero_grad")).status_code == 204
        await client.post(f"/v1/sessions/{sid}/run", json={"ops": [{"name": "loss", "expr": LOSS}]})
        r = await client.post(f"/v1/sessions/{sid}/backward", json={"output": "loss"})
        assert r.status_code == 200
        r = await client.post(f"/v1/sessions/{sid}/optimizers/adam/step")
        assert r.status_code == 200 and set(r.json()["variables"]) == {"w", "b"}
    tw, tb = torch_run("adam", hyper, "float64")
    np.testing.assert_allclose(r.json()["variables"]["w"]["data"], tw, rtol=1e-6)
    np.testing.assert_allclose(r.json()["variables"]["b"]["data"], tb, rtol=1e-6)


async def test_manual_update_with_no_grad_and_requires_grad_equals_torch(client):
    sid = await training_session(client)
    for _ in range(20):
        r = await client.post(f"/v1/sessions/{sid}/run", json={"ops": [{"name": "loss", "expr": LOSS}]})
        r = await client.post(f"/v1/sessions/{sid}/grad", json={"outputs": "loss", "inputs": ["w", "b"],
                                                                "bind": ["gw", "gb"]})
        assert r.status_code == 200, r.text
        r = await client.post(f"/v1/sessions/{sid}/run", json={"ops": [
            {"name": "w", "expr": "w - 0.1 * gw", "no_grad": True, "requires_grad": True},
            {"name": "b", "expr": "b - 0.1 * gb", "no_grad": True, "requires_grad": True}]})
        assert r.status_code == 200, r.text
    body = r.json()["variables"]
    assert body["w"]["is_leaf"] and body["w"]["requires_grad"] and body["w"]["grad_fn"] is None
    w, b = torch.tensor(W0, requires_grad=True), torch.tensor(B0, requires_grad=True)
    for _ in range(20):
        gw, gb = torch.autograd.grad(((torch.tanh(torch.tensor(X) @ w + b) - torch.tensor(Y)) ** 2).mean(), [w, b])
        w = (w - 0.1 * gw).detach().requires_grad_()
        b = (b - 0.1 * gb).detach().requires_grad_()
    np.testing.assert_allclose(body["w"]["data"], w.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(body["b"]["data"], b.detach().numpy(), rtol=1e-6)


async def test_requires_grad_on_a_computed_result_is_a_422_with_torchs_message(client):
    sid = await training_session(client)
    r = await client.post(f"/v1/sessions/{sid}/run", json={"ops": [{"name": "v", "expr": "w * 2",
                                                                    "requires_grad": True}]})
    assert r.status_code == 422
    body = r.json()
    assert body["type"] == "/problems/not-a-leaf" and body["op_index"] == 0
    assert body["errors"][0]["pointer"] == "/ops/0/requires_grad"
    assert body["detail"].startswith("you can only change requires_grad flags of leaf variables.")
    assert "v" not in (await client.get(f"/v1/sessions/{sid}")).json()["variables"]


async def test_backward_after_a_step_through_a_saved_param_is_a_409_as_in_torch(client):
    sid = await training_session(client)
    await client.post(f"/v1/sessions/{sid}/optimizers", json={"name": "opt", "type": "sgd", "params": ["w"],
                                                              "lr": 0.1})
    r = await client.post(f"/v1/sessions/{sid}/run", json={
        "ops": [{"name": "sq", "expr": "sum(w * w)"}, {"name": "lin", "expr": "sum(x @ w)"}],
        "backward": [{"output": "sq", "retain_graph": True}], "step": ["opt"]})
    assert r.status_code == 200, r.text
    w = torch.tensor(W0, requires_grad=True)
    sq = (w * w).sum()
    sq.backward(retain_graph=True)
    torch.optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError) as theirs:
        sq.backward()
    r = await client.post(f"/v1/sessions/{sid}/backward", json={"output": "sq"})
    assert r.status_code == 409
    body = r.json()
    assert body["type"] == "/problems/modified-in-place"
    assert body["detail"].startswith(str(theirs.value).replace("FloatTensor", "DoubleTensor")[:60])
    assert str(theirs.value).split("Tensor ")[1] in body["detail"]  # shape, versions and hint, word for word
    grads_before = (await client.get(f"/v1/sessions/{sid}/variables/w")).json()["grad"]
    r = await client.post(f"/v1/sessions/{sid}/backward", json={"output": "lin"})  # saved x only: works
    assert r.status_code == 200
    assert r.json()["variables"]["w"]["grad"] != grads_before


@pytest.mark.parametrize("body,pointer", [
    ({"name": "o", "type": "sgd", "params": ["w"], "lr": -0.1}, "/lr"),
    ({"name": "o", "type": "sgd", "params": ["w"], "speed": 2}, "/speed"),
    ({"name": "o", "type": "adam", "params": ["w"], "momentum": 0.9}, "/momentum"),
    ({"name": "o", "type": "lbfgs", "params": ["w"]}, "/type"),
    ({"name": "o", "type": "sgd", "params": ["x"]}, "/params/0"),
    ({"name": "o", "type": "sgd", "params": ["w", "z"]}, "/params/1"),
    ({"name": "o", "type": "sgd", "params": ["w", "nope"]}, "/params/1"),
    ({"name": "opt", "type": "adam", "params": ["w"]}, "/name"),
    ({"name": "o", "type": "sgd", "params": ["w"], "nesterov": True}, "/nesterov"),
    ({"name": "o", "type": "adam", "params": ["w"], "betas": [0.9]}, "/betas"),
])
async def test_bad_optimizers_are_422_and_make_nothing(client, body, pointer):
    sid = await training_session(client)
    await client.post(f"/v1/sessions/{sid}/run", json={"ops": [{"name": "z", "expr": "w * 2"}]})
    assert (await client.post(f"/v1/sessions/{sid}/optimizers", json={"name": "opt", "type": "sgd",
                                                                      "params": ["w"]})).status_code == 201
    r = await client.post(f"/v1/sessions/{sid}/optimizers", json=body)
    assert r.status_code == 422, r.text
    problem = r.json()
    pointers = [e.get("pointer") for e in problem.get("errors", [])]
    assert any(p is not None and p.startswith(pointer) for p in pointers), problem
    if body["name"] != "opt":
        assert (await client.get(f"/v1/sessions/{sid}/optimizers/{body['name']}")).status_code == 404
    assert (await client.get(f"/v1/sessions/{sid}/optimizers/opt")).json()["type"] == "sgd"


async def test_unknown_optimizers_are_404_and_a_step_naming_one_changes_nothing(client):
    sid = await training_session(client)
    r = await client.get(f"/v1/sessions/{sid}/optimizers/opt")
    assert r.status_code == 404 and r.json()["type"] == "/problems/optimizer-not-found"
    assert (await client.post(f"/v1/sessions/{sid}/optimizers/opt/step")).status_code == 404
    assert (await client.post(f"/v1/sessions/{sid}/optimizers/opt/zero_grad")).status_code == 404
    r = await client.post(f"/v1/sessions/{sid}/run", json={"ops": [{"name": "loss", "expr": LOSS}],
                                                            "backward": [{"output": "loss"}], "step": ["opt"]})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/step/0"
    variables = (await client.get(f"/v1/sessions/{sid}")).json()["variables"]
    assert "loss" not in variables


async def test_a_step_in_a_failing_run_is_undone(client):
    sid = await training_session(client)
    await client.post(f"/v1/sessions/{sid}/optimizers", json={"name": "opt", "type": "sgd", "params": ["w", "b"],
                                                              "lr": 0.5, "momentum": 0.9})
    before = (await client.get(f"/v1/sessions/{sid}/variables/w")).json()["data"]
    r = await client.post(f"/v1/sessions/{sid}/run", json={
        "ops": [{"name": "loss", "expr": LOSS}], "backward": [{"output": "loss"}], "step": ["opt"],
        "return": ["w", "missing"]})
    assert r.status_code == 422
    after = (await client.get(f"/v1/sessions/{sid}/variables/w")).json()
    assert after["data"] == before and after["grad"] is None
    assert (await client.get(f"/v1/sessions/{sid}/optimizers/opt")).json()["steps"] == 0


async def test_step_skips_params_without_grad_and_returns_base64_when_asked(client):
    sid = await training_session(client, "float32")
    await client.post(f"/v1/sessions/{sid}/optimizers", json={"name": "opt", "type": "sgd", "params": ["w", "b"],
                                                              "lr": 0.1})
    await client.post(f"/v1/sessions/{sid}/run", json={"ops": [{"name": "s", "expr": "sum(w)"}],
                                                       "backward": [{"output": "s"}]})
    r = await client.post(f"/v1/sessions/{sid}/optimizers/opt/step", json={"encoding": "base64"})
    assert r.status_code == 200
    variables = r.json()["variables"]
    w = np.frombuffer(__import__("base64").b64decode(variables["w"]["data"]["b64"]), "<f4").reshape(3, 2)
    np.testing.assert_allclose(w, W0.astype(np.float32) - 0.1, rtol=1e-6)
    b = np.frombuffer(__import__("base64").b64decode(variables["b"]["data"]["b64"]), "<f4")
    np.testing.assert_array_equal(b, B0.astype(np.float32))  # no grad: untouched


async def test_manual_loop_with_data_and_grad_in_one_request_per_step_equals_torch(client):
    """w.data - lr * w.grad with requires_grad: the update PyTorch users write under torch.no_grad()."""
    sid = await training_session(client)
    step = {"zero_grad": True, "ops": [{"name": "loss", "expr": LOSS}], "backward": [{"output": "loss"}]}
    update = [{"name": "w", "expr": "w.data - 0.1 * w.grad", "requires_grad": True},
              {"name": "b", "expr": "b.data - 0.1 * b.grad", "requires_grad": True}]
    for _ in range(20):
        r = await client.post(f"/v1/sessions/{sid}/run", json={**step, "return": ["loss"]})
        assert r.status_code == 200, r.text
        r = await client.post(f"/v1/sessions/{sid}/run", json={"ops": update, "return": ["w", "b"]})
        assert r.status_code == 200, r.text
    w, b = torch.tensor(W0, requires_grad=True), torch.tensor(B0, requires_grad=True)
    for _ in range(20):
        ((torch.tanh(torch.tensor(X) @ w + b) - torch.tensor(Y)) ** 2).mean().backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        w.grad = b.grad = None
    body = r.json()["variables"]
    np.testing.assert_allclose(body["w"]["data"], w.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(body["b"]["data"], b.detach().numpy(), rtol=1e-6)
    assert body["w"]["is_leaf"] and body["w"]["requires_grad"]


async def test_a_snapshot_keeps_the_optimizer_and_the_restored_session_trains_on_identically(client):
    sid = await training_session(client)
    await client.post(f"/v1/sessions/{sid}/optimizers", json={"name": "opt", "type": "rmsprop",
                                                              "params": ["w", "b"], "lr": 0.01, "momentum": 0.9})
    step = {"zero_grad": True, "ops": [{"name": "loss", "expr": LOSS}], "backward": [{"output": "loss"}],
            "step": ["opt"], "return": ["w", "b"]}
    for _ in range(5):
        await client.post(f"/v1/sessions/{sid}/run", json=step)
    snapshot = await client.get(f"/v1/sessions/{sid}/snapshot")
    assert snapshot.status_code == 200
    r = await client.post("/v1/sessions/restore", content=snapshot.content,
                          headers={"content-type": "application/octet-stream"})
    assert r.status_code == 201, r.text
    copy = r.json()["id"]
    assert (await client.get(f"/v1/sessions/{copy}/optimizers/opt")).json() == \
        (await client.get(f"/v1/sessions/{sid}/optimizers/opt")).json()
    for _ in range(15):
        a = await client.post(f"/v1/sessions/{sid}/run", json=step)
        b = await client.post(f"/v1/sessions/{copy}/run", json=step)
    assert a.json()["variables"]["w"]["data"] == b.json()["variables"]["w"]["data"]
    tw, _ = torch_run("rmsprop", {"lr": 0.01, "momentum": 0.9}, "float64")
    np.testing.assert_allclose(b.json()["variables"]["w"]["data"], tw, rtol=1e-6)
    assert (await client.get(f"/v1/sessions/{copy}/optimizers/opt")).json()["steps"] == 20
