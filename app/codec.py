"""The tensor codec: a tensor's wire forms (number, nested list, {data, dtype, shape}, {b64, dtype, shape})
to an ndarray, and an ndarray to its response forms (nested lists or {b64}); strict JSON both ways, non-finite
values as the strings of NONFINITE. Every limit is checked from shapes before memory is taken.

Big tensors never go item by item through Python on the common path: numpy reads whole lists, orjson writes
whole arrays, and only lists holding "NaN"/"Infinity" strings (or errors) take the slow, exact walk.
"""

from __future__ import annotations

import binascii
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import orjson
import pybase64

from engine.errors import DTypeError, LimitError, TensorError
from engine.program_derivatives import answer_tensors
from engine.structure import default_dtype
from engine.structure import pointer as json_pointer
from engine.tensor import DEFAULT_FLOAT, DTYPES, Tensor

from .governance import charge_response

# The wire's constants, each defined here once; the OpenAPI schema (app.schemas) is generated from them.
NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}  # as in the proto3 JSON mapping
MAX_NDIM = 32  # dimensions of a tensor, as in numpy (and far beyond any element limit)
ENCODINGS = ("json", "base64")  # how a response writes data and grad
TENSOR_KEYS = frozenset({"data", "b64", "dtype", "shape"})
INPUT_KEYS = TENSOR_KEYS | {"requires_grad"}
DTYPE_NAMES = {dtype: name for name, dtype in DTYPES.items()}  # numpy's dtype.name is slow to compute
_ITEMS = "items must be numbers, booleans or " + ", ".join(f'"{token}"' for token in NONFINITE)


# ---------------------------------------------------------------------------- decoding

def decode_tensor(value: Any, pointer: str, name: str | None, limit: int, keys: frozenset = TENSOR_KEYS,
                  ) -> tuple[np.ndarray, dict]:
    """One wire tensor as an ndarray, plus the other keys of its object form (such as requires_grad)."""
    if type(value) is dict or isinstance(value, Mapping):
        return _from_object(value, pointer, name, limit, keys)
    return _from_data(value, None, pointer, name, limit), {}


def _from_object(obj: Mapping, pointer: str, name: str | None, limit: int, keys: frozenset,
                 ) -> tuple[np.ndarray, dict]:
    unknown = [k for k in obj if k not in keys] if not keys.issuperset(obj) else None
    if unknown:
        raise TensorError(f"{_what(name)} has an unknown key '{unknown[0]}' (allowed: {', '.join(sorted(keys))})",
                          name=name, pointer=f"{pointer}/{unknown[0]}")
    dtype = obj.get("dtype")
    if dtype is not None and (not isinstance(dtype, str) or dtype not in DTYPES):
        raise DTypeError(f"{_what(name)} has an unknown dtype {dtype!r} (known: {', '.join(DTYPES)})",
                         name=name, pointer=f"{pointer}/dtype")
    shape = None
    if obj.get("shape") is not None:
        shape = _shape(obj["shape"], f"{pointer}/shape", name, limit)
    if "b64" in obj and "data" in obj:
        raise TensorError(f"{_what(name)} has both 'data' and 'b64'; give one", name=name, pointer=pointer)
    if "b64" in obj:
        if shape is None:
            raise TensorError(f"{_what(name)} in base64 needs a 'shape'", name=name, pointer=pointer)
        arr = _from_b64(obj["b64"], DTYPES[dtype] if dtype else DEFAULT_FLOAT, shape, f"{pointer}/b64", name)
    elif "data" in obj:
        arr = _from_data(obj["data"], dtype, f"{pointer}/data", name, limit)
        if shape is not None and tuple(shape) != arr.shape:
            if arr.size != math.prod(shape):
                raise TensorError(f"{_what(name)} has {arr.size} items, which do not fill shape {shape}",
                                  name=name, pointer=f"{pointer}/shape")
            arr = arr.reshape(shape)
    else:
        raise TensorError(f"{_what(name)} needs 'data' or 'b64'", name=name, pointer=pointer)
    return arr, {k: v for k, v in obj.items() if k not in TENSOR_KEYS}


def _what(name: str | None) -> str:
    return f"input '{name}'" if name else "the tensor"


def _shape(value: Any, pointer: str, name: str | None, limit: int) -> list[int]:
    if (not isinstance(value, list) or len(value) > MAX_NDIM
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value)):
        raise TensorError(f"{_what(name)} has a shape that is not a list of at most {MAX_NDIM} sizes >= 0",
                          name=name, pointer=pointer)
    _check_count(math.prod(value), value, pointer, name, limit)
    return value


def _check_count(n: int, shape: Iterable[int], pointer: str, name: str | None, limit: int) -> None:
    if n > limit:
        raise LimitError(f"{_what(name)} has shape {list(shape)} ({n} elements), over the limit of {limit} "
                         f"elements per tensor", name=name, pointer=pointer)


def _from_b64(text: Any, dtype: np.dtype, shape: list[int], pointer: str, name: str | None) -> np.ndarray:
    if not isinstance(text, str):
        raise TensorError(f"{_what(name)}: 'b64' must be a base64 string", name=name, pointer=pointer)
    if len(text) % 4:
        text += "=" * (-len(text) % 4)
    pad = 2 if text.endswith("==") else 1 if text.endswith("=") else 0
    got = len(text) // 4 * 3 - pad
    need = math.prod(shape) * dtype.itemsize
    if got != need:
        raise TensorError(f"{_what(name)}: base64 holds {got} bytes, but shape {shape} of {dtype.name} needs "
                          f"{need}", name=name, pointer=pointer)
    try:
        raw = pybase64.b64decode(text, validate=True)  # SIMD: the standard module is 50× slower
    except (binascii.Error, ValueError):
        raise TensorError(f"{_what(name)}: 'b64' is not valid base64", name=name, pointer=pointer) from None
    if dtype.kind == "b":  # any non-zero byte is true, as numpy reads bool buffers
        return np.frombuffer(raw, np.uint8).reshape(shape) != 0
    # a bytearray keeps the array writable, as arrays made any other way are
    return np.frombuffer(bytearray(raw), dtype.newbyteorder("<")).reshape(shape).astype(dtype, copy=False)


def _from_data(data: Any, dtype: str | None, pointer: str, name: str | None, limit: int) -> np.ndarray:
    if isinstance(data, list):
        shape = _probe_shape(data, pointer, name)
        _check_count(math.prod(shape), shape, pointer, name, limit)
        try:
            arr = np.array(data)
        except (ValueError, TypeError, OverflowError):
            arr = None
        if arr is None or arr.dtype.kind not in "biuf" or arr.shape != tuple(shape):
            arr = _walk(data, shape, pointer, name)
    elif isinstance(data, (bool, int, float)):
        arr = np.array(data)
    elif isinstance(data, str) and data in NONFINITE:
        arr = np.array(NONFINITE[data])
    else:
        raise TensorError(f"{_what(name)} is {_json_type(data)}; a tensor is a number, a nested list, "
                          "{data, dtype} or {b64, dtype, shape}", name=name, pointer=pointer)
    return _cast(arr, dtype, pointer, name)


def _probe_shape(data: list, pointer: str, name: str | None) -> list[int]:
    """The shape implied by the first item at every level; numpy then refuses any ragged row."""
    shape: list[int] = []
    v: Any = data
    while isinstance(v, list):
        if len(shape) == MAX_NDIM:
            raise TensorError(f"{_what(name)} nests lists deeper than {MAX_NDIM} levels", name=name,
                              pointer=pointer)
        shape.append(len(v))
        if not v:
            break
        v = v[0]
    return shape


def _walk(data: list, shape: list[int], pointer: str, name: str | None) -> np.ndarray:
    """The exact, slow read: non-finite strings become floats, and the first bad item is named."""
    flat: list[Any] = []
    path: list[int] = []

    def visit(v: Any, depth: int) -> None:
        if depth == len(shape):
            if isinstance(v, (bool, int, float)):
                flat.append(v)
            elif isinstance(v, str) and v in NONFINITE:
                flat.append(NONFINITE[v])
            elif isinstance(v, list):
                raise TensorError(f"{_what(name)} is a ragged nested list: a list at {_at(path)} where "
                                  f"a number belongs", name=name, pointer=pointer + json_pointer(*path))
            else:
                raise TensorError(f"{_what(name)} has {_json_type(v)} at {_at(path)}; {_ITEMS}", name=name,
                                  pointer=pointer + json_pointer(*path))
            return
        if not isinstance(v, list) or len(v) != shape[depth]:
            got = f"{len(v)} items" if isinstance(v, list) else _json_type(v)
            raise TensorError(f"{_what(name)} is a ragged nested list: {got} at {_at(path)} where the first "
                              f"row has {shape[depth]}", name=name, pointer=pointer + json_pointer(*path))
        for i, x in enumerate(v):
            path.append(i)
            visit(x, depth + 1)
            path.pop()

    visit(data, 0)
    try:
        arr = np.array(flat)
    except (ValueError, OverflowError):
        arr = np.array(flat, dtype=object)
    if arr.dtype.kind not in "biuf":
        raise TensorError(f"{_what(name)} has integers out of range", name=name, pointer=pointer)
    return arr.reshape(shape)


def _at(path: list[int]) -> str:
    return "[" + "][".join(map(str, path)) + "]" if path else "the top level"


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, str):
        return f"the string {v[:40]!r}"
    if isinstance(v, Mapping):
        return "an object"
    if isinstance(v, list):
        return "a list"
    return type(v).__name__


def _cast(arr: np.ndarray, dtype: str | None, pointer: str, name: str | None) -> np.ndarray:
    """Apply the dtype asked for, or the default of program data (engine.structure.default_dtype)."""
    if dtype is None:
        target = default_dtype(arr.dtype.kind)
    else:
        target = DTYPES[dtype]
    if arr.dtype == target:
        return arr
    if target.kind == "f":  # every number has a float (out of float32's range: ±inf, as numpy casts)
        return arr.astype(target)
    with np.errstate(all="ignore"):
        if target.kind == "i" and arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
            raise DTypeError(f"{_what(name)} is int64 but holds non-integers", name=name, pointer=pointer)
        if target.kind == "i" and arr.dtype.kind in "uf" and arr.size and (
                np.max(arr) >= 2.0**63 or np.min(arr) < -(2.0**63)):
            raise DTypeError(f"{_what(name)} is int64 but holds integers out of range", name=name,
                             pointer=pointer)
        if target.kind == "b" and arr.dtype.kind != "b" and not np.all((arr == 0) | (arr == 1)):
            raise DTypeError(f"{_what(name)} is bool but holds values other than 0, 1, true and false",
                             name=name, pointer=pointer)
        return arr.astype(target)


def decode_optional(value: Any, pointer: str, limit: int) -> np.ndarray | None:
    return None if value is None else decode_tensor(value, pointer, None, limit)[0]


# ---------------------------------------------------------------------------- encoding

def encode_array(a: np.ndarray, encoding: str) -> Any:
    if encoding == "base64":
        a = np.ascontiguousarray(a, a.dtype.newbyteorder("<"))
        return {"b64": pybase64.b64encode_as_string(a.data)}
    return orjson.Fragment(json_bytes(a))


def json_bytes(a: np.ndarray) -> bytes:
    """Strict JSON for an array: nested lists, a bare number for shape [], non-finite values as strings."""
    scalar = a.ndim == 0
    a = np.ascontiguousarray(a.reshape(1) if scalar else a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"cannot write {a.dtype} tensors")
    out = orjson.dumps(a, option=orjson.OPT_SERIALIZE_NUMPY)
    if a.dtype.kind == "f" and b"null" in out:  # orjson writes a non-finite value as null, and nothing else so
        bad = ~np.isfinite(a)
        if bad.any():
            # each null stands for one non-finite value, in C order: put the right strings in their place
            tokens = [b'"NaN"' if math.isnan(v) else b'"Infinity"' if v > 0 else b'"-Infinity"'
                      for v in a[bad].tolist()]
            parts = out.split(b"null")
            out = parts[0] + b"".join(t + p for t, p in zip(tokens, parts[1:], strict=True))
    return out[1:-1] if scalar else out


def encode_variable(t: Tensor, encoding: str = "json", with_data: bool = True) -> dict[str, Any]:
    info: dict[str, Any] = {
        "shape": list(t.shape), "dtype": DTYPE_NAMES[t.dtype], "requires_grad": t.requires_grad, "is_leaf": t.is_leaf,
        "grad_fn": None if t.grad_fn is None else t.grad_fn.name,
    }
    if not with_data:
        info["has_grad"] = t.grad is not None
        return info
    info["data"] = encode_array(t.data, encoding)
    info["grad"] = None if t.grad is None else encode_array(t.grad, encoding)
    return info


def encode_variables(variables: Mapping[str, Tensor], encoding: str = "json", with_data: bool = True,
                     ) -> dict[str, Any]:
    charge_response(variables.values(), encoding, with_data)
    return {name: encode_variable(t, encoding, with_data) for name, t in variables.items()}


def encode_answer(answer: Mapping[str, Any], encoding: str = "json") -> dict[str, Any]:
    """A derivative call's answer: its tensors as variables, at any depth of names."""
    charge_response(answer_tensors(answer), encoding)
    return _encode_answer(answer, encoding)


def _encode_answer(answer: Mapping[str, Any], encoding: str) -> dict[str, Any]:
    return {name: encode_variable(v, encoding) if isinstance(v, Tensor) else _encode_answer(v, encoding)
            for name, v in answer.items()}


def variables_json(variables: Mapping[str, Tensor], encoding: str = "json",
                   derivatives: list[Mapping[str, Any]] | None = None) -> bytes:
    """The body of every answer that returns variables: {"variables": {name: Variable}}, plus the answers of
    a program's derivative calls when it had any."""
    body: dict[str, Any] = {"variables": encode_variables(variables, encoding)}
    if derivatives:
        body["derivatives"] = [encode_answer(a, encoding) for a in derivatives]
    return orjson.dumps(body)
