"""numpy arrays to and from the wire: inputs sent as base64 of their bytes, answers read back into arrays.

Hand-written (not made by the generator): regeneration keeps this file as it is.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

DType: TypeAlias = Literal["float32", "float64", "int64", "bool"]
DTYPES: tuple[DType, ...] = ("float32", "float64", "int64", "bool")
# what numpy kinds become on the wire when the caller names no dtype: the server has exactly these four
_KIND_TO_DTYPE: dict[str, DType] = {"b": "bool", "i": "int64", "u": "int64"}

Array: TypeAlias = npt.NDArray[Any]


@dataclass(frozen=True)
class Tensor:
    """A program input or constant, kept as an ndarray until it is sent (then as base64 of its bytes)."""

    array: Array
    requires_grad: bool = False

    @property
    def dtype(self) -> str:
        return self.array.dtype.name

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    def to_wire(self) -> dict[str, Any]:
        body = encode(self.array)
        if self.requires_grad:
            body["requires_grad"] = True
        return body


def as_array(value: Any, dtype: str | np.dtype[Any] | type | None = None) -> Array:
    """An ndarray in one of the server's dtypes.

    An ndarray keeps its dtype (float16 widens to float32, any integer to int64); numbers and lists follow the
    server's rule for JSON data: float32, or bool when every item is a boolean. `dtype` overrides both.
    """
    if dtype is not None:
        name = np.dtype(dtype).name
        if name not in DTYPES:
            raise TypeError(f"dtype {name} is not one the server has ({', '.join(DTYPES)})")
        return np.asarray(value, dtype=name, order="C")
    if isinstance(value, np.ndarray | np.generic):
        arr = np.asarray(value)
        if arr.dtype.name in DTYPES:
            return np.asarray(arr, order="C")
        if arr.dtype.kind in _KIND_TO_DTYPE:
            wide = _KIND_TO_DTYPE[arr.dtype.kind]
            if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
                raise TypeError("uint64 values above the int64 range have no dtype on the server")
            return np.asarray(arr, dtype=wide, order="C")
        if arr.dtype.kind == "f" and arr.dtype.itemsize < 4:
            return np.asarray(arr, dtype="float32", order="C")
        raise TypeError(f"dtype {arr.dtype} is not one the server has ({', '.join(DTYPES)})")
    arr = np.asarray(value)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"cannot make a tensor of {type(value).__name__} (items of dtype {arr.dtype})")
    return np.asarray(arr, dtype="float32", order="C")


def encode(arr: Array) -> dict[str, Any]:
    """`{"b64", "dtype", "shape"}`: little-endian, C-order bytes."""
    little = arr.astype(arr.dtype.newbyteorder("<"), copy=False) if arr.dtype.byteorder == ">" else arr
    raw = np.asarray(little, order="C").reshape(-1).view(np.uint8)  # the bytes, without a copy when contiguous
    return {"b64": base64.b64encode(raw.data).decode("ascii"), "dtype": arr.dtype.name, "shape": list(arr.shape)}


def to_wire(value: Any) -> Any:
    """A tensor-valued field for a request body: arrays and Tensors as base64, anything else (a name, a list
    written by hand, a dict already in a wire form) unchanged; a NaN or infinite number too, which JSON has
    no number for."""
    if isinstance(value, Tensor):
        return value.to_wire()
    if isinstance(value, np.ndarray | np.generic) or (isinstance(value, float) and not math.isfinite(value)):
        return encode(as_array(value))
    return value


def input_to_wire(value: Any) -> Any:
    """A program input: anything array-like becomes a base64 tensor (dicts in a wire form are sent as given)."""
    if isinstance(value, Tensor | np.ndarray | np.generic):
        return to_wire(value)
    if isinstance(value, Mapping):
        return dict(value)
    return encode(as_array(value))


def decode(value: Any, dtype: str, shape: list[int]) -> Array:
    """An answer's `data` or `grad` (base64, a number or nested lists) as an ndarray of the given dtype."""
    if isinstance(value, Mapping) and "b64" in value:
        raw = bytearray(base64.b64decode(value["b64"]))  # a bytearray keeps the array writable
        return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype, copy=False).reshape(shape)
    # json encoding: non-finite values arrive as "NaN", "Infinity", "-Infinity", which numpy parses as floats
    return np.array(value, dtype=dtype).reshape(shape)


@dataclass(frozen=True)
class VariableInfo:
    """A variable's metadata without its values (a session's listing)."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    requires_grad: bool
    is_leaf: bool
    grad_fn: str | None
    has_grad: bool


@dataclass(frozen=True)
class Variable:
    """A variable as the server answered it, with numpy `data` and `grad` (None until a backward reaches it)."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    requires_grad: bool
    is_leaf: bool
    grad_fn: str | None
    data: Array
    grad: Array | None

    @classmethod
    def from_wire(cls, name: str, body: Mapping[str, Any]) -> Variable:
        shape, dtype = list(body["shape"]), body["dtype"]
        grad = body.get("grad")
        return cls(name=name, shape=tuple(shape), dtype=np.dtype(dtype), requires_grad=body["requires_grad"],
                   is_leaf=body["is_leaf"], grad_fn=body.get("grad_fn"), data=decode(body["data"], dtype, shape),
                   grad=None if grad is None else decode(grad, dtype, shape))

    def __repr__(self) -> str:
        grad_fn = f", grad_fn=<{self.grad_fn}>" if self.grad_fn else ""
        req = ", requires_grad=True" if self.requires_grad and not self.grad_fn else ""
        return f"Variable({self.name!r}, {np.array2string(self.data, threshold=20)}, dtype={self.dtype}{req}{grad_fn})"


def info_from_wire(name: str, body: Mapping[str, Any]) -> VariableInfo:
    return VariableInfo(name=name, shape=tuple(body["shape"]), dtype=np.dtype(body["dtype"]),
                        requires_grad=body["requires_grad"], is_leaf=body["is_leaf"], grad_fn=body.get("grad_fn"),
                        has_grad=bool(body.get("has_grad", body.get("grad") is not None)))
