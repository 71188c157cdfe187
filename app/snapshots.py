"""Session snapshots as safetensors files: every array of the session, and its graph in the metadata.

The file is written and read here, byte by byte, so that a hostile upload is measured before anything is
made of it: the header's length, every tensor's dtype, shape and byte range, and the session's limits are
checked first; the arrays are then copied out of the body and handed to `engine.state` for the graph.
Any safetensors reader opens the file (`safetensors.numpy.load`): tensors are named by blob id, and the
metadata key `gradserve` holds the manifest that says which tensor is which variable, grad or saved buffer.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import orjson

from engine.program import Limits, Namespace
from engine.state import StateError, check_sizes, dump, load

MEDIA_TYPE = "application/octet-stream"
METADATA_KEY = "gradserve"
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors library's own bound

# safetensors dtype codes <-> numpy
CODES = {"bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "uint16": "U16", "float16": "F16",
         "float32": "F32", "float64": "F64", "int32": "I32", "uint32": "U32", "int64": "I64", "uint64": "U64"}
DTYPE_OF_CODE = {code: np.dtype(name) for name, code in CODES.items()}


def invalid(detail: str) -> StateError:
    return StateError(f"not a gradserve snapshot: {detail}"[:500])


def write(namespace: Namespace) -> bytes:
    """The namespace as one safetensors file."""
    state = dump(namespace)
    header: dict[str, object] = {"__metadata__": {METADATA_KEY: orjson.dumps(state.manifest).decode()}}
    offset = 0
    for bid, root in state.blobs.items():
        header[bid] = {"dtype": CODES[root.dtype.name], "shape": list(root.shape),
                       "data_offsets": [offset, offset + root.nbytes]}
        offset += root.nbytes
    text = orjson.dumps(header)
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors writers do
    parts = [struct.pack("<Q", len(text)), text]
    parts += [root.astype(root.dtype.newbyteorder("<"), copy=False).tobytes() for root in state.blobs.values()]
    return b"".join(parts)


def read(body: bytes, limits: Limits) -> Namespace:
    """A namespace from a safetensors file `write` made; StateError (422) or LimitError (413) otherwise."""
    if len(body) < 8:
        raise invalid(f"{len(body)} bytes is too short for a safetensors file")
    (n,) = struct.unpack_from("<Q", body)
    if n > MAX_HEADER_BYTES or 8 + n > len(body):
        raise invalid(f"the header claims {n} bytes, the file has {len(body) - 8} after the length")
    try:
        header = orjson.loads(body[8:8 + n])
    except orjson.JSONDecodeError as e:
        raise invalid(f"the header is not JSON ({e})") from None
    if type(header) is not dict:
        raise invalid("the header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if type(metadata) is not dict or type(metadata.get(METADATA_KEY)) is not str:
        raise invalid(f"its metadata has no '{METADATA_KEY}' entry (a safetensors file, but not a session)")
    try:
        manifest = orjson.loads(metadata[METADATA_KEY])
    except orjson.JSONDecodeError as e:
        raise invalid(f"the '{METADATA_KEY}' metadata is not JSON ({e})") from None
    if type(manifest) is not dict:
        raise invalid("the manifest is not a JSON object")
    nodes, tensors = manifest.get("nodes"), manifest.get("tensors")
    # sizes from the manifest alone, against the limits, before anything is copied
    sizes = check_sizes(manifest.get("blobs"), limits, len(nodes) if type(nodes) is list else 0,
                        len(tensors) if type(tensors) is list else 0)

    data_start, data_size = 8 + n, len(body) - 8 - n
    view = memoryview(body)
    blobs: dict[str, memoryview] = {}
    for name, entry in header.items():
        if type(entry) is not dict or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise invalid(f"tensor {name[:40]!r} is not described by dtype, shape and data_offsets")
        dtype = DTYPE_OF_CODE.get(entry["dtype"]) if type(entry["dtype"]) is str else None
        if dtype is None:
            raise invalid(f"tensor {name[:40]!r} has dtype {str(entry['dtype'])[:20]!r}, not one of "
                          f"{', '.join(DTYPE_OF_CODE)}")
        shape, offsets = entry["shape"], entry["data_offsets"]
        if type(shape) is not list or any(type(s) is not int or s < 0 for s in shape) or len(shape) > 64:
            raise invalid(f"tensor {name[:40]!r} has shape {str(shape)[:60]}")
        if type(offsets) is not list or len(offsets) != 2 or any(type(o) is not int for o in offsets):
            raise invalid(f"tensor {name[:40]!r} has data_offsets {str(offsets)[:60]}")
        begin, end = offsets
        if name not in sizes:
            raise invalid(f"tensor {name[:40]!r} is not in the manifest")
        want_dtype, want_shape, nbytes = sizes[name]
        if dtype != want_dtype or tuple(shape) != want_shape:
            raise invalid(f"tensor {name[:40]!r} is {dtype.name} {tuple(shape)} in the header but "
                          f"{want_dtype.name} {want_shape} in the manifest")
        if not 0 <= begin <= end <= data_size or end - begin != math.prod(shape) * dtype.itemsize:
            raise invalid(f"tensor {name[:40]!r} has bytes [{begin}, {end}) of {data_size}; its dtype and shape "
                          f"need {nbytes} (the file may be truncated)")
        blobs[name] = view[data_start + begin:data_start + end]
    missing = set(sizes) - set(blobs)
    if missing:
        raise invalid(f"tensor {sorted(missing)[0][:40]!r} of the manifest is not in the file")
    return load(manifest, blobs, limits)
