"""The `gradserve` command: serve app.main:app with uvicorn, configured by GRADSERVE_* settings or flags;
`gradserve keys new NAME` makes an API key."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version

from pydantic import ValidationError

from .access import check_name, hash_key, load_keys, new_key
from .logs import logging_config
from .metrics import MULTIPROCESS_ENV
from .settings import Settings, env_var


def _version() -> str:
    try:
        return version("gradserve")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradserve",
        description="Serve gradserve, automatic differentiation as a service. Every setting comes from its "
                    "environment variable; a flag overrides it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gradserve {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="{keys}")
    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(dest="keys_command", required=True)
    new = keys.add_parser("new", help="print a fresh API key once, and the line that lets the server accept it")
    new.add_argument("name", help="the key's name, which owns its sessions and appears in the log")
    for name, field in Settings.model_fields.items():
        flag = "--" + name.lower().replace("_", "-")
        parser.add_argument(flag, dest=name, metavar=name, default=None,
                            help=f"{field.description} (env {env_var(name)}, default {field.default})")
    return parser


def _keys_new(name: str) -> None:
    try:
        check_name(name)
    except ValueError as e:
        sys.exit(f"gradserve: {e}")
    key = new_key()
    # stdout is the key, then its line, for scripts; the explanation goes to stderr
    print(key)
    print(f"{name}:{hash_key(key)}")
    print(f"The first line is the key: give it to the client now, it is not kept anywhere. Add the second line to "
          f"{env_var('API_KEYS')} (comma-separated) or {env_var('API_KEYS_FILE')} (one a line).", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "keys":
        _keys_new(args.name)
        return
    # flags travel as environment variables so that every worker process reads the same settings
    for name, value in vars(args).items():
        if name in Settings.model_fields and value is not None:
            os.environ[env_var(name)] = value
    try:
        settings = Settings()
    except ValidationError as e:
        problems = "; ".join(f"{env_var(str(err['loc'][0]))}: {err.get('ctx', {}).get('error') or err['msg']}"
                             for err in e.errors())
        sys.exit(f"gradserve: invalid settings: {problems}")
    try:
        load_keys(settings)
    except ValueError as e:
        sys.exit(f"gradserve: invalid API keys: {e}")
    if settings.WORKERS > 1 and settings.SESSION_STORE == "memory":
        # each worker would hold its own sessions, and most session calls would land on one that lacks them
        print(f"gradserve: {env_var('WORKERS')}={settings.WORKERS} needs sessions that every worker shares: set "
              f"{env_var('SESSION_STORE')}=redis (and {env_var('REDIS_URL')}), or run one worker",
              file=sys.stderr)
        sys.exit(2)

    from .server import serve

    counts = None
    if settings.WORKERS > 1 and not os.environ.get(MULTIPROCESS_ENV):
        # one folder of counts shared by the workers, so that /metrics tells of the whole server whoever answers
        counts = os.environ[MULTIPROCESS_ENV] = tempfile.mkdtemp(prefix="gradserve-metrics-")
    try:
        serve(settings, log_config=logging_config(settings), access_log=False)
    finally:
        if counts is not None:
            shutil.rmtree(counts, ignore_errors=True)


if __name__ == "__main__":
    main()
