"""Namespace state as plain data: a manifest of lists, dicts, strings and numbers plus named arrays, and back.

This is how a session leaves its process (a shared store, a snapshot file) without pickle: the manifest
holds the graph (tensors, grad_fn nodes by op name, kwargs with explicit type tags, bindings) and refers to
arrays by index; every array is a view (dtype, shape, byte offset, strides) of a C-ordered blob, so views
made by reshape, transpose or broadcast_to stay views and shared memory stays shared. Loading trusts
nothing: op names are looked up in the op table, kwargs pass the op's own checks, dtypes come from a short
list, and every shape, size and byte range is checked against the limits before any array is made.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from .errors import EngineError, LimitError
from .graph import Meta, Node, VersionCounter
from .optim import OPTIMIZERS
from .program import Limits, NamedOptimizer, Namespace
from .registry import OPS
from .structure import NAME
from .tensor import Tensor

FORMAT = 1

# every dtype an array of a session may have (saved buffers and bit views included), little-endian
DTYPES = {np.dtype(t).name: np.dtype(t) for t in (
    np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
    np.uint8, np.uint16, np.uint32, np.uint64, np.bool_)}

# graph bookkeeping counted against the session's byte limit, so a manifest of millions of tiny nodes is
# refused like a huge array is (roughly what a Node or Tensor and its tuples take in this process)
NODE_BYTES = 256
TENSOR_BYTES = 128
MAX_DEPTH = 32  # kwargs nest a few levels at most (a tuple of slices)
NAMES = {dtype: name for name, dtype in DTYPES.items()}  # dtype.name is a slow Python property


class StateError(EngineError):
    """A manifest or array set that does not describe a valid namespace."""

    kind = "invalid-snapshot"
    title = "Invalid snapshot"


@dataclass
class State:
    """A namespace as data: `manifest` (plain JSON-able values) and `blobs` (id -> C-ordered array)."""

    manifest: dict[str, Any]
    blobs: dict[str, np.ndarray]


# ---------------------------------------------------------------------------- dump

def _address(arr: np.ndarray) -> int:
    address: int = arr.__array_interface__["data"][0]  # (numpy types the interface as a dict of Any)
    return address


class _Dumper:
    def __init__(self, blob_id: Callable[[np.ndarray], str]):
        self.blob_id = blob_id
        self.blobs: dict[str, np.ndarray] = {}
        self.root_ids: dict[int, str] = {}
        self.blob_meta: dict[str, dict[str, Any]] = {}
        self.arrays: list[list[Any]] = []
        self.array_index: dict[int, int] = {}
        self.keep: list[np.ndarray] = []  # ids stay unique while this dump holds the objects
        self.tensor_index: dict[int, int] = {}
        self.node_index: dict[int, int] = {}

    def array(self, arr: np.ndarray) -> int:
        i = self.array_index.get(id(arr))
        if i is not None:
            return i
        name = NAMES.get(arr.dtype)
        if name is None:
            raise StateError(f"an array of dtype {arr.dtype} cannot be stored")
        root = arr
        while isinstance(root.base, np.ndarray):
            root = root.base
        if root is not arr and (not root.flags.c_contiguous or root.dtype not in NAMES):
            root = np.ascontiguousarray(arr)  # an unusual base (a foreign buffer): store this array alone
        bid = self.root_ids.get(id(root))
        if bid is None:
            if not root.flags.c_contiguous:
                root = np.ascontiguousarray(root)
            bid = self.root_ids[id(root)] = self.blob_id(root)
            self.blobs[bid] = root
            self.blob_meta[bid] = {"dtype": NAMES[root.dtype], "shape": list(root.shape)}
            self.keep.append(root)
        if arr is root:
            entry = [bid, name, list(arr.shape), 0, None]
        else:
            strides = None if arr.flags.c_contiguous else list(arr.strides)
            entry = [bid, name, list(arr.shape), _address(arr) - _address(root), strides]
        self.keep.append(arr)
        self.array_index[id(arr)] = len(self.arrays)
        self.arrays.append(entry)
        return len(self.arrays) - 1

    def value(self, v: Any, depth: int = 0) -> Any:
        """A kwarg or saved scalar as JSON-able data; every non-JSON type gets an explicit tag."""
        t = type(v)
        if v is None or t is bool or t is int or t is str:
            return v
        if t is float:
            return {"float": v.hex()}
        if depth > MAX_DEPTH:
            raise StateError("a kwarg nests too deeply to be stored")
        if t is tuple:
            return {"tuple": [self.value(x, depth + 1) for x in v]}
        if t is list:
            return {"list": [self.value(x, depth + 1) for x in v]}
        if t is slice:
            return {"slice": [self.value(v.start), self.value(v.stop), self.value(v.step)]}
        if v is Ellipsis:
            return {"ellipsis": True}
        if t is dict:
            return {"dict": [[str(k), self.value(x, depth + 1)] for k, x in v.items()]}
        if isinstance(v, np.generic):
            return {"scalar": self.array(np.asarray(v))}
        if t is np.ndarray:
            return {"array": self.array(v)}
        if t is Tensor:
            return {"tensor": self.tensor_index[id(v)]}
        if t is np.dtype:
            return {"dtype": v.name}
        raise StateError(f"a value of type {t.__name__} cannot be stored")

    def ref(self, x: Any) -> Any:
        t = type(x)
        if t is Tensor:
            return ["t", self.tensor_index[id(x)]]
        if t is Node:
            return ["n", self.node_index[id(x)]]
        if t is Meta:
            return ["m", [int(s) for s in x.shape], None if x.dtype is None else NAMES.get(x.dtype) or
                    np.dtype(x.dtype).name]
        if t is np.ndarray:
            return ["a", self.array(x)]
        return ["v", self.value(x)]


def _collect(roots: list[Tensor]) -> tuple[list[Tensor], list[Node]]:
    """Every tensor and node the roots reach, nodes ordered so that a node's `next` come before it."""
    tensors: dict[int, Tensor] = {}
    nodes: dict[int, Node] = {}
    stack: list[Any] = list(roots)
    while stack:
        x = stack.pop()
        if type(x) is Tensor:
            if id(x) not in tensors:
                tensors[id(x)] = x
                if x.grad_fn is not None:
                    stack.append(x.grad_fn)
        elif type(x) is Node and id(x) not in nodes:
            nodes[id(x)] = x
            stack.extend(n for n in x.next if n is not None)
            stack.extend(i for i in (x.inputs or ()) if type(i) is Tensor)
            stack.extend(v for v in x.kwargs.values() if type(v) is Tensor)
            if x.retained is not None:
                stack.append(x.retained)
    order: list[Node] = []  # iterative post-order over `next`
    done: set[int] = set()
    for start in nodes.values():
        if id(start) in done:
            continue
        done.add(id(start))
        walk = [(start, iter(start.next))]
        while walk:
            node, children = walk[-1]
            for child in children:
                if type(child) is Node and id(child) not in done:
                    done.add(id(child))
                    walk.append((child, iter(child.next)))
                    break
            else:
                walk.pop()
                order.append(node)
    return list(tensors.values()), order


def dump(namespace: Namespace, blob_id: Callable[[np.ndarray], str] | None = None) -> State:
    """The namespace as data. `blob_id(root)` names each distinct C-ordered array (default: b0, b1, ...);
    a caller that keeps names for arrays it already stored writes only the new ones."""
    counter = iter(range(1 << 62))
    d = _Dumper(blob_id or (lambda root: f"b{next(counter)}"))
    # an optimizer's params are usually bound too; one whose name was rebound since is kept all the same
    params = [p for made in namespace.optimizers.values() for p in made.optimizer.params]
    tensors, nodes = _collect([*namespace.bindings.values(), *params])
    d.tensor_index = {id(t): i for i, t in enumerate(tensors)}
    d.node_index = {id(n): i for i, n in enumerate(nodes)}
    out_tensors = [[d.array(t.data), None if t.grad is None else d.array(np.asarray(t.grad)), bool(t.requires_grad),
                    None if t.grad_fn is None else d.node_index[id(t.grad_fn)]] for t in tensors]
    out_nodes = []
    for n in nodes:
        out_nodes.append({
            "op": n.op.name,
            "kwargs": {k: d.value(v) for k, v in n.kwargs.items()},
            "next": [d.ref(x) if x is not None else None for x in n.next],
            "inputs": None if n.inputs is None else [d.ref(x) for x in n.inputs],
            "out": None if n.out is None else d.array(n.out),
            "freed": bool(n.freed),
            "retained": None if n.retained is None else d.tensor_index[id(n.retained)],
            "versions": None if n.versions is None or n.freed else list(n.versions),
        })
    manifest = {"format": FORMAT, "blobs": d.blob_meta, "arrays": d.arrays, "tensors": out_tensors,
                "nodes": out_nodes, "bindings": {name: d.tensor_index[id(t)] for name, t in namespace.bindings.items()}}
    # in-place write counts: [tensor, counter, value], tensors sharing data (views, detach) sharing a counter
    counters: dict[int, int] = {}
    manifest["versions"] = [[i, counters.setdefault(id(t._vc), len(counters)), t._vc.value]
                            for i, t in enumerate(tensors) if t._vc is not None]
    manifest["optimizers"] = [_dump_optimizer(d, made) for made in namespace.optimizers.values()]
    return State(manifest, d.blobs)


def _dump_optimizer(d: _Dumper, made: NamedOptimizer) -> dict[str, Any]:
    opt = made.optimizer
    return {"name": made.name, "type": opt.type, "params": list(made.params),
            "tensors": [d.tensor_index[id(p)] for p in opt.params],
            "hyperparameters": {k: d.value(v) for k, v in opt.hyperparameters.items()}, "steps": opt.steps,
            "state": [{k: d.value(v) for k, v in st.as_dict().items()} for st in opt.state]}


# ---------------------------------------------------------------------------- load

def _fail(detail: str) -> StateError:
    return StateError(detail)


def _int(v: Any, what: str, lo: int = 0, hi: int = 1 << 62) -> int:
    if type(v) is not int or not lo <= v <= hi:
        raise _fail(f"{what} must be an integer in [{lo}, {hi}], got {v!r}"[:300])
    return v


def _list(v: Any, what: str) -> list[Any]:
    if type(v) is not list:
        raise _fail(f"{what} must be a list")
    return v


def _dict(v: Any, what: str) -> dict[str, Any]:
    if type(v) is not dict:
        raise _fail(f"{what} must be an object")
    return v


def _dtype(v: Any, what: str) -> np.dtype:
    if type(v) is not str or v not in DTYPES:
        raise _fail(f"{what} has dtype {str(v)[:40]!r}, not one of {', '.join(DTYPES)}")
    return DTYPES[v]


def _shape(v: Any, what: str) -> tuple[int, ...]:
    dims = _list(v, f"{what} shape")
    if len(dims) > 64:
        raise _fail(f"{what} has {len(dims)} dimensions, more than 64")
    return tuple(_int(s, f"{what} shape item") for s in dims)


# blob id -> (dtype, shape, nbytes)
BlobSizes: TypeAlias = dict[str, tuple[np.dtype[Any], tuple[int, ...], int]]


def check_sizes(blobs: object, limits: Limits, nodes: int = 0, tensors: int = 0) -> BlobSizes:
    """Dtype, shape and byte size of every blob, checked against the limits from the manifest alone.

    Returns blob id -> (dtype, shape, nbytes) for `load` and for readers that must size byte ranges first.
    """
    out: BlobSizes = {}
    total = nodes * NODE_BYTES + tensors * TENSOR_BYTES
    for bid, meta in _dict(blobs, "blobs").items():
        meta = _dict(meta, f"blob {bid[:40]!r}")
        dtype = _dtype(meta.get("dtype"), f"blob {bid[:40]!r}")
        shape = _shape(meta.get("shape"), f"blob {bid[:40]!r}")
        n = math.prod(shape)
        if limits.max_tensor_elements is not None and n > limits.max_tensor_elements:
            raise LimitError(f"an array of shape {shape} ({n} elements) is over the limit of "
                             f"{limits.max_tensor_elements} elements per tensor")
        out[bid] = (dtype, shape, n * dtype.itemsize)
        total += n * dtype.itemsize
        if limits.max_session_bytes is not None and total > limits.max_session_bytes:
            raise LimitError(f"the session would hold more than {limits.max_session_bytes} bytes, over the limit")
    return out


def _view(root: np.ndarray, entry: Any, i: int, blob_dtype: np.dtype, limits: Limits) -> np.ndarray:
    entry = _list(entry, f"array {i}")
    if len(entry) != 5:
        raise _fail(f"array {i} must be [blob, dtype, shape, offset, strides]")
    _, dtype_name, shape, offset, strides = entry
    dtype = _dtype(dtype_name, f"array {i}")
    shape = _shape(shape, f"array {i}")
    offset = _int(offset, f"array {i} offset")
    n = math.prod(shape)
    if limits.max_tensor_elements is not None and n > limits.max_tensor_elements:
        raise LimitError(f"array {i} of shape {shape} is over the limit of {limits.max_tensor_elements} elements")
    if strides is None:
        strides, step = [], dtype.itemsize  # C order
        for s in reversed(shape):
            strides.append(step)
            step *= max(s, 1)
        strides = tuple(reversed(strides))
    else:
        strides = _list(strides, f"array {i} strides")
        if len(strides) != len(shape):
            raise _fail(f"array {i} has {len(strides)} strides for {len(shape)} dimensions")
        strides = tuple(_int(s, f"array {i} stride", -(1 << 40), 1 << 40) for s in strides)
    if n:  # every byte the view can read must lie inside its blob
        lo = offset + sum(min(0, (s - 1) * st) for s, st in zip(shape, strides))
        hi = offset + sum(max(0, (s - 1) * st) for s, st in zip(shape, strides)) + dtype.itemsize
        if lo < 0 or hi > root.nbytes:
            raise _fail(f"array {i} reads bytes [{lo}, {hi}) of a blob of {root.nbytes} bytes")
    elif offset > root.nbytes:
        raise _fail(f"array {i} starts past the end of its blob")
    if dtype == blob_dtype and shape == root.shape and offset == 0 and strides == root.strides:
        return root
    return np.ndarray(shape, dtype, buffer=root, offset=offset, strides=strides)


def load(manifest: Mapping[str, Any], blobs: Mapping[str, Any], limits: Limits = Limits(),
         arrays: Mapping[str, np.ndarray] | None = None) -> Namespace:
    """A namespace from `dump`'s data, validated throughout; StateError (or LimitError) when it is not valid.

    `blobs` maps blob id -> bytes-like of exactly the blob's size; `arrays` may give blobs already made (a
    live copy's), which are used as they are.
    """
    return load_state(manifest, blobs, limits, arrays).namespace


@dataclass
class Loaded:
    namespace: Namespace
    blobs: dict[str, np.ndarray]  # blob id -> the array made for it, the root of every array viewing it


def load_state(manifest: Mapping[str, Any], blobs: Mapping[str, Any], limits: Limits = Limits(),
               arrays: Mapping[str, np.ndarray] | None = None) -> Loaded:
    """As `load`, also giving the array made for each blob (so that a later `dump` can name them the same)."""
    try:
        return _load(manifest, blobs, limits, arrays or {})
    except EngineError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as e:
        # the checks below are meant to catch everything first; this is the last line
        raise _fail(f"the snapshot is not valid: {e}"[:300]) from None


def _load(manifest: object, blobs: Mapping[str, Any], limits: Limits, given: Mapping[str, np.ndarray]) -> Loaded:
    manifest = _dict(manifest, "the manifest")
    if manifest.get("format") != FORMAT:
        raise _fail(f"unknown format {str(manifest.get('format'))[:20]!r} (this server reads format {FORMAT})")
    return _Loader(manifest, limits).load(blobs, given)


_STATE_KEYS = {"step", "momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "square_avg", "grad_avg",
               "sum"}


class _Loader:
    """Reads a manifest in dependency order (blobs, arrays, tensors, nodes, bindings), checking as it goes."""

    def __init__(self, manifest: dict[str, Any], limits: Limits):
        self.manifest = manifest
        self.limits = limits
        self.node_specs = _list(manifest.get("nodes"), "nodes")
        self.tensor_specs = _list(manifest.get("tensors"), "tensors")
        # sizes from the manifest alone, against the limits, before any array is made
        self.sizes = check_sizes(manifest.get("blobs"), limits, len(self.node_specs), len(self.tensor_specs))
        self.roots: dict[str, np.ndarray] = {}
        self.arrays: list[np.ndarray] = []
        self.tensors: list[Tensor] = []
        self.grad_fns: list[int | None] = []
        self.nodes: list[Node] = []

    def load(self, blobs: Mapping[str, Any], given: Mapping[str, np.ndarray]) -> Loaded:
        self.read_blobs(blobs, given)
        for i, entry in enumerate(_list(self.manifest.get("arrays"), "arrays")):
            bid = entry[0] if type(entry) is list and entry else None
            if type(bid) is not str or bid not in self.roots:
                raise _fail(f"array {i} refers to an unknown blob")
            self.arrays.append(_view(self.roots[bid], entry, i, self.sizes[bid][0], self.limits))
        for k, spec in enumerate(self.tensor_specs):
            self.read_tensor(k, spec)
        retained: list[tuple[int, int]] = []
        for i, spec in enumerate(self.node_specs):
            self.nodes.append(self.read_node(i, _dict(spec, f"node {i}"), retained))

        _check_edges(self.nodes, self.tensors, self.grad_fns)
        for t, grad_fn in zip(self.tensors, self.grad_fns):
            if grad_fn is not None:
                t.grad_fn = self.nodes[grad_fn]
        for i, k in retained:
            if self.grad_fns[k] != i:
                raise _fail(f"node {i} retains the grad of tensor {k}, which it did not make")
            self.nodes[i].retained = self.tensors[k]

        namespace = Namespace()
        for name, k in _dict(self.manifest.get("bindings"), "bindings").items():
            if not NAME.match(name):
                raise _fail(f"binding {name[:40]!r} is not an identifier")
            namespace.bindings[name] = self.tensor(k, f"binding {name[:40]!r}")
        self.read_versions(_list(self.manifest.get("versions", []), "versions"))
        for j, spec in enumerate(_list(self.manifest.get("optimizers", []), "optimizers")):
            made = self.read_optimizer(j, _dict(spec, f"optimizer {j}"))
            if made.name in namespace.optimizers:
                raise _fail(f"optimizer {j} repeats the name {made.name!r}")
            namespace.optimizers[made.name] = made
        return Loaded(namespace, self.roots)

    def read_versions(self, entries: list[Any]) -> None:
        counters: dict[int, VersionCounter] = {}
        for j, entry in enumerate(entries):
            entry = _list(entry, f"version {j}")
            if len(entry) != 3:
                raise _fail(f"version {j} must be [tensor, counter, value]")
            t = self.tensor(entry[0], f"version {j} tensor")
            k = _int(entry[1], f"version {j} counter", 0, len(entries))
            value = _int(entry[2], f"version {j} value")
            counter = counters.get(k)
            if counter is None:
                counter = counters[k] = VersionCounter()
                counter.value = value
            elif counter.value != value:
                raise _fail(f"version {j} gives counter {k} two values")
            t._vc = counter

    def read_optimizer(self, j: int, spec: dict[str, Any]) -> NamedOptimizer:
        where = f"optimizer {j}"
        kind = spec.get("type")
        cls = OPTIMIZERS.get(kind) if type(kind) is str else None
        if cls is None:
            raise _fail(f"{where} has an unknown type")
        name, names = spec.get("name"), _list(spec.get("params"), f"{where} params")
        if type(name) is not str or not NAME.match(name) or not all(type(n) is str for n in names):
            raise _fail(f"{where} has a bad name or param names")
        tensors = [self.tensor(k, f"{where} param") for k in _list(spec.get("tensors"), f"{where} tensors")]
        if len(tensors) != len(names):
            raise _fail(f"{where} has {len(tensors)} params for {len(names)} names")
        hyper = {str(k): self.value(v, f"{where} hyperparameter") for k, v in
                 _dict(spec.get("hyperparameters"), f"{where} hyperparameters").items()}
        try:  # the optimizer's own checks: hyperparameters it takes, params that are leaves requiring grad
            opt = cls(tensors, **hyper)
        except EngineError as e:
            raise _fail(f"{where}: {e.detail}") from None
        opt.steps = _int(spec.get("steps"), f"{where} steps")
        states = _list(spec.get("state"), f"{where} state")
        if len(states) != len(tensors):
            raise _fail(f"{where} has state for {len(states)} of {len(tensors)} params")
        for k, (p, st, values) in enumerate(zip(tensors, opt.state, states)):
            for key, v in _dict(values, f"{where} state {k}").items():
                if key not in _STATE_KEYS:
                    raise _fail(f"{where} state {k} has an unknown entry")
                x = self.value(v, f"{where} state {k}")
                if key == "step":
                    x = _int(x, f"{where} state {k} step")
                elif type(x) is not np.ndarray or x.shape != p.data.shape or x.dtype != p.data.dtype:
                    raise _fail(f"{where} state {k} '{key}' does not match its param")
                setattr(st, key, x)
        return NamedOptimizer(name, names, opt)

    def read_blobs(self, blobs: Mapping[str, Any], given: Mapping[str, np.ndarray]) -> None:
        for bid, (dtype, shape, nbytes) in self.sizes.items():
            if bid in given:
                root = given[bid]
                if root.dtype != dtype or root.shape != shape:
                    raise _fail(f"blob {bid[:40]!r} does not match its description")
            else:
                raw = blobs.get(bid)
                if raw is None:
                    raise _fail(f"blob {bid[:40]!r} is missing")
                if len(raw) != nbytes:
                    raise _fail(f"blob {bid[:40]!r} has {len(raw)} bytes; dtype {dtype.name} and shape {shape} "
                                f"need {nbytes}")
                root = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()  # writable, owning its memory
            self.roots[bid] = root

    def array(self, i: Any, what: str) -> np.ndarray:
        return self.arrays[_int(i, what, 0, len(self.arrays) - 1 if self.arrays else -1)]

    def tensor(self, i: Any, what: str) -> Tensor:
        return self.tensors[_int(i, what, 0, len(self.tensors) - 1 if self.tensors else -1)]

    def read_tensor(self, k: int, spec: Any) -> None:
        spec = _list(spec, f"tensor {k}")
        if len(spec) != 4:
            raise _fail(f"tensor {k} must be [data, grad, requires_grad, grad_fn]")
        data = self.array(spec[0], f"tensor {k} data")
        t = Tensor._make(data, None)
        if spec[1] is not None:
            grad = self.array(spec[1], f"tensor {k} grad")
            if grad.shape != data.shape or grad.dtype != data.dtype:
                raise _fail(f"tensor {k} has a grad of shape {grad.shape} {grad.dtype} for data of shape "
                            f"{data.shape} {data.dtype}")
            t.grad = grad
        if type(spec[2]) is not bool or spec[2] and data.dtype.kind != "f":
            raise _fail(f"tensor {k}: requires_grad must be true or false, and true only for floating dtypes")
        t.requires_grad = spec[2]
        grad_fn = None if spec[3] is None else _int(spec[3], f"tensor {k} grad_fn", 0, len(self.node_specs) - 1)
        if grad_fn is not None and not t.requires_grad:
            raise _fail(f"tensor {k} has a grad_fn but does not require grad")
        self.grad_fns.append(grad_fn)
        self.tensors.append(t)

    def value(self, v: Any, what: str, depth: int = 0) -> Any:
        """A tagged value of `_Dumper.value`, back."""
        if v is None or type(v) in (bool, int, str):
            return v
        if depth > MAX_DEPTH:
            raise _fail(f"{what} nests too deeply")
        v = _dict(v, what)
        if len(v) != 1:
            raise _fail(f"{what} must be a tagged value")
        (tag, x), = v.items()
        if tag == "float":
            if type(x) is not str or len(x) > 40:
                raise _fail(f"{what} is not a float")
            return float.fromhex(x)
        if tag in ("tuple", "list"):
            items = [self.value(y, what, depth + 1) for y in _list(x, what)]
            return tuple(items) if tag == "tuple" else items
        if tag == "slice":
            parts = _list(x, what)
            if len(parts) != 3 or any(p is not None and type(p) is not int for p in parts):
                raise _fail(f"{what} is not a slice")
            return slice(*parts)
        if tag == "ellipsis":
            return Ellipsis
        if tag == "dict":
            return {str(k): self.value(y, what, depth + 1) for k, y in _list(x, what)}
        if tag == "scalar":
            a = self.array(x, what)
            if a.shape != ():
                raise _fail(f"{what} is not a scalar")
            return a[()]
        if tag == "array":
            return self.array(x, what)
        if tag == "tensor":
            return self.tensor(x, what)
        if tag == "dtype":
            return _dtype(x, what)
        raise _fail(f"{what} has an unknown tag {str(tag)[:20]!r}")

    def read_input(self, ref: Any, what: str) -> Any:
        ref = _list(ref, what)
        kind = ref[0] if ref else None
        if kind == "t" and len(ref) == 2:
            return self.tensor(ref[1], what)
        if kind == "a" and len(ref) == 2:
            return self.array(ref[1], what)
        if kind == "m" and len(ref) == 3:
            return Meta(_shape(ref[1], what), None if ref[2] is None else _dtype(ref[2], what))
        if kind == "v" and len(ref) == 2:
            v = self.value(ref[1], what)
            # None: an optional tensor argument left out (linear without a bias)
            if v is not None and type(v) not in (bool, int, float) and not isinstance(v, np.generic):
                raise _fail(f"{what} is not a number")
            return v
        raise _fail(f"{what} is malformed")

    def read_next(self, i: int, ref: Any) -> Node | Tensor | None:
        where = f"node {i}"
        if ref is None:
            return None
        ref = _list(ref, f"{where} next item")
        if len(ref) != 2 or ref[0] not in ("n", "t"):
            raise _fail(f"{where} next item must be a node or a tensor")
        if ref[0] == "n":  # only earlier nodes: the graph is acyclic by construction
            return self.nodes[_int(ref[1], f"{where} next node", 0, i - 1)]
        leaf = _int(ref[1], f"{where} next tensor", 0, len(self.tensors) - 1)
        if self.grad_fns[leaf] is not None or not self.tensors[leaf].requires_grad:
            raise _fail(f"{where} sends a gradient to tensor {leaf}, which is not a leaf requiring grad")
        return self.tensors[leaf]

    def read_node(self, i: int, spec: dict[str, Any], retained: list[tuple[int, int]]) -> Node:
        where = f"node {i}"
        name = spec.get("op")
        opdef = OPS.get(name) if type(name) is str else None
        if opdef is None or opdef.vjp is None:
            raise _fail(f"{where} names op {str(name)[:40]!r}, which is not a differentiable op of this server")
        kwargs = {str(k): self.value(v, f"{where} kwarg {str(k)[:40]!r}") for k, v in
                  _dict(spec.get("kwargs"), f"{where} kwargs").items()}
        try:
            kwargs = opdef.complete_kwargs(opdef.check_kwargs(kwargs))  # nodes hold every kwarg
        except EngineError as e:
            raise _fail(f"{where}: {e.detail}") from None
        if any(k not in kwargs for k in opdef.required):
            raise _fail(f"{where} lacks a required kwarg of '{opdef.name}'")
        nxt = tuple(self.read_next(i, ref) for ref in _list(spec.get("next"), f"{where} next"))
        if not nxt or opdef.arity is not None and len(nxt) != opdef.arity:
            raise _fail(f"{where} has {len(nxt)} inputs; '{opdef.name}' takes {opdef.arity or 'at least 1'}")
        freed = spec.get("freed")
        if type(freed) is not bool:
            raise _fail(f"{where} freed must be true or false")
        inputs = spec.get("inputs")
        if inputs is None:
            if not (freed and opdef.saves_inputs and opdef.grad_fn_rule is None):
                raise _fail(f"{where} lacks its inputs")
        else:
            refs = _list(inputs, f"{where} inputs")
            if len(refs) != len(nxt):
                raise _fail(f"{where} has {len(refs)} inputs for {len(nxt)} edges")
            inputs = tuple(self.read_input(r, f"{where} input") for r in refs)
            if (not opdef.saves_inputs or freed) and any(type(x) is Tensor or type(x) is np.ndarray for x in inputs):
                raise _fail(f"{where} holds input data that '{opdef.name}' does not keep")
            if opdef.saves_inputs and not freed and any(type(x) is Meta for x in inputs):
                raise _fail(f"{where} lacks saved input data that '{opdef.name}' needs")
        out = None if spec.get("out") is None else self.array(spec.get("out"), f"{where} out")
        if (out is None) != (freed or not opdef.saves_output):
            raise _fail(f"{where} {'lacks' if out is None else 'holds'} a saved output")
        node = Node(opdef, kwargs, nxt, inputs, out)
        node.freed = freed
        if spec.get("versions") is not None:  # the versions its saved inputs had when saved
            versions = _list(spec.get("versions"), f"{where} versions")
            if inputs is None or len(versions) != len(inputs):
                raise _fail(f"{where} has {len(versions)} versions for its inputs")
            node.versions = tuple(_int(v, f"{where} version") for v in versions)
        if spec.get("retained") is not None:
            retained.append((i, _int(spec.get("retained"), f"{where} retained", 0, len(self.tensors) - 1)))
        return node


def _meta(x: Any) -> tuple[tuple[int, ...], Any]:
    if type(x) is Tensor:
        x = x.data
    if type(x) is np.ndarray or type(x) is Meta:
        return tuple(x.shape), None if x.dtype is None else np.dtype(x.dtype)
    return (), None


def _check_edges(nodes: list[Node], tensors: list[Tensor], grad_fns: list[int | None]) -> None:
    """What flows along each edge must agree at both ends: an input's shape and dtype are those of the leaf
    or of the output of the node it comes from (and, where the op has a shape rule, what its inputs give),
    so that a backward never meets a shape the graph could not have made."""
    shapes: dict[int, tuple[int, ...]] = {}  # node index -> its output's shape, as far as known
    dtypes: dict[int, Any] = {}
    index = {id(n): i for i, n in enumerate(nodes)}

    def agree(i: int, shape: tuple[int, ...], dtype: Any, where: str) -> None:
        if shapes.setdefault(i, shape) != shape or dtype is not None and dtypes.setdefault(i, dtype) != dtype:
            raise _fail(f"{where} says node {i} made {shape} {dtype}, elsewhere it made {shapes[i]} "
                        f"{dtypes.get(i)}")

    for i, node in enumerate(nodes):
        if node.out is not None:
            agree(i, *_meta(node.out), f"node {i}'s saved output")
        if node.inputs is None:
            continue
        metas = [_meta(x) for x in node.inputs]
        if node.op.shape is not None:
            try:
                made = tuple(node.op.shape(*[m[0] for m in metas], **node.kwargs))
            except (ValueError, TypeError, IndexError) as e:
                raise _fail(f"node {i} ('{node.op.name}') has inputs of shapes {[m[0] for m in metas]}: {e}") \
                    from None
            agree(i, made, None, f"the inputs of node {i}")
        for k, (n, (shape, dtype)) in enumerate(zip(node.next, metas)):
            if type(n) is Tensor:
                if shape != n.data.shape or dtype is not None and dtype != n.data.dtype:
                    raise _fail(f"node {i} input {k} is {shape} {dtype}, but its leaf is {n.data.shape} "
                                f"{n.data.dtype}")
            elif n is not None:
                agree(index[id(n)], shape, dtype, f"node {i} input {k}")
    for k, (t, grad_fn) in enumerate(zip(tensors, grad_fns)):
        if grad_fn is not None:
            agree(grad_fn, t.data.shape, t.data.dtype, f"tensor {k}")
