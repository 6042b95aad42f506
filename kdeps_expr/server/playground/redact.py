"""What the playground never shows of a workflow's files: secrets.

A value under a key that names a secret (``apiKey``, ``password``, ``token``,
``Authorization``, …) is shown as ``[redacted]``, and so is the password of a URL
(``postgres://user:[redacted]@host/db``), wherever the page would show the file's text:
the value strings of ``check --explain`` and the source lines of errors and warnings.
A template that only reads a secret (``{{ env('API_KEY') }}``) has nothing to hide and
is shown, since the playground never evaluates ``env`` (:mod:`.sandbox`).
"""

from __future__ import annotations

import re

from ...workflow.yamlsource import Scalar

REDACTED = "[redacted]"
_SECRET_WORDS = (
    "apikey",
    "secret",
    "secretkey",
    "password",
    "passwd",
    "token",
    "authorization",
    "credential",
    "credentials",
    "privatekey",
    "accesskey",
    "cookie",
)
_KEY_LINE = re.compile(
    r"""^(?P<head>\s*(?:-\s+)?(?P<q>["']?)(?P<key>[A-Za-z0-9_.-]+)(?P=q)\s*:\s+)(?P<value>\S.*)$"""
)
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+(?=@)", re.I)
_KEY_BEFORE = re.compile(
    r"""(?P<q>["']?)(?P<key>[A-Za-z0-9_.-]+)(?P=q)\s*:\s*(?:[|>][-+0-9]*)?\s*$"""
)


def is_secret_key(key: str) -> bool:
    """True for a key that names a secret: ``apiKey``, ``api_key``, ``X-Auth-Token``, …"""
    plain = re.sub(r"[^a-z0-9]", "", key.lower())
    return plain.endswith(_SECRET_WORDS)


def key_of(scalar: Scalar) -> str | None:
    """The mapping key a scalar is the value of, read from the file before it; ``None`` for
    a list item or a document."""
    text = scalar.source.text
    line_start = text.rfind("\n", 0, scalar.start) + 1
    found = _KEY_BEFORE.search(text, line_start, scalar.start)
    if found is None and text[line_start : scalar.start].strip() == "":
        # `key:` alone on the line above, the value indented below it
        previous = text.rfind("\n", 0, max(line_start - 1, 0)) + 1
        found = _KEY_BEFORE.search(text, previous, max(line_start - 1, 0))
    return found["key"] if found else None


def hide_urls(text: str) -> str:
    """``text`` with the password of every URL in it redacted."""
    return _URL_PASSWORD.sub(lambda m: m["head"] + REDACTED, text)


def value_text(scalar: Scalar, text: str) -> str:
    """A value string as the page may show it."""
    key = key_of(scalar)
    if key is not None and is_secret_key(key):
        return REDACTED
    return hide_urls(text)


def source_line(line: str) -> str:
    """A line of a YAML file as the page may show it: ``apiKey: sk-…`` keeps its key only."""
    found = _KEY_LINE.match(line)
    if found and is_secret_key(found["key"]):
        return found["head"] + REDACTED
    return hide_urls(line)


def error_text(message: str, line: str | None) -> tuple[str, str | None]:
    """An error's message and source line as the page may show them: when the line holds
    a secret, the line keeps its key only and the message never quotes the value."""
    if line is None:
        return hide_urls(message), None
    found = _KEY_LINE.match(line)
    if found and is_secret_key(found["key"]):
        secret = found["value"].strip().strip("\"'")
        hidden = message.replace(secret, REDACTED) if secret else message
        return hide_urls(hidden), found["head"] + REDACTED
    return hide_urls(message), hide_urls(line)
