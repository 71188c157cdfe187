"""Settings from GRADSERVE_* variables, and the `gradserve` command that reads them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from app.settings import Settings


def test_defaults_match_the_spec(monkeypatch):
    for name in Settings.model_fields:
        monkeypatch.delenv(f"GRADSERVE_{name}", raising=False)
    s = Settings()
    assert (s.HOST, s.PORT, s.WORKERS) == ("127.0.0.1", 8000, 1)
    assert s.MAX_BODY_BYTES == 64 * 2**20 and s.MAX_TENSOR_ELEMENTS == 16_777_216 and s.MAX_OPS == 10_000
    assert s.MAX_SESSION_BYTES == 256 * 2**20 and s.MAX_SESSIONS == 1000 and s.SESSION_TTL_SECONDS == 1800
    assert s.SESSION_STORE == "memory"


def test_environment_variables_set_each_setting(monkeypatch):
    monkeypatch.setenv("GRADSERVE_PORT", "9001")
    monkeypatch.setenv("GRADSERVE_MAX_OPS", "7")
    s = Settings()
    assert s.PORT == 9001 and s.MAX_OPS == 7


def test_an_unknown_session_store_names_the_supported_ones(monkeypatch):
    monkeypatch.setenv("GRADSERVE_SESSION_STORE", "memcached")
    with pytest.raises(ValidationError, match="supported: memory, redis"):
        Settings()


def test_help_lists_every_setting_with_env_var_and_default():
    out = subprocess.run([sys.executable, "-m", "app.cli", "--help"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(out.split())
    for name, field in Settings.model_fields.items():
        assert f"env GRADSERVE_{name}, default {field.default}" in flat, name


def test_bad_settings_stop_the_command_with_a_clear_message():
    r = subprocess.run([sys.executable, "-m", "app.cli", "--session-store", "memcached"], capture_output=True,
                       text=True)
    assert r.returncode != 0
    assert "GRADSERVE_SESSION_STORE" in r.stderr and "supported: memory, redis" in r.stderr


def test_several_workers_with_the_memory_store_refuse_to_start():
    r = subprocess.run([sys.executable, "-m", "app.cli", "--workers", "2"], capture_output=True, text=True,
                       env={**os.environ, "GRADSERVE_SESSION_STORE": "memory"}, timeout=60)
    assert r.returncode == 2
    assert "GRADSERVE_SESSION_STORE=redis" in r.stderr
