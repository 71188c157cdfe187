"""A namespace as plain data and back: bit-identical continuation, and refusal of anything malformed."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from engine.errors import GraphFreedError, LimitError
from engine.program import Limits, Namespace, saved_buffers
from engine.state import StateError, dump, load, load_state
from engine.structure import Program

PROGRAM = {
    "inputs": {"x": {"data": [[1.0, 2.0], [3.0, 4.0]], "requires_grad": True},
               "w": {"data": np.arange(12, dtype=np.float64).reshape(3, 4) / 7, "requires_grad": True},
               "labels": {"data": [0, 2, 1], "dtype": "int64"}},
    "ops": [{"name": "y", "expr": "x + 2"},
            {"name": "z", "expr": "y * y * 3", "retain_grad": True},
            {"name": "out", "expr": "mean(z)"},
            {"name": "v", "expr": "broadcast_to(x[0, :1], shape=(5, 2))"},
            {"name": "t", "expr": "transpose(w)"},
            {"name": "q", "expr": "sum(tanh(w @ t)[0:2, ...])"},
            {"name": "ce", "op": "cross_entropy", "args": ["w", "labels"]},
            {"name": "s", "op": "sum", "args": ["x"], "kwargs": {"axis": [0], "keepdims": True}}],
    "backward": [{"output": "out", "retain_graph": True}],
}


def graph(ns: Namespace) -> tuple[list, list]:
    """The graph as plain data, in the namespace's walk order: each tensor's names, shape, dtype, flags and
    grad_fn, each node's name, freed flag, saved buffers and edges (as positions in the walk)."""
    tensors, nodes = ns.reachable()
    position = {id(x): i for i, x in enumerate([*tensors, *nodes])}
    names: dict[int, list[str]] = {}
    for name, t in ns.bindings.items():
        names.setdefault(id(t), []).append(name)
    return ([(names.get(id(t), []), t.shape, t.dtype.name, t.requires_grad, t.grad is not None,
              position.get(id(t.grad_fn))) for t in tensors],
            [(n.name, n.freed, [(a.shape, a.dtype.name) for a in saved_buffers(n)],
              [position.get(id(x)) for x in n.next]) for n in nodes])


def run(ns: Namespace, document: dict) -> dict:
    """Run a program written as a dict, as a library user would."""
    return ns.run(Program.from_dict(document))

def roundtrip(ns: Namespace) -> Namespace:
    state = dump(ns)
    manifest = json.loads(json.dumps(state.manifest))  # as a store keeps it: JSON only
    return load(manifest, {k: v.tobytes() for k, v in state.blobs.items()})


def snapshot(ns: Namespace) -> dict:
    return {n: (t.data.tobytes(), t.data.dtype.str, t.shape, None if t.grad is None else t.grad.tobytes(),
                t.requires_grad, None if t.grad_fn is None else t.grad_fn.name, t.retains_grad)
            for n, t in ns.bindings.items()}


def steps(ns: Namespace) -> list:
    """The same continuation on both sides; each step's outcome (bytes or error kind) is recorded."""
    seen = []
    calls = [lambda: ns.backward("q", retain_graph=True),
             lambda: ns.backward("out"),
             lambda: ns.backward("out"),  # freed by the call before: 409 on both sides
             lambda: ns.grad("q", ["w"], create_graph=True, bind=["gw"]),
             lambda: run(ns, {"ops": [{"name": "h", "expr": "sum(gw * gw)"}], "backward": [{"output": "h"}]}),
             lambda: ns.backward("ce"),
             lambda: ns.backward("s", gradient=np.ones((1, 2), np.float32))]
    for call in calls:
        try:
            call()
            seen.append(snapshot(ns))
        except GraphFreedError as e:
            seen.append(e.kind)
    return seen


def test_a_loaded_namespace_continues_bit_identically():
    a, b = Namespace(), Namespace()
    run(a, copy.deepcopy(PROGRAM))
    run(b, copy.deepcopy(PROGRAM))
    restored = roundtrip(b)
    assert snapshot(restored) == snapshot(a)
    assert graph(restored) == graph(a)
    assert steps(restored) == steps(a)


def test_views_stay_views_and_shared_arrays_stay_shared():
    ns = Namespace()
    run(ns, copy.deepcopy(PROGRAM))
    state = dump(ns)
    assert len(state.blobs) < len(state.manifest["arrays"])  # transpose, slices, broadcast_to are views
    restored = roundtrip(ns)
    assert restored.nbytes() == ns.nbytes()
    assert np.shares_memory(restored.bindings["t"].data, restored.bindings["w"].data)
    assert restored.bindings["v"].data.strides[0] == 0  # broadcast, not materialized


def test_tensor_identity_survives():
    ns = Namespace()
    run(ns, {"inputs": {"x": {"data": [1.0, 2.0], "requires_grad": True}}, "ops": [{"name": "a", "expr": "x"}]})
    restored = roundtrip(ns)
    assert restored.bindings["a"] is restored.bindings["x"]


def test_every_kwarg_kind_is_tagged_and_comes_back():
    ns = Namespace()
    run(ns, {"inputs": {"x": {"data": np.arange(24.0).reshape(2, 3, 4), "requires_grad": True}},
            "ops": [{"name": "y", "op": "index", "args": ["x"], "kwargs": {"key": [None, "...", "1:3", 0]}},
                    {"name": "c", "op": "clip", "args": ["x"], "kwargs": {"min": 0.5, "max": None}},
                    {"name": "r", "op": "reshape", "args": ["x"], "kwargs": {"shape": [4, -1]}}]})
    restored = roundtrip(ns)
    for name in ("y", "c", "r"):
        assert restored.bindings[name].grad_fn.kwargs == ns.bindings[name].grad_fn.kwargs


def valid_state():
    ns = Namespace()
    run(ns, {"inputs": {"x": {"data": [[1.0, 2.0]], "requires_grad": True}},
            "ops": [{"name": "y", "expr": "exp(x)"}, {"name": "out", "expr": "sum(y * x)"}]})
    state = dump(ns)
    return json.loads(json.dumps(state.manifest)), {k: v.tobytes() for k, v in state.blobs.items()}


def matrix(manifest):
    return next(a for a in manifest["arrays"] if a[2] == [1, 2])


def test_the_valid_state_loads():
    manifest, blobs = valid_state()
    assert set(load(manifest, blobs).bindings) == {"x", "y", "out"}


@pytest.mark.parametrize("tamper, says", [
    (lambda m, b: m["nodes"][0].update(op="os.system"), "not a differentiable op"),
    (lambda m, b: m["nodes"][0].update(op="eq"), "not a differentiable op"),
    (lambda m, b: m["nodes"][-1]["kwargs"].update(bogus=1), "unknown kwarg"),
    (lambda m, b: next(iter(m["blobs"].values())).update(dtype="object"), "dtype"),
    (lambda m, b: next(iter(m["blobs"].values())).update(dtype="complex128"), "dtype"),
    (lambda m, b: next(iter(m["blobs"].values())).update(shape=[-1]), "shape"),
    (lambda m, b: b.update({k: v[:-1] for k, v in b.items()}), "bytes"),
    (lambda m, b: b.clear(), "missing"),
    (lambda m, b: matrix(m).__setitem__(3, 1 << 20), "reads bytes"),
    (lambda m, b: matrix(m).__setitem__(4, [8, -4]), "reads bytes"),
    (lambda m, b: matrix(m).__setitem__(4, [0, 1 << 40]), "reads bytes"),
    (lambda m, b: m["nodes"][0]["next"].__setitem__(0, ["n", 5]), "next node"),
    (lambda m, b: m["tensors"][0].__setitem__(1, "zz"), "grad"),
    (lambda m, b: m["bindings"].update({"__import__('os')": 0}), "identifier"),
    (lambda m, b: m.update(format=99), "format"),
    (lambda m, b: m.update(nodes="nope"), "list"),
    (lambda m, b: m["nodes"][1].update(inputs=None), "inputs"),
    (lambda m, b: m["nodes"][0]["kwargs"].update(x={"pickle": "cos\nsystem"}), "tag"),
])
def test_tampered_states_are_refused_with_a_reason(tamper, says):
    manifest, blobs = valid_state()
    tamper(manifest, blobs)
    with pytest.raises(StateError, match=says):
        load(manifest, blobs)


def test_huge_declared_shapes_are_refused_before_anything_is_allocated():
    manifest, blobs = valid_state()
    bid = next(iter(manifest["blobs"]))
    manifest["blobs"][bid]["shape"] = [1 << 20, 1 << 20]
    with pytest.raises(LimitError, match="elements"):
        load(manifest, blobs, Limits(max_tensor_elements=10_000_000))
    manifest["blobs"][bid]["shape"] = [1 << 30]
    with pytest.raises(LimitError, match="bytes"):
        load(manifest, blobs, Limits(max_session_bytes=1 << 20))
    with pytest.raises(StateError):  # no limits at all: the byte count still has to match
        load(manifest, blobs)


def test_cycles_cannot_be_expressed():
    manifest, blobs = valid_state()
    last = len(manifest["nodes"]) - 1
    manifest["nodes"][0]["next"] = [["n", last]]
    with pytest.raises(StateError, match="next node"):
        load(manifest, blobs)


def test_load_state_names_the_arrays_it_made():
    manifest, blobs = valid_state()
    loaded = load_state(manifest, blobs)
    again = dump(loaded.namespace, blob_id=lambda root: next(b for b, a in loaded.blobs.items() if a is root))
    assert set(again.blobs) == set(loaded.blobs)


@pytest.mark.parametrize("edit", [
    lambda m: next(n for n in m["nodes"] if n["op"] == "sum")["inputs"][0].__setitem__(1, [3, 3]),
    lambda m: next(n for n in m["nodes"] if n["op"] == "exp").update(
        out=next(i for i, a in enumerate(m["arrays"]) if a[2] == [])),  # the saved output of another node
])
def test_shapes_that_disagree_along_an_edge_are_refused(edit):
    # a node's input or saved output that lies about the shape its child made: backward would meet it
    ns = Namespace()
    run(ns, {"inputs": {"x": {"data": [[1.0, 2.0]], "requires_grad": True}},
            "ops": [{"name": "out", "expr": "sum(exp(x) * 2)"}]})
    state = dump(ns)
    manifest = json.loads(json.dumps(state.manifest))
    edit(manifest)
    with pytest.raises(StateError, match="made|leaf"):
        load(manifest, {k: v.tobytes() for k, v in state.blobs.items()})


def test_graph_bookkeeping_counts_against_the_session_limit_before_any_node_is_made():
    manifest, blobs = valid_state()
    manifest["nodes"] = [{}] * 1_000_000  # a million (bogus) nodes: refused by count, never read
    with pytest.raises(LimitError, match="bytes"):
        load(manifest, blobs, Limits(max_session_bytes=64 * 1024 * 1024))
