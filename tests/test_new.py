"""``kdeps-expr new``: each template writes a workflow that passes ``check --strict`` and runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kdeps_expr.cli import main
from kdeps_expr.cli.new import TEMPLATES


def kdeps(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in a process of its own, in ``cwd``."""
    command = [sys.executable, "-m", "kdeps_expr.cli", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


class Cli:
    """The command line in this process (``main(argv)``), on paths under ``root``."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.capsys = capsys

    def new(self, name: str, *options: str) -> None:
        assert main(["new", str(self.root / name), *options]) == 0
        self.capsys.readouterr()

    def run(self, name: str, *options: str) -> dict[str, Any]:
        main(["run", str(self.root / name), *options, "--json"])
        out, err = self.capsys.readouterr()
        assert err == ""
        answer: dict[str, Any] = json.loads(out)
        return {"status": answer["status"], "data": answer["body"].get("data"), **answer}


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(tmp_path, capsys)


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_a_new_workflow_passes_check_strict(tmp_path: Path, template: str) -> None:
    done = kdeps(tmp_path, "new", "hello", "--template", template)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"created workflow hello ({template}: {TEMPLATES[template]})"
    assert lines[-1] == "next: kdeps-expr check hello --strict, then kdeps-expr run hello"
    written = sorted(line.strip() for line in lines[1:-1])
    assert written == sorted(
        str(p.relative_to(tmp_path)) for p in (tmp_path / "hello").rglob("*") if p.is_file()
    )
    assert {"hello/README.md", "hello/workflow.yaml"} <= set(written)
    assert all(
        name.startswith("hello/resources/")
        for name in written
        if name.endswith(".yaml") and name != "hello/workflow.yaml"
    )
    readme = (tmp_path / "hello" / "README.md").read_text()
    assert readme.startswith("# hello\n") and "__NAME__" not in readme
    assert "kdeps-expr check hello --strict" in readme
    check = kdeps(tmp_path, "check", "hello", "--strict")
    assert (check.returncode, check.stderr) == (0, "")
    assert check.stdout.endswith(", 0 errors, 0 warnings\n")
    assert "name: hello\n" in (tmp_path / "hello" / "workflow.yaml").read_text()


def test_the_api_template_answers_and_checks_its_input(cli: Cli) -> None:
    cli.new("api")
    ok = cli.run("api", "--query", "name= Ada ")
    assert (ok["status"], ok["data"]) == (200, {"greeting": "Hello, Ada!", "length": 3})
    posted = cli.run("api", "--method", "POST", "--body", '{"name": "Grace"}')
    assert posted["data"] == {"greeting": "Hello, Grace!", "length": 5}
    assert cli.run("api")["data"] == {"greeting": "Hello, world!", "length": 5}
    refused = cli.run("api", "--query", "name=" + "x" * 41)
    assert refused["status"] == 400
    assert refused["body"]["error"]["message"] == "name: must be a name of at most 40 characters"


def test_the_chat_template_runs_offline_on_the_echo_backend(cli: Cli) -> None:
    cli.new("ask", "--template", "chat")
    body = '{"question": "  What is the capital of France? "}'
    answer = cli.run("ask", "--body", body)
    assert (answer["status"], answer["data"]) == (
        200,
        "Answer briefly: What is the capital of France?",
    )
    refused = cli.run("ask", "--body", "{}")
    assert (refused["status"], refused["body"]["error"]["message"]) == (
        400,
        "question: is required",
    )


def test_the_session_template_counts_visits_in_its_sqlite_store(cli: Cli, tmp_path: Path) -> None:
    cli.new("visits", "--template", "session")
    first = cli.run("visits", "--method", "POST")
    session = first["sessionId"]
    assert first["data"]["visits"] == 1 and session
    second = cli.run("visits", "--method", "POST", "--session-id", session)
    assert second["data"]["visits"] == 2
    shown = cli.run("visits", "--session-id", session)
    assert shown["data"]["visits"] == 2
    assert shown["data"]["lastVisit"] == second["data"]["lastVisit"]
    assert (tmp_path / "visits" / ".kdeps" / "sessions.db").is_file()
    forgotten = cli.run("visits", "--method", "DELETE", "--session-id", session)
    assert forgotten["data"] == {"visits": 0, "lastVisit": None}
    assert cli.run("visits")["data"] == {"visits": 0, "lastVisit": None}


def test_new_never_writes_into_an_existing_path(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    (tmp_path / "file").write_text("mine")
    for name in ("taken", "file"):
        done = kdeps(tmp_path, "new", name)
        assert (done.returncode, done.stdout) == (1, "")
        assert done.stderr == f"{name} already exists: new never writes into an existing path\n"
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]
    assert (tmp_path / "file").read_text() == "mine"


@pytest.mark.parametrize("name", ["-x", ".hidden", "a b", "é", "x" * 65])
def test_new_refuses_a_name_that_cannot_name_a_workflow(tmp_path: Path, name: str) -> None:
    done = kdeps(tmp_path, "new", "--", name)
    assert done.returncode == 1
    assert done.stderr == (
        f"{name!r} cannot name a workflow: use letters, digits, '.', '_' and '-', "
        "starting with a letter or digit (at most 64 characters)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_new_writes_into_a_nested_path(tmp_path: Path) -> None:
    done = kdeps(tmp_path, "new", "work/flows/demo", "--template", "session")
    assert done.returncode == 0, done.stderr
    assert "name: demo\n" in (tmp_path / "work/flows/demo/workflow.yaml").read_text()
    unknown = kdeps(tmp_path, "new", "x", "--template", "cron")
    assert unknown.returncode == 2
    assert "argument --template: invalid choice: 'cron'" in unknown.stderr
