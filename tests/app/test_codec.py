"""Tensors on the wire: every request form decodes, every response is strict JSON, both ways."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.codec import decode_tensor, encode_array, json_bytes
from app.routes.decode import decode_input
from engine.errors import DTypeError, EngineError, LimitError, TensorError

LIMIT = 1000


def decode(value, limit=LIMIT):
    return decode_tensor(value, "/inputs/x", "x", limit)[0]


def b64(values, dtype) -> str:
    return base64.b64encode(np.asarray(values, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()).decode()


# ---------------------------------------------------------------------------- request forms

@pytest.mark.parametrize("value, shape, dtype", [
    (2, (), "float32"),
    (2.5, (), "float32"),
    (True, (), "bool"),
    ([[1, 1], [1, 1]], (2, 2), "float32"),
    ([True, False], (2,), "bool"),
    ([], (0,), "float32"),
    ({"data": [[1, 2]], "dtype": "float64"}, (1, 2), "float64"),
    ({"data": [0, 2], "dtype": "int64"}, (2,), "int64"),
    ({"data": [1, 0, True], "dtype": "bool"}, (3,), "bool"),
    ({"data": 3}, (), "float32"),
    ({"data": [1, 2, 3, 4], "shape": [2, 2]}, (2, 2), "float32"),
    ({"b64": b64([1, 2, 3], "float32"), "dtype": "float32", "shape": [3]}, (3,), "float32"),
    ({"b64": b64([[1, 2]], "int64"), "dtype": "int64", "shape": [1, 2]}, (1, 2), "int64"),
    ({"b64": b64([1.5], "float64"), "dtype": "float64", "shape": []}, (), "float64"),
    ({"b64": "", "shape": [0, 3]}, (0, 3), "float32"),
])
def test_every_form_decodes_with_the_wire_dtype_rules(value, shape, dtype):
    arr = decode(value)
    assert arr.shape == shape
    assert arr.dtype == np.dtype(dtype)
    assert arr.flags.writeable


def test_base64_and_lists_give_the_same_values():
    values = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    from_b64 = decode({"b64": b64(values, "float32"), "dtype": "float32", "shape": [3, 4]})
    from_list = decode(values.tolist())
    np.testing.assert_array_equal(from_b64, values)
    np.testing.assert_array_equal(from_list, values)


def test_unpadded_base64_is_accepted():
    text = b64([1, 2], "float32").rstrip("=")
    np.testing.assert_array_equal(decode({"b64": text, "shape": [2]}), [1, 2])


def test_non_finite_strings_decode_in_lists_and_alone():
    arr = decode([[1, "NaN"], ["Infinity", "-Infinity"]])
    assert arr.dtype == np.float32
    assert arr[0, 0] == 1 and math.isnan(arr[0, 1]) and arr[1, 0] == math.inf and arr[1, 1] == -math.inf
    assert math.isnan(decode("NaN"))
    assert decode({"data": "-Infinity", "dtype": "float64"}) == -math.inf


def test_input_objects_carry_requires_grad():
    leaf = decode_input("x", {"data": [1.0], "requires_grad": True}, LIMIT)
    assert leaf.requires_grad is True and leaf.data.dtype == np.float32
    assert decode_input("x", [1.0], LIMIT).requires_grad is False


# ---------------------------------------------------------------------------- request errors

@pytest.mark.parametrize("value, error, pointer, words", [
    ([[1, 2], [3]], TensorError, "/inputs/x/1", "ragged"),
    ([[1, 2], 3], TensorError, "/inputs/x/1", "ragged"),
    ([[1, [2]], [3, 4]], TensorError, "/inputs/x/0/1", "ragged"),
    ([1, "two"], TensorError, "/inputs/x/1", "'two'"),
    ([1, None], TensorError, "/inputs/x/1", "null"),
    ([1, {"a": 1}], TensorError, "/inputs/x/1", "object"),
    ({"data": [[1], [2, 3]]}, TensorError, "/inputs/x/data/1", "ragged"),
    ({"data": [1], "dtype": "float16"}, DTypeError, "/inputs/x/dtype", "float16"),
    ({"data": [1.5], "dtype": "int64"}, DTypeError, "/inputs/x/data", "non-integers"),
    ({"data": [2], "dtype": "bool"}, DTypeError, "/inputs/x/data", "bool"),
    ({"data": ["NaN"], "dtype": "int64"}, DTypeError, "/inputs/x/data", "non-integers"),
    ({"b64": b64([1, 2], "float32"), "shape": [3]}, TensorError, "/inputs/x/b64", "needs 12"),
    ({"b64": b64([1, 2], "float32"), "dtype": "float64", "shape": [2]}, TensorError, "/inputs/x/b64", "needs 16"),
    ({"b64": "!!!!!!!!", "shape": [6], "dtype": "bool"}, TensorError, "/inputs/x/b64", "not valid base64"),
    ({"b64": b64([1], "float32")}, TensorError, "/inputs/x", "needs a 'shape'"),
    ({"b64": 5, "shape": [1]}, TensorError, "/inputs/x/b64", "base64 string"),
    ({"b64": "", "shape": [-1]}, TensorError, "/inputs/x/shape", "shape"),
    ({"data": [1], "b64": ""}, TensorError, "/inputs/x", "both"),
    ({"dtype": "float32"}, TensorError, "/inputs/x", "needs 'data' or 'b64'"),
    ({"data": [1], "requires_grad": True}, TensorError, "/inputs/x/requires_grad", "unknown key"),
    ({"data": [1, 2, 3], "shape": [2, 2]}, TensorError, "/inputs/x/shape", "do not fill"),
    ("hello", TensorError, "/inputs/x", "string"),
    (None, TensorError, "/inputs/x", "null"),
])
def test_bad_tensors_are_refused_naming_the_input_and_the_item(value, error, pointer, words):
    with pytest.raises(error) as info:
        decode(value)
    assert info.value.pointer == pointer
    assert info.value.name == "x"
    assert words in info.value.detail


def test_requires_grad_must_be_a_boolean():
    with pytest.raises(TensorError) as info:
        decode_input("x", {"data": [1.0], "requires_grad": "yes"}, LIMIT)
    assert info.value.pointer == "/inputs/x/requires_grad"


@pytest.mark.parametrize("value", [
    [0.0] * (LIMIT + 1),
    [[0.0] * 40] * 30,
    {"b64": "AAAA", "shape": [10, 10, 11]},  # refused from the shape, before the base64 is read
    {"data": [], "shape": [10**9, 10**9]},
])
def test_element_counts_are_checked_before_allocating(value):
    with pytest.raises(LimitError) as info:
        decode(value)
    assert info.value.kind == "limit-exceeded" and "limit of 1000" in info.value.detail


def test_deep_nesting_is_refused():
    value: list = [1.0]
    for _ in range(40):
        value = [value]
    with pytest.raises(EngineError):
        decode(value)


# ---------------------------------------------------------------------------- responses

def test_json_encoding_is_strict_and_keeps_non_finite_values():
    a = np.array([[1.5, np.nan], [np.inf, -np.inf]], dtype=np.float32)
    text = json_bytes(a)
    assert text == b'[[1.5,"NaN"],["Infinity","-Infinity"]]'
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict token {c}"))


@pytest.mark.parametrize("a, text", [
    (np.array(27.0, dtype=np.float32), b"27.0"),
    (np.array(np.nan), b'"NaN"'),
    (np.array(True), b"true"),
    (np.array([0.1], dtype=np.float32), b"[0.1]"),
    (np.array([[1, 2]], dtype=np.int64), b"[[1,2]]"),
    (np.zeros((0, 3), np.float32), b"[]"),
    (np.arange(6, dtype=np.float64).reshape(2, 3).T, b"[[0.0,3.0],[1.0,4.0],[2.0,5.0]]"),
])
def test_json_encoding_forms(a, text):
    assert json_bytes(a) == text


def test_base64_encoding_is_little_endian_c_order():
    a = np.arange(6, dtype=np.float32).reshape(2, 3).T
    out = encode_array(a, "base64")
    raw = base64.b64decode(out["b64"])
    np.testing.assert_array_equal(np.frombuffer(raw, "<f4").reshape(3, 2), a)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(st.sampled_from([np.float32, np.float64]), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                  elements=st.floats(allow_nan=True, allow_infinity=True, width=32)))
def test_json_round_trip_is_exact_for_every_float(a):
    dtype = a.dtype.name
    wire = orjson.loads(orjson.dumps({"data": encode_array(a, "json"), "dtype": dtype}))
    back = decode(wire, limit=10**6)
    np.testing.assert_array_equal(back, a)
    assert back.dtype == a.dtype and back.shape == a.shape


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(st.sampled_from([np.float32, np.float64, np.int64, np.bool_]),
                  hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)))
def test_base64_round_trip_is_exact(a):
    wire = {**encode_array(a, "base64"), "dtype": a.dtype.name, "shape": list(a.shape)}
    back = decode(wire, limit=10**6)
    np.testing.assert_array_equal(back, a)
    assert back.dtype == a.dtype
