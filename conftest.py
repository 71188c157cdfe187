"""Shared by every test folder (kept at the top so that tests/ never lands on sys.path and shadows the
packages): a real server process on a free loopback port."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

ROOT = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _live_server(command: Callable[[int], tuple[list[str], dict[str, str]]], log: BinaryIO) -> Iterator[str]:
    """Start `command(port)` (argv and environment), wait for /healthz, yield the base URL, always stop it.

    The log is a file, not a pipe: the server logs every request and would block once an unread pipe is full.
    """
    port = free_port()
    argv, env = command(port)
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"{argv[0]} exited with {proc.returncode}:\n{log.read().decode(errors='replace')}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{argv[0]} did not answer /healthz within 30 s")
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
def live_server_process():
    """`with live_server_process(command, log) as url:` — see _live_server."""
    return _live_server
