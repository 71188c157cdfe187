"""The TypeScript client: it typechecks, its tests pass against a live server, and the packed package installs into
another project, where the seed example compiles against the shipped type declarations and runs with node."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from test_examples import EXAMPLES, assert_tutorial

TYPESCRIPT_DIR = Path(__file__).resolve().parents[2] / "openapi" / "clients" / "typescript"


def run(cmd: list[str], cwd: Path, timeout: int = 300, **kwargs: Any) -> str:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_client_typechecks(node_modules: Path) -> None:
    run([str(node_modules / ".bin" / "tsc"), "--noEmit", "-p", "tsconfig.json"], TYPESCRIPT_DIR)


def test_client_tests_pass_against_a_live_server(node_modules: Path, live_server: str) -> None:
    out = run(["node", "--import", "tsx", "--test", "--test-reporter=tap", "test/client.test.ts"], TYPESCRIPT_DIR,
              env={**os.environ, "GRADSERVE_URL": live_server})
    counts = {k: int(v) for k, v in re.findall(r"^# (pass|fail|skipped|cancelled) (\d+)$", out, re.M)}
    # skipped only where this server lacks an endpoint (derivatives, optimizers, snapshots)
    missing = len(re.findall(r"# SKIP this server has no /v1/", out))
    assert counts.get("pass", 0) >= 7 and counts.get("fail") == 0 and counts.get("skipped") == missing, out


def test_packed_package_installs_and_its_example_runs_with_node(node_modules: Path, live_server: str,
                                                               tmp_path: Path) -> None:
    # npm pack builds first (prepack): the tarball holds compiled JavaScript and declarations, no TypeScript sources
    packed = json.loads(run(["npm", "pack", "--json", "--pack-destination", str(tmp_path)], TYPESCRIPT_DIR))
    shipped = {f["path"] for f in packed[0]["files"]}
    assert {"package.json", "README.md", "dist/index.js", "dist/index.d.ts", "dist/schema.d.ts"} <= shipped
    assert not any(p.endswith(".ts") and not p.endswith(".d.ts") for p in shipped), shipped
    tarball = tmp_path / packed[0]["filename"]

    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text(json.dumps({"name": "scratch", "private": True, "type": "module"}))
    run(["npm", "install", "--no-audit", "--no-fund", str(tarball)], project, timeout=600)
    installed = json.loads((project / "node_modules" / "gradserve-client" / "package.json").read_text())
    assert installed["exports"]["."]["import"] == "./dist/index.js"

    # the example as a user would have it, compiled against the installed package's declarations
    (project / "seed_tutorial.ts").write_text((EXAMPLES / "seed_tutorial.ts").read_text())
    (project / "tsconfig.json").write_text(json.dumps({
        "compilerOptions": {"target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "strict": True,
                            "noUncheckedIndexedAccess": True, "outDir": "out",
                            "typeRoots": [str(node_modules / "@types")], "types": ["node"]},
        "files": ["seed_tutorial.ts"]}))
    run([str(node_modules / ".bin" / "tsc"), "-p", "tsconfig.json"], project)
    assert_tutorial(run(["node", "out/seed_tutorial.js", live_server], project))
