"""Where uploaded files live: Django's ``STORAGES["default"]``, and the names it may be asked for.

Every stored file (procedure attachments, report photos) is written, read, measured and
deleted through the storage API (``django.core.files.storage.storages``), never through paths
of its own, so that one setting moves them all: ``MADOGUCHI_MEDIA_ROOT`` to a folder shared by
every app server (NFS, Azure Files), see docs/deployment.md for the contract.

Storage names come from the database. :func:`storage_name_check` refuses any name that could
leave the storage (absolute, ``..``, a backslash, a NUL, characters outside ``[A-Za-z0-9._-]``)
before the storage sees it, and on a local folder :func:`local_path_check` also refuses a name
that resolves outside it through a symlink.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Any, Final

from django.core.files.storage import FileSystemStorage, Storage, storages

__all__ = [
    "PrivateFileSystemStorage",
    "file_storage",
    "local_path_check",
    "storage_name_check",
]

_NAME_PART: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


class PrivateFileSystemStorage(FileSystemStorage):
    """A local (or mounted) folder whose files only the service account can read.

    Files are created with mode 0o600 and folders with 0o700 (unless OPTIONS say otherwise),
    and each file is flushed to disk (fsync) before its name is returned, so that a file the
    database refers to survives a crash of the machine that wrote it.
    """

    def __init__(
        self,
        location: str | os.PathLike[str] | None = None,
        base_url: str | None = None,
        file_permissions_mode: int | None = 0o600,
        directory_permissions_mode: int | None = 0o700,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            location=location,
            base_url=base_url,
            file_permissions_mode=file_permissions_mode,
            directory_permissions_mode=directory_permissions_mode,
            **kwargs,
        )

    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        saved = super().save(name, content, max_length=max_length)
        descriptor = os.open(self.path(saved), os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        return saved


def file_storage() -> Storage:
    """The storage of uploaded files (``STORAGES["default"]``)."""
    return storages["default"]


def storage_name_check(storage_name: str) -> str:
    """Return ``storage_name`` if it names a file inside a storage; raise ValueError otherwise.

    A name is relative, uses ``/`` only, and each part starts with a letter, a digit or ``_``
    and holds only ``[A-Za-z0-9._-]``: no ``..``, no hidden files, nothing a shell or an
    object store could read as anything else.
    """
    relative = PurePosixPath(storage_name)
    if (
        not storage_name
        or "\x00" in storage_name
        or "\\" in storage_name
        or relative.is_absolute()
        or storage_name.split("/") != list(relative.parts)
        or not all(_NAME_PART.fullmatch(part) for part in relative.parts)
    ):
        raise ValueError(f"not a storage name: {storage_name!r}")
    return storage_name


def local_path_check(storage: Storage, storage_name: str) -> None:
    """On a local folder, refuse a name that resolves (through a symlink) outside it."""
    if not isinstance(storage, FileSystemStorage):
        return
    base = Path(storage.location).resolve()
    path = Path(storage.path(storage_name)).resolve()
    if not path.is_relative_to(base) or path == base:
        raise ValueError(f"storage name escapes the storage root: {storage_name!r}")
