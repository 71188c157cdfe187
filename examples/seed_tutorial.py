"""The seed autograd tutorial (PyTorch 0.x, `Variable`) run on a gradserve server through the Python client.

    python examples/seed_tutorial.py [BASE_URL]     (or GRADSERVE_URL; default http://127.0.0.1:8000)

Each step prints what the notebook printed: a variable's data, grad and grad_fn.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from gradserve_client import Gradserve, GradserveError, Session, Variable

# In [19]: the notebook's torch.randn(2, 2)
GRADIENT = np.array([[1.0932, 1.9507], [-1.0305, -0.7468]], dtype=np.float32)


def shown(value: Any) -> str:
    """Four decimals, as the notebook printed tensors."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return json.dumps(np.round(value.astype(float), 4).tolist())
    return json.dumps(value)


def show(variables: Mapping[str, Variable] | Session, *names: str,
         attrs: tuple[str, ...] = ("data", "grad", "grad_fn")) -> None:
    for name in names:
        for attr in attrs:
            print(f"{name}.{attr} = {shown(getattr(variables[name], attr))}")


def refused(request: Callable[[], object]) -> None:
    """Run a request the tutorial expects to fail, and print the error it raises."""
    try:
        request()
    except GradserveError as e:
        print(f"error {e.status} {e.type}: {e.detail}")
        return
    raise SystemExit("expected an error answer, got a success")


def step(title: str) -> None:
    print(f"\n# {title}")


def main(base_url: str | None) -> None:
    with Gradserve(base_url) as gs, gs.session() as s:  # the session is deleted when the block ends
        step("In [2]-[5]: x = Variable(torch.ones(2, 2), requires_grad=True)")
        show(s.run(inputs={"x": gs.tensor(np.ones((2, 2)), requires_grad=True, dtype="float32")}), "x")

        step("In [6]-[10]: y = x + 2; z = y * y * 3; out = z.mean()")
        v = s.run(ops=[{"name": "y", "op": "add", "args": ["x", 2]},
                       {"name": "z", "op": "mul", "args": ["y", "y"]},
                       {"name": "z", "op": "mul", "args": ["z", 3]},
                       {"name": "out", "expr": "mean(z)"}])
        show(v, "y", "z", "out", attrs=("data", "grad_fn"))

        step("In [11]-[12]: out.backward(); x.grad")
        show(s.backward("out"), "x", attrs=("grad",))

        step("out.backward() again: its buffers were freed (retain_graph was not set)")
        refused(lambda: s.backward("out"))

        step("In [14]-[15]: x = Variable(torch.ones(2, 2), requires_grad=True); y = 4 * x + 2")
        v = s.run(inputs={"x": gs.tensor([[1, 1], [1, 1]], requires_grad=True)},
                  ops=[{"name": "y", "expr": "4 * x + 2"}])
        show(v, "y", attrs=("data", "grad_fn"))

        step("y.backward() without a gradient: y is not a scalar")
        refused(lambda: s.backward("y"))

        step("In [16]-[17]: y.backward(torch.ones(2, 2), retain_graph=True); x.grad")
        s.backward("y", gradient=np.ones((2, 2), dtype=np.float32), retain_graph=True)
        show(s, "x", attrs=("grad",))

        step("In [18]: z = y * y")
        show(s.run(ops=[{"name": "z", "expr": "y * y"}]), "z", attrs=("data", "grad_fn"))

        step("In [19]-[20]: y.backward(gradient, retain_graph=True); x.grad (accumulates 4 + 4 * gradient)")
        print(f"gradient = {shown(GRADIENT)}")
        s.backward("y", gradient=GRADIENT, retain_graph=True)
        show(s, "x", attrs=("grad",))

        step("In [21]-[22]: x = Variable(torch.randn(3), requires_grad=True); y = x * 2")
        v = s.run(inputs={"x": gs.tensor([1.3570, -0.3653, 0.6265], requires_grad=True)},
                  ops=[{"name": "y", "op": "mul", "args": ["x", 2]}])
        show(v, "x", attrs=("data",))
        show(v, "y", attrs=("data", "grad_fn"))

        step("In [23]: while y.data.norm() < 1000: y = y * 2")
        y = v["y"]
        while np.linalg.norm(y.data) < 1000:
            y = s.run(ops=[{"name": "y", "op": "mul", "args": ["y", 2]}])["y"]
        show({"y": y}, "y", attrs=("data", "grad_fn"))

        step("In [24]-[25]: y.backward(torch.FloatTensor([0.1, 1.0, 0.0001])); x.grad")
        s.backward("y", gradient=np.array([0.1, 1.0, 0.0001], dtype=np.float32))
        show(s, "x", attrs=("grad",))

        step("Higher order: x = 3; y = x ** 3; dydx = torch.autograd.grad(y, x, create_graph=True)")
        s.run(inputs={"x": gs.tensor(3.0, requires_grad=True)}, ops=[{"name": "y", "expr": "x ** 3"}])
        dydx = s.grad("y", "x", create_graph=True, bind="dydx")
        show({"dydx": dydx}, "dydx", attrs=("data", "grad_fn"))

        step("dydx.backward(); x.grad (d2y/dx2 = 6x)")
        s.backward("dydx")
        show(s, "x", attrs=("grad",))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
