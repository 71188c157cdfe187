"""The Python client as a user gets it: a wheel holding the layer and py.typed, installs from the wheel and from
the repository path, and code written against it passes `mypy --strict` with the package found as installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "openapi" / "clients" / "python"
BIN = Path(sys.executable).parent
LAYER = ("tensors.py", "problems.py", "calls.py", "gradserve.py", "aio.py", "py.typed")

# code a user would write: sync and async, Optional grads narrowed, derivatives typed as arrays
USER_CODE = '''
import asyncio

import numpy as np
import numpy.typing as npt

from gradserve_client import AsyncGradserve, Gradserve, GradserveError, Result, UnprocessableError


def gradient_of_mean(gs: Gradserve) -> npt.NDArray[np.float64]:
    r: Result = gs.evaluate(inputs={"x": gs.tensor(np.ones((2, 2)), requires_grad=True)},
                            ops=[{"name": "out", "expr": "mean(x * x)"}], backward=[{"output": "out"}])
    grad = r["x"].grad
    assert grad is not None
    return grad.astype(np.float64)


def jacobian(gs: Gradserve) -> tuple[int, ...]:
    with gs.session(inputs={"x": gs.tensor([1.0, 2.0], requires_grad=True)}, ops=[{"name": "y", "expr": "2 * x"}]) as s:
        J = s.jacobian("y", "x")
        return J.shape


async def later(url: str) -> str | None:
    async with AsyncGradserve(url) as gs, gs.session(inputs={"x": gs.tensor(3.0, requires_grad=True)}) as s:
        v = await s["x"]
        try:
            await s.backward("x")
        except UnprocessableError as e:
            return e.type
        except GradserveError:
            return None
        return v.grad_fn


if __name__ == "__main__":
    print(asyncio.run(later("http://127.0.0.1:8000")))
'''


def mypy_strict(*files: Path, cwd: Path) -> None:
    r = subprocess.run([str(BIN / "mypy"), "--strict", "--no-incremental", *map(str, files)], cwd=cwd,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_user_code_and_the_examples_pass_mypy_strict_with_the_installed_package(tmp_path: Path) -> None:
    """Run from outside the repository, mypy finds gradserve_client only as installed (`pip install -e`)."""
    user = tmp_path / "user.py"
    user.write_text(USER_CODE)
    mypy_strict(user, ROOT / "examples" / "seed_tutorial.py", cwd=tmp_path)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package as committed: setuptools builds in the source tree, which stays clean this way."""
    copy = tmp_path_factory.mktemp("source") / "python"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    return copy


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(source)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("gradserve_client-*.whl")
    return built


def test_the_wheel_holds_the_layer_the_generated_code_and_py_typed(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"gradserve_client/{f}" for f in LAYER} <= names
    assert {"gradserve_client/client.py", "gradserve_client/api/sessions/backward.py"} <= names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: numpy" in metadata and "Requires-Dist: httpx" in metadata
    assert "Gradserve" in metadata  # the README is the package's description


@pytest.mark.parametrize("origin", ["wheel", "repository path"])
def test_installs_with_pip(origin: str, source: Path, wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    what = str(wheel) if origin == "wheel" else str(source)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), what], check=True, capture_output=True, timeout=300)
    code = ("import gradserve_client as g, pathlib; assert pathlib.Path(g.__file__).is_relative_to(pathlib.Path("
            f"{str(target)!r})), g.__file__; print(g.Gradserve.__name__, (pathlib.Path(g.__file__).parent / "
            "'py.typed').exists())")
    r = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {code}"],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.split() == ["Gradserve", "True"], r.stdout + r.stderr
