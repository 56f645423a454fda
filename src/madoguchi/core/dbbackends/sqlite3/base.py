"""Django's SQLite backend that never creates a database file by opening it.

SQLite creates a missing file on connect. A server started (or a worker respawned) after the
file was moved away would then serve an empty database, answering 500s, or worse, accepting
writes that vanish when the real file comes back. Here a connection opens the file with
``mode=rw``: a missing file is an ``OperationalError`` like any other unreachable database.
Only ``madoguchi migrate`` and the test database setup create the file (``creation_allowed``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.db.backends.sqlite3 import base, creation

__all__ = ["DatabaseWrapper", "creation_allowed"]

_allowed = threading.local()


@contextmanager
def creation_allowed() -> Iterator[None]:
    """Within this block (in this thread), connecting may create a missing database file."""
    depth = getattr(_allowed, "depth", 0)
    _allowed.depth = depth + 1
    try:
        yield
    finally:
        _allowed.depth = depth


def _creating() -> bool:
    return getattr(_allowed, "depth", 0) > 0


def _read_write_uri(name: str) -> str:
    """``file:`` URI that opens ``name`` for reading and writing but never creates it."""
    return f"file:{quote(str(Path(name).resolve()))}?mode=rw"


class DatabaseCreation(creation.DatabaseCreation):
    def create_test_db(self, *args: Any, **kwargs: Any) -> str:
        with creation_allowed():
            return super().create_test_db(*args, **kwargs)


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        database = params["database"]
        plain_file = (
            isinstance(database, str | Path)
            and not self.is_in_memory_db()
            and not str(database).startswith("file:")
        )
        if plain_file and not _creating():
            params["database"] = _read_write_uri(str(database))
        return params
