"""The op catalog, liveness, readiness and metrics."""

from __future__ import annotations

import pytest

from engine import OPS

pytestmark = pytest.mark.anyio


async def test_ops_catalog_publishes_every_public_op(client):
    r = await client.get("/v1/ops")
    assert r.status_code == 200
    ops = {o["name"]: o for o in r.json()["ops"]}
    assert set(ops) == {name for name, o in OPS.items() if o.public}
    assert {"add", "matmul", "broadcast_to", "cross_entropy", "logsumexp"} <= set(ops)
    assert ops["mul"]["grad_fn"] == "MulBackward0" and ops["mul"]["differentiable"] is True
    axis = next(k for k in ops["sum"]["kwargs"] if k["name"] == "axis")
    assert axis["required"] is False and axis["default"] is None
    assert ops["gt"]["differentiable"] is False


async def test_ops_catalog_gives_aliases_families_and_torch_counterparts(client):
    ops = {o["name"]: o for o in (await client.get("/v1/ops")).json()["ops"]}
    assert ops["clip"]["aliases"] == ["clamp"] and ops["clip"]["torch"] == "torch.clamp"
    assert "cat" in ops["concat"]["aliases"] and ops["arcsin"]["aliases"] == ["asin"]
    assert ops["gelu"]["family"] == "activations" and ops["gelu"]["torch"] == "torch.nn.functional.gelu"
    assert ops["sum"]["family"] == "reductions" and ops["cumsum"]["family"] == "scans and order"
    kwargs = {k["name"]: k["aliases"] for k in ops["sum"]["kwargs"]}
    assert kwargs == {"axis": ["dim"], "keepdims": ["keepdim"]}
    assert all(o["family"] and o["torch"] for o in ops.values())


async def test_programs_take_torch_spellings(client):
    r = await client.post("/v1/evaluate", json={
        "inputs": {"x": {"data": [[1, 2], [3, 4]], "requires_grad": True}},
        "ops": [{"name": "y", "op": "clamp", "args": ["x"], "kwargs": {"min": 2}},
                {"name": "out", "expr": "y.sum(dim=0).mean() + x.T.sum()"}],
        "backward": [{"output": "out"}], "return": ["x", "out"]})
    assert r.status_code == 200, r.text
    assert r.json()["variables"]["x"]["grad"] == [[1.0, 1.5], [1.5, 1.5]]
    r = await client.post("/v1/evaluate", json={"inputs": {"x": [1.0]}, "ops": [{"name": "y", "expr": "x.grad * 2"}]})
    assert r.status_code == 422 and "'x' has no grad" in r.json()["detail"]


async def test_healthz_and_readyz(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok"}


async def test_metrics_count_requests_by_route_template_and_status(client):
    sid = (await client.post("/v1/sessions")).json()["id"]
    await client.get(f"/v1/sessions/{sid}")
    await client.get("/v1/sessions/unknown")
    await client.get("/no/such/path")
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'gradserve_requests_total{method="POST",route="/v1/sessions",status="201"} 1' in text
    assert 'gradserve_requests_total{method="GET",route="/v1/sessions/{session_id}",status="200"} 1' in text
    assert 'gradserve_requests_total{method="GET",route="/v1/sessions/{session_id}",status="404"} 1' in text
    assert 'route="(unmatched)",status="404"' in text
    assert sid not in text
    assert "gradserve_sessions 1" in text
    assert 'gradserve_request_duration_seconds_bucket{le="+Inf",method="POST",route="/v1/sessions"} 1' in text
