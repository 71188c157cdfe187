"""Request examples for the OpenAPI document: the seed autograd tutorial, step by step, so /docs teaches it."""

from __future__ import annotations

from typing import Any

# In [2]-[12]: x = ones(2, 2) requiring grad; out = mean((x + 2) * (x + 2) * 3); out.backward() -> x.grad 4.5
SEED_PROGRAM: dict[str, Any] = {
    "inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}},
    "ops": [
        {"name": "y", "op": "add", "args": ["x", 2]},
        {"name": "z", "op": "mul", "args": ["y", "y"]},
        {"name": "z", "op": "mul", "args": ["z", 3]},
        {"name": "out", "expr": "mean(z)"},
    ],
    "backward": [{"output": "out"}],
    "return": ["x", "out"],
}

# The tutorial's random upstream gradient of In [19]
TUTORIAL_GRADIENT = [[1.0932, 1.9507], [-1.0305, -0.7468]]

PROGRAM_EXAMPLES: dict[str, dict[str, Any]] = {
    "seed": {
        "summary": "The seed tutorial: out = mean((x + 2)^2 * 3), backward",
        "description": "x.grad comes back as 4.5 everywhere, out as 27.",
        "value": SEED_PROGRAM,
    },
    "expressions": {
        "summary": "The same with one expr",
        "value": {"inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}},
                  "ops": [{"name": "out", "expr": "mean((x + 2) * (x + 2) * 3)"}],
                  "backward": [{"output": "out"}]},
    },
    "jacobian": {
        "summary": "A Jacobian and a Hessian in one stateless request",
        "description": "y = tanh(W @ x) and f = sum(x ** 3) + x[0] * x[1]; derivatives[0] is dy/dx (shape [2, 2]), "
                       "derivatives[1] the Hessian of f (shape [2, 2]).",
        "value": {"inputs": {"x": {"data": [0.5, -1.0], "dtype": "float64", "requires_grad": True},
                             "W": {"data": [[1.0, 2.0], [3.0, 4.0]], "dtype": "float64"}},
                  "ops": [{"name": "y", "expr": "tanh(W @ x)"}, {"name": "f", "expr": "sum(x ** 3) + x[0] * x[1]"}],
                  "derivatives": [{"kind": "jacobian", "outputs": "y", "inputs": "x"},
                                  {"kind": "hessian", "output": "f", "inputs": "x"}],
                  "return": ["y", "f"]},
    },
    "base64": {
        "summary": "A float32 tensor in base64, results in base64",
        "value": {"inputs": {"x": {"b64": "AACAPwAAAEAAAEBA", "dtype": "float32", "shape": [3],
                                   "requires_grad": True}},
                  "ops": [{"name": "s", "op": "sum", "args": ["x"]}],
                  "backward": [{"output": "s"}], "encoding": "base64"},
    },
}

SESSION_EXAMPLES: dict[str, dict[str, Any]] = {
    "linear": {
        "summary": "In [14]-[15]: x = ones(2, 2) requiring grad, y = 4 * x + 2",
        "value": {"inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}},
                  "ops": [{"name": "y", "expr": "4 * x + 2"}]},
    },
    "loop": {
        "summary": "In [21]-[22]: x of 3 items requiring grad, y = x * 2",
        "value": {"inputs": {"x": {"data": [1.357, -0.3653, 0.6265], "requires_grad": True}},
                  "ops": [{"name": "y", "op": "mul", "args": ["x", 2]}]},
    },
    "cube": {
        "summary": "Higher order: x = 3, y = x ** 3",
        "value": {"inputs": {"x": {"data": 3.0, "requires_grad": True}}, "ops": [{"name": "y", "expr": "x ** 3"}]},
    },
    "empty": {"summary": "An empty session", "value": {}},
}

RUN_EXAMPLES: dict[str, dict[str, Any]] = {
    "training_step": {
        "summary": "A whole training step: zero_grad, forward, backward, optimizer step",
        "description": "After POST /optimizers {\"name\": \"opt\", \"type\": \"sgd\", \"params\": [\"w\", \"b\"]}",
        "value": {"zero_grad": True, "ops": [{"name": "loss", "expr": "mean((x @ w + b - y) ** 2)"}],
                  "backward": [{"output": "loss"}], "step": ["opt"], "return": ["loss", "w", "b"]},
    },
    "manual_update": {
        "summary": "A parameter updated by hand, as w = (w - 0.1 * g).detach().requires_grad_()",
        "description": "With g bound by POST /grad {\"outputs\": \"loss\", \"inputs\": \"w\", \"bind\": [\"g\"]}",
        "value": {"ops": [{"name": "w", "expr": "w - 0.1 * g", "no_grad": True, "requires_grad": True}]},
    },
    "square": {
        "summary": "In [18]: z = y * y",
        "value": {"ops": [{"name": "z", "expr": "y * y"}], "return": ["z"]},
    },
    "loop_step": {
        "summary": "In [23]: one turn of the while loop, y = y * 2 (send until norm(y) >= 1000)",
        "value": {"ops": [{"name": "y", "op": "mul", "args": ["y", 2]}, {"name": "n", "expr": "norm(y)"}],
                  "return": ["y", "n"]},
    },
}

BACKWARD_EXAMPLES: dict[str, dict[str, Any]] = {
    "ones": {
        "summary": "In [16]: y.backward(ones(2, 2), retain_graph=True) -> x.grad 4",
        "value": {"output": "y", "gradient": [[1, 1], [1, 1]], "retain_graph": True},
    },
    "random": {
        "summary": "In [20]: y.backward(gradient, retain_graph=True) -> x.grad 4 + 4 * gradient",
        "value": {"output": "y", "gradient": TUTORIAL_GRADIENT, "retain_graph": True},
    },
    "loop": {
        "summary": "In [24]: y.backward([0.1, 1.0, 0.0001]) -> x.grad [102.4, 1024, 0.1024]",
        "value": {"output": "y", "gradient": [0.1, 1.0, 0.0001]},
    },
}

GRAD_EXAMPLES: dict[str, dict[str, Any]] = {
    "higher_order": {
        "summary": "dy/dx of y = x ** 3 at 3, kept differentiable as g (27); a backward on g then gives 18",
        "value": {"outputs": "y", "inputs": "x", "create_graph": True, "bind": ["g"]},
    },
    "batched": {
        "summary": "In [14]-[15]'s y = 4 * x + 2: two upstream gradients in one batched backward pass",
        "description": "Each grad_outputs item has a leading batch axis (here 2): grads x comes back with shape "
                       "[2, 2, 2], 4 * each row.",
        "value": {"outputs": "y", "inputs": "x", "grad_outputs": [[[1, 0], [0, 0]], [[0.5, 0.5], [0.5, 0.5]]],
                  "is_grads_batched": True, "retain_graph": True},
    },
    "by_name": {
        "summary": "The upstream gradient given by a variable's name (its current binding)",
        "value": {"outputs": "y", "inputs": "x", "grad_outputs": "y", "retain_graph": True},
    },
}

# The session of SESSION_EXAMPLES["linear"]: x = ones(2, 2) requiring grad, y = 4 * x + 2
JACOBIAN_EXAMPLES: dict[str, dict[str, Any]] = {
    "linear": {
        "summary": "dy/dx of y = 4 * x + 2: 4 times the identity, shape [2, 2, 2, 2]",
        "value": {"outputs": "y", "inputs": "x"},
    },
    "chunked": {
        "summary": "The same in batched passes of at most 2 identity rows (less memory, same answer)",
        "value": {"outputs": ["y"], "inputs": ["x"], "chunk_size": 2},
    },
}

JVP_EXAMPLES: dict[str, dict[str, Any]] = {
    "linear": {
        "summary": "J·v of y = 4 * x + 2 along v = ones: 4 everywhere",
        "value": {"outputs": "y", "inputs": "x", "tangents": {"x": [[1, 1], [1, 1]]}},
    },
}

# The session of SESSION_EXAMPLES["cube"]: x = 3 requiring grad, y = x ** 3
HVP_EXAMPLES: dict[str, dict[str, Any]] = {
    "cube": {
        "summary": "d2y/dx2 * v of y = x ** 3 at 3, v = 1: 18",
        "value": {"output": "y", "inputs": "x", "v": {"x": 1.0}},
    },
}

HESSIAN_EXAMPLES: dict[str, dict[str, Any]] = {
    "cube": {
        "summary": "The Hessian of y = x ** 3 at 3: 18",
        "value": {"output": "y", "inputs": "x"},
    },
}

OPTIMIZER_EXAMPLES: dict[str, dict[str, Any]] = {
    "sgd": {
        "summary": "torch.optim.SGD([w, b], lr=0.01, momentum=0.9)",
        "value": {"name": "opt", "type": "sgd", "params": ["w", "b"], "lr": 0.01, "momentum": 0.9},
    },
    "adam": {
        "summary": "torch.optim.Adam(params, lr=0.001, betas=(0.9, 0.999))",
        "value": {"name": "adam", "type": "adam", "params": ["W1", "b1", "W2", "b2"], "lr": 0.001,
                  "betas": [0.9, 0.999]},
    },
}
