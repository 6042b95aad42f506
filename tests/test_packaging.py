"""The project as a newcomer gets it: lint-clean, type-clean, and a wheel that works alone."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("ruff", "check", "."), id="ruff-check"),
        pytest.param(("ruff", "format", "--check", "."), id="ruff-format"),
        pytest.param(("mypy",), id="mypy-strict"),
    ],
)
def test_code_is_clean(command: tuple[str, ...]) -> None:
    result = _run(sys.executable, "-m", *command)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = _run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out)
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("kdeps_expr-*.whl")
    return built


def test_wheel_ships_the_grammar(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "kdeps_expr/grammar/expr.lark" in names
    assert "kdeps_expr/workflow/schema/kdeps.schema.json" in names
    for page in ("index.html", "playground.css", "playground.js"):
        assert f"kdeps_expr/server/playground/static/{page}" in names
    for template in ("api", "chat", "session"):
        assert f"kdeps_expr/cli/scaffolds/{template}/workflow.yaml" in names
        assert f"kdeps_expr/cli/scaffolds/{template}/README.md" in names
    assert not [name for name in names if name.startswith("tests/")]


def test_wheel_evaluates_in_a_fresh_environment(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = _run(python, "-m", "pip", "install", "-q", wheel, cwd=tmp_path)
    assert install.returncode == 0, install.stdout + install.stderr
    probe = (
        "import kdeps_expr, pathlib; "
        "print(pathlib.Path(kdeps_expr.__file__).parent.parent.name); "
        "print(kdeps_expr.Engine().evaluate(\"sum([{'p': 2}, {'p': 3}].p) * 2\"))"
    )
    result = _run(python, "-c", probe, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["site-packages", "10"]
    cli = _run(env_dir / "bin" / "kdeps-expr", "render", "{{ get('n') }}!", "--query", "n=hi")
    assert (cli.returncode, cli.stdout) == (0, "hi!\n")
    shipped = _run(env_dir / "bin" / "kdeps-expr", "schema")
    assert shipped.returncode == 0, shipped.stderr
    assert json.loads(shipped.stdout)["title"] == "KDeps workflow and resource files"
    new = _run(env_dir / "bin" / "kdeps-expr", "new", "made", "--template", "chat", cwd=tmp_path)
    assert new.returncode == 0, new.stderr
    checked = _run(env_dir / "bin" / "kdeps-expr", "check", "made", "--strict", cwd=tmp_path)
    assert (checked.returncode, checked.stdout) == (0, "made: 1 resource, 0 errors, 0 warnings\n")
