"""docs/chat.md's Python examples run, and print what the page shows."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "chat.md"
BLOCK = re.compile(r"^```pycon\n(.*?)^```$", re.S | re.M)


def test_chat_page_examples() -> None:
    blocks = BLOCK.findall(DOC.read_text())
    assert len(blocks) == 2
    parser = doctest.DocTestParser()
    test = parser.get_doctest("\n".join(blocks), {}, "docs/chat.md", str(DOC), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 10
    assert result.failed == 0
