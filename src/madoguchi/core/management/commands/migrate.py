"""``madoguchi migrate``: Django's command, the one allowed to create the SQLite file."""

from __future__ import annotations

from typing import Any

from django.core.management.commands import migrate

from madoguchi.core.dbbackends.sqlite3.base import creation_allowed


class Command(migrate.Command):
    def execute(self, *args: Any, **options: Any) -> str | None:
        # The system checks before handle() already connect.
        with creation_allowed():
            result: str | None = super().execute(*args, **options)
        return result
