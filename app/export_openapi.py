"""Write the app's OpenAPI document: `python -m app.export_openapi openapi/openapi.json`."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def openapi_text() -> str:
    from .main import create_app
    from .settings import Settings

    # default settings, not this machine's environment: the document must not depend on where it is made
    app = create_app(Settings.model_construct())
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.exit("usage: python -m app.export_openapi PATH")
    Path(args[0]).write_text(openapi_text(), encoding="utf-8")


if __name__ == "__main__":
    main()
