"""Uploaded files of a ``multipart/form-data`` request, on disk for as long as it runs.

Each file part is written to its own file in a temporary folder made for the request; the
request carries them as :class:`~kdeps_expr.language.context.UploadedFile` (field,
filename, content type, size, path), which ``file()``, ``get(name, 'file')`` and
``info('files')`` read. The folder and everything in it is removed when the request ends,
however it ends.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from starlette.datastructures import UploadFile

from ..language.context import UploadedFile

_PREFIX = "kdeps-upload-"
_CHUNK = 1 << 16


class Uploads:
    """One request's uploaded files; :meth:`close` deletes them."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.files: list[UploadedFile] = []

    async def save(self, field: str, upload: UploadFile) -> UploadedFile:
        """Write ``upload`` to a file of its own; what the request will carry of it."""
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix=_PREFIX))
        path = self.folder / str(len(self.files))
        size = 0
        await upload.seek(0)
        with path.open("wb") as out:
            while chunk := await upload.read(_CHUNK):
                out.write(chunk)
                size += len(chunk)
        saved = UploadedFile(
            field=field,
            filename=upload.filename or "",
            content_type=upload.content_type or "application/octet-stream",
            size=size,
            path=str(path),
        )
        self.files.append(saved)
        return saved

    def close(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
