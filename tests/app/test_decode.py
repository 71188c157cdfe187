"""Request models to the engine's program structure: the same program as Program.from_dict builds."""

from __future__ import annotations

import numpy as np
import pytest

from app import schemas
from app.examples import SEED_PROGRAM
from app.routes.decode import decode_derivative, decode_program
from engine.errors import OpError
from engine.structure import Program, Ref

LIMIT = 10_000


def test_a_request_decodes_to_what_from_dict_builds():
    document = {**SEED_PROGRAM, "ops": [*SEED_PROGRAM["ops"], {"name": "w", "op": "where", "args": [
        {"data": [[True, False], [True, True]]}, "out", [[1, 2], [3, 4]]]}]}
    decoded = decode_program(schemas.Program.model_validate(document), LIMIT)
    built = Program.from_dict(document)
    assert decoded.ops[:4] == built.ops[:4] and decoded.backward == built.backward
    assert decoded.returns == built.returns == ("x", "out")
    (a,), (b,) = decoded.inputs, built.inputs
    assert (a.name, a.requires_grad, a.data.dtype) == (b.name, b.requires_grad, b.data.dtype)
    np.testing.assert_array_equal(a.data, b.data)
    mask, ref, const = decoded.ops[4].args
    assert ref == Ref("out") and mask.dtype == np.bool_ and mask.shape == (2, 2) and const.dtype == np.float32


def test_the_request_path_checks_the_engine_rules():
    body = {"ops": [{"name": "y", "expr": "x + 1", "args": ["x"]}]}
    with pytest.raises(OpError) as info:
        decode_program(schemas.Program.model_validate(body), LIMIT)
    assert info.value.pointer == "/ops/0" and "inside the formula" in info.value.detail


def test_grad_outputs_follow_the_form_of_outputs():
    one = decode_derivative(schemas.GradRequest.model_validate(
        {"outputs": "y", "inputs": "x", "grad_outputs": [1, 2]}), "", LIMIT, "grad")
    assert len(one.vectors) == 1 and one.vectors[0].tolist() == [1.0, 2.0]
    many = decode_derivative(schemas.GradRequest.model_validate(
        {"outputs": ["y", "z"], "inputs": ["x"], "grad_outputs": [[1, 2], None], "bind": "g"}), "", LIMIT, "grad")
    assert many.vectors[1] is None and many.bind == ("g",) and many.outputs == ("y", "z")
    named = decode_derivative(schemas.GradRequest.model_validate(
        {"outputs": ["y"], "inputs": ["x"], "grad_outputs": ["w"]}), "", LIMIT, "grad")
    assert named.vectors == (Ref("w"),)  # a string names a variable
