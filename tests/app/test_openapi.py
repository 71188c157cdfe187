"""The committed openapi/openapi.json is the app's schema, and the schema reads well."""

from __future__ import annotations

import json
from pathlib import Path

from app.export_openapi import openapi_text
from app.main import create_app
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

OPERATIONS = {"evaluate", "list_ops", "create_session", "get_session", "delete_session", "run_program", "backward",
              "grad", "jacobian", "jvp", "hvp", "hessian", "zero_grad", "get_variable", "get_graph", "healthz",
              "readyz", "get_snapshot", "restore_session", "create_optimizer", "get_optimizer", "optimizer_step",
              "optimizer_zero_grad"}


def schema() -> dict:
    return create_app(Settings()).openapi()


def test_committed_schema_matches_the_app():
    committed = (ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8")
    assert committed == openapi_text(), "openapi/openapi.json is stale: run `make openapi`"


def test_operation_ids_and_names():
    s = schema()
    ops = {o["operationId"] for p in s["paths"].values() for o in p.values()}
    assert ops == OPERATIONS
    names = set(s["components"]["schemas"])
    assert {"Program", "OpCall", "BackwardCall", "GradRequest", "Variable", "VariablesResponse", "Session",
            "Problem", "Tensor", "Input"} <= names
    assert "/metrics" not in s["paths"]


def test_errors_are_published_as_problem_json():
    for path, operations in schema()["paths"].items():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert list(response["content"]) == ["application/problem+json"], (path, status)
                    assert response["content"]["application/problem+json"]["schema"] == {
                        "$ref": "#/components/schemas/Problem"}


def test_tensor_forms_are_described():
    tensor = schema()["components"]["schemas"]["Tensor"]
    forms = json.dumps(tensor["oneOf"])
    for ref in ("TensorList", "TensorData", "TensorBase64"):
        assert ref in forms


def test_examples_teach_the_seed_tutorial():
    s = schema()
    examples = s["paths"]["/v1/evaluate"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert examples["seed"]["value"]["ops"][-1] == {"name": "out", "expr": "mean(z)"}
    backward = s["paths"]["/v1/sessions/{session_id}/backward"]["post"]["requestBody"]["content"]
    assert backward["application/json"]["examples"]["random"]["value"]["gradient"] == [[1.0932, 1.9507],
                                                                                       [-1.0305, -0.7468]]
