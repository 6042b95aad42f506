"""CORS in a real browser: headless Chromium (Playwright) calls a served workflow from a
page of another origin, preflight and session cookie included.

The page is served by a second HTTP server on another port (another origin, the same
site, so the SameSite=Lax session cookie travels). Without Chromium or Playwright the test
is skipped, except under ``CI=true``, where it fails (``.ci/run`` installs Chromium).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from _server import Server, workflow_copy

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGE = b"<!doctype html><title>notes client</title><p>calls the notes API</p>"


def _browser_or_skip() -> Any:
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "playwright is not installed (pip install -e '.[test]')"
    if problem is None and not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    return sync_playwright


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def _page_server() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def origins() -> Iterator[tuple[str, str]]:
    """Two page origins: one the workflow allows, one it does not."""
    allowed, other = _page_server(), _page_server()
    try:
        yield (
            f"http://127.0.0.1:{allowed.server_address[1]}",
            f"http://127.0.0.1:{other.server_address[1]}",
        )
    finally:
        for server in (allowed, other):
            server.shutdown()
            server.server_close()


CALLS = """
async ([api, text]) => {
  const post = await fetch(api + '/api/v1/notes', {
    method: 'POST',
    credentials: 'include',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({text}),
  });
  const list = await fetch(api + '/api/v1/notes', {credentials: 'include'});
  return {
    post: post.status,
    session: post.headers.get('X-Session-ID') !== null,
    listed: (await list.json()).data,
  };
}
"""

REFUSED = """
async (api) => {
  try {
    await fetch(api + '/api/v1/notes', {
      method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{"text": "x"}',
    });
    return 'answered';
  } catch (error) {
    return error.name;
  }
}
"""


def test_a_page_of_an_allowed_origin_calls_the_workflow(
    tmp_path: Path, origins: tuple[str, str]
) -> None:
    sync_playwright = _browser_or_skip()
    allowed, other = origins
    cors = {
        "allowOrigins": [allowed],
        "allowHeaders": ["Content-Type", "X-Session-ID"],
        "allowCredentials": True,
    }
    workflow = workflow_copy(
        tmp_path, "notes", settings={"apiServer": {"cors": cors}}, session={"type": "memory"}
    )
    with Server(workflow, tmp_path / "server.log") as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(allowed)
            result = page.evaluate(CALLS, [server.url, "from the browser"])
            page.goto(other)
            refused = page.evaluate(REFUSED, server.url)
        finally:
            browser.close()
    assert result["post"] == 200
    assert result["session"] is True
    listed = result["listed"]
    assert (listed["added"], listed["count"]) == (False, 1)
    assert listed["notes"][0]["text"] == "from the browser"
    assert refused == "TypeError"
