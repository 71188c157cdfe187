"""Kwarg types: how an op's kwargs are written in the catalog and how given values are checked.

An op's forward annotates each keyword-only parameter with one of these (`axis: Axes = None`). Each is a
type alias, `Annotated[<what the forward receives>, KwargType(...)]`: a type checker reads the value type,
the registry reads the KwargType. A `Literal` of strings (`approximate: Literal["none", "tanh"]`) is a
kwarg that is one of those strings.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from types import EllipsisType
from typing import Annotated, Any, Literal

import numpy as np

from .tensor import DTYPES


class KwargType:
    """A kwarg's type: how it is written in the catalog and how a value is checked."""

    def __init__(self, name: str, check: Callable[[Any], Any], *, sizes: bool = False):
        self.name = name
        self._check = check
        # a list of sizes or axes, which torch style may spread out as positional arguments (x.view(2, 3))
        self.sizes = sizes

    def check(self, value: Any) -> Any:
        return self._check(value)

    def __repr__(self) -> str:
        return self.name


_INT64 = 2 ** 63


def _int(v: Any) -> int:
    # program documents often cannot tell 2 from 2.0 (JavaScript writes both as 2): integral floats are integers
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ValueError("must be an integer")
    if not -_INT64 <= v < _INT64:  # an axis or size of 1e30 would overflow inside numpy
        raise ValueError("must be an integer in int64's range")
    return int(v)


def _opt(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else check(v)


def _ints(v: Any) -> tuple[int, ...]:
    if isinstance(v, np.ndarray) and v.ndim == 1:
        v = v.tolist()
    if not isinstance(v, (list, tuple)):
        raise ValueError("must be a list of integers")
    return tuple(_int(x) for x in v)


def _axes(v: Any) -> int | tuple[int, ...]:
    if isinstance(v, np.ndarray):
        v = v.tolist()
    return _int(v) if not isinstance(v, (list, tuple)) else _ints(v)


def _shape(v: Any) -> tuple[int, ...]:
    if isinstance(v, np.ndarray):
        v = v.tolist()
    shape = _ints(v) if isinstance(v, (list, tuple)) else (_int(v),)
    if sum(1 for s in shape if s == -1) > 1 or any(s < -1 for s in shape):
        raise ValueError("must be non-negative sizes (at most one -1)")
    return shape


def _number(v: Any) -> int | float:
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ValueError("must be a number")
    # an int stays an int: as in torch, clip(int tensor, min=1) stays int64 where min=1.5 gives float32
    return int(v) if isinstance(v, (int, np.integer)) else float(v)


def choice(*options: str) -> KwargType:
    """A kwarg that is one of a few strings (gelu's approximate="none" | "tanh"): what a forward's
    `Literal["none", "tanh"]` annotation stands for."""
    def check(v: Any) -> str:
        if not isinstance(v, str) or v not in options:
            raise ValueError(f"must be one of {', '.join(repr(o) for o in options)}")
        return v
    return KwargType(" | ".join(f'"{o}"' for o in options), check)


def _pad_width(v: Any) -> int | tuple[int, ...] | tuple[tuple[int, ...], ...]:
    """numpy's pad_width: n, (before, after), or one (before, after) per axis."""
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if not isinstance(v, (list, tuple)):
        return _int(v)
    if all(not isinstance(x, (list, tuple)) for x in v):
        return _ints(v)
    return tuple(_ints(x) for x in v)


def _bool(v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise ValueError("must be true or false")
    return bool(v)


def _dtype(v: Any) -> str:
    if not isinstance(v, str) or v not in DTYPES:
        raise ValueError(f"must be one of {', '.join(DTYPES)}")
    return v


def _key(v: Any) -> tuple[int | slice | EllipsisType | None, ...]:
    """An index key: a list of int, null (new axis), "..." or a slice string "start:stop:step"."""
    items = v if isinstance(v, (list, tuple)) else [v]
    key: list[int | slice | EllipsisType | None] = []
    for item in items:
        if item is None or item is Ellipsis or isinstance(item, slice):
            key.append(item)
        elif item == "...":
            key.append(Ellipsis)
        elif isinstance(item, str):
            parts = item.split(":")
            if len(parts) not in (2, 3):
                raise ValueError(f"slice {item!r} must look like 'start:stop' or 'start:stop:step'")
            try:
                bounds = [int(p) if p.strip() else None for p in parts]
            except ValueError:
                raise ValueError(f"slice {item!r} must hold integers") from None
            if len(bounds) == 3 and bounds[2] == 0:
                raise ValueError("slice step cannot be zero")
            key.append(slice(*bounds))
        else:
            key.append(_int(item))
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise ValueError("an index can only have a single ellipsis ('...')")
    return tuple(key)


Int = Annotated[int, KwargType("int", _int)]
OptInt = Annotated[int | None, KwargType("int | null", _opt(_int))]
Axes = Annotated[int | tuple[int, ...] | None, KwargType("int | int[] | null", _opt(_axes))]
Ints = Annotated[tuple[int, ...] | None, KwargType("int[] | null", _opt(_ints), sizes=True)]
Shape = Annotated[tuple[int, ...], KwargType("int[]", _shape, sizes=True)]
Number = Annotated[int | float, KwargType("number", _number)]
OptNumber = Annotated[int | float | None, KwargType("number | null", _opt(_number))]
Bool = Annotated[bool, KwargType("bool", _bool)]
DType = Annotated[str, KwargType("dtype", _dtype)]
Key = Annotated[tuple[int | slice | EllipsisType | None, ...], KwargType("index key", _key)]
IntOrInts = Annotated[int | tuple[int, ...], KwargType("int | int[]", _axes, sizes=True)]
PadWidth = Annotated[int | tuple[int, ...] | tuple[tuple[int, ...], ...],
                     KwargType("int | int[] | int[][]", _pad_width)]


def kwarg_type(annotation: object) -> KwargType | None:
    """The KwargType an op's forward gives a kwarg by its annotation (a type above, a Literal of strings, or a
    KwargType itself); None when the annotation is none of these."""
    if isinstance(annotation, KwargType):
        return annotation
    if typing.get_origin(annotation) is Annotated:
        found = [m for m in typing.get_args(annotation)[1:] if isinstance(m, KwargType)]
        return found[0] if found else None
    if typing.get_origin(annotation) is Literal:
        options = typing.get_args(annotation)
        return choice(*options) if options and all(isinstance(o, str) for o in options) else None
    return None


# PyTorch's spellings of kwargs, accepted by every op that has the numpy kwarg they stand for (the first
# one the op has, for a spelling that stands for several)
KWARG_ALIASES: dict[str, tuple[str, ...]] = {
    "dim": ("axis",), "keepdim": ("keepdims",), "dims": ("axes", "reps"), "shifts": ("shift",),
    "correction": ("ddof",), "size": ("shape",), "dim1": ("axis1",), "dim2": ("axis2",), "diagonal": ("k",),
}
