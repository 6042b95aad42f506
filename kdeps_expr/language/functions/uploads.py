"""The files of a ``multipart/form-data`` request (SPEC §10), as every reader of them sees
them: ``file()``, ``request.file()``, ``get(name, 'file')`` and ``info('files')``.

Only uploaded files are readable: an expression never names a path on the server's disk
(KDeps' ``file()`` also reads local files; a request could then read any file the server
can). A file's content is its text (UTF-8); a binary file is read by its path instead.
"""

from __future__ import annotations

import fnmatch
import os

from ...errors import EvaluationError
from .. import values as v
from ..context import Context, UploadedFile

GLOB = frozenset("*?[")


def find(ctx: Context, name: str) -> UploadedFile | None:
    """The first file uploaded in the form field ``name``, else the first named ``name``."""
    files = ctx.request.files
    for upload in files:
        if upload.field == name:
            return upload
    return next((upload for upload in files if upload.filename == name), None)


def matching(ctx: Context, pattern: str) -> list[UploadedFile]:
    """The uploaded files whose name (or form field) matches the glob ``pattern``; without
    ``*``, ``?`` or ``[`` the pattern names one file (:func:`find`)."""
    if not GLOB & set(pattern):
        upload = find(ctx, pattern)
        return [] if upload is None else [upload]
    match = fnmatch.fnmatchcase
    return [
        upload
        for upload in ctx.request.files
        if match(upload.filename, pattern) or match(upload.field, pattern)
    ]


def of_type(files: list[UploadedFile], mime: str) -> list[UploadedFile]:
    """The files whose MIME type is ``mime``; ``image/*`` matches every image type."""
    if mime.endswith("/*"):
        family = mime[:-1]
        return [upload for upload in files if upload.content_type.startswith(family)]
    return [upload for upload in files if upload.content_type == mime]


def content(upload: UploadedFile, limit: int) -> str:
    """The text of an uploaded file; a file that is not UTF-8 text or is too large is an error."""
    shown = repr(upload.filename or upload.field)
    try:
        size = os.path.getsize(upload.path)
        v.check_total(size, "bytes of file content", limit)
        with open(upload.path, encoding="utf-8") as handle:
            return handle.read()
    except UnicodeDecodeError:
        raise EvaluationError(
            f"uploaded file {shown} ({upload.content_type}) is not UTF-8 text; "
            f"read it by its path: request.filepath({upload.field!r})"
        ) from None
    except OSError as exc:
        raise EvaluationError(
            f"uploaded file {shown} cannot be read: {exc.strerror or exc}"
        ) from None
