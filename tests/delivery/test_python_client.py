"""The generated Python client drives the seed tutorial on a live server; refusals come back as Problem models."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from gradserve_client import Client
from gradserve_client.api.health import healthz
from gradserve_client.api.ops import list_ops
from gradserve_client.api.sessions import (
    backward,
    create_session,
    delete_session,
    get_graph,
    get_session,
    grad,
    run_program,
)
from gradserve_client.models import (
    BackwardRequest,
    GradRequest,
    Graph,
    OpCall,
    OpsResponse,
    Problem,
    Program,
    ProgramInputs,
    Session,
    VariablesResponse,
)


@pytest.fixture(scope="module")
def client(live_server: str) -> Iterator[Client]:
    with Client(base_url=live_server, raise_on_unexpected_status=True) as c:
        yield c


@pytest.fixture
def sid(client: Client) -> Iterator[str]:
    session = create_session.sync(client=client, body=Program())
    assert isinstance(session, Session)
    yield session.id
    delete_session.sync_detailed(session.id, client=client)


def leaves(**tensors: Any) -> ProgramInputs:
    return ProgramInputs.from_dict({n: {"data": d, "requires_grad": True} for n, d in tensors.items()})


def ok(parsed: Any) -> VariablesResponse:
    assert isinstance(parsed, VariablesResponse), parsed
    return parsed


def close(value: Any, expected: Any) -> None:
    np.testing.assert_allclose(np.asarray(value, dtype=float), expected, rtol=1e-5, atol=1e-5)


def test_health_and_catalog(client: Client) -> None:
    assert healthz.sync(client=client).status == "ok"
    ops = list_ops.sync(client=client)
    assert isinstance(ops, OpsResponse)
    assert {"add", "mul", "mean", "pow", "norm"} <= {o.name for o in ops.ops}


def test_seed_out_is_27_and_a_second_backward_is_a_409_problem(client: Client, sid: str) -> None:
    program = Program(inputs=leaves(x=[[1, 1], [1, 1]]),
                      ops=[OpCall(name="y", op="add", args=["x", 2]), OpCall(name="z", expr="y * y * 3"),
                           OpCall(name="out", op="mean", args=["z"])])
    v = ok(run_program.sync(sid, client=client, body=program)).variables
    assert (v["y"].grad_fn, v["z"].grad_fn, v["out"].grad_fn) == ("AddBackward0", "MulBackward0", "MeanBackward0")
    close(v["out"].data, 27)
    assert v["x"].grad is None and v["x"].is_leaf

    v = ok(backward.sync(sid, client=client, body=BackwardRequest(output="out", return_=["x"]))).variables
    close(v["x"].grad, np.full((2, 2), 4.5))

    again = backward.sync_detailed(sid, client=client, body=BackwardRequest(output="out"))
    assert again.status_code == 409
    assert isinstance(again.parsed, Problem)
    assert again.parsed.type_ == "/problems/graph-freed"
    assert "backward through the graph a second time" in again.parsed.detail


def test_linear_accumulates_and_a_non_scalar_backward_is_a_422_problem(client: Client, sid: str) -> None:
    ok(run_program.sync(sid, client=client, body=Program(inputs=leaves(x=[[1, 1], [1, 1]]),
                                                         ops=[OpCall(name="y", expr="4 * x + 2")])))
    refused = backward.sync_detailed(sid, client=client, body=BackwardRequest(output="y"))
    assert refused.status_code == 422
    assert isinstance(refused.parsed, Problem)
    assert refused.parsed.status == 422 and "scalar" in refused.parsed.detail

    v = ok(backward.sync(sid, client=client, body=BackwardRequest(output="y", gradient=[[1, 1], [1, 1]],
                                                                  retain_graph=True, return_=["x"]))).variables
    close(v["x"].grad, np.full((2, 2), 4.0))
    g = [[1.0932, 1.9507], [-1.0305, -0.7468]]
    v = ok(backward.sync(sid, client=client, body=BackwardRequest(output="y", gradient=g, retain_graph=True,
                                                                  return_=["x"]))).variables
    close(v["x"].grad, 4 + 4 * np.array(g))


def test_while_loop_driven_from_the_client(client: Client, sid: str) -> None:
    x = [1.3570, -0.3653, 0.6265]
    y = ok(run_program.sync(sid, client=client, body=Program(inputs=leaves(x=x), ops=[
        OpCall(name="y", op="mul", args=["x", 2])], return_=["y"]))).variables["y"]
    while np.linalg.norm(y.data) < 1000:
        y = ok(run_program.sync(sid, client=client, body=Program(ops=[OpCall(name="y", op="mul", args=["y", 2])],
                                                                 return_=["y"]))).variables["y"]
    close(y.data, 1024 * np.array(x))
    v = ok(backward.sync(sid, client=client, body=BackwardRequest(output="y", gradient=[0.1, 1.0, 0.0001],
                                                                  return_=["x"]))).variables
    close(v["x"].grad, [102.4, 1024.0, 0.1024])


def test_second_derivative_through_grad_with_bind(client: Client, sid: str) -> None:
    ok(run_program.sync(sid, client=client, body=Program(inputs=leaves(x=3.0), ops=[OpCall(name="y", expr="x ** 3")])))
    v = ok(grad.sync(sid, client=client, body=GradRequest(outputs="y", inputs="x", create_graph=True,
                                                          bind="dydx"))).variables
    close(v["dydx"].data, 27.0)
    v = ok(backward.sync(sid, client=client, body=BackwardRequest(output="dydx", return_=["x"]))).variables
    close(v["x"].grad, 18.0)

    session = get_session.sync(sid, client=client)
    assert isinstance(session, Session) and "dydx" in session.variables.additional_properties
    graph = get_graph.sync(sid, client=client)
    assert isinstance(graph, Graph) and any(n.label == "PowBackward0" for n in graph.nodes)


def test_unknown_session_is_a_404_problem(client: Client) -> None:
    r = get_session.sync_detailed("no-such-session", client=client)
    assert r.status_code == 404 and isinstance(r.parsed, Problem)
