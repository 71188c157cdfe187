"""The examples run the seed tutorial against a live server and print the notebook's numbers."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GRAPH_FREED = "/problems/graph-freed"
NOT_SCALAR = "/problems/invalid-backward"
G = np.array([[1.0932, 1.9507], [-1.0305, -0.7468]])
X3 = np.array([1.3570, -0.3653, 0.6265])

# every line the tutorial prints about a variable or a refusal, in order (as the notebook's In [n] cells)
EXPECTED: list[tuple[str, Any]] = [
    ("x.data", np.ones((2, 2))), ("x.grad", None), ("x.grad_fn", None),
    ("y.data", np.full((2, 2), 3.0)), ("y.grad_fn", "AddBackward0"),
    ("z.data", np.full((2, 2), 27.0)), ("z.grad_fn", "MulBackward0"),
    ("out.data", 27.0), ("out.grad_fn", "MeanBackward0"),
    ("x.grad", np.full((2, 2), 4.5)),
    ("error", (409, GRAPH_FREED)),
    ("y.data", np.full((2, 2), 6.0)), ("y.grad_fn", "AddBackward0"),
    ("error", (422, NOT_SCALAR)),
    ("x.grad", np.full((2, 2), 4.0)),
    ("z.data", np.full((2, 2), 36.0)), ("z.grad_fn", "MulBackward0"),
    ("x.grad", 4 + 4 * G),
    ("x.data", X3),
    ("y.data", 2 * X3), ("y.grad_fn", "MulBackward0"),
    ("y.data", 1024 * X3), ("y.grad_fn", "MulBackward0"),
    ("x.grad", [102.4, 1024.0, 0.1024]),
    ("dydx.data", 27.0), ("dydx.grad_fn", "MulBackward0"),
    ("x.grad", 18.0),
]


def parse(out: str) -> list[tuple[str, Any]]:
    lines: list[tuple[str, Any]] = []
    for line in out.splitlines():
        if m := re.fullmatch(r"(\w+\.(?:data|grad|grad_fn)) = (.*)", line):
            lines.append((m[1], None if m[2] == "None" else json.loads(m[2])))
        elif m := re.fullmatch(r"error (\d+) (\S+): .+", line):
            lines.append(("error", (int(m[1]), m[2])))
    return lines


def assert_tutorial(out: str) -> None:
    got = parse(out)
    assert [k for k, _ in got] == [k for k, _ in EXPECTED], out
    for (key, value), (_, expected) in zip(got, EXPECTED, strict=True):
        if expected is None or isinstance(expected, str | tuple):
            assert value == expected, (key, value, expected)
        else:
            np.testing.assert_allclose(np.asarray(value, dtype=float), expected, rtol=1e-4, atol=1e-4,
                                       err_msg=key)


def run(cmd: list[str], **kwargs: Any) -> str:
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, **kwargs)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_python_example(live_server: str) -> None:
    assert_tutorial(run([sys.executable, str(EXAMPLES / "seed_tutorial.py"), live_server]))


def test_python_example_reads_gradserve_url(live_server: str) -> None:
    assert_tutorial(run([sys.executable, str(EXAMPLES / "seed_tutorial.py")],
                        env={**os.environ, "GRADSERVE_URL": live_server}))


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_example(live_server: str) -> None:
    assert_tutorial(run(["bash", str(EXAMPLES / "curl.sh"), live_server]))


def test_typescript_example(node_modules: Path, live_server: str) -> None:
    # the client package's tsconfig maps "gradserve-client" to its sources, as an installed package would resolve
    assert_tutorial(run([str(node_modules / ".bin" / "tsx"), "--tsconfig", str(node_modules.parent / "tsconfig.json"),
                         str(EXAMPLES / "seed_tutorial.ts"), live_server]))


def test_training_example_equals_torch(live_server: str) -> None:
    """examples/train.py: SGD on a linear regression and Adam on a two-layer network, one request per step,
    end where the same loops in PyTorch end."""
    import torch

    sys.path.insert(0, str(EXAMPLES))
    try:
        import train
    finally:
        sys.path.remove(str(EXAMPLES))
    lines = [json.loads(line) for line in run([sys.executable, str(EXAMPLES / "train.py"), live_server]).splitlines()]
    linear = [d for d in lines if d["model"] == "linear"]
    mlp = [d for d in lines if d["model"] == "mlp"]
    assert [d.get("step") for d in linear] == [10, 20, 30, 40, 50, None]
    assert [d.get("step") for d in mlp] == [25, 50, 75, 100, None]

    w, b = torch.zeros(1, 1, dtype=torch.float64, requires_grad=True), torch.zeros(1, dtype=torch.float64,
                                                                                    requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=0.02, momentum=0.9)
    losses = []
    for _ in range(50):
        opt.zero_grad()
        loss = ((torch.from_numpy(train.X) @ w + b - torch.from_numpy(train.Y)) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    np.testing.assert_allclose([d["loss"] for d in linear[:-1]], losses[9::10], rtol=1e-9)
    np.testing.assert_allclose(linear[-1]["w"], w.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(linear[-1]["b"], b.detach().numpy(), atol=1e-6)

    x, y = (torch.from_numpy(a) for a in train.two_moons_like())
    rng = np.random.default_rng(1)
    params = {"W1": rng.normal(0, 0.5, size=(2, 16)), "b1": np.zeros(16), "W2": rng.normal(0, 0.5, size=(16, 1)),
              "b2": np.zeros(1)}
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    opt = torch.optim.Adam(list(t.values()), lr=0.05)
    losses = []
    for _ in range(100):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(torch.tanh(x @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"], y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    np.testing.assert_allclose([d["loss"] for d in mlp[:-1]], losses[24::25], rtol=1e-6)
    for k in params:
        np.testing.assert_allclose(mlp[-1][k], t[k].detach().numpy(), atol=1e-5)
    assert losses[-1] < losses[0] / 3  # it did learn
