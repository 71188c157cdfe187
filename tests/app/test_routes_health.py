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
