"""A cap on the bytes of files one request may upload, before anything is stored."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class SizeLimitUploadHandler(FileUploadHandler):
    """Stops reading files once a request has sent more than UPLOAD_MAX_BYTES of them.

    The view then sees the file missing and ``request.upload_too_large`` set, and answers with
    a message instead of the server spooling gigabytes to disk.
    """

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.total = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.total += len(raw_data)
        if self.total > settings.UPLOAD_MAX_BYTES:
            if self.request is not None:
                setattr(self.request, "upload_too_large", True)  # noqa: B010 - read by views
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
