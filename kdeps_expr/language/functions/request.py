"""KDeps' ``request`` and ``input`` objects (SPEC §10): the HTTP request as a value
(``request.method``, ``request.headers``, …) and its methods (``request.file('doc')``,
``request.header('Authorization')``, …)."""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..limits import Limits
from . import uploads
from .base import as_text, builtin, kdeps_object
from .scope import lookup


@kdeps_object("request")
def request_object(ctx: Context) -> dict[str, Any]:
    """``request``: method, path, IP, ID, headers (names in lower case), query and body."""
    request = ctx.request
    return {
        "method": request.method,
        "path": request.path,
        "IP": request.ip,
        "ID": request.request_id,
        "headers": dict(request.headers),
        "query": dict(request.query),
        "body": request.body,
    }


@kdeps_object("input")
def input_object(ctx: Context) -> Any:
    """``input``: the request body (``input.items``); ``{}`` when there is none."""
    body = ctx.request.body
    return {} if body is None else body


@builtin("request.file", pass_context=True)
def request_file(ctx: Context, name: Any, *, limits: Limits) -> str | None:
    """The text of the file uploaded as ``name``; nil when there is none."""
    upload = uploads.find(ctx, as_text("request.file", name))
    return None if upload is None else uploads.content(upload, limits.max_size)


@builtin("request.filepath", pass_context=True)
def request_filepath(ctx: Context, name: Any) -> Any:
    """Where the file uploaded as ``name`` was stored; nil when there is none."""
    return lookup(ctx, "filepath", as_text("request.filepath", name))


@builtin("request.filetype", pass_context=True)
def request_filetype(ctx: Context, name: Any) -> Any:
    """The MIME type of the file uploaded as ``name``; nil when there is none."""
    return lookup(ctx, "filetype", as_text("request.filetype", name))


@builtin("request.filecount", pass_context=True)
def request_filecount(ctx: Context) -> int:
    """How many files the request uploaded."""
    return len(ctx.request.files)


@builtin("request.files", pass_context=True)
def request_files(ctx: Context) -> list[str]:
    """The stored paths of the uploaded files, in upload order."""
    return [upload.path for upload in ctx.request.files]


@builtin("request.filetypes", pass_context=True)
def request_filetypes(ctx: Context) -> list[str]:
    """The MIME types of the uploaded files, in upload order."""
    return [upload.content_type for upload in ctx.request.files]


@builtin("request.filesByType", pass_context=True)
def request_files_by_type(ctx: Context, mime: Any) -> list[str]:
    """The stored paths of the uploaded files of one MIME type (``image/*`` for any image)."""
    chosen = uploads.of_type(list(ctx.request.files), as_text("request.filesByType", mime))
    return [upload.path for upload in chosen]


@builtin("request.data", pass_context=True)
def request_data(ctx: Context) -> Any:
    """The request body; ``{}`` when there is none."""
    return input_object(ctx)


@builtin("request.params", pass_context=True)
def request_params(ctx: Context, name: Any) -> Any:
    """A query parameter, else a body field (as ``get(name, 'param')``); nil when missing."""
    return lookup(ctx, "param", as_text("request.params", name))


@builtin("request.header", pass_context=True)
def request_header(ctx: Context, name: Any) -> Any:
    """A request header, its name in any case; nil when missing."""
    return lookup(ctx, "header", as_text("request.header", name))
