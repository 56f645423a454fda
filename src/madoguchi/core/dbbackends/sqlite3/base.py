"""Django's SQLite backend that never creates a database file by opening it.

SQLite creates a missing file on connect. A server started (or a worker respawned) after the
file was moved away would then serve an empty database, answering 500s, or worse, accepting
writes that vanish when the real file comes back. Here a connection opens the file with
``mode=rw``: a missing file is an ``OperationalError`` like any other unreachable database.
Only ``madoguchi migrate`` and the test database setup create the file (``creation_allowed``).

Its write transactions (``BEGIN IMMEDIATE``, every ``transaction.atomic`` block) also queue at
the file's :class:`~madoguchi.core.writegate.WriteGate` before they ask SQLite for the write
lock, and give it back at ``COMMIT`` or ``ROLLBACK``: the next worker starts writing within a
millisecond of the release instead of after SQLite's busy handler has slept.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.db.backends.sqlite3 import base, creation

from madoguchi.core.writegate import WriteGate, gate_for, gate_path

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

    def _destroy_test_db(self, test_database_name: str, verbosity: int) -> None:
        super()._destroy_test_db(test_database_name, verbosity)  # type: ignore[misc]
        if not self.is_in_memory_db(test_database_name):
            Path(gate_path(os.path.realpath(test_database_name))).unlink(missing_ok=True)


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

    # --- the write gate ---------------------------------------------------------------------

    _gate: WriteGate | None = None
    _gate_name: object = None  # the NAME the gate is for (test set-up changes NAME)
    _gate_held = False

    def _write_gate(self) -> WriteGate | None:
        name = self.settings_dict["NAME"]
        if (
            self.transaction_mode not in ("IMMEDIATE", "EXCLUSIVE")  # type: ignore[attr-defined]
            or self.is_in_memory_db()
            or not isinstance(name, str | Path)
            or str(name).startswith("file:")
        ):
            return None
        if self._gate is None or self._gate_name != name:
            timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
            self._gate, self._gate_name = gate_for(str(name), timeout), name
        return self._gate

    def _start_transaction_under_autocommit(self) -> None:
        gate = None if self._gate_held else self._write_gate()
        if gate is not None:
            self._gate_held = gate.acquire()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_gate()
            raise

    def _release_gate(self) -> None:
        if self._gate_held and self._gate is not None:
            self._gate_held = False
            self._gate.release()

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._release_gate()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._release_gate()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            self._release_gate()
