"""Reading a request from raw ASGI messages: headers, query string, and a JSON, form or
multipart body (its files saved by :mod:`.uploads`), with the size limit and clear
400/413/415 errors."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.types import Receive, Scope

from ..language.context import request_json
from .answers import JSON_TYPE, ClientError
from .uploads import Uploads

_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_MAX_FORM_FIELDS = 1000


def field_map(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Query or form pairs as a map: a repeated name gives the list of its values."""
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name not in fields:
            fields[name] = value
        elif isinstance(fields[name], list):
            fields[name].append(value)
        else:
            fields[name] = [fields[name], value]
    return fields


def header_map(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """ASGI header pairs as names (lower case) to values; a repeated header's values joined
    with ``, `` (``; `` for ``Cookie``, whose pairs that separator keeps apart)."""
    merged: dict[str, str] = {}
    for raw_name, raw_value in raw:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name in merged:
            value = f"{merged[name]}{'; ' if name == 'cookie' else ', '}{value}"
        merged[name] = value
    return merged


def query_map(raw: bytes) -> dict[str, Any]:
    """The query string's parameters (blank values kept)."""
    return field_map(parse_qsl(raw.decode("latin-1"), keep_blank_values=True)) if raw else {}


def parse_json(body: bytes) -> Any:
    """The JSON body; 400 for anything a kdeps value cannot carry (SPEC §6)."""
    try:
        return request_json(body)
    except RecursionError as exc:
        raise ClientError(400, "malformed JSON body: nested too deeply") from exc
    except ValueError as exc:
        raise ClientError(400, f"malformed JSON body: {exc}") from exc


def parse_urlencoded(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
        return field_map(parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS))
    except UnicodeDecodeError as exc:
        raise ClientError(400, "malformed form body: not UTF-8") from exc
    except ValueError as exc:
        raise ClientError(400, f"malformed form body: {exc}") from exc


async def parse_multipart(
    headers: Headers, body: bytes, max_bytes: int, uploads: Uploads
) -> dict[str, Any]:
    """A multipart form; a file part is saved to ``uploads`` and becomes ``{filename,
    contentType, size}`` in the body, never its bytes."""

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(
        headers,
        stream(),
        max_files=_MAX_FORM_FIELDS,
        max_fields=_MAX_FORM_FIELDS,
        max_part_size=max_bytes,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ClientError(400, f"malformed form body: {exc.message}") from exc
    try:
        pairs: list[tuple[str, Any]] = []
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                saved = await uploads.save(name, value)
                fields = {
                    "filename": saved.filename,
                    "contentType": saved.content_type,
                    "size": saved.size,
                }
                pairs.append((name, fields))
            else:
                pairs.append((name, value))
        return field_map(pairs)
    finally:
        await form.close()


async def read_body(
    scope: Scope, headers: Mapping[str, str], receive: Receive, limit: int, uploads: Uploads
) -> Any:
    """The parsed body (``None`` when empty); 413 past the limit, 415 for other types.

    The files of a multipart body go to ``uploads``."""
    declared = headers.get("content-length")
    if declared is None and "transfer-encoding" not in headers:
        return None  # HTTP/1.1: a request with neither header has no body
    too_large = ClientError(413, f"request body is larger than {limit} bytes")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientError(400, "the client disconnected before sending its body")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    if not body:
        return None
    content_type = headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == JSON_TYPE or (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return parse_json(body)
    if media_type == _URLENCODED:
        return parse_urlencoded(body)
    if media_type == _MULTIPART:
        return await parse_multipart(Headers(scope=scope), body, limit, uploads)
    shown = f"'{media_type}'" if media_type else "missing"
    raise ClientError(
        415,
        f"unsupported content type {shown}: send {JSON_TYPE}, {_URLENCODED} or {_MULTIPART}",
    )
