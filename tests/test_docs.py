"""Every ``console`` transcript of README.md, docs/*.md and the examples' READMEs, run and
compared with the program's real output, so the documentation cannot drift from it.

How a page runs: its ```console blocks run in order, in one ``bash`` started in a fresh
copy of the repository's ``examples/`` folder (so ``examples/workflows/login`` is there and
what the commands write stays out of the tree), with the installed ``kdeps-expr`` first on
``PATH``. State carries from one block of a page to the next, as for a reader following
the page; every page starts afresh.

How a block reads: a line ``$ command`` is typed; lines that follow beginning with ``> ``
continue it (a here-document, as a shell shows it); every other line, up to the next
``$ ``, is the output expected from the command (stdout and stderr together). A command
ending in ``&`` starts in the background; its output must go to a file (``> serve.log
2>&1 &``), and when it has ``--port N`` the next command waits until that port accepts
connections.

What is masked before comparing: session ids (43 URL-safe base64 characters) are matched
pairwise in order of appearance on the page, and an id of the text is replaced in later
commands by the id the program really gave; request ids, timestamps (RFC 3339, log lines,
HTTP ``date``), process ids (``process [1234]``, ``server[1234]: ``, ``(pid 1234)``) and
durations (``(0.2 ms)``) are masked. A server the page
starts must be given ``--port N``; that port is moved to a free one, in the command and
wherever ``localhost:N`` or ``127.0.0.1:N`` appears later (in commands and output), so
pages never collide with each other or with other tests. CRLF line ends (``curl -i``)
read as LF, as a terminal shows them.

A block that cannot run offline, or whose output differs from run to run in ways masking
cannot hide (benchmark numbers), is marked by an HTML comment on the line just before it,
giving the reason: ``<!-- transcript: not run (benchmark numbers vary by machine) -->``.

To write a page's transcripts from the program instead of by hand, run this test with
``KDEPS_UPDATE_TRANSCRIPTS=1``: the output of each command that differs is replaced in the
page by the real one (ids and times as they came; ports as written); read it over before
committing.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "examples").glob("*/*/README.md")]
)
NOT_RUN = re.compile(r"<!-- transcript: not run \((?P<reason>[^)]+)\) -->")
COMMAND_TIMEOUT = 60.0
PORT_WAIT = 20.0

SESSION_ID = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
MASKS = [
    (re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])"), "<request-id>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"), "<timestamp>"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"), "<log-time>"),
    (re.compile(r"(?m)^date: .*$"), "date: <date>"),
    (re.compile(r"process \[\d+\]"), "process [<pid>]"),
    (re.compile(r"(?<=\[)\d+(?=\]: )|(?<=\(pid )\d+(?=\))"), "<pid>"),
    (re.compile(r"\(\d+(?:\.\d+)? ms\)"), "(<duration>)"),
]
SERVER_PORT = re.compile(r"(?<=--port )[1-9]\d{1,4}\b")
URL_PORT = re.compile(r"(?<=localhost:)\d{2,5}\b|(?<=127\.0\.0\.1:)\d{2,5}\b")


@dataclass
class Command:
    text: str
    expected: list[str]
    line: int
    """The 1-based line of ``$ text`` in its page."""
    end: int = 0
    """The line after its continuations and expected output."""


@dataclass
class Block:
    page: Path
    line: int
    commands: list[Command]
    not_run: str | None = None


def blocks(page: Path) -> list[Block]:
    """The ```console blocks of ``page``, each with its commands and expected output."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        if lines[index].strip() != "```console":
            index += 1
            continue
        marker = NOT_RUN.fullmatch(lines[index - 1].strip()) if index else None
        block = Block(page, index + 1, [], marker["reason"] if marker else None)
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            text = lines[index]
            if text.startswith("$ "):
                block.commands.append(Command(text[2:], [], index + 1))
                if len(block.commands) > 1:
                    block.commands[-2].end = index + 1
            elif text.startswith("> ") or text == ">":
                assert block.commands, f"{page.name}:{index + 1}: a continuation with no command"
                block.commands[-1].text += "\n" + text[2:]
            else:
                assert block.commands, f"{page.name}:{index + 1}: output before any command"
                block.commands[-1].expected.append(text)
            index += 1
        if block.commands:
            block.commands[-1].end = index + 1
        found.append(block)
    return found


class Shell:
    """One ``bash`` a page's commands run in, in order; reads their merged output."""

    def __init__(self, cwd: Path) -> None:
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env["COLUMNS"] = "80"
        env.pop("PYTHONPATH", None)
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.chunks: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True).start()
        self.pending = b""

    def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := self.process.stdout.read1(65536):
            self.chunks.put(chunk)
        self.chunks.put(b"")

    def run(self, command: str) -> str:
        """Run ``command``; everything it printed, up to the status line it is followed by."""
        assert self.process.stdin is not None
        marker = f"--{uuid.uuid4().hex}--"
        # The marker keeps the command's exit status for the next one's `$?`.
        script = f"{command}\nkdeps_status=$?; printf '\\n{marker}\\n'; (exit $kdeps_status)\n"
        self.process.stdin.write(script.encode())
        self.process.stdin.flush()
        end = f"\n{marker}\n".encode()
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while end not in self.pending:
            remaining = deadline - time.monotonic()
            try:
                chunk = self.chunks.get(timeout=max(remaining, 0.01))
            except queue.Empty:
                pytest.fail(f"no end of output within {COMMAND_TIMEOUT:.0f}s: {command}")
            if not chunk:
                pytest.fail(f"the shell ended while running: {command}")
            self.pending += chunk
        output, _, self.pending = self.pending.partition(end)
        return output.decode("utf-8", "backslashreplace").replace("\r\n", "\n")

    def close(self) -> None:
        """End the shell and everything it started in the background."""
        with_group = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(with_group, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(with_group, signal.SIGKILL)
            self.process.wait()


@dataclass
class Page:
    """What carries between the commands of one page: the shell, ids and ports."""

    shell: Shell
    ids: dict[str, str] = field(default_factory=dict)
    """Session ids of the text -> the ids the program gave in their place."""
    ports: dict[str, str] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    """Session ids the program printed, latest last."""

    def command(self, text: str) -> str:
        if UPDATE:  # an id the text has not paired yet stands for the latest one printed
            for written in SESSION_ID.findall(text):
                unpaired = [real for real in self.seen if real not in self.ids.values()]
                if written not in self.ids and unpaired:
                    self.ids[written] = unpaired[-1]
        for written, real in self.ids.items():
            text = text.replace(written, real)
        text = SERVER_PORT.sub(lambda found: self.port(found[0]), text)
        return self.ports_moved(text)

    def ports_moved(self, text: str) -> str:
        """The ports of servers the page started, in URLs of ``text``, moved to theirs."""
        return URL_PORT.sub(lambda found: self.ports.get(found[0], found[0]), text)

    def as_written(self, text: str) -> str:
        """``text`` with the ids and the free ports put back to the ones the page writes."""
        for written, real in self.ids.items():
            text = text.replace(real, written)
        for written, real in self.ports.items():
            text = re.sub(rf"(?<=[: ]){real}\b", written, text)
        return text

    def port(self, written: str) -> str:
        if written not in self.ports:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                self.ports[written] = str(sock.getsockname()[1])
        return self.ports[written]

    def compare(self, command: Command, actual: str, where: str) -> bool:
        """Pair the session ids of the text and of ``actual``; assert they read the same
        (with ``KDEPS_UPDATE_TRANSCRIPTS=1``, say whether they do)."""
        expected = self.ports_moved("\n".join(command.expected))
        new_written = [i for i in dict.fromkeys(SESSION_ID.findall(expected)) if i not in self.ids]
        known = set(self.ids.values())
        new_real = [i for i in dict.fromkeys(SESSION_ID.findall(actual)) if i not in known]
        self.ids.update(zip(new_written, new_real, strict=False))
        self.seen.extend(new_real)
        shown = mask(actual.rstrip("\n"), list(self.ids.values()))
        written = mask(expected.rstrip("\n"), list(self.ids))
        if not UPDATE:
            assert shown == written, f"{where}: $ {command.text}"
        return shown == written


def mask(text: str, ids: list[str]) -> str:
    """``text`` with what differs between runs replaced by placeholders; the session ids
    of ``ids`` by their number in it (a written id and the real one share a number)."""
    text = SESSION_ID.sub(
        lambda found: f"<session {ids.index(found[0]) + 1 if found[0] in ids else '?'}>", text
    )
    for pattern, placeholder in MASKS:
        text = pattern.sub(placeholder, text)
    return text


def wait_for_port(port: str) -> None:
    deadline = time.monotonic() + PORT_WAIT
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"nothing listens on port {port} after {PORT_WAIT:.0f}s")


def sandbox(folder: Path) -> Path:
    """A copy of the repository's examples in ``folder``, without stores a local run left."""
    shutil.copytree(
        ROOT / "examples", folder / "examples", ignore=shutil.ignore_patterns(".kdeps", "*.db")
    )
    return folder


def run_page(page: Path, folder: Path) -> None:
    """Run the transcripts of ``page`` in a sandbox in ``folder``; fail at the first that
    differs (or, with ``KDEPS_UPDATE_TRANSCRIPTS=1``, write the real output into it)."""
    runnable = [block for block in blocks(page) if block.not_run is None]
    state = Page(Shell(sandbox(folder)))
    updates: list[tuple[Command, str, str]] = []
    try:
        for block in runnable:
            for command in block.commands:
                text = state.command(command.text)
                actual = state.shell.run(text)
                same = state.compare(command, actual, f"{shown(page)}:{command.line}")
                if not same:
                    updates.append((command, state.as_written(text), state.as_written(actual)))
                found = re.search(r"--port (\d+)", text)
                if text.rstrip().endswith("&") and found:
                    wait_for_port(found[1])
    finally:
        state.shell.close()
    if updates:
        rewrite(page, updates)


PAGE_WORKERS = 3
"""Pages run at once: most of a transcript's time is processes starting up."""


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[Path, BaseException | None]:
    """Every page this session selected, run side by side; what each one raised."""
    selected = [
        item.callspec.params["page"]
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.originalname == "test_transcripts"
    ]
    with ThreadPoolExecutor(PAGE_WORKERS) as pool:
        futures = {
            page: pool.submit(run_page, page, tmp_path_factory.mktemp("transcripts"))
            for page in selected
        }
    return {page: future.exception() for page, future in futures.items()}


def shown(page: Path) -> str:
    return str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else page.name


RUNNABLE = [page for page in PAGES if any(block.not_run is None for block in blocks(page))]
"""The pages with at least one transcript to run (the others have none to check)."""


@pytest.mark.parametrize("page", RUNNABLE, ids=shown)
def test_transcripts(page: Path, outcomes: dict[Path, BaseException | None]) -> None:
    error = outcomes[page]
    if error is not None:
        raise error


UPDATE = os.environ.get("KDEPS_UPDATE_TRANSCRIPTS") == "1"


def rewrite(page: Path, updates: list[tuple[Command, str, str]]) -> None:
    """Put each command's real output (and the ids it really used) into ``page``."""
    lines = page.read_text(encoding="utf-8").splitlines()
    for command, text, output in reversed(updates):
        typed = text.split("\n")
        new = [f"$ {typed[0]}", *(f"> {line}".rstrip() for line in typed[1:])]
        new.extend(output.rstrip("\n").split("\n") if output.strip() else [])
        lines[command.line - 1 : command.end - 1] = new
    page.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_every_page_is_found_and_read() -> None:
    """The pages the test runs, and the marker for blocks it does not, with a reason."""
    names = {str(page.relative_to(ROOT)) for page in PAGES}
    assert {"README.md", "docs/cli.md", "docs/server.md"} <= names
    skipped = [block for page in PAGES for block in blocks(page) if block.not_run is not None]
    assert all(block.not_run for block in skipped)


CART = "kdeps-expr run examples/workflows/cart --action addToCart --body '{\"item\": 1}' --json"
TRANSCRIPT = f"""\
Some text.

```console
$ kdeps-expr eval "1 + 1"
2
$ {CART}
{{"status": 200, "headers": {{"Content-Type": "application/json", "X-Session-ID": "{"A" * 43}"}}, \
"body": {{"success": true, "data": {{"cart": [1], "count": 1}}, "meta": {{"requestId": \
"{"0" * 32}", "timestamp": "2001-01-01T00:00:00Z"}}}}, "sessionId": "{"A" * 43}"}}
$ {CART.replace("--json", "--session-id " + "A" * 43 + " --json")}
{{"status": 200, "headers": {{"Content-Type": "application/json", "X-Session-ID": "{"A" * 43}"}}, \
"body": {{"success": true, "data": {{"cart": [1, 1], "count": 2}}, "meta": {{"requestId": \
"{"0" * 32}", "timestamp": "2001-01-01T00:00:00Z"}}}}, "sessionId": "{"A" * 43}"}}
$ cat > note.txt <<'EOF'
> two
> lines
> EOF
$ cat note.txt
two
lines
```

<!-- transcript: not run (it would fail) -->
```console
$ false
something
```
""".replace("\\\n", "")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (None, None),
        (("\n2\n", "\n3\n"), "page.md:4: $ kdeps-expr eval"),
        (('"count": 2', '"count": 3'), "page.md:8: $ kdeps-expr run"),
        (("\nlines\n```", "\nline\n```"), "page.md:14: $ cat note.txt"),
    ],
    ids=["as-run", "wrong-value", "wrong-session-state", "wrong-here-document"],
)
def test_a_transcript_that_differs_from_the_program_fails(
    tmp_path: Path, change: tuple[str, str] | None, message: str | None
) -> None:
    """The runner itself: ids and times are masked (the written id stands for the real one
    in later commands), a here-document is typed, a marked block is not run, and any other
    difference fails at its command's line."""
    text = TRANSCRIPT if change is None else TRANSCRIPT.replace(*change, 1)
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    folder = tmp_path / "run"
    folder.mkdir()
    if message is None:
        run_page(page, folder)
        return
    with pytest.raises(AssertionError) as caught:
        run_page(page, folder)
    assert str(caught.value).startswith(message)
