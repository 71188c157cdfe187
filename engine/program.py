"""Programs: the interpreter that runs a program document (SPEC §4) against a namespace of bindings.

A Namespace is what a session holds: names bound to tensors, and through them
the graph. Every public method is all-or-nothing: bindings are snapshotted and
graph mutations (grads, freed buffers) are journaled, so a failure leaves the
namespace exactly as it was.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import expr as expressions
from .dispatch import apply, limit_elements
from .errors import EngineError, LimitError, OpError, UnknownNameError
from .functions import backward as tensor_backward
from .functions import grad as tensor_grad
from .graph import Node, set_attr, transaction
from .registry import close_ops, lookup
from .tensor import Tensor

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Limits:
    """Per-request limits; None means unlimited (the library default)."""

    max_ops: int | None = None
    max_tensor_elements: int | None = None
    max_session_bytes: int | None = None


NO_LIMITS = Limits()


def _located(e: EngineError, where: str, **at) -> EngineError:
    e.at(**at)
    if where and where not in e.detail:
        e.detail = f"{e.detail} {where}"
        e.args = (e.detail,)
    return e


def _check_name(name: Any, pointer: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise OpError(f"name {name!r} must be an identifier (letters, digits, underscore; not starting with a "
                      f"digit)", pointer=pointer)
    return name


class Namespace:
    """Names bound to tensors, and the programs, backward and grad calls that act on them."""

    def __init__(self) -> None:
        self.bindings: dict[str, Tensor] = {}

    # ------------------------------------------------------------------ atomicity

    @contextlib.contextmanager
    def _atomic(self, limits: Limits) -> Iterator[None]:
        saved = dict(self.bindings)
        try:
            with transaction(), limit_elements(limits.max_tensor_elements):
                yield
                if limits.max_session_bytes is not None:
                    n = self.nbytes()
                    if n > limits.max_session_bytes:
                        raise LimitError(f"the session would hold {n} bytes, over the limit of "
                                         f"{limits.max_session_bytes} bytes")
        except BaseException:
            self.bindings.clear()
            self.bindings.update(saved)
            raise

    # ------------------------------------------------------------------ lookups

    def variable(self, name: str, pointer: str | None = None) -> Tensor:
        try:
            return self.bindings[name]
        except (KeyError, TypeError):
            known = sorted(self.bindings)
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else (
                f" (bound: {', '.join(known[:20])})" if known else " (nothing is bound yet)")
            raise UnknownNameError(f"unknown name '{name}'{hint}", name=str(name), pointer=pointer) from None

    def with_grad(self) -> dict[str, Tensor]:
        return {n: t for n, t in self.bindings.items() if t.grad is not None}

    # ------------------------------------------------------------------ programs

    def run(self, program: Mapping[str, Any], limits: Limits = NO_LIMITS) -> dict[str, Tensor]:
        """Run inputs, ops, backward calls in order; return the variables asked for."""
        inputs = program.get("inputs") or {}
        ops = program.get("ops") or []
        calls = program.get("backward") or []
        parsed = self._parse_exprs(ops)
        self._check_op_count(ops, parsed, limits)
        with self._atomic(limits):
            bound: list[str] = []
            for name, spec in inputs.items():
                self.bindings[_check_name(name, f"/inputs/{name}")] = self._make_input(name, spec, limits)
                bound.append(name)
            for i, spec in enumerate(ops):
                try:
                    name = _check_name(spec.get("name"), f"/ops/{i}/name")
                except EngineError as e:
                    raise e.at(op_index=i) from None
                self.bindings[name] = self._run_op(i, spec, parsed.get(i))
                bound.append(name)
            for j, call in enumerate(calls):
                self._backward(call, f"/backward/{j}", where=f"in backward call {j}")
            return self._select(program.get("return"), bound)

    def _make_input(self, name: str, spec: Any, limits: Limits) -> Tensor:
        if not isinstance(spec, Mapping):
            spec = {"data": spec}
        try:
            data = spec.get("data")
            if data is None:
                raise OpError(f"input '{name}' has no data")
            t = Tensor(data, dtype=spec.get("dtype"))
            if spec.get("dtype") is None and t.data.dtype.kind in "iu" and not isinstance(data, (np.ndarray, Tensor)):
                t = Tensor(t.data, dtype=np.float32)  # numbers and lists in a program: float32 unless given
            if limits.max_tensor_elements is not None and t.data.size > limits.max_tensor_elements:
                raise LimitError(f"{t.data.size} elements in input '{name}', over the limit of "
                                 f"{limits.max_tensor_elements} elements per tensor")
            if spec.get("requires_grad"):
                t.requires_grad_(True)
            return t
        except EngineError as e:
            raise _located(e, f"in input '{name}'", name=name, pointer=f"/inputs/{name}") from None

    @staticmethod
    def _parse_exprs(ops) -> dict[int, Any]:
        parsed = {}
        for i, spec in enumerate(ops):
            if not isinstance(spec, Mapping):
                raise OpError(f"op {i} must be an object with 'name' and 'op' or 'expr'", op_index=i,
                              pointer=f"/ops/{i}")
            if "expr" in spec and spec.get("op") is not None:
                raise OpError(f"op {i} has both 'op' and 'expr'; give one", op_index=i, name=spec.get("name"),
                              pointer=f"/ops/{i}")
            if spec.get("expr") is not None:
                try:
                    parsed[i] = _parse(spec["expr"])
                except EngineError as e:
                    raise _located(e, f"in op {i} (expr)", op_index=i, name=spec.get("name"),
                                   pointer=f"/ops/{i}/expr") from None
            elif spec.get("op") is None:
                raise OpError(f"op {i} needs 'op' (with 'args') or 'expr'", op_index=i, name=spec.get("name"),
                              pointer=f"/ops/{i}")
        return parsed

    @staticmethod
    def _check_op_count(ops, parsed, limits: Limits) -> None:
        if limits.max_ops is None:
            return
        n = sum(expressions.count_ops(parsed[i]) if i in parsed else 1 for i in range(len(ops)))
        if n > limits.max_ops:
            raise LimitError(f"the program applies {n} ops, over the limit of {limits.max_ops} per request",
                             pointer="/ops")

    def _run_op(self, i: int, spec: Mapping[str, Any], parsed) -> Tensor:
        where = f"in op {i} (expr)" if parsed is not None else f"in op {i} '{spec['op']}'"
        try:
            if parsed is not None:
                result = expressions.evaluate(parsed, self.variable, _call)
                if not isinstance(result, Tensor):  # a bare number: float32, as number inputs are
                    result = Tensor(result, dtype=np.float32)
            else:
                args = spec.get("args") or []
                if not isinstance(args, (list, tuple)):
                    raise OpError("'args' must be a list")
                kwargs = spec.get("kwargs") or {}
                if not isinstance(kwargs, Mapping):
                    raise OpError("'kwargs' must be an object")
                values = [self.variable(a, pointer=f"/ops/{i}/args/{k}") if isinstance(a, str) else a
                          for k, a in enumerate(args)]
                result = _call(spec["op"], values, dict(kwargs))
            if spec.get("retain_grad"):
                result.retain_grad()
            return result
        except EngineError as e:
            pointer = f"/ops/{i}/expr" if parsed is not None else f"/ops/{i}"  # the formula is what to fix
            raise _located(e, where, op_index=i, name=spec["name"], pointer=pointer) from None

    def _select(self, names, bound: list[str]) -> dict[str, Tensor]:
        if names is None:
            chosen = list(dict.fromkeys(bound))
            chosen += [n for n, t in self.bindings.items() if t.is_leaf and t.grad is not None and n not in chosen]
            return {n: self.bindings[n] for n in chosen}
        if isinstance(names, str):
            names = [names]
        return {n: self.variable(n, pointer=f"/return/{k}") for k, n in enumerate(names)}

    # ------------------------------------------------------------------ backward, grad, zero_grad

    def _backward(self, call: Mapping[str, Any], pointer: str, where: str = "") -> None:
        output = call.get("output")
        try:
            t = self.variable(output, pointer=f"{pointer}/output")
            retain = call.get("retain_graph")
            tensor_backward(t, call.get("gradient"), retain_graph=retain,
                            create_graph=bool(call.get("create_graph", False)))
        except EngineError as e:
            raise _located(e, where, name=output if isinstance(output, str) else None, pointer=pointer) from None

    def backward(self, output: str, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
                 limits: Limits = NO_LIMITS, returns: list[str] | None = None) -> dict[str, Tensor]:
        """One backward call; returns the variables named in `returns`, by default every one with a grad.

        An unknown name in `returns` fails the call like any other error: nothing accumulates.
        """
        with self._atomic(limits):
            self._backward({"output": output, "gradient": gradient, "retain_graph": retain_graph,
                            "create_graph": create_graph}, "")
            return self.with_grad() if returns is None else self._select(returns, [])

    def grad(self, outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
             create_graph: bool = False, bind=None, allow_unused: bool = False,
             limits: Limits = NO_LIMITS) -> dict[str, Tensor]:
        """torch.autograd.grad by names; with `bind`, the gradients are bound under those names."""
        outputs = [outputs] if isinstance(outputs, str) else list(outputs)
        inputs = [inputs] if isinstance(inputs, str) else list(inputs)
        if bind is not None:
            bind = [bind] if isinstance(bind, str) else list(bind)
            if len(bind) != len(inputs):
                raise OpError(f"'bind' names {len(bind)} variables for {len(inputs)} inputs; give one per input",
                              pointer="/bind")
            for k, n in enumerate(bind):
                _check_name(n, f"/bind/{k}")
        if grad_outputs is not None and len(grad_outputs) != len(outputs):
            raise OpError(f"'grad_outputs' has {len(grad_outputs)} items for {len(outputs)} outputs",
                          pointer="/grad_outputs")
        outs = [self.variable(n, pointer=f"/outputs/{k}") for k, n in enumerate(outputs)]
        ins = [self.variable(n, pointer=f"/inputs/{k}") for k, n in enumerate(inputs)]
        with self._atomic(limits):
            grads = tensor_grad(outs, ins, grad_outputs, retain_graph=retain_graph, create_graph=create_graph,
                                allow_unused=allow_unused)
            names = bind or inputs
            result = {n: g for n, g in zip(names, grads, strict=True) if g is not None}
            if bind is not None:
                self.bindings.update(result)
        return result

    def zero_grad(self) -> None:
        """Set every grad in the namespace to None (leaves and retained non-leaves)."""
        with transaction():
            for t in self.bindings.values():
                if t.grad is not None:
                    set_attr(t, "grad", None)

    # ------------------------------------------------------------------ introspection

    def _reachable(self) -> tuple[list[Tensor], list[Node]]:
        """Bound tensors, leaves reachable from them, and every graph node, each once."""
        tensors: dict[int, Tensor] = {id(t): t for t in self.bindings.values()}
        nodes: dict[int, Node] = {}
        stack = [t.grad_fn for t in self.bindings.values() if t.grad_fn is not None]
        while stack:
            node = stack.pop()
            if id(node) in nodes:
                continue
            nodes[id(node)] = node
            for n in node.next:
                if type(n) is Node:
                    stack.append(n)
                elif n is not None:
                    tensors.setdefault(id(n), n)
        return list(tensors.values()), list(nodes.values())

    def nbytes(self) -> int:
        """Bytes held by bound tensors, their grads, the leaves below them and saved buffers."""
        tensors, nodes = self._reachable()
        seen: set[int] = set()
        total = 0

        def count(arr) -> None:
            nonlocal total
            if isinstance(arr, np.ndarray):
                base = arr if arr.base is None else arr.base
                if id(base) not in seen and isinstance(base, np.ndarray):
                    seen.add(id(base))
                    total += base.nbytes
                elif not isinstance(base, np.ndarray) and id(arr) not in seen:
                    seen.add(id(arr))
                    total += arr.nbytes

        for t in tensors:
            count(t.data)
            count(t.grad)
        for node in nodes:
            if node.op.saves and not node.freed:
                count(node.out)
                for x in node.inputs:
                    count(getattr(x, "data", x))
        return total

    def graph(self) -> dict[str, list[dict[str, Any]]]:
        """The autograd graph: leaf and named tensors, grad_fn nodes, edges in the forward direction."""
        tensors, nodes = self._reachable()
        names: dict[int, list[str]] = {}
        for n, t in self.bindings.items():
            names.setdefault(id(t), []).append(n)
        ids: dict[int, str] = {}
        out_nodes: list[dict[str, Any]] = []
        edges: list[dict[str, str]] = []

        def nid(obj) -> str:
            return ids.setdefault(id(obj), f"n{len(ids)}")

        for t in tensors:
            kind = "leaf" if t.is_leaf else "output"
            out_nodes.append({"id": nid(t), "kind": kind, "names": names.get(id(t), []),
                              "label": ", ".join(names.get(id(t), [])) or "(unnamed)",
                              "shape": list(t.shape), "dtype": t.dtype.name, "requires_grad": t.requires_grad,
                              "has_grad": t.grad is not None})
            if t.grad_fn is not None:
                edges.append({"source": nid(t.grad_fn), "target": nid(t)})
        for node in nodes:
            saved = []
            if node.op.saves and not node.freed:
                saved = [{"shape": list(np.shape(getattr(x, "data", x))),
                          "dtype": np.asarray(getattr(x, "data", x)).dtype.name}
                         for x in node.inputs if isinstance(getattr(x, "data", x), np.ndarray)]
                if node.out is not None:
                    saved.append({"shape": list(node.out.shape), "dtype": node.out.dtype.name})
            out_nodes.append({"id": nid(node), "kind": "grad_fn", "label": node.name, "op": node.op.name,
                              "saved": saved, "freed": node.freed})
            for n in node.next:
                if n is not None:
                    edges.append({"source": nid(n), "target": nid(node)})
        return {"nodes": out_nodes, "edges": edges}

    def graph_dot(self) -> str:
        """The graph as Graphviz DOT, drawn as torchviz does: leaves blue, grad_fns grey, outputs green."""
        g = self.graph()
        style = {"leaf": 'shape=box, style=filled, fillcolor="lightblue"',
                 "output": 'shape=box, style=filled, fillcolor="darkolivegreen1"',
                 "grad_fn": 'shape=box, style=filled, fillcolor="lightgrey"'}
        lines = ["digraph autograd {", '  node [fontname="monospace", fontsize=10];']
        for n in g["nodes"]:
            if n["kind"] == "grad_fn":
                label = n["label"] + ("\\n(freed)" if n["freed"] else "")
                label += "".join(f"\\nsaved {tuple(s['shape'])} {s['dtype']}" for s in n["saved"])
            else:
                label = f"{n['label']}\\n{tuple(n['shape'])} {n['dtype']}"
            label = label.replace('"', '\\"')
            lines.append(f'  {n["id"]} [label="{label}", {style[n["kind"]]}];')
        lines += [f"  {e['source']} -> {e['target']};" for e in g["edges"]]
        lines.append("}")
        return "\n".join(lines) + "\n"


@functools.lru_cache(maxsize=1024)
def _parse_cached(text: str):
    return expressions.parse(text)


def _parse(text):
    # clients resend the same formulas (a loop body); parsed expressions are immutable, so they are shared
    return _parse_cached(text) if isinstance(text, str) else expressions.parse(text)


def _call(op_name: str, args: list, kwargs: dict) -> Tensor:
    opdef = lookup(op_name) if isinstance(op_name, str) else None
    if opdef is None:
        close = close_ops(str(op_name))
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else " (see the op catalog)"
        raise OpError(f"unknown op {op_name!r}{hint}")
    return apply(opdef, tuple(args), kwargs)
