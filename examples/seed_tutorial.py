"""The seed autograd tutorial (PyTorch 0.x, `Variable`) run on a gradserve server through the generated client.

    python examples/seed_tutorial.py [BASE_URL]     (or GRADSERVE_URL; default http://127.0.0.1:8000)

Each step prints what the notebook printed: a variable's data, grad and grad_fn.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable
from typing import Any

from gradserve_client import Client
from gradserve_client.api.sessions import backward, create_session, delete_session, grad, run_program
from gradserve_client.models import BackwardRequest, GradRequest, OpCall, Problem, Program, ProgramInputs
from gradserve_client.types import UNSET

# In [19]: the notebook's torch.randn(2, 2)
GRADIENT = [[1.0932, 1.9507], [-1.0305, -0.7468]]


class ProblemError(Exception):
    """A problem+json answer, kept as the generated Problem model."""

    def __init__(self, problem: Problem):
        super().__init__(f"{problem.status} {problem.type_}: {problem.detail}")
        self.problem = problem


def call(endpoint: Any, client: Client, **kwargs: Any) -> Any:
    parsed = endpoint.sync_detailed(client=client, **kwargs).parsed
    if isinstance(parsed, Problem):
        raise ProblemError(parsed)
    return parsed


def rounded(value: Any) -> Any:
    """Four decimals, as the notebook printed tensors."""
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return round(value, 4) if isinstance(value, float) else value


def show(variables: Any, *names: str, attrs: tuple[str, ...] = ("data", "grad", "grad_fn")) -> None:
    for name in names:
        v = variables[name]
        for attr in attrs:
            value = getattr(v, attr)
            shown = "None" if value is None or value is UNSET else json.dumps(rounded(value))
            print(f"{name}.{attr} = {shown}")


def expect_problem(request: Callable[[], Any]) -> None:
    """Run a request the tutorial expects to fail, and print the problem it answers."""
    try:
        request()
    except ProblemError as e:
        print(f"error {e.problem.status} {e.problem.type_}: {e.problem.detail}")
        return
    raise SystemExit("expected an error answer, got a success")


def step(title: str) -> None:
    print(f"\n# {title}")


def inputs(**tensors: Any) -> ProgramInputs:
    return ProgramInputs.from_dict({n: {"data": d, "requires_grad": True} for n, d in tensors.items()})


def main(base_url: str) -> None:
    client = Client(base_url=base_url, raise_on_unexpected_status=True)
    sid = call(create_session, client, body=Program()).id
    try:
        tutorial(client, sid)
    finally:
        delete_session.sync_detailed(sid, client=client)


def tutorial(client: Client, sid: str) -> None:
    def run(program: Program) -> Any:
        return call(run_program, client, session_id=sid, body=program).variables

    def back(**kwargs: Any) -> Any:
        return call(backward, client, session_id=sid, body=BackwardRequest(**kwargs)).variables

    step("In [2]-[5]: x = Variable(torch.ones(2, 2), requires_grad=True)")
    show(run(Program(inputs=inputs(x=[[1, 1], [1, 1]]), return_=["x"])), "x")

    step("In [6]-[10]: y = x + 2; z = y * y * 3; out = z.mean()")
    v = run(Program(ops=[OpCall(name="y", op="add", args=["x", 2]),
                         OpCall(name="z", op="mul", args=["y", "y"]),
                         OpCall(name="z", op="mul", args=["z", 3]),
                         OpCall(name="out", expr="mean(z)")]))
    show(v, "y", "z", "out", attrs=("data", "grad_fn"))

    step("In [11]-[12]: out.backward(); x.grad")
    show(back(output="out", return_=["x"]), "x", attrs=("grad",))

    step("out.backward() again: its buffers were freed (retain_graph was not set)")
    expect_problem(lambda: back(output="out"))

    step("In [14]-[15]: x = Variable(torch.ones(2, 2), requires_grad=True); y = 4 * x + 2")
    show(run(Program(inputs=inputs(x=[[1, 1], [1, 1]]), ops=[OpCall(name="y", expr="4 * x + 2")],
                     return_=["y"])), "y", attrs=("data", "grad_fn"))

    step("y.backward() without a gradient: y is not a scalar")
    expect_problem(lambda: back(output="y"))

    step("In [16]-[17]: y.backward(torch.ones(2, 2), retain_graph=True); x.grad")
    show(back(output="y", gradient=[[1, 1], [1, 1]], retain_graph=True, return_=["x"]), "x", attrs=("grad",))

    step("In [18]: z = y * y")
    show(run(Program(ops=[OpCall(name="z", expr="y * y")], return_=["z"])), "z", attrs=("data", "grad_fn"))

    step("In [19]-[20]: y.backward(gradient, retain_graph=True); x.grad (accumulates 4 + 4 * gradient)")
    print(f"gradient = {json.dumps(GRADIENT)}")
    show(back(output="y", gradient=GRADIENT, retain_graph=True, return_=["x"]), "x", attrs=("grad",))

    step("In [21]-[22]: x = Variable(torch.randn(3), requires_grad=True); y = x * 2")
    v = run(Program(inputs=inputs(x=[1.3570, -0.3653, 0.6265]), ops=[OpCall(name="y", op="mul", args=["x", 2])],
                    return_=["x", "y"]))
    show(v, "x", attrs=("data",))
    show(v, "y", attrs=("data", "grad_fn"))

    step("In [23]: while y.data.norm() < 1000: y = y * 2")
    y = v["y"]
    while math.hypot(*y.data) < 1000:
        y = run(Program(ops=[OpCall(name="y", op="mul", args=["y", 2])], return_=["y"]))["y"]
    show({"y": y}, "y", attrs=("data", "grad_fn"))

    step("In [24]-[25]: y.backward(torch.FloatTensor([0.1, 1.0, 0.0001])); x.grad")
    show(back(output="y", gradient=[0.1, 1.0, 0.0001], return_=["x"]), "x", attrs=("grad",))

    step("Higher order: x = 3; y = x ** 3; dydx = torch.autograd.grad(y, x, create_graph=True)")
    run(Program(inputs=inputs(x=3.0), ops=[OpCall(name="y", expr="x ** 3")]))
    dydx = call(grad, client, session_id=sid,
                body=GradRequest(outputs="y", inputs="x", create_graph=True, bind="dydx")).variables
    show(dydx, "dydx", attrs=("data", "grad_fn"))

    step("dydx.backward(); x.grad (d2y/dx2 = 6x)")
    show(back(output="dydx", return_=["x"]), "x", attrs=("grad",))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("GRADSERVE_URL", "http://127.0.0.1:8000"))
