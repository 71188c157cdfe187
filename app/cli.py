"""The `gradserve` command: serve app.main:app with uvicorn, configured by GRADSERVE_* settings or flags."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from pydantic import ValidationError

from .settings import Settings, env_var


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradserve",
        description="Serve gradserve, automatic differentiation as a service. Every setting comes from its "
                    "environment variable; a flag overrides it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for name, field in Settings.model_fields.items():
        flag = "--" + name.lower().replace("_", "-")
        parser.add_argument(flag, dest=name, metavar=name, default=None,
                            help=f"{field.description} (env {env_var(name)}, default {field.default})")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    # flags travel as environment variables so that every worker process reads the same settings
    for name, value in vars(args).items():
        if value is not None:
            os.environ[env_var(name)] = value
    try:
        settings = Settings()
    except ValidationError as e:
        problems = "; ".join(f"{env_var(str(err['loc'][0]))}: {err.get('ctx', {}).get('error') or err['msg']}"
                             for err in e.errors())
        sys.exit(f"gradserve: invalid settings: {problems}")
    if settings.WORKERS > 1 and settings.SESSION_STORE == "memory":
        logging.getLogger("gradserve").warning(
            "WORKERS=%d with the memory session store: each worker holds its own sessions, so a session is "
            "only found by the worker that made it", settings.WORKERS)

    import uvicorn

    uvicorn.run("app.main:app", host=settings.HOST, port=settings.PORT, workers=settings.WORKERS)


if __name__ == "__main__":
    main()
