"""Reverse mode: the backward pass, engine.backward and engine.grad, and the vjp namespaces.

`run_backward` is the whole algorithm: find the nodes that matter, count their
dependencies, then hand each node its summed upstream gradient exactly once, in
topological order, with no recursion. Effects on the outside world (leaf grads,
freed buffers) are applied only after the pass succeeded, so a failing backward
changes nothing.

This layer sits above forward dispatch and below the op table: vjp rules reach the ops
through the namespaces here, filled as each op registers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np
from numpy.typing import DTypeLike, NDArray

from . import dispatch  # noqa: F401  (its on_register listener gives each op the function read below)
from .errors import GRAPH_FREED_MESSAGE, BackwardError, GraphFreedError, ModifiedInPlaceError
from .governance import state as _governance
from .graph import Meta, Node, current_journal, set_attr
from .registry import OpDef, on_register
from .tensor import Tensor, as_array, install_backward, meta_of

# ---------------------------------------------------------------------------- backward

def walk(roots: list[Node]) -> list[Node]:
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


# gradients come back (one per input, None where none arrives) exactly when `inputs` are given
@overload
def run_backward(roots: Sequence[Tensor], grad_roots: Sequence[Any], *, retain_graph: bool, create_graph: bool,
                 inputs: None = None, allow_unused: bool = False, batched: bool = False) -> None: ...


@overload
def run_backward(roots: Sequence[Tensor], grad_roots: Sequence[Any], *, retain_graph: bool, create_graph: bool,
                 inputs: Sequence[Tensor], allow_unused: bool = False, batched: bool = False) -> list[Any]: ...


def run_backward(roots: Sequence[Tensor], grad_roots: Sequence[Any], *, retain_graph: bool, create_graph: bool,
                 inputs: Sequence[Tensor] | None = None, allow_unused: bool = False,
                 batched: bool = False) -> list[Any] | None:
    """Send grad_roots back from roots.

    With inputs=None (Tensor.backward), gradients accumulate into leaves and
    retain_grad tensors. Otherwise (engine.grad) nothing accumulates, and the
    gradients reaching `inputs` are returned in order. Nodes and tensors are
    dict keys by identity (neither defines __eq__).

    batched: every gradient carries one leading batch axis (the same B everywhere): one pass computes
    B vector-Jacobian products, each node running its op's batch vjp (engine.grad's is_grads_batched).
    """
    F = _RECORDED if create_graph else _PLAIN
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

    useful: set[Node] = set()  # the nodes engine.grad runs
    if inputs is None:  # every reachable node is needed: count dependencies in one walk
        deps = _dependencies(root_nodes)
        leaf_targets = node_targets = None
    else:  # only nodes from which an input can be reached
        leaf_targets = {t for t in inputs if t.grad_fn is None}
        node_targets = {t.grad_fn for t in inputs if t.grad_fn is not None}
        # a node runs when another input lies below it; an input's own node only receives its gradient
        # (as in torch, it is neither run nor freed: it may have been freed already)
        useful = set()  # nodes to run
        for node in walk(root_nodes):  # children come first, so usefulness flows up
            if any(n in useful or n in leaf_targets or n in node_targets for n in node.next if n is not None):
                useful.add(node)
        leaf_sums = {k: v for k, v in leaf_sums.items() if k in leaf_targets}
        deps = dict.fromkeys(useful | node_targets, 0)
        for node in useful:
            for n in node.next:
                if n in deps:
                    deps[n] += 1
    ready = [n for n in dict.fromkeys(root_nodes) if deps.get(n) == 0]

    retained: list[tuple[Any, Any]] = []
    captured: dict[Node, Any] = {}
    budget = _governance.budget
    # The node that became ready last is run next, as if pushed onto `ready` and popped at once: its
    # summed gradient travels with it (`follow`, `fg`) instead of through `buffers`, which on a chain
    # saves two dict and two list operations per node; the order of the pass is unchanged.
    follow = fg = None
    while True:
        if follow is not None:
            node, g = follow, fg
            follow = fg = None
        elif ready:
            node = ready.pop()
            g = buffers.pop(node, None)
        else:
            break
        if node_targets is not None:
            if node in node_targets:
                captured[node] = g
            if node not in useful:
                continue
        elif g is not None and node.retained is not None:
            retained.append((node.retained, g))
        op = node.op
        if budget is not None:  # recorded vjps (create_graph) charge their own ops
            if create_graph:
                budget.check()
            else:  # a batched pass carries B gradients at once
                budget.charge(_grad_bytes(node) * (g.shape[0] if batched and g is not None else 1)
                              + (g.nbytes if type(g) is np.ndarray else 0))
        if node.freed and op.saves:
            raise GraphFreedError(GRAPH_FREED_MESSAGE)
        if op.saves_inputs:
            _check_versions(node)
        nxt = node.next
        grads: Sequence[Any]  # one per input, None where none is computed
        if g is None:
            grads = (None,) * len(nxt)
        elif leaf_targets is None:  # backward: every input that goes somewhere
            if batched:
                grads = op.call_batch_vjp(F, g, node, create_graph, [n is not None for n in nxt])
            elif create_graph:
                grads = op.call_vjp(F, g, node, True)
            else:
                grads = op.plain_vjp(F, g, node)
        else:  # engine.grad: only the gradients that lead to its inputs
            wanted = [n is not None and (n in deps or n in leaf_targets) for n in nxt]
            grads = op.call_batch_vjp(F, g, node, create_graph, wanted) if batched else \
                op.call_vjp(F, g, node, create_graph, wanted)
        for n, gi, x in zip(nxt, grads, node.inputs, strict=True):
            if n is None:
                continue
            if type(x) is Tensor:  # its array's shape and dtype, without the properties
                x = x.data
            if gi is not None:
                if batched:
                    gi = reduce_batched_grad(gi, x.shape, x.dtype, create_graph)
                elif gi.shape != x.shape or gi.dtype is not x.dtype:  # else nothing to reduce
                    gi = reduce_grad(gi, x.shape, x.dtype, create_graph)
            if type(n) is Node:
                left = deps.get(n)
                if left is None:  # leads to no input of engine.grad
                    continue
                if left == 1:  # its last gradient: n is ready
                    if n in buffers:
                        prev = buffers.pop(n)
                        gi = prev if gi is None else prev + gi
                    if follow is not None:
                        ready.append(follow)
                        if fg is not None:
                            buffers[follow] = fg
                    follow, fg = n, gi
                else:
                    deps[n] = left - 1
                    if gi is not None:
                        buffers[n] = gi if n not in buffers else buffers[n] + gi
            elif gi is not None and (leaf_targets is None or n in leaf_targets):
                _add(leaf_sums, n, gi)

    result = []
    for i, t in enumerate(inputs or ()):  # an unused input fails the call before anything is freed
        g = leaf_sums.get(t) if t.grad_fn is None else captured.get(t.grad_fn)
        if g is None and not allow_unused:
            raise BackwardError(
                f"The differentiated Tensor at index {i} appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior.")
        result.append(g)

    # The pass succeeded: now, and only now, touch state that outlives it.
    if not retain_graph:  # every node counted to run did (each reached zero dependencies): free them all
        _free(deps if inputs is None else useful)
    if inputs is None:
        for leaf, g in leaf_sums.items():
            _accumulate(leaf, g)
        for tensor, g in retained:
            _accumulate(tensor, g)
        return None
    return result


# Ops linear in each input save an input only for the others' gradients, as torch does (x * w saves w only
# when x requires grad): input i is saved when one of SAVED_FOR[op][i] requires grad. Other ops save every
# input they declare.
SAVED_FOR = {"mul": ((1,), (0,)), "matmul": ((1,), (0,)), "dot": ((1,), (0,)), "outer": ((1,), (0,)),
             "div": ((1,), (0, 1))}
_TORCH_TYPES = {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "int64": "torch.LongTensor",
                "bool": "torch.BoolTensor"}


def _check_versions(node: Node) -> None:
    """Refuse to use a saved input written in place since the node saved it (torch's version counters)."""
    inputs = node.inputs
    for i in range(len(inputs) - 1, -1, -1):  # torch unpacks the last saved input first: its error names that one
        x = inputs[i]
        if type(x) is not Tensor or x._vc is None:
            continue
        expected = 0 if node.versions is None else node.versions[i]
        if x._vc.value == expected:
            continue
        saved_for = SAVED_FOR.get(node.op.name)
        if saved_for is not None and all(node.next[k] is None for k in saved_for[i]):
            continue  # torch did not save this one
        # only leaves are written in place, so a computed tensor here is a view of one: torch names those
        which = "" if x.grad_fn is None else ", which is output 0 of AsStrided,"
        raise ModifiedInPlaceError(
            "one of the variables needed for gradient computation has been modified by an inplace operation: "
            f"[{_TORCH_TYPES.get(x.data.dtype.name, x.data.dtype.name)} {list(x.data.shape)}]{which} is at "
            f"version {x._vc.value}; expected version {expected} instead. Hint: enable anomaly detection to find "
            "the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, "
            "check_nan=False).")


def _grad_bytes(node: Node) -> int:
    """An upper bound of what a node's vjp allocates per row of gradients: a gradient per input that gets one
    and as much again for the temporaries, broadcast reductions and sums into other gradients that follow
    (the caller adds the upstream gradient's size once more, for temporaries of the output's shape).
    Inputs with nowhere to go get no gradient, except from variadic rules, which give one to every input."""
    n = 0
    every = node.op.variadic
    for x, to in zip(node.inputs or (), node.next, strict=False):
        if to is None and not every:
            continue
        if type(x) is Tensor:
            n += x.data.nbytes
        elif type(x) is np.ndarray:
            n += x.nbytes
        elif type(x) is Meta and x.dtype is not None:
            n += math.prod(x.shape) * x.dtype.itemsize
    return 2 * n


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


def _free(nodes: Iterable[Node]) -> None:
    """Drop the buffers the nodes saved, keeping shapes and dtypes (journaled like set_attr)."""
    journal = current_journal()
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


def _add(sums: dict[Any, Any], leaf: Tensor, g: Any) -> None:
    sums[leaf] = g if leaf not in sums else sums[leaf] + g


def _accumulate(tensor: Tensor, g: Any) -> None:
    """Leaf grads accumulate across backward calls (never in place: the journal keeps the old array)."""
    data = g.data if hasattr(g, "grad_fn") else g
    data = np.asarray(data, dtype=tensor.data.dtype)
    set_attr(tensor, "grad", data if tensor.grad is None else tensor.grad + data)


# ---------------------------------------------------------------------------- backward and grad

def _root_grad(output: Tensor, gradient: object, position: int, create_graph: bool) -> Tensor | NDArray[Any]:
    if gradient is None:
        if output.data.size != 1:
            raise BackwardError("grad can be implicitly created only for scalar outputs")
        g = np.ones_like(output.data)
    else:
        g = as_array(gradient, output.data.dtype)
        if g.shape != output.data.shape:
            raise BackwardError(f"Mismatch in shape: grad_output[{position}] has a shape of {g.shape} and "
                                f"output[{position}] has a shape of {output.data.shape}.")
    if create_graph:
        return gradient if isinstance(gradient, Tensor) and gradient.shape == g.shape else Tensor._make(g, None)
    return g


def _batched_root_grads(roots: list[Tensor], grad_outputs: list[Any], create_graph: bool) -> list[Any]:
    """The upstream gradients of a batched backward: each of its output's shape behind one batch axis B."""
    batch = None
    gs: list[Any] = []  # arrays, or Tensors under create_graph
    for i, (o, g) in enumerate(zip(roots, grad_outputs)):
        if g is None:
            raise BackwardError(f"is_grads_batched needs grad_outputs: grad_outputs[{i}] is missing (give it "
                                f"the shape (B, {', '.join(map(str, o.shape))}), a leading batch axis B)")
        arr = as_array(g, o.data.dtype)
        if arr.shape[1:] != o.data.shape or arr.ndim != o.data.ndim + 1:
            raise BackwardError(f"Mismatch in shape: grad_output[{i}] has a shape of {arr.shape}; with "
                                f"is_grads_batched it must be a batch axis followed by output[{i}]'s shape "
                                f"{o.data.shape}")
        if batch is not None and arr.shape[0] != batch:
            raise BackwardError(f"grad_outputs[{i}] has a batch of {arr.shape[0]}, grad_outputs[0] of {batch}: "
                                "every item of a batched backward needs the same batch size")
        batch = arr.shape[0]
        if create_graph:
            gs.append(g if isinstance(g, Tensor) and g.data.dtype == arr.dtype else Tensor._make(arr, None))
        else:
            gs.append(arr)
    return gs


def _check_output(output: object, position: int) -> Tensor:
    if not isinstance(output, Tensor):
        raise BackwardError(f"element {position} of outputs is not a tensor")
    if not output.requires_grad:
        raise BackwardError(f"element {position} of tensors does not require grad and does not have a grad_fn")
    return output


def backward(tensor: Tensor, gradient: object = None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate d tensor / d leaf into every leaf's grad (Tensor.backward)."""
    _check_output(tensor, 0)
    g = _root_grad(tensor, gradient, 0, create_graph)
    run_backward([tensor], [g], retain_graph=create_graph if retain_graph is None else retain_graph,
                 create_graph=create_graph)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor], grad_outputs: Any = None,
         retain_graph: bool | None = None, create_graph: bool = False, allow_unused: bool = False,
         is_grads_batched: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of outputs with respect to inputs, without touching any .grad (torch.autograd.grad).

    grad_outputs: one gradient per output (a Tensor, array, nested list, or None for a one-element
    output), or for a single output that gradient itself.
    is_grads_batched: every grad_outputs item has a leading batch axis of one size B, and every gradient
    comes back with it: B vector-Jacobian products in one backward pass (each op's batch vjp), not B passes.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)) and len(outputs) == 1:
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise BackwardError(f"grad_outputs has {len(grad_outputs)} items for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise BackwardError(f"One of the differentiated Tensors (input {i}) does not require grad")
    roots = [_check_output(o, i) for i, o in enumerate(outputs)]
    if is_grads_batched:
        gs = _batched_root_grads(roots, grad_outputs, create_graph)
    else:
        gs = [_root_grad(o, g, i, create_graph) for i, (o, g) in enumerate(zip(roots, grad_outputs))]
    result = run_backward(roots, gs, retain_graph=create_graph if retain_graph is None else retain_graph,
                          create_graph=create_graph, inputs=inputs, allow_unused=allow_unused,
                          batched=is_grads_batched)
    return tuple(None if g is None else g if isinstance(g, Tensor) else Tensor._make(np.asarray(g), None)
                 for g in result)


install_backward(backward)


# ---------------------------------------------------------------------------- vjp namespaces

class VjpNamespace:
    """The ops a vjp rule is written with, as attributes (F.sum, F.where...)."""

    if TYPE_CHECKING:  # set per op as it registers: its numpy forward, or its engine function
        def __getattr__(self, name: str) -> Callable[..., Any]: ...


_PLAIN = VjpNamespace()  # numpy forwards: a plain backward
_RECORDED = VjpNamespace()  # engine functions: a backward under create_graph, itself recorded


def vjp_namespace(create_graph: bool) -> VjpNamespace:
    return _RECORDED if create_graph else _PLAIN


def _add_to_namespaces(opdef: OpDef) -> None:
    forward = _masking_where(opdef.forward) if opdef.name == "where" else opdef.forward
    setattr(_PLAIN, opdef.name, forward)
    setattr(_RECORDED, opdef.name, opdef.function)  # set by forward dispatch, which registered first


on_register(_add_to_namespaces)


_BITS = {np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}


def _masking_where(where: Callable[..., Any]) -> Callable[..., Any]:
    """where(mask, g, 0), the masking in relu's, clip's and maximum's vjps, as a multiply of g's bits by the
    mask: bit for bit np.where's result (NaN and -0.0 included), without its branchy loop (~15x slower)."""

    def masked(cond: Any, a: Any, b: Any) -> Any:
        if (type(b) is float or type(b) is int) and b == 0 and math.copysign(1.0, b) > 0 \
                and type(a) is np.ndarray and a.ndim and a.dtype in _BITS \
                and type(cond) is np.ndarray and cond.dtype == np.bool_ and cond.shape == a.shape:
            return np.multiply(a.view(_BITS[a.dtype]), cond).view(a.dtype)
        return where(cond, a, b)

    return masked


def sum_to_shape(g: NDArray[Any], shape: tuple[int, ...]) -> NDArray[Any]:
    """Sum a broadcast gradient back down to `shape` (PyTorch's sum_to)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead < 0:
        return np.broadcast_to(g, shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and g.shape[i + lead] != 1)
    out = np.sum(g, axis=axes, keepdims=True) if axes else g
    return out.reshape(shape) if lead else out


def reduce_batched_grad(g: Any, shape: tuple[int, ...], dtype: DTypeLike | None, create_graph: bool) -> Any:
    """reduce_grad for a batched backward: g is (B, *broadcast shape), reduced to (B, *shape), leaving the
    batch axis alone (broadcast axes sit after it, so the plain rule's leading-axes sum does not apply)."""
    gshape = g.shape
    target = gshape[:1] + tuple(shape)
    if gshape == target and (dtype is None or g.dtype == dtype):
        return g
    extra = len(gshape) - len(target)
    if extra > 0:  # axes the op broadcast in front of the input's own
        axes = tuple(range(1, 1 + extra))
        g = _RECORDED.sum(g, axis=axes) if create_graph else np.sum(g, axis=axes)
    elif extra < 0:  # a rule returned a gradient that broadcasts (a constant along some axes)
        lifted = gshape[:1] + (1,) * -extra + gshape[1:]
        g = _RECORDED.reshape(g, shape=lifted) if create_graph else np.reshape(g, lifted)
    return reduce_grad(g, target, dtype, create_graph)


def reduce_grad(g: Any, shape: tuple[int, ...], dtype: DTypeLike | None, create_graph: bool) -> Any:
    """The one place where broadcast gradients are reduced to their input's shape and dtype."""
    if create_graph:
        if g.shape != shape:
            g = _RECORDED.sum_to(g, shape=shape)
        if dtype is not None and g.dtype != dtype:
            g = _RECORDED.astype(g, dtype=np.dtype(dtype).name)
        return g
    if g.shape != shape:
        g = sum_to_shape(np.asarray(g), shape)
    if dtype is not None and g.dtype is not dtype and g.dtype != dtype:  # `is`: the cheap common case
        g = np.asarray(g, dtype=dtype)
    return g
