"""Pictures of a session's autograd graph: JSON nodes and edges, Graphviz DOT, and SVG drawn by Graphviz's
`dot` when the server has it installed. All of them read the engine's walk of what is reachable."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from engine.program import Namespace, saved_buffers

from .errors import Problem

# as torchviz draws them: leaves blue, grad_fn nodes grey, outputs green
DOT_STYLE = {"leaf": 'shape=box, style=filled, fillcolor="lightblue"',
             "output": 'shape=box, style=filled, fillcolor="darkolivegreen1"',
             "grad_fn": 'shape=box, style=filled, fillcolor="lightgrey"'}

# dot's layout is superlinear in the graph's size; past this the client is better served by format=dot
RENDER_TIMEOUT_SECONDS = 10.0


def render_svg(dot_source: str) -> bytes:
    """`dot -Tsvg` on the source, without a shell; 406 svg-unavailable when `dot` is not on PATH."""
    dot = shutil.which("dot")
    if dot is None:
        raise Problem(406, "svg-unavailable",
                      "this server has no Graphviz `dot` to draw SVG; ask for format=dot and render it yourself "
                      "(`dot -Tsvg graph.dot > graph.svg`)")
    try:
        done = subprocess.run([dot, "-Tsvg"], input=dot_source.encode(), capture_output=True,
                              timeout=RENDER_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise Problem(413, "limit-exceeded", f"the graph is too large to draw within {RENDER_TIMEOUT_SECONDS:g} s; "
                                             "ask for format=dot and render it yourself") from None
    if done.returncode != 0:
        # the DOT text is ours, so a failure here is the server's fault, reported by the 500 handler
        raise RuntimeError(f"dot -Tsvg exited with {done.returncode}: {done.stderr.decode(errors='replace')[:500]}")
    return done.stdout


def graph_json(namespace: Namespace) -> dict[str, list[dict[str, Any]]]:
    """Leaf and named tensors, grad_fn nodes (with what they saved, and whether it was freed), and edges in
    the forward direction: an input points at the grad_fn that used it, a grad_fn at the tensor it made."""
    tensors, nodes = namespace.reachable()
    names: dict[int, list[str]] = {}
    for n, t in namespace.bindings.items():
        names.setdefault(id(t), []).append(n)
    ids: dict[int, str] = {}
    out_nodes: list[dict[str, Any]] = []
    edges: list[dict[str, str]] = []

    def nid(obj: object) -> str:
        return ids.setdefault(id(obj), f"n{len(ids)}")

    for t in tensors:
        named = names.get(id(t), [])
        out_nodes.append({"id": nid(t), "kind": "leaf" if t.is_leaf else "output", "names": named,
                          "label": ", ".join(named) or "(unnamed)", "shape": list(t.shape), "dtype": t.dtype.name,
                          "requires_grad": t.requires_grad, "has_grad": t.grad is not None})
        if t.grad_fn is not None:
            edges.append({"source": nid(t.grad_fn), "target": nid(t)})
    for node in nodes:
        saved = [{"shape": list(a.shape), "dtype": a.dtype.name} for a in saved_buffers(node)]
        out_nodes.append({"id": nid(node), "kind": "grad_fn", "label": node.name, "op": node.op.name,
                          "saved": saved, "freed": node.freed})
        edges += [{"source": nid(n), "target": nid(node)} for n in node.next if n is not None]
    return {"nodes": out_nodes, "edges": edges}


def graph_dot(namespace: Namespace) -> str:
    """The graph as Graphviz DOT: the nodes and edges of graph_json, labelled with names, shapes and dtypes."""
    g = graph_json(namespace)
    lines = ["digraph autograd {", '  node [fontname="monospace", fontsize=10];']
    for n in g["nodes"]:
        if n["kind"] == "grad_fn":
            label = n["label"] + ("\\n(freed)" if n["freed"] else "")
            label += "".join(f"\\nsaved {tuple(s['shape'])} {s['dtype']}" for s in n["saved"])
        else:
            label = f"{n['label']}\\n{tuple(n['shape'])} {n['dtype']}"
        label = label.replace('"', '\\"')
        lines.append(f'  {n["id"]} [label="{label}", {DOT_STYLE[n["kind"]]}];')
    lines += [f"  {e['source']} -> {e['target']};" for e in g["edges"]]
    lines.append("}")
    return "\n".join(lines) + "\n"
