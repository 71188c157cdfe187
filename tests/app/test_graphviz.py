"""GET /v1/sessions/{id}/graph?format=svg: drawn by Graphviz when `dot` is installed, a clear 406 when it is not."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from app import graphviz

pytestmark = pytest.mark.anyio

SEED = {"inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": True}},
        "ops": [{"name": "y", "expr": "x + 2"}, {"name": "out", "expr": "mean(y * y * 3)"}]}


async def seed_session(client) -> str:
    r = await client.post("/v1/sessions", json=SEED)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def fake_dot(directory: Path, script: str) -> None:
    dot = directory / "dot"
    dot.write_text(f"#!/bin/sh\n{script}\n")
    dot.chmod(dot.stat().st_mode | stat.S_IXUSR)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed (apt-get install graphviz)")
async def test_svg_is_drawn_by_graphviz(client):
    sid = await seed_session(client)
    r = await client.get(f"/v1/sessions/{sid}/graph", params={"format": "svg"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/svg+xml"
    assert "<svg" in r.text and "MeanBackward0" in r.text and "AddBackward0" in r.text


async def test_without_dot_svg_is_a_406_that_points_to_format_dot(client, problem, monkeypatch, tmp_path):
    sid = await seed_session(client)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no `dot` anywhere
    body = problem(await client.get(f"/v1/sessions/{sid}/graph", params={"format": "svg"}), 406, "svg-unavailable")
    assert "format=dot" in body["detail"]
    r = await client.get(f"/v1/sessions/{sid}/graph", params={"format": "dot"})
    assert r.status_code == 200 and r.text.startswith("digraph")


async def test_a_drawing_that_takes_too_long_is_a_413(client, problem, monkeypatch, tmp_path):
    sid = await seed_session(client)
    fake_dot(tmp_path, "exec sleep 5")
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setattr(graphviz, "RENDER_TIMEOUT_SECONDS", 0.2)
    body = problem(await client.get(f"/v1/sessions/{sid}/graph", params={"format": "svg"}), 413, "limit-exceeded")
    assert "format=dot" in body["detail"]


async def test_the_dot_source_reaches_graphviz_on_stdin_without_a_shell(client, monkeypatch, tmp_path):
    sid = await seed_session(client)
    fake_dot(tmp_path, 'test "$1" = -Tsvg || exit 2\necho "<svg>$(cat | head -c 7)</svg>"')
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    r = await client.get(f"/v1/sessions/{sid}/graph", params={"format": "svg"})
    assert r.status_code == 200 and r.text.strip() == "<svg>digraph</svg>"


async def test_an_unknown_format_is_a_422(client, problem):
    sid = await seed_session(client)
    problem(await client.get(f"/v1/sessions/{sid}/graph", params={"format": "png"}), 422, "validation-error")
