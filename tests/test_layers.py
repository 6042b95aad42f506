"""The package's layers (docs/architecture.md): each imports only the layers below it.

The contract lives in pyproject.toml (``[tool.importlinter]``) and is checked by
import-linter, on the real package and on a copy with one import that runs back up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(cwd / "pyproject.toml")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_package_keeps_its_layers() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "import_line", "importer", "imported"),
    [
        (
            "sessions/base.py",
            "from ..language import context as _up",
            "kdeps_expr.sessions.base",
            "kdeps_expr.language.context",
        ),
        (
            "language/values.py",
            "from ..workflow import model as _up",
            "kdeps_expr.language.values",
            "kdeps_expr.workflow.model",
        ),
        (
            "workflow/runner.py",
            "from ..server import app as _up",
            "kdeps_expr.workflow.runner",
            "kdeps_expr.server.app",
        ),
    ],
    ids=["sessions->language", "language->workflow", "workflow->server"],
)
def test_an_import_up_the_layers_breaks_the_contract(
    tmp_path: Path, module: str, import_line: str, importer: str, imported: str
) -> None:
    shutil.copytree(ROOT / "kdeps_expr", tmp_path / "kdeps_expr")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "kdeps_expr" / module
    target.write_text(target.read_text() + f"\n{import_line}  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Contracts: 0 kept, 1 broken." in result.stdout
    assert f"{importer} -> {imported}" in result.stdout
