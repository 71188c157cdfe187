"""gradserve's engine: a numpy autograd library with PyTorch semantics.

    from engine import Tensor
    x = Tensor([[1, 1], [1, 1]], requires_grad=True)
    out = ((x + 2) * (x + 2) * 3).mean()
    out.backward()          # x.grad == 4.5 everywhere
"""

from collections.abc import Callable

from . import functions as _functions
from . import optim
from .derivatives import hessian, hvp, jacobian, jvp
from .dispatch import limit_elements
from .errors import (
    BackwardError,
    DTypeError,
    EngineError,
    ExprError,
    GraphFreedError,
    LeafError,
    LimitError,
    ModifiedInPlaceError,
    OpError,
    OptimizerError,
    ShapeError,
    TensorError,
    UnknownNameError,
)
from .functions import *  # noqa: F401,F403  (one function per op, plus backward and grad)
from .functions import backward, grad
from .gradcheck import gradcheck, gradgradcheck
from .graph import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .registry import OPS
from .tensor import Tensor, as_array

__all__ = [
    "Tensor", "as_array", "backward", "grad", "jacobian", "jvp", "hvp", "hessian",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "gradcheck", "gradgradcheck",
    "OPS", "limit_elements", "EngineError", "BackwardError", "DTypeError", "ExprError", "GraphFreedError",
    "LeafError", "LimitError", "ModifiedInPlaceError", "OpError", "OptimizerError", "ShapeError", "TensorError",
    "UnknownNameError", "optim", *_functions.__all__,
]


def __getattr__(name: str) -> Callable[..., Tensor]:
    """engine.<op> for an op declared after `import engine` (the ones declared before are bound above)."""
    opdef = OPS.get(name)
    if opdef is None:
        raise AttributeError(f"module 'engine' has no attribute '{name}'")
    return opdef.function
