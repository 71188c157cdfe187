"""Regenerate the clients under openapi/clients/ from openapi/openapi.json: `make clients`.

Both generators are pinned (pyproject.toml's test extra, the TypeScript package's lockfile) so that the same
document always gives the same files; tests/delivery/test_clients.py regenerates into a temporary directory
and fails when the committed clients have drifted from the document.

The generator owns only the files it writes. Each package also holds hand-written files (the Python layer
with numpy in and out, its packaging and README; the TypeScript layer over schema.ts), which regeneration
keeps as they are: the Python generator writes into a temporary directory, and only its own files are then
replaced in the package (PYTHON_HAND_WRITTEN lists the others).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

OPENAPI_DIR = Path(__file__).resolve().parent
DOCUMENT = OPENAPI_DIR / "openapi.json"
PYTHON_CONFIG = OPENAPI_DIR / "python-client.yaml"
# the package's __init__.py, generated too, exports the hand-written layer beside the generated Client
PYTHON_TEMPLATES = OPENAPI_DIR / "python-templates"
PYTHON_OUT = OPENAPI_DIR / "clients" / "python" / "src" / "gradserve_client"
# files of the Python package that the generator does not write; regeneration leaves them untouched
PYTHON_HAND_WRITTEN = ("py.typed", "tensors.py", "problems.py", "calls.py", "gradserve.py", "aio.py")
TYPESCRIPT_DIR = OPENAPI_DIR / "clients" / "typescript"
TYPESCRIPT_OUT = TYPESCRIPT_DIR / "src" / "schema.ts"


def _venv_env() -> dict[str, str]:
    """The environment with this interpreter's scripts first, so the generator's ruff hooks find ruff."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def loosen_recursive_arrays(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of the document in which arrays that contain themselves (TensorList) accept any items.

    Neither generator reads a self-referencing array: openapi-python-client drops every schema that reaches
    one (and with them the program endpoints), and openapi-typescript writes a type that TypeScript resolves
    to `any`, which openapi-fetch's request typing then rejects. Both clients therefore type nested lists as
    lists of anything; the server validates them either way.
    """
    document = json.loads(json.dumps(document))
    schemas = document.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        ref = f"#/components/schemas/{name}"
        if schema.get("type") == "array" and ref in json.dumps(schema.get("items", {})):
            schema["items"] = {"description": f"an item of {name}: a number, a boolean, a non-finite string or "
                                              "another nested list"}
    return document


def const_as_enum(node: Any) -> Any:
    """`const: v` written as `enum: [v]` (the same constraint), everywhere in the document.

    openapi-python-client checks a const member of a union by raising instead of trying the next member, so an
    `arity` of 2 would fail to parse against `int | "variadic"`; a one-value enum is tried and skipped.
    """
    if isinstance(node, dict):
        node = {k: const_as_enum(v) for k, v in node.items()}
        if "const" in node and "enum" not in node:
            node["enum"] = [node.pop("const")]
        return node
    if isinstance(node, list):
        return [const_as_enum(v) for v in node]
    return node


@contextlib.contextmanager
def readable_document(document: Path = DOCUMENT) -> Iterator[Path]:
    """The document as the generators get it (the two rewrites above), in a temporary file."""
    with tempfile.TemporaryDirectory() as tmp:
        readable = Path(tmp) / "openapi.json"
        loosened = const_as_enum(loosen_recursive_arrays(json.loads(document.read_text("utf-8"))))
        readable.write_text(json.dumps(loosened, indent=2, sort_keys=True) + "\n", "utf-8")
        yield readable


def generate_python(out: Path = PYTHON_OUT, document: Path = DOCUMENT) -> None:
    """The generated package into `out`: its own files replaced, the hand-written ones kept."""
    with readable_document(document) as readable, tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / out.name
        subprocess.run([str(Path(sys.executable).parent / "openapi-python-client"), "generate",
                        "--path", str(readable), "--config", str(PYTHON_CONFIG), "--meta", "none",
                        "--custom-template-path", str(PYTHON_TEMPLATES),
                        "--fail-on-warning", "--output-path", str(fresh)],
                       check=True, env=_venv_env(), stdout=subprocess.DEVNULL)
        shutil.rmtree(fresh / ".ruff_cache", ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        for entry in out.iterdir():
            if entry.name in PYTHON_HAND_WRITTEN:
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        for entry in fresh.iterdir():
            if entry.name in PYTHON_HAND_WRITTEN:
                sys.exit(f"the generator now writes {entry.name}, which is hand-written here; rename one of them")
            shutil.move(str(entry), out / entry.name)


def format_python(tree: Path) -> None:
    """Run the generator's ruff hooks on a tree, so trees formatted by different ruff releases compare equal."""
    for hook in yaml.safe_load(PYTHON_CONFIG.read_text("utf-8"))["post_hooks"]:
        subprocess.run(hook.split(), cwd=tree, check=True, env=_venv_env())


def npm_ci() -> None:
    if not (TYPESCRIPT_DIR / "node_modules" / ".bin" / "openapi-typescript").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=TYPESCRIPT_DIR, check=True)


def generate_typescript(out: Path = TYPESCRIPT_OUT, document: Path = DOCUMENT) -> None:
    npm_ci()
    with readable_document(document) as readable:
        subprocess.run([str(TYPESCRIPT_DIR / "node_modules" / ".bin" / "openapi-typescript"), str(readable),
                        # request fields with a default (create_graph, encoding ...) stay optional for the caller
                        "--default-non-nullable", "false", "--output", str(out)],
                       cwd=TYPESCRIPT_DIR, check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python-out", type=Path, default=PYTHON_OUT)
    parser.add_argument("--typescript-out", type=Path, default=TYPESCRIPT_OUT)
    parser.add_argument("--only", choices=("python", "typescript"))
    args = parser.parse_args(argv)
    if args.only != "typescript":
        if args.python_out.exists() and not (args.python_out / "client.py").exists():
            sys.exit(f"{args.python_out} exists and is not a generated client; not overwriting it")
        generate_python(args.python_out)
    if args.only != "python":
        generate_typescript(args.typescript_out)


if __name__ == "__main__":
    main()
