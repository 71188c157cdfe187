"""The binding step, the top of the engine: loads the op modules, then gives the engine one function
per op (plus backward and grad) and Tensor its operators and methods, all from the op table.

Every op declared later (after `import engine`) is bound the same way as it registers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# OP_MODULES: every module that declares ops (`from .registry import op, Int, ...`). A new op module is
# imported here, next to `ops`, and listed below; importing it registers its ops, and the listener at
# the end of this module binds them. Nothing else needs to know about it.
from . import ops, ops_linalg, ops_math, ops_nn, ops_shape
from .autograd import backward, grad
from .dispatch import operator
from .errors import OpError
from .registry import ALIASES, OPS, OpDef, on_register
from .tensor import Tensor, as_array

OP_MODULES = (ops, ops_linalg, ops_math, ops_nn, ops_shape)

__all__ = [*OPS, *ALIASES, "backward", "grad"]


# ---------------------------------------------------------------------------- Tensor operators

def _index_key(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


def _getitem(self: Tensor, key: Any) -> Tensor:
    items = _index_key(key)
    arrays = [k for k in items if isinstance(k, (Tensor, np.ndarray, list))]
    if arrays:
        if len(items) != 1:
            raise OpError("tensor indices are supported alone (x[idx]); use take(x, idx, axis=...) otherwise")
        idx = arrays[0]
        return OPS["take"].function(self, idx if isinstance(idx, Tensor) else as_array(idx), axis=0)
    return OPS["index"].function(self, key=items)


# Python operator -> op; the arithmetic ones also have their reflected form (2 * x)
ARITHMETIC = {"add": "add", "sub": "sub", "mul": "mul", "truediv": "div", "pow": "pow", "matmul": "matmul"}
COMPARISONS = {"lt": "lt", "le": "le", "gt": "gt", "ge": "ge"}

for _dunder, _name in ARITHMETIC.items():
    setattr(Tensor, f"__{_dunder}__", operator(OPS[_name]))
    setattr(Tensor, f"__r{_dunder}__", operator(OPS[_name], reflected=True))
for _dunder, _name in COMPARISONS.items():
    setattr(Tensor, f"__{_dunder}__", operator(OPS[_name]))
# set, not assigned: to a type checker they are declared in Tensor's class body, which this fills in
_OTHERS = {"__neg__": OPS["neg"].function, "__abs__": OPS["abs"].function, "__getitem__": _getitem,
           "T": property(OPS["transpose"].function)}
for _attr, _value in _OTHERS.items():
    setattr(Tensor, _attr, _value)


# ---------------------------------------------------------------------------- functions and methods

_methods: set[str] = set()  # Tensor methods bound here (a redeclared op replaces its own, nothing else)


def _bind(opdef: OpDef) -> None:
    for name in (opdef.name, *opdef.aliases):  # other spellings are the same function (engine.clamp is engine.clip)
        globals()[name] = opdef.function
        if opdef.method and opdef.public and (name in _methods or not hasattr(Tensor, name)):
            setattr(Tensor, name, opdef.function)
            _methods.add(name)


on_register(_bind)
