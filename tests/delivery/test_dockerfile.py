"""What the image promises, read off the Dockerfile and compose.yaml (no Docker engine is needed to run these).

The build itself is checked as far as it can be without an engine: the files the Dockerfile copies (after
.dockerignore) build the same project wheel that `pip install .` installs, and the HEALTHCHECK command
answers against a live server.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PORT = Settings.model_fields["PORT"].default


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for k, args in self.instructions if k == keyword]

    def one(self, keyword: str) -> str:
        found = self.all(keyword)
        assert len(found) == 1, f"expected one {keyword} in the stage FROM {self.base}, found {found}"
        return found[0]

    def index(self, keyword: str) -> int:
        return [k for k, _ in self.instructions].index(keyword)


def parse_dockerfile(text: str) -> list[Stage]:
    """Instructions per stage, continuation lines joined and comments dropped."""
    stages: list[Stage] = []
    logical = re.sub(r"\\\n(?:\s*#[^\n]*\n)*", " ", text)
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), " ".join(args.split())
        if keyword == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", args, re.I)
            assert m, args
            stages.append(Stage(m[1], m[2]))
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append((keyword, args))
    return stages


STAGES = parse_dockerfile((ROOT / "Dockerfile").read_text("utf-8"))
FINAL = STAGES[-1]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text("utf-8"))
SERVICE = COMPOSE["services"]["gradserve"]


def env_of(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in stage.all("ENV"):
        for item in shlex.split(args):
            key, _, value = item.partition("=")
            env[key] = value
    return env


def healthcheck_command() -> list[str]:
    args = FINAL.one("HEALTHCHECK")
    m = re.search(r"\bCMD\s+(\[.*\])\s*$", args)
    assert m, f"HEALTHCHECK should use the exec form: {args}"
    return json.loads(m[1])


def pip_installs(stage: Stage) -> list[list[str]]:
    """The arguments of every `pip install` in a stage's RUN commands."""
    found = []
    for run in stage.all("RUN"):
        for command in re.split(r"&&|;|\|\|", run):
            words = shlex.split(command)
            for i in range(len(words) - 1):
                if words[i].endswith("pip") and words[i + 1] == "install":
                    found.append(words[i + 2:])
    return found


def test_both_stages_are_official_slim_python_311() -> None:
    assert len(STAGES) >= 2, "the image is multi-stage"
    for stage in STAGES:
        assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?(@sha256:[0-9a-f]{64})?", stage.base), stage.base


def test_final_stage_runs_gradserve_as_a_non_root_user() -> None:
    user = FINAL.one("USER").split(":")[0]
    assert user not in ("root", "0")
    assert FINAL.index("USER") < FINAL.index("ENTRYPOINT")
    assert json.loads(FINAL.one("ENTRYPOINT")) == ["gradserve"]
    if not user.isdigit():
        assert any("useradd" in run and user in run for run in FINAL.all("RUN"))


def test_exposed_port_and_settings_match_the_service_defaults() -> None:
    assert FINAL.one("EXPOSE") == str(DEFAULT_PORT)
    env = env_of(FINAL)
    assert env["GRADSERVE_PORT"] == str(DEFAULT_PORT)
    assert env["GRADSERVE_HOST"] == "0.0.0.0"
    assert "/opt/venv/bin" in env["PATH"].split(":")[0]


def test_healthcheck_probes_healthz_with_python_alone() -> None:
    command = healthcheck_command()
    assert command[0] == "python" and "urllib" in " ".join(command) and "/healthz" in " ".join(command)
    assert not any("curl" in run or "wget" in run for run in FINAL.all("RUN"))


def test_healthcheck_command_passes_on_a_live_server_and_fails_without_one(live_server: str) -> None:
    command = [sys.executable if w == "python" else w for w in healthcheck_command()]
    port = live_server.rsplit(":", 1)[1]
    alive = subprocess.run(command, env={**os.environ, "GRADSERVE_PORT": port}, capture_output=True, timeout=30)
    assert alive.returncode == 0, alive.stderr
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = subprocess.run(command, env={**os.environ, "GRADSERVE_PORT": str(s.getsockname()[1])},
                              capture_output=True, timeout=30)
    assert dead.returncode != 0


def test_final_stage_installs_graphviz_lean() -> None:
    runs = " && ".join(FINAL.all("RUN"))
    assert re.search(r"apt-get install -y --no-install-recommends [^&]*\bgraphviz\b", runs), runs
    assert "rm -rf /var/lib/apt/lists/*" in runs


def test_final_stage_copies_the_builders_venv_and_no_test_tools() -> None:
    builder = STAGES[0]
    assert any(c.startswith(f"--from={builder.name} /opt/venv") for c in FINAL.all("COPY"))
    assert pip_installs(FINAL) == [], "the final stage installs nothing with pip; it copies the builder's venv"
    assert not any("tests" in c or "[test]" in c for c in FINAL.all("COPY") + builder.all("COPY"))
    text = (ROOT / "Dockerfile").read_text("utf-8")
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    test_extra = re.search(r"^test = \[(.*?)\]", pyproject, re.S | re.M)
    assert test_extra
    for requirement in re.findall(r'"([A-Za-z0-9_.-]+)', test_extra[1]):
        assert not re.search(rf"\b{re.escape(requirement)}\b", text, re.I), f"{requirement} is a test tool"


def test_builder_installs_the_project_as_a_fresh_clone_does() -> None:
    """`pip install .` without extras: the install path of `make install` (minus -e), from pyproject.toml."""
    installs = pip_installs(STAGES[0])
    assert [[w for w in words if not w.startswith("-")] for words in installs] == [["."]], installs
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert re.search(r"^\$\(STAMP\):.*\n\t\$\(BIN\)/pip install [^\n]*-e \.\n", makefile, re.M), \
        "make install no longer installs the project with pip; keep the Dockerfile's install in step with it"
    copied = {w for c in STAGES[0].all("COPY") for w in c.split()[:-1] if not w.startswith("--")}
    assert {"pyproject.toml", "README.md", "engine", "app"} <= copied


def dockerignored(relative: str, patterns: list[str]) -> bool:
    parts = relative.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return any(fnmatch.fnmatch(p, pat) or (pat.startswith("**/") and fnmatch.fnmatch(parts[i], pat[3:]))
               for pat in patterns for i, p in enumerate(prefixes))


def test_build_context_builds_the_project_wheel(tmp_path: Path) -> None:
    """The files the builder copies, filtered by .dockerignore, build a wheel with both packages and the script."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    context = tmp_path / "context"
    for copy in STAGES[0].all("COPY"):
        for source in [w for w in copy.split()[:-1] if not w.startswith("--")]:
            src = ROOT / source
            files = [src] if src.is_file() else [p for p in src.rglob("*") if p.is_file()]
            for f in files:
                relative = str(f.relative_to(ROOT))
                if not dockerignored(relative, patterns):
                    (context / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(f, context / relative)
    assert not list(context.rglob("__pycache__")), ".dockerignore lets bytecode caches into the image"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                        "--wheel-dir", str(tmp_path / "wheels"), str(context)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = (tmp_path / "wheels").glob("gradserve-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "engine/__init__.py" in names and "app/main.py" in names and "app/cli.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "gradserve = app.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = (ROOT / ".dockerignore").read_text("utf-8").split()
    for required in (".venv", ".git", "node_modules", "**/node_modules", ".pytest_cache", "**/__pycache__"):
        assert required in patterns


def test_compose_publishes_the_port_and_checks_health() -> None:
    assert SERVICE["build"] in (".", {"context": "."})
    ports = [str(p).rsplit(":", 1)[-1] for p in COMPOSE["services"]["proxy"]["ports"]]
    assert str(DEFAULT_PORT) in ports
    assert str(SERVICE["environment"]["GRADSERVE_PORT"]) == str(DEFAULT_PORT)
    test = SERVICE["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1:] == healthcheck_command(), "compose and the image probe health alike"
    for key in SERVICE["environment"]:
        assert key.removeprefix("GRADSERVE_") in Settings.model_fields, f"{key} is not a setting"


def test_compose_runs_replicas_on_one_redis_behind_a_proxy_that_hashes_the_session_id() -> None:
    env = SERVICE["environment"]
    assert SERVICE["deploy"]["replicas"] > 1
    assert env["GRADSERVE_SESSION_STORE"] == "redis", "replicas share sessions only through redis"
    assert env["GRADSERVE_REDIS_URL"].startswith("redis://redis:")
    assert "/tmp" in SERVICE["tmpfs"], "a read-only container still needs the workers' metrics directory"
    redis_command = COMPOSE["services"]["redis"]["command"]
    assert "--save" in redis_command and "--appendonly" in redis_command
    conf = (ROOT / "deploy" / "nginx.conf").read_text("utf-8")
    assert re.search(r"hash \$session_key consistent;", conf)
    pattern = re.search(r"~\^(\S+)\s+\$sid;", conf).group(1)
    assert re.match(pattern.replace("(?<sid>", "(?P<sid>"), "/v1/sessions/Ab_9-x/backward").group("sid") == "Ab_9-x"
    assert COMPOSE["services"]["proxy"]["volumes"][0].startswith("./deploy/nginx.conf:")
