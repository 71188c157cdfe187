"""Fixtures for the delivery tests: a server started as the image starts it, and the TypeScript toolchain."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
TYPESCRIPT_DIR = ROOT / "openapi" / "clients" / "typescript"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """`gradserve` (the image's ENTRYPOINT) on a free port, configured through GRADSERVE_* only; yields its URL."""
    port = free_port()
    env = {**os.environ, "GRADSERVE_HOST": "127.0.0.1", "GRADSERVE_PORT": str(port), "GRADSERVE_WORKERS": "1"}
    url = f"http://127.0.0.1:{port}"
    # a file, not a pipe: uvicorn logs every request and would block once an unread pipe is full
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "gradserve")], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"gradserve exited with {proc.returncode}:\n{log.read().decode(errors='replace')}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("gradserve did not answer /healthz within 30 s")
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """The TypeScript package's dependencies, installed from its lockfile (`npm ci`) once per run."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed")
    lock = TYPESCRIPT_DIR / "package-lock.json"
    stamp = TYPESCRIPT_DIR / "node_modules" / ".package-lock.json"
    # npm writes node_modules/.package-lock.json on install; newer than the lockfile means up to date
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=TYPESCRIPT_DIR, check=True,
                       capture_output=True, timeout=600)
    return TYPESCRIPT_DIR / "node_modules"
