"""The server reading KDeps' settings: CORS, route patterns, uploaded files, warnings logged."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _server import Server
from _workflows import HEADER, MAIN, write_workflow

from kdeps_expr.language.context import Request
from kdeps_expr.server import ServerOptions, create_app
from kdeps_expr.server.cors import cors_options
from kdeps_expr.workflow.runner import Response

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


@dataclass(frozen=True)
class Route:
    path: str
    methods: tuple[str, ...]
    action_id: str


@dataclass
class Recorder:
    """Answers with the action it ran; reads each uploaded file while the request runs."""

    calls: list[tuple[Request, str | None]] = field(default_factory=list)
    seen_files: list[tuple[str, str, str, int, bytes]] = field(default_factory=list)

    def handle(
        self, request: Request, action_id: str | None = None, session_id: str | None = None
    ) -> Response:
        self.calls.append((request, action_id))
        for upload in request.files:
            content = Path(upload.path).read_bytes()
            self.seen_files.append(
                (upload.field, upload.filename, upload.content_type, upload.size, content)
            )
        meta = {"requestId": request.request_id, "timestamp": request.timestamp}
        return Response(200, {"success": True, "data": action_id, "meta": meta})


ROUTES = [
    Route("/api/users", ("GET",), "list"),
    Route("/api/users/:id", ("GET",), "one"),
    Route("/api/users/:id", ("DELETE",), "remove"),
    Route("/api/*", ("GET", "POST"), "anything"),
    Route("/api/files/*", ("POST",), "upload"),
]


def client(recorder: Recorder, cors: dict[str, Any] | None = None) -> TestClient:
    options = ServerOptions(cors=cors_options({"cors": cors}) if cors is not None else None)
    app = create_app(lambda: nullcontext(recorder), ROUTES, {"list"}, options)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.mark.parametrize(
    ("method", "path", "status", "action"),
    [
        ("GET", "/api/users", 200, "list"),
        ("GET", "/api/users/7", 200, "one"),
        ("DELETE", "/api/users/7", 200, "remove"),
        ("GET", "/api/users/7/posts", 200, "anything"),
        ("POST", "/api/users/7", 200, "anything"),
        ("POST", "/api/files/a/b", 200, "upload"),
        ("PUT", "/api/users/7", 405, None),
        ("GET", "/other", 404, None),
    ],
)
def test_route_patterns(
    recorder: Recorder, method: str, path: str, status: int, action: str | None
) -> None:
    """Exact paths first; then the longest pattern that has the method."""
    with client(recorder) as test_client:
        response = test_client.request(method, path)
    assert response.status_code == status
    if action is not None:
        assert response.json()["data"] == action


def test_uploaded_files_live_as_long_as_their_request(recorder: Recorder) -> None:
    with client(recorder) as test_client:
        response = test_client.post(
            "/api/files/x",
            data={"note": "two files"},
            files=[
                ("doc", ("a.txt", b"hello", "text/plain")),
                ("doc", ("b.bin", b"\x00\x01", "application/octet-stream")),
            ],
        )
    assert response.status_code == 200
    assert recorder.seen_files == [
        ("doc", "a.txt", "text/plain", 5, b"hello"),
        ("doc", "b.bin", "application/octet-stream", 2, b"\x00\x01"),
    ]
    request = recorder.calls[0][0]
    assert request.body == {
        "note": "two files",
        "doc": [
            {"filename": "a.txt", "contentType": "text/plain", "size": 5},
            {"filename": "b.bin", "contentType": "application/octet-stream", "size": 2},
        ],
    }
    assert [Path(upload.path).exists() for upload in request.files] == [False, False]
    assert not Path(request.files[0].path).parent.exists()


CORS = {
    "allowOrigins": ["http://app.example", "https://*.example.net"],
    "allowHeaders": ["Content-Type"],
    "allowCredentials": True,
    "maxAge": "1m",
}


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://app.example", True),
        ("https://a.b.example.net", True),
        ("http://evil.example", False),
        ("https://example.net", False),
    ],
)
def test_cors_preflight(recorder: Recorder, origin: str, allowed: bool) -> None:
    with client(recorder, CORS) as test_client:
        response = test_client.options(
            "/api/users",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
    assert response.status_code == (200 if allowed else 400)
    if allowed:
        assert response.headers["access-control-allow-origin"] == origin
        assert response.headers["access-control-allow-credentials"] == "true"
        assert response.headers["access-control-max-age"] == "60"
        assert "Content-Type" in response.headers["access-control-allow-headers"]
    assert recorder.calls == []  # a preflight never reaches the workflow


def test_cors_on_an_answer(recorder: Recorder) -> None:
    with client(recorder, CORS) as test_client:
        allowed = test_client.get("/api/users", headers={"Origin": "http://app.example"})
        other = test_client.get("/api/users", headers={"Origin": "http://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "http://app.example"
    assert allowed.headers["access-control-expose-headers"] == "X-Session-ID, X-Request-ID"
    assert "access-control-allow-origin" not in other.headers
    assert other.status_code == 200  # the browser, not the server, withholds the answer


@pytest.mark.parametrize(
    ("cors", "headers"),
    [
        (None, {}),
        ({"enableCors": False}, {}),
        ({}, {"access-control-allow-origin": "*"}),
        ({"allowOrigins": ["*"], "allowCredentials": True}, {"access-control-allow-origin": "*"}),
    ],
    ids=["no-block", "disabled", "defaults", "no-credentials-with-star"],
)
def test_cors_defaults(
    recorder: Recorder, cors: dict[str, Any] | None, headers: dict[str, str]
) -> None:
    with client(recorder, cors) as test_client:
        response = test_client.get("/api/users", headers={"Origin": "http://x.example"})
    found = {k: v for k, v in response.headers.items() if k.startswith("access-control-allow-")}
    assert found == headers


@pytest.fixture
def warned_workflow(tmp_path: Path) -> Iterator[Path]:
    files = {
        "workflow.yaml": HEADER + "settings:\n  session:\n    type: memory\n",
        "resources/main.yaml": MAIN + "  apiResponse:\n    response: summ([1])\n",
    }
    folder = write_workflow(tmp_path / "wf", files)
    yield folder
    shutil.rmtree(folder)


def test_serve_logs_the_warnings_it_loads_with(warned_workflow: Path, tmp_path: Path) -> None:
    with Server(warned_workflow, tmp_path / "server.log") as server:
        log = server.log_text()
    assert (
        f"WARNING kdeps_expr.server: {warned_workflow}/resources/main.yaml:7:15: warning: "
        "read as text: unknown function summ (did you mean 'sum'?)\n"
        " |     response: summ([1])\n"
    ) in log
