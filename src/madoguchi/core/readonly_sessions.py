"""Django's database sessions, except that nothing is saved while read-only mode is on.

Sessions are saved on every request (``SESSION_SAVE_EVERY_REQUEST``: the idle timeout). While
read-only, a signed-in member of staff keeps reading with the session as it is; its expiry is
not pushed back, so an idle timeout that falls due during the maintenance still ends it. Sign-in
itself stays refused (see docs/operations.md): it writes the audit log and the one-time code's
replay counter, which must not be skipped.
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

from madoguchi.core.readonly import read_only_active

__all__ = ["SessionStore"]


class SessionStore(DatabaseSessionStore):
    def save(self, must_create: bool = False) -> None:
        if read_only_active():
            return
        super().save(must_create=must_create)

    def delete(self, session_key: str | None = None) -> None:
        if read_only_active():
            return
        super().delete(session_key)
