"""SPEC §12, httpClient: requests against a real server on loopback (JSON, text, redirects,
4xx/5xx, slow and dripping replies, retries, a reset connection, a closed port), KDeps'
output map, and the accessors http.responseBody and http.responseHeader."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _upstream import Resetter, Upstream

from kdeps_expr.actions.failures import ExecutorError
from kdeps_expr.actions.http_client import (
    Auth,
    HttpClients,
    HttpSpec,
    Retry,
    canonical_name,
    response_body,
    response_header,
    run_http,
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with Upstream() as server:
        yield server


@pytest.fixture(scope="module")
def clients() -> Iterator[HttpClients]:
    made = HttpClients()
    yield made
    made.close()


def call(clients: HttpClients, url: str, **spec: Any) -> dict[str, Any]:
    return run_http(HttpSpec("api", url, **spec), clients)


def failure(clients: HttpClients, url: str, **spec: Any) -> ExecutorError:
    with pytest.raises(ExecutorError) as caught:
        call(clients, url, **spec)
    return caught.value


# ---- answers ---------------------------------------------------------------------------------


def test_json_answer(upstream: Upstream, clients: HttpClients) -> None:
    output = call(clients, upstream.url("/echo?a=1"))
    assert output["statusCode"] == 200
    assert output["status"] == "200 OK"
    assert output["headers"]["Content-Type"] == "application/json"
    assert json.loads(output["body"]) == output["data"]
    assert output["data"]["method"] == "GET"
    assert output["data"]["query"] == {"a": "1"}
    assert output["data"]["headers"]["user-agent"] == "kdeps-expr"
    assert list(output) == ["statusCode", "status", "headers", "body", "data"]
    assert response_body(output) == output["data"]


def test_text_answer_has_no_data(upstream: Upstream, clients: HttpClients) -> None:
    output = call(clients, upstream.url("/text"))
    assert output["body"] == "hello there"
    assert "data" not in output
    assert response_body(output) == "hello there"


def test_a_body_that_parses_as_json_is_data_whatever_its_type(
    upstream: Upstream, clients: HttpClients
) -> None:
    assert call(clients, upstream.url("/number"))["data"] == 123


@pytest.mark.parametrize("status", [400, 404, 500, 503])
def test_4xx_and_5xx_are_outputs_not_failures(
    upstream: Upstream, clients: HttpClients, status: int
) -> None:
    output = call(clients, upstream.url(f"/status/{status}"))
    assert output["statusCode"] == status
    assert output["data"] == {"error": f"status {status}"}


def test_params_headers_and_method(upstream: Upstream, clients: HttpClients) -> None:
    output = call(
        clients,
        upstream.url("/echo?kept=1"),
        method="delete",
        params={"q": "a b&c", "tag": ["x", "y"], "n": 2},
        headers={"X-Token": "t", "user-agent": "mine"},
    )
    echoed = output["data"]
    assert echoed["method"] == "DELETE"
    assert echoed["query"] == {"kept": "1", "q": "a b&c", "tag": ["x", "y"], "n": "2"}
    assert (echoed["headers"]["x-token"], echoed["headers"]["user-agent"]) == ("t", "mine")


@pytest.mark.parametrize(
    ("data", "headers", "body", "kind"),
    [
        pytest.param(
            {"name": "Ada", "n": [1, 2.5]},
            {},
            '{"name":"Ada","n":[1,2.5]}',
            "application/json",
            id="json-map",
        ),
        pytest.param("just text", {}, '"just text"', "application/json", id="string-as-json"),
        pytest.param(
            {"name": "A B", "tag": ["x", "y"]},
            {"content-type": "application/x-www-form-urlencoded"},
            "name=A+B&tag=x&tag=y",
            "application/x-www-form-urlencoded",
            id="form",
        ),
        pytest.param(
            "raw <b>", {"Content-Type": "text/html"}, "raw <b>", "text/html", id="raw-text"
        ),
    ],
)
def test_bodies(
    upstream: Upstream,
    clients: HttpClients,
    data: Any,
    headers: dict[str, str],
    body: str,
    kind: str,
) -> None:
    echoed = call(clients, upstream.url("/echo"), method="POST", data=data, headers=headers)["data"]
    assert (echoed["body"], echoed["headers"]["content-type"]) == (body, kind)


def test_header_values_are_sent_as_utf8(upstream: Upstream, clients: HttpClients) -> None:
    echoed = call(clients, upstream.url("/echo"), headers={"X-Name": "é"})["data"]
    assert echoed["headers"]["x-name"].encode("latin-1").decode("utf-8") == "é"


def test_redirects_are_followed_by_default(upstream: Upstream, clients: HttpClients) -> None:
    output = call(clients, upstream.url("/redirect"))
    assert (output["statusCode"], output["data"]["query"]) == (200, {"from": "redirect"})


def test_follow_redirects_false_returns_the_3xx(upstream: Upstream, clients: HttpClients) -> None:
    output = call(clients, upstream.url("/redirect"), follow_redirects=False)
    assert output["statusCode"] == 302
    assert response_header(output, "location") == "/echo?from=redirect"


def test_headers_canonical_joined_and_read_in_any_case(
    upstream: Upstream, clients: HttpClients
) -> None:
    output = call(clients, upstream.url("/headers"))
    headers = output["headers"]
    assert headers["X-Custom"] == "one"
    assert headers["X-Multi"] == "x, y"
    assert headers["Set-Cookie"] == "a=1; Path=/"
    assert response_header(output, "x-CUSTOM") == "one"
    assert response_header(output, "Content-Type") == "application/json"
    assert response_header(output, "missing") is None


def test_cookies_never_ride_along_with_another_request(
    upstream: Upstream, clients: HttpClients
) -> None:
    call(clients, upstream.url("/headers"))
    assert "cookie" not in call(clients, upstream.url("/echo"))["data"]["headers"]


@pytest.mark.parametrize(
    ("auth", "header", "value"),
    [
        (
            Auth("basic", username="ada", password="s3cret"),
            "authorization",
            "Basic YWRhOnMzY3JldA==",
        ),
        (Auth("bearer", token="tok"), "authorization", "Bearer tok"),
        (Auth("oauth2", token="tok"), "authorization", "Bearer tok"),
        (Auth("api_key", key="X-API-Key", value="k1"), "x-api-key", "k1"),
    ],
)
def test_auth(
    upstream: Upstream, clients: HttpClients, auth: Auth, header: str, value: str
) -> None:
    assert call(clients, upstream.url("/echo"), auth=auth)["data"]["headers"][header] == value


# ---- retries ---------------------------------------------------------------------------------


def test_retry_until_an_answer_that_is_not_retried(
    upstream: Upstream, clients: HttpClients
) -> None:
    url = upstream.url("/flaky?failures=2&key=until")
    output = call(clients, url, retry=Retry(max_attempts=3, backoff=0.01))
    assert (output["statusCode"], output["data"]) == (200, {"attempt": 3})


def test_retries_exhausted_return_the_last_answer(upstream: Upstream, clients: HttpClients) -> None:
    url = upstream.url("/flaky?failures=5&key=exhausted")
    output = call(clients, url, retry=Retry(max_attempts=2, backoff=0.01))
    assert (output["statusCode"], output["data"]) == (503, {"attempt": 2})


def test_retry_on_lists_the_statuses(upstream: Upstream, clients: HttpClients) -> None:
    url = upstream.url("/flaky?failures=1&key=listed")
    output = call(
        clients, url, retry=Retry(max_attempts=3, backoff=0.01, retry_on=frozenset({500}))
    )
    assert output["statusCode"] == 503


def test_no_retry_block_means_one_attempt(upstream: Upstream, clients: HttpClients) -> None:
    assert call(clients, upstream.url("/flaky?failures=1&key=once"))["statusCode"] == 503


def test_backoff_doubles_up_to_its_ceiling() -> None:
    retry = Retry(max_attempts=5, backoff=1.0, max_backoff=3.0)
    assert [retry.wait(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 3.0, 3.0]


# ---- failures --------------------------------------------------------------------------------


def test_a_slow_answer_times_out_with_504(upstream: Upstream, clients: HttpClients) -> None:
    started = time.monotonic()
    error = failure(clients, upstream.url("/slow?delay=3"), timeout=0.5)
    assert time.monotonic() - started < 2.5
    assert (error.status, error.message) == (
        504,
        f"httpClient failed in api: GET {upstream.url('/slow')}: timed out after 0.5s",
    )


def test_the_deadline_covers_a_dripping_body(upstream: Upstream, clients: HttpClients) -> None:
    started = time.monotonic()
    error = failure(clients, upstream.url("/drip"), timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert error.status == 504


def test_a_reset_connection_is_a_502(clients: HttpClients) -> None:
    with Resetter() as resetter:
        error = failure(clients, f"http://127.0.0.1:{resetter.port}/x")
    assert error.status == 502
    assert error.message.startswith(
        f"httpClient failed in api: GET http://127.0.0.1:{resetter.port}/x: connection failed: "
    )


def test_a_reset_connection_is_retried_when_a_retry_block_exists(clients: HttpClients) -> None:
    with Resetter() as resetter:
        started = time.monotonic()
        error = failure(
            clients, f"http://127.0.0.1:{resetter.port}/", retry=Retry(max_attempts=3, backoff=0.1)
        )
    assert time.monotonic() - started >= 0.3  # waited 0.1 s, then 0.2 s
    assert error.status == 502


def test_a_refused_connection_is_a_502(clients: HttpClients) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = failure(clients, f"http://127.0.0.1:{port}/")
    assert error.status == 502
    assert error.message.startswith(
        f"httpClient failed in api: GET http://127.0.0.1:{port}/: cannot connect: "
    )


def test_a_redirect_loop_is_a_502(upstream: Upstream, clients: HttpClients) -> None:
    error = failure(clients, upstream.url("/loop"))
    assert (error.status, error.message) == (
        502,
        f"httpClient failed in api: GET {upstream.url('/loop')}: more than 10 redirects",
    )


def test_a_body_over_the_bound_is_a_502(upstream: Upstream, clients: HttpClients) -> None:
    error = failure(clients, upstream.url("/big?size=2000"), max_response=1000)
    assert error.message.endswith(": response body over 1,000 bytes")


def test_messages_never_show_credentials_or_the_query(clients: HttpClients) -> None:
    with Resetter() as resetter:
        error = failure(clients, f"http://ada:s3cret@127.0.0.1:{resetter.port}/p?key=s3cret")
    assert "s3cret" not in error.message
    assert f"GET http://127.0.0.1:{resetter.port}/p:" in error.message


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            {"url": "ftp://host/x"},
            "httpClient failed in api: invalid url 'ftp://host/x': it needs http:// or https://",
            id="scheme",
        ),
        pytest.param(
            {"url": "not a url"},
            "httpClient failed in api: invalid url 'not a url': it needs http:// or https://",
            id="no-scheme",
        ),
        pytest.param(
            {"url": "http://h/", "method": "BREW"},
            "httpClient failed in api: unsupported method 'BREW'",
            id="method",
        ),
        pytest.param(
            {
                "url": "http://h/",
                "data": [1],
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
            "httpClient failed in api: a form body (application/x-www-form-urlencoded) needs a map",
            id="form-not-map",
        ),
        pytest.param(
            {"url": "http://h/", "headers": {"X-A": "a\r\nX-Evil: 1"}},
            "httpClient failed in api: header 'X-A' holds a line break or NUL",
            id="header-injection",
        ),
        pytest.param(
            {"url": "http://h/", "headers": {"X A": "v"}},
            "httpClient failed in api: 'X A' is not a header name",
            id="header-name",
        ),
        pytest.param(
            {"url": "http://h/", "auth": Auth("digest")},
            "httpClient failed in api: unsupported auth type 'digest'",
            id="auth",
        ),
    ],
)
def test_requests_that_cannot_be_made_are_500(
    clients: HttpClients, spec: dict[str, Any], message: str
) -> None:
    error = failure(clients, **spec)
    assert (error.status, error.message) == (500, message)


# ---- accessors -------------------------------------------------------------------------------


@pytest.mark.parametrize("output", [None, "text", [1], {"headers": "x"}])
def test_accessors_never_raise(output: Any) -> None:
    assert response_body(output) == ""
    assert response_header(output, "Content-Type") is None


def test_response_body_prefers_data_even_when_it_is_null() -> None:
    assert response_body({"body": "null", "data": None}) is None


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("content-type", "Content-Type"), ("X-REQUEST-ID", "X-Request-Id"), ("etag", "Etag")],
)
def test_canonical_names(name: str, canonical: str) -> None:
    assert canonical_name(name) == canonical


def test_one_client_serves_many_threads(upstream: Upstream, clients: HttpClients) -> None:
    import threading

    results: list[int] = []

    def one(number: int) -> None:
        results.append(call(clients, upstream.url(f"/echo?n={number}"))["data"]["query"]["n"])

    threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(int(n) for n in results) == list(range(20))
    assert clients.client(None, None) is clients.client(None, None)
