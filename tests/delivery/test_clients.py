"""The committed clients are what the generators make of the committed openapi/openapi.json (`make clients`), and
regenerating them keeps the hand-written files beside the generated ones."""

from __future__ import annotations

import difflib
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "openapi" / "generate_clients.py"
# what an editable install or a test run leaves beside the generated files
NOT_GENERATED = ("__pycache__", ".ruff_cache", ".pytest_cache", "build", "dist")

_spec = importlib.util.spec_from_file_location("generate_clients", SCRIPT)
assert _spec and _spec.loader
generate_clients = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate_clients)


def files(tree: Path) -> dict[str, str]:
    return {str(p.relative_to(tree)): p.read_text("utf-8") for p in sorted(tree.rglob("*"))
            if p.is_file() and not any(part in NOT_GENERATED or part.endswith(".egg-info")
                                       for part in p.relative_to(tree).parts)}


def assert_same(committed: dict[str, str], fresh: dict[str, str]) -> None:
    hint = "the committed client is out of date: run `make clients`"
    assert sorted(committed) == sorted(fresh), hint
    for name, text in fresh.items():
        if committed[name] != text:
            diff = "".join(difflib.unified_diff(committed[name].splitlines(True), text.splitlines(True),
                                                f"committed/{name}", f"generated/{name}", n=2))
            pytest.fail(f"{hint}\n{diff[:4000]}")


def test_python_client_matches_the_document(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    generate_clients.generate_python(fresh)
    # the committed tree through the same ruff hooks, so a newer ruff release alone is not drift
    committed = tmp_path / "committed"
    shutil.copytree(generate_clients.PYTHON_OUT, committed,
                    ignore=shutil.ignore_patterns(*NOT_GENERATED, "*.egg-info", *generate_clients.PYTHON_HAND_WRITTEN))
    generate_clients.format_python(committed)
    assert_same(files(committed), files(fresh))


def test_regenerating_keeps_the_hand_written_files_and_drops_stale_generated_ones(tmp_path: Path) -> None:
    package = tmp_path / "gradserve_client"
    shutil.copytree(generate_clients.PYTHON_OUT, package, ignore=shutil.ignore_patterns(*NOT_GENERATED))
    (package / "models" / "dropped_schema.py").write_text("# a model the document no longer has\n")
    generate_clients.main(["--only", "python", "--python-out", str(package)])
    for name in generate_clients.PYTHON_HAND_WRITTEN:
        assert (package / name).read_bytes() == (generate_clients.PYTHON_OUT / name).read_bytes(), name
    assert not (package / "models" / "dropped_schema.py").exists()
    assert (package / "api" / "sessions" / "backward.py").exists()


def test_typescript_schema_matches_the_document(node_modules: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "schema.d.ts"
    generate_clients.generate_typescript(fresh)
    assert_same({"schema.d.ts": generate_clients.TYPESCRIPT_OUT.read_text("utf-8")},
                {"schema.d.ts": fresh.read_text("utf-8")})


def test_generators_read_every_operation() -> None:
    """The rewrites keep every path and operation; they only loosen what the generators cannot read."""
    document = json.loads(generate_clients.DOCUMENT.read_text("utf-8"))
    with generate_clients.readable_document() as readable:
        rewritten = json.loads(readable.read_text("utf-8"))
    assert rewritten["paths"].keys() == document["paths"].keys()
    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    generated = {p.stem for p in (generate_clients.PYTHON_OUT / "api").rglob("*.py")}
    assert operations <= generated, operations - generated
