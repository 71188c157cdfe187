"""Derivative benchmarks: the engine and the service against their anchors, measured in one run on one machine.

    .venv/bin/python bench/derivatives.py [--quick]

1. The engine's Jacobian of an existing graph y = tanh(W @ x), W 256x256 float64, with respect to x, against
   torch.func.jacrev (at least as fast) and torch.autograd.functional.jacobian(vectorize=True) (at least 5x
   faster) of the same function.
2. One POST /v1/sessions/{id}/jacobian request against 256 POST .../grad requests (one per one-hot row,
   retain_graph) on the same session on a real server: at least 20x faster.
3. The Hessian of a 64-parameter scalar function, forward included (p -> sum(tanh(P @ A) ** 2) + sum(P * P)
   with P = reshape(p, 8x8)), against torch.autograd.functional.hessian(vectorize=True): at least as fast.
4. A JVP (forward mode over the recorded graph) along both leaves (W and x) against one backward pass of the
   same graph (item 1's, y.backward(u) to both leaves): at most 3x. Beside it the JVP along x alone against
   engine.grad for x alone (a pass whose numpy work is one 256x256 matrix-vector product, so fixed per-call
   costs show), the double-vjp trick the engine used before (the measurement that chose forward mode), and
   the JVP written by hand in numpy ((1 - y^2) * (W @ v)).

Times are medians of samples taken round-robin (each case once per round, so noise hits all alike), after
warm-up rounds, with the garbage collector paused inside a sample. Every library computes on one thread
(numpy's BLAS, torch, the server): on a small shared machine, idle BLAS and torch worker threads spinning
between calls slowed whichever case ran next by up to 50x. Not pass/fail: exit code 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")  # before numpy loads its BLAS; the server process inherits it

import httpx  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench"))

from service import measure, server  # noqa: E402  (bench/service.py: timing, a real uvicorn on a free port)

import engine as E  # noqa: E402
from engine.derivatives import double_vjp_jvp  # noqa: E402

try:
    import torch
    import torch.autograd.functional as TAF
    from torch.func import jacrev
    torch.set_num_threads(1)
except ImportError:  # the anchors are optional: their rows are skipped
    torch = None

N = 256
HESSIAN_SIDE = 8  # 64 parameters


# ---------------------------------------------------------------------------- 1 and 4: Jacobian, JVP

def engine_cases(rounds: int, warmup: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    W0, x0, v0 = rng.standard_normal((N, N)) / 16, rng.standard_normal(N), rng.standard_normal(N)
    W, x = E.Tensor(W0, requires_grad=True), E.Tensor(x0, requires_grad=True)
    y = E.tanh(W @ x)
    u, vW = rng.standard_normal(N), rng.standard_normal((N, N))

    def backward():
        y.backward(u, retain_graph=True)
        W.grad = x.grad = None

    cases: dict[str, Callable[[], object]] = {
        "engine jacobian": lambda: E.jacobian(y, x),
        "engine jvp": lambda: E.jvp(y, [W, x], [vW, v0]),
        "engine backward": backward,
        "engine jvp x": lambda: E.jvp(y, x, v0),
        "double-vjp jvp": lambda: double_vjp_jvp(y, [W, x], [vW, v0]),
        "engine grad x": lambda: E.grad(y, x, u, retain_graph=True),
        "jvp by hand, forward mode": lambda: (1.0 - y.data * y.data) * (W0 @ v0),
    }
    J = E.jacobian(y, x).data
    np.testing.assert_allclose(E.jvp(y, x, v0).data, J @ v0, rtol=1e-10)
    if torch is not None:
        tW, tx = torch.tensor(W0), torch.tensor(x0)
        f = lambda t: torch.tanh(tW @ t)  # noqa: E731
        cases["torch.func.jacrev"] = lambda: jacrev(f)(tx)
        cases["torch jacobian(vectorize=True)"] = lambda: TAF.jacobian(f, tx, vectorize=True)
        np.testing.assert_allclose(J, jacrev(f)(tx).numpy(), rtol=1e-10)
    return measure(cases, rounds, warmup)


# ---------------------------------------------------------------------------- 3: Hessian, forward included

def hessian_cases(rounds: int, warmup: int) -> dict[str, float]:
    rng = np.random.default_rng(1)
    p0, A0 = rng.standard_normal(HESSIAN_SIDE ** 2), rng.standard_normal((HESSIAN_SIDE, HESSIAN_SIDE))

    def engine_hessian():
        p = E.Tensor(p0, requires_grad=True)
        P = E.reshape(p, shape=[HESSIAN_SIDE, HESSIAN_SIDE])
        return E.hessian(E.sum(E.tanh(P @ A0) ** 2) + E.sum(P * P), p)

    cases: dict[str, Callable[[], object]] = {"engine hessian": engine_hessian}
    if torch is not None:
        tA = torch.tensor(A0)

        def f(p):
            P = p.reshape(HESSIAN_SIDE, HESSIAN_SIDE)
            return (torch.tanh(P @ tA) ** 2).sum() + (P * P).sum()

        cases["torch hessian(vectorize=True)"] = lambda: TAF.hessian(f, torch.tensor(p0), vectorize=True)
        np.testing.assert_allclose(engine_hessian().data, TAF.hessian(f, torch.tensor(p0)).numpy(), rtol=1e-8)
    return measure(cases, rounds, warmup)


# ---------------------------------------------------------------------------- 2: one /jacobian vs 256 /grad

def service_cases(rounds: int, warmup: int) -> dict[str, float]:
    rng = np.random.default_rng(2)
    W0, x0 = rng.standard_normal((N, N)) / 16, rng.standard_normal(N)
    program = {"inputs": {"W": {"data": W0.tolist(), "dtype": "float64"},
                          "x": {"data": x0.tolist(), "dtype": "float64", "requires_grad": True}},
               "ops": [{"name": "y", "expr": "tanh(W @ x)"}], "return": []}
    headers = {"content-type": "application/json"}
    jacobian_body = json.dumps({"outputs": "y", "inputs": "x", "encoding": "base64"}).encode()
    eye = np.eye(N)
    grad_bodies = [json.dumps({"outputs": "y", "inputs": "x", "grad_outputs": row.tolist(), "retain_graph": True,
                               "encoding": "base64"}).encode() for row in eye]
    with server() as base, httpx.Client(base_url=base, timeout=120) as client:
        r = client.post("/v1/sessions", json=program)
        r.raise_for_status()
        sid = r.json()["id"]

        def one_jacobian():
            client.post(f"/v1/sessions/{sid}/jacobian", content=jacobian_body, headers=headers).raise_for_status()

        def rows_by_grad():
            for body in grad_bodies:
                client.post(f"/v1/sessions/{sid}/grad", content=body, headers=headers).raise_for_status()

        return measure({"one /jacobian request": one_jacobian, f"{N} /grad requests": rows_by_grad},
                       rounds, warmup)


# ---------------------------------------------------------------------------- report

def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 0.01 else f"{seconds * 1e3:.1f} ms"


def table(eng: dict, hess: dict, svc: dict) -> str:
    rows = ["| case | engine | anchor | ratio | target | met? |", "|---|---|---|---|---|---|"]

    def row(case: str, ours: float, anchor: float | None, target: str, ok: Callable[[float], bool] | None,
            faster: bool = True) -> None:
        if anchor is None:
            rows.append(f"| {case} | {ms(ours)} | (anchor missing) | | {target} | |")
            return
        r = anchor / ours if faster else ours / anchor
        rows.append(f"| {case} | {ms(ours)} | {ms(anchor)} | {r:.2f}{'x faster' if faster else 'x'} | {target} | "
                    f"{'' if ok is None else 'yes' if ok(r) else 'NO'} |")

    row("Jacobian of tanh(W @ x), 256x256 float64, vs torch.func.jacrev", eng["engine jacobian"],
        eng.get("torch.func.jacrev"), ">= 1x", lambda r: r >= 1)
    row("the same vs torch.autograd.functional.jacobian(vectorize=True)", eng["engine jacobian"],
        eng.get("torch jacobian(vectorize=True)"), ">= 5x", lambda r: r >= 5)
    row(f"one /jacobian request vs {N} /grad requests, same session", svc["one /jacobian request"],
        svc[f"{N} /grad requests"], ">= 20x", lambda r: r >= 20)
    row("Hessian of a 64-parameter function, forward included, vs hessian(vectorize=True)",
        hess["engine hessian"], hess.get("torch hessian(vectorize=True)"), ">= 1x", lambda r: r >= 1)
    row("JVP along W and x vs one backward pass of the same graph", eng["engine jvp"],
        eng["engine backward"], "<= 3x", lambda r: r <= 3, faster=False)
    row("(the same JVP by the double-vjp trick vs that backward pass)", eng["double-vjp jvp"],
        eng["engine backward"], "(info)", None, faster=False)
    row("(JVP along x alone vs engine.grad for x alone)", eng["engine jvp x"], eng["engine grad x"], "(info)",
        None, faster=False)
    row("(JVP by hand in numpy vs engine.grad for x alone)", eng["jvp by hand, forward mode"],
        eng["engine grad x"], "(info)", None, faster=False)
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke run")
    args = parser.parse_args(argv)
    (r1, w1), (r2, w2) = ((15, 3), (3, 1)) if args.quick else ((101, 10), (11, 2))
    eng = engine_cases(r1, w1)
    hess = hessian_cases(r1, w1)
    svc = service_cases(r2, w2)
    print(table(eng, hess, svc))
    print(f"\nmedians of round-robin samples; Python {sys.version.split()[0]}, numpy {np.__version__}"
          + (f", torch {torch.__version__}" if torch is not None else "") + f", {os.cpu_count()} cpus")
    return 0


if __name__ == "__main__":
    sys.exit(main())
