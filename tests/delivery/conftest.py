"""Fixtures for the delivery tests: a server started as the image starts it, and the TypeScript toolchain."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TYPESCRIPT_DIR = ROOT / "openapi" / "clients" / "typescript"


@pytest.fixture(scope="session")
def live_server(live_server_process) -> Iterator[str]:
    """`gradserve` (the image's ENTRYPOINT) on a free port, configured through GRADSERVE_* only; yields its URL."""

    def command(port: int) -> tuple[list[str], dict[str, str]]:
        return ([str(Path(sys.executable).parent / "gradserve")],
                {**os.environ, "GRADSERVE_HOST": "127.0.0.1", "GRADSERVE_PORT": str(port), "GRADSERVE_WORKERS": "1"})

    with tempfile.TemporaryFile() as log, live_server_process(command, log) as url:
        yield url


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
