"""The TypeScript client: it typechecks against the generated schema and runs the seed tutorial on a live server."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

TYPESCRIPT_DIR = Path(__file__).resolve().parents[2] / "openapi" / "clients" / "typescript"


def test_client_typechecks(node_modules: Path) -> None:
    r = subprocess.run([str(node_modules / ".bin" / "tsc"), "--noEmit", "-p", "tsconfig.json"], cwd=TYPESCRIPT_DIR,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_seed_tutorial_with_typed_errors(node_modules: Path, live_server: str) -> None:
    r = subprocess.run(["node", "--import", "tsx", "--test", "--test-reporter=tap", "test/seed.test.ts"],
                       cwd=TYPESCRIPT_DIR, env={**os.environ, "GRADSERVE_URL": live_server},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    counts = {k: int(v) for k, v in re.findall(r"^# (pass|fail|skipped|cancelled) (\d+)$", r.stdout, re.M)}
    assert counts.get("pass", 0) >= 5 and counts.get("fail") == 0 and counts.get("skipped") == 0, r.stdout
