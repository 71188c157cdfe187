"""Training on a gradserve server through the Python client: one request per training step.

    python examples/train.py [BASE_URL]     (or GRADSERVE_URL; default http://127.0.0.1:8000)

First a linear regression with SGD, then a two-layer network with Adam. Each request holds a whole step
(`zero_grad`, the forward ops, `backward`, the optimizer `step`), as PyTorch's loop would:

    optimizer.zero_grad(); loss = f(x); loss.backward(); optimizer.step()

It prints the loss every few steps and the final parameters, one JSON object per line.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from gradserve_client import Gradserve

# y = 2x + 1 with a little noise: five points, float64 so that the numbers match PyTorch's to the last digits
X = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]])
Y = np.array([[3.1], [4.9], [7.2], [8.8], [11.1]])


def two_moons_like(n: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A small non-linear regression problem: y = sin(3 x0) + x1^2 on random points."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 2))
    return x, (np.sin(3 * x[:, :1]) + x[:, 1:] ** 2)


def show(**values: object) -> None:
    print(json.dumps({k: np.asarray(v).round(6).tolist() if isinstance(v, np.ndarray) else v
                      for k, v in values.items()}))


def linear_regression(gs: Gradserve, steps: int = 50) -> None:
    with gs.session(inputs={"w": gs.tensor(np.zeros((1, 1)), requires_grad=True),
                            "b": gs.tensor(np.zeros(1), requires_grad=True),
                            "x": X, "y": Y}) as s:
        s.optimizer("sgd", "sgd", ["w", "b"], lr=0.02, momentum=0.9)
        for step in range(1, steps + 1):
            r = s.run(zero_grad=True, ops=[{"name": "loss", "expr": "mean((x @ w + b - y) ** 2)"}],
                      backward=[{"output": "loss"}], step=["sgd"], return_=["loss"])
            if step % 10 == 0:
                show(model="linear", step=step, loss=float(r["loss"].data))
        show(model="linear", w=s["w"].data, b=s["b"].data)


def two_layer_network(gs: Gradserve, steps: int = 100, hidden: int = 16) -> None:
    x, y = two_moons_like()
    rng = np.random.default_rng(1)
    params = {"W1": rng.normal(0, 0.5, size=(2, hidden)), "b1": np.zeros(hidden),
              "W2": rng.normal(0, 0.5, size=(hidden, 1)), "b2": np.zeros(1)}
    with gs.session(inputs={**{k: gs.tensor(v, requires_grad=True) for k, v in params.items()},
                            "x": x, "y": y}) as s:
        s.optimizer("adam", "adam", list(params), lr=0.05)
        for step in range(1, steps + 1):
            r = s.run(zero_grad=True,
                      ops=[{"name": "h", "expr": "tanh(x @ W1 + b1)"},
                           {"name": "loss", "expr": "mse_loss(h @ W2 + b2, y)"}],
                      backward=[{"output": "loss"}], step=["adam"], return_=["loss"])
            if step % 25 == 0:
                show(model="mlp", step=step, loss=float(r["loss"].data))
        show(model="mlp", **{k: s[k].data for k in params})


def main() -> None:
    with Gradserve(sys.argv[1] if len(sys.argv) > 1 else None) as gs:
        linear_regression(gs)
        two_layer_network(gs)


if __name__ == "__main__":
    main()
