"""docs/language.md: every ``kdeps-expr`` command of its ``console`` examples prints exactly
what the page shows (standard output, then standard error)."""

from __future__ import annotations

import contextlib
import re
import shlex
from pathlib import Path

import pytest

from kdeps_expr.cli import main

PAGE = Path(__file__).resolve().parent.parent / "docs" / "language.md"


def _transcripts() -> list[tuple[str, str]]:
    """``(command line, expected output)`` for each ``$ kdeps-expr`` line of the page."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL):
        command, output = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    found.append((command, "\n".join(output)))
                command, output = line[2:], []
            else:
                output.append(line)
        if command is not None:
            found.append((command, "\n".join(output)))
    return [(command, output) for command, output in found if command.startswith("kdeps-expr ")]


TRANSCRIPTS = _transcripts()


def test_the_page_has_examples() -> None:
    assert len(TRANSCRIPTS) >= 60


@pytest.mark.parametrize(("command", "expected"), TRANSCRIPTS, ids=[c for c, _ in TRANSCRIPTS])
def test_example_prints_what_the_page_shows(
    command: str, expected: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("API_KEY", raising=False)
    with contextlib.suppress(SystemExit):
        main(shlex.split(command)[1:])
    out, err = capsys.readouterr()
    assert (out + err).rstrip("\n") == expected
