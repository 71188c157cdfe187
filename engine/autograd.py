"""Reverse mode: graph nodes, grad mode, and the backward pass.

`run_backward` is the whole algorithm: find the nodes that matter, count their
dependencies, then hand each node its summed upstream gradient exactly once, in
topological order, with no recursion. Effects on the outside world (leaf grads,
freed buffers) are applied only after the pass succeeded, so a failing backward
changes nothing.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from .errors import GRAPH_FREED_MESSAGE, BackwardError, GraphFreedError
from .tensor import Tensor

# ---------------------------------------------------------------------------- grad mode

class _State(threading.local):
    """Per-thread grad mode and journal; class attributes are every thread's defaults (a plain
    attribute read, far cheaper than getattr with a default on the hot path)."""

    grad_enabled = True
    journal = None


_local = _State()


def is_grad_enabled() -> bool:
    return _local.grad_enabled


@contextlib.contextmanager
def set_grad_enabled(enabled: bool) -> Iterator[None]:
    previous = is_grad_enabled()
    _local.grad_enabled = enabled
    try:
        yield
    finally:
        _local.grad_enabled = previous


def no_grad():
    """Context manager: ops inside record no graph (torch.no_grad)."""
    return set_grad_enabled(False)


def enable_grad():
    return set_grad_enabled(True)


# ---------------------------------------------------------------------------- journal

class Journal:
    """Undo log of graph mutations (grads set, buffers freed), for all-or-nothing programs."""

    def __init__(self) -> None:
        self.undo: list[tuple[Any, str, Any]] = []

    def rollback(self) -> None:
        for obj, attr, old in reversed(self.undo):
            setattr(obj, attr, old)
        self.undo.clear()


def _journal() -> Journal | None:
    return _local.journal


@contextlib.contextmanager
def transaction() -> Iterator[Journal]:
    """Record every grad and buffer change made inside; roll them all back if the block raises."""
    outer = _journal()
    journal = Journal()
    _local.journal = journal
    try:
        yield journal
    except BaseException:
        journal.rollback()
        raise
    finally:
        _local.journal = outer
    if outer is not None:  # nested: the outer transaction may still need to undo these
        outer.undo.extend(journal.undo)


def set_attr(obj: Any, attr: str, value: Any) -> None:
    """The one way the engine mutates graph state that outlives an op."""
    journal = _journal()
    if journal is not None:
        journal.undo.append((obj, attr, getattr(obj, attr)))
    setattr(obj, attr, value)


# ---------------------------------------------------------------------------- nodes

class Meta:
    """Shape and dtype of an input whose data a node did not save."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype):
        self.shape = shape
        self.dtype = dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


def meta_of(x) -> Meta:
    t = type(x)
    if t is Tensor:
        x = x.data
        return Meta(x.shape, x.dtype)
    if t is np.ndarray:
        return Meta(x.shape, x.dtype)
    if t is Meta:
        return x
    if t is float or t is int or t is bool:
        return Meta((), None)
    return Meta(np.shape(x), getattr(x, "dtype", None))


class Node:
    """One recorded op: what backward needs to send a gradient to each input.

    `next[i]` is where input i's gradient goes: another Node, a leaf Tensor that
    requires grad, or None. `inputs` are the saved inputs (or their Meta when the
    vjp needs only shapes; None once freed, unless a grad_fn name rule still needs their shapes);
    `out` is the saved output data when the vjp needs it.
    """

    __slots__ = ("op", "kwargs", "next", "inputs", "out", "freed", "retained", "__weakref__")

    def __init__(self, op, kwargs, next, inputs, out):
        self.op = op
        self.kwargs = kwargs
        self.next = next
        self.inputs = inputs
        self.out = out
        self.freed = False
        self.retained = None  # the Tensor whose grad is kept (retain_grad), if any

    @property
    def name(self) -> str:
        rule = self.op.grad_fn_rule
        return self.op.grad_fn if rule is None else rule(self.kwargs, self.inputs)

    def __repr__(self) -> str:
        return f"<{self.name}>"


# ---------------------------------------------------------------------------- backward

def _walk(roots: list[Node]) -> list[Node]:
    """Every node reachable from roots, children before parents (iterative post-order)."""
    order: list[Node] = []
    seen: set[Node] = set()
    for root in roots:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(root.next))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if type(child) is Node and child not in seen:
                    seen.add(child)
                    stack.append((child, iter(child.next)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def run_backward(roots, grad_roots, *, retain_graph: bool, create_graph: bool,
                 inputs=None, allow_unused: bool = False):
    """Send grad_roots back from roots.

    With inputs=None (Tensor.backward), gradients accumulate into leaves and
    retain_grad tensors. Otherwise (engine.grad) nothing accumulates, and the
    gradients reaching `inputs` are returned in order. Nodes and tensors are
    dict keys by identity (neither defines __eq__).
    """
    from .registry import reduce_grad, vjp_namespace  # the op table depends on this module

    F = vjp_namespace(create_graph)
    leaf_sums: dict[Any, Any] = {}  # leaf Tensor -> summed grad
    buffers: dict[Node, Any] = {}  # node -> summed grad of its output so far
    root_nodes: list[Node] = []
    for root, g in zip(roots, grad_roots, strict=True):
        if root.grad_fn is None:
            _add(leaf_sums, root, g)
        else:
            node = root.grad_fn
            buffers[node] = g if node not in buffers else buffers[node] + g
            root_nodes.append(node)

    if inputs is None:  # every reachable node is needed: count dependencies in one walk
        deps = _dependencies(root_nodes)
        leaf_targets = node_targets = None
    else:  # only nodes from which an input can be reached
        leaf_targets = {t for t in inputs if t.grad_fn is None}
        node_targets = {t.grad_fn for t in inputs if t.grad_fn is not None}
        useful: set[Node] = set()
        for node in _walk(root_nodes):  # children come first, so usefulness flows up
            if node in node_targets or any(n in useful or n in leaf_targets for n in node.next if n is not None):
                useful.add(node)
        leaf_sums = {k: v for k, v in leaf_sums.items() if k in leaf_targets}
        deps = dict.fromkeys(useful, 0)
        for node in useful:
            for n in node.next:
                if n in useful:
                    deps[n] += 1
    ready = [n for n in dict.fromkeys(root_nodes) if deps.get(n) == 0]

    retained: list[tuple[Any, Any]] = []
    captured: dict[Node, Any] = {}
    executed: list[Node] = []
    while ready:
        node = ready.pop()
        g = buffers.pop(node, None)
        executed.append(node)
        if node_targets is not None:
            if node in node_targets:
                captured[node] = g
        elif g is not None and node.retained is not None:
            retained.append((node.retained, g))
        if node.freed and node.op.saves:
            raise GraphFreedError(GRAPH_FREED_MESSAGE)
        grads = node.op.call_vjp(F, g, node, create_graph) if g is not None else (None,) * len(node.next)
        for n, gi, x in zip(node.next, grads, node.inputs, strict=True):
            if n is None:
                continue
            if type(x) is Tensor:  # its array's shape and dtype, without the properties
                x = x.data
            if type(n) is Node:
                left = deps.get(n)
                if left is None:  # leads to no input of engine.grad
                    continue
                if gi is not None:
                    if gi.shape != x.shape or gi.dtype is not x.dtype:  # else nothing to reduce
                        gi = reduce_grad(gi, x.shape, x.dtype, create_graph)
                    buffers[n] = gi if n not in buffers else buffers[n] + gi
                deps[n] = left - 1
                if left == 1:
                    ready.append(n)
            elif gi is not None and (leaf_targets is None or n in leaf_targets):
                _add(leaf_sums, n, reduce_grad(gi, x.shape, x.dtype, create_graph))

    result = []
    for i, t in enumerate(inputs or ()):  # an unused input fails the call before anything is freed
        g = leaf_sums.get(t) if t.grad_fn is None else captured.get(t.grad_fn)
        if g is None and not allow_unused:
            raise BackwardError(
                f"The differentiated Tensor at index {i} appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior.")
        result.append(g)

    # The pass succeeded: now, and only now, touch state that outlives it.
    if not retain_graph:
        _free(executed)
    if inputs is None:
        for leaf, g in leaf_sums.items():
            _accumulate(leaf, g)
        for tensor, g in retained:
            _accumulate(tensor, g)
        return None
    return result


def _dependencies(roots: list[Node]) -> dict[Node, int]:
    """node -> how many edges from nodes reachable from roots point at it (one walk, no ordering)."""
    deps = dict.fromkeys(roots, 0)
    stack = list(deps)
    while stack:
        for n in stack.pop().next:
            if type(n) is Node:
                if n in deps:
                    deps[n] += 1
                else:
                    deps[n] = 1
                    stack.append(n)
    return deps


def _free(nodes: list[Node]) -> None:
    """Drop the buffers the nodes saved, keeping shapes and dtypes (journaled like set_attr)."""
    journal = _journal()
    for node in nodes:
        if node.op.saves and not node.freed:
            if journal is not None:
                journal.undo += [(node, "inputs", node.inputs), (node, "out", node.out), (node, "freed", node.freed)]
            if node.op.saves_inputs:  # otherwise they are Meta already
                # a freed node never runs its vjp again: only a grad_fn name rule still reads input shapes
                node.inputs = None if node.op.grad_fn_rule is None else tuple(
                    [meta_of(x) for x in node.inputs])
            node.out = None
            node.freed = True


def _add(sums: dict, leaf, g) -> None:
    sums[leaf] = g if leaf not in sums else sums[leaf] + g


def _accumulate(tensor, g) -> None:
    """Leaf grads accumulate across backward calls (never in place: the journal keeps the old array)."""
    data = g.data if hasattr(g, "grad_fn") else g
    data = np.asarray(data, dtype=tensor.data.dtype)
    set_attr(tensor, "grad", data if tensor.grad is None else tensor.grad + data)
