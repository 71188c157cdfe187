"""Typed engine errors: each carries a stable kind, a title and a detail a user can act on.

Callers (such as a service) map the kind to their own error format; the engine raises, nothing more.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises on bad input."""

    kind = "invalid-program"
    title = "Invalid program"

    def __init__(self, detail: str, *, op_index: int | None = None, name: str | None = None,
                 pointer: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.op_index = op_index
        self.name = name
        self.pointer = pointer

    def at(self, *, op_index: int | None = None, name: str | None = None,
           pointer: str | None = None) -> EngineError:
        """Fill in where the error happened, keeping what is already known."""
        if self.op_index is None:
            self.op_index = op_index
        if self.name is None:
            self.name = name
        if self.pointer is None:
            self.pointer = pointer
        return self

    def __str__(self) -> str:
        return self.detail


class ShapeError(EngineError):
    kind = "shape-mismatch"
    title = "Shapes do not match"


class OpError(EngineError):
    """Unknown op, wrong arity, wrong or unknown kwargs."""

    kind = "invalid-op"
    title = "Invalid op"


class UnknownNameError(EngineError):
    kind = "unknown-name"
    title = "Unknown name"


class DTypeError(EngineError):
    kind = "invalid-dtype"
    title = "Invalid dtype"


class TensorError(EngineError):
    """A tensor value that cannot be read (ragged, non-numeric, wrong length)."""

    kind = "invalid-tensor"
    title = "Invalid tensor"


class BackwardError(EngineError):
    """A backward call that PyTorch would refuse: non-scalar without gradient, wrong shape, no grad."""

    kind = "invalid-backward"
    title = "Invalid backward call"


class GraphFreedError(EngineError):
    kind = "graph-freed"
    title = "Graph already freed"


class ModifiedInPlaceError(EngineError):
    """A backward through a node whose saved tensor was written in place (an optimizer step) since."""

    kind = "modified-in-place"
    title = "Saved tensor modified in place"


class LeafError(EngineError):
    """requires_grad changed on a computed (non-leaf) tensor."""

    kind = "not-a-leaf"
    title = "Not a leaf"


class OptimizerError(EngineError):
    """An optimizer asked for with an unknown or invalid hyperparameter, or a param it cannot update."""

    kind = "invalid-optimizer"
    title = "Invalid optimizer"


class ExprError(EngineError):
    kind = "invalid-expr"
    title = "Malformed expression"


class LinAlgError(EngineError):
    """A matrix the operation cannot take: singular for inv or solve, not positive-definite for cholesky."""

    kind = "linalg-error"
    title = "Linear algebra failed"


class LimitError(EngineError):
    kind = "limit-exceeded"
    title = "Limit exceeded"


GRAPH_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they "
    "have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph "
    "a second time or if you need to access saved tensors after calling backward."
)


class DeadlineError(EngineError):
    """The work ran past the deadline its caller set; like every error, it leaves nothing behind."""

    kind = "deadline-exceeded"
    title = "Deadline exceeded"


class CancelledError(EngineError):
    """The caller withdrew the work (its client went away)."""

    kind = "request-cancelled"
    title = "Request cancelled"
