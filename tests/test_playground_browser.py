"""The playground in a real browser: headless Chromium (Playwright) drives the page that
``serve --playground`` serves beside a workflow.

Type an expression and see its value; an error draws its caret under the right
character; a ``set()`` shows what changed in the session; the explain table lists the
readings ``check --explain`` prints; the graph tab shows the picture. The page's
Content-Security-Policy stays on (nothing is evaluated from strings here), which also
proves the page loads nothing from elsewhere.

Screenshots go to the test's folder; with ``KDEPS_UPDATE_SCREENSHOTS=1`` they are also
written to ``docs/images/`` (the ones docs/playground.md shows). Without Chromium or
Playwright the test is skipped, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from _server import ROOT, Server, workflow_copy
from test_cors_browser import CHROMIUM, CHROMIUM_ARGS, _browser_or_skip

DOCS_IMAGES = ROOT / "docs" / "images"
UPDATE = os.environ.get("KDEPS_UPDATE_SCREENSHOTS") == "1"


def _explain_lines(workflow: Path) -> list[str]:
    """``check --explain``'s reading lines, as the command line prints them."""
    command = [sys.executable, "-m", "kdeps_expr.cli", "check", str(workflow), "--explain"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    reading = re.compile(r"\S+:\d+:\d+: (template|expression|text): ")
    return [line for line in done.stdout.splitlines() if reading.match(line)]


class Shots:
    """Screenshots of the page, kept beside the test and, when asked, in docs/images."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[str] = []

    def take(self, page: Any, name: str) -> None:
        path = self.folder / f"playground-{name}.png"
        page.screenshot(path=str(path), full_page=False)
        self.taken.append(path.name)
        if UPDATE:
            DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, DOCS_IMAGES / path.name)


def _try(page: Any, source: str, **editors: str) -> None:
    """Put ``source`` (and the given JSON editors) on the page and evaluate it."""
    expect = _expect()
    for name, text in editors.items():
        page.fill(f"#{name}", text)
    page.fill("#source", source)
    done = int(page.get_attribute("body", "data-evaluated") or 0)
    page.click("#evaluate")
    expect(page.locator("body")).not_to_have_attribute("data-evaluated", str(done))
    page.wait_for_selector("body:not(.busy)")


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def test_the_playground_page_in_a_browser(tmp_path: Path) -> None:
    sync_playwright = _browser_or_skip()
    expect = _expect()
    workflow = workflow_copy(tmp_path, "greetings")
    shots = Shots(tmp_path)
    with (
        Server(workflow, tmp_path / "server.log", ["--playground"]) as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            blocked: list[str] = []
            page.on("console", lambda m: blocked.append(m.text) if m.type == "error" else None)
            page.goto(f"{server.url}/_playground")
            expect(page.locator("#workflow-name")).to_have_text("workflow greetings 1.0.0")

            # an expression and its value
            _try(page, "len(get('name')) * 2 + 0.5", query='{"name": "Ada"}', session="{}")
            expect(page.locator("#value")).to_have_text("6.5")
            expect(page.locator("#value-type")).to_have_text("float")
            expect(page.locator("#reading")).to_have_text(
                "In a resource file this string is read as expression."
            )
            shots.take(page, "value")

            # an error: the caret under the right character, the character marked
            _try(page, "'total: ' + 3")
            error = page.locator("#errors .error")
            expect(error).to_have_count(1)
            expect(error.locator(".message")).to_have_text(
                "invalid operation: string + int (convert the number with string(x) to "
                "concatenate) (1:11)"
            )
            expect(error.locator(".source-line")).to_have_text("'total: ' + 3")
            expect(error.locator("mark")).to_have_text("+")
            expect(error.locator(".caret-line")).to_have_text("." * 10 + "^")
            expect(page.locator("#value-type")).to_have_text("error")
            shots.take(page, "error")

            # every error: a broken editor and the expression, each with its caret
            _try(page, "1 +", session='{"cart": ["cup"}')
            messages = page.locator("#errors .error .message")
            expect(messages).to_have_text(
                [
                    "session: Expecting ',' delimiter (1:16)",
                    "unexpected end of expression (1:4)",
                ]
            )
            expect(page.locator("#errors .caret-line")).to_have_text(["." * 15 + "^", "...^"])

            # set() and what it changed in the session and memory
            _try(
                page,
                "set('cart', get('cart', 'session') + [get('item')], 'session') "
                "&& set('added', get('item'))",
                query='{"item": "tea"}',
                session='{"cart": ["cup"], "user": "ada"}',
            )
            expect(page.locator("#value")).to_have_text("true")
            rows = page.locator("#session-changes tr")
            expect(rows).to_have_count(1)
            expect(rows.locator("td")).to_have_text(["~", "cart", '["cup"] → ["cup","tea"]'])
            expect(page.locator("#memory-changes td")).to_have_text(["+", "added", '= "tea"'])
            shots.take(page, "session")

            # a template
            page.check("#mode-template")
            _try(
                page,
                "Hi {{ get('name') }}, visit #{{ get('visits', 'session') + 1 }}",
                query='{"name": "Grace"}',
                session='{"visits": 2}',
            )
            expect(page.locator("#source-title")).to_have_text("Template")
            expect(page.locator("#text")).to_have_text("Hi Grace, visit #3")
            page.check("#mode-expression")

            # check --explain's readings, as the command line prints them
            lines = _explain_lines(workflow)
            table = page.locator("#explain tbody tr")
            expect(table).to_have_count(len(lines))
            first = table.nth(0).locator("td")
            expect(first).to_have_text(
                ["greetings/resources/greet.yaml:5:5", "template", "{{ get('names') }}", ""]
            )
            assert lines[0].endswith("greet.yaml:5:5: template: \"{{ get('names') }}\"")
            kinds = [line.split(": ")[1] for line in lines]
            expect(table.locator("td:nth-child(2)")).to_have_text(kinds)
            page.locator("#workflow").scroll_into_view_if_needed()
            shots.take(page, "explain")

            # the requires graph
            page.click("#tab-graph")
            graph = page.locator("#graph")
            expect(graph).to_be_visible()
            width = page.evaluate("document.getElementById('graph').naturalWidth")
            assert width > 200
            page.locator("#workflow").scroll_into_view_if_needed()
            shots.take(page, "graph")
        finally:
            browser.close()
    assert blocked == [], "the page logged errors (a CSP violation, a failed load)"
    assert shots.taken == [
        "playground-value.png",
        "playground-error.png",
        "playground-session.png",
        "playground-explain.png",
        "playground-graph.png",
    ]


def test_the_docs_show_the_screenshots() -> None:
    page = (ROOT / "docs" / "playground.md").read_text(encoding="utf-8")
    for name in ("value", "error", "session", "explain", "graph"):
        image = f"images/playground-{name}.png"
        assert f"]({image})" in page
        assert (ROOT / "docs" / image).stat().st_size > 10_000
