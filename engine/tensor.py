"""Tensor: an ndarray with the autograd attributes of a PyTorch tensor.

The layer above graph state: a Tensor points at the Node that made it. Reverse mode sits higher
up and installs its entry point here (`install_backward`) when it loads, so Tensor.backward
reaches it without this module importing its importers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from .errors import BackwardError, DTypeError, TensorError
from .graph import Meta, Node, VersionCounter, keep_values, set_attr

DEFAULT_FLOAT = np.dtype(np.float32)
# the dtypes a tensor may have, by the names programs use
DTYPES = {name: np.dtype(t) for name, t in
          [("float32", np.float32), ("float64", np.float64), ("int64", np.int64), ("bool", np.bool_)]}


def dtype_of(name: DTypeLike) -> np.dtype[Any]:
    if isinstance(name, str):
        if name not in DTYPES:
            raise DTypeError(f"unknown dtype {name!r} (known: {', '.join(DTYPES)})")
        return DTYPES[name]
    return np.dtype(name)


def as_array(value: object, dtype: DTypeLike | None = None) -> NDArray[Any]:
    """Read a number, nested list or ndarray as torch.tensor does: floats become float32."""
    if isinstance(value, Tensor):
        value = value.data
    if dtype is not None:
        dtype = dtype_of(dtype)
    if isinstance(value, np.ndarray):
        return value if dtype is None or value.dtype == dtype else value.astype(dtype)
    try:
        arr: NDArray[Any] = np.array(value, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as e:
        raise TensorError(_why_unreadable(value, e)) from None
    if arr.dtype.kind not in "biuf":
        raise TensorError(f"tensor items must be numbers or booleans, got {arr.dtype} data")
    if dtype is None:
        if arr.dtype.kind == "f":
            arr = arr.astype(DEFAULT_FLOAT)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
    return arr


def _why_unreadable(value: object, e: Exception) -> str:
    text = str(e)
    if "inhomogeneous" in text or "sequence" in text:
        return "ragged nested list: every row must have the same length"
    return f"tensor items must be numbers: {text}"


class Tensor:
    """A value in the graph: `data`, `grad`, `requires_grad`, `grad_fn`, `is_leaf`."""

    # _vc: the VersionCounter, made on the first in-place write or detach (None: version 0, not shared)
    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "_vc", "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operators

    data: NDArray[Any]
    grad: NDArray[Any] | None
    grad_fn: Node | None
    requires_grad: bool
    _vc: VersionCounter | None

    def __init__(self, data: object, requires_grad: bool = False, dtype: DTypeLike | None = None):
        self.data = as_array(data, dtype)
        self.grad = None
        self.grad_fn = None
        self.requires_grad = False
        self._vc = None
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data: NDArray[Any], grad_fn: Node | None) -> Tensor:
        t = cls.__new__(cls)
        t.data = data
        t.grad = None
        t.grad_fn = grad_fn
        t.requires_grad = grad_fn is not None
        t._vc = None
        return t

    # -- autograd attributes
    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.data.dtype.kind != "f":
            raise DTypeError("only Tensors of floating point dtype can require gradients "
                             f"(this one is {self.data.dtype})")
        if not self.is_leaf and not requires_grad:
            raise DTypeError("you can only change requires_grad flags of leaf variables")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep this non-leaf's grad after backward (a leaf keeps its grad anyway)."""
        if not self.requires_grad:
            raise BackwardError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None and self.grad_fn.retained is not self:
            set_attr(self.grad_fn, "retained", self)  # journaled, so a failed program undoes it

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.grad_fn.retained is self

    # -- in-place writes
    @property
    def _version(self) -> int:
        """How many times the data was written in place (torch's `t._version`)."""
        return 0 if self._vc is None else self._vc.value

    def _counter(self) -> VersionCounter:
        if self._vc is None:
            self._vc = VersionCounter()
        return self._vc

    def write_(self, values: ArrayLike) -> None:
        """Write values into this tensor's data in place, as an optimizer step does: the same array (a
        detached view sees the new values), its version bumped; both undone by a failed program."""
        keep_values(self.data)
        np.copyto(self.data, values, casting="same_kind")
        counter = self._counter()
        set_attr(counter, "value", counter.value + 1)

    def backward(self, gradient: object = None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        """Accumulate d self / d leaf into every leaf's grad (engine.backward)."""
        _backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    def zero_grad(self) -> None:
        self.grad = None

    # -- ndarray look-alikes
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> NDArray[Any]:
        return self.data

    def item(self) -> Any:  # a python number of the dtype's kind
        return self.data.item()

    def tolist(self) -> Any:  # nested lists, or a number for a 0-d tensor
        return self.data.tolist()

    def __repr__(self) -> str:
        extra = f", grad_fn=<{self.grad_fn.name}>" if self.grad_fn is not None else (
            ", requires_grad=True" if self.requires_grad else "")
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        return f"tensor({body}, dtype={self.data.dtype}{extra})"

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.data)

    __hash__ = object.__hash__  # tensors are identities in the graph, like torch tensors

    if TYPE_CHECKING:  # the operators, bound from the op table by the binding step (functions.py)
        def __add__(self, other: Operand) -> Tensor: ...
        def __radd__(self, other: Operand) -> Tensor: ...
        def __sub__(self, other: Operand) -> Tensor: ...
        def __rsub__(self, other: Operand) -> Tensor: ...
        def __mul__(self, other: Operand) -> Tensor: ...
        def __rmul__(self, other: Operand) -> Tensor: ...
        def __truediv__(self, other: Operand) -> Tensor: ...
        def __rtruediv__(self, other: Operand) -> Tensor: ...
        def __pow__(self, other: Operand) -> Tensor: ...
        def __rpow__(self, other: Operand) -> Tensor: ...
        def __matmul__(self, other: Operand) -> Tensor: ...
        def __rmatmul__(self, other: Operand) -> Tensor: ...
        # (an array on the other side works too, but numpy's own comparison stubs would claim it first)
        def __lt__(self, other: Tensor | float) -> Tensor: ...
        def __le__(self, other: Tensor | float) -> Tensor: ...
        def __gt__(self, other: Tensor | float) -> Tensor: ...
        def __ge__(self, other: Tensor | float) -> Tensor: ...
        def __neg__(self) -> Tensor: ...
        def __abs__(self) -> Tensor: ...
        def __getitem__(self, key: Any) -> Tensor: ...
        @property
        def T(self) -> Tensor: ...
        def detach(self) -> Tensor: ...  # the detach op, bound as a method like every op that is one


# what an operator takes on its other side: a tensor, an array or a python number
Operand: TypeAlias = "Tensor | NDArray[Any] | int | float"


def _not_installed(*args: object, **kwargs: object) -> None:
    raise RuntimeError("reverse mode is not loaded: import engine")


# reverse mode's backward(tensor, gradient, retain_graph=, create_graph=); see install_backward
_backward: Callable[..., None] = _not_installed


def install_backward(backward: Callable[..., None]) -> None:
    """Called once by reverse mode (autograd.py), the layer that implements Tensor.backward."""
    global _backward
    _backward = backward


NUMBER_META = Meta((), None)  # every Python number's (shared: nothing changes a Meta)


def meta_of(x: Any) -> Meta:
    """Shape and dtype of a Tensor, array, number or Meta."""
    t = type(x)
    if t is Tensor:
        x = x.data
        return Meta(x.shape, x.dtype)
    if t is np.ndarray:
        return Meta(x.shape, x.dtype)
    if t is Meta:
        meta: Meta = x
        return meta
    if t is float or t is int or t is bool:
        return NUMBER_META
    return Meta(np.shape(x), getattr(x, "dtype", None))
