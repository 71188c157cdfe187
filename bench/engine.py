"""Engine benchmarks against their anchors, measured in one run on one machine.

    .venv/bin/python bench/engine.py [--quick]

Small tensors: a 1000-op chain on a 3-element float32 vector (per-op overhead), against
PyTorch CPU autograd and HIPS autograd. Large tensors: an MLP step (256x1024 @ 1024x1024,
relu, @ 1024x10, cross_entropy), against the same step written by hand in numpy, and PyTorch.
Every ratio is anchor time / engine time: above 1 the engine is faster. Times are medians of
repeated samples taken round-robin (each case once per round, so noise hits all alike), after
warm-up rounds, with the garbage collector paused inside a sample as timeit does. Thread
counts are left at their defaults, the same for everyone (numpy's BLAS and torch alike).
Benchmarks are not pass/fail: the exit code is 0 whatever the numbers.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import engine as eng  # noqa: E402

try:
    import torch
except ImportError:  # the anchors are optional: their rows are skipped
    torch = None
try:
    import autograd as hips
    import autograd.numpy as anp
except ImportError:
    hips = anp = None

CHAIN_OPS = 1000
X0 = np.array([0.5, -0.3, 1.2], dtype=np.float32)
W0 = np.array([0.9, 1.1, -0.7], dtype=np.float32)


# ---------------------------------------------------------------------------- timing

def measure(samplers: dict, rounds: int, warmup: int, settle: float = 0.0) -> dict[str, float]:
    """Median seconds per case; each sampler runs once per round and returns its own elapsed time.

    `settle` seconds pass before each sample: a library's worker threads keep spinning for a while
    after its last parallel call and would slow down whichever case runs next.
    """
    times: dict[str, list[float]] = {name: [] for name in samplers}
    for r in range(warmup + rounds):
        gc.collect()
        for name, sample in samplers.items():
            time.sleep(settle)
            gc.disable()
            try:
                elapsed = sample()
            finally:
                gc.enable()
            if r >= warmup:
                times[name].append(elapsed)
    return {name: statistics.median(ts) for name, ts in times.items()}


def timed(fn):
    def sample():
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    return sample


def backward_only(build, backward):
    """Time backward alone: the forward that builds the graph runs outside the clock."""
    def sample():
        out = build()
        t0 = time.perf_counter()
        backward(out)
        return time.perf_counter() - t0
    return sample


# ---------------------------------------------------------------------------- the chain

def chain_steps(sin, tanh, exp, w):
    """The op mix of the chain, the same six steps in every framework."""
    return [lambda y: y * 0.9, lambda y: y + 0.1, sin, tanh, lambda y: y * w, exp]


def run_chain(steps, x):
    y = x
    n = len(steps)
    for i in range(CHAIN_OPS):
        y = steps[i % n](y)
    return y


def chain_cases():
    x = eng.Tensor(X0, requires_grad=True)
    w = eng.Tensor(W0, requires_grad=True)
    steps = chain_steps(eng.sin, eng.tanh, eng.exp, w)

    def fwd():
        return run_chain(steps, x).sum()

    def fwd_bwd():
        x.grad = w.grad = None
        fwd().backward()

    retained = fwd()
    cases = {
        "engine fwd+bwd": timed(fwd_bwd),
        "engine bwd": backward_only(fwd, lambda out: out.backward()),
        "engine bwd retained": timed(lambda: retained.backward(retain_graph=True)),
    }
    fwd_bwd()
    grads = {"engine": (x.grad, w.grad)}

    if torch is not None:
        tx = torch.tensor(X0, requires_grad=True)
        tw = torch.tensor(W0, requires_grad=True)
        tsteps = chain_steps(torch.sin, torch.tanh, torch.exp, tw)

        def tfwd():
            return run_chain(tsteps, tx).sum()

        def tfwd_bwd():
            tx.grad = tw.grad = None
            tfwd().backward()

        tretained = tfwd()
        cases["torch fwd+bwd"] = timed(tfwd_bwd)
        cases["torch bwd"] = backward_only(tfwd, lambda out: out.backward())
        cases["torch bwd retained"] = timed(lambda: tretained.backward(retain_graph=True))
        tfwd_bwd()
        grads["torch"] = (tx.grad.numpy(), tw.grad.numpy())

    if hips is not None:
        def hchain(hx, hw):
            return anp.sum(run_chain(chain_steps(anp.sin, anp.tanh, anp.exp, hw), hx))

        hgrad = hips.grad(hchain, argnum=(0, 1))
        cases["hips fwd+bwd"] = timed(lambda: hgrad(X0, W0))
        grads["hips"] = hgrad(X0, W0)
    return cases, grads


# ---------------------------------------------------------------------------- the MLP step

def mlp_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 1024), dtype=np.float32)
    W1 = (rng.standard_normal((1024, 1024), dtype=np.float32) * np.float32(1 / 32))
    W2 = (rng.standard_normal((1024, 10), dtype=np.float32) * np.float32(1 / 32))
    labels = rng.integers(0, 10, size=256).astype(np.int64)
    return X, W1, W2, labels


def numpy_step(X, W1, W2, labels):
    """Forward and backward written by hand, as a competent person writes them in numpy."""
    n = X.shape[0]
    rows = np.arange(n)
    pre = X @ W1
    h = np.maximum(pre, 0)
    logits = h @ W2
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    loss = np.mean(np.log(s[:, 0]) - shifted[rows, labels])
    d = e / s  # softmax minus one-hot, over the batch
    d[rows, labels] -= 1
    d /= n
    gW2 = h.T @ d
    dh = d @ W2.T
    dh *= pre > 0
    gW1 = X.T @ dh
    return loss, gW1, gW2


def mlp_cases():
    X, W1, W2, labels = mlp_data()
    ew1 = eng.Tensor(W1, requires_grad=True)
    ew2 = eng.Tensor(W2, requires_grad=True)
    ex = eng.Tensor(X)
    elabels = eng.Tensor(labels)

    def engine_step():
        ew1.grad = ew2.grad = None
        loss = eng.cross_entropy(eng.relu(ex @ ew1) @ ew2, elabels)
        loss.backward()
        return loss

    cases = {
        "engine mlp": timed(engine_step),
        "numpy mlp": timed(lambda: numpy_step(X, W1, W2, labels)),
    }
    loss = engine_step()
    grads = {"engine": (loss.data, ew1.grad, ew2.grad), "numpy": numpy_step(X, W1, W2, labels)}

    if torch is not None:
        tx, tlabels = torch.from_numpy(X), torch.from_numpy(labels)
        tw1 = torch.tensor(W1, requires_grad=True)
        tw2 = torch.tensor(W2, requires_grad=True)

        def torch_step():
            tw1.grad = tw2.grad = None
            loss = torch.nn.functional.cross_entropy(torch.relu(tx @ tw1) @ tw2, tlabels)
            loss.backward()
            return loss

        cases["torch mlp"] = timed(torch_step)
        tloss = torch_step()
        grads["torch"] = (tloss.detach().numpy(), tw1.grad.numpy(), tw2.grad.numpy())
    return cases, grads


# ---------------------------------------------------------------------------- a convolution step

def conv_cases():
    """conv2d (8x16x32x32, 32 3x3 filters, padding 1), then max_pool2d and a mean: forward and backward."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 16, 32, 32), dtype=np.float32)
    W = rng.standard_normal((32, 16, 3, 3), dtype=np.float32) * np.float32(0.1)
    ex, ew = eng.Tensor(X), eng.Tensor(W, requires_grad=True)

    def engine_step():
        ew.grad = None
        eng.mean(eng.max_pool2d(eng.conv2d(ex, ew, padding=1), kernel_size=2)).backward()

    cases = {"engine conv": timed(engine_step)}
    engine_step()
    grads = {"engine": (ew.grad,)}
    if torch is not None:
        tx, tw = torch.from_numpy(X), torch.tensor(W, requires_grad=True)

        def torch_step():
            tw.grad = None
            torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(tx, tw, padding=1), 2).mean().backward()

        cases["torch conv"] = timed(torch_step)
        torch_step()
        grads["torch"] = (tw.grad.numpy(),)
    return cases, grads


# ---------------------------------------------------------------------------- report

def agree(grads: dict) -> str:
    """Which anchors compute the same gradients as the engine (a benchmark of wrong math is void)."""
    ours = grads["engine"]
    bad = [name for name, theirs in grads.items() if name != "engine" and not all(
        np.allclose(a, b, rtol=1e-3, atol=1e-5) for a, b in zip(ours, theirs, strict=True))]
    return "all agree" if not bad else "DISAGREE: " + ", ".join(bad)


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} us"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a rough look, noisier)")
    args = parser.parse_args(argv)
    rounds, warmup = (9, 2) if args.quick else (61, 5)

    chain, chain_grads = chain_cases()
    mlp, mlp_grads = mlp_cases()
    conv, conv_grads = conv_cases()
    t = measure(chain, rounds, warmup)
    t.update(measure(mlp, rounds, warmup, settle=0.05))
    t.update(measure(conv, max(rounds // 4, 3), warmup, settle=0.05))

    rows = []  # (case, engine key, anchor key, target ratio or None)
    rows.append(("chain 1000 ops fwd+bwd vs PyTorch", "engine fwd+bwd", "torch fwd+bwd", 1.0, ">"))
    rows.append(("chain 1000 ops fwd+bwd vs HIPS autograd", "engine fwd+bwd", "hips fwd+bwd", 3.0, ">="))
    rows.append(("chain backward alone vs PyTorch", "engine bwd", "torch bwd", None, ""))
    rows.append(("chain repeated backward (retain_graph) vs PyTorch", "engine bwd retained",
                 "torch bwd retained", None, ""))
    rows.append(("chain repeated backward vs engine fwd+bwd", "engine bwd retained", "engine fwd+bwd", 1.0, ">"))
    rows.append(("MLP step fwd+bwd vs numpy by hand", "engine mlp", "numpy mlp", 1 / 1.15, ">="))
    rows.append(("MLP step fwd+bwd vs PyTorch", "engine mlp", "torch mlp", None, ""))
    rows.append(("conv2d + max_pool2d step fwd+bwd vs PyTorch", "engine conv", "torch conv", None, ""))

    print(f"gradserve engine benchmarks (medians of {rounds} rounds; ratio = anchor / engine, "
          "above 1 the engine is faster)")
    print(f"numpy {np.__version__}" + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
                                       if torch is not None else "")
          + (", HIPS autograd" if hips is not None else "") + f"; {os.cpu_count()} cpus")
    print(f"gradients: chain {agree(chain_grads)}; MLP {agree(mlp_grads)}; conv {agree(conv_grads)}")
    print()
    print("| case | engine | anchor | ratio | target | met? |")
    print("|---|---|---|---|---|---|")
    for case, ekey, akey, target, cmp in rows:
        if akey not in t:
            print(f"| {case} | {fmt(t[ekey])} | (not installed) | | | |")
            continue
        ratio = t[akey] / t[ekey]
        if target is None:
            goal, met = "(info)", ""
        else:
            goal = f"{cmp} {target:.2f}" + (" (within 1.15x)" if target < 1 else "")
            met = "yes" if (ratio > target if cmp == ">" else ratio >= target) else "NO"
        print(f"| {case} | {fmt(t[ekey])} | {fmt(t[akey])} | {ratio:.2f} | {goal} | {met} |")
    return 0


if __name__ == "__main__":
    main()
    sys.exit(0)
