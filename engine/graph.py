"""Graph state, the bottom layer of the engine: nodes, grad mode and the journal of graph mutations.

Nothing here knows about tensors or ops: a Node holds its op and inputs as plain references, so
every other engine module can import this one and none of them is imported back.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

# ---------------------------------------------------------------------------- grad mode

class _State(threading.local):
    """Per-thread grad mode and journal; class attributes are every thread's defaults (a plain
    attribute read, far cheaper than getattr with a default on the hot path)."""

    grad_enabled = True
    journal: Journal | None = None


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


def no_grad() -> AbstractContextManager[None]:
    """Context manager: ops inside record no graph (torch.no_grad)."""
    return set_grad_enabled(False)


def enable_grad() -> AbstractContextManager[None]:
    return set_grad_enabled(True)


# ---------------------------------------------------------------------------- journal

class Journal:
    """Undo log of graph mutations (grads set, buffers freed), for all-or-nothing programs."""

    def __init__(self) -> None:
        # (object, attribute, old value), or (array, None, its old values) for an array written in place
        self.undo: list[tuple[Any, str | None, Any]] = []

    def rollback(self) -> None:
        for obj, attr, old in reversed(self.undo):
            if attr is None:  # an array written in place: its old values go back into the same array
                np.copyto(obj, old)
            else:
                setattr(obj, attr, old)
        self.undo.clear()


def current_journal() -> Journal | None:
    return _local.journal


@contextlib.contextmanager
def transaction() -> Iterator[Journal]:
    """Record every grad and buffer change made inside; roll them all back if the block raises."""
    outer = current_journal()
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
    journal = current_journal()
    if journal is not None:
        journal.undo.append((obj, attr, getattr(obj, attr)))
    setattr(obj, attr, value)


def keep_values(array: np.ndarray) -> None:
    """Before an array is written in place (an optimizer step), keep a copy for the journal's rollback."""
    journal = current_journal()
    if journal is not None:
        journal.undo.append((array, None, array.copy()))


class VersionCounter:
    """How many in-place writes a tensor's data has had (torch's `_version`), shared by the tensors that
    share the data (a detach); its value is journaled like any other graph state."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


# ---------------------------------------------------------------------------- nodes

class Meta:
    """Shape and dtype of an input whose data a node did not save."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype[Any] | None):
        # dtype None: a python number, whose dtype numpy decides by the other operand
        self.shape = shape
        self.dtype = dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


# torch names some nodes by overload: rule(node kwargs, saved inputs or their Meta, None in the catalog) -> name
GradFnRule: TypeAlias = Callable[[dict[str, Any], Sequence[Any] | None], str]


class NodeOp(Protocol):
    """What a node, reverse mode and the readers of a graph need of the op that made a node: the registry's
    OpDef, which lives in a layer above this one."""

    name: str
    saves: str
    saves_inputs: bool
    saves_output: bool
    grad_fn: str
    grad_fn_rule: GradFnRule | None
    shape: Callable[..., tuple[int, ...]] | None
    variadic: bool
    forward: Callable[..., Any]
    vjp: Any  # its rules, as declared (the registry's VjpRule tuple, or one rule)
    jvp: str | None

    # call_vjp(F, g, node, False) fitted to the op: the gradients of a plain backward
    plain_vjp: Callable[[Any, Any, Node], Sequence[Any]]

    def call_vjp(self, F: Any, g: Any, node: Node, create_graph: bool,
                 wanted: Sequence[bool] | None = None) -> Sequence[Any]: ...

    def call_batch_vjp(self, F: Any, g: Any, node: Node, create_graph: bool,
                       wanted: Sequence[bool]) -> tuple[Any, ...]: ...


class Node:
    """One recorded op: what backward needs to send a gradient to each input.

    `next[i]` is where input i's gradient goes: another Node, a leaf Tensor that
    requires grad, or None. `inputs` are the saved inputs (or their Meta when the
    vjp needs only shapes; None once freed, unless a grad_fn name rule still needs their shapes);
    `out` is the saved output data when the vjp needs it. `kwargs` are complete: every kwarg of
    the op, defaults included, so vjp rules and grad_fn names never repeat the forward's defaults.
    """

    __slots__ = ("op", "kwargs", "next", "inputs", "out", "freed", "retained", "versions", "__weakref__")

    def __init__(self, op: NodeOp, kwargs: dict[str, Any], next: tuple[Any, ...], inputs: Sequence[Any] | None,
                 out: NDArray[Any] | None):
        self.op = op
        self.kwargs = kwargs
        self.next = next  # Node | Tensor | None each (Tensor is a layer above)
        # a sequence, or None once freed where nothing reads their shapes any more; typed loosely because only
        # `freed` tells which, and every reader of a node's inputs checks that first
        self.inputs: Any = inputs
        self.out = out
        self.freed = False
        self.retained: Any = None  # the Tensor whose grad is kept (retain_grad), if any
        # the versions of the saved input Tensors when they were saved; None when all were at version 0
        self.versions: tuple[int, ...] | None = None

    @property
    def name(self) -> str:
        rule = self.op.grad_fn_rule
        return self.op.grad_fn if rule is None else rule(self.kwargs, self.inputs)

    def __repr__(self) -> str:
        return f"<{self.name}>"
