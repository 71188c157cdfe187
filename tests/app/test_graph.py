"""The graph's renderings: JSON nodes and edges and Graphviz DOT, both read off the engine's reachable walk."""

from __future__ import annotations

import re

import numpy as np

from app.examples import SEED_PROGRAM
from app.graphviz import graph_dot, graph_json
from engine.program import Namespace
from engine.structure import Program


def run(ns: Namespace, document: dict) -> dict:
    return ns.run(Program.from_dict(document))


def test_graph_nodes_and_edges():
    ns = Namespace()
    run(ns, {k: v for k, v in SEED_PROGRAM.items() if k != "backward"})
    g = graph_json(ns)
    by_id = {n["id"]: n for n in g["nodes"]}
    kinds = {}
    for n in g["nodes"]:
        kinds.setdefault(n["kind"], []).append(n["label"])
    assert sorted(kinds["leaf"]) == ["x"] and sorted(kinds["output"]) == ["out", "y", "z"]
    assert sorted(kinds["grad_fn"]) == ["AddBackward0", "MeanBackward0", "MulBackward0", "MulBackward0"]
    x = next(n for n in g["nodes"] if n["label"] == "x")
    assert x["shape"] == [2, 2] and x["dtype"] == "float32" and x["requires_grad"] and not x["has_grad"]
    edges = {(by_id[e["source"]]["label"], by_id[e["target"]]["label"]) for e in g["edges"]}
    # forward direction: inputs point at the grad_fn that consumed them, a grad_fn at the tensor it made
    assert {("x", "AddBackward0"), ("AddBackward0", "y"), ("AddBackward0", "MulBackward0"),
            ("MulBackward0", "MulBackward0"), ("MulBackward0", "z"), ("MulBackward0", "MeanBackward0"),
            ("MeanBackward0", "out")} == edges
    assert not any(n.get("freed") for n in g["nodes"])
    assert any(n["saved"] for n in g["nodes"] if n["kind"] == "grad_fn")

    ns.backward("out")
    after = graph_json(ns)
    for n in after["nodes"]:
        if n["kind"] == "grad_fn":  # the muls saved buffers and are freed; add and mean saved nothing
            assert n["freed"] == (n["label"] == "MulBackward0") and n["saved"] == []
    assert next(n for n in after["nodes"] if n["label"] == "x")["has_grad"]


def test_an_unnamed_leaf_and_a_name_bound_twice():
    ns = Namespace()
    run(ns, {"inputs": {"x": {"data": [1.0, 2.0], "requires_grad": True}},
             "ops": [{"name": "y", "expr": "exp(x)"}, {"name": "alias", "expr": "y"}]})
    run(ns, {"inputs": {"x": [5.0]}})  # the old x is reachable only through y's graph now
    nodes = graph_json(ns)["nodes"]
    labels = sorted(n["label"] for n in nodes if n["kind"] != "grad_fn")
    assert labels == ["(unnamed)", "x", "y, alias"]
    exp = next(n for n in nodes if n["kind"] == "grad_fn")
    assert exp["saved"] == [{"shape": [2], "dtype": "float32"}]  # exp keeps its output


def test_graph_dot_is_valid_dot_text():
    ns = Namespace()
    run(ns, {"inputs": {"x": {"data": np.array([1.0, 2.0, 3.0], np.float32), "requires_grad": True}},
             "ops": [{"name": "out", "expr": "sum(x * x)"}, {"name": "q", "expr": "sum(x / 2) + out"}]})
    g = graph_json(ns)
    dot = graph_dot(ns)
    lines = dot.strip().splitlines()
    assert lines[0].startswith("digraph") and lines[0].endswith("{") and lines[-1] == "}"
    node_line = re.compile(r'\s+n\d+ \[label="([^"\\]|\\.)*", [^\]]*\];')
    edge_line = re.compile(r"\s+(n\d+) -> (n\d+);")
    edge_lines = [edge_line.fullmatch(line).groups() for line in lines if "->" in line]
    node_lines = [line for line in lines[1:-1] if "->" not in line and not line.strip().startswith("node ")]
    assert all(node_line.fullmatch(line) for line in node_lines), node_lines
    assert len(node_lines) == len(g["nodes"])
    assert sorted(edge_lines) == sorted((e["source"], e["target"]) for e in g["edges"])
    assert "DivBackward0" in dot and "SumBackward0" in dot and "saved (3,) float32" in dot
