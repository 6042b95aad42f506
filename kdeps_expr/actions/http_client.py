"""The ``httpClient`` executor: one outbound HTTP request, with KDeps' output map.

Built on ``httpx``: one client per process (per proxy and TLS setting), shared by every
thread, with connection pooling and no cookie jar (cookies one request receives must
never ride along with another's). Every attempt has a deadline for the whole exchange,
body included. The output is KDeps' map (its code, which its own examples read)::

    {"statusCode": 200, "status": "200 OK",
     "headers": {"Content-Type": "application/json", …},   # canonical names
     "body": "<response text>",
     "data": <the body parsed as JSON, only when it is JSON>}

An answer with any status, 4xx and 5xx included, is an output, not a failure (workflows
test ``statusCode``). A request that gets no answer fails: refused, reset, DNS, TLS, too
many redirects → 502; out of time → 504.
"""

from __future__ import annotations

import base64
import http
import http.cookiejar
import json
import re
import ssl
import threading
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from ..language.context import request_json
from ..language.values import render
from .failures import INTERNAL, TIMEOUT, UPSTREAM, ExecutorError, seconds

DEFAULT_TIMEOUT = 30.0
MAX_RESPONSE = 10 * 1024 * 1024
"""Default bound on a response body, in bytes (after content decoding)."""
MAX_REDIRECTS = 10
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
USER_AGENT = "kdeps-expr"
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass(frozen=True, slots=True)
class Retry:
    """``retry``: ``max_attempts`` in all; waits ``backoff`` × 2ⁿ, at most ``max_backoff``."""

    max_attempts: int = 1
    backoff: float = 1.0
    max_backoff: float | None = None
    retry_on: frozenset[int] | None = None

    def wait(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        delay: float = self.backoff * 2 ** (attempt - 1)
        return delay if self.max_backoff is None else min(delay, self.max_backoff)

    def retries(self, status: int) -> bool:
        """True when an answer with ``status`` is tried again."""
        if self.retry_on is None:
            return status == 429 or status >= 500  # KDeps' default
        return status in self.retry_on


@dataclass(frozen=True, slots=True)
class Auth:
    """KDeps' ``auth``: ``basic`` (username, password), ``bearer``/``oauth2`` (token),
    ``api_key`` (header ``key`` with ``value``)."""

    type: str
    username: str = ""
    password: str = ""
    token: str = ""
    key: str = ""
    value: str = ""


@dataclass(frozen=True, slots=True)
class Tls:
    """``tls``: skip verification, a client certificate and key, a CA bundle."""

    insecure_skip_verify: bool = False
    cert_file: str | None = None
    key_file: str | None = None
    ca_file: str | None = None


@dataclass(frozen=True, slots=True)
class HttpSpec:
    """One ``httpClient`` call, every value already rendered.

    ``params`` are added to the URL's query string (a list value repeats the name).
    ``data`` is the body (``None``: no body): JSON unless the ``Content-Type`` header is
    ``application/x-www-form-urlencoded`` (a map, form-encoded) or another non-JSON type
    with a string ``data`` (sent as it is).
    """

    action_id: str
    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    data: Any = None
    timeout: float = DEFAULT_TIMEOUT
    retry: Retry | None = None
    follow_redirects: bool = True
    auth: Auth | None = None
    proxy: str | None = None
    tls: Tls | None = None
    max_response: int = MAX_RESPONSE


class HttpClients:
    """The process's HTTP clients: one per proxy and TLS setting, made once, thread-safe."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str | None, Tls | None], httpx.Client] = {}
        self._lock = threading.Lock()

    def client(self, proxy: str | None, tls: Tls | None) -> httpx.Client:
        """The client for ``proxy`` and ``tls`` (made on first use)."""
        key = (proxy, tls)
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = self._clients[key] = _new_client(proxy, tls)
        return client

    def close(self) -> None:
        """Close every client (their pooled connections)."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()


CLIENTS = HttpClients()
"""The clients requests use unless given others."""


def _new_client(proxy: str | None, tls: Tls | None) -> httpx.Client:
    jar = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(
        cookies=jar,
        proxy=proxy,
        verify=_ssl_context(tls) if tls is not None else True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT},
    )


def _ssl_context(tls: Tls) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=tls.ca_file)
    if tls.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.cert_file:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    return context


class _NoAnswer(Exception):
    """An attempt got no usable answer; ``status`` says 502 or 504."""

    def __init__(self, what: str, status: int) -> None:
        super().__init__(what)
        self.what = what
        self.status = status


def run_http(spec: HttpSpec, clients: HttpClients = CLIENTS) -> dict[str, Any]:
    """Send ``spec`` (retrying as its ``retry`` says); KDeps' output map, or
    :class:`ExecutorError` (502 no answer, 504 out of time, 500 a request that cannot be made)."""
    method = spec.method.upper()
    if method not in METHODS:
        raise _fail(spec, f"unsupported method {spec.method!r}")
    url = _checked_url(spec)
    headers = _headers(spec)
    body = _body(spec, headers)
    try:
        client = clients.client(spec.proxy, spec.tls)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise _fail(spec, f"cannot set up TLS or the proxy: {exc}") from None
    retry = spec.retry or Retry()
    attempts = max(retry.max_attempts, 1)
    shown = f"{method} {_redacted(url)}"
    for attempt in range(1, attempts + 1):
        try:
            output = _attempt(client, spec, method, url, headers, body)
        except _NoAnswer as exc:
            if attempt < attempts:
                time.sleep(retry.wait(attempt))
                continue
            raise _fail(spec, f"{shown}: {exc.what}", exc.status) from None
        if attempt < attempts and spec.retry is not None and retry.retries(output["statusCode"]):
            time.sleep(retry.wait(attempt))
            continue
        return output
    raise AssertionError("unreachable")  # pragma: no cover


def _attempt(
    client: httpx.Client,
    spec: HttpSpec,
    method: str,
    url: httpx.URL,
    headers: httpx.Headers,
    body: bytes | None,
) -> dict[str, Any]:
    deadline = time.monotonic() + spec.timeout
    try:
        with client.stream(
            method,
            url,
            headers=headers,
            content=body,
            timeout=spec.timeout,
            follow_redirects=spec.follow_redirects,
        ) as response:
            content = bytearray()
            for chunk in response.iter_bytes():
                content += chunk
                if len(content) > spec.max_response:
                    raise _NoAnswer(f"response body over {spec.max_response:,} bytes", UPSTREAM)
                if time.monotonic() > deadline:
                    raise _NoAnswer(f"timed out after {seconds(spec.timeout)}", TIMEOUT)
            return _output(response, bytes(content))
    except httpx.TimeoutException:
        raise _NoAnswer(f"timed out after {seconds(spec.timeout)}", TIMEOUT) from None
    except httpx.TooManyRedirects:
        raise _NoAnswer(f"more than {MAX_REDIRECTS} redirects", UPSTREAM) from None
    except httpx.ConnectError as exc:
        raise _NoAnswer(f"cannot connect: {_reason(exc)}", UPSTREAM) from None
    except httpx.DecodingError:
        raise _NoAnswer("the response body cannot be decoded", UPSTREAM) from None
    except httpx.TransportError as exc:
        raise _NoAnswer(f"connection failed: {_reason(exc)}", UPSTREAM) from None


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.split("\n", 1)[0]


def _fail(spec: HttpSpec, what: str, status: int = INTERNAL) -> ExecutorError:
    return ExecutorError("httpClient", spec.action_id, what, status=status)


def _checked_url(spec: HttpSpec) -> httpx.URL:
    try:
        url = httpx.URL(spec.url)
    except (httpx.InvalidURL, TypeError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise _fail(spec, f"invalid url {_redacted(spec.url)!r}: it needs http:// or https://")
    return url.copy_merge_params(_params(spec.params)) if spec.params else url


def _redacted(url: httpx.URL | str) -> str:
    """The URL without credentials, query string and fragment: what a message may show."""
    parts = urlsplit(str(url))
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _headers(spec: HttpSpec) -> httpx.Headers:
    given = dict(spec.headers)
    auth = spec.auth
    if auth is not None:
        kind = auth.type.lower()
        if kind == "basic":
            pair = f"{auth.username}:{auth.password}".encode()
            given["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        elif kind in ("bearer", "oauth2"):
            given["Authorization"] = f"Bearer {auth.token}"
        elif kind == "api_key":
            given[auth.key or "X-API-Key"] = auth.value
        else:
            raise _fail(spec, f"unsupported auth type {auth.type!r}")
    for name, value in given.items():
        if not _TOKEN.fullmatch(name):
            raise _fail(spec, f"{name!r} is not a header name")
        if any(char in value for char in "\r\n\0"):
            raise _fail(spec, f"header {name!r} holds a line break or NUL")
    return httpx.Headers({name.encode(): value.encode() for name, value in given.items()})


def _params(params: Mapping[str, Any]) -> list[tuple[str, str | int | float | bool | None]]:
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for name, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, render(item)))
    return pairs


def _body(spec: HttpSpec, headers: httpx.Headers) -> bytes | None:
    data = spec.data
    if data is None:
        return None
    kind = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        if not isinstance(data, dict):
            raise _fail(spec, "a form body (application/x-www-form-urlencoded) needs a map")
        return urlencode(_params(data)).encode()
    if isinstance(data, str) and kind and "json" not in kind:
        return data.encode()
    if not kind:
        headers["Content-Type"] = "application/json"
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _output(response: httpx.Response, content: bytes) -> dict[str, Any]:
    try:
        text = content.decode(response.encoding or "utf-8", "replace")
    except LookupError:
        text = content.decode("utf-8", "replace")
    phrase = response.reason_phrase or _phrase(response.status_code)
    output: dict[str, Any] = {
        "statusCode": response.status_code,
        "status": f"{response.status_code} {phrase}".rstrip(),
        "headers": _response_headers(response.headers),
        "body": text,
    }
    if text.strip():
        with suppress(ValueError):
            output["data"] = request_json(text)
    return output


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def canonical_name(name: str) -> str:
    """A header name as KDeps (Go) writes it: ``content-type`` → ``Content-Type``."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _response_headers(headers: httpx.Headers) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in headers:
        values = headers.get_list(name)
        shown = canonical_name(name)
        out[shown] = values[0] if shown == "Set-Cookie" else ", ".join(values)
    return out


# ---- accessors: http.responseBody(id), http.responseHeader(id, name) -------------------------


def response_body(output: Any) -> Any:
    """``http.responseBody(id)``: the parsed body when it was JSON, else its text, else ``''``."""
    if not isinstance(output, dict):
        return ""
    if "data" in output:
        return output["data"]
    body = output.get("body")
    return body if isinstance(body, str) else ""


def response_header(output: Any, name: Any) -> Any:
    """``http.responseHeader(id, name)``: the header's value, any case of ``name``; ``nil``
    when absent."""
    headers = output.get("headers") if isinstance(output, dict) else None
    if not isinstance(headers, dict) or not isinstance(name, str):
        return None
    wanted = name.lower()
    return next((v for k, v in headers.items() if str(k).lower() == wanted), None)
