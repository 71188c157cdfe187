"""The program interpreter: a Namespace of bindings that runs programs, backward and grad calls on them.

A Namespace is what a session holds: names bound to tensors, and through them the graph. It reads programs
and calls in their typed form (`engine.structure`), never raw documents. Every public method is
all-or-nothing: bindings are snapshotted and graph mutations (grads, freed buffers) are journaled, so a
failure leaves the namespace exactly as it was.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from . import expr as expressions
from . import governance
from .dispatch import apply, limit_elements
from .errors import DTypeError, EngineError, LeafError, LimitError, OpError, OptimizerError, UnknownNameError
from .functions import backward as tensor_backward
from .governance import NODE_OVERHEAD, RESULT_OVERHEAD
from .graph import Node, no_grad, set_attr, transaction
from .optim import OPTIMIZERS, Optimizer
from .program_derivatives import derive
from .registry import close_ops, lookup
from .structure import (
    BackwardCall,
    DerivativeCall,
    GradCall,
    Input,
    OpCall,
    Program,
    Ref,
    check_name,
    check_op_count,
    located,
    program_array,
)
from .tensor import Tensor


@dataclass(frozen=True)
class Limits:
    """Per-request limits; None means unlimited (the library default)."""

    max_ops: int | None = None
    max_tensor_elements: int | None = None
    max_session_bytes: int | None = None


NO_LIMITS = Limits()
T = TypeVar("T")
# torch's words when requires_grad is changed on a computed tensor
NOT_A_LEAF_MESSAGE = ("you can only change requires_grad flags of leaf variables. If you want to use a computed "
                      "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().")


class Namespace:
    """Names bound to tensors, and the programs, backward and grad calls that act on them."""

    def __init__(self) -> None:
        self.bindings: dict[str, Tensor] = {}
        self.optimizers: dict[str, NamedOptimizer] = {}

    # ------------------------------------------------------------------ atomicity

    def _atomically(self, limits: Limits, work: Callable[[], T]) -> T:
        """`work()` under the limits, all or nothing: on any failure the bindings and every graph change
        (grads, freed buffers, retain_grad) are put back as they were."""
        saved = dict(self.bindings)
        saved_optimizers = dict(self.optimizers)
        budget = governance.current()
        if budget is not None:  # the bindings replaced in this call stay alive (for a rollback) until it ends
            budget.recount = lambda: self.held_bytes(saved.values())
        try:
            with limit_elements(limits.max_tensor_elements):
                if not saved:
                    # nothing made before this call is reachable from an empty namespace (a program's constants
                    # are plain data), so dropping the new bindings undoes everything: no undo log is needed
                    return self._within_bytes(limits, work(), budget is not None)
                with transaction():
                    return self._within_bytes(limits, work(), budget is not None)
        except BaseException:
            self.bindings.clear()
            self.bindings.update(saved)
            self.optimizers.clear()
            self.optimizers.update(saved_optimizers)
            raise

    def _within_bytes(self, limits: Limits, result: T, counted: bool) -> T:
        if limits.max_session_bytes is not None and not counted:  # a budget counted as the work went
            n = self.nbytes()
            if n > limits.max_session_bytes:
                raise LimitError(f"the session would hold {n} bytes, over the limit of {limits.max_session_bytes} "
                                 "bytes")
        return result

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

    def run(self, program: Program, limits: Limits = NO_LIMITS) -> dict[str, Tensor]:
        """Run zero_grad, inputs, ops, backward calls and optimizer steps in order; return the variables the
        program asks for. With zero_grad, ops, a backward and a step, one program is a whole training step."""
        return self.execute(program, limits)[0]

    def execute(self, program: Program, limits: Limits = NO_LIMITS,
                ) -> tuple[dict[str, Tensor], list[dict[str, Any]]]:
        """As run, with the derivative calls after the backward calls: the variables the program asks for
        and the derivative calls' answers, in order."""
        if not isinstance(program, Program):
            raise TypeError(f"run takes an engine.structure.Program, got {type(program).__name__}; build one "
                            "from a dict with Program.from_dict(...)")
        check_op_count(program.op_count, limits.max_ops)
        optimizers = [self.optimizer(n, pointer=f"/step/{k}") for k, n in enumerate(program.step)]  # before work
        return self._atomically(limits, lambda: self._run(program, limits, optimizers))

    def _run(self, program: Program, limits: Limits, optimizers: list[NamedOptimizer],
             ) -> tuple[dict[str, Tensor], list[dict[str, Any]]]:
        bound: list[str] = []
        budget = governance.current()
        if program.zero_grad:
            self.zero_grad()
        for leaf in program.inputs:
            self.bindings[leaf.name] = self._leaf(leaf, limits)
            bound.append(leaf.name)
        for i, op in enumerate(program.ops):
            self.bindings[op.name] = self._run_op(i, op)
            bound.append(op.name)
            if budget is not None:
                budget.step()
        for j, call in enumerate(program.backward):
            self._backward(call, f"/backward/{j}", where=f"in backward call {j}")
            if budget is not None:
                budget.step()
        answers = []
        for k, d in enumerate(program.derivatives):
            answer, made = self._derive(d, f"/derivatives/{k}", limits)
            bound += list(made)
            answers.append(answer)
            if budget is not None:
                budget.step()
        for made_optimizer in optimizers:
            _step(made_optimizer.optimizer)
        return self._select(program.returns, bound), answers

    def _leaf(self, leaf: Input, limits: Limits) -> Tensor:
        try:
            t = Tensor._make(leaf.data, None)
            if limits.max_tensor_elements is not None and t.data.size > limits.max_tensor_elements:
                raise LimitError(f"{t.data.size} elements in input '{leaf.name}', over the limit of "
                                 f"{limits.max_tensor_elements} elements per tensor")
            governance.charge(t.data.nbytes + RESULT_OVERHEAD)
            if leaf.requires_grad:
                t.requires_grad_(True)
            return t
        except EngineError as e:
            raise located(e, f"in input '{leaf.name}'", name=leaf.name, pointer=f"/inputs/{leaf.name}") from None

    def _compute(self, i: int, op: OpCall) -> Tensor:
        if op.expr is not None:
            result = expressions.evaluate(op.expr, self.variable, _call)
            if not isinstance(result, Tensor):  # a bare number, read as any number in a program is
                result = Tensor(program_array(result))
            return result
        bindings = self.bindings
        values = [(bindings[a.name] if a.name in bindings else
                   self.variable(a.name, pointer=f"/ops/{i}/args/{k}")) if type(a) is Ref else a
                  for k, a in enumerate(op.args)]
        return _call(op.op, values, dict(op.kwargs) if op.kwargs else {})

    def _run_op(self, i: int, op: OpCall) -> Tensor:
        try:
            if op.no_grad:
                with no_grad():
                    result = self._compute(i, op)
            else:
                result = self._compute(i, op)
            if op.requires_grad is not None:
                if result.grad_fn is not None:  # not a leaf
                    raise LeafError(f"{NOT_A_LEAF_MESSAGE} (This result has grad_fn {result.grad_fn.name}: "
                                    "compute it with \"no_grad\": true to make a new leaf.)",
                                    pointer=f"/ops/{i}/requires_grad")
                if op.requires_grad and result.data.dtype.kind != "f":
                    result.requires_grad_(True)  # refused with its message
                set_attr(result, "requires_grad", op.requires_grad)  # journaled: it may be a bound tensor
            if op.retain_grad:
                result.retain_grad()
            return result
        except EngineError as e:
            if op.expr is not None:  # the formula is what to fix
                raise located(e, f"in op {i} (expr)", op_index=i, name=op.name, pointer=f"/ops/{i}/expr") from None
            raise located(e, f"in op {i} '{op.op}'", op_index=i, name=op.name, pointer=f"/ops/{i}") from None

    def _select(self, names: Iterable[str] | None, bound: list[str]) -> dict[str, Tensor]:
        if names is None:  # the default: what this request bound, then every leaf that has a grad
            chosen = list(dict.fromkeys(bound))
            chosen += [n for n, t in self.bindings.items() if t.is_leaf and t.grad is not None and n not in chosen]
            return {n: self.bindings[n] for n in chosen}
        return {n: self.variable(n, pointer=f"/return/{k}") for k, n in enumerate(names)}

    # ------------------------------------------------------------------ backward, grad, zero_grad

    def _backward(self, call: BackwardCall, pointer: str, where: str = "") -> None:
        output = call.output
        try:
            t = self.variable(output, pointer=f"{pointer}/output")
            gradient = call.gradient
            if isinstance(gradient, (str, Ref)):  # a variable's name: its binding, differentiable under create_graph
                name = gradient.name if isinstance(gradient, Ref) else gradient
                gradient = self.variable(name, pointer=f"{pointer}/gradient")
            tensor_backward(t, gradient, retain_graph=call.retain_graph, create_graph=call.create_graph)
        except EngineError as e:
            raise located(e, where, name=output if isinstance(output, str) else None, pointer=pointer) from None

    def backward(self, output: str, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, limits: Limits = NO_LIMITS,
                 returns: str | Iterable[str] | None = None) -> dict[str, Tensor]:
        """One backward call; returns the variables named in `returns`, by default every one with a grad.

        An unknown name in `returns` fails the call like any other error: nothing accumulates.
        """
        call = BackwardCall(output, gradient, retain_graph, create_graph)

        def work() -> dict[str, Tensor]:
            self._backward(call, "")
            if returns is None:
                return self.with_grad()
            return self._select([returns] if isinstance(returns, str) else returns, [])

        return self._atomically(limits, work)

    def grad(self, outputs: str | Iterable[str], inputs: str | Iterable[str], grad_outputs: Any = None,
             retain_graph: bool | None = None, create_graph: bool = False, bind: str | Iterable[str] | None = None,
             allow_unused: bool = False, limits: Limits = NO_LIMITS, is_grads_batched: bool = False,
             ) -> dict[str, Tensor]:
        """torch.autograd.grad by names; with `bind`, the gradients are bound under those names. An item of
        grad_outputs may be a variable's name (a str)."""
        return self.grad_call(GradCall.make(outputs, inputs, grad_outputs, retain_graph, create_graph,
                                            allow_unused, bind), limits, is_grads_batched)

    def grad_call(self, call: GradCall, limits: Limits = NO_LIMITS, is_grads_batched: bool = False,
                  ) -> dict[str, Tensor]:
        """Run a grad call; the answer is named by `call.bind`, else by the inputs' names."""
        vectors = None if call.grad_outputs is None else tuple(
            Ref(g) if isinstance(g, str) else g for g in call.grad_outputs)
        answer = self.derivative(DerivativeCall("grad", call.outputs, call.inputs, vectors, None, call.retain_graph,
                                                call.create_graph, call.allow_unused, is_grads_batched, call.bind),
                                 limits)
        grads: dict[str, Tensor] = answer["grads"]  # (a grad call's answer: its gradients by name)
        return grads

    def _derive(self, call: DerivativeCall, at: str, limits: Limits) -> tuple[dict[str, Any], dict[str, Tensor]]:
        answer, made = derive(call, self.variable, at, limits.max_tensor_elements, limits.max_session_bytes)
        self.bindings.update(made)
        return answer, made

    def derivative(self, call: DerivativeCall, limits: Limits = NO_LIMITS) -> dict[str, Any]:
        """One derivative call (grad, jacobian, jvp, hvp, hessian) by names, all or nothing; its answer."""
        return self._atomically(limits, lambda: self._derive(call, "", limits)[0])

    def zero_grad(self) -> None:
        """Set every grad in the namespace to None (leaves and retained non-leaves)."""
        with transaction():
            for t in self.bindings.values():
                if t.grad is not None:
                    set_attr(t, "grad", None)

    # ------------------------------------------------------------------ optimizers

    def optimizer(self, name: str, pointer: str | None = None) -> NamedOptimizer:
        try:
            return self.optimizers[name]
        except (KeyError, TypeError):
            known = sorted(self.optimizers)
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else (
                f" (made: {', '.join(known)})" if known else " (no optimizer was made in this session)")
            raise UnknownNameError(f"unknown optimizer '{name}'{hint}", name=str(name), pointer=pointer) from None

    def create_optimizer(self, name: str, type: str, params: str | Iterable[str],
                         hyperparameters: Mapping[str, Any]) -> NamedOptimizer:
        """An optimizer of the tensors bound to `params` (kept by identity, as torch.optim keeps tensors)."""
        check_name(name, "name")
        if name in self.optimizers:
            raise OptimizerError(f"an optimizer named '{name}' exists already in this session", name=name,
                                 pointer="/name")
        cls = OPTIMIZERS.get(type)
        if cls is None:
            raise OptimizerError(f"unknown optimizer type {type!r} (known: {', '.join(OPTIMIZERS)})",
                                 pointer="/type")
        names = [params] if isinstance(params, str) else list(params)
        tensors = [self.variable(p, pointer=f"/params/{k}") for k, p in enumerate(names)]
        for k, (p, t) in enumerate(zip(names, tensors, strict=True)):
            if not t.is_leaf or not t.requires_grad:
                why = "is not a leaf" if not t.is_leaf else "does not require grad"
                raise OptimizerError(f"param '{p}' {why}: an optimizer updates leaves that require grad",
                                     name=p, pointer=f"/params/{k}")
        try:
            optimizer = cls(tensors, **hyperparameters)
        except OptimizerError as e:
            raise e.at(pointer=f"/{e.name}" if e.name else None) from None
        made = NamedOptimizer(name, names, optimizer)
        self.optimizers[name] = made
        return made

    def step(self, name: str, limits: Limits = NO_LIMITS) -> dict[str, Tensor]:
        """optimizer.step(): the params' data written in place; returns the params by name."""
        made = self.optimizer(name)

        def work() -> dict[str, Tensor]:
            _step(made.optimizer)
            return made.variables()

        return self._atomically(limits, work)

    def optimizer_zero_grad(self, name: str) -> None:
        made = self.optimizer(name)
        with transaction():
            made.optimizer.zero_grad()

    # ------------------------------------------------------------------ introspection

    def reachable(self, extra: Iterable[Tensor] = ()) -> tuple[list[Tensor], list[Node]]:
        """Bound tensors (and `extra` ones) and the leaves below them, then every grad_fn node reachable from
        them; each once, in a stable order. What the session's size and any picture of its graph are made of."""
        tensors: dict[int, Tensor] = {id(t): t for t in self.bindings.values()}
        tensors.update((id(t), t) for t in extra)
        nodes: dict[int, Node] = {}
        stack: list[Node] = []
        for t in tensors.values():
            if t.grad_fn is not None:
                stack.append(t.grad_fn)
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

    def held_bytes(self, extra: Iterable[Tensor] = ()) -> int:
        """What the namespace holds by the engine's own measure (`nbytes` plus the bookkeeping of every
        tensor and graph node), as budgets count it; `extra` tensors are counted as if bound."""
        tensors, nodes = self.reachable(extra)
        return self.nbytes(tensors, nodes) + RESULT_OVERHEAD * len(tensors) + NODE_OVERHEAD * len(nodes)

    def nbytes(self, tensors: list[Tensor] | None = None, nodes: list[Node] | None = None) -> int:
        """Bytes held by bound tensors, their grads, the leaves below them and saved buffers; an array that
        several of them share (a view, a saved input) counts once, by the memory that owns it."""
        if tensors is None or nodes is None:
            tensors, nodes = self.reachable()
        arrays: list[np.ndarray] = []
        for t in tensors:
            arrays.append(t.data)
            if t.grad is not None:
                arrays.append(t.grad)
        for node in nodes:
            arrays += saved_buffers(node)
        for made in self.optimizers.values():
            for p, state in zip(made.optimizer.params, made.optimizer.state, strict=True):
                arrays.append(p.data)
                arrays += [v for v in state.as_dict().values() if isinstance(v, np.ndarray)]
        seen: set[int] = set()
        total = 0
        for arr in arrays:
            owner = arr.base
            if owner is None or not isinstance(owner, np.ndarray):  # owns its memory, or borrows a buffer
                owner = arr
            if id(owner) not in seen:
                seen.add(id(owner))
                total += owner.nbytes
        return total


@dataclass(frozen=True)
class NamedOptimizer:
    """An optimizer of a namespace: its name and the names its params were bound to when it was made."""

    name: str
    params: list[str]
    optimizer: Optimizer

    def describe(self) -> dict[str, Any]:
        h = {k: list(v) if isinstance(v, tuple) else v for k, v in self.optimizer.hyperparameters.items()}
        return {"name": self.name, "type": self.optimizer.type, "params": list(self.params),
                "hyperparameters": h, "steps": self.optimizer.steps}

    def variables(self) -> dict[str, Tensor]:
        return dict(zip(self.params, self.optimizer.params, strict=True))


def saved_buffers(node: Node) -> list[np.ndarray]:
    """The arrays a node keeps for its backward (its saved inputs, then its output); none once freed."""
    if not node.op.saves or node.freed:
        return []
    saved = [x for x in (getattr(x, "data", x) for x in node.inputs) if isinstance(x, np.ndarray)]
    if node.out is not None:
        saved.append(node.out)
    return saved


def _call(op_name: str | None, args: list[Any], kwargs: dict[str, Any]) -> Tensor:
    opdef = lookup(op_name) if isinstance(op_name, str) else None
    if opdef is None:
        close = close_ops(str(op_name))
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else " (see the op catalog)"
        raise OpError(f"unknown op {op_name!r}{hint}")
    if opdef.name in _INT_ARITHMETIC:  # by the op's own name: aliases (multiply, subtract) too
        ints = _int_scalars(args)
        if ints:
            _check_int_overflow(opdef.name, ints)
    return apply(opdef, tuple(args), kwargs)


# What an optimizer step may allocate per byte of its params: its state (Adam keeps two or three buffers of a
# param's size) and as much again in temporaries. The state stays, so a recount sees it afterwards.
_STEP_FACTOR = 5


def _step(optimizer: Optimizer) -> None:
    """optimizer.step(), charged to the budget before it writes (its state is made on the first step)."""
    budget = governance.current()
    if budget is not None:
        budget.charge(_STEP_FACTOR * sum(p.data.nbytes for p in optimizer.params))
    optimizer.step()
    if budget is not None:
        budget.step()


_INT_ARITHMETIC = {"add", "sub", "mul", "pow", "neg"}
_INT64 = 2 ** 63


def _int_scalar(a: Any) -> int | None:
    """An integer number, or an integer tensor of one item (what `9 ** 9` in an expr gives)."""
    if type(a) is int:
        return a
    if type(a) is Tensor and a.data.ndim == 0 and a.data.dtype.kind in "iu":
        return int(a.data)
    return None


def _int_scalars(args: list[Any]) -> list[int] | None:
    ints = []
    for a in args:  # usually over at the first, a float tensor
        v = _int_scalar(a)
        if v is None:
            return None
        ints.append(v)
    return ints


def _check_int_overflow(op_name: str, args: list[int]) -> None:
    """Integer numbers are int64 tensors, as in torch: arithmetic on two of them that leaves int64's range
    (`9 ** 9 ** 9`) is refused rather than wrapped around silently."""
    exact: int
    if op_name == "pow" and len(args) == 2:
        a, b = args
        if b > 64 and abs(a) > 1:  # certainly too large; not computed
            exact = _INT64
        else:
            exact = a ** b if b >= 0 else 0
    elif op_name == "neg" and len(args) == 1:
        exact = -args[0]
    elif len(args) == 2:
        a, b = args
        exact = a + b if op_name == "add" else a - b if op_name == "sub" else a * b
    else:
        return
    if not -_INT64 <= exact < _INT64:
        shown = ", ".join(str(a) for a in args)
        raise DTypeError(f"'{op_name}' of the integers {shown} overflows int64 (from -2**63 to 2**63-1); "
                         "write one of them as a float (2.0) for a float result")
